"""The ``m`` nearest periodic neighbours of every atom: the edges of the GDyNet crystal graph.

Under periodic boundary conditions atom ``i`` sees every image ``x_j + n·A`` (``A`` the cell,
rows = lattice vectors, ``n`` an integer vector) of every atom ``j``, itself included. Its
neighbour list is the ``m`` smallest of

    d_ij(n) = | x_j + n·A - x_i |        over all j and n, except (j = i, n = 0),

sorted nearest first. In a small cell the same atom (or ``i`` itself) appears several times,
once per image; this is what the paper's crystal graphs do.

Kernel (chosen by measurement, see ``benchmarks/RESULTS.md``): wrap the atoms into the cell,
add the periodic images that lie within ``R`` of the cell (``R`` from the density, Eq. below),
and ask a k-d tree (``scipy.spatial.cKDTree``) for the ``m + 1`` nearest points of every atom
(the first is the atom itself). The answer is exact whenever the ``m``-th distance is ``<= R``:
every image closer than ``R`` to an atom in the cell is among the points. Atoms that fail the
check are asked again with ``R`` 1.5 times larger. The starting radius is the sphere holding
``m`` atoms at the mean density, times a safety factor,

    R = s · (3 m V / (4 π N))^(1/3),   s = 1.3.

Small frames are batched into one tree (a 4th coordinate keeps frames apart). Per atom this
costs less than a plain cutoff neighbour list (vesin) at the smallest radius that gives every
atom ``m`` neighbours, and it needs no per-row sort afterwards.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..errors import GdynetError

#: bump when the output of :func:`neighbors` changes (keys the on-disk graph caches)
KERNEL_VERSION = "1"
#: largest number of neighbours per atom accepted (GDyNet uses 12-20)
MAX_NEIGHBORS = 1000
#: starting radius as a multiple of the radius of the sphere holding ``m`` atoms
_SAFETY = 1.3
#: growth of the radius for atoms whose ``m``-th neighbour lies beyond it
_GROWTH = 1.5
#: atoms per k-d tree: small frames are batched so per-frame Python overhead stays small
_BATCH_ATOMS = 16384
_SOURCE = "neighbors"


def neighbors(positions: np.ndarray, cell: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``m`` nearest neighbours of every atom under periodic boundary conditions.

    Args:
        positions: ``(N, 3)`` or ``(F, N, 3)`` Cartesian coordinates in Å (wrapped or not).
        cell: ``(3, 3)`` or ``(F, 3, 3)`` cell matrices in Å, row ``k`` = lattice vector ``k``
            (any triclinic cell; one ``(3, 3)`` cell is used for every frame).
        m: neighbours per atom (``1 <= m <= MAX_NEIGHBORS``); may exceed ``N`` (images count).

    Returns:
        ``(indices, distances)``, each ``(N, m)`` (or ``(F, N, m)``): ``indices`` int64 atom
        indices ``j`` of the neighbours, ``distances`` float32 ``d_ij(n)`` in Å, each row sorted
        nearest first. Neighbours at equal distance come in unspecified order.
    """
    pos, cells, single = _validate(positions, cell, m)
    n_frames, n_atoms = pos.shape[:2]
    indices = np.empty((n_frames, n_atoms, m), dtype=np.int64)
    distances = np.empty((n_frames, n_atoms, m), dtype=np.float32)
    per_batch = max(1, _BATCH_ATOMS // n_atoms)
    for start in range(0, n_frames, per_batch):
        batch = slice(start, start + per_batch)
        indices[batch], distances[batch] = _batch_neighbors(pos[batch], cells[batch], m)
    if single:
        return indices[0], distances[0]
    return indices, distances


def cutoff_estimate(n_atoms: int, volume: float, m: int) -> float:
    """Radius in Å of the sphere that holds ``m`` atoms at density ``n_atoms / volume``."""
    return float((3.0 * m * volume / (4.0 * np.pi * n_atoms)) ** (1.0 / 3.0))


def check_m(m: int) -> None:
    """Raise :class:`GdynetError` unless ``m`` is an integer in ``1..MAX_NEIGHBORS``."""
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)):
        raise GdynetError(f"number of neighbours m must be an integer, got {m!r}", _SOURCE)
    if not 1 <= m <= MAX_NEIGHBORS:
        raise GdynetError(f"number of neighbours m must be between 1 and {MAX_NEIGHBORS}, got {m}", _SOURCE)


def _validate(positions: np.ndarray, cell: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Check inputs; return ``(positions (F, N, 3), cells (F, 3, 3), was_single_frame)`` in float64."""
    check_m(m)
    pos = np.asarray(positions, dtype=np.float64)
    cells = np.asarray(cell, dtype=np.float64)
    single = pos.ndim == 2
    if single:
        pos = pos[None]
    if pos.ndim != 3 or pos.shape[2] != 3 or pos.shape[1] < 1:
        raise GdynetError(f"positions must have shape (N, 3) or (F, N, 3), got {np.shape(positions)}", _SOURCE)
    if cells.shape == (3, 3):
        cells = np.broadcast_to(cells, (pos.shape[0], 3, 3))
    if cells.shape != (pos.shape[0], 3, 3):
        raise GdynetError(f"cell must have shape (3, 3) or ({pos.shape[0]}, 3, 3), got {np.shape(cell)}", _SOURCE)
    if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(cells))):
        raise GdynetError("positions or cell contain NaN or infinite values", _SOURCE)
    volumes = np.abs(np.linalg.det(cells))
    if np.any(volumes < 1e-6):
        raise GdynetError(f"singular cell (volume {volumes.min():.3g} Å^3) at frame {int(np.argmin(volumes))}",
                          _SOURCE)
    return pos, cells, single


def _batch_neighbors(pos: np.ndarray, cells: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames ``pos (B, N, 3)``, ``cells (B, 3, 3)`` -> ``(indices (B, N, m) int64, distances float64)``.

    All frames share one k-d tree in 4-D: the 4th coordinate is ``slot · gap`` with ``gap`` larger
    than any query radius, so frames never see each other, while within a frame the 4th
    coordinates are equal and the distances are exactly the 3-D ones.
    """
    n_batch, n_atoms = pos.shape[:2]
    frac = np.einsum("bnk,bkl->bnl", pos, np.linalg.inv(cells))
    frac -= np.floor(frac)
    radius = _SAFETY * np.array([cutoff_estimate(n_atoms, v, m) for v in np.abs(np.linalg.det(cells))])
    indices = np.empty((n_batch * n_atoms, m), dtype=np.int64)
    distances = np.empty((n_batch * n_atoms, m), dtype=np.float64)
    todo = np.arange(n_batch * n_atoms)  # rows b * N + i
    while todo.size:
        frames = np.unique(todo // n_atoms)
        gap = 4.0 * radius[frames].max()
        parts, owners, first, count = [], [], np.zeros(n_batch, dtype=np.int64), 0
        for slot, b in enumerate(frames):
            points, atom_of = _padded_images(frac[b], cells[b], radius[b])
            first[b], count = count, count + len(points)
            parts.append(np.column_stack([points, np.full(len(points), slot * gap)]))
            owners.append(atom_of)
        points, atom_of = np.concatenate(parts), np.concatenate(owners)
        frame_of, atom = np.divmod(todo, n_atoms)
        query = first[frame_of] + atom  # the atoms themselves are the first N points of their frame
        d, k = cKDTree(points).query(points[query], k=m + 1, distance_upper_bound=radius[frames].max())
        found = d[:, -1] <= radius[frame_of]  # misses come back as inf
        d, k, query = d[found], k[found], query[found]
        is_self = k == query[:, None]  # drop the atom itself (distance 0)
        is_self[~is_self.any(axis=1), -1] = True  # self not listed: > m duplicates at distance 0
        indices[todo[found]] = atom_of[k[~is_self].reshape(-1, m)]
        distances[todo[found]] = d[~is_self].reshape(-1, m)
        todo = todo[~found]
        radius[frames] *= _GROWTH
    return indices.reshape(n_batch, n_atoms, m), distances.reshape(n_batch, n_atoms, m)


def _padded_images(frac: np.ndarray, cell: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Cartesian points of all periodic images within ``radius`` Å of the cell.

    ``frac`` ``(N, 3)`` are wrapped fractional coordinates. The cell's thickness along lattice
    direction ``k`` is ``h_k = V / |a_{k+1} x a_{k+2}|``, so a point within ``radius`` of the cell
    has fractional coordinate ``k`` in ``[-radius/h_k, 1 + radius/h_k]``. The first ``N`` points
    are the atoms themselves. Returns ``(points (P, 3), atom index of each point (P,))``.
    """
    volume = abs(np.linalg.det(cell))
    thickness = volume / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    pad = radius / thickness + 1e-9
    points, atom_of = frac, np.arange(frac.shape[0])
    for axis in range(3):  # replicate slab by slab: only atoms near a face are copied
        reach = int(np.ceil(pad[axis]))
        parts, owners = [points], [atom_of]
        for shift in (s for s in range(-reach, reach + 1) if s):
            moved = points[:, axis] + shift
            inside = (moved >= -pad[axis]) & (moved <= 1.0 + pad[axis])
            copy = points[inside]
            copy[:, axis] = moved[inside]
            parts.append(copy)
            owners.append(atom_of[inside])
        points, atom_of = np.concatenate(parts), np.concatenate(owners)
    return points @ cell, atom_of
