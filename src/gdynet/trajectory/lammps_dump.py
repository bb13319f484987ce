"""LAMMPS text dumps (``dump atom`` / ``dump custom``, plain or ``.gz``/``.bz2``/``.xz``), frame by frame.

A frame is ``ITEM: TIMESTEP`` (the MD step number), ``ITEM: NUMBER OF ATOMS``, ``ITEM: BOX BOUNDS
[xy xz yz] xx yy zz`` (bounds, tilts and the boundary flags: ``pp`` periodic; ``f``, ``s``, ``m``
not periodic; a dump without flags, from old LAMMPS versions, is taken as periodic) and
``ITEM: ATOMS <columns>``; the ``UNITS`` and ``TIME`` items LAMMPS writes before ``TIMESTEP``
(``dump_modify units yes`` / ``time yes``) are skipped.

Atoms are sorted by ``id``. Positions come from the first of the column sets x/xs/xu/xsu (the
order LAMMPS, ASE and MDAnalysis use) and are shifted so that the box starts at the origin (as
MDAnalysis does); they are in the run's length unit (Å for ``units real`` and ``metal``). The cell
rows are ``(lx, 0, 0), (xy, ly, 0), (xz, yz, lz)``.

A dump is read in two passes: :func:`scan` finds each frame's byte range and TIMESTEP without parsing
atom lines (so the frames to keep are known before any is parsed: restart overlaps, a cut-off last
frame), then :func:`read_frames` parses only the frames asked for.
"""
from __future__ import annotations

import io
import os
from array import array
from dataclasses import dataclass
from itertools import islice
from typing import IO, Iterable, Iterator

import numpy as np

from ..base.errors import GdynetError
from .compressed import damage_refused, open_binary

#: coordinate column sets, in the order they are preferred, and whether they are fractional
COORDINATES = (("x", "y", "z", False), ("xs", "ys", "zs", True), ("xu", "yu", "zu", False),
               ("xsu", "ysu", "zsu", True))
#: per-atom columns kept from each frame: type, element and mol (molecule ID) as written (str), mass (amu),
#: q (e), and the atom ids (float64, sorted: the readers check every frame holds frame 0's ids)
LABELS = ("type", "element", "mass", "q", "mol", "id")


@dataclass(frozen=True)
class DumpFrame:
    """One frame of a dump: its number in the file (from 0), MD step, positions ``(N, 3)`` Å, cell ``(3, 3)`` Å, periodicity and the
    per-atom :data:`LABELS` columns the dump has (sorted by atom id like the positions)."""

    number: int
    step: int
    positions: np.ndarray
    cell: np.ndarray
    pbc: tuple[bool, bool, bool]
    labels: dict[str, np.ndarray]


@dataclass(frozen=True)
class Cut:
    """The end of a dump cut off inside its last frame (a run killed while writing it)."""

    frame: int            # number of the cut frame in the file (counted from 0), = the whole frames before it
    bytes_ignored: int    # bytes (of text, after decompression) from that frame's start to the end
    early_end: bool       # the compressed stream itself ends early (no end-of-stream marker)


@dataclass(frozen=True)
class DumpIndex:
    """Where each whole frame of a dump lies: byte ``offsets`` and ``lengths`` (of the decompressed
    text) and the ``steps`` (TIMESTEP, int64) of frames ``0 .. F-1``; ``cut`` when the file ends inside
    frame ``F``."""

    offsets: np.ndarray
    lengths: np.ndarray
    steps: np.ndarray
    cut: Cut | None


def scan(path: str | os.PathLike[str], max_frames: int | None = None) -> DumpIndex:
    """Find the frames of a dump without parsing its atom lines (one fast pass over the bytes).

    A file that ends inside its last frame (or whose compressed stream ends early) gives the whole
    frames before it and a :class:`Cut`; an earlier frame with fewer atom lines than it announces,
    a frame without atoms, bad TIMESTEP / NUMBER OF ATOMS lines and damaged compressed data are
    refused naming the frame. ``max_frames`` stops after that many frames.
    """
    offsets, lengths, steps = array("q"), array("q"), array("q")   # compact for a million frames
    cut, position, previous = None, 0, None
    with open_binary(path) as fh, damage_refused(path):
        try:
            line = fh.readline()
            while line and (max_frames is None or len(steps) < max_frames):
                if not line.strip():
                    position += len(line)
                    line = fh.readline()
                    continue
                index = len(steps)
                if line.split()[:2] in ([b"ITEM:", b"UNITS"], [b"ITEM:", b"TIME"]) and line.endswith(b"\n"):
                    position += len(line) + len(fh.readline())  # dump_modify units/time: before TIMESTEP
                    line = fh.readline()
                    continue
                if not line.endswith(b"\n"):  # the file ends inside the first line of a frame
                    cut = Cut(index, len(line), early_end=False)
                    break
                if not line.startswith(b"ITEM: TIMESTEP"):
                    if previous is not None and any(row.startswith(b"ITEM: TIMESTEP") for row in previous):
                        raise GdynetError(f"frame {index - 1}: it has fewer atom lines than its NUMBER OF ATOMS "
                                          "(a frame cut short inside the file)", path)
                    raise GdynetError(f"not a LAMMPS text dump: frame {index} starts with "
                                      f"{line.strip()[:40].decode(errors='replace')!r} instead of 'ITEM: TIMESTEP'",
                                      path)
                size, step, rows = _measure(fh, line, index, path)
                if rows is None:
                    cut = Cut(index, size, early_end=False)
                    break
                offsets.append(position)
                lengths.append(size)
                steps.append(step)
                position += size
                previous = rows
                line = fh.readline()
        except EOFError:  # the compressed stream ends early: the frame being read is cut off, if any
            bytes_read = fh.tell()
            cut = Cut(len(steps), bytes_read - position, early_end=True)
    return DumpIndex(np.frombuffer(offsets, dtype=np.int64), np.frombuffer(lengths, dtype=np.int64),
                     np.frombuffer(steps, dtype=np.int64), cut)


def _measure(fh: IO[bytes], first: bytes, index: int, path: os.PathLike[str] | str
             ) -> tuple[int, int | None, list[bytes] | None]:
    """``(bytes, TIMESTEP, atom lines)`` of the frame whose ``ITEM: TIMESTEP`` line ``first`` was just
    read; atom lines ``None`` when the file ends inside the frame."""
    def fail(problem: str) -> GdynetError:
        return GdynetError(f"frame {index}: {problem}", path)

    size, n_atoms = len(first), None

    def whole_number(what: str) -> int | None:
        """The number on the next line; ``None`` when the file ends inside it."""
        nonlocal size
        line = fh.readline()
        size += len(line)
        if not line.endswith(b"\n"):
            return None
        try:
            return int(line.split()[0])
        except (ValueError, IndexError):
            raise fail(f"the {what} line is not a whole number") from None

    step = whole_number("TIMESTEP")
    if step is None:
        return size, None, None
    while True:
        line = fh.readline()
        size += len(line)
        if not line.endswith(b"\n"):
            return size, step, None
        if line.startswith(b"ITEM: ATOMS"):
            n_columns = len(line.split()) - 2
            break
        if line.startswith(b"ITEM: TIMESTEP"):
            raise fail("it ends before its 'ITEM: ATOMS' line (a frame cut short inside the file)")
        if line.startswith(b"ITEM: NUMBER OF ATOMS"):
            n_atoms = whole_number("NUMBER OF ATOMS")
            if n_atoms is None:
                return size, step, None
    if n_atoms is None:
        raise fail("no NUMBER OF ATOMS before 'ITEM: ATOMS'")
    if n_atoms < 1:
        raise fail(f"the frame has no atoms (NUMBER OF ATOMS {n_atoms}); gdynet needs the same atoms in every frame")
    rows = list(islice(fh, n_atoms))
    size += sum(map(len, rows))
    if len(rows) < n_atoms or not _whole_line(rows[-1], n_columns):
        if any(row.startswith(b"ITEM: TIMESTEP") for row in rows):
            raise fail("it has fewer atom lines than its NUMBER OF ATOMS (a frame cut short inside the file)")
        return size, step, None
    return size, step, rows


def _whole_line(line: bytes | str, n_columns: int) -> bool:
    """Is the last atom line of a frame whole? It ends with a newline, or, at the very end of a file
    written without a final newline, has a word for every column."""
    return line.endswith(b"\n" if isinstance(line, bytes) else "\n") or len(line.split()) == n_columns


def read_frames(path: str | os.PathLike[str], index: DumpIndex, numbers: Iterable[int]) -> Iterator[DumpFrame]:
    """Parse the frames ``numbers`` (increasing, counted from 0 in the file) found by :func:`scan`;
    errors name the frame."""
    with open_binary(path) as fh, damage_refused(path):
        for number in numbers:
            fh.seek(int(index.offsets[number]))  # forward only: a compressed stream is read, not searched
            text = fh.read(int(index.lengths[number])).decode("utf-8", errors="replace")
            lines = io.StringIO(text, newline=None)
            lines.readline()  # ITEM: TIMESTEP
            yield _read_frame(lines, int(number), path)


def _read_frame(fh: IO[str], index: int, path: os.PathLike[str] | str) -> DumpFrame:
    def fail(problem: str) -> GdynetError:
        return GdynetError(f"frame {index}: {problem}", path)

    def next_line() -> str:
        line = fh.readline()
        if not line:
            raise fail("the file ends inside this frame (truncated dump, or the file changed while being read)")
        return line

    try:
        step = int(next_line().split()[0])
    except (ValueError, IndexError):
        raise fail("the TIMESTEP line is not a whole number") from None
    n_atoms, box = None, None
    while True:
        item = next_line()
        if item.startswith("ITEM: NUMBER OF ATOMS"):
            try:
                n_atoms = int(next_line().split()[0])
            except (ValueError, IndexError):
                raise fail("the NUMBER OF ATOMS line is not a whole number") from None
        elif item.startswith("ITEM: BOX BOUNDS"):
            box = _box(item.split()[3:], [next_line() for _ in range(3)], fail)
        elif item.startswith("ITEM: ATOMS"):
            break
        elif not item.startswith("ITEM:"):
            raise fail(f"unexpected line {item.strip()[:40]!r} before 'ITEM: ATOMS'")
    if n_atoms is None or box is None:
        raise fail("no NUMBER OF ATOMS or BOX BOUNDS before 'ITEM: ATOMS'")
    columns = item.split()[2:]
    if not any({x, y, z} <= set(columns) for x, y, z, _ in COORDINATES):
        raise fail(f"no coordinate columns (x y z, xs ys zs, xu yu zu or xsu ysu zsu); the columns are "
                   f"{' '.join(columns) or 'none'}")
    rows = list(islice(fh, n_atoms))
    if len(rows) != n_atoms or not _whole_line(rows[-1], len(columns)):
        raise fail("the file ends inside this frame (truncated dump, or the file changed while being read)")
    table = _table(rows, columns)
    if table is None:
        raise fail(f"the {n_atoms} atom lines do not all have the {len(columns)} numbers or words of the columns "
                   f"{' '.join(columns)}")
    cell, origin, pbc = box
    order = np.argsort(table["id"].astype(np.int64), kind="stable") if "id" in table else slice(None)
    positions = _positions(table, order, cell, origin)
    labels = {name: table[name][order] for name in LABELS if name in table}
    return DumpFrame(index, step, positions, cell, pbc, labels)


def _table(rows: list[str], columns: list[str]) -> dict[str, np.ndarray] | None:
    """Columns of the atom lines: numbers as float64, ``element`` as str and the integer labels
    ``type`` and ``mol`` as str (LAMMPS type labels may be words: then every column is parsed as
    text, slower). ``None`` when the lines do not match the columns."""
    words = [i for i, c in enumerate(columns) if c == "element"]
    numbers = [i for i in range(len(columns)) if i not in words]
    try:
        values = np.loadtxt(rows, dtype=np.float64, usecols=numbers, ndmin=2, comments=None)
        text = np.loadtxt(rows, dtype=str, usecols=words, ndmin=2, comments=None) if words else None
    except ValueError:
        try:
            values, text = None, np.loadtxt(rows, dtype=str, ndmin=2, comments=None)
        except ValueError:
            return None
    n_atoms = len(rows)
    if values is None:
        if text.shape != (n_atoms, len(columns)):
            return None
        table = dict(zip(columns, text.T))
        for name in columns:
            if name not in ("element", "type", "mol"):
                table[name] = table[name].astype(np.float64)
        return table
    if values.shape != (n_atoms, len(numbers)) or (text is not None and text.shape[0] != n_atoms):
        return None
    table = {columns[i]: values[:, k] for k, i in enumerate(numbers)}
    for k, i in enumerate(words):
        table[columns[i]] = text[:, k]
    for name in ("type", "mol"):
        if name in table:
            distinct, inverse = np.unique(table[name].astype(np.int64), return_inverse=True)
            table[name] = distinct.astype(str)[inverse.ravel()]
    return table


def _positions(table: dict[str, np.ndarray], order: np.ndarray | slice, cell: np.ndarray, origin: np.ndarray
               ) -> np.ndarray:
    """Cartesian positions relative to the box origin from the first coordinate set present."""
    x, y, z, scaled = next(c for c in COORDINATES if {c[0], c[1], c[2]} <= table.keys())
    values = np.stack([table[x], table[y], table[z]], axis=1)[order].astype(np.float64)
    return values @ cell if scaled else values - origin


def _box(header: list[str], lines: list[str], fail) -> tuple[np.ndarray, np.ndarray, tuple[bool, bool, bool]]:
    """Cell ``(3, 3)``, origin ``(3,)`` and periodicity from a BOX BOUNDS item (LAMMPS 'Howto triclinic')."""
    if "abc" in header:
        raise fail("general triclinic boxes ('BOX BOUNDS abc origin') are not supported; dump with the "
                   "restricted triclinic box (the default)")
    flags = [f for f in header if f not in ("xy", "xz", "yz")]
    if flags and (len(flags) != 3 or any(len(f) != 2 or set(f) - set("pfsm") for f in flags)):
        raise fail(f"unknown boundary flags {' '.join(flags)!r} in BOX BOUNDS")
    pbc = tuple(f == "pp" for f in flags) if flags else (True, True, True)
    try:
        bounds = np.array([[float(v) for v in line.split()] for line in lines])
    except ValueError:
        raise fail("the BOX BOUNDS lines are not numbers") from None
    if bounds.shape not in ((3, 2), (3, 3)):
        raise fail("the BOX BOUNDS lines must have 2 numbers (orthogonal) or 3 (triclinic)")
    xy, xz, yz = bounds[:, 2] if bounds.shape[1] == 3 else (0.0, 0.0, 0.0)
    lo = bounds[:, 0] - [min(0.0, xy, xz, xy + xz), min(0.0, yz), 0.0]
    hi = bounds[:, 1] - [max(0.0, xy, xz, xy + xz), max(0.0, yz), 0.0]
    lx, ly, lz = hi - lo
    cell = np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])
    return cell, lo, pbc  # type: ignore[return-value]
