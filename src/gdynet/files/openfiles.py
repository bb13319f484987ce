"""Open files: a run of hundreds of trajectories stays under the open-file limit (``ulimit -n``).

A memory-mapped array holds an open file descriptor for as long as it or any view of it lives
(CPython's ``mmap`` keeps a duplicate of the descriptor), and ``fit`` and ``analyze`` keep every
trajectory's graphs and state probabilities at hand: mapped, 300 trajectories would hold 600-900
descriptors. So ``.npy`` files up to :data:`SMALL_BYTES` are read into memory instead, up to
:data:`BUDGET_BYTES` held in all by this process (then they are mapped, as large ones always are),
and a process that still runs out of descriptors gets one line saying how to raise the limit.
"""
from __future__ import annotations

import errno
import os
import threading
import weakref
from pathlib import Path

import numpy as np

from ..base.errors import GdynetError

#: ``.npy`` files up to this size are read into memory rather than mapped
SMALL_BYTES = 32 * 2 ** 20
#: bytes of such in-memory copies held at once by the process; beyond it files are mapped
BUDGET_BYTES = 1024 * 2 ** 20
#: errno values of a process (EMFILE) or system (ENFILE) out of file descriptors
OUT_OF_FILES = (errno.EMFILE, errno.ENFILE)

_lock = threading.Lock()
_held = [0]


def load_npy(path: str | os.PathLike[str]) -> np.ndarray:
    """The read-only array of the ``.npy`` file ``path``: in memory when small (no descriptor held),
    memory-mapped otherwise."""
    size = os.path.getsize(path)
    if not _reserve(size):
        return np.load(path, mmap_mode="r")
    try:
        array = np.load(path)
    except BaseException:
        _free(size)
        raise
    array.flags.writeable = False
    weakref.finalize(array, _free, size)
    return array


def in_memory(array: np.ndarray) -> np.ndarray:
    """A small memory map just written (``np.memmap``) as an in-memory array, so its file descriptor
    is closed (the file may then be deleted); a large one, or anything else, is returned as it is."""
    if not isinstance(array, np.memmap) or not _reserve(array.nbytes):
        return array
    copy = np.array(array)
    weakref.finalize(copy, _free, copy.nbytes)
    return copy


def open_files_error(exc: BaseException, path: str | os.PathLike[str] | None = None) -> GdynetError | None:
    """``exc`` as a one-line :class:`GdynetError` when the process ran out of file descriptors
    (naming the limit and how to raise it); ``None`` for any other error."""
    if getattr(exc, "errno", None) not in OUT_OF_FILES:
        return None
    try:
        import resource

        limit = f" (this process may open {resource.getrlimit(resource.RLIMIT_NOFILE)[0]})"
    except (ImportError, OSError, ValueError):
        limit = ""
    where = getattr(exc, "filename", None) or path
    return GdynetError(f"too many open files{limit}: raise the limit (e.g. `ulimit -n 4096` in the shell) and run "
                       "the same command again", None if where is None else Path(where))


def _reserve(size: int) -> bool:
    with _lock:
        if size > SMALL_BYTES or _held[0] + size > BUDGET_BYTES:
            return False
        _held[0] += size
        return True


def _free(size: int) -> None:
    with _lock:
        _held[0] -= size
