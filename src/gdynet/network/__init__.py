"""The networks (``torch.nn.Module``): :class:`GDyNet` (graph network, Eqs. 7-10) and
:class:`GlobalVAMPNet` (baseline); what they eat (:mod:`.inputs`), the one forward pass over frames
(:mod:`.forward`), the state calibration and χ files on disk (:mod:`.calibration`, :mod:`.chi`).
May import: ``gdynet.base``, ``gdynet.files``, ``gdynet.trajectory``, ``gdynet.graphs``.

Both networks map their inputs to (B, n, S) state probabilities and carry ``network.config`` so that
``type(network)(**network.config)`` rebuilds the architecture. Public names are imported lazily
(torch loads only when one is used): ``GDyNet``, ``GlobalVAMPNet``, ``run_network``.
"""
from __future__ import annotations

from ..base.lazy import lazy_names

_LAZY = {"GDyNet": "gdynet.network.gdynet", "GlobalVAMPNet": "gdynet.network.vampnet",
         "run_network": "gdynet.network.forward"}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_names(__name__, _LAZY)
