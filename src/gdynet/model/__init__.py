"""Deprecated alias of :mod:`gdynet.network` (the ``torch.nn.Module`` networks), kept for one release:
``gdynet.model`` now means the fitted model (:class:`gdynet.GDyNetModel`). Importing it warns."""
from __future__ import annotations

import importlib
import sys
import warnings

warnings.warn("gdynet.model is deprecated; the networks moved to gdynet.network", DeprecationWarning, stacklevel=2)

for _name in ("calibration", "edge_kernel", "gdynet", "layers", "shell", "vampnet"):
    sys.modules[f"{__name__}.{_name}"] = importlib.import_module(f"gdynet.network.{_name}")

from gdynet.network.gdynet import GDyNet  # noqa: E402
from gdynet.network.vampnet import GlobalVAMPNet  # noqa: E402

__all__ = ["GDyNet", "GlobalVAMPNet"]
