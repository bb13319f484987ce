"""Symmetry checks on the user's data (summary.json ``graph`` and ``invariance_check``).

* ``graph.tied_shell_fraction``: the share of atoms, in a sample of the analysed frames, whose M-th and
  (M+1)-th neighbours lie within ``TIE_TOLERANCE_A`` (an exactly tied shell, as in a perfect or frozen
  crystal). The smooth shell weights (:mod:`gdynet.graphs.shells`) keep the graphs symmetric anyway,
  but such a shell is then only half counted (or not at all); above ``TIED_WARN`` a warning and a
  report line name the nearest values of M that close a shell.
* ``invariance_check``: the trained network's output on a few analysed frames, again after shifting
  every atom by one random vector (wrapped along periodic axes) and permuting the atom indices; the
  largest change must be rounding (below ``INVARIANCE_TOLERANCE``), otherwise a warning.
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from ..base.errors import GdynetWarning
from ..graphs.neighbors import neighbors as nearest
from ..graphs.shells import TIE_TOLERANCE_A, TIED_WARN, graph_width, shell_closings, tied_fraction
from ..network.forward import run_network
from ..network.inputs import ArraySource
from ..trajectory.core import Trajectory

#: frames (over all analysed trajectories) sampled for the tie count / the invariance check
SHELL_FRAMES = 8
INVARIANCE_FRAMES = 3
#: the random shift of the invariance check: each Cartesian component uniform in +-SHIFT_A Å
SHIFT_A = 10.0
#: largest change of chi under a shift and a permutation of the atoms that counts as rounding: float32
#: sums in another order (1e-7) plus shell weights moved by the rounding of shifted positions
#: (|dw/dd| <= pi / (4 delta) = 31 / Å times ~1e-6 Å)
INVARIANCE_TOLERANCE = 1e-4


def frame_chi(model: Any, positions: np.ndarray, cells: np.ndarray, numbers: np.ndarray, targets: np.ndarray,
              pbc: bool | Sequence[bool] = True) -> np.ndarray:
    """The GDyNet ``model``'s output ``(F, n, S)`` (float64) on frames ``positions (F, N, 3)`` Å with
    ``cells (F, 3, 3)`` (or one ``(3, 3)``), graphs built in memory for the model's M neighbours."""
    idx, dist = nearest(positions, cells, graph_width(model.neighbors), pbc)
    source = ArraySource({"nbr_idx": idx, "nbr_dist": dist}, {"numbers": numbers, "targets": targets},
                         n_targets=len(targets))
    device = next(model.parameters()).device
    return run_network(model, source, device=device, batch_size=len(idx)).astype(np.float64)


def invariance_check(model: Any, trajs: Sequence[Trajectory], frames: int = INVARIANCE_FRAMES,
                     seed: int = 0) -> dict[str, Any]:
    """Largest change of the model's output on ``frames`` sampled frames of ``trajs`` when every atom is
    shifted by one random vector (wrapped along periodic axes: ``shift``) and, in addition, the atoms are
    relabelled by a random permutation (``permutation``); ``invariant`` when both stay below
    ``INVARIANCE_TOLERANCE`` (a GdynetWarning otherwise)."""
    rng = np.random.default_rng(seed)
    shift = permutation = 0.0
    sample = _sample(trajs, frames)
    for traj, frame in sample:
        pos, cell = np.asarray(traj.positions[frame], dtype=np.float64)[None], traj.cells[frame][None]
        base = frame_chi(model, pos, cell, traj.numbers, traj.targets, traj.pbc)
        moved = _wrap(pos + rng.uniform(-SHIFT_A, SHIFT_A, 3), cell[0], traj.pbc)
        shift = max(shift, float(np.abs(frame_chi(model, moved, cell, traj.numbers, traj.targets, traj.pbc)
                                        - base).max()))
        order = rng.permutation(traj.n_atoms)
        new_index = np.argsort(order)  # atom i of the frame is atom new_index[i] after relabelling
        chi = frame_chi(model, moved[:, order], cell, traj.numbers[order], new_index[traj.targets], traj.pbc)
        permutation = max(permutation, float(np.abs(chi - base).max()))
    worst = max(shift, permutation)
    result = {"frames": len(sample), "shift": shift,
              "shift_and_permutation": permutation, "max_change": worst, "tolerance": INVARIANCE_TOLERANCE,
              "invariant": worst <= INVARIANCE_TOLERANCE}
    if not result["invariant"]:
        warnings.warn(GdynetWarning(
            f"the trained model's state probabilities change by up to {worst:.2g} when the atoms are shifted "
            f"and relabelled (rounding would stay below {INVARIANCE_TOLERANCE:g}): please report this as a bug"),
            stacklevel=2)
    return result


def graph_check(trajs: Sequence[Trajectory], neighbors: int, frames: int = SHELL_FRAMES) -> dict[str, Any]:
    """summary.json ``graph``: ``neighbors`` M, stored ``width``, ``tied_shell_fraction`` on ``frames``
    sampled frames and, when that exceeds ``TIED_WARN``, ``shell_closing_neighbors`` (nearest M below
    and above that close a shell, on two frames) with a GdynetWarning."""
    sample = _sample(trajs, frames)
    fractions, weights = [], []
    for traj, frame in sample:
        _, d = nearest(traj.positions[frame], traj.cells[frame], neighbors + 1, traj.pbc)
        fractions.append(tied_fraction(d, neighbors))
        weights.append(traj.n_atoms)
    tied = float(np.average(fractions, weights=weights))
    result: dict[str, Any] = {"neighbors": int(neighbors), "width": graph_width(neighbors),
                              "tied_shell_fraction": tied, "tie_tolerance_A": TIE_TOLERANCE_A,
                              "shell_closing_neighbors": None}
    if tied > TIED_WARN:
        traj, frame = sample[0]
        reach = 2 * neighbors + 2 if any(traj.pbc) else min(2 * neighbors + 2, traj.n_atoms - 1)
        _, d = nearest(traj.positions[frame], traj.cells[frame], reach, traj.pbc)
        closings = [k for k in shell_closings(d, neighbors) if k is not None]
        result["shell_closing_neighbors"] = closings
        warnings.warn(GdynetWarning(shell_line(result)), stacklevel=2)
    return result


def shell_line(graph: dict[str, Any]) -> str:
    """The warning / report sentence for a ``graph`` entry with a sizeable tied shell."""
    closings = graph["shell_closing_neighbors"] or []
    advice = (f"shells close at --neighbors {' or '.join(map(str, closings))}" if closings
              else "no nearby value of --neighbors closes a shell")
    return (f"--neighbors {graph['neighbors']} cuts an exactly tied neighbour shell for "
            f"{graph['tied_shell_fraction']:.0%} of the sampled atoms (M-th and next distances within "
            f"{graph['tie_tolerance_A']:g} Å, as in a perfect or frozen crystal); such a shell counts half "
            f"or not at all, the same for all its members; {advice}")


def invariance_line(check: dict[str, Any]) -> str:
    """The report sentence for an ``invariance_check`` entry."""
    return (f"state probabilities change by at most {check['max_change']:.2g} when {check['frames']} analysed "
            f"frames are shifted by a random vector and their atoms relabelled "
            f"({'rounding' if check['invariant'] else 'NOT rounding'}: tolerance {check['tolerance']:g})")


def symmetry_checks(model: Any, kind: str, trajs: Sequence[Trajectory]) -> tuple[dict[str, Any], dict[str, str]]:
    """summary.json entries ``graph`` and ``invariance_check`` and their report lines for a trained
    ``model`` of ``kind`` on the analysed ``trajs`` (both None for the global VAMPnet, which has no
    graphs and is not translation invariant)."""
    if kind != "gdynet":
        return {"graph": None, "invariance_check": None}, {}
    graph = graph_check(trajs, model.neighbors)
    check = invariance_check(model, trajs)
    lines = {"invariance check": invariance_line(check)}
    if graph["tied_shell_fraction"] > TIED_WARN:
        lines["neighbour shells"] = shell_line(graph)
    return {"graph": graph, "invariance_check": check}, lines


def _sample(trajs: Sequence[Trajectory], count: int) -> list[tuple[Trajectory, int]]:
    """Up to ``count`` ``(trajectory, frame)`` pairs spread evenly over all frames of ``trajs``."""
    sizes = np.array([t.n_frames for t in trajs])
    picks = np.unique(np.linspace(0, sizes.sum() - 1, min(count, int(sizes.sum()))).astype(np.int64))
    owner = np.searchsorted(np.cumsum(sizes), picks, side="right")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return [(trajs[k], int(p - starts[k])) for k, p in zip(owner, picks)]


def _wrap(positions: np.ndarray, cell: np.ndarray, pbc: Sequence[bool]) -> np.ndarray:
    """``positions (..., 3)`` Å moved by periodic lattice vectors into the cell along the periodic axes
    (the cell's other vectors are not used: they may be degenerate for a slab or a wire)."""
    lattice = cell[np.asarray(pbc, dtype=bool)]
    if not len(lattice):
        return positions
    return positions - np.floor(positions @ np.linalg.pinv(lattice)) @ lattice
