"""Frame checks shared by the file readers (:mod:`.readers`) and the readers of in-memory objects
(:mod:`.ecosystem`): frame spacing from times, step numbers, ``dt`` or ``timestep``; cells and
periodicity (a bounding cell when there is none); type maps; the frames of ``ase.Atoms`` images."""
from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

import numpy as np

from ..base.errors import GdynetError, GdynetWarning
from ..base.option_names import option
from .cache import Frames
from .atoms import to_atomic_number

#: formats whose frames may carry a time that is trusted (a LAMMPS DCD's is in the run's own unit)
TIMED_FORMATS = {"extxyz", "traj", "dcd", "xtc", "trr", "ncdf"}
#: formats that store frame times in single precision (XTC always, TRR in the usual mixed-precision build)
FLOAT32_TIME_FORMATS = {"xtc", "trr"}
#: what the MD step numbers of each format are called, for ``dt_source`` and messages
STEP_WORDS = {"lammps-dump": "dump TIMESTEP", "dcd": "DCD step interval", "lammps-dcd": "DCD step interval",
               "xtc": "XTC step", "trr": "TRR step"}
#: relative disagreement tolerated between two frame spacings (dt vs steps x timestep vs file time)
SPACING_TOLERANCE = 1e-3
#: Å added on each side of the atoms' extent to make the cell of a file without one
BOUNDING_PAD = 10.0

TypeMap = Mapping[int | str, str | int] | str


def written_by_lammps(path: Path) -> bool:
    """True when the DCD's title (first 1 kB) says LAMMPS wrote it ("Written by LAMMPS")."""
    with open(path, "rb") as fh:
        return b"LAMMPS" in fh.read(1024)


def parse_type_map(type_map: TypeMap | None, src: str) -> dict[str, int] | None:
    """``{1: "Li"}`` or ``"1=Li,2=S"`` -> ``{"1": 3, "2": 16}`` (type label -> atomic number)."""
    if type_map is None:
        return None
    if isinstance(type_map, str):
        pairs = [item.split("=") for item in type_map.replace(";", ",").split(",") if item.strip()]
        if not pairs or any(len(p) != 2 for p in pairs):
            raise GdynetError(f"type_map must look like '1=Li,2=S', got {type_map!r}", src)
        type_map = {k.strip(): v.strip() for k, v in pairs}
    if not isinstance(type_map, Mapping) or not type_map:
        raise GdynetError(f"type_map must map atom types to elements, e.g. {{1: 'Li', 2: 'S'}}, got {type_map!r}",
                          src)
    return {str(k).strip(): to_atomic_number(v, src) for k, v in type_map.items()}


# ------------------------------------------------------------------ frame spacing
def frame_spacing(frames: Frames, fmt: str, dt_ps: float | None, step_ps: float | None, stride: int,
                   dcd_header: dict | None, src: str, dt_override: bool = False) -> tuple[float, str]:
    """``(dt_ps, dt_source)``: the spacing of the stored (strided) frames and where it came from.

    The file's step numbers and frame times are checked to be evenly spaced whatever gives the
    spacing (``dt=`` too), unless they are all equal (no time at all, e.g. every TIMESTEP 0). A
    ``dt=`` that disagrees with the file's frame times is refused naming both spacings, unless
    ``dt_override`` (the user knows the file's times are wrong: they are then not used at all).
    """
    if dt_override and dt_ps is None:
        raise GdynetError(f"{option('dt_override')} replaces the file's frame times by {option('dt')}, and no "
                          f"{option('dt')} is given; pass both, or neither to use the file's times", src)
    numbers = np.arange(len(frames.positions)) * stride
    steps = frames.steps if fmt in STEP_WORDS else None
    times = frames.times_ps if fmt in TIMED_FORMATS and not dt_override else None
    word = STEP_WORDS.get(fmt, "step")
    if step_ps is None and varies(steps):
        even_spacing(steps, numbers, word, src)
    if step_ps is None and varies(times):
        file_dt = _file_dt(times, fmt, src, stride)
    from_steps, what = None, None
    if step_ps is not None:
        if steps is None:
            raise GdynetError(f"timestep= (--timestep) needs the MD step number of each frame, and this {fmt} file "
                              "has none; pass dt= (--dt, the time between stored frames) instead", src)
        from_steps = even_spacing(steps, numbers, word, src) * step_ps
        what = f"{word} x --timestep"
        if fmt == "lammps-dcd":
            _check_lammps_delta(dcd_header, step_ps, src)
        if times is not None:
            file_dt = _file_dt(times, fmt, src, stride)
            if not _close(file_dt, from_steps):
                raise GdynetError(f"the file's frame times are {file_dt:g} ps apart but {what} gives {from_steps:g} "
                                  f"ps (frames 0 and {stride}); check --timestep", src)
    if dt_ps is not None:
        if from_steps is not None and not _close(dt_ps * stride, from_steps):
            raise GdynetError(f"--dt {dt_ps:g} ps disagrees with {what} = {from_steps / stride:g} ps between frames "
                              f"0 and 1 of the file; give one of them", src)
        if step_ps is None and varies(times) and not _close(dt_ps * stride, file_dt):
            raise GdynetError(f"{option('dt')} {dt_ps:g} ps disagrees with the file's frame times, "
                              f"{file_dt / stride:g} ps apart (frames 0 and {stride} at {times[0]:g} and "
                              f"{times[1]:g} ps); leave out {option('dt')} to use the file's times, or add "
                              f"{_switch('dt_override')} if they are wrong", src)
        return dt_ps * stride, "--dt, overriding the file's times" if dt_override and fmt in TIMED_FORMATS else "--dt"
    if from_steps is not None:
        return from_steps, what
    if not varies(times):
        _file_dt(times, fmt, src, stride)  # says why there is no spacing
    return file_dt, "file time"


def _switch(keyword: str) -> str:
    """How to turn an on/off option on: its CLI flag, or ``keyword=True`` from Python."""
    name = option(keyword)
    return name if name.startswith("--") else f"{name}=True"


def varies(values: np.ndarray | None) -> bool:
    """True when there are at least two values and not all equal (step numbers or times that mean something)."""
    return values is not None and len(values) > 1 and not np.all(values == values[0])


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= SPACING_TOLERANCE * max(abs(a), abs(b))


def _odd_pair(diffs: np.ndarray, slack: Callable[[float], float]) -> tuple[int, int, int] | None:
    """``(usual, odd, count)``: the first spacing at the median one, the first spacing that differs
    from it by more than ``slack(usual spacing)`` (indices into ``diffs``) and how many differ; ``None``
    when all agree. Naming these two pairs (never the same one twice) shows where the spacing changes."""
    median = float(np.median(diffs))
    near = np.abs(diffs - median) <= slack(median)
    usual = int(np.argmax(near)) if near.any() else 0
    odd = np.flatnonzero(np.abs(diffs - diffs[usual]) > slack(float(diffs[usual])))
    return None if not odd.size else (usual, int(odd[0]), int(odd.size))


def even_spacing(steps: np.ndarray, numbers: np.ndarray, word: str, src: str) -> float:
    """The constant difference of the frames' MD step numbers; refuses uneven or repeated steps.

    ``numbers``: the frames' numbers in the file, for the message.
    """
    if len(steps) < 2:
        raise GdynetError(f"only one frame: {word} gives no spacing; pass dt= (--dt)", src)
    if not varies(steps):
        raise GdynetError(f"every frame has {word} {steps[0]:.0f}: the steps give no spacing; pass dt= (--dt, the "
                          "time between stored frames)", src)
    diffs = np.diff(steps)
    pair = _odd_pair(diffs, lambda usual: 0.0)
    if pair is None and diffs[0] > 0:
        return float(diffs[0])

    def shown(i: int) -> str:
        return f"{steps[i]:.0f} -> {steps[i + 1]:.0f} between frames {numbers[i]} and {numbers[i + 1]}"

    where = f"goes down: {shown(0)}" if pair is None else f"is not evenly spaced: {shown(pair[0])} but {shown(pair[1])}"
    raise GdynetError(f"{word} {where}; gdynet needs evenly spaced frames (a run restarted into the same file is "
                      "read when the step goes back; other gaps must be cut out)", src)


def _check_lammps_delta(header: dict | None, step_ps: float, src: str) -> None:
    """A LAMMPS DCD header holds the step in the run's unit: it must be ``timestep`` in fs (units
    real) or in ps (units metal)."""
    delta = float(header["delta"]) if header else float("nan")
    if not (_close(delta, step_ps * 1e3) or _close(delta, step_ps)):
        raise GdynetError(f"--timestep {step_ps:g} ps disagrees with the DCD header's step {delta:g} (fs for units "
                          "real, ps for units metal); pass the run's timestep, or dt= (--dt) for other units", src)


def _file_dt(times: np.ndarray | None, fmt: str, src: str, stride: int = 1) -> float:
    """Time step (ps) from per-frame times; they must be evenly spaced.

    Each step may differ from the mean step by ``1e-3`` of it, plus, for float32 times (XTC/TRR),
    one float32 spacing at the largest time (the most two rounded times can add to a difference:
    0.0078 ps at 100 ns, larger than 1e-3 of a 0.2 ps step).
    """
    if times is None or len(times) < 2:
        raise GdynetError(f"this {fmt} file has no frame times (or only one frame); pass dt= "
                          "(--dt, e.g. '2fs' or 0.002 in ps)", src)
    steps = np.diff(times)
    dt = float(np.mean(steps))
    rounding = float(np.spacing(np.float32(np.abs(times).max()))) if fmt in FLOAT32_TIME_FORMATS else 0.0
    if not dt > 0:
        raise GdynetError(f"frame times do not increase (frames 0 and {(len(times) - 1) * stride} at {times[0]:g} and "
                          f"{times[-1]:g} ps); gdynet needs evenly spaced frames", src)
    pair = _odd_pair(steps, lambda usual: SPACING_TOLERANCE * abs(usual) + 1e-9 + rounding)
    if pair is not None:
        u, i, count = pair
        raise GdynetError(f"frame times are not evenly spaced ({steps[u]:g} ps between frames {u * stride} and "
                          f"{(u + 1) * stride}, {steps[i]:g} ps between frames {i * stride} and {(i + 1) * stride}; "
                          f"{count} of {len(steps)} spacings differ from {steps[u]:g} ps); gdynet needs evenly "
                          "spaced frames", src)
    return dt


def cell_checked(cell: np.ndarray | None, index: int, src: str, hint: str = "") -> np.ndarray:
    """The frame's cell; all zeros when the frame has none (see :func:`_bounding_cells`)."""
    if cell is None:
        return np.zeros((3, 3))
    cell = np.asarray(cell, dtype=np.float64)
    if np.all(cell == 0):
        return cell
    if not np.all(np.isfinite(cell)) or abs(np.linalg.det(cell)) < 1e-6:
        raise GdynetError(f"frame {index} has a singular or invalid cell{hint}", src)
    return cell


def file_pbc(cells: np.ndarray, pbc: tuple[bool, bool, bool], src: str, stride: int
              ) -> tuple[bool, bool, bool] | None:
    """``pbc``, or ``None`` when no frame has a cell; frames with and without cells are refused
    (the message names the frames in the file's numbering)."""
    missing = np.all(cells.reshape(len(cells), -1) == 0, axis=1)
    if missing.all():
        return None
    if missing.any():
        raise GdynetError(f"frame {int(np.argmax(missing)) * stride} has no periodic cell but frame "
                          f"{int(np.argmin(missing)) * stride} has one", src)
    return tuple(bool(b) for b in pbc)  # type: ignore[return-value]


def resolve_periodicity(frames: Frames, found: tuple[bool, bool, bool] | None,
                        given: tuple[bool, bool, bool] | None, src: str, where: str, option: str,
                        ase: bool = False) -> tuple[np.ndarray, tuple[bool, bool, bool]]:
    """``(cells, pbc)`` of the frames: ``given`` (``pbc=``) over ``found`` (the source's own); a source
    without a cell (``found`` None) is non-periodic in its atoms' bounding cells, with one warning
    (``where``: "in the file" or "in the frames"; ``option``: how the user spells pbc=). ``ase``: the
    periodicity is ASE's, whose default for a cell is pbc=False (:func:`_cell_without_pbc`)."""
    cells = frames.cells
    if ase and found is not None and not any(found) and given is None:
        _cell_without_pbc(frames, src, option)
    if found is None:
        cells, found = _bounding_cells(frames.positions), (False, False, False)
        if given is None or any(given):
            warnings.warn(f"{src}: no cell {where}: read as non-periodic (a molecule or cluster in vacuum)"
                          + ("" if given is None else f"; {option} needs a cell to be periodic, ignored"),
                          GdynetWarning, stacklevel=4)
            given = None
    return cells, (given if given is not None else found)


def _cell_without_pbc(frames: Frames, src: str, option: str) -> None:
    """A cell that is periodic along no axis (ASE's default ``pbc=False``): refused when an atom lies
    outside it (a periodic system whose ``pbc`` was not set: read as non-periodic, its neighbours,
    RDFs and timescales would be wrong), else read as non-periodic with one warning naming ``pbc``."""
    yes, slab, no = (f"{option}True", f"{option}'xy'", f"{option}False") if option.endswith("=") else \
        (f"{option} xyz", f"{option} xy", f"{option} none")
    how = (f"if the system is periodic set atoms.pbc = True on the ase.Atoms or pass {yes} ({slab} for a slab), "
           f"else pass {no}")
    for start in range(0, len(frames.positions), 1024):
        block = np.asarray(frames.positions[start:start + 1024], dtype=np.float64)
        frac = np.einsum("fnj,fjk->fnk", block, np.linalg.inv(frames.cells[start:start + len(block)]))
        outside = (frac < -1e-3) | (frac > 1 + 1e-3)
        if outside.any():
            frame, atom, _ = np.argwhere(outside)[0]
            raise GdynetError(f"the cell has pbc=False along every axis (ASE's default) but atom {atom} of frame "
                              f"{start + frame} lies outside it: {how}", src)
    warnings.warn(f"{src}: the cell has pbc=False along every axis (ASE's default): read as non-periodic; {how}",
                  GdynetWarning, stacklevel=5)


def _bounding_cells(positions: np.ndarray) -> np.ndarray:
    """Orthogonal cells spanning each frame's atoms plus :data:`BOUNDING_PAD` Å on each side."""
    cells = np.zeros((len(positions), 3, 3))
    for start in range(0, len(positions), 1024):
        block = np.asarray(positions[start:start + 1024], dtype=np.float64)
        extent = block.max(axis=1) - block.min(axis=1) + 2 * BOUNDING_PAD
        cells[start:start + len(block)] = extent[:, :, None] * np.eye(3)
    return cells


def kept_atoms(positions: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    return positions if keep is None else positions[keep]


# ------------------------------------------------------------------ npz (original GDyNet layout)


def ase_frame_tuples(images: Iterable, numbers: np.ndarray, keep: np.ndarray | None, stride: int, src: str
                      ) -> Iterator[tuple[np.ndarray, np.ndarray, float, float]]:
    """``(positions, cell, time_ps, nan)`` per frame; the atoms must not change.

    ``images`` are every ``stride``-th frame of the file; errors name the frame's number in the file.
    """
    from ase.units import fs

    for index, atoms in zip(range(0, sys.maxsize, stride), images):
        if len(atoms) != len(numbers):
            raise GdynetError(f"frame {index} has {len(atoms)} atoms but frame 0 has {len(numbers)}; "
                              "gdynet needs a fixed number of atoms", src)
        if not np.array_equal(atoms.numbers, numbers):
            raise GdynetError(f"the elements or the atom order change at frame {index}", src)
        time = atoms.info.get("time")
        time_ps = np.nan if time is None else float(time) / (1000.0 * fs)
        yield kept_atoms(atoms.positions, keep), cell_checked(atoms.cell.array, index, src), time_ps, np.nan
