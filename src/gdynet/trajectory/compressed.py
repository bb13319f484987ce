"""Compressed text files (``.gz``, ``.bz2``, ``.xz``), opened by their suffix."""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from ..base.errors import GdynetError, exception_summary

_OPENERS: dict[str, Callable[..., IO]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
#: what the decompressors raise on data that is not theirs or is damaged (bz2 raises a bare OSError);
#: a stream that simply ends early raises EOFError, which the callers treat as a cut-off file
_DAMAGED = (gzip.BadGzipFile, zlib.error, lzma.LZMAError, OSError)


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


def open_binary(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open a file for reading bytes, decompressing it on the fly when its suffix says so (the
    offsets of ``seek``/``tell`` are then those of the decompressed bytes; a 1 MiB buffer in front of
    the decompressor makes reading line by line twice as fast)."""
    opener = _OPENERS.get(compression(path) or "")
    return open(path, "rb") if opener is None else io.BufferedReader(_Chunks(opener(path, "rb")), buffer_size=2**20)


class _Chunks(io.RawIOBase):
    """A decompressing stream as a raw stream that returns what one step of decompression gives
    (``read1``): under a large buffer, a stream that ends early then loses none of the bytes before."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self.stream = stream

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read1(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.stream.seek(offset, whence)

    def tell(self) -> int:
        return self.stream.tell()

    def close(self) -> None:
        self.stream.close()
        super().close()


@contextmanager
def damage_refused(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn a decompressor's error (not that format, bad CRC, corrupt data) into one GdynetError line."""
    suffix = compression(path)
    try:
        yield
    except GdynetError:
        raise
    except _DAMAGED as exc:
        if suffix is None:
            raise GdynetError(f"cannot read the file ({exception_summary(exc)})", path) from exc
        raise GdynetError(f"not a valid {suffix} file, or a damaged one ({exception_summary(exc)}); check it with "
                          f"'{_TOOLS[suffix]} -t' or decompress it again", path) from exc


_TOOLS = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz"}
