"""Atomic file writes: write to a temporary file in the same folder, then ``os.replace``.

A job killed at any moment leaves either the old file or the new one, never half of one.
"""
from __future__ import annotations

import json
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (not yet created); on success it is renamed onto ``path``.

    The writer creates the file, so it gets the usual permissions (``0o666`` less the umask); a
    ``tempfile.mkstemp`` file would stay ``0o600``, unreadable to the group in a shared folder.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp_path)`` and move the result onto ``path`` atomically."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def json_safe(value: Any) -> Any:
    """A strict-JSON copy of ``value``: arrays and tuples to lists, NumPy scalars to Python numbers,
    NaN and infinities to ``None`` (JSON has neither)."""
    import math

    import numpy as np

    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented, strict JSON (see :func:`json_safe`) to ``path`` atomically."""
    return write_text(path, json.dumps(json_safe(data), indent=2, sort_keys=False, allow_nan=False) + "\n")


def save_npy(path: str | os.PathLike[str], array: Any) -> Path:
    """Save ``array`` as ``.npy`` at ``path`` atomically."""
    import numpy as np

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.save(handle, array)

    return atomic_write(path, write)


def plain(value: Any) -> Any:
    """``value`` with NumPy scalars as Python numbers and NumPy arrays as lists (dicts, lists and
    tuples copied through; tensors, state dicts and everything else as they are): what
    ``torch.load(..., weights_only=True)`` reads back."""
    if type(value) is dict:
        return {k: plain(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(plain(v) for v in value)
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    return value


def refused_object(exc: BaseException) -> bool:
    """Whether ``exc``, raised by ``torch.load(..., weights_only=True)``, refused an object other than
    tensors and plain values (a class or function the file names, which could run code), rather than
    meeting a damaged or foreign file."""
    import pickle

    return isinstance(exc, pickle.UnpicklingError) and "global" in str(exc).lower()
