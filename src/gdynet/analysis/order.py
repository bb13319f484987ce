"""A structural baseline for the learned states: Steinhardt bond-orientational order per state
(Supplementary Fig. 2 of Xie et al., 2019).

For atom ``i`` with neighbours ``j`` within the cut-off ``r_c`` (all atoms, periodic images along
periodic axes only), Steinhardt, Nelson & Ronchetti, PRB 28, 784 (1983)::

    q_lm(i) = (1 / N_i) sum_j Y_lm(r_ij),      q_l(i) = sqrt( 4 pi / (2l + 1) sum_m |q_lm(i)|^2 )

Perfect crystals (every neighbour in the first shell) give q6 = 0.575 (FCC, 12 neighbours), 0.511
(BCC, 8 + 6 neighbours), 0.485 (HCP), 0.354 (simple cubic), and q3 = 0.745 for the four tetrahedral
neighbours of diamond; liquids give broad distributions at lower values. q6 suits close-packed
metals, q3 diamond-like solids (Si, Ge, ice). A target set of several atoms gets the mean ``q_l``
of its atoms. The averaged ``qbar_l`` of Lechner & Dellago (``q_lm`` averaged over the atom and its
neighbours first) equals ``q_l`` in a perfect crystal with one kind of site (0.447 = 3/5 of 0.745 for
q3 of diamond, whose two sublattices have opposite ``q_3m``) and separates a hot solid from its melt
far better: on the Cu (EAM, 1330 K) solid-liquid interface of ``gdynet example interface``, a
threshold on ``q6`` agrees with the ten Wolde-Frenkel solid-bond labels for 72 % of the atoms, on
``qbar6`` for 95 %.

For state ``s`` the distribution of ``q_l`` over the target sets is weighted by ``p_s(l, t)``;
comparing the states' distributions shows which learned states a conventional order parameter
already separates (solid from liquid) and which it cannot (solid or liquid at the interface).

The default cut-off is the first minimum of the RDF of the target atoms to all atoms, pooled over
the trajectories on up to ``CUTOFF_FRAMES`` frames each (see :func:`default_cutoff`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ..base.errors import GdynetError
from ..base.progress import frame_counter
from ..trajectory.core import Trajectory
from ..base.wording import number_list
from ..files.pages import release
from .pairs import as_lists, first_minimum, frame_pairs, strided_chunks

#: frames sampled for the default cut-off: enough for CUTOFF_SAMPLES target atoms, at least the first
#: bound in all and at most the second per trajectory
CUTOFF_FRAMES = (10, 200)
CUTOFF_SAMPLES = 2000
#: the default cut-off's RDF reaches this many mean interatomic spacings (V / N)^(1/3)
CUTOFF_RANGE = 2.5


def steinhardt(positions: np.ndarray, cell: np.ndarray, atoms: np.ndarray, l: int, cutoff: float,
               pbc: Any = (True, True, True), calculator: Any = None, *, average: bool = False) -> np.ndarray:
    """``q_l`` of ``atoms`` (indices) in one frame, neighbours among all ``positions`` ``(N, 3)`` Å.

    ``average=True`` gives Lechner & Dellago's averaged ``qbar_l`` (J. Chem. Phys. 129, 114707 (2008)):
    ``q_lm`` averaged over the atom and its neighbours before the norm is taken, which separates
    thermally disordered solid from liquid much better than ``q_l``.

    Returns ``(len(atoms),)``; NaN for an atom with no neighbour within ``cutoff`` Å.
    """
    import vesin

    calculator = calculator or vesin.NeighborList(cutoff=float(cutoff), full_list=True)
    i, j, vec = frame_pairs(calculator, np.asarray(positions, dtype=np.float64), cell, pbc, quantities="ijD")
    if not average:                                  # only the pairs that start at one of ``atoms``
        slot = np.full(len(positions), -1)
        slot[atoms] = np.arange(len(atoms))
        mine = slot[i] >= 0
        return _norm(_qlm(slot[i[mine]], vec[mine], len(atoms), l), l)
    qlm = np.nan_to_num(_qlm(i, vec, len(positions), l))         # every atom, (N, l + 1)
    own = np.isin(i, atoms)
    summed = qlm[atoms].copy()
    count = np.ones(len(atoms))
    slot = np.full(len(positions), -1)
    slot[atoms] = np.arange(len(atoms))
    np.add.at(summed, slot[i[own]], qlm[j[own]])
    np.add.at(count, slot[i[own]], 1.0)
    result = _norm(summed / count[:, None], l)
    result[count == 1] = np.nan                      # no neighbours
    return result


def _qlm(i: np.ndarray, vec: np.ndarray, n: int, l: int) -> np.ndarray:
    """``(n, l + 1)`` complex ``q_lm``, ``m = 0 .. l``: the mean of ``Y_lm`` over the bond vectors
    ``vec`` (Å) of each atom ``i``; NaN rows for atoms without bonds."""
    from scipy.special import sph_harm_y

    theta = np.arccos(np.clip(vec[:, 2] / np.linalg.norm(vec, axis=1), -1.0, 1.0))
    phi = np.arctan2(vec[:, 1], vec[:, 0]) % (2 * np.pi)
    Y = sph_harm_y(l, np.arange(l + 1)[:, None], theta[None], phi[None])      # (l + 1, pairs)
    out = np.empty((n, l + 1), dtype=np.complex128)
    for k in range(l + 1):
        out[:, k] = np.bincount(i, weights=Y[k].real, minlength=n) + 1j * np.bincount(i, weights=Y[k].imag,
                                                                                     minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return out / np.bincount(i, minlength=n)[:, None]


def _norm(qlm: np.ndarray, l: int) -> np.ndarray:
    """``sqrt(4 pi / (2l + 1) sum_{m=-l..l} |q_lm|^2)`` from ``m >= 0`` only (``|q_l,-m| = |q_lm|``)."""
    power = np.abs(qlm[:, 0]) ** 2 + 2.0 * np.sum(np.abs(qlm[:, 1:]) ** 2, axis=1)
    return np.sqrt(4 * np.pi / (2 * l + 1) * power)


def default_cutoff(traj: Trajectory | Sequence[Trajectory], frames: int | None = None) -> float:
    """First minimum (Å) of the RDF from the target atoms to all atoms, out to ``CUTOFF_RANGE`` mean
    interatomic spacings (of the first trajectory), pooled over every trajectory given, on ``frames``
    frames spread over each (default: enough for ``CUTOFF_SAMPLES`` target atoms in all, at most 200 per
    trajectory and at least 10 in all). The minimum must be a real one
    (:func:`~gdynet.analysis.pairs.first_minimum` with the pair counts): counting noise inside a broad
    shell does not end it."""
    import vesin

    trajs = [traj] if isinstance(traj, Trajectory) else list(traj)
    spacing = float(np.mean(trajs[0].volumes()) / trajs[0].n_atoms) ** (1 / 3)
    r_max, n_bins = CUTOFF_RANGE * spacing, 150
    calculator = vesin.NeighborList(cutoff=r_max, full_list=True)
    counts = np.zeros(n_bins)
    for t in trajs:
        atoms = np.zeros(t.n_atoms, dtype=bool)
        atoms[t.targets.ravel()] = True
        n = frames if frames is not None else int(np.clip(CUTOFF_SAMPLES // (t.targets.size * len(trajs)),
                                                          -(-CUTOFF_FRAMES[0] // len(trajs)), CUTOFF_FRAMES[1]))
        for f in np.unique(np.linspace(0, t.n_frames - 1, n).astype(int)):
            i, d = frame_pairs(calculator, np.asarray(t.positions[f], dtype=np.float64), t.cells[f], t.pbc,
                               quantities="id")
            counts += np.histogram(d[atoms[i]], bins=n_bins, range=(0.0, r_max))[0]
            release(t.positions)  # one frame resident at a time (:mod:`gdynet.files.pages`)
    edges = np.linspace(0.0, r_max, n_bins + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    try:
        return first_minimum(centres, counts / centres ** 2, smooth=2, counts=counts)
    except GdynetError as exc:
        raise GdynetError(f"order parameter cut-off: {exc} (give cutoff=, or --order-parameter q6:3.5 in the CLI)",
                          trajs[0].source) from None


@dataclass(frozen=True)
class StateOrderParameter:
    """Result of :func:`state_order_parameter`.

    Attributes:
        l: the degree (3, 4, 6, ...); cutoff_A: neighbour cut-off in Å; average: ``qbar_l`` (True) or ``q_l``.
        edges: ``(B+1,)`` bin edges of ``q_l`` on [0, 1].
        density: ``(S, B)`` probability density of ``q_l`` in each state (integrates to 1).
        mean: ``(S,)`` probability-weighted mean ``q_l`` of each state.
        n_frames: frames used.
        series: per trajectory, ``(F_k, n)`` ``q_l`` of each target set in the frames used (every
            ``stride``-th frame; NaN without neighbours): the input of the structure labels over time
            (:func:`gdynet.analysis.order_labels.labels_from_order`). Not part of :meth:`summary`.
    """

    l: int
    cutoff_A: float
    average: bool
    edges: np.ndarray
    density: np.ndarray
    mean: np.ndarray
    n_frames: int
    series: tuple[np.ndarray, ...] = field(default=(), repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"qbar{self.l}" if self.average else f"q{self.l}"

    def __repr__(self) -> str:
        return (f"StateOrderParameter({self.name}, neighbours within {self.cutoff_A:.3g} Å, {len(self.mean)} states, "
                f"{self.n_frames} frames; mean {self.name} {number_list(self.mean)})")

    def summary(self) -> dict[str, Any]:
        """JSON numbers: ``name`` (q6, qbar6, ...), ``l``, ``average``, ``cutoff_A``, ``edges``,
        ``density`` (S lists), ``mean`` (S)."""
        return {"name": self.name, "l": self.l, "average": self.average, "cutoff_A": self.cutoff_A, "edges": self.edges.tolist(),
                "density": self.density.tolist(), "mean": self.mean.tolist(), "n_frames": self.n_frames}


def state_order_parameter(traj: Trajectory | Sequence[Trajectory], chi: np.ndarray | Sequence[np.ndarray], *,
                          l: int = 6, cutoff: float | None = None, average: bool = False, n_bins: int = 50,
                          stride: int = 1, chunk_frames: int | None = None,
                          progress: bool = False, check_source: bool = True) -> StateOrderParameter:
    """Distribution of the Steinhardt ``q_l`` of the target sets in each state (module docstring).

    One pass over the frames: the ``q_l`` of every target set in every frame used is kept in
    ``series``, so labels over time come from the same computation as the histograms.

    Args:
        traj: trajectory with its target sets, or a list of them (with a list of ``chi``; pooled).
        chi: ``(F, n, S)`` state probabilities, or the :class:`~gdynet.base.states.StateProbabilities` of ``traj``.
        l: degree of the order parameter (6 for close-packed, 3 for diamond-like solids).
        cutoff: neighbour cut-off in Å (default: :func:`default_cutoff` of all the trajectories).
        average: Lechner-Dellago ``qbar_l`` instead of ``q_l`` (see :func:`steinhardt`).
        n_bins: histogram bins on [0, 1]; stride: use every ``stride``-th frame.
        progress: a progress bar on a terminal's stderr.
        check_source: refuse a :class:`~gdynet.base.states.StateProbabilities` computed from another
            trajectory (its ``trajectory_id``); False skips that check.

    Returns:
        :class:`StateOrderParameter`.
    """
    trajs, chis = as_lists(traj, chi, check_source)
    source = trajs[0].source
    if int(l) < 1 or int(n_bins) < 1:
        raise GdynetError(f"the order parameter degree l and n_bins must be positive, got {l!r} and {n_bins!r}",
                          source)
    cutoff = default_cutoff(trajs) if cutoff is None else float(cutoff)
    if not (np.isfinite(cutoff) and cutoff > 0):
        raise GdynetError(f"order parameter cut-off must be a positive distance in Å, got {cutoff!r}", source)
    series = []
    with frame_counter(f"q{l}", sum(len(range(0, t.n_frames, int(stride))) for t in trajs), enabled=progress) as advance:
        for t in trajs:
            series.append(target_order(t, int(l), cutoff, average, stride, chunk_frames, advance))
    sums = [_histogram(q, c[::int(stride)], int(n_bins)) for q, c in zip(series, chis)]
    hist, total, weight = (sum(part[k] for part in sums) for k in range(3))
    if np.any(weight <= 0):
        raise GdynetError(f"no target set with neighbours within {cutoff:g} Å in state(s) "
                          f"{np.flatnonzero(weight <= 0).tolist()}", source)
    return StateOrderParameter(l=int(l), cutoff_A=cutoff, average=bool(average),
                               edges=np.linspace(0.0, 1.0, int(n_bins) + 1),
                               density=hist * int(n_bins) / weight[:, None], mean=total / weight,
                               n_frames=sum(len(q) for q in series), series=tuple(series))


def target_order(traj: Trajectory, l: int, cutoff: float, average: bool = False, stride: int = 1,
                 chunk_frames: int | None = None, advance: Callable[[int], None] | None = None) -> np.ndarray:
    """``(F', n)`` ``q_l`` of each target set (mean over its atoms) in every ``stride``-th frame,
    streamed in chunks with one neighbour-list calculator; NaN for a set with an atom without
    neighbours within ``cutoff`` Å. ``advance(frames)`` is called after each chunk."""
    import vesin

    calculator = vesin.NeighborList(cutoff=cutoff, full_list=True)
    atoms = traj.targets.ravel()
    out = []
    for frames, block, cells in strided_chunks(traj, stride, chunk_frames):
        out += [steinhardt(block[f], cells[f], atoms, l, cutoff, traj.pbc, calculator,
                           average=average).reshape(traj.targets.shape).mean(axis=1) for f in range(len(frames))]
        if advance is not None:
            advance(len(frames))
    return np.array(out, dtype=np.float64).reshape(-1, traj.n_targets)


def _histogram(q: np.ndarray, chi: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw sums of one trajectory from ``q`` ``(F, n)`` and ``chi`` ``(F, n, S)``: ``sum p_s [q in bin]``
    ``(S, B)``, ``sum p_s q`` and ``sum p_s`` ``(S,)`` over the target sets that have neighbours."""
    ok = np.isfinite(q)
    p = np.asarray(chi, dtype=np.float64)[ok]                        # (m, S)
    q = q[ok]
    index = np.clip((q * bins).astype(np.int64), 0, bins - 1)
    hist = np.stack([np.bincount(index, weights=p[:, s], minlength=bins) for s in range(p.shape[1])])
    return hist, p.T @ q, p.sum(axis=0)
