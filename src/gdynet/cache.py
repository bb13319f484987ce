"""Where gdynet keeps its on-disk caches (frame caches of large files, neighbour graphs)."""
from __future__ import annotations

import os
from pathlib import Path


def cache_root(kind: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """``cache_dir`` when given, else ``$GDYNET_CACHE/<kind>`` if the variable is set, else
    ``~/.cache/gdynet/<kind>``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("GDYNET_CACHE")
    base = Path(env).expanduser() if env else Path.home() / ".cache" / "gdynet"
    return base / kind
