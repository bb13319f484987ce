"""The ``m`` nearest periodic neighbours of every atom: the edges of the GDyNet crystal graph.

Under periodic boundary conditions atom ``i`` sees every image ``x_j + n·A`` (``A`` the cell,
rows = lattice vectors, ``n`` an integer vector) of every atom ``j``, itself included. Its
neighbour list is the ``m`` smallest of

    d_ij(n) = | x_j + n·A - x_i |        over all j and n, except (j = i, n = 0),

sorted nearest first. In a small cell the same atom (or ``i`` itself) appears several times,
once per image; this is what the paper's crystal graphs do.

**Non-periodic axes** (``pbc``, one bool per lattice vector; a slab is ``(True, True, False)``):
only images ``n`` with ``n_k = 0`` along every non-periodic axis ``k`` count, and positions are never
wrapped along such an axis (atoms may lie outside the box). The kernels below stay fully periodic;
each non-periodic lattice vector is replaced by a long vector ``L_k e_k`` orthogonal to the periodic
ones (``e_k`` orthonormal), with

    L_k = w_k + 1.01 B + 0.1 Å,

``w_k`` the extent of the atoms along ``e_k`` and ``B`` an upper bound on every atom's ``m``-th
neighbour distance: the ``m``-th shortest vector of the periodic lattice (the images of the atom
itself) or, with no periodic axis, the diagonal of the atoms' bounding box. Every image with
``n_k != 0`` then lies more than ``L_k - w_k > B`` away, so it is never among the ``m`` nearest and
the result equals the search with images only along the periodic axes. The cell given along a
non-periodic axis is not used at all (it may even be degenerate). Without a periodic axis (a
cluster) there are only ``N - 1`` neighbours, so ``m`` must be below ``N``.

Two exact kernels, both correct by construction (chosen by measurement, see
``benchmarks/RESULTS.md``); both start from the radius of the sphere holding ``m`` atoms at the
mean density,

    r0 = (3 m V / (4 π N))^(1/3),

and both ask again, with a radius 1.5 times larger, for the atoms whose answer they cannot prove.

* Cell list (used when ``numba`` is installed; single thread): the cell is cut into
  ``n_k = floor(h_k / r0)`` slabs along each lattice direction (``h_k`` the cell's thickness), so
  the bins are parallelepipeds at least ``r0`` thick; a grid of bins padded by the periodic images
  of the atoms is searched bin by bin, nearest bins first, keeping the ``m`` nearest in a sorted
  row and skipping bins farther than its current ``m``-th distance. The ``m``-th distance found is
  exact when it is at most the distance from the atom to the edge of the searched block of bins.
  Frames whose atoms crowd into a few bins (a dense droplet in an empty box) go to the k-d tree.
* k-d tree (without ``numba``): the atoms plus the periodic images within ``R = 1.3 r0`` of the
  cell go into a ``scipy.spatial.cKDTree`` asked for the ``m + 1`` nearest points of every atom
  (the first is the atom itself); exact whenever the ``m``-th distance is ``<= R``. Small frames
  share one tree (a 4th coordinate keeps frames apart).
"""
from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np
from scipy.spatial import cKDTree

from ..base.errors import GdynetError

try:
    import numba
except ImportError:  # optional: without numba the (slower) k-d tree kernel is used
    numba = None

#: bump when the output of :func:`neighbors` changes (keys the on-disk graph caches)
KERNEL_VERSION = "3"
#: largest number of neighbours per atom accepted (GDyNet uses 12-20)
MAX_NEIGHBORS = 1000
#: k-d tree kernel: starting radius as a multiple of ``r0``
_SAFETY = 1.3
#: growth of the radius for atoms whose ``m``-th neighbour lies beyond it
_GROWTH = 1.5
#: cell list: a frame whose atoms crowd into few bins (a dense droplet in vacuum) goes to the k-d
#: tree when an atom's bin holds this many times the mean number of atoms per bin (measured
#: break-even ~150; a slab with 97 % vacuum scores 30 and is still 2x faster on the cell list)
_MAX_CROWDING = 100.0
#: atoms per k-d tree: small frames are batched so per-frame Python overhead stays small
_BATCH_ATOMS = 16384
_SOURCE = "neighbors"


def neighbors(positions: np.ndarray, cell: np.ndarray, m: int,
              pbc: bool | Sequence[bool] = True) -> tuple[np.ndarray, np.ndarray]:
    """The ``m`` nearest neighbours of every atom under periodic boundary conditions.

    Args:
        positions: ``(N, 3)`` or ``(F, N, 3)`` Cartesian coordinates in Å (wrapped or not).
        cell: ``(3, 3)`` or ``(F, 3, 3)`` cell matrices in Å, row ``k`` = lattice vector ``k``
            (any triclinic cell; one ``(3, 3)`` cell is used for every frame).
        m: neighbours per atom (``1 <= m <= MAX_NEIGHBORS``); may exceed ``N`` (images count)
            unless no axis is periodic.
        pbc: periodic along each lattice vector: one bool for all three, or three, e.g.
            ``(True, True, False)`` for a slab; no images across a non-periodic axis.

    Returns:
        ``(indices, distances)``, each ``(N, m)`` (or ``(F, N, m)``): ``indices`` int64 atom
        indices ``j`` of the neighbours, ``distances`` float32 ``d_ij(n)`` in Å, each row sorted
        nearest first. Neighbours at equal distance come in unspecified order.
    """
    pos, cells, single = _validate(positions, cell, m, pbc)
    n_frames, n_atoms = pos.shape[:2]
    indices = np.empty((n_frames, n_atoms, m), dtype=np.int64)
    distances = np.empty((n_frames, n_atoms, m), dtype=np.float32)
    per_batch = max(1, _BATCH_ATOMS // n_atoms)
    for start in range(0, n_frames, per_batch):
        batch = slice(start, start + per_batch)
        kdtree = np.ones(len(pos[batch]), dtype=bool)
        if numba is not None:
            kdtree = _cell_list_batch(pos[batch], cells[batch], indices[batch], distances[batch])
        if kdtree.any():
            frames = np.arange(n_frames)[batch][kdtree]
            indices[frames], distances[frames] = _kdtree_batch(pos[frames], cells[frames], m)
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


def _validate(positions: np.ndarray, cell: np.ndarray, m: int,
              pbc: bool | Sequence[bool]) -> tuple[np.ndarray, np.ndarray, bool]:
    """Check inputs; return ``(positions (F, N, 3), cells (F, 3, 3), was_single_frame)`` in float64,
    the cells' non-periodic vectors replaced as in the module docstring (:func:`_open_cells`)."""
    check_m(m)
    periodic = check_pbc(pbc)
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
    if not all(periodic):
        if not any(periodic) and m >= pos.shape[1]:
            raise GdynetError(f"{m} neighbours asked for, but with no periodic axis the {pos.shape[1]} atoms have "
                              f"only {pos.shape[1] - 1} neighbours each; ask for fewer (--neighbors)", _SOURCE)
        cells = _open_cells(pos, cells, periodic, m)
    volumes = np.abs(np.linalg.det(cells))
    if np.any(volumes < 1e-6):
        what = "cell" if all(periodic) else "cell (its periodic vectors)"
        raise GdynetError(f"singular {what} (volume {volumes.min():.3g} Å^3) at frame {int(np.argmin(volumes))}",
                          _SOURCE)
    return pos, cells, single


def check_pbc(pbc: bool | Sequence[bool]) -> tuple[bool, bool, bool]:
    """``True``/``False`` or three bools -> three bools; :class:`GdynetError` otherwise."""
    flags = np.asarray(pbc)
    if flags.shape == ():
        flags = np.repeat(flags, 3)
    if flags.shape != (3,) or flags.dtype.kind not in "biu" or not np.isin(flags, (0, 1)).all():
        raise GdynetError(f"pbc must be a bool or three bools (one per lattice vector), got {pbc!r}", _SOURCE)
    return tuple(bool(f) for f in flags)


def _open_cells(pos: np.ndarray, cells: np.ndarray, periodic: tuple[bool, bool, bool], m: int) -> np.ndarray:
    """Cells ``(F, 3, 3)`` whose non-periodic vectors are ``L_k e_k`` (module docstring), so that a fully
    periodic search over them finds no image across a non-periodic axis among the ``m`` nearest."""
    axes = np.flatnonzero(periodic)
    open_axes = np.flatnonzero(~np.asarray(periodic))
    lattice = cells[:, axes]  # (F, d, 3) the periodic vectors
    n_frames = len(pos)
    if len(axes) == 2:
        directions = [_unit(np.cross(lattice[:, 0], lattice[:, 1]))]
    elif len(axes) == 1:
        along = _unit(lattice[:, 0])
        helper = np.eye(3)[np.argmin(np.abs(along), axis=1)]  # the axis least parallel to the wire
        first = _unit(helper - np.einsum("fi,fi->f", helper, along)[:, None] * along)
        directions = [first, np.cross(along, first)]
    else:
        directions = list(np.broadcast_to(np.eye(3)[:, None], (3, n_frames, 3)))
    extents = np.stack([np.ptp(np.einsum("fni,fi->fn", pos, e), axis=1) for e in directions])  # (open, F)
    if len(axes):
        bound = _lattice_bound(lattice, m)
    else:
        bound = np.sqrt(np.sum(extents ** 2, axis=0))  # the bounding box's diagonal
    out = np.array(cells)
    for k, e, extent in zip(open_axes, directions, extents):
        out[:, k] = e * (extent + 1.01 * bound + 0.1)[:, None]
    return out


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows of ``vectors (F, 3)`` scaled to length 1 (zero rows stay zero: the volume check reports them)."""
    norm = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norm > 0, norm, 1.0)


def _lattice_bound(lattice: np.ndarray, m: int) -> np.ndarray:
    """``(F,)`` Å: the ``m``-th shortest of the vectors ``n·P``, ``0 < max|n_k| <= K``, of each frame's
    periodic vectors ``P (F, d, 3)``, with ``K`` the smallest giving ``(2K+1)^d - 1 >= m`` vectors.

    At least the ``m``-th shortest lattice vector, so at least every atom's ``m``-th neighbour distance
    (its own images already give ``m`` neighbours that near).
    """
    d = lattice.shape[1]
    reach = 0
    while (2 * reach + 1) ** d - 1 < m:
        reach += 1
    shifts = np.array([n for n in itertools.product(range(-reach, reach + 1), repeat=d) if any(n)], dtype=np.float64)
    lengths = np.linalg.norm(np.einsum("sd,fdi->fsi", shifts, lattice), axis=2)
    return np.partition(lengths, m - 1, axis=1)[:, m - 1]


def _kdtree_batch(pos: np.ndarray, cells: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
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


def _jit(function):
    """Compile ``function`` with numba (single thread, cached on disk) when numba is installed."""
    return function if numba is None else numba.njit(cache=True)(function)


def _cell_list_batch(pos: np.ndarray, cells: np.ndarray, indices: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """Frames ``pos (B, N, 3)``, ``cells (B, 3, 3)`` -> fill ``indices``/``distances`` ``(B, N, m)``.

    Returns ``(B,)`` bool: the crowded frames left for the k-d tree (their rows are not filled).
    """
    n_atoms, m = indices.shape[1:]
    frac = pos @ np.linalg.inv(cells)
    frac -= np.floor(frac)
    volumes = np.abs(np.linalg.det(cells))
    thickness = volumes[:, None] / np.linalg.norm(np.cross(cells[:, [1, 2, 0]], cells[:, [2, 0, 1]]), axis=2)
    r0 = np.array([cutoff_estimate(n_atoms, volume, m) for volume in volumes])
    return _cell_list_frames(frac, frac @ cells, cells.copy(), thickness, r0, indices, distances)  # copy: writable


@_jit
def _cell_list_frames(frac, cart, cells, thickness, r0, indices, distances):  # pragma: no cover (compiled)
    """Each frame: search all atoms with bins ``r0`` thick, then the unproven ones at larger radii.

    ``frac``/``cart`` ``(B, N, 3)`` wrapped fractional / Cartesian positions, ``thickness (B, 3)`` Å.
    Returns ``(B,)`` bool, true for the frames skipped as crowded (see ``_MAX_CROWDING``).
    """
    crowded = np.zeros(frac.shape[0], np.bool_)
    for f in range(frac.shape[0]):
        n_bins = np.maximum(1, (thickness[f] / r0[f]).astype(np.int64))
        counts = np.bincount(_flat_bins(frac[f], n_bins), minlength=n_bins[0] * n_bins[1] * n_bins[2])
        # atoms sharing an atom's bin (mean over atoms) vs atoms per bin; Poisson-uniform: ~1
        crowded[f] = np.sum(counts * (counts - 1)) / frac.shape[1] > _MAX_CROWDING * frac.shape[1] / counts.size
        if crowded[f]:
            continue
        todo = np.arange(frac.shape[1])
        radius = r0[f]
        while todo.size:
            todo = _cell_list_round(frac[f], cart[f], cells[f], thickness[f], r0[f], radius, todo,
                                    indices[f], distances[f])
            radius *= _GROWTH
    return crowded


@_jit
def _flat_bins(frac, n_bins):  # pragma: no cover (compiled)
    """Bin of each atom, ``frac (N, 3)`` in ``[0, 1]``, ``n_bins (3,)`` slabs per direction -> ``(N,)``."""
    atom_bin = np.minimum((frac * n_bins).astype(np.int64), n_bins - 1)
    return (atom_bin[:, 0] * n_bins[1] + atom_bin[:, 1]) * n_bins[2] + atom_bin[:, 2]


@_jit
def _cell_list_round(frac, cart, cell, thickness, width, radius, todo, indices, distances):  # pragma: no cover
    """Search the atoms ``todo`` within ``radius`` Å (rounded up to whole bins); write the rows proven
    exact into ``indices``/``distances`` ``(N, m)``, return the other atoms.

    ``frac``/``cart`` ``(N, 3)`` wrapped fractional / Cartesian (Å) positions, ``cell (3, 3)``,
    ``thickness (3,)`` Å; bins: ``n_k = max(1, floor(h_k / width))`` slabs per direction.
    """
    n_bins = np.maximum(1, (thickness / width).astype(np.int64))
    bin_width = thickness / n_bins
    reach = np.ceil(radius / bin_width).astype(np.int64)
    dims = n_bins + 2 * reach
    atom_bin = np.minimum((frac * n_bins).astype(np.int64), n_bins - 1)
    start, points, owner, home, by_bin = _padded_grid(frac, cart, cell, n_bins, reach)
    delta, sign, offset, min_gap2 = _bin_offsets(reach, bin_width, dims)
    m = indices.shape[1]
    row_d2 = np.empty(m)
    row_point = np.empty(m, np.int64)
    asked = np.zeros(frac.shape[0], np.bool_)
    asked[todo] = True
    queries = by_bin[asked[by_bin]]  # in memory order of the grid
    unproven = np.zeros(queries.size, np.bool_)
    for n_query in range(queries.size):
        q = queries[n_query]
        x0, x1, x2, me = cart[q, 0], cart[q, 1], cart[q, 2], home[q]
        u0 = frac[q, 0] * thickness[0] - atom_bin[q, 0] * bin_width[0]  # depth inside its bin along normal 0
        u1 = frac[q, 1] * thickness[1] - atom_bin[q, 1] * bin_width[1]
        u2 = frac[q, 2] * thickness[2] - atom_bin[q, 2] * bin_width[2]
        centre = (((atom_bin[q, 0] + reach[0]) * dims[1] + atom_bin[q, 1] + reach[1]) * dims[2]
                  + atom_bin[q, 2] + reach[2])  # the atom's own bin in the padded grid
        size = 0
        for k in range(delta.size):
            if size == m:
                worst = row_d2[m - 1]
                if min_gap2[k] > worst:  # this and every later bin lie beyond the m-th distance
                    break
                gap = max(0.0, sign[k, 0] * u0 + offset[k, 0], sign[k, 1] * u1 + offset[k, 1],
                          sign[k, 2] * u2 + offset[k, 2])
                if gap * gap > worst * (1.0 + 1e-9):
                    continue
            b = centre + delta[k]
            for p in range(start[b], start[b + 1]):
                if p == me:
                    continue
                dx, dy, dz = points[p, 0] - x0, points[p, 1] - x1, points[p, 2] - x2
                d2 = dx * dx + dy * dy + dz * dz
                if size < m:
                    i = size
                    size += 1
                elif d2 < row_d2[m - 1]:
                    i = m - 1
                else:
                    continue
                while i > 0 and row_d2[i - 1] > d2:  # insertion into the sorted row
                    row_d2[i], row_point[i] = row_d2[i - 1], row_point[i - 1]
                    i -= 1
                row_d2[i], row_point[i] = d2, p
        edge = min(u0 + reach[0] * bin_width[0], u1 + reach[1] * bin_width[1], u2 + reach[2] * bin_width[2],
                   (reach[0] + 1) * bin_width[0] - u0, (reach[1] + 1) * bin_width[1] - u1,
                   (reach[2] + 1) * bin_width[2] - u2)  # distance to the edge of the searched block
        if size < m or row_d2[m - 1] > edge * edge * (1.0 - 1e-9):
            unproven[n_query] = True
            continue
        for k in range(m):
            distances[q, k] = np.sqrt(row_d2[k])
            indices[q, k] = owner[row_point[k]]
    return queries[unproven]


@_jit
def _padded_grid(frac, cart, cell, n_bins, reach):  # pragma: no cover (compiled)
    """Bins of the cell padded by ``reach`` bins of periodic images on every side.

    Padded bin ``p`` (per direction) is bin ``(p - reach) mod n`` shifted by ``(p - reach) // n``
    cells; ``frac (N, 3)`` wrapped fractional positions, ``cart`` their Cartesian ones (Å). Returns
    ``start`` (bins + 1,) offsets of each padded bin's points, ``points (P, 3)``
    Cartesian image positions ``x_j + n·A``, ``owner (P,)`` atom ``j`` of each point and ``home (N,)``
    the point of each atom itself (``n = 0``), and ``by_bin (N,)`` the atoms sorted by bin.
    """
    flat = _flat_bins(frac, n_bins)
    real_start = np.zeros(n_bins[0] * n_bins[1] * n_bins[2] + 1, np.int64)  # counting sort by bin
    for atom in range(flat.size):
        real_start[flat[atom] + 1] += 1
    real_start = np.cumsum(real_start)
    filled = real_start[:-1].copy()
    order = np.empty(flat.size, np.int64)
    for atom in range(flat.size):
        order[filled[flat[atom]]] = atom
        filled[flat[atom]] += 1
    dims = n_bins + 2 * reach
    start = np.zeros(dims[0] * dims[1] * dims[2] + 1, np.int64)
    source = np.empty(dims[0] * dims[1] * dims[2], np.int64)
    shifts = np.empty((source.size, 3))
    b = 0
    for p0 in range(dims[0]):
        for p1 in range(dims[1]):
            for p2 in range(dims[2]):
                s0, r0 = divmod(p0 - reach[0], n_bins[0])
                s1, r1 = divmod(p1 - reach[1], n_bins[1])
                s2, r2 = divmod(p2 - reach[2], n_bins[2])
                source[b] = (r0 * n_bins[1] + r1) * n_bins[2] + r2
                for x in range(3):
                    shifts[b, x] = s0 * cell[0, x] + s1 * cell[1, x] + s2 * cell[2, x]
                start[b + 1] = start[b] + real_start[source[b] + 1] - real_start[source[b]]
                b += 1
    points = np.empty((start[-1], 3))
    owner = np.empty(start[-1], np.int64)
    home = np.empty(cart.shape[0], np.int64)
    for b in range(source.size):
        zero = shifts[b, 0] == 0.0 and shifts[b, 1] == 0.0 and shifts[b, 2] == 0.0
        p = start[b]
        for t in range(real_start[source[b]], real_start[source[b] + 1]):
            atom = order[t]
            for x in range(3):
                points[p, x] = cart[atom, x] + shifts[b, x]
            owner[p] = atom
            if zero:
                home[atom] = p
            p += 1
    return start, points, owner, home, order


@_jit
def _bin_offsets(reach, bin_width, dims):  # pragma: no cover (compiled)
    """Bin offsets ``o`` with ``|o_k| <= reach_k``, nearest first, as flat steps in the padded grid.

    For an atom at depth ``u_k`` in its bin, the bin at offset ``o`` lies at least
    ``max_k(sign_k · u_k + offset_k, 0)`` away (the gap to its nearest face plane in each
    direction). Sorted by ``min_gap = max_k (|o_k| - 1) · w_k``, the smallest this can be for
    any ``u``, then by centre distance. Returns ``(delta, sign, offset, min_gap²)``.
    """
    shape = 2 * reach + 1
    n = shape[0] * shape[1] * shape[2]
    steps = np.empty((n, 3), np.int64)
    sign, offset = np.empty((n, 3)), np.empty((n, 3))
    min_gap, centre = np.zeros(n), np.zeros(n)
    for k in range(n):
        steps[k, 0] = k // (shape[1] * shape[2]) - reach[0]
        steps[k, 1] = (k // shape[2]) % shape[1] - reach[1]
        steps[k, 2] = k % shape[2] - reach[2]
        for x in range(3):
            o = steps[k, x]
            sign[k, x] = -1.0 if o > 0 else (1.0 if o < 0 else 0.0)
            offset[k, x] = (o if o > 0 else max(-o - 1, 0)) * bin_width[x]
            min_gap[k] = max(min_gap[k], max(abs(o) - 1, 0) * bin_width[x])
            centre[k] += (o * bin_width[x]) ** 2
    by_centre = np.argsort(centre, kind="mergesort")
    order = by_centre[np.argsort(min_gap[by_centre], kind="mergesort")]
    delta = np.empty(n, np.int64)
    for k in range(n):
        delta[k] = (steps[order[k], 0] * dims[1] + steps[order[k], 1]) * dims[2] + steps[order[k], 2]
    return delta, sign[order], offset[order], min_gap[order] ** 2 * (1.0 - 1e-9)
