"""Where gdynet keeps its on-disk caches (frame caches of large files, neighbour graphs), and the lock
that keeps two processes from building one entry at once."""
from __future__ import annotations

import fcntl
import os
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..base.errors import GdynetWarning


def cache_root(kind: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """``cache_dir`` when given, else ``$GDYNET_CACHE/<kind>`` if the variable is set, else
    ``~/.cache/gdynet/<kind>``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("GDYNET_CACHE")
    base = Path(env).expanduser() if env else Path.home() / ".cache" / "gdynet"
    return base / kind


@contextmanager
def entry_lock(lock_path: Path, waiting: str | None = None) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` while building a shared cache entry, so that a
    second process building the same entry waits and then finds it built. ``waiting``: a warning
    given when another process holds the lock (say what is awaited)."""
    with open(lock_path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting:
                warnings.warn(waiting, GdynetWarning, stacklevel=3)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
