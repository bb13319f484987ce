"""Training stage: VAMP-2 score, data sources, the trainer and prediction.

Public names (imported lazily, so ``import gdynet.training.vamp`` does not load the trainer):
``TrainConfig``, ``Trainer``, ``TrainResult``, ``predict`` (:mod:`.trainer`), ``GraphSource``,
``CoordinateSource``, ``split_frames`` (:mod:`.data`).
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "TrainConfig": "gdynet.training.trainer",
    "Trainer": "gdynet.training.trainer",
    "TrainResult": "gdynet.training.trainer",
    "predict": "gdynet.training.trainer",
    "GraphSource": "gdynet.training.data",
    "CoordinateSource": "gdynet.training.data",
    "split_frames": "gdynet.training.data",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gdynet.training' has no attribute {name!r}")
