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
disagrees with steps x timestep, or a ``dt=`` that disagrees with the file's frame times, is refused,
naming the frames (``dt_override=True``, ``--dt-override``: the file's times are wrong, ``dt=`` replaces them). A dump whose TIMESTEP goes back (a
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
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from ..base.errors import GdynetError, GdynetWarning, exception_summary
from ..base.option_names import option
from ..base.units import parse_time
from ..files.cache_root import cache_root
from . import cache, lammps_dump, restarts
from .atoms import AtomChoice, AtomFacts, choose_atoms, facts_from_atoms, facts_from_numbers, facts_from_universe, \
    parse_pbc, remap_targets
from .compressed import compression, stem_name
from .core import Trajectory
from .frames import (STEP_WORDS, TIMED_FORMATS, TypeMap, ase_frame_tuples, cell_checked, even_spacing, file_pbc,
                     frame_spacing, kept_atoms, parse_type_map, resolve_periodicity, varies, written_by_lammps)
from .targets import (LAMMPS_TOPOLOGY_FORMATS, TargetSpec, element_counts, is_lammps_data, load_topology,
                      needs_coordinates, quiet_mdanalysis, select_targets, topology_kwargs)

#: the largest atomic number (Og); npz ``atom_types`` below 0 or above it are refused (0 is ASE's unknown X)
MAX_ATOMIC_NUMBER = 118
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
_NPZ_KEYS = ("traj_coords", "lattices", "atom_types", "target_index")
_EARLY_END = " (the compressed stream ends early)"



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
                    exclude: Any = None, pbc: Any = None, dt_override: bool = False) -> Trajectory:
    """Read an MD trajectory file (formats, time, atoms and periodicity: see the module docstring).

    Args:
        path: the trajectory file; or an MDAnalysis ``Universe``/``AtomGroup``, or ``ase.Atoms``
            frames (a list or an iterator such as ``ase.io.iread``), read by
            :mod:`gdynet.trajectory.ecosystem` with ``dt``, ``targets``, ``stride``, ``type_map``,
            ``exclude`` and ``pbc``.
        dt: time between the frames *in the file*, in ps (float) or with a unit ("100fs", "0.1ps"). A
            file that stores frame times (extxyz/.traj ``time``, DCD, XTC/TRR, NetCDF) must agree with it:
            a disagreement is an error naming both spacings, unless ``dt_override``.
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
        dt_override: the file's frame times are wrong: use ``dt`` (required) and ignore them entirely
            (``--dt-override``).

    Returns:
        A :class:`Trajectory` with positions ``(F, N, 3)`` Å, cells ``(F, 3, 3)`` Å, ``dt_ps`` in ps,
        ``dt_source``, ``pbc`` and, when the file or topology states them, ``charges`` in e.

    Raises:
        GdynetError: one line naming the file and the problem (missing file, unknown format,
            missing or inconsistent time, unresolved elements, unreadable data, bad targets).
    """
    if not isinstance(path, (str, os.PathLike)):   # an MDAnalysis Universe/AtomGroup or ase.Atoms frames
        from .ecosystem import object_fields

        return Trajectory(**object_fields(path, dt=dt, targets=targets, stride=stride, type_map=type_map, exclude=exclude,
                                          pbc=pbc, timestep=timestep, format=format, topology=topology,
                                          topology_format=topology_format, cache_dir=cache_dir,
                                          dt_override=dt_override))
    path = Path(path).expanduser()
    src = str(path)
    if not path.exists():
        raise GdynetError("a symbolic link that leads to no file (broken, or a loop)" if path.is_symlink() else
                          "file not found", src)
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
    if not isinstance(dt_override, (bool, np.bool_)):
        raise GdynetError(f"{option('dt_override')} must be True or False, got {dt_override!r}", src)
    dt_ps, step_ps = _time(dt, "dt", src), _time(timestep, "timestep", src)
    if dt_ps is None and step_ps is None and fmt not in TIMED_FORMATS:
        raise GdynetError(_no_time_message(fmt, path), src)
    pbc_given = parse_pbc(pbc, src)
    types = parse_type_map(type_map, src)
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
        dt_ps, dt_source = frame_spacing(frames, fmt, dt_ps, step_ps, stride, read.dcd_header, src, dt_override)
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
    if name == "dcd" and (lammps_topology or written_by_lammps(path)):
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


# ------------------------------------------------------------------ shared helpers
def _entry(path: Path, cache_dir: Any, **options: Any) -> Path | None:
    """Cache entry for a large file, ``None`` for a small one (read into memory)."""
    if path.stat().st_size < cache.STREAM_THRESHOLD_BYTES:
        return None
    return cache.cache_entry(path, cache_root("trajectories", cache_dir), **options)


def _guarded(frames: Iterable, what: str, src: str) -> Iterator:
    """Re-raise a library error met while iterating ``frames`` as a one-line GdynetError."""
    try:
        yield from frames
    except GdynetError:
        raise
    except Exception as exc:  # any parser failure on a corrupt/truncated file
        raise GdynetError(f"cannot read {what}: {exception_summary(exc)}", src) from exc


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
            lattices = np.asarray(archive["lattices"])
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
        for name, kind in (("traj_coords", dtype), ("lattices", lattices.dtype)):
            if kind.kind not in "fiu":      # bool, complex, str, object: not lengths (complex is not cast)
                raise GdynetError(f"{name} must hold real numbers (Å), got dtype {kind}", src)
        lattices = lattices.astype(np.float64)
        if numbers.shape != (n_atoms,) or not np.issubdtype(numbers.dtype, np.integer):
            raise GdynetError(f"atom_types must be {n_atoms} integer atomic numbers to match traj_coords, "
                              f"got shape {numbers.shape} of {numbers.dtype}", src)
        outside = np.flatnonzero((numbers < 0) | (numbers > MAX_ATOMIC_NUMBER))
        if outside.size:
            raise GdynetError(f"atom_types must be atomic numbers 1-{MAX_ATOMIC_NUMBER}: atom {int(outside[0])} has "
                              f"{int(numbers[outside[0]])} ({outside.size} of {n_atoms} atoms outside that range)", src)
        if target_index.ndim not in (1, 2) or not np.issubdtype(target_index.dtype, np.integer):
            raise GdynetError(f"target_index must be integer atom indices (n,) or (n, k), got shape "
                              f"{target_index.shape} of {target_index.dtype}", src)
        choice = decide(facts_from_numbers(numbers), n_atoms, target_index)
        keep = None if choice.all_kept else choice.keep
        pbc = file_pbc(lattices, (True, True, True), src, 1)
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
                yield kept_atoms(np.frombuffer(raw, dtype=dtype).reshape(shape[1:]), keep), lattices[index], np.nan, np.nan


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
        stream = ase_frame_tuples(chain([first], images), first.numbers.copy(), keep, stride, src)
        frames = cache.collect_frames(stream, choice.kept_numbers, entry=entry, source=src)
    return _Read(frames, choice, file_pbc(frames.cells, tuple(first.pbc), src, stride))


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
    if "id" in labels and len(np.unique(labels["id"])) != len(labels["id"]):
        repeated = labels["id"][np.flatnonzero(np.diff(labels["id"]) == 0)[0]]
        raise GdynetError(f"atom id {repeated:.0f} appears twice in frame 0; every atom needs its own id", src)
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
    return _Read(frames, choice, file_pbc(frames.cells, first.pbc, src, stride))


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
    if varies(steps):  # all of them, before any frame is parsed
        even_spacing(steps.astype(np.float64), kept, STEP_WORDS["lammps-dump"], src)
    return kept, notes


def _dump_frame_tuples(frames: Iterable[lammps_dump.DumpFrame], labels: dict[str, np.ndarray],
                       keep: np.ndarray | None, src: str) -> Iterator[tuple[np.ndarray, np.ndarray, float, float]]:
    """Frames of a dump (atoms sorted by id), checked to hold frame 0's atoms: the same ids (so each
    row is the same atom in every frame), types and elements; a dump without ids must not show the
    jumps of atoms written in another order (:func:`_reordered_atoms`)."""
    n_atoms = len(next(iter(labels.values())))
    previous = None
    for frame in frames:
        index = frame.number
        if len(frame.positions) != n_atoms:
            raise GdynetError(f"frame {index} has {len(frame.positions)} atoms but frame 0 has {n_atoms}; "
                              "gdynet needs a fixed number of atoms", src)
        if "id" in labels and not np.array_equal(frame.labels.get("id"), labels["id"]):
            ids = frame.labels.get("id")
            new = [] if ids is None else np.setdiff1d(ids, labels["id"])
            gone = np.setdiff1d(labels["id"], ids if ids is not None else [])
            change = "has no id column" if ids is None else \
                f"has {len(new)} atom ids frame 0 does not have (e.g. {new[0]:.0f}; id {gone[0]:.0f} is gone)"
            raise GdynetError(f"frame {index} {change}: gdynet follows each atom by its id, so every frame must "
                              "hold the same atoms", src)
        for name in ("type", "element"):
            if name in labels and not np.array_equal(frame.labels.get(name), labels[name]):
                raise GdynetError(f"the atom {name}s or the atom order change at frame {index}", src)
        cell = cell_checked(frame.cell, index, src)
        if "id" not in labels and previous is not None:
            _reordered_atoms(previous, (frame.positions, cell, index), src)
        previous = (frame.positions, cell, index)
        yield kept_atoms(frame.positions, keep), cell, np.nan, float(frame.step)


#: a dump without ids is refused when at least this share of its atoms (and 2) moves by more than
#: :data:`JUMP_CELL_FRACTION` of the cell between two frames read: the mark of atoms written in
#: another order (LAMMPS writes them in processor order unless ``dump_modify sort id``), where a
#: random reordering moves about 70 % of the reordered atoms that far
JUMP_SHARE = 0.1
JUMP_CELL_FRACTION = 1 / 3


def _reordered_atoms(before: tuple[np.ndarray, np.ndarray, int], after: tuple[np.ndarray, np.ndarray, int],
                     src: str) -> None:
    """Refuse two consecutive frames ``(positions Å, cell Å, number)`` of a dump without ids where
    many atoms jump by more than :data:`JUMP_CELL_FRACTION` of the cell (nearest image)."""
    (pos0, cell0, i0), (pos1, cell1, i1) = before, after
    if not np.any(cell1) or not np.any(cell0):
        return
    step = np.linalg.solve(cell1.T, (pos1 - pos0).T).T           # fractional displacement
    step -= np.round(step)
    far = np.abs(step).max(axis=1) > JUMP_CELL_FRACTION
    if far.sum() >= max(2, JUMP_SHARE * len(far)):
        raise GdynetError(f"{int(far.sum())} of {len(far)} atoms move by more than a third of the cell between "
                          f"frames {i0} and {i1}: the dump has no id column and its atoms look written in another "
                          "order (LAMMPS writes processor order unless `dump_modify sort id`); dump with an id "
                          "column (dump custom ... id type x y z) or sorted by id", src)


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
    return _Read(frames, choice, file_pbc(frames.cells, (True, True, True), src, stride), dcd_header=header), universe


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
        yield kept_atoms(ts.positions, keep).copy(), cell_checked(cell, ts.frame, src), time, step
        count += 1
    if count != expected:  # MDAnalysis ends the iteration quietly on a read error
        raise GdynetError(f"cannot read frame {count * stride}: the file stops after {count * stride} of "
                          f"{universe.trajectory.n_frames} frames (corrupt or truncated)", src)


def supported_formats() -> str:
    """A one-line-per-format summary of :data:`FORMATS` (for help texts)."""
    return "\n".join(f"{name:12s} {desc}  [{' '.join(sfx) or 'format= only'}]" for name, (desc, sfx)
                     in FORMATS.items())

