"""Resident memory of memory-mapped arrays: a pass over a mapped file must not leave it resident.

A page of a memory map that has been read stays in the process's resident set (``VmRSS``, what ``top``
and ``/usr/bin/time`` report) until the map is closed, even though the kernel could drop it: one pass of
a checksum over a 4 GB graph store would count as 4 GB of this process's memory. Passes over mapped
files therefore go block by block and call :func:`release` between blocks; the data stay in the
operating system's page cache, so reading them again costs no disk access.
"""
from __future__ import annotations

import mmap
import zlib
from typing import Iterator

import numpy as np


def release(array: np.ndarray) -> None:
    """Drop this process's resident pages of the read-only memory map ``array`` (``madvise(MADV_DONTNEED)``).

    A no-op for anything but a read-only ``np.memmap`` (a view of one carries the map too). Safe at any
    time: the pages of a read-only file mapping are read back from the file on the next access.
    """
    handle = getattr(array, "_mmap", None)  # numpy keeps the mmap object of a memmap (and its views)
    if isinstance(array, np.memmap) and array.mode == "r" and handle is not None and hasattr(mmap, "MADV_DONTNEED"):
        handle.madvise(mmap.MADV_DONTNEED)


def blocks(array: np.ndarray, step: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, array[start:start + step])`` along the first axis, releasing the pages of each block
    of a read-only memory map (:func:`release`) before the next one is read."""
    step = max(int(step), 1)
    for start in range(0, len(array), step):
        yield start, array[start:start + step]
        release(array)


def crc32_blocks(array: np.ndarray, step: int) -> list[int]:
    """CRC-32 of every ``step`` rows (first axis) of ``array``, in bounded resident memory (:func:`blocks`)."""
    return [zlib.crc32(np.ascontiguousarray(block)) for _, block in blocks(array, step)] or [zlib.crc32(b"")]
