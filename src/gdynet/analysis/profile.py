"""Where each state lives along an axis: state density profiles and one-frame snapshots (Fig. 3b, c).

For an interface with normal along ``axis``, the probability-weighted density of state ``s`` in the
slab ``b`` (bins of equal width across the cell) is::

    rho_s(b) = (1 / F) sum_t sum_l p_s(l, t) [x_l(t) in b] / V_b(t)      (target sets per Å^3)

with ``x_l`` the position of target set ``l`` (centre of mass for ``k > 1``) along the axis and
``V_b = V / B`` the slab volume (for a non-periodic axis, the span of the data instead of the cell).
Summed over the states it is the number density of the target sets; integrated over the axis
(``sum_b rho_s(b) V_b``) it is the mean number of target sets in state ``s``.

Axes:

* ``"a"``, ``"b"``, ``"c"``: along the normal of the plane of the two other cell vectors; the
  coordinate is the fractional coordinate along that vector times the cell width ``V / |u x v|``
  (for an orthogonal cell, simply the Cartesian coordinate along the vector);
* ``"x"``, ``"y"``, ``"z"``: Cartesian; allowed when exactly one cell vector has a component along
  that axis (e.g. ``z`` in a LAMMPS cell, whose ``a`` and ``b`` lie in the xy plane), which then
  gives the same slabs as that cell vector.

Along a periodic axis positions are wrapped into the cell; along a non-periodic one (``Trajectory.pbc``)
they are not, and the bins span the range the target sets visit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np

from ..base.errors import GdynetError
from ..base.states import check_chi
from ..base.option_names import option
from ..trajectory.core import Trajectory
from ..base.wording import number_list
from .pairs import as_lists, periodic_fractions, strided_chunks
from .unwrap import target_centers, target_masses

AXES = ("x", "y", "z", "a", "b", "c")


def cell_axis(cells: np.ndarray, axis: str, source: str | None = None) -> int:
    """Index of the cell vector whose slabs the profile ``axis`` (x/y/z/a/b/c) bins (``--profile`` in the CLI)."""
    name = str(axis).strip().lower()
    if name not in AXES:
        raise GdynetError(f"{option('axis')} must be one of {', '.join(AXES)}, got {axis!r}", source)
    if name in "abc":
        return "abc".index(name)
    k = "xyz".index(name)
    comps = np.abs(np.asarray(cells)[:, :, k])                   # (F, 3): component of each vector
    along = comps > 1e-6 * comps.max(axis=1, keepdims=True)
    owners = np.flatnonzero(along.any(axis=0))
    if len(owners) != 1:
        names = " and ".join("abc"[i] for i in owners)
        raise GdynetError(f"{option('axis')} {name}: cell vectors {names} all have a {name} component (a tilted cell), "
                          f"so {name} slabs do not follow the cell; use a cell vector, {option('axis')} a, b or c", source)
    return int(owners[0])


def cell_widths(cells: np.ndarray, m: int) -> np.ndarray:
    """``(F,)`` width of each cell along the normal of the plane of the two vectors other than ``m`` (Å)."""
    u, v = [i for i in range(3) if i != m]
    area = np.linalg.norm(np.cross(cells[:, u], cells[:, v]), axis=1)
    return np.abs(np.linalg.det(cells)) / area


@dataclass(frozen=True)
class StateProfile:
    """Result of :func:`state_profile`.

    Attributes:
        axis: the axis name (x/y/z/a/b/c); cell_vector: index of the cell vector it bins.
        edges: ``(B+1,)`` bin edges in Å along the axis (mean cell width).
        density: ``(S, B)`` probability-weighted density of every state, target sets per Å^3.
        n_frames: frames averaged.
    """

    axis: str
    cell_vector: int
    edges: np.ndarray
    density: np.ndarray
    n_frames: int

    @property
    def centers(self) -> np.ndarray:
        """``(B,)`` bin centres in Å."""
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    def __repr__(self) -> str:
        densest = self.centers[np.argmax(self.density, axis=1)]
        return (f"StateProfile({len(self.density)} states along {self.axis}, {len(self.centers)} slabs "
                f"{self.edges[0]:.4g}–{self.edges[-1]:.4g} Å, {self.n_frames} frames; densest at "
                f"{number_list(densest)} Å)")

    def summary(self) -> dict[str, Any]:
        """JSON numbers: ``axis``, ``edges_A``, ``density`` (S lists, target sets per Å^3)."""
        return {"axis": self.axis, "edges_A": self.edges.tolist(), "density": self.density.tolist(),
                "unit": "target sets per Å^3", "n_frames": self.n_frames}


def _fractions(traj: Trajectory, m: int, stride: int,
               chunk_frames: int | None) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per block of used frames: (frame indices, fractional coordinate of every target centre along
    vector ``m`` ``(f, n)``, wrapped when that axis is periodic, cells ``(f, 3, 3)``)."""
    masses = target_masses(traj.numbers, traj.targets)
    for frames, block, cells in strided_chunks(traj, stride, chunk_frames):
        centers = target_centers(block, cells, traj.targets, masses, traj.pbc)
        frac = np.einsum("fni,fi->fn", centers, np.linalg.inv(cells)[:, :, m])
        if traj.pbc[m]:
            frac -= np.floor(frac)
        yield frames, frac, cells


def state_profile(traj: Trajectory | Sequence[Trajectory], chi: np.ndarray | Sequence[np.ndarray], *,
                  axis: str = "z", n_bins: int = 100, stride: int = 1,
                  chunk_frames: int | None = None, check_source: bool = True) -> StateProfile:
    """Probability-weighted density of each state in slabs along ``axis`` (module docstring), averaged
    over the frames (Fig. 3c of Xie et al., 2019).

    Args:
        traj: trajectory with its target sets (positions may be a memory map, streamed), or a list
            of them (with a list of ``chi``): one profile averaged over all their frames.
        chi: ``(F, n, S)`` state probabilities, or the :class:`~gdynet.base.states.StateProbabilities` of ``traj``.
        axis: ``"x"``, ``"y"``, ``"z"`` (Cartesian) or ``"a"``, ``"b"``, ``"c"`` (cell vectors).
        n_bins: number of slabs across the cell.
        stride: use every ``stride``-th frame.
        chunk_frames: frames read at a time.
        check_source: refuse a :class:`~gdynet.base.states.StateProbabilities` computed from another
            trajectory (its ``trajectory_id``); False skips that check.

    Returns:
        :class:`StateProfile` (density in target sets per Å^3).
    """
    trajs, chis = as_lists(traj, chi, check_source)
    if int(n_bins) < 1 or int(stride) < 1:
        raise GdynetError(f"n_bins and stride must be positive integers, got {n_bins!r} and {stride!r}",
                          trajs[0].source)
    bins, stride = int(n_bins), int(stride)
    m = cell_axis(trajs[0].cells, axis, trajs[0].source)
    if any(cell_axis(t.cells, axis, t.source) != m or t.pbc[m] != trajs[0].pbc[m] for t in trajs):
        raise GdynetError(f"{option('axis')} {axis}: the trajectories' cells or periodicity differ along that axis")
    low, high = 0.0, 1.0
    if not trajs[0].pbc[m]:                              # bins span the range the targets visit
        spans = [(f.min(), f.max()) for t in trajs for _, f, _ in _fractions(t, m, stride, chunk_frames)]
        low, high = min(s[0] for s in spans), max(s[1] for s in spans)
        high = high if high > low else low + 1.0
    density = np.zeros((chis[0].shape[2], bins))
    used = 0
    for t, c in zip(trajs, chis):
        for frames, frac, cells in _fractions(t, m, stride, chunk_frames):
            index = np.clip(((frac - low) * (bins / (high - low))).astype(np.int64), 0, bins - 1)
            slab = np.abs(np.linalg.det(cells)) * (high - low) / bins        # (f,) Å^3
            probs = np.asarray(c[frames], dtype=np.float64) / slab[:, None, None]
            for s in range(len(density)):
                density[s] += np.bincount(index.ravel(), weights=probs[:, :, s].ravel(), minlength=bins)
            used += len(frames)
    width = float(np.mean(np.concatenate([cell_widths(t.cells[::stride], m) for t in trajs])))
    return StateProfile(axis=str(axis).strip().lower(), cell_vector=m,
                        edges=np.linspace(low, high, bins + 1) * width, density=density / used, n_frames=used)


@dataclass(frozen=True)
class StateSnapshot:
    """One frame seen along a cell axis, for :func:`gdynet.report.figures.save_state_snapshot`.

    Attributes:
        horizontal, vertical: ``(N,)`` coordinates of every atom in Å (horizontal: along the profile
            axis; vertical: along the remaining cell vector), wrapped along periodic axes.
        state: ``(N,)`` most likely state of the target set an atom belongs to, ``-1`` for other atoms.
        labels: axis names ``(horizontal, vertical, viewed along)``.
        frame: the frame index; time_ps its time.
    """

    horizontal: np.ndarray
    vertical: np.ndarray
    state: np.ndarray
    labels: tuple[str, str, str]
    frame: int
    time_ps: float

    def __repr__(self) -> str:
        return (f"StateSnapshot(frame {self.frame}, t = {self.time_ps:g} ps, {len(self.state)} atoms, "
                f"{int((self.state >= 0).sum())} in target sets, seen along {self.labels[2]})")


def state_snapshot(traj: Trajectory, chi: np.ndarray, *, axis: str = "z", frame: int | None = None,
                   check_source: bool = True) -> StateSnapshot:
    """Atoms of one frame (default: the middle one) coloured by their most likely state, projected
    along a periodic cell vector other than the profile ``axis`` (Fig. 3b of Xie et al., 2019); ``chi``
    an ``(F, n, S)`` array or the :class:`~gdynet.base.states.StateProbabilities` of ``traj`` (one computed
    from another trajectory is refused unless ``check_source`` is False)."""
    chi = check_chi(chi, traj, check_source=check_source)
    m = cell_axis(traj.cells, axis, traj.source)
    frame = traj.n_frames // 2 if frame is None else int(frame)
    if not 0 <= frame < traj.n_frames:
        raise GdynetError(f"frame {frame} is outside 0..{traj.n_frames - 1}", traj.source)
    others = [i for i in range(3) if i != m]
    view = next((i for i in others if traj.pbc[i]), others[0])
    up = next(i for i in others if i != view)
    cell = traj.cells[frame]
    frac = periodic_fractions(np.asarray(traj.positions[frame]), cell, traj.pbc)
    widths = {i: float(cell_widths(cell[None], i)[0]) for i in (m, up)}
    state = np.full(traj.n_atoms, -1, dtype=np.int64)
    state[traj.targets] = np.argmax(np.asarray(chi[frame]), axis=1)[:, None]
    name = str(axis).strip().lower()
    return StateSnapshot(horizontal=frac[:, m] * widths[m], vertical=frac[:, up] * widths[up], state=state,
                         labels=(name, "abc"[up], "abc"[view]), frame=frame, time_ps=frame * traj.dt_ps)
