"""The central data object: :class:`Trajectory`.

Everything in gdynet accepts a ``Trajectory``: graph building, training, prediction and the
materials analyses. Positions may be a read-only memory map, so a trajectory larger than RAM is
never loaded whole; all checks below stream over it in chunks.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Mapping

import numpy as np

from ..base.errors import GdynetError
from ..files.pages import blocks

#: frames per chunk when streaming over positions (about 100 MB for 1,000 atoms in float64)
POSITION_CHUNK_FRAMES = 4096
#: cell lengths an atom may be outside the cell along a periodic axis (unwrapped coordinates of a fast
#: ion over a microsecond in a 20 Å cell reach a few hundred)
MAX_CELLS_AWAY = 1000
#: Å an atom may be from the origin along any axis (a sane bound on any simulation)
MAX_COORDINATE = 1e6


def _chunk_frames(n_atoms: int) -> int:
    return max(1, min(POSITION_CHUNK_FRAMES, 4_000_000 // max(n_atoms, 1)))


def _check_bounds(block: np.ndarray, cells: np.ndarray, pbc: np.ndarray, start: int, atom_ids: np.ndarray | None,
                  src: str) -> None:
    """Refuse coordinates beyond :data:`MAX_CELLS_AWAY` cell lengths along a periodic axis (the
    cell's extent along the Cartesian axis) or :data:`MAX_COORDINATE` Å (one max per frame and axis)."""
    extent = np.abs(cells).sum(axis=1)                               # (F, 3) the cell's size along x, y, z
    limit = np.where(np.asarray(pbc, dtype=bool)[None, :] & (extent > 0),
                     np.minimum(MAX_COORDINATE, (MAX_CELLS_AWAY + 1) * extent), MAX_COORDINATE)
    reach = np.abs(block).max(axis=1)                                # (F, 3)
    if np.all(reach <= limit):
        return
    frame, axis = np.argwhere(reach > limit)[0]
    atom = int(np.argmax(np.abs(block[frame, :, axis])))
    value = float(block[frame, atom, axis])
    named = atom if atom_ids is None else int(np.asarray(atom_ids)[atom])
    raise GdynetError(f"atom {named} of frame {start + frame} is at {'xyz'[axis]} = {value:.6g} Å, beyond "
                      f"{limit[frame, axis]:.6g} Å ({MAX_CELLS_AWAY} cell lengths, or {MAX_COORDINATE:g} Å): a corrupt "
                      "file or an exploded run", src)


@dataclass(frozen=True, eq=False)
class Trajectory:
    """An MD trajectory with the target atoms whose dynamics gdynet learns.

    Attributes:
        positions: ``(F, N, 3)`` Cartesian coordinates in Å (float32/64; may be a ``np.memmap``).
            Wrapped or unwrapped; the graphs use periodic boundary conditions either way.
        cells: ``(F, 3, 3)`` cell matrices in Å; row ``i`` is lattice vector ``i``.
        numbers: ``(N,)`` atomic numbers (int).
        dt_ps: time between stored frames in ps.
        targets: ``(n, k)`` atom indices **into this Trajectory's atoms** (``positions[:, targets]``):
            ``n`` target sets of ``k`` atoms each (Eq. 10 pools each set; ``k = 1`` for single atoms
            such as Li ions, ``k = 3`` for water molecules). Also given as an element (``"Li"``), an
            atom index (an int), ``"molecules:H2O"`` or a selection on frame 0
            (:func:`~gdynet.trajectory.targets.select_targets`), stored as indices. Where the reader
            left atoms out (TIP4P M sites, ``exclude``) or read an MDAnalysis ``AtomGroup``, this
            numbering differs from the file's: :meth:`file_targets` gives the file's (or
            ``Universe``'s) numbering, the one ``StateProbabilities.targets`` and ``chi/targets_NNN.npy`` use.
        source: where the data came from (a path, or a short description).
        pbc: ``(3,)`` bools: is the cell periodic along lattice vector ``i``? Neighbours, RDFs,
            unwrapping and conduction use no periodic images across a non-periodic axis.
        charges: ``(N,)`` partial charges in e (from a topology), or ``None`` when unknown.
        dt_source: where ``dt_ps`` came from, e.g. ``"--dt"``, ``"file time"``,
            ``"dump TIMESTEP x --timestep"`` (recorded in summary.json as ``dt_source``).
        atom_ids: ``(N,)`` index of each atom in the file it was read from (for an MDAnalysis
            ``AtomGroup``: its ``Universe``'s ``atom.index``), when the reader left atoms out (massless
            sites, ``exclude``) or read part of a Universe; ``None``: the file's own numbering.
        frames_dropped: frames of the file the reader left out because a restarted run wrote their
            steps again, or a frame was written twice (summary.json ``frames_dropped``).
        truncated_tail: bytes at the end of the file the reader ignored because its last frame was
            cut off, as when a run is stopped while writing (summary.json ``truncated_tail``).

    Coordinates further than :data:`MAX_CELLS_AWAY` cell lengths outside the cell along a periodic
    axis, or than :data:`MAX_COORDINATE` Å from the origin, are refused naming the frame and atom:
    they come from a corrupt file or an exploded run, and wrapping them would put an atom anywhere.
    """

    positions: np.ndarray
    cells: np.ndarray
    numbers: np.ndarray
    dt_ps: float
    targets: np.ndarray
    source: str = "<memory>"
    pbc: tuple[bool, bool, bool] | np.ndarray = (True, True, True)
    charges: np.ndarray | None = None
    dt_source: str = "given"
    atom_ids: np.ndarray | None = None
    frames_dropped: int = 0
    truncated_tail: int = 0
    #: the cached content hash; not an init field, so ``dataclasses.replace`` starts a new one
    _fingerprint: list = field(init=False, default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        src = self.source
        pos, cells = self.positions, self.cells
        numbers = np.asarray(self.numbers)
        if pos.ndim != 3 or pos.shape[2] != 3:
            raise GdynetError(f"positions must have shape (frames, atoms, 3), got {pos.shape}", src)
        n_frames, n_atoms = pos.shape[:2]
        if n_frames < 1 or n_atoms < 1:
            raise GdynetError(f"trajectory is empty (shape {pos.shape})", src)
        if numbers.shape != (n_atoms,):
            raise GdynetError(f"numbers has shape {numbers.shape} but positions have {n_atoms} atoms", src)
        if not np.issubdtype(numbers.dtype, np.integer) or numbers.min() < 0 or numbers.max() > 118:
            raise GdynetError("numbers must be atomic numbers between 0 and 118", src)
        cells = np.asarray(cells, dtype=np.float64)
        if cells.shape == (3, 3):
            cells = np.broadcast_to(cells, (n_frames, 3, 3))
        if cells.shape != (n_frames, 3, 3):
            raise GdynetError(f"cells must have shape ({n_frames}, 3, 3) to match positions, got {cells.shape}", src)
        if not np.all(np.isfinite(cells)):
            raise GdynetError("cell contains NaN or infinite values", src)
        volumes = np.abs(np.linalg.det(cells))
        if np.any(volumes < 1e-6):
            bad = int(np.argmax(volumes < 1e-6))
            raise GdynetError(f"missing or singular cell at frame {bad} (volume {volumes[bad]:.3g} Å^3); "
                              "gdynet needs periodic cells", src)
        try:
            dt = float(self.dt_ps)
        except (TypeError, ValueError):
            raise GdynetError(f"dt_ps must be a number of ps, got {self.dt_ps!r}", src) from None
        if not np.isfinite(dt) or dt <= 0:
            raise GdynetError(f"time step must be positive, got {self.dt_ps!r} ps", src)
        pbc = np.asarray(self.pbc)
        if pbc.shape != (3,) or pbc.dtype.kind not in "biu":
            raise GdynetError(f"pbc must be three booleans (one per cell vector), got {self.pbc!r}", src)
        targets = self.targets
        named = isinstance(targets, (int, np.integer)) and not isinstance(targets, bool)
        if named or isinstance(targets, (str, Mapping)):
            from .targets import select_targets   # an element, an atom index or a selection, on frame 0

            targets = select_targets(numbers, targets, positions=np.asarray(pos[0]), cell=cells[0],
                                     pbc=tuple(bool(b) for b in pbc), source=src)
        targets = np.asarray(targets)
        if targets.ndim == 1:
            targets = targets[:, None]
        if targets.ndim != 2 or targets.shape[0] < 1 or targets.shape[1] < 1:
            raise GdynetError(f"targets must be a non-empty (n, k) index array, got shape {targets.shape}", src)
        if not np.issubdtype(targets.dtype, np.integer):
            raise GdynetError("targets must be integer atom indices", src)
        if targets.min() < 0 or targets.max() >= n_atoms:
            raise GdynetError(f"target index out of range: atoms are 0..{n_atoms - 1}, got "
                              f"{int(targets.min())}..{int(targets.max())}", src)
        charges = self.charges
        if charges is not None:
            charges = np.asarray(charges, dtype=np.float64)
            if charges.shape != (n_atoms,):
                raise GdynetError(f"charges has shape {charges.shape} but positions have {n_atoms} atoms", src)
            if not np.all(np.isfinite(charges)):
                raise GdynetError("charges contain NaN or infinite values", src)
            object.__setattr__(self, "charges", charges)
        chunk = _chunk_frames(n_atoms)
        for start in range(0, n_frames, chunk):
            block = np.asarray(pos[start:start + chunk])
            high, low = block.max(), block.min()     # NaN when any is NaN; two fast passes, no temporary
            if not (np.isfinite(high) and np.isfinite(low)):
                frame = start + int(np.argmax(~np.isfinite(block).all(axis=(1, 2))))
                raise GdynetError(f"NaN or infinite coordinates at frame {frame}", src)
            smallest_cell = np.abs(cells[start:start + chunk]).sum(axis=1).min()
            if max(high, -low) > min(MAX_COORDINATE, MAX_CELLS_AWAY * smallest_cell):
                _check_bounds(block, cells[start:start + chunk], pbc, start, self.atom_ids, src)
        object.__setattr__(self, "cells", cells)
        object.__setattr__(self, "numbers", numbers.astype(np.int64))
        object.__setattr__(self, "targets", targets.astype(np.int64))
        object.__setattr__(self, "dt_ps", dt)
        object.__setattr__(self, "source", str(src))
        object.__setattr__(self, "pbc", tuple(bool(b) for b in pbc))
        object.__setattr__(self, "dt_source", str(self.dt_source))

    # ------------------------------------------------------------------ sizes
    @property
    def n_frames(self) -> int:
        """Number of frames ``F``."""
        return int(self.positions.shape[0])

    @property
    def n_atoms(self) -> int:
        """Number of atoms ``N``."""
        return int(self.positions.shape[1])

    @property
    def n_targets(self) -> int:
        """Number of target sets ``n``."""
        return int(self.targets.shape[0])

    @property
    def target_size(self) -> int:
        """Atoms per target set ``k``."""
        return int(self.targets.shape[1])

    @property
    def duration_ps(self) -> float:
        """Time spanned by the trajectory, ``(F - 1) * dt_ps``, in ps."""
        return (self.n_frames - 1) * self.dt_ps

    @property
    def symbols(self) -> list[str]:
        """Chemical symbols of the atoms."""
        from ase.data import chemical_symbols

        return [chemical_symbols[z] for z in self.numbers]

    def volumes(self) -> np.ndarray:
        """Cell volume of every frame, ``(F,)`` in Å^3."""
        return np.abs(np.linalg.det(self.cells))

    def __len__(self) -> int:
        return self.n_frames

    def __repr__(self) -> str:
        return (f"Trajectory({self.n_frames} frames x {self.n_atoms} atoms, dt={self.dt_ps:g} ps, "
                f"{self.n_targets} target sets of {self.target_size}, source={self.source!r})")

    # ------------------------------------------------------------ derived views
    def __getitem__(self, frames: slice) -> "Trajectory":
        """Frames ``frames`` (a slice) as a new trajectory; a step multiplies ``dt_ps``."""
        if not isinstance(frames, slice):
            raise TypeError("Trajectory can only be sliced by frames, e.g. traj[100:2000:2]")
        start, stop, step = frames.indices(self.n_frames)
        if step < 1:
            raise GdynetError("frame step must be positive", self.source)
        return replace(self, positions=self.positions[start:stop:step], cells=self.cells[start:stop:step],
                       dt_ps=self.dt_ps * step)

    @classmethod
    def from_mdanalysis(cls, atoms: Any, **options: Any) -> "Trajectory":
        """A trajectory of an MDAnalysis ``Universe`` or ``AtomGroup``: ``dt``, ``targets`` (any
        MDAnalysis selection), ``stride``, ``type_map``, ``exclude``, ``pbc``, ``source``
        (:func:`gdynet.trajectory.ecosystem.mdanalysis_fields`)."""
        from .ecosystem import mdanalysis_fields

        return cls(**mdanalysis_fields(atoms, **options))

    @classmethod
    def from_ase(cls, images: Any, **options: Any) -> "Trajectory":
        """A trajectory of ``ase.Atoms`` frames (a list, an iterator such as ``ase.io.iread``, or one
        ``Atoms``): ``dt`` (default: their ``info["time"]``), ``targets``, ``stride``, ``exclude``,
        ``pbc``, ``source`` (:func:`gdynet.trajectory.ecosystem.ase_fields`)."""
        from .ecosystem import ase_fields

        return cls(**ase_fields(images, **options))

    def with_targets(self, targets: np.ndarray) -> "Trajectory":
        """The same trajectory with other target sets ``(n, k)``."""
        return replace(self, targets=np.asarray(targets))

    def file_targets(self) -> np.ndarray:
        """``(n, k)`` target atom indices in the numbering of the file the trajectory was read from (for
        an MDAnalysis ``AtomGroup``, of its ``Universe``: ``u.atoms[traj.file_targets()[:, 0]]`` are the
        target atoms); :attr:`targets` indexes this Trajectory's own atoms."""
        return self.targets if self.atom_ids is None else np.asarray(self.atom_ids)[self.targets]

    def iter_chunks(self, chunk_frames: int | None = None) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Yield ``(start, positions[start:stop], cells[start:stop])`` blocks of frames; a memory map is
        streamed with one block resident at a time (:func:`gdynet.files.pages.blocks`)."""
        for start, block in blocks(self.positions, chunk_frames or _chunk_frames(self.n_atoms)):
            yield start, np.asarray(block), self.cells[start:start + len(block)]

    def fingerprint(self) -> str:
        """A content hash of positions, cells, numbers and dt (hex), used to key on-disk caches.

        Streams over the positions once (blake2b, about 1 GB/s) and remembers the result.
        """
        if not self._fingerprint:
            h = hashlib.blake2b(digest_size=16)
            h.update(repr((self.positions.shape, self.dt_ps, self.pbc)).encode())
            h.update(np.ascontiguousarray(self.numbers).tobytes())
            h.update(np.ascontiguousarray(self.cells).tobytes())
            for _, block, _ in self.iter_chunks():
                h.update(np.ascontiguousarray(block).tobytes())
            self._fingerprint.append(h.hexdigest())
        return self._fingerprint[0]


