"""Target-set positions for the analyses: whole molecules, centres of mass, unwrapped in time.

Two periodic-boundary problems are solved here, both by minimum-image rounding in fractional
coordinates (exact for triclinic cells as long as the vector is shorter than half the shortest
perpendicular cell width, because then every fractional component lies in (-1/2, 1/2)):

* **within a frame**: the atoms of a target set (e.g. a water molecule) may be split across the
  cell boundary; every atom is placed at the periodic image nearest to the set's first atom before
  the mass-weighted centre is taken (masses from :data:`ase.data.atomic_masses`);
* **between frames**: a wrapped trajectory jumps by a lattice vector when a particle leaves the
  cell. The displacement between consecutive frames is reduced to its minimum image *in the cell
  of the later frame* and accumulated (the "TOR" scheme of von Bülow, Bullerjahn & Hummer,
  J. Chem. Phys. 153, 021101 (2020)); this stays correct when the cell changes every frame (NPT),
  where scaling unwrapped fractional coordinates by the current cell would not. Frames must be
  close enough that no particle moves more than half a cell width between them.

Along a non-periodic axis (``Trajectory.pbc``, e.g. the normal of a slab) nothing is rounded: a
molecule is never "made whole" across it and a particle crossing the box face keeps moving
continuously, as it does in the simulation.
"""
from __future__ import annotations

import numpy as np

from ..base.errors import GdynetError
from ..trajectory.core import Trajectory


def minimum_image(vectors: np.ndarray, cells: np.ndarray,
                  pbc: tuple[bool, bool, bool] = (True, True, True)) -> np.ndarray:
    """Reduce Cartesian ``vectors`` to their minimum periodic image.

    Args:
        vectors: ``(F, ..., 3)`` difference vectors in Å.
        cells: ``(F, 3, 3)`` cells in Å, rows = lattice vectors (one per leading index of ``vectors``).
        pbc: periodic along each lattice vector; components along a non-periodic one are kept.

    Returns:
        ``(F, ..., 3)`` vectors in Å with fractional components in [-1/2, 1/2] along the periodic axes.
    """
    shape = vectors.shape
    flat = vectors.reshape(shape[0], -1, 3)
    frac = np.einsum("fai,fij->faj", flat, np.linalg.inv(cells))
    frac -= np.where(pbc, np.round(frac), 0.0)
    return np.einsum("faj,fjk->fak", frac, cells).reshape(shape)


def target_masses(numbers: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Atomic masses ``(n, k)`` in u of the target atoms (atomic number 0 counts as mass 1)."""
    from ase.data import atomic_masses

    masses = np.asarray(atomic_masses)[np.asarray(numbers)[targets]]
    return np.where(masses > 0, masses, 1.0)


def target_centers(positions: np.ndarray, cells: np.ndarray, targets: np.ndarray,
                   masses: np.ndarray, pbc: tuple[bool, bool, bool] = (True, True, True)) -> np.ndarray:
    """Centre of mass of every target set, with each set made whole across the boundary.

    Args:
        positions: ``(F, N, 3)`` positions in Å (wrapped or not).
        cells: ``(F, 3, 3)`` cells in Å.
        targets: ``(n, k)`` atom indices of the target sets.
        masses: ``(n, k)`` masses (any unit) of those atoms.
        pbc: periodic along each lattice vector (no image is taken across a non-periodic one).

    Returns:
        ``(F, n, 3)`` float64 centres in Å (for ``k = 1`` the atom positions themselves).
    """
    atoms = np.asarray(positions[:, targets], dtype=np.float64)  # (F, n, k, 3)
    if targets.shape[1] == 1:
        return atoms[:, :, 0]
    anchor = atoms[:, :, :1]
    offsets = minimum_image(atoms - anchor, cells, pbc)
    weights = masses / masses.sum(axis=1, keepdims=True)
    return anchor[:, :, 0] + np.einsum("fnki,nk->fni", offsets, weights)


def unwrap_centers(traj: Trajectory, *, chunk_frames: int | None = None,
                   out: np.ndarray | None = None) -> np.ndarray:
    """Unwrapped centre-of-mass trajectory of every target set, streamed over the frames.

    Args:
        traj: the trajectory (positions may be a memory map; only target atoms are kept in memory).
        chunk_frames: frames read at a time (default: the trajectory's chunk size).
        out: ``(F, n, 3)`` float64 array to fill, e.g. a ``np.memmap`` when the result would not fit
            in memory; default: a new in-memory array.

    Returns:
        ``(F, n, 3)`` float64 positions in Å; frame 0 equals the (whole-molecule) centres of frame 0
        and later frames follow continuously, whatever wrapping the input used (along the periodic
        axes; along a non-periodic one the positions are used as they are).
    """
    targets = traj.targets
    masses = target_masses(traj.numbers, targets)
    shape = (traj.n_frames, traj.n_targets, 3)
    if out is None:
        out = np.empty(shape, dtype=np.float64)
    elif out.shape != shape:
        raise GdynetError(f"out has shape {out.shape}, expected {shape}", traj.source)
    previous = None  # wrapped centres of the last frame of the previous chunk
    for start, block, cells in traj.iter_chunks(chunk_frames):
        centers = target_centers(block, cells, targets, masses, traj.pbc)
        if previous is None:
            out[0] = centers[0]
            steps = centers[1:] - centers[:-1]
            step_cells, first = cells[1:], 1
        else:
            steps = centers - np.concatenate([previous[None], centers[:-1]])
            step_cells, first = cells, 0
        if len(steps):
            steps = minimum_image(steps, step_cells, traj.pbc)
            base = out[start + first - 1]
            out[start + first:start + len(centers)] = base + np.cumsum(steps, axis=0)
        previous = centers[-1]
    return out

