"""Trajectories from objects of the ecosystem: an MDAnalysis ``Universe``/``AtomGroup`` or ``ase.Atoms`` frames.

``read_trajectory(obj, ...)`` comes here when ``obj`` is not a path; so do
``Trajectory.from_mdanalysis`` and ``Trajectory.from_ase``. The same rules as for files apply
(:mod:`gdynet.trajectory.readers`): elements, virtual sites, ``exclude`` and charges by
:mod:`gdynet.trajectory.atoms`, ``targets`` by :func:`~gdynet.trajectory.targets.select_targets`,
the frame spacing from ``dt`` or the frames' own times, periodicity from the box.

**MDAnalysis**: the positions of every ``stride``-th frame of ``obj.universe.trajectory`` (the
group's atoms; Å, float32 as MDAnalysis holds them, so they equal what ``read_trajectory`` gives for
the same file), the box as the cell (none: non-periodic, a bounding cell as for files), the elements,
masses, names and charges the topology states, and the frame times (ps) when the reader has them
(DCD, XTC, TRR, NetCDF). A DCD written by LAMMPS (time in the run's unit) and an in-memory trajectory
(``MemoryReader``, whose ``dt`` defaults to 1 ps) need ``dt``. ``targets`` may be any MDAnalysis
selection (``"name OW"``, ``"resname LI"``), evaluated on the first frame; indices given or
returned by ``file_targets()`` are the ``Universe``'s (``atom.index``). The universe's current frame is restored afterwards.

**ASE**: a list, tuple or iterator (``ase.io.iread``) of ``ase.Atoms``, or one ``Atoms``: positions,
cell, ``pbc``, atomic numbers, ``info["time"]`` (ASE time units, as ASE's readers store it; the
frame spacing when ``dt`` is not given) and initial charges (e) when set. Every frame must have the
same atoms in the same order.
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from ..base.errors import GdynetError
from ..base.units import parse_time
from . import cache
from .atoms import INDEX_LIST, AtomChoice, choose_atoms, facts_from_atoms, parse_pbc, remap_targets
from .frames import ase_frame_tuples, cell_checked, file_pbc, frame_spacing, resolve_periodicity, written_by_lammps
from .targets import TargetSpec, element_counts, select_targets
from .universe import group_atoms, is_mdanalysis, mdanalysis_source, quiet_mdanalysis

#: MDAnalysis reader formats whose frame times gdynet trusts -> the readers' format name
_TIMED_READERS = {"DCD": "dcd", "XTC": "xtc", "TRR": "trr", "NCDF": "ncdf"}


def object_fields(obj: Any, *, dt: float | str | None = None, targets: TargetSpec | None = None, stride: int = 1,
                 type_map: Any = None, exclude: Any = None, pbc: Any = None, source: str | None = None,
                 dt_override: bool = False, **file_options: Any) -> dict[str, Any]:
    """The Trajectory fields for ``read_trajectory`` of an object (module docstring): ``file_options`` (``timestep``, ``format``,
    ``topology``, ``topology_format``, ``cache_dir``) belong to files, and ``type_map`` to atom types
    (MDAnalysis); given where they do not apply they are refused."""
    mdanalysis = is_mdanalysis(obj)
    if not mdanalysis:
        file_options["type_map"] = type_map                 # ASE frames have atomic numbers, not types
    given = sorted(name for name, value in file_options.items() if value is not None)
    what = "an MDAnalysis object" if mdanalysis else "ase.Atoms frames"
    if given:
        raise GdynetError(f"not used for {what}: {', '.join(given)}; leave it out (dt= gives the frame spacing)",
                          source or f"<{what}>")
    if mdanalysis:
        return mdanalysis_fields(obj, dt=dt, targets=targets, stride=stride, type_map=type_map, exclude=exclude,
                               pbc=pbc, source=source, dt_override=dt_override)
    return ase_fields(obj, dt=dt, targets=targets, stride=stride, exclude=exclude, pbc=pbc, source=source,
                      dt_override=dt_override)


def mdanalysis_fields(atoms: Any, *, dt: float | str | None = None, targets: TargetSpec | None = None,
                    stride: int = 1, type_map: Any = None, exclude: Any = None, pbc: Any = None,
                    source: str | None = None, dt_override: bool = False) -> dict[str, Any]:
    """The :class:`~gdynet.trajectory.core.Trajectory` fields (its keywords) of an MDAnalysis ``Universe`` or ``AtomGroup`` (module docstring).

    Args:
        atoms: the Universe (all atoms) or an AtomGroup (its atoms, in its order).
        dt: time between the universe's frames (ps or with a unit); default: the frames' own times.
        targets: an element (``"Li"``), atom indices (the ``Universe``'s numbering, ``atom.index``;
            they must be in the group), an MDAnalysis selection (``"name OW"``, evaluated on the
            group), ``"molecules:H2O"`` or ``"residues:resname EC"``. ``traj.targets`` indexes the
            Trajectory's atoms (the group's, in its order); ``traj.file_targets()`` and the
            ``StateProbabilities.targets`` of its χ are ``Universe`` indices.
        stride: keep every ``stride``-th frame.
        type_map, exclude, pbc, dt_override: as for :func:`~gdynet.trajectory.readers.read_trajectory`.
        source: name in messages and ``Trajectory.source`` (default: the trajectory file's name).
    """
    src = source or mdanalysis_source(atoms)
    stride = _stride(stride, src)
    dt_ps = None if dt is None else _dt(dt, src)
    reader = atoms.universe.trajectory
    fmt, timed = _mdanalysis_format(reader)
    current = reader.frame
    with quiet_mdanalysis():
        group, topology, choice = group_atoms(atoms, type_map, exclude, src)
        _check_targets_given(targets, choice, src)
        if dt_ps is None and not timed:
            raise GdynetError(f"{_untimed_reason(reader, fmt)}; pass dt= (the time between the universe's frames, "
                              "e.g. '2fs' or 0.002 in ps)", src)
        try:
            frames = cache.collect_frames(_mdanalysis_frames(group, reader, choice, stride, timed, src),
                                          choice.kept_numbers, entry=None, source=src)
        finally:
            reader[current]
    whole = group.n_atoms == atoms.universe.atoms.n_atoms and np.array_equal(group.indices, np.arange(group.n_atoms))
    group_ids = None if whole else np.asarray(group.indices, dtype=np.int64)
    if group_ids is not None:
        targets = _group_positions(targets, group_ids, src)
    return _assemble(frames, choice, file_pbc(frames.cells, (True, True, True), src, stride), fmt, dt_ps, stride,
                     targets, topology, pbc, src, dt_override, group_ids)


def ase_fields(images: Any, *, dt: float | str | None = None, targets: TargetSpec | None = None, stride: int = 1,
             exclude: Any = None, pbc: Any = None, source: str | None = None,
             dt_override: bool = False) -> dict[str, Any]:
    """The :class:`~gdynet.trajectory.core.Trajectory` fields (its keywords) of ``ase.Atoms`` frames (module docstring).

    Args:
        images: one ``Atoms``, or a list, tuple or iterator of them (e.g. ``ase.io.iread(...)``).
        dt: time between the frames (ps or with a unit); default: their ``info["time"]``.
        targets: an element (``"Li"``), indices, a selection on element symbols (``"prop z > 20"``)
            or ``"molecules:H2O"`` (see :func:`~gdynet.trajectory.targets.select_targets`).
        stride: keep every ``stride``-th frame.
        exclude, pbc, dt_override: as for :func:`~gdynet.trajectory.readers.read_trajectory`.
        source: name in messages and ``Trajectory.source`` (default ``"<ase.Atoms frames>"``).
    """
    from ase import Atoms

    src = source or "<ase.Atoms frames>"
    stride = _stride(stride, src)
    dt_ps = None if dt is None else _dt(dt, src)
    frames_in = iter([images] if isinstance(images, Atoms) else _iterable(images, src))
    first = next(frames_in, None)
    if first is None:
        raise GdynetError("no frames given (an empty list of ase.Atoms)", src)
    if not isinstance(first, Atoms):
        raise GdynetError(f"expected ase.Atoms frames, got {type(first).__name__}", src)
    if dt_ps is None and "time" not in first.info:
        raise GdynetError("the frames carry no time (no 'time' in atoms.info); pass dt= (e.g. '2fs' or 0.002 "
                          "in ps)", src)
    choice = choose_atoms(facts_from_atoms(first), len(first), exclude=exclude, source=src)
    _check_targets_given(targets, choice, src)
    keep = None if choice.all_kept else choice.keep
    images = itertools.islice(itertools.chain([first], frames_in), 0, None, stride)
    frames = cache.collect_frames(ase_frame_tuples(images, first.numbers.copy(), keep, stride, src),
                                  choice.kept_numbers, entry=None, source=src)
    return _assemble(frames, choice, file_pbc(frames.cells, tuple(bool(b) for b in first.pbc), src, stride),
                     "traj", dt_ps, stride, targets, None, pbc, src, dt_override)


# ------------------------------------------------------------------ shared steps
def _stride(stride: Any, src: str) -> int:
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise GdynetError(f"stride must be a positive whole number of frames, got {stride!r}", src)
    return int(stride)


def _dt(dt: Any, src: str) -> float:
    try:
        return parse_time(dt, name="dt")
    except GdynetError as exc:
        raise GdynetError(str(exc), src) from None


def _iterable(images: Any, src: str) -> Iterable:
    if isinstance(images, (str, bytes, Path)) or not hasattr(images, "__iter__"):
        raise GdynetError(f"expected a path, an MDAnalysis Universe/AtomGroup or ase.Atoms frames, got "
                          f"{type(images).__name__}", src)
    return images


def _check_targets_given(targets: TargetSpec | None, choice: AtomChoice, src: str) -> None:
    if targets is None:
        counts = ", ".join(f"{sym} x{n}" for sym, n in element_counts(choice.kept_numbers).items())
        raise GdynetError(f"targets needed: pass targets= (an element such as 'Li', indices, a selection such as "
                          f"'name OW', or 'molecules:H2O'); atoms present: {counts}", src)


def _assemble(frames: cache.Frames, choice: AtomChoice, found_pbc: tuple[bool, bool, bool] | None, fmt: str,
              dt_ps: float | None, stride: int, targets: TargetSpec, topology: Any, pbc: Any,
              src: str, dt_override: bool = False, group_ids: np.ndarray | None = None) -> dict[str, Any]:
    """The Trajectory fields of the frames: spacing (``dt_override``: ``dt_ps`` replaces the frames' own
    times, as for files), periodicity (a bounding cell without a box, as for files)
    and the target sets, selected on the first frame. ``group_ids``: the ``Universe`` index of each
    atom of an ``AtomGroup`` (the numbering of ``file_targets()``), None for all atoms of the source."""
    dt_ps, dt_source = frame_spacing(frames, fmt, dt_ps, None, stride, None, src, dt_override)
    cells, periodic = resolve_periodicity(frames, found_pbc, parse_pbc(pbc, src), src, "in the frames", "pbc=",
                                          ase=fmt == "traj")
    first = np.zeros((len(choice.numbers), 3))
    first[choice.keep] = frames.positions[0]
    sets = select_targets(choice.numbers, targets, positions=first, cell=cells[0], topology=topology, source=src,
                          keep=choice.keep, pbc=periodic)
    return dict(positions=frames.positions, cells=cells, numbers=frames.numbers, dt_ps=dt_ps,
                      targets=remap_targets(sets, choice.keep, src), source=src, pbc=periodic,
                      charges=choice.kept_charges, dt_source=dt_source,
                      atom_ids=_atom_ids(choice, group_ids))


def _atom_ids(choice: AtomChoice, group_ids: np.ndarray | None) -> np.ndarray | None:
    """The source's index of each kept atom (``Trajectory.atom_ids``), None when it is their own numbering."""
    if group_ids is None:
        return None if choice.all_kept else np.flatnonzero(choice.keep)
    return group_ids[choice.keep]


def _group_positions(spec: Any, group_ids: np.ndarray, src: str) -> Any:
    """Atom indices given for an ``AtomGroup`` are in its ``Universe``'s numbering (``atom.index``, as
    ``u.atoms[i]``): their positions within the group; any other spec as it is."""
    if isinstance(spec, Mapping) and set(spec) == {"indices"}:
        spec = spec["indices"]
    if isinstance(spec, str):
        if not INDEX_LIST.match(spec):
            return spec
        spec = [int(i) for i in spec.split(",") if i.strip()]
    elif isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        spec = [int(spec)]
    elif not isinstance(spec, (list, tuple, np.ndarray)):
        return spec
    try:
        index = np.asarray(spec)
    except ValueError:
        return spec
    if index.dtype.kind not in "iu" or index.size == 0:
        return spec
    position = {int(u): k for k, u in enumerate(group_ids)}
    missing = [int(i) for i in index.ravel() if int(i) not in position]
    if missing:
        raise GdynetError(f"target atom {missing[0]} is not in the AtomGroup (indices are the Universe's "
                          "numbering, atom.index)", src)
    return np.array([position[int(i)] for i in index.ravel()], dtype=np.int64).reshape(index.shape)


# ------------------------------------------------------------------ MDAnalysis
def _mdanalysis_format(reader: Any) -> tuple[str, bool]:
    """``(format name, whether its frame times are trusted)`` of an MDAnalysis reader."""
    name = str(getattr(reader, "format", type(reader).__name__))
    if isinstance(getattr(reader, "format", None), (list, tuple)):
        name = str(reader.format[0])
    name = name.upper()
    if name not in _TIMED_READERS:
        return f"MDAnalysis {name}", False
    if name == "DCD" and (type(reader).__module__.endswith("LAMMPS") or written_by_lammps(Path(reader.filename))):
        return "lammps-dcd", False
    return _TIMED_READERS[name], True


def _untimed_reason(reader: Any, fmt: str) -> str:
    if fmt == "lammps-dcd":
        return "a LAMMPS DCD stores its time in the run's unit (fs for units real, ps for units metal)"
    if type(reader).__name__ == "MemoryReader":
        return "an in-memory MDAnalysis trajectory (MemoryReader) has no frame times of its own (dt defaults to 1 ps)"
    return (f"gdynet takes frame times only from MDAnalysis' DCD, XTC, TRR and NetCDF readers, not from "
            f"{type(reader).__name__}")


def _mdanalysis_frames(group: Any, reader: Any, choice: AtomChoice, stride: int, timed: bool, src: str):
    """``(positions, cell, time_ps, nan)`` of every ``stride``-th frame, as the MDAnalysis file reader."""
    from MDAnalysis.lib.mdamath import triclinic_vectors

    keep = None if choice.all_kept else choice.keep
    for ts in reader[::stride]:
        dims = ts.dimensions
        cell = None if dims is None or not np.all(np.asarray(dims[:3]) > 0) else triclinic_vectors(dims)
        positions = group.positions
        yield (positions if keep is None else positions[keep]), cell_checked(cell, ts.frame, src), \
            float(ts.time) if timed else np.nan, np.nan
