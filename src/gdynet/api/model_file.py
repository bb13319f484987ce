"""The model file (``model.pt``, written by ``gdynet fit`` and :meth:`GDyNetModel.save`): the network's
class, config and weights plus what applying it needs (:func:`save_model`, :func:`load_model`).
``MODEL_FILE`` and ``SUMMARY_FILE`` are their names inside a run folder."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..base.errors import GdynetError, exception_summary
from ..files import writes
from ..files.diskspace import disk_error

MODEL_FORMAT = "gdynet-model/1"
#: the inputs record, the model file and the summary inside a ``gdynet fit`` run folder
RUN_FILE = "run.json"
MODEL_FILE = "model.pt"
SUMMARY_FILE = "summary.json"


def model_in_folder(folder: Path) -> Path:
    """``folder/model.pt`` of a ``gdynet fit`` run folder; a one-line error when the folder holds no run
    or the fit did not finish."""
    if not (folder / RUN_FILE).is_file():
        raise GdynetError(f"not a gdynet run folder (no {RUN_FILE}); run `gdynet fit ... --out DIR` first", folder)
    if not (folder / MODEL_FILE).is_file():
        raise GdynetError(f"no trained model here ({MODEL_FILE} missing); the fit did not finish — "
                          "re-run the same `gdynet fit` command to resume", folder)
    return folder / MODEL_FILE


def save_model(path: Path, *, kind: str, model: Any, meta: dict[str, Any]) -> None:
    """Save ``model`` (a GDyNet or GlobalVAMPNet) with its config and run metadata, atomically."""
    import torch

    payload = {"format": MODEL_FORMAT, "kind": kind, "config": dict(model.config),
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}, "meta": meta}
    try:
        writes.atomic_write(path, lambda tmp: torch.save(payload, tmp))
    except (OSError, RuntimeError) as exc:
        raise disk_error(exc, path) from None


def load_model(path: Path, device: str = "cpu") -> tuple[Any, dict[str, Any]]:
    """Load a model saved by :func:`save_model`; returns ``(model in eval mode, meta)``."""
    import torch

    from ..network.gdynet import GDyNet
    from ..network.vampnet import GlobalVAMPNet

    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise GdynetError("model file not found", path) from None
    except Exception as exc:  # corrupt or foreign file
        raise GdynetError(f"cannot read model file ({exception_summary(exc)})", path) from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise GdynetError("not a gdynet model file", path)
    cls = {"gdynet": GDyNet, "vampnet": GlobalVAMPNet}[payload["kind"]]
    config = dict(payload["config"])
    if payload["kind"] == "gdynet":  # files written before the model recorded its M (issue 18)
        config.setdefault("neighbors", payload["meta"]["neighbors"])
    model = cls(**config)
    model.load_state_dict(payload["state_dict"])
    return model.to(device).eval(), {"kind": payload["kind"], **payload["meta"]}
