"""Atomic training checkpoints (``torch.save`` to a temporary file, then ``os.replace``).

A run killed at any moment (even SIGKILL) leaves the previous complete checkpoint or the new one on
disk, never half of one. ``last.pt`` holds everything needed to continue bit-for-bit on CPU (model,
optimizer, RNG states, epoch and step, early-stopping state, history); ``best.pt`` holds the weights
with the best validation VAMP-2 score so far.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..files.writes import atomic_write, plain, refused_object
from ..files.diskspace import disk_error
from ..base.errors import GdynetError, exception_summary

LAST = "last.pt"
BEST = "best.pt"


def save(path: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically (no partial file ever visible under ``path``); a full
    disk or a folder without write permission is a one-line :class:`GdynetError`. NumPy scalars and
    arrays are stored as Python numbers and lists, so :func:`load` reads the file without unpickling
    anything but tensors and plain values."""
    state = plain(state)
    try:
        return atomic_write(path, lambda tmp: torch.save(state, tmp))
    except (OSError, RuntimeError) as exc:
        raise disk_error(exc, path) from None


def load(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save` onto the CPU. Only tensors and plain Python values
    are unpickled (``weights_only=True``): a file holding any other object (which could run code on
    loading, e.g. a planted ``last.pt``) is refused with one line, its contents never executed."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a foreign, corrupted or planted file: tell the user which one and why
        problem = (f"cannot read checkpoint ({exception_summary(exc)})" if not refused_object(exc) else
                   "checkpoint holds objects other than tensors and plain values, which gdynet does not "
                   "unpickle (they could run code)")
        raise GdynetError(f"{problem}; delete it, or rerun `gdynet fit` with --force, to start over", path) from None


def rng_state() -> dict[str, Any]:
    """The torch CPU (and CUDA, when present) random generator states."""
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore states saved by :func:`rng_state`."""
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])
