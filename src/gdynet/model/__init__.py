"""model stage: :class:`GDyNet` (graph network, Eqs. 7-10) and :class:`GlobalVAMPNet` (baseline).

Both map their inputs to (B, n, S) state probabilities and carry ``model.config`` so that
``type(model)(**model.config)`` rebuilds the architecture.
"""
from .gdynet import GDyNet
from .vampnet import GlobalVAMPNet

__all__ = ["GDyNet", "GlobalVAMPNet"]
