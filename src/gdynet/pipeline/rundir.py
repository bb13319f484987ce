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
        from ..openfiles import load_npy, open_files_error

        try:
            chi = load_npy(path)                      # small: in memory (no descriptor held)
        except (OSError, ValueError) as exc:
            raise open_files_error(exc, path) or GdynetError(f"unreadable state probabilities ({exception_summary(exc)}); re-run the same "
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
    """Save ``model`` (a GDyNet or GlobalVAMPNet) with its config and run metadata, atomically."""
    import torch

    payload = {"format": MODEL_FORMAT, "kind": kind, "config": dict(model.config),
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}, "meta": meta}
    try:
        atomic.atomic_write(path, lambda tmp: torch.save(payload, tmp))
    except (OSError, RuntimeError) as exc:
        raise disk_error(exc, path) from None


def load_model(path: Path, device: str = "cpu") -> tuple[Any, dict[str, Any]]:
    """Load a model saved by :func:`save_model`; returns ``(model in eval mode, meta)``."""
    import torch

    from ..model.gdynet import GDyNet
    from ..model.vampnet import GlobalVAMPNet

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
