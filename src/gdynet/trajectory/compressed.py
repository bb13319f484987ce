"""Compressed text files (``.gz``, ``.bz2``, ``.xz``), opened by their suffix."""
from __future__ import annotations

import bz2
import gzip
import lzma
import os
from pathlib import Path
from typing import IO, Callable

_OPENERS: dict[str, Callable[..., IO[str]]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def compression(path: str | os.PathLike[str]) -> str | None:
    """The compression suffix of ``path`` (``".gz"``, ``".bz2"``, ``".xz"``) or ``None``."""
    suffix = Path(path).suffix.lower()
    return suffix if suffix in _OPENERS else None


def stem_name(path: str | os.PathLike[str]) -> str:
    """The file name without a compression suffix: ``wat.lammpstrj.bz2`` -> ``wat.lammpstrj``."""
    name = Path(path).name
    return name[: -len(compression(path))] if compression(path) else name


def open_text(path: str | os.PathLike[str]) -> IO[str]:
    """Open a text file for reading, decompressing it on the fly when its suffix says so."""
    opener = _OPENERS.get(compression(path) or "")
    if opener is None:
        return open(path, errors="replace")
    return opener(path, "rt", errors="replace")
