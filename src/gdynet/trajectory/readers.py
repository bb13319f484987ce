"""Read MD trajectories from files into a :class:`~gdynet.trajectory.core.Trajectory`.

Supported formats (chosen by file name, or by ``format=``):

============  ===========================================  ==================  =================
format        file                                         library             time step
============  ===========================================  ==================  =================
npz           GDyNet ``.npz`` (traj_coords, lattices,      NumPy               ``dt=`` required
              atom_types, target_index)
extxyz        ``.xyz`` / ``.extxyz`` with ``Lattice=``     ASE (streamed)      info ``time``, else ``dt=``
traj          ASE ``.traj``                                ASE (streamed)      info ``time``, else ``dt=``
xdatcar       VASP ``XDATCAR*`` / ``.xdatcar``             ASE (read whole)    ``dt=`` required
lammps-dump   LAMMPS text dump ``.lammpstrj`` / ``.dump``  ASE (streamed)      ``dt=`` required
dcd           ``.dcd`` + ``topology=``                     MDAnalysis          from file
lammps-dcd    DCD written by LAMMPS + ``topology=``        MDAnalysis          ``dt=`` required
xtc, trr      GROMACS ``.xtc`` / ``.trr`` + ``topology=``  MDAnalysis          from file
============  ===========================================  ==================  =================

An ASE frame ``time`` (``atoms.info["time"]``) is in ASE time units, as ASE's own readers store it.
``dt=`` always overrides the file. Files of at least ``cache.STREAM_THRESHOLD_BYTES`` (256 MiB) are
streamed frame by frame into a memory-mapped ``.npy`` cache (positions float32, see
:mod:`gdynet.trajectory.cache`) and reused on the next read; smaller ones are read into memory
(positions in the file's precision: float64 from ASE and npz, float32 from MDAnalysis).
A DCD/XTC/TRR file that ends inside a frame (a run stopped while writing) is refused, where
MDAnalysis alone would drop that frame without a word.
"""
from __future__ import annotations

import gc
import os
import sys
import zipfile
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np

from ..errors import GdynetError, exception_summary
from ..units import parse_time
from . import cache
from .core import Trajectory
from .targets import (TargetSpec, element_counts, needs_coordinates, quiet_mdanalysis, select_targets,
                      to_atomic_number, topology_kwargs)

#: format name -> (description, file suffixes)
FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "npz": ("GDyNet .npz (traj_coords, lattices, atom_types, target_index)", (".npz",)),
    "extxyz": ("extended XYZ with Lattice= (ASE)", (".xyz", ".extxyz")),
    "traj": ("ASE trajectory", (".traj",)),
    "xdatcar": ("VASP XDATCAR (ASE)", (".xdatcar",)),
    "lammps-dump": ("LAMMPS text dump (ASE; needs type_map= unless it has an element column)",
                    (".lammpstrj", ".dump", ".lammpsdump")),
    "dcd": ("DCD + topology= (MDAnalysis)", (".dcd",)),
    "lammps-dcd": ("DCD written by LAMMPS + topology= (MDAnalysis)", ()),
    "xtc": ("GROMACS XTC + topology= (MDAnalysis)", (".xtc",)),
    "trr": ("GROMACS TRR + topology= (MDAnalysis)", (".trr",)),
}
_ALIASES = {"xyz": "extxyz", "ase": "traj", "vasp-xdatcar": "xdatcar", "lammps-dump-text": "lammps-dump",
            "lammpstrj": "lammps-dump", "lammps": "lammps-dcd"}
_ASE_NAMES = {"extxyz": "extxyz", "traj": "traj", "xdatcar": "vasp-xdatcar",
              "lammps-dump": "lammps-dump-text"}
_MDA_NAMES = {"dcd": "DCD", "lammps-dcd": "LAMMPS", "xtc": "XTC", "trr": "TRR"}
#: formats whose frames may carry their time (a LAMMPS DCD stores its step in the run's own time
#: unit, fs or ps depending on the units style, so it is not trusted)
_TIMED = {"extxyz", "traj", "dcd", "xtc", "trr"}
#: formats that store frame times in single precision (XTC always, TRR in the usual mixed-precision build)
_FLOAT32_TIMES = {"xtc", "trr"}
_NPZ_KEYS = ("traj_coords", "lattices", "atom_types", "target_index")

TypeMap = Mapping[int | str, str | int] | str


def read_trajectory(path: str | os.PathLike[str], *, dt: float | str | None = None, format: str | None = None,
                    topology: str | os.PathLike[str] | None = None, targets: TargetSpec | None = None,
                    stride: int = 1, cache_dir: str | os.PathLike[str] | None = None,
                    type_map: TypeMap | None = None) -> Trajectory:
    """Read an MD trajectory file (see the module docstring for the formats).

    Args:
        path: the trajectory file.
        dt: time between the frames *in the file*, in ps (float) or with a unit ("100fs", "0.1ps");
            required when the file does not store it, overrides the file otherwise.
        format: one of :data:`FORMATS` (default: from the file name).
        topology: topology for MDAnalysis formats (PDB, GRO, PSF, LAMMPS data, ...); it also
            enables MDAnalysis selections and residues as ``targets``.
        targets: which atoms gdynet follows; see :func:`~gdynet.trajectory.targets.select_targets`
            ("Li", 3, [0, 4], "0,4", "name OW", "molecules:H2O", "residues:resname EC").
            Default: the file's own targets (npz ``target_index``); other formats need it.
        stride: keep every ``stride``-th frame; the time step is multiplied by ``stride``.
        cache_dir: folder of the frame cache for large files (default ``$GDYNET_CACHE`` or
            ``~/.cache/gdynet/trajectories``).
        type_map: element of each numeric atom type, for LAMMPS dumps and topologies without
            elements: ``{1: "Li", 2: "S"}`` or ``"1=Li,2=S"``.

    Returns:
        A :class:`Trajectory` with positions ``(F, N, 3)`` Å, cells ``(F, 3, 3)`` Å, ``dt_ps`` in ps.

    Raises:
        GdynetError: one line naming the file and the problem (missing file, unknown format,
            missing time step / cell / topology / type map, unreadable or inconsistent data, bad targets).
    """
    path = Path(path).expanduser()
    src = str(path)
    if not path.exists():
        raise GdynetError("file not found", src)
    if not path.is_file():
        raise GdynetError("not a file", src)
    fmt = _resolve_format(path, format)
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise GdynetError(f"stride must be a positive whole number of frames, got {stride!r}", src)
    stride = int(stride)
    dt_ps = None
    if dt is not None:
        try:
            dt_ps = parse_time(dt, name="dt")
        except GdynetError as exc:
            raise GdynetError(str(exc), src) from None
    elif fmt not in _TIMED:
        why = ("the time step of a LAMMPS DCD is in the run's units (fs or ps)" if fmt == "lammps-dcd"
               else f"{fmt} files do not store the time between frames")
        raise GdynetError(f"{why}; pass dt= (e.g. dt='2fs' or dt=0.002 in ps)", src)
    types = _parse_type_map(type_map, src)

    def choose_targets(numbers: np.ndarray, universe: Any = None, file_targets: np.ndarray | None = None,
                       frame: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray | None:
        """Target sets; called once before the frames are read (``frame=None``) to fail early."""
        if targets is None:
            if file_targets is None:
                counts = ", ".join(f"{sym} x{n}" for sym, n in element_counts(numbers).items())
                raise GdynetError(f"targets needed: this {fmt} file does not define target atoms; pass targets= "
                                  f"(an element such as 'Li', indices, or 'molecules:H2O'); atoms present: {counts}",
                                  src)
            return select_targets(numbers, file_targets, source=src)
        if frame is None and needs_coordinates(targets):
            return None  # bonds need frame 0
        positions, cell = frame if frame is not None else (None, None)
        return select_targets(numbers, targets, positions=positions, cell=cell, topology=universe, source=src)

    universe = None
    file_targets = None
    if fmt in _MDA_NAMES:
        frames, universe = _read_mdanalysis(path, fmt, topology, stride, types, cache_dir, choose_targets)
    elif fmt == "npz":
        frames, file_targets = _read_npz(path, stride, cache_dir, choose_targets)
    else:
        frames = _read_ase(path, fmt, stride, types, cache_dir, choose_targets, need_time=dt_ps is None)

    try:
        dt_ps = dt_ps * stride if dt_ps is not None else _file_dt(frames.times_ps, fmt, src)
        target_sets = choose_targets(frames.numbers, universe, file_targets, (frames.positions[0], frames.cells[0]))
    finally:
        if universe is not None:
            universe.trajectory.close()  # the topology (for selections) is not needed any more
    return Trajectory(positions=frames.positions, cells=frames.cells, numbers=frames.numbers, dt_ps=dt_ps,
                      targets=target_sets, source=src)


# ------------------------------------------------------------------ format and options
def _resolve_format(path: Path, format: str | None) -> str:
    supported = ", ".join(FORMATS)
    if format is not None:
        name = str(format).strip().lower()
        name = _ALIASES.get(name, name)
        if name not in FORMATS:
            raise GdynetError(f"unknown format {format!r}; supported: {supported}", path)
        return name
    suffix = path.suffix.lower()
    for name, (_, suffixes) in FORMATS.items():
        if suffix in suffixes:
            return name
    if path.name.upper().startswith("XDATCAR"):
        return "xdatcar"
    if path.name.lower().startswith("dump."):
        return "lammps-dump"
    raise GdynetError(f"cannot tell the format from the file name; pass format= (supported: {supported})", path)


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


def _file_dt(times: np.ndarray | None, fmt: str, src: str) -> float:
    """Time step (ps) from per-frame times; they must be evenly spaced.

    Each step may differ from the mean step by ``1e-3`` of it, plus, for float32 times (XTC/TRR),
    one float32 spacing at the largest time (the most two rounded times can add to a difference:
    0.0078 ps at 100 ns, larger than 1e-3 of a 0.2 ps step).
    """
    if times is None or len(times) < 2:
        raise GdynetError(f"this {fmt} file has no frame times (or only one frame); pass dt= "
                          "(e.g. dt='2fs' or dt=0.002 in ps)", src)
    steps = np.diff(times)
    dt = float(np.mean(steps))
    rounding = float(np.spacing(np.float32(np.abs(times).max()))) if fmt in _FLOAT32_TIMES else 0.0
    if not dt > 0 or np.any(np.abs(steps - dt) > 1e-3 * abs(dt) + 1e-9 + rounding):
        raise GdynetError(f"frame times are not evenly spaced (steps {steps.min():g} to {steps.max():g} ps); "
                          "pass dt= to override", src)
    return dt


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


def _cell_checked(cell: np.ndarray, index: int, src: str, hint: str = "") -> np.ndarray:
    cell = np.asarray(cell, dtype=np.float64)
    if not np.all(np.isfinite(cell)) or abs(np.linalg.det(cell)) < 1e-6:
        raise GdynetError(f"frame {index} has no periodic cell{hint}; gdynet needs periodic cells", src)
    return cell


# ------------------------------------------------------------------ npz (original GDyNet layout)
def _read_npz(path: Path, stride: int, cache_dir: Any, check: Callable[..., Any]
              ) -> tuple[cache.Frames, np.ndarray]:
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
        check(numbers, file_targets=target_index)
        entry = _entry(path, cache_dir, format="npz", stride=stride)
        if entry is None:
            try:
                coords = np.asarray(archive["traj_coords"])[::stride]
            except Exception as exc:
                raise GdynetError(f"cannot read traj_coords ({exception_summary(exc)})", src) from exc
            return cache.Frames(coords, np.ascontiguousarray(lattices[::stride]), numbers, None), target_index
    frames = cache.load_entry(entry)
    if frames is None:
        stream = _guarded(_npz_frames(path, shape, dtype, lattices, stride), "traj_coords", src)
        frames = cache.collect_frames(stream, numbers, entry=entry, source=src)
    return frames, target_index


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


def _npz_frames(path: Path, shape: tuple[int, ...], dtype: np.dtype, lattices: np.ndarray, stride: int
                ) -> Iterator[tuple[np.ndarray, np.ndarray, float]]:
    """Stream traj_coords out of the zip member one frame at a time (works for compressed npz too)."""
    frame_bytes = int(np.prod(shape[1:])) * dtype.itemsize
    with zipfile.ZipFile(path) as zf, zf.open("traj_coords.npy") as member:
        _npy_header(member, str(path))
        for index in range(shape[0]):
            raw = member.read(frame_bytes)
            if len(raw) != frame_bytes:
                raise EOFError(f"traj_coords ends after {index} of {shape[0]} frames")
            if index % stride == 0:
                yield np.frombuffer(raw, dtype=dtype).reshape(shape[1:]), lattices[index], np.nan


# ------------------------------------------------------------------ ASE formats
def _read_ase(path: Path, fmt: str, stride: int, types: dict[str, int] | None, cache_dir: Any,
              check: Callable[..., Any], *, need_time: bool) -> cache.Frames:
    import ase.io

    src = str(path)
    by_type = fmt == "lammps-dump" and _lammps_dump_needs_type_map(path, types)
    entry = _entry(path, cache_dir, format=fmt, stride=stride, type_map=sorted((types or {}).items()))
    frames = None if entry is None else cache.load_entry(entry)
    if frames is not None:
        return frames
    images = iter(_guarded(ase.io.iread(path, index=slice(None, None, stride), format=_ASE_NAMES[fmt]),
                           f"{fmt} file", src))
    first = next(images, None)
    if first is None:
        raise GdynetError("file contains no frames", src)
    if need_time and "time" not in first.info:
        raise GdynetError(f"no time step in this {fmt} file (no 'time' in the frame info); pass dt= "
                          "(e.g. dt='2fs' or dt=0.002 in ps)", src)
    labels = first.arrays["type"] if by_type else first.numbers
    numbers = _map_types(labels, types, src) if by_type else first.numbers.copy()
    check(numbers)
    return cache.collect_frames(_ase_frame_tuples(chain([first], images), labels, by_type, fmt, stride, src), numbers,
                                entry=entry, source=src)


def _ase_frame_tuples(images: Iterable, labels: np.ndarray, by_type: bool, fmt: str, stride: int, src: str
                      ) -> Iterator[tuple[np.ndarray, np.ndarray, float]]:
    """``(positions, cell, time_ps)`` per frame; ``labels`` (numbers or LAMMPS types) must not change.

    ``images`` are every ``stride``-th frame of the file; errors name the frame's number in the file.
    """
    from ase.units import fs

    hint = " (extxyz needs Lattice=\"...\")" if fmt == "extxyz" else ""
    for index, atoms in zip(range(0, sys.maxsize, stride), images):
        now = atoms.arrays["type"] if by_type else atoms.numbers
        if len(now) != len(labels):
            raise GdynetError(f"frame {index} has {len(now)} atoms but frame 0 has {len(labels)}; "
                              "gdynet needs a fixed number of atoms", src)
        if not np.array_equal(now, labels):
            raise GdynetError(f"the elements or the atom order change at frame {index}", src)
        time = atoms.info.get("time")
        time_ps = np.nan if time is None else float(time) / (1000.0 * fs)
        yield atoms.positions, _cell_checked(atoms.cell.array, index, src, hint), time_ps


def _lammps_dump_needs_type_map(path: Path, types: dict[str, int] | None) -> bool:
    """True when the dump names atoms only by numeric type (no element or mass column)."""
    columns = _lammps_dump_columns(path)
    if "element" in columns or "mass" in columns:
        return False
    if types is None:
        raise GdynetError("LAMMPS dump atom types are numbers, not elements; pass type_map, e.g. "
                          "type_map={1: 'Li', 2: 'S'} or '1=Li,2=S'", path)
    return True


def _map_types(labels: Any, types: dict[str, int], src: str) -> np.ndarray:
    """Atomic numbers of atoms labelled ``labels`` (LAMMPS types, topology types) via ``type_map``."""
    labels = np.asarray(labels).astype(str)
    unmapped = sorted(set(labels) - set(types))
    if unmapped:
        raise GdynetError(f"atom types {', '.join(unmapped[:10])} are missing from type_map", src)
    return np.array([types[t] for t in labels], dtype=np.int64)


def _lammps_dump_columns(path: Path, max_lines: int = 10_000) -> list[str]:
    """Column names of the first ``ITEM: ATOMS`` line (only the header of frame 0 is read)."""
    with open(path, errors="replace") as fh:
        for _, line in zip(range(max_lines), fh):
            if line.startswith("ITEM: ATOMS"):
                return line.split()[2:]
    raise GdynetError("not a LAMMPS text dump: no 'ITEM: ATOMS' line", path)


# ------------------------------------------------------------------ MDAnalysis formats
def _read_mdanalysis(path: Path, fmt: str, topology: Any, stride: int, types: dict[str, int] | None,
                     cache_dir: Any, check: Callable[..., Any]) -> tuple[cache.Frames, Any]:
    with quiet_mdanalysis():
        return _read_mdanalysis_quietly(path, fmt, topology, stride, types, cache_dir, check)


def _read_mdanalysis_quietly(path: Path, fmt: str, topology: Any, stride: int, types: dict[str, int] | None,
                             cache_dir: Any, check: Callable[..., Any]) -> tuple[cache.Frames, Any]:
    import MDAnalysis as mda

    src = str(path)
    if topology is None:
        raise GdynetError(f"{fmt} files hold only coordinates; pass topology= (PDB, GRO, PSF, LAMMPS data, ...)", src)
    top = Path(topology).expanduser()
    if not top.is_file():
        raise GdynetError("topology file not found", top)
    entry = _entry(path, cache_dir, format=fmt, stride=stride, topology=top,
                   type_map=sorted((types or {}).items()))
    frames = None if entry is None else cache.load_entry(entry)
    try:
        universe = mda.Universe(str(top), str(path), format=_MDA_NAMES[fmt], **topology_kwargs(top))
    except Exception as exc:
        reason = exception_summary(exc)
    else:
        reason = None
    if reason is not None:
        _collect_broken_readers()
        raise GdynetError(f"cannot read with topology {top.name}: {reason}", src)
    if frames is None:
        try:
            _check_complete(universe.trajectory, fmt, path)
            numbers = _mda_numbers(universe, types, str(top))
            check(numbers, universe)
            stream = _guarded(_mda_frame_tuples(universe, stride, src), f"{fmt} file", src)
            frames = cache.collect_frames(stream, numbers, entry=entry, source=src)
        except BaseException:
            universe.trajectory.close()
            raise
    return frames, universe


def _check_complete(reader: Any, fmt: str, path: Path) -> None:
    """Raise when the file ends inside a frame (a run stopped while writing it).

    MDAnalysis drops such a frame silently: it counts a DCD's frames as ``floor`` of the file size
    over the (fixed) frame size, and does not count an XTC/TRR frame cut inside its header. Here the
    last whole frame must end where the file ends: after ``header + first frame + (F - 1) x frame``
    bytes for DCD (computed, nothing read), at the byte offset reached by reading the last frame for
    XTC/TRR (variable-size compressed frames; one frame is read).
    """
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


def _mda_frame_tuples(universe: Any, stride: int, src: str) -> Iterator[tuple[np.ndarray, np.ndarray, float]]:
    from MDAnalysis.lib.mdamath import triclinic_vectors

    expected = len(range(0, universe.trajectory.n_frames, stride))
    count = 0
    for ts in universe.trajectory[::stride]:
        dims = ts.dimensions
        if dims is None or not np.all(np.asarray(dims[:3]) > 0):
            raise GdynetError(f"frame {ts.frame} has no periodic cell; gdynet needs periodic cells", src)
        yield ts.positions.copy(), _cell_checked(triclinic_vectors(dims), ts.frame, src), float(ts.time)
        count += 1
    if count != expected:  # MDAnalysis ends the iteration quietly on a read error
        raise GdynetError(f"cannot read frame {count * stride}: the file stops after {count * stride} of "
                          f"{universe.trajectory.n_frames} frames (corrupt or truncated)", src)


def _mda_numbers(universe: Any, types: dict[str, int] | None, src: str) -> np.ndarray:
    """Atomic numbers from the topology: type_map on atom types, else elements (guessed from names if absent)."""
    atoms = universe.atoms
    if types is not None:
        return _map_types(atoms.types, types, src)
    elements = None
    if hasattr(atoms, "elements") and all(str(e).strip() for e in atoms.elements):
        elements = atoms.elements
    else:
        try:
            universe.guess_TopologyAttrs(to_guess=["elements"], force_guess=["elements"])
            elements = atoms.elements
        except Exception:  # the guesser has nothing to go on (no names)
            elements = None
    from ase.data import atomic_numbers

    if elements is not None:
        symbols = [str(e).strip().capitalize() for e in elements]
        bad = sorted({names for names, s in zip(_atom_labels(atoms), symbols) if s not in atomic_numbers})
        if not bad:
            return np.array([atomic_numbers[s] for s in symbols], dtype=np.int64)
    else:
        bad = sorted(set(_atom_labels(atoms)))
    raise GdynetError(f"cannot tell the element of atom types {', '.join(bad[:10])} from the topology; "
                      "pass type_map mapping each atom type to an element, e.g. type_map='1=Li,2=S'", src)


def _atom_labels(atoms: Any) -> list[str]:
    """Atom types (the keys of ``type_map``), else names."""
    for attr in ("types", "names"):
        if hasattr(atoms, attr):
            return [str(x) for x in getattr(atoms, attr)]
    return [str(i) for i in atoms.indices]


def supported_formats() -> str:
    """A one-line-per-format summary of :data:`FORMATS` (for help texts)."""
    return "\n".join(f"{name:12s} {desc}  [{' '.join(sfx) or 'format= only'}]" for name, (desc, sfx)
                     in FORMATS.items())

