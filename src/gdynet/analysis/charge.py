"""Charge in each state's solvation shell (Fig. 4c of Xie et al., 2019) and the state charges it gives
(Supplementary Table 1).

The charge integral of state ``s`` counts the partial charges ``q_j`` (e, ``Trajectory.charges``)
of all atoms within ``r`` of a target set (centre of mass for ``k > 1``; the set's own atoms and
their periodic images excluded), weighted by the probability that the set is in state ``s``::

    Q_s(r) = sum_t sum_l p_s(l,t) sum_{j not in l} q_j [r_lj(t) < r]  /  sum_t sum_l p_s(l,t)

The same sums without the charges give the mean number of atoms within ``r``, ``n_s(r)``, and the
state-weighted all-atom RDF ``g_s(r)`` (Eq. 12 with every other atom as partner), whose first minimum
after the first peak is the first-shell radius ``r_s``. The charge of a state for the conduction
analysis (Eq. 15) is the target set's own charge plus the charge of its first shell,
``z_s = q_own + Q_s(r_s)``, as the paper's Supplementary Table 1 (e.g. Li+ with two TFSI- in its
shell: z = -1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..base.errors import GdynetError
from ..base.states import check_chi
from ..base.option_names import option
from ..trajectory.core import Trajectory
from ..base.wording import number_list
from .pairs import as_lists, first_minimum, reference_pairs, strided_chunks
from .unwrap import target_centers, target_masses

#: half-width (bins) of the moving average applied to g_s(r) before its first minimum is located
SHELL_SMOOTH_BINS = 2


@dataclass(frozen=True)
class ChargeIntegral:
    """Result of :func:`state_charge_integral`.

    Attributes:
        edges: ``(B+1,)`` bin edges in Å; ``r`` = ``edges[1:]``, the radii at which ``Q`` and
            ``count`` are given (everything closer than ``r`` counted).
        Q: ``(S, B)`` mean charge (e) within ``r`` of a target set in state ``s``, own atoms excluded.
        count: ``(S, B)`` mean number of atoms within ``r``.
        g: ``(S, B)`` state-weighted RDF to all other atoms in each shell ``[edges[b], edges[b+1])``.
        own_charge: ``(n,)`` charge (e) of each target set's own atoms.
        weight: ``(S,)`` total probability behind each curve (reference-frames).
        n_frames: frames used.
    """

    edges: np.ndarray
    Q: np.ndarray
    count: np.ndarray
    g: np.ndarray
    own_charge: np.ndarray
    weight: np.ndarray
    n_frames: int

    @property
    def r(self) -> np.ndarray:
        """``(B,)`` radii in Å at which ``Q`` and ``count`` are given."""
        return self.edges[1:]

    def __repr__(self) -> str:
        return (f"ChargeIntegral({self.Q.shape[0]} states, r up to {self.edges[-1]:g} Å in {len(self.r)} bins, "
                f"{self.n_frames} frames; Q at {self.edges[-1]:g} Å {number_list(self.Q[:, -1])} e)")

    def at(self, s: int, radius: float) -> float:
        """``Q_s(radius)`` in e, linear between the tabulated radii (``Q_s(0) = 0``)."""
        return float(np.interp(radius, self.edges, np.concatenate([[0.0], self.Q[s]])))

    def shell_radius(self, s: int) -> float:
        """First minimum of ``g_s(r)`` after its first peak (Å), the first-shell radius of state ``s``."""
        centres = 0.5 * (self.edges[1:] + self.edges[:-1])
        try:
            return first_minimum(centres, self.g[s], smooth=SHELL_SMOOTH_BINS)
        except GdynetError as exc:
            raise GdynetError(f"state {s}: {exc}; raise r_max or give shell_radius (--shell-radius)") from None

    def summary(self) -> dict[str, Any]:
        """JSON numbers: ``r_A`` (B) and ``Q`` (S lists, e), plus the counts and the own charge."""
        return {"r_A": self.r.tolist(), "Q": self.Q.tolist(), "count": self.count.tolist(),
                "own_charge_e": float(np.mean(self.own_charge))}


def state_charge_integral(traj: Trajectory | Sequence[Trajectory], chi: np.ndarray | Sequence[np.ndarray], *,
                          r_max: float = 6.0, n_bins: int = 120, stride: int = 1,
                          chunk_frames: int | None = None, check_source: bool = True) -> ChargeIntegral:
    """Charge integral ``Q_s(r)`` of every state (module docstring; Fig. 4c), from ``traj.charges``.

    Args:
        traj: trajectory with partial charges (``traj.charges``, e; read from a topology that has
            them, e.g. a LAMMPS data file with atom_style full, PSF, TPR, PRMTOP), or a list of them
            (with a list of ``chi``; the sums are pooled).
        chi: ``(F, n, S)`` state probabilities, or the :class:`~gdynet.base.states.StateProbabilities` of ``traj``.
        r_max: largest radius in Å; n_bins: number of radii (``r = r_max b / n_bins``).
        stride: use every ``stride``-th frame; chunk_frames: frames read at a time.
        check_source: refuse a :class:`~gdynet.base.states.StateProbabilities` computed from another
            trajectory (its ``trajectory_id``); False skips that check.

    Returns:
        :class:`ChargeIntegral`.
    """
    trajs, chis = as_lists(traj, chi, check_source)
    if not (np.isfinite(r_max) and r_max > 0) or int(n_bins) < 1:
        raise GdynetError(f"r_max must be a positive distance in Å and n_bins a positive integer, "
                          f"got {r_max!r} and {n_bins!r}", trajs[0].source)
    sums = [_charge_sums(t, c, float(r_max), int(n_bins), stride, chunk_frames) for t, c in zip(trajs, chis)]
    counts, charge, weight, density_weight = (sum(part[k] for part in sums) for k in range(4))
    if np.any(weight <= 0):
        raise GdynetError(f"state(s) {np.flatnonzero(weight <= 0).tolist()} have zero probability in every "
                          "frame; no charge integral for them", trajs[0].source)
    edges = np.linspace(0.0, float(r_max), int(n_bins) + 1)
    shell_volume = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    return ChargeIntegral(edges=edges, Q=np.cumsum(charge, axis=1) / weight[:, None],
                          count=np.cumsum(counts, axis=1) / weight[:, None],
                          g=counts / (density_weight[:, None] * shell_volume),
                          own_charge=np.concatenate([t.charges[t.targets].sum(axis=1) for t in trajs]),
                          weight=weight, n_frames=sum(part[4] for part in sums))


def _charge_sums(traj: Trajectory, chi: np.ndarray, r_max: float, n_bins: int, stride: int,
                 chunk_frames: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Raw sums of one trajectory: weighted counts and charges per shell ``(S, B)``, the weight
    ``sum p_s`` and the weighted partner density ``sum p_s (N - k) / V`` ``(S,)``, frames used."""
    import vesin

    src = traj.source
    if traj.charges is None:
        raise GdynetError("the trajectory has no partial charges; read it with a topology that has them "
                          "(LAMMPS data with atom_style full/charge, PSF, TPR, PRMTOP)", src)
    chi = check_chi(chi, traj)
    charges, targets, n_atoms = traj.charges, traj.targets, traj.n_atoms
    n_ref, n_states = traj.n_targets, chi.shape[2]
    masses = target_masses(traj.numbers, targets)
    own = np.sort((np.arange(n_ref)[:, None] * n_atoms + targets).ravel())   # (reference, own atom) keys
    calculator = vesin.NeighborList(cutoff=r_max, full_list=False)
    sums = np.zeros((2, n_states, n_bins))                  # weighted counts and charges per shell
    weight, density_weight, used = np.zeros(n_states), np.zeros(n_states), 0
    for frames, block, cells in strided_chunks(traj, stride, chunk_frames):
        centers = target_centers(block, cells, targets, masses, traj.pbc)
        probs = np.asarray(chi[frames], dtype=np.float64)
        for f in range(len(frames)):
            ref, atom, dist = reference_pairs(calculator, centers[f], np.asarray(block[f], dtype=np.float64),
                                              cells[f], traj.pbc)
            keep = (dist < r_max) & ~np.isin(ref * n_atoms + atom, own)
            ref, atom = ref[keep], atom[keep]
            key = ref * n_bins + np.minimum((dist[keep] * (n_bins / r_max)).astype(np.int64), n_bins - 1)
            for k, w in enumerate((None, charges[atom])):
                per_ref = np.bincount(key, weights=w, minlength=n_ref * n_bins).reshape(n_ref, n_bins)
                sums[k] += probs[f].T @ per_ref
            weight += probs[f].sum(axis=0)
            density_weight += probs[f].sum(axis=0) * (n_atoms - targets.shape[1]) / abs(np.linalg.det(cells[f]))
        used += len(frames)
    return sums[0], sums[1], weight, density_weight, used


@dataclass(frozen=True)
class StateCharges:
    """Charges of the states for Eq. 15: ``charges_e`` ``(S,)``, where they came from (``source``:
    ``"topology"`` or ``"--charge"``) and the first-shell radius of each state (Å; None for ``--charge``)."""

    charges_e: list[float]
    source: str
    shell_radius_A: list[float] | None

    def summary(self) -> dict[str, Any]:
        return {"charges_e": self.charges_e, "source": self.source, "shell_radius_A": self.shell_radius_A}


def state_charges(integral: ChargeIntegral, shell_radius: float | None = None) -> StateCharges:
    """``z_s = q_own + Q_s(r_s)`` (Supplementary Table 1): the mean own charge of the target sets plus
    the charge within the first shell, ``r_s`` = ``shell_radius`` (Å) or the first minimum of ``g_s``."""
    n_states = integral.Q.shape[0]
    if shell_radius is not None and not (np.isfinite(shell_radius) and 0 < shell_radius <= integral.edges[-1]):
        raise GdynetError(f"{option('shell_radius')} must be between 0 and {integral.edges[-1]:g} Å, got {shell_radius!r}")
    radii = [float(shell_radius) if shell_radius is not None else integral.shell_radius(s) for s in range(n_states)]
    own = float(np.mean(integral.own_charge))
    return StateCharges(charges_e=[own + integral.at(s, r) for s, r in enumerate(radii)], source="topology",
                        shell_radius_A=radii)


def given_charges(charges: Sequence[float]) -> StateCharges:
    """State charges typed by the user (``--charge``)."""
    return StateCharges(charges_e=[float(c) for c in charges], source="--charge", shell_radius_A=None)
