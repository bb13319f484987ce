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
    """Yield a temporary path next to ``path`` (an empty file); on success it is renamed onto ``path``.

    The temporary file, ``.NAME.PID-RANDOM.tmp``, is created here (``0o666`` less the umask, the usual
    permissions; a ``tempfile.mkstemp`` file would stay ``0o600``, unreadable to the group in a shared
    folder) and ``flock``-ed until the rename: the writer opens it again by name. The ones that killed
    writers of ``path`` left are removed first (:func:`remove_stale_temporaries`).
    """
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = path.parent / f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        os.close(fd)


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files of :func:`atomic_path` for ``path`` that a killed writer left behind:
    ``.NAME.PID-RANDOM.tmp`` next to ``path`` whose process is gone (``os.kill(pid, 0)``) and whose
    lock no process holds (so a writer still running, also on another host of a shared folder, keeps
    its file). Returns the files deleted."""
    import re

    path = Path(path)
    return _remove_stale(path.parent, re.compile(rf"\.{re.escape(path.name)}{_TEMPORARY_TAIL}"))


#: the end of an :func:`atomic_path` temporary file's name, ``.NAME`` + ``.PID-RANDOM.tmp`` (group 1: PID)
_TEMPORARY_TAIL = r"\.(\d+)-[0-9a-f]{12}\.tmp"


def live_temporary(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is the temporary file of an :func:`atomic_path` write whose process still runs."""
    import re

    match = re.fullmatch(rf"\..+?{_TEMPORARY_TAIL}", Path(path).name)
    return match is not None and process_alive(int(match.group(1)))


@contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    """A temporary folder ``$TMPDIR/PREFIX<PID>-RANDOM`` for this process, removed afterwards and
    ``flock``-ed while in use; the folders of ``prefix`` that killed processes of this user left
    (their process gone, their lock free) are removed first."""
    import fcntl
    import re
    import shutil
    import tempfile

    root = Path(tempfile.gettempdir())
    _remove_stale(root, re.compile(rf"{re.escape(prefix)}(\d+)-[A-Za-z0-9_]+"), folders=True)
    path = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=root))
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def _remove_stale(folder: Path, pattern: Any, folders: bool = False) -> list[Path]:
    """Delete the entries of ``folder`` whose name ``pattern`` matches in full (group 1: the PID of
    the process that made it) when that process is gone and no process holds their ``flock``;
    ``folders``: they are folders of this user (removed with their contents), else files."""
    import fcntl
    import shutil
    import stat

    try:
        names = os.listdir(folder)
    except OSError:
        return []
    removed = []
    for name in names:
        match = pattern.fullmatch(name)
        if match is None or process_alive(int(match.group(1))):
            continue
        stale = folder / name
        try:
            info = os.lstat(stale)
            if folders and (not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid()):
                continue
            fd = os.open(stale, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if folders:
                shutil.rmtree(stale)
            else:
                os.unlink(stale)
            removed.append(stale)
        except OSError:                          # locked by a live process, or gone meanwhile
            pass
        finally:
            os.close(fd)
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (this process counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:                  # another user's process
        return True
    except (OverflowError, ValueError):      # no such PID can exist
        return False
    return True


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
