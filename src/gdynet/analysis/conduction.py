"""Transition-resolved ionic conduction (Eqs. 13-16 of Xie et al., 2019) and its collective check.

What each number in :class:`Conduction` is (``e`` elementary charge, ``k_B`` Boltzmann constant,
``V`` volume, ``T`` temperature, ``N`` number of target sets, ``tau`` the Koopman lag):

* ``msd[i, j](t)`` -- Eq. 13, ``E[d^2(t) | i -> j]`` in Å^2: the squared displacement of the target
  centres over ``t``, averaged with weights ``p_i(t') p_j(t'+t)``.
* ``D[i, j]`` -- Eq. 14, ``(1/6) dE[d^2 | i -> j]/dt`` at ``t = tau`` in Å^2/ps (``D_cm2_s`` in cm^2/s),
  the slope fitted by least squares over the offsets in ``fit_offsets`` (a window around ``tau``).
* ``sigma[i, j]`` -- Eq. 15, the cluster Nernst-Einstein contribution in S/cm::

      sigma_ij = e^2 N / (V k_B T) * pi_i * K_ij(tau) * z_ij^2 * D_ij(tau),  z_ij = (z_i + z_j) / 2

  The extracted paper text prints ``z_ij`` without a square, but the Nernst-Einstein relation and
  the cluster Nernst-Einstein equation it cites (France-Lanord & Grossman, PRL 122, 136001 (2019))
  carry the charge squared, and only the square makes the paper's statement -- the negatively
  charged state 2 gives ~40 % of the conduction -- possible; gdynet uses ``z_ij^2``.
* ``percent[i, j]`` -- Eq. 16, ``100 sigma_ij / sum_ij sigma_ij``.
* ``sigma_ne = sum_ij sigma_ij`` -- the Nernst-Einstein conductivity: every target set diffuses
  independently; correlations between different sets are ignored.

  **When Eq. 15 falls short of the Einstein conductivity.** The slope of the total mean-squared
  displacement is ``d/dt sum_ij pi_i K_ij(t) E[d^2|i->j](t)``. Eq. 15 keeps ``K_ij(tau)`` fixed and
  differentiates only ``E[d^2|i->j]``; it leaves out ``sum_ij pi_i dK_ij/dt E[d^2|i->j]``, the
  displacement carried by the transitions while their probabilities still grow. That term vanishes
  when the lag is long compared with the relaxation times (``tau >> t_1``: ``K(tau)`` has converged,
  ``dK/dt -> 0``) or when the displacement does not depend on the transition (no transport by
  hopping between states). It is large when ions move by hopping between states and ``tau`` is short
  compared with ``t_1``. For a lattice hopper whose state is the parity of its site (hop rate ``k``,
  ``t_1 = 1 / (2 k)``) the ratio is exact: ``sigma_ne / sigma = 1 - 4 lam / (e^(4 lam) - 1)``,
  ``lam = k tau = tau / (2 t_1)``: 0.19 at ``lam = 0.1``, 0.42 at 0.25, 0.69 at 0.5, 0.93 at 1
  (checked in ``tests/test_conduction_hopper.py``; gdynet's windowed slope gives these within 0.03).
  The toy Li demo (``tau`` = 2 ps, ``t_1`` = 30 ps) gives 0.077 S/cm against an Einstein value of
  0.228 S/cm. Choose ``tau`` of the order of ``t_1`` or longer when the sum should match the
  Einstein conductivity; a shorter ``tau`` resolves the contributions but not their total.
* ``sigma_collective`` -- the Einstein (Green-Kubo equivalent) conductivity *with* the cross terms::

      sigma_coll = e^2 / (6 V k_B T) d/dt < |sum_l zbar_l dr_l(t)|^2 >  at t = tau

  from the summed charge displacement of all target sets (``zbar_l``: the state-averaged charge of
  set ``l`` at the two ends of the interval). Only the target sets enter: counter-ions and any other
  charged atoms are not targets, so their motion and their correlations with the targets are left
  out; this is the targets' share of the Einstein conductivity, not the electrolyte's total.
* ``sigma_self`` -- the same expression restricted to ``l = l'`` (no cross terms): the Einstein
  counterpart of ``sigma_ne``. The two are equal for a single state (and with one target charge
  when transport does not go through transitions between states); otherwise ``sigma_ne`` is lower,
  because ``sigma_self`` also differentiates the pair probabilities ``p_i(t') p_j(t'+t)`` with
  respect to ``t`` while Eq. 15 keeps ``pi_i K_ij(tau)`` fixed -- by the factor given above (0.34 in
  the demo, 0.19-0.93 for the lattice hopper at ``lam`` = 0.1-1).
* ``sigma_cross = sigma_collective - sigma_self`` -- the contribution of cross-correlations between
  different target sets (the part that Nernst-Einstein sums leave out). For
  independent carriers ``sigma_cross`` is zero within noise; if all carriers moved together it would
  be ``(N - 1) sigma_self``. The collective value is statistically much noisier (it is one vector per
  origin instead of ``N``).

Positions are unwrapped with :func:`gdynet.analysis.unwrap.unwrap_centers` (whole-molecule centres of
mass for ``k > 1``); the unwrapped target trajectory ``(F, n, 3)`` is held in memory. Along a
non-periodic axis (``Trajectory.pbc``, e.g. a slab's normal) nothing is unwrapped: the positions are
used as they are. ``V`` is the cell volume, vacuum included, unless ``volume_A3`` is given.
"""
from __future__ import annotations

import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
from scipy import constants

from ..files.cache_root import cache_root
from ..base.errors import GdynetError
from ..koopman.covariance import Segment, confidence_blocks
from ..koopman.estimator import KoopmanEstimator, spectrum
from ..koopman.validation import confidence_half_width
from ..trajectory.core import Trajectory
from ..base.units import check_lag, lag_to_frames
from ..base.wording import number_list
from .msd import MSDSums, msd_sums, slope
from .pairs import as_lists
from .unwrap import unwrap_centers

#: S/cm for e^2 * (Å^2/ps) / (Å^3 * k_B * K): e^2 / k_B * 1e-8 m^2/s / 1e-30 m^3 * 1e-2 (S/m -> S/cm)
SIGMA_UNIT = constants.e ** 2 / constants.k * 1e-8 / 1e-30 * 1e-2
#: cm^2/s per Å^2/ps
DIFFUSION_CM2_S = 1e-4


#: confidence level of the intervals of D_ij and percent_ij
CONFIDENCE = 0.95
#: unwrapped target centres larger than this go to a scratch memory map instead of RAM
UNWRAP_IN_MEMORY_BYTES = 512 * 2**20


@dataclass(frozen=True)
class Conduction:
    """Result of :func:`transition_conduction` (see the module docstring for each definition).

    Attributes:
        lag: Koopman lag ``tau`` in frames; ``lag_ps`` the same in ps.
        offsets: ``(T,)`` time offsets in frames at which the MSDs were evaluated; ``times_ps`` in ps.
        msd: ``(S, S, T)`` ``E[d^2(t)|i->j]`` in Å^2 (Eq. 13).
        joint_probability: ``(S, S, T)`` mean ``p_i(t') p_j(t'+t)``.
        collective_msd, self_msd: ``(T,)`` in e^2 Å^2.
        fit_offsets: offsets (frames) used for the slopes at ``tau``.
        D: ``(S, S)`` Å^2/ps (Eq. 14).
        D_ci, percent_ci: ``(S, S)`` half-widths of the 95 % confidence intervals of ``D`` and
            ``percent``: t-interval over the independent pieces of the data (as the paper's error
            bars), each piece's ``D_ij`` and ``percent_ij`` computed from its own MSD sums; NaN where
            a piece lacks the transition or (see ``ci_note``) no piece can be fitted.
        ci_from: what the pieces are (:func:`gdynet.koopman.covariance.confidence_blocks`):
            ``"trajectories"``, ``"targets"`` (random subsets of the target sets) or ``"blocks"``
            (time blocks); ci_blocks: how many. ci_note: why there are no intervals ("" when there are).
        K: ``(S, S)`` Koopman matrix at ``tau``; stationary: ``(S,)`` pi.
        charges: ``(S,)`` state charges in e; z: ``(S, S)`` ``(z_i + z_j)/2``.
        sigma: ``(S, S)`` S/cm (Eq. 15); percent: ``(S, S)`` (Eq. 16).
        sigma_ne, sigma_collective, sigma_self, sigma_cross: S/cm.
        temperature_K, volume_A3 (Å^3), n_targets.
    """

    lag: int
    lag_ps: float
    offsets: np.ndarray
    times_ps: np.ndarray
    msd: np.ndarray
    joint_probability: np.ndarray
    collective_msd: np.ndarray
    self_msd: np.ndarray
    fit_offsets: np.ndarray
    D: np.ndarray
    D_ci: np.ndarray
    K: np.ndarray
    stationary: np.ndarray
    charges: np.ndarray
    z: np.ndarray
    sigma: np.ndarray
    percent: np.ndarray
    percent_ci: np.ndarray
    sigma_ne: float
    sigma_collective: float
    sigma_self: float
    sigma_cross: float
    temperature_K: float  # NaN when not given
    volume_A3: float
    n_targets: int
    ci_from: str
    ci_blocks: int
    ci_note: str

    @property
    def n_states(self) -> int:
        """Number of states ``S``."""
        return int(self.D.shape[0])

    def __repr__(self) -> str:
        if np.isfinite(self.sigma_ne):
            totals = (f"σ Nernst-Einstein {self.sigma_ne:.3g}, self {self.sigma_self:.3g}, "
                      f"collective {self.sigma_collective:.3g} S/cm")
        else:
            totals = "no absolute σ (temperature_K not given)"
        top = np.unravel_index(np.nanargmax(np.nan_to_num(self.percent, nan=-np.inf)), self.percent.shape)
        return (f"Conduction({self.n_states} states, lag {self.lag_ps:g} ps, {self.n_targets} target sets; {totals}; "
                f"largest contribution {top[0]}→{top[1]} {self.percent[top]:.3g} %; "
                f"D_ii {number_list(np.diag(self.D))} Å²/ps)")

    @property
    def D_cm2_s(self) -> np.ndarray:
        """``(S, S)`` diffusion coefficients in cm^2/s."""
        return self.D * DIFFUSION_CM2_S

    def table(self) -> list[dict[str, Any]]:
        """One row per transition ``i -> j``: pi_i, K_ij, z_ij, D (Å^2/ps and cm^2/s), sigma (S/cm), %."""
        rows = []
        for i in range(self.n_states):
            for j in range(self.n_states):
                rows.append({"transition": f"{i}->{j}", "pi_i": float(self.stationary[i]),
                             "K_ij": float(self.K[i, j]), "z_ij": float(self.z[i, j]),
                             "D_A2_ps": float(self.D[i, j]), "D_cm2_s": float(self.D_cm2_s[i, j]),
                             "sigma_S_cm": float(self.sigma[i, j]), "percent": float(self.percent[i, j]),
                             "D_ci_A2_ps": float(self.D_ci[i, j]), "percent_ci": float(self.percent_ci[i, j])})
        return rows

    def summary(self, *, charged: bool = True) -> dict[str, Any]:
        """JSON-friendly numbers: inputs, totals and the per-transition table.

        ``charged=False`` (no state charges were given): only the lag, fit window and the
        transition-resolved ``pi_i``, ``K_ij`` and ``D_ij``; ``charges_e`` is None and no
        conductivity or percentage is reported (they would rest on an assumed charge).
        """
        if not charged:
            keep = ("transition", "pi_i", "K_ij", "D_A2_ps", "D_cm2_s", "D_ci_A2_ps")
            full = self.summary()
            return {**{k: full[k] for k in ("lag_frames", "lag_ps", "temperature_K", "volume_A3", "n_targets",
                                            "fit_window_ps", "ci_from", "ci_blocks", "ci_note")},
                    "charges_e": None, "transitions": [{k: row[k] for k in keep} for row in full["transitions"]]}
        return {"lag_frames": self.lag, "lag_ps": self.lag_ps, "temperature_K": self.temperature_K,
                "volume_A3": self.volume_A3, "n_targets": self.n_targets,
                "charges_e": [float(c) for c in self.charges],
                "fit_window_ps": [float(self.fit_offsets.min() * self.lag_ps / self.lag),
                                  float(self.fit_offsets.max() * self.lag_ps / self.lag)],
                "sigma_nernst_einstein_S_cm": self.sigma_ne, "sigma_collective_S_cm": self.sigma_collective,
                "sigma_self_S_cm": self.sigma_self, "sigma_cross_S_cm": self.sigma_cross,
                "ci_from": self.ci_from, "ci_blocks": self.ci_blocks, "ci_note": self.ci_note,
                "transitions": self.table()}


@contextmanager
def _unwrapped(traj: Trajectory) -> Iterator[np.ndarray]:
    """The unwrapped target centres ``(F, n, 3)`` in Å of one trajectory, for the ``with`` block; they go
    to a scratch memory map on disk (``$GDYNET_CACHE/scratch``) when they would take more than
    ``UNWRAP_IN_MEMORY_BYTES``."""
    if traj.n_frames * traj.n_targets * 3 * 8 <= UNWRAP_IN_MEMORY_BYTES:
        yield unwrap_centers(traj)
        return
    scratch = cache_root("scratch")
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as folder:
        out = np.lib.format.open_memmap(Path(folder) / "centers.npy", mode="w+", dtype=np.float64,
                                        shape=(traj.n_frames, traj.n_targets, 3))
        yield unwrap_centers(traj, out=out)
        del out


def _piece_sums(centres: np.ndarray, chi: np.ndarray, segments: Sequence[Segment], window: np.ndarray,
                charges: np.ndarray) -> list[MSDSums]:
    """:func:`msd_sums` at the fit offsets ``window`` of each segment (its frames ``start:stop`` and its
    target columns) long enough to hold the whole window; shorter segments are left out."""
    return [msd_sums(centres[s.start:s.stop], chi[s.start:s.stop], window, charges, s.targets)
            for s in segments if s.stop - s.start > window.max()]


def default_offsets(lag: int, n_frames: int, *, n_points: int = 24) -> np.ndarray:
    """Log-spaced offsets (frames) from 1 to ``min(5 lag, F - 1)`` for the MSD curves."""
    top = max(2, min(5 * lag, n_frames - 1))
    return np.unique(np.round(np.geomspace(1, top, n_points)).astype(np.int64))


def fit_window(lag: int, n_frames: int, width: float = 0.5, n_points: int = 11) -> np.ndarray:
    """Offsets (frames) ``lag * (1 - width) .. lag * (1 + width)`` used to fit the slope at ``lag``."""
    low = max(1, int(round(lag * (1 - width))))
    high = min(n_frames - 1, max(low + 1, int(round(lag * (1 + width)))))
    if high <= low:
        raise GdynetError(f"trajectory too short: {n_frames} frames leave no window around lag {lag}")
    return np.unique(np.round(np.linspace(low, high, min(n_points, high - low + 1))).astype(np.int64))


def _koopman_inputs(koopman: Any, K: Any, stationary: Any, chis: list, lag: int, dt_ps: float,
                    n_states: int) -> tuple[np.ndarray, np.ndarray]:
    if koopman is not None:
        if int(getattr(koopman, "lag", lag)) != lag:
            raise GdynetError(f"the Koopman model has lag {koopman.lag} frames but the conduction analysis "
                              f"uses lag {lag}")
        K, stationary = koopman.K, koopman.stationary
    elif K is None:
        model = KoopmanEstimator(lag, dt_ps).fit(chis if len(chis) > 1 else chis[0]).fetch_model()
        K, stationary = model.K, model.stationary
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (n_states, n_states) or not np.all(np.isfinite(K)):
        raise GdynetError(f"Koopman matrix K must be a finite ({n_states}, {n_states}) array, got shape {K.shape}")
    if stationary is None:
        stationary = spectrum(K)[1][0].real  # left eigenvector of the eigenvalue closest to 1, sums to 1
    stationary = np.asarray(stationary, dtype=np.float64).reshape(-1)
    if stationary.shape != (n_states,) or not np.all(np.isfinite(stationary)):
        raise GdynetError(f"stationary distribution must have {n_states} finite values, got {stationary.shape}")
    return K, stationary


def transition_conduction(traj: Trajectory | Sequence[Trajectory], chi: np.ndarray | Sequence[np.ndarray],
                          lag: int | str | None = None, *, temperature_K: float | None, koopman: Any = None,
                          K: np.ndarray | None = None, stationary: np.ndarray | None = None,
                          charges: Sequence[float] | None = None, volume_A3: float | None = None,
                          offsets: Sequence[int] | None = None, fit_width: float = 0.5,
                          ci_from: str = "auto", check_source: bool = True) -> Conduction:
    """Transition-resolved conductivity (Eqs. 13-16) plus the collective conductivity with cross terms.

    Args:
        traj: one trajectory or a list (pooled: the sums of Eq. 13 run over all of them); all must
            have the same frame spacing and number of target sets.
        chi: ``(F, n, S)`` state probabilities for each trajectory, or their
            :class:`~gdynet.base.states.StateProbabilities`.
        lag: Koopman lag ``tau``: frames (int) or a time (``"0.8ns"``, float ps); default: the lag of
            ``koopman``.
        temperature_K: temperature ``T`` in K. ``None``: absolute conductivities are NaN, while the
            diffusion coefficients and the percentage contributions (Eq. 16, independent of T) are kept.
        koopman: a ``KoopmanModel`` at this lag (its ``K`` and ``stationary`` are used); or give
            ``K`` ``(S, S)`` (and optionally ``stationary``, else the left eigenvector of ``K`` for 1).
            If neither is given, a Koopman model is estimated from ``chi`` at ``lag``.
        charges: charge of each state in e (``(S,)``); default +1 for every state, a bare cation (the
            pipeline never assumes it: without charges it reports only ``D_ij``, see
            :meth:`Conduction.summary`). D_ij and the MSDs do not depend on the charges.
        volume_A3: volume ``V`` in Å^3 (default: mean cell volume over all frames).
        offsets: frames at which to report the MSD curves (default log-spaced up to ``5 lag``).
        fit_width: the slope at ``tau`` is fitted on ``[tau (1 - w), tau (1 + w)]``.
        ci_from: independent pieces for the intervals of ``D_ij`` and ``percent_ij``, by the rule of
            the Koopman intervals (:func:`gdynet.koopman.covariance.confidence_blocks`):
            ``"trajectories"`` (needs at least 2), ``"targets"`` (5 random subsets of the target
            sets, over all frames), ``"blocks"`` (5 time blocks; a block shorter than the fit window
            gives no intervals, ``Conduction.ci_note`` says so) or ``"auto"``. The totals (``D``,
            ``sigma``, MSDs) always come from all the data.
        check_source: refuse a :class:`~gdynet.base.states.StateProbabilities` computed from another
            trajectory (its ``trajectory_id``); False skips that check.

    Returns:
        :class:`Conduction`.
    """
    if lag is not None:
        check_lag(lag)
    trajs, chis = as_lists(traj, chi, check_source)
    dt_ps = trajs[0].dt_ps
    n_targets = trajs[0].n_targets
    for t in trajs:
        if abs(t.dt_ps - dt_ps) > 1e-9 * dt_ps or t.n_targets != n_targets:
            raise GdynetError("all trajectories must share the frame spacing and the number of target sets",
                              t.source)
    n_states = chis[0].shape[2]
    if any(c.shape[2] != n_states for c in chis):
        raise GdynetError("all chi arrays must have the same number of states")
    if lag is None and koopman is None:
        raise GdynetError("give lag (frames or a time such as '2ps') or koopman (a KoopmanModel, whose lag is used)")
    lag = int(koopman.lag) if lag is None else lag_to_frames(lag, dt_ps)
    shortest = min(t.n_frames for t in trajs)
    if lag >= shortest - 1:
        raise GdynetError(f"lag {lag} frames is too long for a trajectory of {shortest} frames", trajs[0].source)
    if temperature_K is not None and not (np.isfinite(temperature_K) and temperature_K > 0):
        raise GdynetError(f"temperature must be positive (K), got {temperature_K!r}")
    scale_T = np.nan if temperature_K is None else float(temperature_K)
    charges = np.ones(n_states) if charges is None else np.asarray(charges, dtype=np.float64).reshape(-1)
    if charges.shape != (n_states,) or not np.all(np.isfinite(charges)):
        raise GdynetError(f"charges must give one number (e) per state ({n_states}), got {charges.shape}")
    if volume_A3 is None:
        volume_A3 = float(np.mean(np.concatenate([t.volumes() for t in trajs])))
    elif not (np.isfinite(volume_A3) and volume_A3 > 0):
        raise GdynetError(f"volume must be positive (Å^3), got {volume_A3!r}")
    K, stationary = _koopman_inputs(koopman, K, stationary, chis, lag, dt_ps, n_states)

    window = fit_window(lag, shortest, fit_width)
    curve = default_offsets(lag, shortest) if offsets is None else np.asarray(offsets, dtype=np.int64)
    if curve.ndim != 1 or len(curve) == 0 or curve.min() < 1 or curve.max() >= shortest:
        raise GdynetError(f"offsets must be frame counts between 1 and {shortest - 1}")
    all_offsets = np.unique(np.concatenate([curve, window]))
    ci_from, blocks = confidence_blocks([t.n_frames for t in trajs], n_targets, ci_from)
    parts, pieces = [], [[] for _ in blocks]         # per trajectory; per piece of the intervals
    for k, (t, c) in enumerate(zip(trajs, chis)):
        with _unwrapped(t) as centres:               # unwrapped once, used for both
            parts.append(msd_sums(centres, c, all_offsets, charges))
            for piece, block in zip(pieces, blocks):
                piece += _piece_sums(centres, c, [s for s in block if s.traj == k], window, charges)
    sums = sum(parts[1:], parts[0])
    times = all_offsets * dt_ps
    in_window = np.isin(all_offsets, window)
    msd = sums.transition_msd
    z = 0.5 * (charges[:, None] + charges[None, :])

    def diffusion_and_percent(s: MSDSums) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        fit = np.isin(s.offsets, window)
        D = slope(s.offsets[fit] * dt_ps, s.transition_msd[:, :, fit]) / 6.0
        weight = stationary[:, None] * K * z ** 2 * np.nan_to_num(D)   # sigma_ij up to e^2 N / (V k_B T)
        with np.errstate(invalid="ignore", divide="ignore"):
            return D, weight, 100.0 * weight / weight.sum()

    D, weight, percent = diffusion_and_percent(sums)
    if all(pieces):                        # spread over independent pieces, as the paper's error bars
        per_piece = [diffusion_and_percent(sum(p[1:], p[0])) for p in pieces]
        D_ci = confidence_half_width(np.stack([d for d, _, _ in per_piece]), CONFIDENCE)
        percent_ci = confidence_half_width(np.stack([p for _, _, p in per_piece]), CONFIDENCE)
        ci_note = ""
    else:
        D_ci = percent_ci = np.full_like(D, np.nan)
        short = next(sum(s.stop - s.start for s in block) for block, piece in zip(blocks, pieces) if not piece)
        ci_note = (f"no intervals: a time block of {short} frames cannot hold the fit window "
                   f"({window.max() + 1} frames, about 1.5 lag); use --ci-from targets or trajectories")
    sigma = SIGMA_UNIT * n_targets / (volume_A3 * scale_T) * weight
    total = float(sigma.sum())
    per_target = SIGMA_UNIT / (6.0 * volume_A3 * scale_T)
    sigma_coll = float(per_target * slope(times[in_window], sums.collective_msd[in_window]))
    sigma_self = float(per_target * slope(times[in_window], sums.self_msd[in_window]))
    return Conduction(lag=lag, lag_ps=lag * dt_ps, offsets=all_offsets, times_ps=times, msd=msd,
                      joint_probability=sums.joint_probability, collective_msd=sums.collective_msd,
                      self_msd=sums.self_msd, fit_offsets=window, D=D, D_ci=D_ci, K=K, stationary=stationary,
                      charges=charges, z=z, sigma=sigma, percent=percent, percent_ci=percent_ci, sigma_ne=total,
                      sigma_collective=sigma_coll, sigma_self=sigma_self, sigma_cross=sigma_coll - sigma_self,
                      temperature_K=scale_T, volume_A3=float(volume_A3), n_targets=n_targets,
                      ci_from=ci_from, ci_blocks=len(blocks), ci_note=ci_note)


def einstein_conductivity(trajs: Sequence[Trajectory], charges: Mapping[int, float], lag_ps: float,
                          temperature_K: float) -> dict[str, Any]:
    """Einstein conductivity (S/cm) of the atoms of the elements in ``charges`` (atomic number -> charge
    in e), of each element's atoms, and without cross terms.

    sigma = e² / (6 V k_B T) d/dt < |Σ_i q_i Δr_i(t)|² >, the slope fitted over 8 time offsets from
    ``lag_ps`` to five times it (at most a third of the frames), pooled over ``trajs``: ``total`` with
    every cross term, ``<symbol>`` one element's collective term, ``<symbol>_self`` its Nernst-Einstein
    sum (no cross terms); ``fit_window_ps`` the first and last offset.
    """
    from ase.data import chemical_symbols

    from .msd import slope
    from .unwrap import unwrap_centers

    symbols = [chemical_symbols[z] for z in charges]
    curves: dict[str, list[np.ndarray]] = {k: [] for k in ("total", *symbols, *(f"{s}_self" for s in symbols))}
    volumes = []
    n_frames = min(t.n_frames for t in trajs)
    dt = trajs[0].dt_ps
    offsets = np.unique(np.linspace(max(1, round(lag_ps / dt)), min(5 * round(lag_ps / dt), n_frames // 3),
                                    8).astype(int))
    for traj in trajs:
        ions = np.concatenate([np.nonzero(traj.numbers == z)[0] for z in charges])
        r = unwrap_centers(traj.with_targets(ions[:, None]))                 # (F, n, 3) Å
        q = np.array([charges[z] for z in traj.numbers[ions]])
        for key, mask in (("total", slice(None)), *((s, traj.numbers[ions] == z) for s, z in zip(symbols, charges))):
            M = (q[mask][None, :, None] * r[:, mask]).sum(axis=1)
            curves[key].append(np.array([np.mean(np.sum((M[o:] - M[:-o]) ** 2, axis=-1)) for o in offsets]))
        for s, z in zip(symbols, charges):
            mask = traj.numbers[ions] == z
            d2 = [np.mean(np.sum((r[o:, mask] - r[:-o, mask]) ** 2, axis=-1)) * mask.sum() * charges[z] ** 2
                  for o in offsets]
            curves[f"{s}_self"].append(np.array(d2))
        volumes.append(float(np.mean(traj.volumes())))
    times = offsets * dt
    return {k: float(SIGMA_UNIT * slope(times, np.mean(v, axis=0)) / (6 * np.mean(volumes) * temperature_K))
            for k, v in curves.items()} | {"fit_window_ps": [float(times[0]), float(times[-1])]}
