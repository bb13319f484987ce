"""The Python API: :class:`GDyNetEstimator` (settings -> ``fit(trajectories)``), the fitted
:class:`GDyNetModel` (``transform(trajectory)`` -> :class:`StateProbabilities`, ``save``), :func:`load`
(a model file or a ``gdynet fit`` run folder) and the model file format (:mod:`.model_file`).
May import: every package below it (``base``, ``files``, ``trajectory``, ``graphs``, ``network``,
``koopman``, ``training``, ``analysis``, ``datasets``, ``report``), never ``runs``, ``commands`` or ``cli``.

Names are imported lazily: ``load`` + ``transform`` never import the training package.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"GDyNetEstimator": "gdynet.api.estimator", "GDyNetModel": "gdynet.api.model",
         "load": "gdynet.api.model", "StateProbabilities": "gdynet.base.states"}

__all__ = ["GDyNetEstimator", "GDyNetModel", "StateProbabilities", "load"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gdynet.api' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
