"""Disk faults as one-line errors: free space checked before big writes, memory maps preallocated.

A memory-mapped ``.npy`` created by ``np.lib.format.open_memmap`` is a sparse file: when the disk
fills up while its pages are written back, the process dies of SIGBUS with no message. Files made
with :func:`open_memmap` reserve their blocks first (``os.posix_fallocate``), so a full disk is an
``ENOSPC`` before any data is written, which :func:`disk_error` turns into a :class:`GdynetError`.
"""
from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..base.errors import GdynetError

#: errno values that are the user's disk or permissions, not a bug
_FULL = {errno.ENOSPC, errno.EDQUOT}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2 ** 30:.3g} GiB"


def require_free(folder: str | os.PathLike[str], nbytes: int, what: str) -> None:
    """Raise a one-line :class:`GdynetError` when the file system of ``folder`` (or of its nearest
    existing parent) has less than ``nbytes`` free for ``what``."""
    probe = Path(folder)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < nbytes:
        raise GdynetError(f"not enough disk space for {what}: {_gib(nbytes)} needed, {_gib(free)} free; "
                          "free some space or choose another folder", folder)


def open_memmap(path: str | os.PathLike[str], dtype: Any, shape: tuple[int, ...]) -> np.memmap:
    """A new ``.npy`` memory map (``mode="w+"``) whose blocks are reserved on disk before it is returned."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    preallocate(path)
    return out


def preallocate(path: str | os.PathLike[str]) -> None:
    """Reserve the disk blocks of the whole file ``path`` (a full disk raises :class:`GdynetError` now,
    not SIGBUS later); a no-op where the platform or file system cannot."""
    if not hasattr(os, "posix_fallocate"):
        return
    fd = os.open(path, os.O_RDWR)
    try:
        size = os.fstat(fd).st_size
        if size:
            os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            return
        raise disk_error(exc, path) from None
    finally:
        os.close(fd)


def disk_error(exc: BaseException, path: str | os.PathLike[str] | None = None) -> BaseException:
    """``exc`` as a one-line :class:`GdynetError` when it is a full disk, a write refused by
    permissions or a process out of file descriptors (naming the file and what to do); otherwise
    ``exc`` itself, to be re-raised."""
    from .openfiles import open_files_error

    code = getattr(exc, "errno", None)
    where = getattr(exc, "filename", None) or path
    if open_files_error(exc, where) is not None:
        return open_files_error(exc, where)
    if code in _FULL:
        return GdynetError("the disk is full (no space left on device); free some space or choose a "
                           "folder on another disk", where)
    if code in _DENIED:
        return GdynetError(f"cannot write here ({os.strerror(code)}); choose a writable folder "
                           "(--out, -o or GDYNET_CACHE) or fix its permissions", where)
    if isinstance(exc, RuntimeError) and path is not None and "write" in str(exc).lower():
        try:
            free = shutil.disk_usage(Path(path).parent).free
        except OSError:
            return exc
        if free < 2 ** 20:                  # torch.save reports a full disk as a RuntimeError
            return GdynetError("the disk is full (no space left on device); free some space or choose a "
                               "folder on another disk", path)
    return exc
