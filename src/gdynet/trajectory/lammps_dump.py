"""LAMMPS text dumps (``dump atom`` / ``dump custom``, plain or ``.gz``/``.bz2``/``.xz``), frame by frame.

A frame is ``ITEM: TIMESTEP`` (the MD step number), ``ITEM: NUMBER OF ATOMS``, ``ITEM: BOX BOUNDS
[xy xz yz] xx yy zz`` (bounds, tilts and the boundary flags: ``pp`` periodic; ``f``, ``s``, ``m``
not periodic; a dump without flags, from old LAMMPS versions, is taken as periodic) and
``ITEM: ATOMS <columns>``; other items (``UNITS``, ``TIME``) are skipped.

Atoms are sorted by ``id``. Positions come from the first of the column sets x/xs/xu/xsu (the
order LAMMPS, ASE and MDAnalysis use) and are shifted so that the box starts at the origin (as
MDAnalysis does); they are in the run's length unit (Å for ``units real`` and ``metal``). The cell
rows are ``(lx, 0, 0), (xy, ly, 0), (xz, yz, lz)``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from itertools import islice
from typing import IO, Iterator

import numpy as np

from ..errors import GdynetError
from .compressed import open_text

#: coordinate column sets, in the order they are preferred, and whether they are fractional
COORDINATES = (("x", "y", "z", False), ("xs", "ys", "zs", True), ("xu", "yu", "zu", False),
               ("xsu", "ysu", "zsu", True))
#: per-atom columns kept from each frame: type, element and mol (molecule ID) as written (str), mass (amu), q (e)
LABELS = ("type", "element", "mass", "q", "mol")


@dataclass(frozen=True)
class DumpFrame:
    """One frame of a dump: MD step, positions ``(N, 3)`` Å, cell ``(3, 3)`` Å, periodicity and the
    per-atom :data:`LABELS` columns the dump has (sorted by atom id like the positions)."""

    step: int
    positions: np.ndarray
    cell: np.ndarray
    pbc: tuple[bool, bool, bool]
    labels: dict[str, np.ndarray]


def iter_frames(path: str | os.PathLike[str], stride: int = 1) -> Iterator[DumpFrame]:
    """Every ``stride``-th frame of the dump; errors name the frame (counted from 0 in the file)."""
    with open_text(path) as fh:
        index = 0
        for line in iter(fh.readline, ""):
            if not line.strip():
                continue
            if not line.startswith("ITEM: TIMESTEP"):
                raise GdynetError(f"not a LAMMPS text dump: frame {index} starts with {line.strip()[:40]!r} "
                                  "instead of 'ITEM: TIMESTEP'", path)
            frame = _read_frame(fh, index, index % stride == 0, path)
            if frame is not None:
                yield frame
            index += 1


def _read_frame(fh: IO[str], index: int, keep: bool, path: os.PathLike[str] | str) -> DumpFrame | None:
    def fail(problem: str) -> GdynetError:
        return GdynetError(f"frame {index}: {problem}", path)

    def next_line() -> str:
        line = fh.readline()
        if not line:
            raise fail("the file ends inside this frame (truncated dump)")
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
    if len(rows) != n_atoms or not rows[-1].endswith("\n") and len(rows[-1].split()) != len(columns):
        raise fail("the file ends inside this frame (truncated dump)")
    if not keep:
        return None
    table = _table(rows, columns)
    if table is None:
        raise fail(f"the {n_atoms} atom lines do not all have the {len(columns)} numbers or words of the columns "
                   f"{' '.join(columns)}")
    cell, origin, pbc = box
    order = np.argsort(table["id"].astype(np.int64), kind="stable") if "id" in table else slice(None)
    positions = _positions(table, order, cell, origin)
    labels = {name: table[name][order] for name in LABELS if name in table}
    return DumpFrame(step, positions, cell, pbc, labels)


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
