"""The layout of a run folder (``gdynet fit --out DIR``) and the saved model file.

::

    DIR/run.json          inputs of the run: trajectory files, read options, fit options
    DIR/model.pt          best model + everything needed to apply it (see :func:`save_model`)
    DIR/summary.json      headline numbers (lag, timescales, populations, VAMP-2 scores, sizes)
    DIR/report.md         figures with their numbers
    DIR/figures/          PNG + SVG figures
    DIR/chi/              state probabilities chi (frames, targets, S) per trajectory, .npy
    DIR/graphs/           cached neighbour graphs (memory-mapped)
    DIR/checkpoints/      training checkpoints (a killed run resumes from here)
    DIR/.gdynet.lock      held by the one gdynet process writing the folder (:func:`run_lock`)

One process writes a run folder at a time: ``fit`` and ``analyze`` hold an exclusive ``flock`` on
``DIR/.gdynet.lock``, ``predict`` a shared one; a second process exits with one line instead of
interleaving its files with the first one's.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .. import atomic
from ..diskspace import disk_error
from ..errors import GdynetError, exception_summary
from ..option_names import option

LOCK_NAME = ".gdynet.lock"
#: scratch files of a killed process, swept when the next writer takes the lock (see :func:`claim`)
SCRATCH = ("chi/.raw_*", "chi/.seed_*", "chi/.*.tmp", ".*.tmp")
#: run folders this process holds the lock of (fit -> train -> analyze take it in turn)
_HELD: set[str] = set()

MODEL_FORMAT = "gdynet-model/1"


@dataclass(frozen=True)
class RunDir:
    """Paths inside one run folder."""

    root: Path

    @property
    def run_json(self) -> Path:
        return self.root / "run.json"

    @property
    def model(self) -> Path:
        return self.root / "model.pt"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def report(self) -> Path:
        return self.root / "report.md"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def graphs(self) -> Path:
        return self.root / "graphs"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    def chi(self, index: int) -> Path:
        """State probabilities of trajectory ``index``, shape (frames, targets, S)."""
        return self.root / "chi" / f"traj_{index:03d}.npy"

    def targets(self, index: int) -> Path:
        """Atom indices (file numbering) of the target sets of trajectory ``index``, shape (targets, k)."""
        return self.root / "chi" / f"targets_{index:03d}.npy"

    def read_run(self) -> dict[str, Any]:
        """The inputs recorded by ``fit``; a clear error when DIR holds no run or run.json is damaged."""
        if not self.run_json.is_file():
            raise GdynetError("not a gdynet run folder (no run.json); run `gdynet fit ... --out DIR` first",
                              self.root)
        try:
            record = json.loads(self.run_json.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise GdynetError(f"unreadable run.json ({exception_summary(exc)}); re-run `gdynet fit ... --force` "
                              "to start this run over", self.run_json) from None
        if not isinstance(record, dict):
            raise GdynetError("run.json does not describe a gdynet run; re-run `gdynet fit ... --force` to "
                              "start this run over", self.run_json)
        return record

    def load_chi(self, index: int) -> np.ndarray:
        """:meth:`chi` memory-mapped read-only; a one-line error when it is missing, truncated or damaged."""
        path = self.chi(index)
        try:
            chi = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise GdynetError(f"unreadable state probabilities ({exception_summary(exc)}); re-run the same "
                              "`gdynet fit` command to rewrite them", path) from None
        if chi.ndim != 3 or chi.dtype != np.float32:
            raise GdynetError(f"state probabilities of shape {chi.shape} and type {chi.dtype}, not (frames, "
                              "targets, S) float32; re-run the same `gdynet fit` command to rewrite them", path)
        return chi

    def require_model(self) -> None:
        """Raise a clear error when the folder has no trained model."""
        self.read_run()
        if not self.model.is_file():
            raise GdynetError("no trained model here (model.pt missing); the fit did not finish — "
                              "re-run the same `gdynet fit` command to resume", self.root)


@contextmanager
def run_lock(root: Path, *, create: bool = False, shared: bool = False) -> Iterator[bool]:
    """Hold the lock of the run folder ``root`` (exclusive; ``shared`` for readers such as ``predict``).

    ``create``: make the folder first. Yields whether this call created it. A second process gets
    one line, "another gdynet process is using DIR"; calls nested in one process (``fit`` ->
    ``train`` -> ``analyze``) pass through, as do torchrun ranks other than 0 (rank 0 writes). A
    reader in a folder it cannot write proceeds without a lock (no writer can be there either).
    """
    root = Path(root)
    key = str(root.resolve())
    if key in _HELD or not _main_rank():
        yield False
        return
    created = False
    if create:
        if root.exists() and not root.is_dir():
            raise GdynetError(f"{option('out')} must be a folder, but a file of that name exists", root)
        created = not root.exists()
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise disk_error(exc, root) from None
    try:
        handle = open(root / LOCK_NAME, "a")
    except OSError as exc:
        if shared and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            yield created
            return
        raise GdynetError(f"cannot write in the run folder ({exc.strerror}); gdynet writes its results there: "
                          "fix its permissions or copy it to a writable place", root) from None
    with handle:
        try:
            fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GdynetError(f"another gdynet process is using {root}; wait until it has finished, or "
                              "choose another folder") from None
        _HELD.add(key)
        try:
            yield created
        finally:
            _HELD.discard(key)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _main_rank() -> bool:
    """False in torchrun processes other than rank 0 (they neither lock nor delete anything)."""
    return int(os.environ.get("RANK", "0") or 0) == 0


@contextmanager
def writing_run(root: Path) -> Iterator[None]:
    """:func:`run_lock` for ``fit``: creates the folder, and removes it again when this call created it
    and a :class:`GdynetError` (a user mistake) ends the run before a model was saved (a trained
    model is kept: ``gdynet analyze`` can still be run with other options)."""
    with run_lock(root, create=True) as created:
        try:
            yield
        except GdynetError:
            if created and not RunDir(root).model.exists():
                shutil.rmtree(root, ignore_errors=True)
            raise


def claim(run: RunDir, record: dict[str, Any], same: Sequence[str], force: bool) -> None:
    """Check that ``fit`` may write ``record``'s run into ``run`` (called under :func:`run_lock`).

    An empty folder is taken; a folder with the same run (``record``'s ``same`` entries equal, the
    input files unchanged, :mod:`gdynet.fingerprint`) is resumed; any other run is refused, or with
    ``force`` deleted to start over. A non-empty folder without run.json is never touched.
    Scratch files of killed processes are swept (both only by torchrun's rank 0).
    """
    from ..fingerprint import require_same_inputs

    if run.run_json.exists():
        if force:
            for entry in run.root.iterdir() if _main_rank() else ():
                if entry.name != LOCK_NAME:
                    shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
            return
        previous = run.read_run()
        if {k: previous.get(k, [] if k == "test_paths" else None) for k in same} != {k: record[k] for k in same}:
            raise GdynetError("this folder holds a different run (other inputs or options); choose another "
                              f"{option('out')}, or pass {option('force')} to start over", run.root)
        require_same_inputs(previous, run.root, "fit")
    elif any(entry.name != LOCK_NAME for entry in run.root.iterdir()):
        raise GdynetError(f"output folder exists and is not empty; choose another {option('out')}", run.root)
    if _main_rank():
        sweep_scratch(run)


def sweep_scratch(run: RunDir) -> None:
    """Delete the scratch files (:data:`SCRATCH`) a killed process left in ``run`` (under the lock),
    after completing an interrupted swap of ``analyze``'s outputs (:func:`.outputs.recover`)."""
    from .outputs import recover

    recover(run)
    for pattern in SCRATCH:
        for path in run.root.glob(pattern):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def save_model(path: Path, *, kind: str, model: Any, meta: dict[str, Any]) -> None:
    """Save ``model`` (a GDyNet or GlobalVAMPNet) with its config and run metadata, atomically.

    The file holds only tensors and plain Python values (``torch.load(..., weights_only=True)`` reads
    it without unpickling any object) and a BLAKE2b ``checksum`` of everything else in it, which
    :func:`load_model` checks."""
    import torch

    from ..training.checkpoint import plain

    payload = {"format": MODEL_FORMAT, "kind": kind, "config": plain(dict(model.config)),
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}, "meta": plain(meta)}
    payload["checksum"] = model_checksum(payload)
    try:
        atomic.atomic_write(path, lambda tmp: torch.save(payload, tmp))
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
    import pickle

    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise GdynetError("model file not found", path) from None
    except pickle.UnpicklingError:
        raise GdynetError("not a gdynet model file: it holds objects other than tensors and plain values, which "
                          "gdynet does not unpickle (they could run code)", path) from None
    except Exception as exc:  # corrupt or foreign file
        raise GdynetError(f"cannot read model file ({exception_summary(exc)})", path) from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise GdynetError("not a gdynet model file", path)
    model = _model_from(payload, path)
    return model.to(device).eval(), {"kind": payload["kind"], **payload["meta"]}


def _model_from(payload: dict[str, Any], path: Path) -> Any:
    """The network of a model file's ``payload``, checked (see :func:`load_model`)."""
    import inspect

    import torch

    from ..model.gdynet import GDyNet
    from ..model.vampnet import GlobalVAMPNet

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
