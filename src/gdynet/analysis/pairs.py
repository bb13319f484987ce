"""Shared pieces of the shell analyses (charge integral, order parameter, state charges).

* :func:`wrap_periodic` puts points into the cell along its periodic axes only (a non-periodic axis
  of a slab keeps its coordinates, and no images are searched across it);
* :func:`frame_pairs` lists every pair within a cut-off in one frame with vesin, honouring
  ``Trajectory.pbc`` per axis;
* :func:`first_minimum` finds the first minimum of a radial distribution after its first peak (the
  usual first-shell radius).
"""
from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

from ..base.errors import GdynetError
from ..base.states import check_chi
from ..trajectory.core import Trajectory

#: fewest partner atoms per neighbour search in :func:`reference_pairs`
GROUP_MIN = 200


def as_lists(traj: Any, chi: Any, check_source: bool = True) -> tuple[list[Trajectory], list[Any]]:
    """``(trajectories, chis)`` as two lists of equal length from one trajectory or a sequence.

    ``chi`` is an ``(F, n, S)`` array or a :class:`~gdynet.base.states.StateProbabilities` per trajectory;
    each is checked against its trajectory (:func:`gdynet.base.states.check_chi`; with ``check_source``,
    also that it was computed from that trajectory).
    """
    if isinstance(traj, Trajectory):
        return [traj], [check_chi(chi, traj, check_source=check_source)]
    trajs, chis = list(traj), list(chi)
    if len(trajs) != len(chis) or not trajs:
        raise GdynetError(f"got {len(trajs)} trajectories but {len(chis)} chi arrays")
    return trajs, [check_chi(c, t, check_source=check_source) for t, c in zip(trajs, chis)]


def strided_chunks(traj: Trajectory, stride: int = 1,
                   chunk_frames: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Every ``stride``-th frame, in blocks: ``(frame indices (f,), positions (f, N, 3) Å, cells (f, 3, 3))``."""
    if int(stride) < 1:
        raise GdynetError(f"stride must be a positive integer, got {stride!r}", traj.source)
    stride = int(stride)
    for start, block, cells in traj.iter_chunks(chunk_frames):
        first = (-start) % stride
        if first < len(block):
            frames = start + np.arange(first, len(block), stride)
            yield frames, block[first::stride], cells[first::stride]


def periodic_fractions(points: np.ndarray, cell: np.ndarray, pbc: Sequence[bool]) -> np.ndarray:
    """Fractional coordinates ``(P, 3)`` of ``points`` ``(P, 3)`` Å in ``cell`` (rows = lattice vectors),
    wrapped into [0, 1) along the periodic axes and kept as they are along non-periodic ones."""
    frac = np.asarray(points, dtype=np.float64) @ np.linalg.inv(cell)
    periodic = np.asarray(pbc, dtype=bool)
    frac[:, periodic] -= np.floor(frac[:, periodic])
    return frac


def wrap_periodic(points: np.ndarray, cell: np.ndarray, pbc: Sequence[bool]) -> np.ndarray:
    """``points`` ``(P, 3)`` in Å, wrapped into ``cell`` along its periodic axes only."""
    return periodic_fractions(points, cell, pbc) @ cell


def frame_pairs(calculator: Any, points: np.ndarray, cell: np.ndarray, pbc: Sequence[bool],
                quantities: str = "ijd") -> list[np.ndarray]:
    """All pairs within ``calculator``'s cut-off among ``points`` ``(P, 3)`` Å in one frame.

    ``calculator`` is a ``vesin.NeighborList``; periodic images are included along the axes where
    ``pbc`` is true and nowhere else. Returns the vesin ``quantities`` (copies, float64/int64).
    """
    points = wrap_periodic(points, cell, pbc)
    return [np.array(q) for q in calculator.compute(points, cell, [bool(b) for b in pbc],
                                                    quantities=quantities, copy=False)]


def reference_pairs(calculator: Any, refs: np.ndarray, others: np.ndarray, cell: np.ndarray,
                    pbc: Sequence[bool]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (reference, other point, distance) pair within the cut-off, images along periodic axes.

    ``refs`` ``(n, 3)`` and ``others`` ``(P, 3)`` in Å. vesin lists all pairs among the points it is
    given, so the others are searched in groups of ``max(GROUP_MIN, 3 n)`` together with the
    references: the other-other pairs, most of the work when others outnumber references, are only
    formed within a group. Returns int64 reference and other indices and float64 distances (Å).
    """
    n_ref = len(refs)
    found = [(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))]
    for local in np.array_split(np.arange(len(others)), max(1, -(-len(others) // max(GROUP_MIN, 3 * n_ref)))):
        i, j, d = frame_pairs(calculator, np.concatenate([refs, others[local]]), cell, pbc)
        ref_first, ref_second = (i < n_ref) & (j >= n_ref), (j < n_ref) & (i >= n_ref)   # half list
        found.append((np.concatenate([i[ref_first], j[ref_second]]).astype(np.int64),
                      local[np.concatenate([j[ref_first], i[ref_second]]).astype(np.int64) - n_ref],
                      np.concatenate([d[ref_first], d[ref_second]])))
    ref, other, dist = (np.concatenate(parts) for parts in zip(*found))
    return ref, other, dist


def first_minimum(r: np.ndarray, g: np.ndarray, smooth: int = 0) -> float:
    """First minimum (Å) of a radial distribution ``g(r)`` after its highest peak within the first
    half of ``r``: the first bin after that peak where ``g`` stops decreasing; across a flat run of
    equal values (an empty gap between the shells of a crystal) the middle of the run. ``smooth``:
    half-width in bins of a triangular moving average applied first (against counting noise).

    Raises :class:`GdynetError` when ``g`` decreases up to the last bin (no minimum within range).
    """
    r, g = np.asarray(r, dtype=np.float64), np.asarray(g, dtype=np.float64)
    if smooth > 0:
        kernel = np.convolve(np.ones(smooth + 1), np.ones(smooth + 1))
        g = np.convolve(np.pad(g, smooth, mode="edge"), kernel / kernel.sum(), mode="valid")
    if len(r) < 3 or not np.any(g > 0):
        raise GdynetError("no neighbours within range; cannot place a first-shell radius")
    peak = int(np.argmax(g[: max(2, len(g) // 2)]))
    k = peak + 1
    while k + 1 < len(g) and g[k + 1] <= g[k]:
        k += 1
    if k + 1 >= len(g):
        raise GdynetError(f"g(r) has no minimum after its first peak below {r[-1]:.3g} Å; give the radius")
    start = k
    while start > peak + 1 and g[start - 1] == g[k]:
        start -= 1
    return float(0.5 * (r[start] + r[k]))
