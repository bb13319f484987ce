"""On-disk frame cache: MD frames streamed into memory-mapped ``.npy`` files.

A trajectory file is read frame by frame (never whole) and its positions are appended to
``positions.npy`` (``(F, N, 3)`` Å, in the precision the reader gives: float64 for dumps, ASE and
npz, float32 for MDAnalysis formats, exactly as a small file read into memory) while the cells go to
``cells.npy`` (``(F, 3, 3)`` float64, Å). The first-axis length is unknown until the last frame, so
the ``.npy`` header is rewritten in place at the end (NumPy leaves room in the header for exactly this).

**Integrity.** ``meta.json``, written last, holds a CRC-32 of every block of positions (one block per
write, at most :data:`CHUNK_BYTES`) and of the other arrays. An entry is checked in full when it is
opened (about 3 GB/s); a damaged one (zeroed or cut blocks, a lost file) is never read as data: it
is rebuilt from the trajectory file with one warning naming it.

**Keys.** Entries live in ``<root>/<name>-<key>/`` where ``root`` is ``cache_dir``, else
``$GDYNET_CACHE/trajectories``, else ``~/.cache/gdynet/trajectories``. The key hashes the absolute
path, size, modification and change times (``st_ctime``, which no tool can set back) and the content
hash that run.json records (:func:`gdynet.files.fingerprint.file_fingerprint`), plus the stride,
format and reader options, so a replaced or edited input file is read again.

**Writers.** An entry is written into a uniquely named temporary folder and renamed into place, so a
crash never leaves a half entry, under an exclusive lock on ``<root>/.<entry>.lock``: a second
process reading the same file waits (with a warning) and then uses the finished entry.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from ..files.cache_root import entry_lock
from ..files.fingerprint import file_fingerprint
from ..files.pages import release
from ..base.errors import GdynetError, GdynetWarning, exception_summary

#: at most this many frames, and about CHUNK_BYTES of positions, are held in memory before they are
#: written out (tests shrink BLOCK_FRAMES to exercise streaming)
BLOCK_FRAMES = 1024
CHUNK_BYTES = 64 * 2**20

#: files at least this large (bytes) go through the on-disk cache; smaller ones are read into RAM
STREAM_THRESHOLD_BYTES = 256 * 2**20

#: layout of an entry; part of the key, so entries of an older layout (float32, no checksums) are not read
LAYOUT = 2

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
        notes: what the reader left out of the file, kept with a cache entry (JSON values:
            ``frames_dropped``, ``truncated_tail`` bytes, the ``warnings`` it gave).
    """

    positions: np.ndarray
    cells: np.ndarray
    numbers: np.ndarray
    times_ps: np.ndarray | None
    steps: np.ndarray | None = None
    notes: dict[str, Any] = field(default_factory=dict)


def cache_entry(path: Path, root: Path, **options: Any) -> Path:
    """Folder of the cache entry for ``path`` read with ``options`` (stride, format, ...).

    The key hashes :func:`file_stamp` of ``path`` and of every file named in ``options`` (e.g. a
    topology), the options themselves and :data:`LAYOUT`.
    """
    parts: dict[str, Any] = {"file": file_stamp(path), "layout": LAYOUT}
    for name, value in sorted(options.items()):
        parts[name] = file_stamp(Path(value)) if isinstance(value, Path) else repr(value)
    key = hashlib.blake2b(json.dumps(parts, sort_keys=True).encode(), digest_size=10).hexdigest()
    return root / f"{path.name}-{key}"


def file_stamp(path: Path) -> list:
    """Absolute path, size, modification and change times (ns) and the content hash of ``path``
    (:func:`gdynet.files.fingerprint.file_fingerprint`, the one that run.json records)."""
    fingerprint = file_fingerprint(path)
    return [fingerprint["path"], fingerprint["size"], fingerprint["mtime_ns"], path.stat().st_ctime_ns,
            fingerprint["hash"]]


def load_entry(entry: Path) -> Frames | None:
    """Open a finished cache entry with memory maps after checking its checksums; ``None`` when
    there is none, or when it is damaged (then with a warning naming it: the caller reads the file
    again and :func:`collect_frames` replaces the entry)."""
    frames, problem = _open(entry)
    if problem is not None:
        warnings.warn(f"{entry}: damaged frame cache ({problem}); reading the trajectory file again",
                      GdynetWarning, stacklevel=2)
    for text in [] if frames is None else frames.notes.get("warnings", []):
        warnings.warn(text, GdynetWarning, stacklevel=2)  # what the first read of the file said
    return frames


def _crc(array: np.ndarray) -> int:
    return zlib.crc32(memoryview(np.ascontiguousarray(array)).cast("B"))


def _open(entry: Path, verify: bool = True) -> tuple[Frames | None, str | None]:
    """``(frames, None)``, ``(None, None)`` when there is no finished entry, ``(None, problem)`` when it is damaged."""
    meta_file = entry / _META
    if not meta_file.is_file():
        return None, None
    try:
        meta = json.loads(meta_file.read_text())
        positions = np.load(entry / _POSITIONS, mmap_mode="r")
        arrays = {name: np.load(entry / name) for name in (_CELLS, _NUMBERS, _TIMES, _STEPS)
                  if name in meta["checksums"]}
        blocks, notes = meta["blocks"], meta["notes"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"unreadable: {exception_summary(exc)}"
    if positions.shape != (meta["n_frames"], meta["n_atoms"], 3) or sum(n for n, _ in blocks) != len(positions):
        return None, f"{_POSITIONS} has shape {positions.shape}, not the {meta['n_frames']} frames recorded"
    if verify:
        for name, array in arrays.items():
            if _crc(array) != meta["checksums"][name]:
                return None, f"checksum of {name} differs"
        start = 0
        for number, (n_frames, crc) in enumerate(blocks):
            checksum = _crc(positions[start:start + n_frames])
            release(positions)  # one block resident at a time (:mod:`gdynet.files.pages`)
            if checksum != crc:
                return None, f"checksum of {_POSITIONS} block {number} (frames {start}-{start + n_frames - 1}) differs"
            start += n_frames
    cells, numbers = arrays.get(_CELLS), arrays.get(_NUMBERS)
    if cells is None or numbers is None or len(cells) != len(positions):
        return None, f"{_CELLS} or {_NUMBERS} missing or of the wrong length"
    return Frames(positions, cells, numbers, arrays.get(_TIMES), arrays.get(_STEPS), notes), None


class _NpyAppender:
    """Write a ``.npy`` file block by block along its first axis; the dtype is that of the first block."""

    def __init__(self, path: Path, tail: tuple[int, ...]) -> None:
        self.path, self.tail, self.length = path, tail, 0
        self.dtype: np.dtype | None = None
        self.checksums: list[tuple[int, int]] = []
        self.file = open(path, "wb")
        self.header_size = 0

    def _write_header(self) -> int:
        self.file.seek(0)
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                  "shape": (self.length, *self.tail)}
        np.lib.format.write_array_header_1_0(self.file, header)
        return self.file.tell()

    def append(self, block: np.ndarray) -> None:
        if self.dtype is None:
            self.dtype = np.asarray(block).dtype
            self.header_size = self._write_header()
        data = np.ascontiguousarray(block, dtype=self.dtype)
        self.file.write(data.tobytes())
        self.checksums.append((len(data), _crc(data)))
        self.length += len(data)

    def __enter__(self) -> "_NpyAppender":
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        """Write the final length into the header (on success) and close the file."""
        try:
            if exc_type is None and self.dtype is not None and self._write_header() != self.header_size:
                raise RuntimeError("npy header grew while appending")  # NumPy leaves room for 21 digits
        finally:
            self.file.close()


def _chunks(frames: Iterable[tuple[np.ndarray, np.ndarray, float, float]], n_atoms: int, source: str
            ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Group ``(positions (N,3), cell (3,3), time_ps, step)`` frames into stacked blocks (bounded memory)."""
    size = max(1, min(BLOCK_FRAMES, CHUNK_BYTES // (24 * max(n_atoms, 1))))
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
                   entry: Path | None, source: str, notes: dict[str, Any] | None = None) -> Frames:
    """Gather frames into arrays, in memory (``entry=None``) or streamed into the cache ``entry``.

    Args:
        frames: iterable of ``(positions (N, 3) Å, cell (3, 3) Å, time_ps or nan, MD step or nan)``.
        numbers: ``(N,)`` atomic numbers, stored with the entry.
        entry: cache folder to create (under the entry's lock, written under a temporary name, then
            renamed), or ``None``. When another process finished it meanwhile, its entry is used and
            ``frames`` is not read.
        source: file name for error messages.
        notes: :attr:`Frames.notes`, kept with the entry.
    """
    notes = dict(notes or {})
    n_atoms = len(numbers)
    if entry is None:
        pos_list, cell_list, time_list, step_list = [], [], [], []
        for pos, cells, times, steps in _chunks(frames, n_atoms, source):
            pos_list.append(pos)
            cell_list.append(cells)
            time_list.append(times)
            step_list.append(steps)
        if not pos_list:
            raise GdynetError("file contains no frames", source)
        return Frames(np.concatenate(pos_list), np.concatenate(cell_list), np.asarray(numbers),
                      _known_times(np.concatenate(time_list)), _known_times(np.concatenate(step_list)), notes)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        with entry_lock(entry.parent / f".{entry.name}.lock",
                        f"{source}: waiting for another process that is caching this file in {entry}"):
            built, _ = _open(entry)
            if built is None:
                _build(frames, numbers, entry, source, notes)
                built, _ = _open(entry, verify=False)  # just written and checked block by block
    except OSError as exc:  # the frames come through readers that turn their own errors into GdynetError
        raise GdynetError(f"cannot write the frame cache in {entry.parent} ({exc.strerror or exc}); "
                          "pass cache_dir= or set GDYNET_CACHE to a writable folder", source) from exc
    if built is None:
        raise GdynetError(f"could not open the trajectory cache {entry}", source)
    return built


def _build(frames: Iterable[tuple[np.ndarray, np.ndarray, float, float]], numbers: np.ndarray, entry: Path,
           source: str, notes: dict[str, Any]) -> None:
    """Write the entry into a temporary folder of a unique name, then rename it into place (a damaged
    entry there is removed first; the caller holds the entry's lock)."""
    n_atoms = len(numbers)
    tmp = entry.parent / f".{entry.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        time_list, step_list = [], []
        with _NpyAppender(tmp / _POSITIONS, (n_atoms, 3)) as positions, \
                _NpyAppender(tmp / _CELLS, (3, 3)) as cells_out:
            for pos, cells, times, steps in _chunks(frames, n_atoms, source):
                positions.append(pos)
                cells_out.append(cells)
                time_list.append(times)
                step_list.append(steps)
        if positions.length == 0:
            raise GdynetError("file contains no frames", source)
        arrays = {_NUMBERS: np.asarray(numbers, dtype=np.int64), _CELLS: np.load(tmp / _CELLS)}
        for name, values in ((_TIMES, time_list), (_STEPS, step_list)):
            known = _known_times(np.concatenate(values))
            if known is not None:
                arrays[name] = known
        for name, array in arrays.items():
            if name != _CELLS:
                np.save(tmp / name, array)
        meta = {"source": source, "n_frames": positions.length, "n_atoms": n_atoms, "blocks": positions.checksums,
                "checksums": {name: _crc(array) for name, array in arrays.items()}, "notes": notes}
        (tmp / _META).write_text(json.dumps(meta))
        if entry.exists():
            shutil.rmtree(entry)  # damaged or half-removed: we hold the lock, nobody else writes it
        os.rename(tmp, entry)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _known_times(times: np.ndarray) -> np.ndarray | None:
    """``times`` (or steps) when every frame has one, else ``None``."""
    return None if np.isnan(times).any() else times
