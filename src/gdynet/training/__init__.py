"""Training: the VAMP-2 score (:mod:`.vamp`), time-block splits and the pair sampler (:mod:`.data`),
the trainer with early stopping, checkpoints and resumption (:mod:`.trainer`), torchrun
(:mod:`.distributed`). May import: ``gdynet.base``, ``gdynet.files``, ``gdynet.trajectory``,
``gdynet.graphs``, ``gdynet.network``, ``gdynet.koopman``.

Public names (imported lazily, so ``import gdynet.training.vamp`` does not load the trainer):
``TrainConfig``, ``Trainer``, ``TrainResult`` (:mod:`.trainer`), ``split_frames`` (:mod:`.data`);
``GraphSource``, ``CoordinateSource`` live in :mod:`gdynet.network.inputs`, and ``predict`` is
:func:`gdynet.network.run_network` (both still reachable here, ``predict`` with a DeprecationWarning).
"""
from __future__ import annotations

import importlib
import warnings
from typing import Any

from ..base.lazy import lazy_names

_LAZY = {
    "TrainConfig": "gdynet.training.trainer",
    "Trainer": "gdynet.training.trainer",
    "TrainResult": "gdynet.training.trainer",
    "GraphSource": "gdynet.network.inputs",
    "CoordinateSource": "gdynet.network.inputs",
    "split_frames": "gdynet.training.data",
}

__all__ = [*_LAZY, "predict"]


_names, __dir__ = lazy_names(__name__, _LAZY)


def __getattr__(name: str) -> Any:
    if name == "predict":
        warnings.warn("gdynet.training.predict is deprecated; use gdynet.network.run_network", DeprecationWarning,
                      stacklevel=2)
        return importlib.import_module("gdynet.network.forward").run_network
    return _names(name)
