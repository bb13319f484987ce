"""The model file (``model.pt``, written by ``gdynet fit`` and :meth:`GDyNetModel.save`): the network's
class, config and weights plus what applying it needs (:func:`save_model`, :func:`load_model`).
``MODEL_FILE`` and ``SUMMARY_FILE`` are their names inside a run folder."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

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
    """Save ``model`` (a GDyNet or GlobalVAMPNet) with its config and run metadata, atomically.

    The file holds only tensors and plain Python values (``torch.load(..., weights_only=True)`` reads
    it without unpickling any object) and a BLAKE2b ``checksum`` of everything else in it, which
    :func:`load_model` checks."""
    import torch

    payload = {"format": MODEL_FORMAT, "kind": kind, "config": writes.plain(dict(model.config)),
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}, "meta": writes.plain(meta)}
    payload["checksum"] = model_checksum(payload)
    try:
        writes.atomic_write(path, lambda tmp: torch.save(payload, tmp))
    except (OSError, RuntimeError) as exc:
        raise disk_error(exc, path) from None


def model_checksum(payload: dict[str, Any]) -> str:
    """BLAKE2b (hex) of a model file's kind, config, meta (:func:`_canonical`) and every tensor's
    name, dtype, shape and bytes: a flipped bit anywhere in them changes it."""
    import hashlib

    import torch

    digest = hashlib.blake2b(digest_size=32)
    header = {k: payload.get(k) for k in ("kind", "config", "meta")}
    digest.update(repr(_canonical(header)).encode())
    for name, tensor in sorted(payload["state_dict"].items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _canonical(value: Any) -> Any:
    """``value`` with dicts as lists of ``(repr(key), value)`` sorted by key and tuples as lists: the
    same ``repr`` before saving and after loading."""
    if isinstance(value, dict):
        return sorted((repr(k), _canonical(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


#: what the model kinds need in ``meta`` (besides ``neighbors`` for GDyNet, also accepted in config)
_MODEL_META = ("n_states", "lag_frames", "dt_ps", "calibration", "vamp2", "seed")


def load_model(path: Path, device: str = "cpu") -> tuple[Any, dict[str, Any]]:
    """Load a model saved by :func:`save_model`; returns ``(model in eval mode, meta)``.

    Only tensors and plain values are unpickled (a file holding any other object, which could run
    code, is refused unread). A file with a checksum must match it; every file (also those of gdynet
    0.4 and earlier, written without a checksum, which get this check only) must have finite weights
    and calibration. A file of another kind, with settings or weights this version does not know, or
    without what the model needs, is one line naming the problem (:class:`GdynetError`)."""
    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise GdynetError("model file not found", path) from None
    except Exception as exc:  # corrupt, foreign or planted file
        if writes.refused_object(exc):
            raise GdynetError("not a gdynet model file: it holds objects other than tensors and plain values, "
                              "which gdynet does not unpickle (they could run code)", path) from None
        raise GdynetError(f"cannot read model file ({exception_summary(exc)})", path) from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise GdynetError("not a gdynet model file", path)
    model = _model_from(payload, path)
    return model.to(device).eval(), {"kind": payload["kind"], **payload["meta"]}


def _model_from(payload: dict[str, Any], path: Path) -> Any:
    """The network of a model file's ``payload``, checked (see :func:`load_model`)."""
    import inspect

    import torch

    from ..network.gdynet import GDyNet
    from ..network.vampnet import GlobalVAMPNet

    classes = {"gdynet": GDyNet, "vampnet": GlobalVAMPNet}
    kind, config, state, meta = (payload.get(k) for k in ("kind", "config", "state_dict", "meta"))
    if kind not in classes:
        raise GdynetError(f"unknown model kind {kind!r} (this gdynet reads {', '.join(classes)}); the file may come "
                          "from another gdynet version: open it with that version", path)
    for name, value in (("config", config), ("state_dict", state), ("meta", meta)):
        if not isinstance(value, dict):
            raise GdynetError(f"damaged model file: its {name!r} is missing or not a table; fit the model again "
                              "or use a saved copy", path)
    if "checksum" in payload and payload["checksum"] != model_checksum(payload):
        raise GdynetError("damaged model file: its contents do not match its checksum; fit the model again or "
                          "use a saved copy", path)
    missing = [k for k in _MODEL_META if k not in meta]
    config = dict(config)
    if kind == "gdynet" and "neighbors" not in config:   # files written before the model recorded its M (issue 18)
        if "neighbors" not in meta:
            missing.append("neighbors")
        config["neighbors"] = meta.get("neighbors")
    if missing:
        raise GdynetError(f"incomplete model file: no {', '.join(f'meta.{k}' for k in missing)}; fit the model "
                          "again, or save it with GDyNetModel.save", path)
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor) or
           (v.is_floating_point() and not bool(torch.isfinite(v).all()))]
    if bad or not _finite_numbers(meta["calibration"]):
        where = f"weights {', '.join(bad[:3])}" + (" ..." if len(bad) > 3 else "") if bad else "calibration"
        raise GdynetError(f"damaged model file: its {where} are not finite numbers (NaN or infinite); fit the "
                          "model again or use a saved copy", path)
    unknown = sorted(set(config) - set(inspect.signature(classes[kind]).parameters))
    if unknown:
        raise GdynetError(f"model settings {', '.join(unknown)} are unknown to this gdynet version (the file comes "
                          "from another one): open it with that version, or fit the model again", path)
    try:
        model = classes[kind](**config)
        model.load_state_dict(state)
    except (GdynetError, TypeError, ValueError, RuntimeError) as exc:
        detail = str(exc).split(": ", 1)[-1] if isinstance(exc, GdynetError) else exception_summary(exc)
        raise GdynetError(f"model file's settings and weights do not fit this gdynet's {kind} network "
                          f"({' '.join(detail.split())[:300]}); fit the model again", path) from None
    return model


def _finite_numbers(values: Any) -> bool:
    """Whether ``values`` (a number or nested lists of them) are all finite real numbers."""
    try:
        return bool(np.isfinite(np.asarray(values, dtype=np.float64)).all())
    except (TypeError, ValueError):
        return False
