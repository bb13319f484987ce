"""On-disk frame cache: MD frames streamed into memory-mapped ``.npy`` files.

A trajectory file is read frame by frame (never whole) and its positions are appended to
``positions.npy`` (``(F, N, 3)`` float32, Å) while the cells go to ``cells.npy`` (``(F, 3, 3)``
float64, Å). The first-axis length is unknown until the last frame, so the ``.npy`` header is
rewritten in place at the end (NumPy leaves room in the header for exactly this).

Cache entries live in ``<root>/<name>-<key>/`` where ``root`` is ``cache_dir``, else
``$GDYNET_CACHE/trajectories``, else ``~/.cache/gdynet/trajectories``; the key hashes the absolute path, size,
modification time, stride, format and reader options, so an edited file is read again. An entry is
written into a temporary folder and renamed into place, so a crash never leaves a half entry.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from ..cache import cache_root as _root
from ..errors import GdynetError

#: at most this many frames, and about CHUNK_BYTES of positions, are held in memory before they are
#: written out (tests shrink CHUNK_FRAMES to exercise streaming)
CHUNK_FRAMES = 1024
CHUNK_BYTES = 64 * 2**20

#: files at least this large (bytes) go through the on-disk cache; smaller ones are read into RAM
STREAM_THRESHOLD_BYTES = 256 * 2**20

_POSITIONS, _CELLS, _NUMBERS, _TIMES, _STEPS = "positions.npy", "cells.npy", "numbers.npy", "times.npy", "steps.npy"
_META = "meta.json"  # written last: its presence marks a complete entry


@dataclass(frozen=True)
class Frames:
    """Frames read from a file.

    Attributes:
        positions: ``(F, N, 3)`` Cartesian coordinates in Å (a read-only memmap for cached files).
        cells: ``(F, 3, 3)`` cell matrices in Å, rows are lattice vectors.
        numbers: ``(N,)`` atomic numbers.
        times_ps: ``(F,)`` time of each frame in ps, or ``None`` when the file has no times.
        steps: ``(F,)`` MD step number of each frame (float64, exact below 2**53), or ``None``.
    """

    positions: np.ndarray
    cells: np.ndarray
    numbers: np.ndarray
    times_ps: np.ndarray | None
    steps: np.ndarray | None = None


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder: ``cache_dir``, else ``$GDYNET_CACHE/trajectories`` or ``~/.cache/gdynet/trajectories``."""
    return _root("trajectories", cache_dir)


def cache_entry(path: Path, root: Path, **options: Any) -> Path:
    """Folder of the cache entry for ``path`` read with ``options`` (stride, format, ...).

    The key is a hash of the absolute path, size and modification time of ``path`` and of every
    file named in ``options`` (e.g. a topology), plus the options themselves.
    """
    def stamp(p: Path) -> list:
        st = p.stat()
        return [str(p.resolve()), st.st_size, st.st_mtime_ns]

    parts: dict[str, Any] = {"file": stamp(path)}
    for name, value in sorted(options.items()):
        parts[name] = stamp(Path(value)) if isinstance(value, Path) else repr(value)
    key = hashlib.blake2b(json.dumps(parts, sort_keys=True).encode(), digest_size=10).hexdigest()
    return root / f"{path.name}-{key}"


def load_entry(entry: Path) -> Frames | None:
    """Open a finished cache entry with memory maps, or ``None`` when there is none."""
    meta_file = entry / _META
    if not meta_file.is_file():
        return None
    try:
        positions = np.load(entry / _POSITIONS, mmap_mode="r")
        cells = np.load(entry / _CELLS)
        numbers = np.load(entry / _NUMBERS)
        times = np.load(entry / _TIMES) if (entry / _TIMES).is_file() else None
        steps = np.load(entry / _STEPS) if (entry / _STEPS).is_file() else None
    except (OSError, ValueError):  # damaged entry: the caller reads the file again
        return None
    if len(cells) != len(positions) or positions.shape[1:] != (len(numbers), 3):
        return None
    return Frames(positions, cells, numbers, times, steps)


class _NpyAppender:
    """Write a ``.npy`` file block by block along its first axis."""

    def __init__(self, path: Path, dtype: np.dtype, tail: tuple[int, ...]) -> None:
        self.path, self.dtype, self.tail, self.length = path, np.dtype(dtype), tail, 0
        self.file = open(path, "wb")
        self.header_size = self._write_header()

    def _write_header(self) -> int:
        self.file.seek(0)
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                  "shape": (self.length, *self.tail)}
        np.lib.format.write_array_header_1_0(self.file, header)
        return self.file.tell()

    def append(self, block: np.ndarray) -> None:
        self.file.write(np.ascontiguousarray(block, dtype=self.dtype).tobytes())
        self.length += len(block)

    def __enter__(self) -> "_NpyAppender":
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        """Write the final length into the header (on success) and close the file."""
        try:
            if exc_type is None and self._write_header() != self.header_size:  # NumPy leaves room for 21 digits
                raise RuntimeError("npy header grew while appending")
        finally:
            self.file.close()


def _chunks(frames: Iterable[tuple[np.ndarray, np.ndarray, float, float]], n_atoms: int, source: str
            ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Group ``(positions (N,3), cell (3,3), time_ps, step)`` frames into stacked blocks (bounded memory)."""
    size = max(1, min(CHUNK_FRAMES, CHUNK_BYTES // (24 * max(n_atoms, 1))))
    block: list[tuple[np.ndarray, np.ndarray, float, float]] = []
    for index, frame in enumerate(frames):
        if np.shape(frame[0]) != (n_atoms, 3):
            raise GdynetError(f"frame {index} has {len(frame[0])} atoms but frame 0 has {n_atoms}; "
                              "gdynet needs a fixed number of atoms", source)
        block.append(frame)
        if len(block) == size:
            yield _stack(block)
            block = []
    if block:
        yield _stack(block)


def _stack(block: list) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    pos, cells, times, steps = zip(*block)
    return (np.stack(pos), np.stack(cells).astype(np.float64), np.asarray(times, dtype=np.float64),
            np.asarray(steps, dtype=np.float64))


def collect_frames(frames: Iterable[tuple[np.ndarray, np.ndarray, float, float]], numbers: np.ndarray, *,
                   entry: Path | None, source: str) -> Frames:
    """Gather frames into arrays, in memory (``entry=None``) or streamed into the cache ``entry``.

    Args:
        frames: iterable of ``(positions (N, 3) Å, cell (3, 3) Å, time_ps or nan, MD step or nan)``.
        numbers: ``(N,)`` atomic numbers, stored with the entry.
        entry: cache folder to create (written under a temporary name, then renamed), or ``None``.
        source: file name for error messages.
    """
    n_atoms = len(numbers)
    blocks = _chunks(frames, n_atoms, source)
    if entry is None:
        pos_list, cell_list, time_list, step_list = [], [], [], []
        for pos, cells, times, steps in blocks:
            pos_list.append(pos)
            cell_list.append(cells)
            time_list.append(times)
            step_list.append(steps)
        if not pos_list:
            raise GdynetError("file contains no frames", source)
        return Frames(np.concatenate(pos_list), np.concatenate(cell_list), np.asarray(numbers),
                      _known_times(np.concatenate(time_list)), _known_times(np.concatenate(step_list)))

    tmp = entry.parent / f".{entry.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir(parents=True)
        time_list, step_list = [], []
        with _NpyAppender(tmp / _POSITIONS, np.float32, (n_atoms, 3)) as positions, \
                _NpyAppender(tmp / _CELLS, np.float64, (3, 3)) as cells_out:
            for pos, cells, times, steps in blocks:
                positions.append(pos)
                cells_out.append(cells)
                time_list.append(times)
                step_list.append(steps)
        if positions.length == 0:
            raise GdynetError("file contains no frames", source)
        np.save(tmp / _NUMBERS, np.asarray(numbers, dtype=np.int64))
        for name, values in ((_TIMES, time_list), (_STEPS, step_list)):
            known = _known_times(np.concatenate(values))
            if known is not None:
                np.save(tmp / name, known)
        meta = {"source": source, "n_frames": positions.length, "n_atoms": n_atoms}
        (tmp / _META).write_text(json.dumps(meta))
        if entry.exists() and load_entry(entry) is None:
            shutil.rmtree(entry, ignore_errors=True)  # a damaged entry from an interrupted run
        try:
            os.rename(tmp, entry)
        except OSError:  # another process finished the same entry first: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:  # the frames come through readers that turn their own errors into GdynetError
        shutil.rmtree(tmp, ignore_errors=True)
        raise GdynetError(f"cannot write the frame cache in {entry.parent} ({exc.strerror or exc}); "
                          "pass cache_dir= or set GDYNET_CACHE to a writable folder", source) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    loaded = load_entry(entry)
    if loaded is None:
        raise GdynetError(f"could not open the trajectory cache {entry}", source)
    return loaded


def _known_times(times: np.ndarray) -> np.ndarray | None:
    """``times`` (or steps) when every frame has one, else ``None``."""
    return None if np.isnan(times).any() else times
