"""Read MD trajectories from files into a :class:`~gdynet.trajectory.core.Trajectory`.

Supported formats (chosen by file name, or by ``format=``; ``.gz``/``.bz2``/``.xz`` text files are
decompressed on the fly):

============  ===========================================  ==================  ==============================
format        file                                         library             frame spacing
============  ===========================================  ==================  ==============================
npz           GDyNet ``.npz`` (traj_coords, lattices,      NumPy               ``dt=``
              atom_types, target_index)
extxyz        ``.xyz`` / ``.extxyz`` (``Lattice=``, pbc)   ASE (streamed)      info ``time``, else ``dt=``
traj          ASE ``.traj``                                ASE (streamed)      info ``time``, else ``dt=``
xdatcar       VASP ``XDATCAR*`` / ``.xdatcar``             ASE (read whole)    ``dt=``
lammps-dump   LAMMPS text dump ``.lammpstrj`` / ``.dump``  gdynet (streamed)   TIMESTEP x ``timestep=``, or ``dt=``
              / ``dump.*``
dcd           ``.dcd`` + ``topology=`` (CHARMM/NAMD)       MDAnalysis          file time, or step interval x ``timestep=``
lammps-dcd    DCD written by LAMMPS + ``topology=``        MDAnalysis          step interval x ``timestep=``, or ``dt=``
xtc, trr      GROMACS ``.xtc`` / ``.trr`` + ``topology=``  MDAnalysis          file time, or step x ``timestep=``
ncdf          AMBER NetCDF ``.nc`` / ``.ncdf`` + topology  MDAnalysis          file time
mdcrd         AMBER ASCII ``.mdcrd`` + ``topology=``       MDAnalysis          ``dt=``
pdb           PDB MODELs (its own topology)                MDAnalysis          ``dt=``
============  ===========================================  ==================  ==============================

**Time.** ``dt=`` is the time between the frames stored in the file; ``timestep=`` is the MD
integration step, and the frame spacing is then the difference of the frames' MD step numbers (the
dump's ``TIMESTEP``, the DCD header's step interval, the XTC/TRR step) times ``timestep``. Step
numbers and file times must be evenly spaced whichever option gives the spacing (``dt=`` too;
all-equal steps or times, e.g. every TIMESTEP 0, count as none), and a ``dt=`` or a file time that
disagrees with steps x timestep is refused, naming the frames. A dump whose TIMESTEP goes back (a
restarted run appended to it) or repeats keeps the later frames (:mod:`~gdynet.trajectory.restarts`),
and one whose last frame is cut off (a run killed while writing) loses that frame, each with one
warning and counted in ``Trajectory.frames_dropped`` / ``truncated_tail``. ``Trajectory.dt_source``
says where the spacing came from (``"--dt"``, ``"file time"``, ``"dump TIMESTEP x --timestep"``,
...). A DCD is a LAMMPS DCD when its header says
so or its topology is a LAMMPS data file: its time is in the run's unit (fs or ps), so it needs
``timestep=`` (checked against the header's step) or ``dt=``. An ASE frame ``time``
(``atoms.info["time"]``) is in ASE time units, as ASE's own readers store it.

**Atoms.** Elements, left-out atoms (massless virtual sites, ``exclude=``) and partial charges are
decided by :mod:`gdynet.trajectory.atoms`; ``topology=`` may accompany any format (it must list the
file's atoms in the same order) and adds names, masses, charges and the MDAnalysis selection
language. Target indices are the file's atom numbering, before atoms are left out.

**Periodicity.** ``Trajectory.pbc`` comes from the file: LAMMPS boundary flags (``pp pp ff`` is a
slab), ASE's pbc, and a file or topology without any cell (a molecule or cluster in vacuum) is
non-periodic: it gets a bounding cell (the atoms' extent in each frame plus :data:`BOUNDING_PAD`
on every side, which nothing periodic uses) and one warning. ``pbc=`` overrides the file.

Files of at least ``cache.STREAM_THRESHOLD_BYTES`` (256 MiB) are streamed frame by frame into a
memory-mapped ``.npy`` cache (checksummed, keyed by content, see :mod:`gdynet.trajectory.cache`)
and reused on the next read; smaller ones are read into memory. Either way positions keep the file's
precision (float64 from ASE, npz and dumps, float32 from MDAnalysis), so a file gives the same
numbers whatever its size. A DCD/XTC/TRR file that ends inside a frame (a run stopped while
writing) is refused, where MDAnalysis alone would drop that frame without a word.
"""
from __future__ import annotations

import gc
import hashlib
import os
import sys
import warnings
import zipfile
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np

from ..errors import GdynetError, GdynetWarning, exception_summary
from ..units import parse_time
from . import cache, lammps_dump, restarts
from .atoms import AtomChoice, AtomFacts, choose_atoms, facts_from_atoms, facts_from_numbers, facts_from_universe, \
    parse_pbc, remap_targets
from .compressed import compression, stem_name
from .core import Trajectory
from .targets import (LAMMPS_TOPOLOGY_FORMATS, TargetSpec, element_counts, is_lammps_data, load_topology,
                      needs_coordinates, quiet_mdanalysis, select_targets, to_atomic_number, topology_kwargs)

#: format name -> (description, file suffixes)
FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "npz": ("GDyNet .npz (traj_coords, lattices, atom_types, target_index)", (".npz",)),
    "extxyz": ("extended XYZ with Lattice= (ASE)", (".xyz", ".extxyz")),
    "traj": ("ASE trajectory", (".traj",)),
    "xdatcar": ("VASP XDATCAR (ASE)", (".xdatcar",)),
    "lammps-dump": ("LAMMPS text dump (TIMESTEP x --timestep; --type-map unless it has element or mass columns)",
                    (".lammpstrj", ".dump", ".lammpsdump")),
    "dcd": ("DCD + topology= (MDAnalysis)", (".dcd",)),
    "lammps-dcd": ("DCD written by LAMMPS + topology= (MDAnalysis; recognised by its header or a LAMMPS data "
                   "topology)", ()),
    "xtc": ("GROMACS XTC + topology= (MDAnalysis)", (".xtc",)),
    "trr": ("GROMACS TRR + topology= (MDAnalysis)", (".trr",)),
    "ncdf": ("AMBER NetCDF + topology= (MDAnalysis)", (".nc", ".ncdf")),
    "mdcrd": ("AMBER ASCII trajectory + topology= (MDAnalysis; box when the topology says so)", (".mdcrd",)),
    "pdb": ("PDB, one or more MODELs; its own topology (MDAnalysis)", (".pdb",)),
}
_ALIASES = {"xyz": "extxyz", "ase": "traj", "vasp-xdatcar": "xdatcar", "lammps-dump-text": "lammps-dump",
            "lammpstrj": "lammps-dump", "lammps": "lammps-dcd"}
_ASE_NAMES = {"extxyz": "extxyz", "traj": "traj", "xdatcar": "vasp-xdatcar"}
_MDA_NAMES = {"dcd": "DCD", "lammps-dcd": "LAMMPS", "xtc": "XTC", "trr": "TRR", "ncdf": "NCDF", "mdcrd": "TRJ",
              "pdb": "PDB"}
#: MDAnalysis formats that are their own topology (a GRO is not one: MDAnalysis reads only its first frame)
_SELF_TOPOLOGY = {"pdb"}
#: formats whose frames may carry a time that is trusted (a LAMMPS DCD's is in the run's own unit)
_TIMED = {"extxyz", "traj", "dcd", "xtc", "trr", "ncdf"}
#: formats that store frame times in single precision (XTC always, TRR in the usual mixed-precision build)
_FLOAT32_TIMES = {"xtc", "trr"}
#: what the MD step numbers of each format are called, for ``dt_source`` and messages
_STEP_WORDS = {"lammps-dump": "dump TIMESTEP", "dcd": "DCD step interval", "lammps-dcd": "DCD step interval",
               "xtc": "XTC step", "trr": "TRR step"}
_NPZ_KEYS = ("traj_coords", "lattices", "atom_types", "target_index")
#: relative disagreement tolerated between two frame spacings (dt vs steps x timestep vs file time)
SPACING_TOLERANCE = 1e-3
#: Å added on each side of the atoms' extent to make the cell of a file without one
BOUNDING_PAD = 10.0
_EARLY_END = " (the compressed stream ends early)"

TypeMap = Mapping[int | str, str | int] | str


@dataclass(frozen=True)
class _Read:
    """What a format reader returns: frames of the kept atoms and what it learnt about the atoms."""

    frames: cache.Frames
    choice: AtomChoice
    pbc: tuple[bool, bool, bool] | None     # None: the file has no cell at all
    file_targets: np.ndarray | None = None
    dcd_header: dict | None = None


def read_trajectory(path: str | os.PathLike[str] | Any, *, dt: float | str | None = None,
                    timestep: float | str | None = None, format: str | None = None,
                    topology: str | os.PathLike[str] | None = None, topology_format: str | None = None,
                    targets: TargetSpec | None = None, stride: int = 1,
                    cache_dir: str | os.PathLike[str] | None = None, type_map: TypeMap | None = None,
                    exclude: Any = None, pbc: Any = None) -> Trajectory:
    """Read an MD trajectory file (formats, time, atoms and periodicity: see the module docstring).

    Args:
        path: the trajectory file; or an MDAnalysis ``Universe``/``AtomGroup``, or ``ase.Atoms``
            frames (a list or an iterator such as ``ase.io.iread``), read by
            :mod:`gdynet.trajectory.ecosystem` with ``dt``, ``targets``, ``stride``, ``type_map``,
            ``exclude`` and ``pbc``.
        dt: time between the frames *in the file*, in ps (float) or with a unit ("100fs", "0.1ps");
            overrides a file time.
        timestep: the MD integration step (ps or with a unit, "2fs"); the frame spacing is then the
            difference of the frames' MD step numbers times ``timestep``.
        format: one of :data:`FORMATS` (default: from the file name).
        topology: topology file (PDB, GRO, PSF, TPR, PRMTOP, LAMMPS data ``*.data``/``*.lmp``/
            ``data.*``, ...); needed by DCD/XTC/TRR, optional for the others (names, masses, charges,
            selections).
        topology_format: MDAnalysis topology format when the name does not tell (e.g. ``"DATA"``).
        targets: which atoms gdynet follows; see :func:`~gdynet.trajectory.targets.select_targets`
            ("Li", 3, [0, 4], "0,4", "name OW", "molecules:H2O", "residues:resname EC"); an int is an
            atom index, an element goes by its symbol; indices in the file's numbering (0-based). Default: the file's own targets (npz ``target_index``).
        stride: keep every ``stride``-th frame; the frame spacing is multiplied by ``stride``.
        cache_dir: folder of the frame cache for large files (default ``$GDYNET_CACHE`` or
            ``~/.cache/gdynet/trajectories``).
        type_map: element of each atom type (LAMMPS types, topology types): ``{1: "Li", 2: "S"}``
            or ``"1=Li,2=S"``; it always wins over element columns, masses and names.
        exclude: atoms to leave out besides massless ones: indices ("0,5"), elements ("Na,Cl") or an
            MDAnalysis selection (with a topology).
        pbc: periodicity per cell vector, overriding the file: "xyz", "xy", "1,1,0", "none", or 3 bools.

    Returns:
        A :class:`Trajectory` with positions ``(F, N, 3)`` Å, cells ``(F, 3, 3)`` Å, ``dt_ps`` in ps,
        ``dt_source``, ``pbc`` and, when the file or topology states them, ``charges`` in e.

    Raises:
        GdynetError: one line naming the file and the problem (missing file, unknown format,
            missing or inconsistent time, unresolved elements, unreadable data, bad targets).
    """
    if not isinstance(path, (str, os.PathLike)):   # an MDAnalysis Universe/AtomGroup or ase.Atoms frames
        from .ecosystem import read_objects

        return read_objects(path, dt=dt, targets=targets, stride=stride, type_map=type_map, exclude=exclude,
                            pbc=pbc, timestep=timestep, format=format, topology=topology,
                            topology_format=topology_format, cache_dir=cache_dir)
    path = Path(path).expanduser()
    src = str(path)
    if not path.exists():
        raise GdynetError("file not found", src)
    if not path.is_file():
        raise GdynetError("not a file", src)
    top = None
    if topology is not None:
        top = Path(topology).expanduser()
        if not top.is_file():
            raise GdynetError("topology file not found", top)
    fmt = _resolve_format(path, format, top, topology_format)
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise GdynetError(f"stride must be a positive whole number of frames, got {stride!r}", src)
    stride = int(stride)
    dt_ps, step_ps = _time(dt, "dt", src), _time(timestep, "timestep", src)
    if dt_ps is None and step_ps is None and fmt not in _TIMED:
        raise GdynetError(_no_time_message(fmt, path), src)
    pbc_given = parse_pbc(pbc, src)
    types = _parse_type_map(type_map, src)
    universe = None
    if top is not None and fmt not in _MDA_NAMES:
        universe = load_topology(top, topology_format, source=src)
    options = dict(type_map=types, exclude=exclude, source=src)

    def choose_targets(choice: AtomChoice, universe: Any = None, file_targets: np.ndarray | None = None,
                       frame: tuple[np.ndarray, np.ndarray] | None = None,
                       frame_pbc: Any = (True, True, True)) -> np.ndarray | None:
        """Target sets (kept atoms' numbering); called before the frames are read (``frame=None``) to fail early."""
        numbers = choice.numbers
        if targets is None:
            if file_targets is None:
                counts = ", ".join(f"{sym} x{n}" for sym, n in element_counts(choice.kept_numbers).items())
                raise GdynetError(f"targets needed: this {fmt} file does not define target atoms; pass targets= "
                                  f"(an element such as 'Li', indices, or 'molecules:H2O'); atoms present: {counts}",
                                  src)
            sets = select_targets(numbers, file_targets, source=src)
        elif frame is None and needs_coordinates(targets, universe):
            return None  # bonds need frame 0
        else:
            positions, cell = frame if frame is not None else (None, None)
            if positions is not None and not choice.all_kept:
                full = np.zeros((len(numbers), 3))
                full[choice.keep] = positions
                positions = full
            sets = select_targets(numbers, targets, positions=positions, cell=cell, topology=universe, source=src,
                                  keep=choice.keep, pbc=frame_pbc)
        return remap_targets(sets, choice.keep, src)

    def decide(facts: AtomFacts, n_atoms: int, universe: Any = None, file_targets: np.ndarray | None = None
               ) -> AtomChoice:
        if universe is not None:
            if universe.atoms.n_atoms != n_atoms:
                raise GdynetError(f"topology {top.name} has {universe.atoms.n_atoms} atoms but the file has "
                                  f"{n_atoms}", src)
            facts = facts.filled_from(facts_from_universe(universe))
        choice = choose_atoms(facts, n_atoms, universe=universe, **options)
        choose_targets(choice, universe, file_targets)
        return choice

    try:
        if fmt in _MDA_NAMES:
            read, universe = _read_mdanalysis(path, fmt, top, topology_format, stride, cache_dir, decide, exclude)
        elif fmt == "npz":
            read = _read_npz(path, stride, cache_dir, lambda f, n, t: decide(f, n, universe, t), exclude)
        elif fmt == "lammps-dump":
            read = _read_dump(path, stride, cache_dir, lambda f, n: decide(f, n, universe), top, exclude, types)
        else:
            read = _read_ase(path, fmt, stride, cache_dir, lambda f, n: decide(f, n, universe), top, exclude,
                             need_time=dt_ps is None and step_ps is None)
        frames = read.frames
        dt_ps, dt_source = _frame_spacing(frames, fmt, dt_ps, step_ps, stride, read.dcd_header, src)
        cells, pbc = resolve_periodicity(frames, read.pbc, pbc_given, src, "in the file", "--pbc",
                                         ase=fmt not in _MDA_NAMES and fmt not in ("npz", "lammps-dump"))
        target_sets = choose_targets(read.choice, universe, read.file_targets, (frames.positions[0], cells[0]), pbc)
    finally:
        if universe is not None and fmt in _MDA_NAMES:
            universe.trajectory.close()  # the topology (for selections) is not needed any more
    return Trajectory(positions=frames.positions, cells=cells, numbers=frames.numbers, dt_ps=dt_ps,
                      targets=target_sets, source=src, pbc=pbc, charges=read.choice.kept_charges,
                      atom_ids=None if read.choice.all_kept else np.flatnonzero(read.choice.keep), dt_source=dt_source,
                      frames_dropped=frames.notes.get("frames_dropped", 0),
                      truncated_tail=frames.notes.get("truncated_tail", 0))


# ------------------------------------------------------------------ format and options
def _resolve_format(path: Path, format: str | None, topology: Path | None, topology_format: str | None) -> str:
    """The format by ``format=`` or the file name; a DCD written by LAMMPS becomes ``lammps-dcd``."""
    supported = ", ".join(FORMATS)
    if format is not None:
        name = str(format).strip().lower()
        name = _ALIASES.get(name, name)
        if name not in FORMATS:
            raise GdynetError(f"unknown format {format!r}; supported: {supported}", path)
    else:
        name = _format_from_name(stem_name(path))
        if name is None:
            raise GdynetError(f"cannot tell the format from the file name; pass format= (supported: {supported})",
                              path)
    if compression(path) and name not in ("extxyz", "xdatcar", "lammps-dump", "mdcrd", "pdb"):
        raise GdynetError(f"{name} files cannot be read compressed ({compression(path)}); decompress it first", path)
    lammps_topology = topology is not None and (is_lammps_data(topology) if topology_format is None else
                                                topology_format.strip().upper() in LAMMPS_TOPOLOGY_FORMATS)
    if name == "dcd" and (lammps_topology or _written_by_lammps(path)):
        return "lammps-dcd"
    return name


def _format_from_name(name: str) -> str | None:
    suffix = Path(name).suffix.lower()
    for fmt, (_, suffixes) in FORMATS.items():
        if suffix in suffixes:
            return fmt
    if name.upper().startswith("XDATCAR"):
        return "xdatcar"
    if name.lower().startswith("dump."):
        return "lammps-dump"
    return None


def _written_by_lammps(path: Path) -> bool:
    """True when the DCD's title (first 1 kB) says LAMMPS wrote it ("Written by LAMMPS")."""
    with open(path, "rb") as fh:
        return b"LAMMPS" in fh.read(1024)


def _time(value: float | str | None, name: str, src: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_time(value, name=name)
    except GdynetError as exc:
        raise GdynetError(str(exc), src) from None


def _no_time_message(fmt: str, path: Path) -> str:
    if fmt == "lammps-dump":
        return ("a LAMMPS dump stores the MD step (TIMESTEP) of each frame, not its time; pass timestep= "
                "(--timestep, the MD integration step, e.g. '2fs') or dt= (--dt, the time between stored frames)")
    if fmt == "lammps-dcd":
        header = _dcd_header(path)
        return (f"a LAMMPS DCD stores its time in the run's unit (fs for units real, ps for units metal): frames "
                f"are {header['nsavc']} steps of {header['delta']:g} apart; pass timestep= (--timestep, e.g. "
                f"'{header['delta']:g}fs' for units real) or dt= (--dt, the time between stored frames)")
    return f"{fmt} files do not store the time between frames; pass dt= (--dt, e.g. '2fs' or 0.002 in ps)"


def _parse_type_map(type_map: TypeMap | None, src: str) -> dict[str, int] | None:
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
def _frame_spacing(frames: cache.Frames, fmt: str, dt_ps: float | None, step_ps: float | None, stride: int,
                   dcd_header: dict | None, src: str) -> tuple[float, str]:
    """``(dt_ps, dt_source)``: the spacing of the stored (strided) frames and where it came from.

    The file's step numbers and frame times are checked to be evenly spaced whatever gives the
    spacing (``dt=`` too), unless they are all equal (no time at all, e.g. every TIMESTEP 0).
    """
    numbers = np.arange(len(frames.positions)) * stride
    steps = frames.steps if fmt in _STEP_WORDS else None
    times = frames.times_ps if fmt in _TIMED else None
    word = _STEP_WORDS.get(fmt, "step")
    if step_ps is None and _varies(steps):
        _even_spacing(steps, numbers, word, src)
    if step_ps is None and _varies(times):
        file_dt = _file_dt(times, fmt, src, stride)
    from_steps, what = None, None
    if step_ps is not None:
        if steps is None:
            raise GdynetError(f"timestep= (--timestep) needs the MD step number of each frame, and this {fmt} file "
                              "has none; pass dt= (--dt, the time between stored frames) instead", src)
        from_steps = _even_spacing(steps, numbers, word, src) * step_ps
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
        return dt_ps * stride, "--dt"
    if from_steps is not None:
        return from_steps, what
    if not _varies(times):
        _file_dt(times, fmt, src, stride)  # says why there is no spacing
    return file_dt, "file time"


def _varies(values: np.ndarray | None) -> bool:
    """True when there are at least two values and not all equal (step numbers or times that mean something)."""
    return values is not None and len(values) > 1 and not np.all(values == values[0])


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= SPACING_TOLERANCE * max(abs(a), abs(b))


def _even_spacing(steps: np.ndarray, numbers: np.ndarray, word: str, src: str) -> float:
    """The constant difference of the frames' MD step numbers; refuses uneven or repeated steps.

    ``numbers``: the frames' numbers in the file, for the message.
    """
    if len(steps) < 2:
        raise GdynetError(f"only one frame: {word} gives no spacing; pass dt= (--dt)", src)
    if not _varies(steps):
        raise GdynetError(f"every frame has {word} {steps[0]:.0f}: the steps give no spacing; pass dt= (--dt, the "
                          "time between stored frames)", src)
    diffs = np.diff(steps)
    first = diffs[0]
    bad = np.flatnonzero(diffs != first)
    if first <= 0 or bad.size:
        i = int(bad[0]) if first > 0 else 0
        raise GdynetError(f"{word} is not evenly spaced: {steps[0]:.0f} -> {steps[1]:.0f} between frames "
                          f"{numbers[0]} and {numbers[1]} but {steps[i]:.0f} -> {steps[i + 1]:.0f} between frames "
                          f"{numbers[i]} and {numbers[i + 1]}; gdynet needs evenly spaced frames (a run restarted "
                          "into the same file is read when the step goes back; other gaps must be cut out)", src)
    return float(first)


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
    rounding = float(np.spacing(np.float32(np.abs(times).max()))) if fmt in _FLOAT32_TIMES else 0.0
    bad = np.flatnonzero(np.abs(steps - dt) > SPACING_TOLERANCE * abs(dt) + 1e-9 + rounding)
    if not dt > 0:
        raise GdynetError(f"frame times do not increase (frames 0 and {(len(times) - 1) * stride} at {times[0]:g} and "
                          f"{times[-1]:g} ps); gdynet needs evenly spaced frames", src)
    if bad.size:
        i = int(bad[0])
        raise GdynetError(f"frame times are not evenly spaced ({steps[0]:g} ps between frames 0 and {stride}, "
                          f"{steps[i]:g} ps between frames {i * stride} and {(i + 1) * stride}); gdynet needs evenly "
                          "spaced frames", src)
    return dt


# ------------------------------------------------------------------ shared helpers
def _entry(path: Path, cache_dir: Any, **options: Any) -> Path | None:
    """Cache entry for a large file, ``None`` for a small one (read into memory)."""
    if path.stat().st_size < cache.STREAM_THRESHOLD_BYTES:
        return None
    return cache.cache_entry(path, cache.cache_root(cache_dir), **options)


def _guarded(frames: Iterable, what: str, src: str) -> Iterator:
    """Re-raise a library error met while iterating ``frames`` as a one-line GdynetError."""
    try:
        yield from frames
    except GdynetError:
        raise
    except Exception as exc:  # any parser failure on a corrupt/truncated file
        raise GdynetError(f"cannot read {what}: {exception_summary(exc)}", src) from exc


def _cell_checked(cell: np.ndarray | None, index: int, src: str, hint: str = "") -> np.ndarray:
    """The frame's cell; all zeros when the frame has none (see :func:`_bounding_cells`)."""
    if cell is None:
        return np.zeros((3, 3))
    cell = np.asarray(cell, dtype=np.float64)
    if np.all(cell == 0):
        return cell
    if not np.all(np.isfinite(cell)) or abs(np.linalg.det(cell)) < 1e-6:
        raise GdynetError(f"frame {index} has a singular or invalid cell{hint}", src)
    return cell


def _file_pbc(cells: np.ndarray, pbc: tuple[bool, bool, bool], src: str, stride: int
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


def resolve_periodicity(frames: cache.Frames, found: tuple[bool, bool, bool] | None,
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


def _cell_without_pbc(frames: cache.Frames, src: str, option: str) -> None:
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


def _kept(positions: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    return positions if keep is None else positions[keep]


# ------------------------------------------------------------------ npz (original GDyNet layout)
def _read_npz(path: Path, stride: int, cache_dir: Any, decide: Callable[..., AtomChoice], exclude: Any) -> _Read:
    """Read the GDyNet ``.npz``: traj_coords (F,N,3) Å, lattices (F,3,3) Å, atom_types (N,), target_index (n,)."""
    src = str(path)
    try:
        handle = open(path, "rb")  # np.load(path) leaves its own handle open when the zip is corrupt
    except OSError as exc:
        raise GdynetError(f"cannot open the file ({exception_summary(exc)})", src) from None
    try:
        archive = np.load(handle, allow_pickle=False)
        keys = set(archive.files)
    except Exception as exc:
        handle.close()
        raise GdynetError(f"not a readable .npz archive ({exception_summary(exc)})", src) from exc
    with handle, archive:
        missing = [k for k in _NPZ_KEYS if k not in keys]
        if missing:
            raise GdynetError(f"npz is missing {', '.join(missing)} (a GDyNet npz has {', '.join(_NPZ_KEYS)})", src)
        try:
            lattices = np.asarray(archive["lattices"], dtype=np.float64)
            numbers = np.asarray(archive["atom_types"])
            target_index = np.asarray(archive["target_index"])
        except Exception as exc:
            raise GdynetError(f"cannot read npz member ({exception_summary(exc)})", src) from exc
        with zipfile.ZipFile(path) as zf, zf.open("traj_coords.npy") as member:
            shape, dtype = _npy_header(member, src)
        if len(shape) != 3 or shape[2] != 3:
            raise GdynetError(f"traj_coords must have shape (frames, atoms, 3), got {shape}", src)
        n_frames, n_atoms = shape[:2]
        if lattices.shape == (3, 3):
            lattices = np.broadcast_to(lattices, (n_frames, 3, 3))
        if lattices.shape != (n_frames, 3, 3):
            raise GdynetError(f"lattices must have shape ({n_frames}, 3, 3) to match traj_coords, "
                              f"got {lattices.shape}", src)
        if numbers.shape != (n_atoms,) or not np.issubdtype(numbers.dtype, np.integer):
            raise GdynetError(f"atom_types must be {n_atoms} integer atomic numbers to match traj_coords, "
                              f"got shape {numbers.shape} of {numbers.dtype}", src)
        if target_index.ndim not in (1, 2) or not np.issubdtype(target_index.dtype, np.integer):
            raise GdynetError(f"target_index must be integer atom indices (n,) or (n, k), got shape "
                              f"{target_index.shape} of {target_index.dtype}", src)
        choice = decide(facts_from_numbers(numbers), n_atoms, target_index)
        keep = None if choice.all_kept else choice.keep
        pbc = _file_pbc(lattices, (True, True, True), src, 1)
        entry = _entry(path, cache_dir, format="npz", stride=stride, exclude=exclude)
        if entry is None:
            try:
                coords = np.asarray(archive["traj_coords"])[::stride]
            except Exception as exc:
                raise GdynetError(f"cannot read traj_coords ({exception_summary(exc)})", src) from exc
            frames = cache.Frames(coords if keep is None else coords[:, keep],
                                  np.ascontiguousarray(lattices[::stride]), choice.kept_numbers, None)
            return _Read(frames, choice, pbc, target_index)
    frames = cache.load_entry(entry)
    if frames is None:
        stream = _guarded(_npz_frames(path, shape, dtype, lattices, stride, keep), "traj_coords", src)
        frames = cache.collect_frames(stream, choice.kept_numbers, entry=entry, source=src)
    return _Read(frames, choice, pbc, target_index)


def _npy_header(member: Any, src: str) -> tuple[tuple[int, ...], np.dtype]:
    try:
        version = np.lib.format.read_magic(member)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}[version]
        shape, fortran, dtype = read_header(member)
    except Exception as exc:
        raise GdynetError(f"traj_coords is not a valid array ({exception_summary(exc)})", src) from exc
    if fortran:
        raise GdynetError("traj_coords is stored in Fortran order; save it with np.ascontiguousarray", src)
    return shape, dtype


def _npz_frames(path: Path, shape: tuple[int, ...], dtype: np.dtype, lattices: np.ndarray, stride: int,
                keep: np.ndarray | None) -> Iterator[tuple[np.ndarray, np.ndarray, float, float]]:
    """Stream traj_coords out of the zip member one frame at a time (works for compressed npz too)."""
    frame_bytes = int(np.prod(shape[1:])) * dtype.itemsize
    with zipfile.ZipFile(path) as zf, zf.open("traj_coords.npy") as member:
        _npy_header(member, str(path))
        for index in range(shape[0]):
            raw = member.read(frame_bytes)
            if len(raw) != frame_bytes:
                raise EOFError(f"traj_coords ends after {index} of {shape[0]} frames")
            if index % stride == 0:
                yield _kept(np.frombuffer(raw, dtype=dtype).reshape(shape[1:]), keep), lattices[index], np.nan, np.nan


# ------------------------------------------------------------------ ASE formats
def _read_ase(path: Path, fmt: str, stride: int, cache_dir: Any, decide: Callable[..., AtomChoice],
              topology: Path | None, exclude: Any, *, need_time: bool) -> _Read:
    import ase.io

    src = str(path)
    images = iter(_guarded(ase.io.iread(path, index=slice(None, None, stride), format=_ASE_NAMES[fmt]),
                           f"{fmt} file", src))
    first = next(images, None)
    if first is None:
        raise GdynetError("file contains no frames", src)
    if need_time and "time" not in first.info:
        raise GdynetError(f"no time step in this {fmt} file (no 'time' in the frame info); pass dt= "
                          "(--dt, e.g. '2fs' or 0.002 in ps)", src)
    choice = decide(facts_from_atoms(first), len(first))
    keep = None if choice.all_kept else choice.keep
    entry = _entry(path, cache_dir, format=fmt, stride=stride, exclude=exclude, topology=topology)
    frames = None if entry is None else cache.load_entry(entry)
    if frames is None:
        stream = _ase_frame_tuples(chain([first], images), first.numbers.copy(), keep, stride, src)
        frames = cache.collect_frames(stream, choice.kept_numbers, entry=entry, source=src)
    return _Read(frames, choice, _file_pbc(frames.cells, tuple(first.pbc), src, stride))


def _ase_frame_tuples(images: Iterable, numbers: np.ndarray, keep: np.ndarray | None, stride: int, src: str
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
        yield _kept(atoms.positions, keep), _cell_checked(atoms.cell.array, index, src), time_ps, np.nan


# ------------------------------------------------------------------ LAMMPS dumps
def _read_dump(path: Path, stride: int, cache_dir: Any, decide: Callable[..., AtomChoice], topology: Path | None,
               exclude: Any, types: dict[str, int] | None) -> _Read:
    """A LAMMPS text dump (:mod:`gdynet.trajectory.lammps_dump`): step numbers, boundary flags and the
    type / element / mass / q columns of frame 0 (checked to stay the same in every frame).

    The whole file is scanned first (byte ranges and TIMESTEPs, no atom lines parsed): a cut-off last
    frame and the frames a restarted run wrote again (:mod:`~gdynet.trajectory.restarts`) are left
    out, with a warning each, and the TIMESTEPs kept must be evenly spaced, before any frame is parsed
    or cached. ``stride`` counts the frames kept. A cache hit skips the scan (the entry keeps its notes).
    """
    src = str(path)
    head = lammps_dump.scan(path, max_frames=1)
    if not len(head.steps):
        if head.cut is None:
            raise GdynetError("not a LAMMPS text dump: no 'ITEM: TIMESTEP' line", src)
        raise GdynetError("no whole frame: the file ends inside its first frame"
                          + _EARLY_END * head.cut.early_end, src)
    first = next(lammps_dump.read_frames(path, head, [0]))
    labels = first.labels
    if types is not None and "type" not in labels and topology is None:
        raise GdynetError("type_map (--type-map) needs a 'type' column, and this dump has none", src)
    if not labels.keys() & {"type", "element", "mass"} and topology is None:
        raise GdynetError("the dump has no type, element or mass column, so the atoms' elements are unknown; "
                          "add one to the dump (dump custom ... id type x y z) or pass a topology", src)
    facts = AtomFacts(types=labels.get("type"), elements=labels.get("element"), masses=labels.get("mass"),
                      residues=labels.get("mol"), charges=labels.get("q"),
                      virtual=None if "mass" not in labels else labels["mass"] == 0)
    choice = decide(facts, len(first.positions))
    keep = None if choice.all_kept else choice.keep
    entry = _entry(path, cache_dir, format="lammps-dump", stride=stride, type_map=sorted((types or {}).items()),
                   exclude=exclude, topology=topology)
    frames = None if entry is None else cache.load_entry(entry)
    if frames is None:
        index = lammps_dump.scan(path)
        kept, notes = _kept_dump_frames(index, src)
        stream = lammps_dump.read_frames(path, index, kept[::stride])
        frames = cache.collect_frames(_dump_frame_tuples(stream, labels, keep, src), choice.kept_numbers,
                                      entry=entry, source=src, notes=notes)
    return _Read(frames, choice, _file_pbc(frames.cells, first.pbc, src, stride))


def _kept_dump_frames(index: lammps_dump.DumpIndex, src: str) -> tuple[np.ndarray, dict[str, Any]]:
    """The numbers of the dump's frames to read and the notes on those left out (warned here)."""
    kept, overlaps = restarts.resolve(index.steps)
    notes: dict[str, Any] = {"frames_dropped": int(len(index.steps) - len(kept)),
                             "truncated_tail": 0 if index.cut is None else int(index.cut.bytes_ignored),
                             "warnings": []}
    cut = index.cut
    if cut is not None and cut.bytes_ignored:
        notes["warnings"].append(f"{src}: the last frame (frame {cut.frame}) is cut off: the file ends inside it, "
                                 f"as when a run is stopped while writing{_EARLY_END * cut.early_end}; read the "
                                 f"{cut.frame} whole frames before it and ignored its {cut.bytes_ignored} bytes")
    elif cut is not None:
        notes["warnings"].append(f"{src}: the compressed stream ends early (no end-of-stream marker), after "
                                 f"{cut.frame} whole frames; read them")
    if overlaps:
        notes["warnings"].append(f"{src}: {restarts.warning_text(overlaps, 'TIMESTEP')}")
    for text in notes["warnings"]:
        warnings.warn(text, GdynetWarning, stacklevel=4)
    steps = index.steps[kept]
    if _varies(steps):  # all of them, before any frame is parsed
        _even_spacing(steps.astype(np.float64), kept, _STEP_WORDS["lammps-dump"], src)
    return kept, notes


def _dump_frame_tuples(frames: Iterable[lammps_dump.DumpFrame], labels: dict[str, np.ndarray],
                       keep: np.ndarray | None, src: str) -> Iterator[tuple[np.ndarray, np.ndarray, float, float]]:
    n_atoms = len(next(iter(labels.values())))
    for frame in frames:
        index = frame.number
        if len(frame.positions) != n_atoms:
            raise GdynetError(f"frame {index} has {len(frame.positions)} atoms but frame 0 has {n_atoms}; "
                              "gdynet needs a fixed number of atoms", src)
        for name in ("type", "element"):
            if name in labels and not np.array_equal(frame.labels.get(name), labels[name]):
                raise GdynetError(f"the atom {name}s or the atom order change at frame {index}", src)
        yield _kept(frame.positions, keep), _cell_checked(frame.cell, index, src), np.nan, float(frame.step)


# ------------------------------------------------------------------ MDAnalysis formats
def _read_mdanalysis(path: Path, fmt: str, topology: Path | None, topology_format: str | None, stride: int,
                     cache_dir: Any, decide: Callable[..., AtomChoice], exclude: Any) -> tuple[_Read, Any]:
    with quiet_mdanalysis():
        return _read_mdanalysis_quietly(path, fmt, topology, topology_format, stride, cache_dir, decide, exclude)


def _read_mdanalysis_quietly(path: Path, fmt: str, top: Path | None, topology_format: str | None, stride: int,
                             cache_dir: Any, decide: Callable[..., AtomChoice], exclude: Any) -> tuple[_Read, Any]:
    import MDAnalysis as mda

    src = str(path)
    if top is None and fmt in _SELF_TOPOLOGY:
        top = path
    if top is None:
        raise GdynetError(f"{fmt} files hold only coordinates; pass topology= (--topology: PDB, GRO, PSF, TPR, "
                          "PRMTOP, LAMMPS data, ...)", src)
    header = _dcd_header(path) if fmt in ("dcd", "lammps-dcd") else None
    try:
        universe = mda.Universe(str(top), str(path), format=_MDA_NAMES[fmt], **topology_kwargs(top, topology_format))
    except Exception as exc:
        reason = exception_summary(exc)
    else:
        reason = None
    if reason is not None:
        _collect_broken_readers()
        raise GdynetError(f"cannot read as {fmt} with topology {top.name}: {reason}", src)
    try:
        _check_complete(universe.trajectory, fmt, path)
        choice = decide(AtomFacts(), universe.atoms.n_atoms, universe)
        atoms = hashlib.blake2b(choice.numbers.tobytes() + choice.keep.tobytes(), digest_size=10).hexdigest()
        entry = _entry(path, cache_dir, format=fmt, stride=stride, topology=top, exclude=exclude, atoms=atoms)
        frames = None if entry is None else cache.load_entry(entry)
        if frames is None:
            keep = None if choice.all_kept else choice.keep
            stream = _guarded(_mda_frame_tuples(universe, fmt, header, keep, stride, src), f"{fmt} file", src)
            frames = cache.collect_frames(stream, choice.kept_numbers, entry=entry, source=src)
    except BaseException:
        universe.trajectory.close()
        raise
    return _Read(frames, choice, _file_pbc(frames.cells, (True, True, True), src, stride), dcd_header=header), universe


def _dcd_header(path: Path) -> dict:
    """The DCD header: ``istart`` (first step), ``nsavc`` (steps between frames), ``delta`` (the MD
    step: AKMA units for CHARMM/NAMD, the run's unit for LAMMPS), ``remarks``."""
    from MDAnalysis.lib.formats.libdcd import DCDFile

    try:
        with DCDFile(str(path)) as dcd:
            return dict(dcd.header)
    except Exception as exc:
        raise GdynetError(f"not a readable DCD file ({exception_summary(exc)})", path) from None


def _check_complete(reader: Any, fmt: str, path: Path) -> None:
    """Raise when the file ends inside a frame (a run stopped while writing it).

    MDAnalysis drops such a frame silently: it counts a DCD's frames as ``floor`` of the file size
    over the (fixed) frame size, and does not count an XTC/TRR frame cut inside its header. Here the
    last whole frame must end where the file ends: after ``header + first frame + (F - 1) x frame``
    bytes for DCD (computed, nothing read), at the byte offset reached by reading the last frame for
    XTC/TRR (variable-size compressed frames; one frame is read).
    """
    if fmt not in ("dcd", "lammps-dcd", "xtc", "trr"):
        return  # NetCDF and mdcrd: MDAnalysis reads every frame or fails
    size = path.stat().st_size
    if fmt in ("dcd", "lammps-dcd"):
        dcd = reader._file
        header, first, frame = int(dcd._header_size), int(dcd._firstframesize), int(dcd._framesize)
        whole = 0 if size < header + first else (size - header - first) // frame + 1
        end = header + (first + (whole - 1) * frame if whole else 0)
    else:
        whole = int(reader.n_frames)
        if whole == 0:
            return  # no frames at all: collect_frames says so
        try:
            reader[whole - 1]
        except Exception as exc:
            raise GdynetError(f"truncated or corrupt {fmt} file: its last frame ({whole - 1}) cannot be read "
                              f"({exception_summary(exc)})", path) from None
        end = reader._xdr._bytes_tell()
        reader.rewind()
    if end != size:
        raise GdynetError(f"truncated {fmt} file: it ends {size - end} bytes into frame {whole}, "
                          f"after {whole} whole frames", path)


def _collect_broken_readers() -> None:
    """Free the half-built reader a failed ``mda.Universe`` leaves behind; its ``__del__`` fails
    (no file handle), so it is collected now with that unraisable error silenced."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda info: None
    try:
        gc.collect()
    finally:
        sys.unraisablehook = hook


def _mda_frame_tuples(universe: Any, fmt: str, header: dict | None, keep: np.ndarray | None, stride: int,
                      src: str) -> Iterator[tuple[np.ndarray, np.ndarray, float, float]]:
    """``(positions, cell, time_ps, step)`` per frame. A DCD's steps come from its header (``istart +
    frame x nsavc``); a LAMMPS DCD's time is in the run's unit, so it is not used."""
    from MDAnalysis.lib.mdamath import triclinic_vectors

    expected = len(range(0, universe.trajectory.n_frames, stride))
    count = 0
    for ts in universe.trajectory[::stride]:
        dims = ts.dimensions
        cell = None if dims is None or not np.all(np.asarray(dims[:3]) > 0) else triclinic_vectors(dims)
        if header is not None:
            step = float(header["istart"] + ts.frame * header["nsavc"]) if header["nsavc"] > 0 else np.nan
        else:
            step = float(ts.data.get("step", np.nan))
        time = np.nan if fmt == "lammps-dcd" else float(ts.time)
        yield _kept(ts.positions, keep).copy(), _cell_checked(cell, ts.frame, src), time, step
        count += 1
    if count != expected:  # MDAnalysis ends the iteration quietly on a read error
        raise GdynetError(f"cannot read frame {count * stride}: the file stops after {count * stride} of "
                          f"{universe.trajectory.n_frames} frames (corrupt or truncated)", src)


def supported_formats() -> str:
    """A one-line-per-format summary of :data:`FORMATS` (for help texts)."""
    return "\n".join(f"{name:12s} {desc}  [{' '.join(sfx) or 'format= only'}]" for name, (desc, sfx)
                     in FORMATS.items())

