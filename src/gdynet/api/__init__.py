"""The Python API: :class:`GDyNetEstimator` (settings -> ``fit(trajectories)``), the fitted
:class:`GDyNetModel` (``transform(trajectory)`` -> :class:`StateProbabilities`, ``save``), :func:`load`
(a model file or a ``gdynet fit`` run folder) and the model file format (:mod:`.model_file`).
May import: every package below it (``base``, ``files``, ``trajectory``, ``graphs``, ``network``,
``koopman``, ``training``, ``analysis``, ``datasets``, ``report``), never ``runs``, ``commands`` or ``cli``.

Names are imported lazily: ``load`` + ``transform`` never import the training package.
"""
from __future__ import annotations

from ..base.lazy import lazy_names

_LAZY = {"GDyNetEstimator": "gdynet.api.estimator", "GDyNetModel": "gdynet.api.model",
         "load": "gdynet.api.model", "StateProbabilities": "gdynet.base.states"}

__all__ = ["GDyNetEstimator", "GDyNetModel", "StateProbabilities", "load"]

__getattr__, __dir__ = lazy_names(__name__, _LAZY)
