"""Validation of Koopman models: implied timescales over lags and the Chapman–Kolmogorov test.

All report confidence intervals from independent blocks of the data, as the paper does ("95%
confidence interval from four independent trajectories", "five randomly selected sets" of target
atoms, "dividing the test data equally into chunks"): blocks are whole trajectories, random disjoint
subsets of the target sets, or equal contiguous time blocks (``ci_from``, rule in
:func:`gdynet.koopman.covariance.confidence_blocks`); a (t, t+τ) pair belongs to the block of its
start frame t (and target set), so the blocks' moments add up exactly to those of all data.

Confidence interval (batch means, Student t): for a quantity θ with full-data estimate θ̂ and
estimates θ_b from the B blocks that have data,

    θ̂ ± t_{(1+c)/2, B−1} · s_B / √B,     s_B = standard deviation of the θ_b (ddof = 1).

For timescales θ is the rate 1/t_i = −ln|λ_i| / τ (ps⁻¹), mapped back to t_i, so an interval that
reaches rate ≤ 0 (|λ| ≥ 1) has an upper timescale bound of ``inf``. With fewer than 2 usable blocks
the bounds are NaN. (The original GDyNet post-processing used 1.96 · std/√B around the mean of the
block estimates, for timescales in log space; the t quantile is wider for few blocks, e.g. 3.18
instead of 1.96 for B = 4, and the centre here is the estimate from all data.)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import scipy.stats

from ..base.errors import GdynetError
from ..base.states import unpack_chi
from ..base.units import check_lag, check_lags, frames_to_ps, lag_to_frames
from ..base.wording import number_list
from .covariance import Moments, as_trajectories, confidence_blocks, lagged_moments
from .spectral import (_UNIT_TOL, EPSILON, _frozen, _json_list, estimate_koopman_matrix, spectrum,
                       timescales_from_eigenvalues)


@dataclass(frozen=True, eq=False)
class ImpliedTimescales:
    """Relaxation timescales (Eq. 11) as a function of the lag time, with confidence intervals.

    Attributes:
        lags: ``(L,)`` lags in frames (ascending).
        lags_ps: ``(L,)`` lags in ps.
        timescales_ps: ``(L, S-1)`` timescales from all data, slowest first (``inf``: |λ| ≥ 1).
        lower, upper: ``(L, S-1)`` confidence bounds in ps (NaN with < 2 usable blocks).
        block_timescales_ps: ``(B, L, S-1)`` timescales of each block (NaN: block without pairs).
        confidence: confidence level, e.g. 0.95.
        n_blocks: number of blocks B.
        dt_ps: time between frames in ps.
        reversible: whether the models were estimated with detailed balance.
        ci_from: what the blocks are: ``"trajectories"``, ``"targets"`` or ``"blocks"``.
        duration_ps: the analysed trajectory time T in ps (summed over trajectories; NaN: unknown).

    Verdicts, as summary.json gives them: :attr:`resolved` (τ < t < T/2 at each lag, summary.json's
    ``implied_timescales.resolved``), :attr:`lower_bound` and :meth:`check` (per process at one
    lag, :func:`check_timescales`: summary.json's ``timescales_checks`` at the model's τ); the repr
    says which timescales are lower bounds.
    """

    lags: np.ndarray
    lags_ps: np.ndarray
    timescales_ps: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    block_timescales_ps: np.ndarray
    confidence: float
    n_blocks: int
    dt_ps: float
    reversible: bool = False
    ci_from: str = "blocks"
    duration_ps: float = float("nan")

    def check(self, lag: int | str) -> list["TimescaleCheck"]:
        """Per process, the verdict on the timescales at ``lag`` (one of :attr:`lags`, in frames, or a
        time such as ``"2ps"``): :func:`check_timescales` against these implied timescales."""
        frames = lag_to_frames(lag, self.dt_ps)
        where = np.flatnonzero(np.asarray(self.lags) == frames)
        if not where.size:
            raise GdynetError(f"lag {lag!r} is not among the analysed lags ({number_list(self.lags_ps, 'g')} ps)",
                              "ImpliedTimescales")
        k = int(where[0])
        return check_timescales(self, self.timescales_ps[k], float(self.lags_ps[k]), self.duration_ps)

    @property
    def resolved(self) -> np.ndarray:
        """``(L, S-1)`` bools: τ < t_i(τ) < T / 2 at each lag (summary.json ``implied_timescales.resolved``)."""
        return resolved_timescales(self.timescales_ps, np.asarray(self.lags_ps)[:, None], self.duration_ps)

    @property
    def lower_bound(self) -> np.ndarray:
        """``(L, S-1)`` bools: at each lag taken as τ, the timescale is a lower bound (:meth:`check`)."""
        return np.array([[c.lower_bound for c in self.check(int(lag))] for lag in self.lags], dtype=bool)

    def __repr__(self) -> str:
        first, last = self.timescales_ps[0, 0], self.timescales_ps[-1, 0]
        bound = self.lower_bound[:, 0]
        verdict = ("" if not bound.any() else
                   f"; t1 a lower bound at {'every lag' if bound.all() else f'{int(bound.sum())} of {len(bound)} lags'}")
        return (f"ImpliedTimescales({len(self.lags)} lags {self.lags_ps[0]:g}–{self.lags_ps[-1]:g} ps, "
                f"{self.timescales_ps.shape[1]} processes; slowest t1 {first:.4g} → {last:.4g} ps{verdict}; "
                f"{self.confidence:.0%} CI from {self.n_blocks} {self.ci_from})")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (inf/NaN as ``None``)."""
        return {"lags_ps": _json_list(self.lags_ps), "timescales_ps": _json_list(self.timescales_ps),
                "lower_ps": _json_list(self.lower), "upper_ps": _json_list(self.upper),
                "confidence": self.confidence, "n_blocks": self.n_blocks, "ci_from": self.ci_from,
                "reversible": self.reversible}


@dataclass(frozen=True, eq=False)
class CKTest:
    """Chapman–Kolmogorov test (Eq. 6): K(τ)ⁿ (predicted) against K(nτ) (estimated), n = 0 … N.

    ``predicted[n, i, j]`` / ``estimated[n, i, j]``: probability to be in state j a time nτ after
    being in state i (n = 0 gives the identity).

    Attributes:
        lag: τ in frames; lag_ps: τ in ps; dt_ps: frame spacing in ps.
        lags_ps: ``(N+1,)`` times nτ in ps.
        predicted, estimated: ``(N+1, S, S)``.
        predicted_lower, predicted_upper, estimated_lower, estimated_upper: ``(N+1, S, S)`` confidence
            bounds (NaN with < 2 usable blocks).
        confidence: confidence level; n_blocks: number of blocks; reversible: detailed balance used;
        ci_from: what the blocks are (``"trajectories"``, ``"targets"``, ``"blocks"``).
    """

    lag: int
    lag_ps: float
    dt_ps: float
    lags_ps: np.ndarray
    predicted: np.ndarray
    estimated: np.ndarray
    predicted_lower: np.ndarray
    predicted_upper: np.ndarray
    estimated_lower: np.ndarray
    estimated_upper: np.ndarray
    confidence: float
    n_blocks: int
    reversible: bool = False
    ci_from: str = "blocks"

    @property
    def max_error(self) -> float:
        """Largest |predicted − estimated| over all n, i, j."""
        return float(np.max(np.abs(self.predicted - self.estimated)))

    @property
    def fraction_consistent(self) -> float:
        """Fraction of the entries with n ≥ 1 whose predicted and estimated intervals overlap.

        Entries without finite intervals (fewer than two blocks hold pairs at that lag) are left
        out; NaN when no entry has them.
        """
        bounds = (self.predicted_lower, self.predicted_upper, self.estimated_lower, self.estimated_upper)
        known = np.all([np.isfinite(b[1:]) for b in bounds], axis=0)
        if not known.any():
            return float("nan")
        overlap = (self.predicted_lower <= self.estimated_upper) & (self.estimated_lower <= self.predicted_upper)
        return float(overlap[1:][known].mean())

    def __repr__(self) -> str:
        return (f"CKTest(lag {self.lag_ps:g} ps x {len(self.lags_ps) - 1} steps, {self.predicted.shape[1]} states; "
                f"max |predicted − estimated| {self.max_error:.3g}; {self.fraction_consistent:.0%} of the "
                f"entries consistent ({self.confidence:.0%} CI from {self.n_blocks} {self.ci_from}))")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (inf/NaN as ``None``)."""
        return {"lag_ps": self.lag_ps, "lags_ps": _json_list(self.lags_ps),
                "predicted": _json_list(self.predicted), "estimated": _json_list(self.estimated),
                "predicted_lower": _json_list(self.predicted_lower),
                "predicted_upper": _json_list(self.predicted_upper),
                "estimated_lower": _json_list(self.estimated_lower),
                "estimated_upper": _json_list(self.estimated_upper),
                "max_error": self.max_error, "fraction_consistent": self.fraction_consistent,
                "confidence": self.confidence, "n_blocks": self.n_blocks, "ci_from": self.ci_from,
                "reversible": self.reversible}


def _check_confidence(confidence: float) -> float:
    if not (isinstance(confidence, (int, float)) and 0 < confidence < 1):
        raise GdynetError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}", "confidence")
    return float(confidence)


def confidence_half_width(samples: np.ndarray, confidence: float) -> np.ndarray:
    """``t_{(1+c)/2, B-1} s_B / √B`` over axis 0, ignoring non-finite samples (NaN if < 2 remain)."""
    ok = np.isfinite(samples)
    n = ok.sum(axis=0)
    x = np.where(ok, samples, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = x.sum(axis=0) / n
        var = (np.where(ok, samples - mean, 0.0) ** 2).sum(axis=0) / (n - 1)
        q = scipy.stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1))
        return np.where(n >= 2, q * np.sqrt(var / n), np.nan)


def _rate_to_timescale(rate: np.ndarray) -> np.ndarray:
    """t = 1/rate for rate > 0, ``inf`` for rate ≤ 0 (a process that does not decay), NaN stays NaN."""
    with np.errstate(divide="ignore"):
        return np.where(np.isnan(rate), np.nan, np.where(rate > 0, 1.0 / rate, np.inf))


def _block_matrices(m: Moments, reversible: bool, epsilon: float) -> np.ndarray:
    """``(B+1, L, S, S)`` Koopman matrices: index 0 from all data, then one per block (NaN: no pairs)."""
    full = m.total()
    out = []
    for moments in (full, m):
        for b in range(moments.n_pairs.shape[0]):
            row = []
            for i in range(len(m.lags)):
                if moments.n_pairs[b, i] == 0:
                    row.append(np.full(moments.C00.shape[2:], np.nan))
                else:
                    row.append(estimate_koopman_matrix(moments.C00[b, i], moments.C0t[b, i], moments.Ctt[b, i],
                                                       reversible=reversible, epsilon=epsilon)[0])
            out.append(row)
    return np.array(out)


def _prepare(chi: Any, dt_ps: float | str | None, n_blocks: int | None, confidence: float, source: str,
             ci_from: str):
    chi, dt_ps = unpack_chi(chi, dt_ps, name=source)
    trajs = as_trajectories(chi, source)
    ci_from, blocks = confidence_blocks([len(x) for x in trajs], trajs[0].shape[1], ci_from, n_blocks)
    return dt_ps, trajs, blocks, _check_confidence(confidence), ci_from


def implied_timescales(chi: Any, lags: Sequence[int | str], dt_ps: float | str | None = None, *,
                       n_blocks: int | None = None, confidence: float = 0.95, reversible: bool = False,
                       epsilon: float = EPSILON, source: str = "chi", ci_from: str = "auto") -> ImpliedTimescales:
    """Relaxation timescales t_i(τ) = −τ / ln|λ_i(τ)| (Eq. 11) for every lag τ in ``lags``.

    Args:
        chi: state probabilities: a :class:`~gdynet.base.states.StateProbabilities`, one array
            ``(F, n, S)``, or a list of either (one per trajectory).
        lags: lags in frames (or times such as ``"5ps"``); sorted and de-duplicated.
        dt_ps: time between frames in ps; only for plain arrays (a ``StateProbabilities`` carries it).
        n_blocks: number of independent blocks for the confidence intervals (see module docstring).
        confidence: confidence level of the intervals.
        reversible: estimate every K(τ) with detailed balance.
        epsilon: relative cut-off of the pseudo-inverse of C00.
        source: name of the data in error messages.
        ci_from: ``"auto"``, ``"trajectories"``, ``"targets"`` or ``"blocks"`` (module docstring).

    For a Markovian χ the timescales are the same at every lag (they level off above τ*).
    """
    check_lags(lags)
    dt_ps, trajs, blocks, confidence, ci_from = _prepare(chi, dt_ps, n_blocks, confidence, source, ci_from)
    if len(lags) == 0:
        raise GdynetError("no lags given", source)
    frames = np.unique([lag_to_frames(lag, dt_ps) for lag in lags])
    matrices = _block_matrices(lagged_moments(trajs, frames, blocks, source), reversible, epsilon)
    eig = np.full(matrices.shape[:3], np.nan, dtype=complex)
    for b, i in np.ndindex(*matrices.shape[:2]):
        if np.all(np.isfinite(matrices[b, i])):
            eig[b, i] = spectrum(matrices[b, i])[0]
    lags_ps = frames_to_ps(frames, dt_ps)
    ts = timescales_from_eigenvalues(eig[:, :, 1:], lags_ps[None, :, None])  # NaN stays NaN
    with np.errstate(divide="ignore", invalid="ignore"):
        mod = np.abs(eig[:, :, 1:])
        rates = np.where(np.abs(mod - 1) <= _UNIT_TOL, 0.0, -np.log(mod) / lags_ps[None, :, None])  # ps⁻¹
        half = confidence_half_width(rates[1:], confidence)
        lower = _rate_to_timescale(rates[0] + half)
        upper = _rate_to_timescale(rates[0] - half)
    return ImpliedTimescales(lags=_frozen(frames), lags_ps=_frozen(lags_ps), timescales_ps=_frozen(ts[0]),
                             lower=_frozen(lower), upper=_frozen(upper), block_timescales_ps=_frozen(ts[1:]),
                             confidence=confidence, n_blocks=len(blocks), dt_ps=dt_ps, reversible=bool(reversible),
                             ci_from=ci_from, duration_ps=sum(len(x) - 1 for x in trajs) * dt_ps)


def ck_test(chi: Any, lag: int | str, n_steps: int, dt_ps: float | str | None = None, *, confidence: float = 0.95,
            n_blocks: int | None = None, reversible: bool = False, epsilon: float = EPSILON,
            source: str = "chi", ci_from: str = "auto") -> CKTest:
    """Chapman–Kolmogorov test (Eq. 6): compare K(τ)ⁿ with K(nτ) estimated directly, n = 0 … n_steps.

    Both are estimated from all data, with confidence intervals from the same blocks (module
    docstring): the block intervals of the prediction use the blocks' K(τ)ⁿ. A Markovian model has
    the predicted curves inside the estimated intervals. ``chi`` and ``dt_ps`` as in
    :func:`implied_timescales` (a ``StateProbabilities`` carries its frame spacing).
    """
    check_lag(lag)
    dt_ps, trajs, blocks, confidence, ci_from = _prepare(chi, dt_ps, n_blocks, confidence, source, ci_from)
    lag = lag_to_frames(lag, dt_ps)
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise GdynetError(f"n_steps must be a positive integer, got {n_steps!r}", source)
    longest = max(len(x) for x in trajs)
    if n_steps * lag >= longest:
        raise GdynetError(f"the CK test needs n_steps × lag = {n_steps * lag} frames of lag, but the longest "
                          f"trajectory has {longest} frames", source)
    lags = lag * np.arange(1, n_steps + 1)
    matrices = _block_matrices(lagged_moments(trajs, lags, blocks, source), reversible, epsilon)
    n_states = matrices.shape[-1]
    steps = np.arange(n_steps + 1)
    eye = np.broadcast_to(np.eye(n_states), (matrices.shape[0], 1, n_states, n_states))
    estimated = np.concatenate([eye, matrices], axis=1)
    predicted = np.stack([np.linalg.matrix_power(np.nan_to_num(k1, nan=0.0), n) for k1 in matrices[:, 0]
                          for n in steps]).reshape(estimated.shape)
    predicted[np.isnan(matrices[:, 0, 0, 0])] = np.nan
    half_p = confidence_half_width(predicted[1:], confidence)
    half_e = confidence_half_width(estimated[1:], confidence)
    return CKTest(lag=int(lag), lag_ps=frames_to_ps(lag, dt_ps), dt_ps=dt_ps,
                  lags_ps=_frozen(frames_to_ps(steps * lag, dt_ps)),
                  predicted=_frozen(predicted[0]), estimated=_frozen(estimated[0]),
                  predicted_lower=_frozen(predicted[0] - half_p), predicted_upper=_frozen(predicted[0] + half_p),
                  estimated_lower=_frozen(estimated[0] - half_e), estimated_upper=_frozen(estimated[0] + half_e),
                  confidence=confidence, n_blocks=len(blocks), reversible=bool(reversible), ci_from=ci_from)


#: a piece (trajectory, target subset or time block) gives its own stationary vector only with at least
#: this many lagged (frame, target) pairs per state: from fewer, K(τ) is so ill-determined that π_b
#: reaches −152 and +153 (300 trajectories with 6-frame test blocks, issue 24). Shorter pieces are
#: pooled in order (their moments added: still independent of the other pieces) until they have it
MIN_PAIRS_PER_STATE = 25
#: a piece's π_b is used only when it is a probability vector: every entry within [−tol, 1 + tol]
PROBABILITY_TOLERANCE = 0.01
#: an interval from fewer pieces than this is called rough in ``note`` (t quantile ≥ 3.18 for 95 %)
FEW_PIECES = 4


@dataclass(frozen=True, eq=False)
class PopulationIntervals:
    """Stationary populations π of K(τ) with confidence intervals over independent blocks.

    Attributes:
        populations: ``(S,)`` π from all data (left eigenvector of λ = 1, summing to 1).
        lower, upper: ``(S,)`` bounds ``π̂ ± t·s_B/√B`` clipped to [0, 1] (NaN with < 2 usable pieces).
        block_populations: ``(P, S)`` π of each piece the interval was built from (pooled short
            blocks count as one piece; NaN: piece left out, see ``note``).
        confidence, n_blocks, ci_from: as in :class:`ImpliedTimescales`.
        n_used: pieces whose π entered the interval.
        note: why the interval is missing or wide, or which blocks were pooled or left out ("" if none).

    :attr:`remark` says when an interval is wider than :data:`WIDE_INTERVAL` (shown by the repr).
    """

    populations: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    block_populations: np.ndarray
    confidence: float
    n_blocks: int
    ci_from: str
    n_used: int = 0
    note: str = ""

    @property
    def remark(self) -> str | None:
        """A sentence when some interval is wider than :data:`WIDE_INTERVAL`, else None."""
        width = np.asarray(self.upper) - np.asarray(self.lower)
        if not np.any(width > WIDE_INTERVAL):
            return None
        s = int(np.nanargmax(width))
        return (f"wide intervals (state {s}: [{self.lower[s]:.2g}, {self.upper[s]:.2g}]): the {self.n_blocks} "
                f"{self.ci_from} disagree, so the data hold too few transitions to pin the populations down")

    def __repr__(self) -> str:
        remark = "" if self.remark is None else "; wide intervals (see .remark)"
        return (f"PopulationIntervals({number_list(self.populations)}; {self.confidence:.0%} CI from "
                f"{self.n_used} of {self.n_blocks} {self.ci_from}: lower {number_list(self.lower)}, "
                f"upper {number_list(self.upper)}{remark})")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{lower, upper, confidence, from, n_blocks, n_used, note}`` (NaN as ``None``)."""
        return {"lower": _json_list(self.lower), "upper": _json_list(self.upper), "confidence": self.confidence,
                "from": self.ci_from, "n_blocks": self.n_blocks, "n_used": self.n_used, "note": self.note}


def population_intervals(chi: Any, lag: int | str, dt_ps: float | str | None = None, *, confidence: float = 0.95,
                         n_blocks: int | None = None, ci_from: str = "auto", reversible: bool = False,
                         epsilon: float = EPSILON, source: str = "chi") -> PopulationIntervals:
    """Stationary populations π (π K(τ) = π, Σ π = 1) with batch-means intervals (module docstring).

    Every piece gives its own K(τ) and π_b; the interval is π̂ ± t_{(1+c)/2, P−1} s_P / √P around
    the estimate π̂ from all data, clipped to [0, 1]. A block with fewer than
    :data:`MIN_PAIRS_PER_STATE` × S lagged pairs is pooled with the next short ones into one piece,
    and a piece whose π_b is not a probability vector (:data:`PROBABILITY_TOLERANCE`) is left out;
    ``note`` says so, and why an interval is missing or wide. ``chi`` and ``dt_ps`` as in
    :func:`implied_timescales`.
    """
    check_lag(lag)
    dt_ps, trajs, blocks, confidence, ci_from = _prepare(chi, dt_ps, n_blocks, confidence, source, ci_from)
    lag = lag_to_frames(lag, dt_ps)
    moments = lagged_moments(trajs, [lag], blocks, source)
    n_states = moments.C00.shape[-1]
    least = MIN_PAIRS_PER_STATE * n_states
    pieces, pooled, n_pooled, dropped = _pooled(moments, least)
    matrices = np.concatenate([_block_matrices(moments.total(), reversible, epsilon)[:1, 0],     # all data
                               _block_matrices(pieces, reversible, epsilon)[1:, 0]])
    pops = np.full(matrices.shape[:2], np.nan)
    for b, K in enumerate(matrices):
        if np.all(np.isfinite(K)):
            pops[b] = spectrum(K)[1][0].real
    full, parts = pops[0], pops[1:]
    invalid = np.isfinite(parts).all(axis=1) & ((parts < -PROBABILITY_TOLERANCE) |
                                                 (parts > 1 + PROBABILITY_TOLERANCE)).any(axis=1)
    parts[invalid] = np.nan
    used = int(np.isfinite(parts).all(axis=1).sum())
    half = confidence_half_width(parts, confidence)
    note = _population_note(len(blocks), ci_from, least, pooled, n_pooled, dropped, int(invalid.sum()), used,
                            confidence)
    return PopulationIntervals(populations=_frozen(full), lower=_frozen(np.clip(full - half, 0, 1)),
                               upper=_frozen(np.clip(full + half, 0, 1)), block_populations=_frozen(parts),
                               confidence=confidence, n_blocks=len(blocks), ci_from=ci_from, n_used=used, note=note)


def _pooled(m: Moments, least: int) -> tuple[Moments, int, int, int]:
    """``(pieces, pooled, n_pooled, dropped)``: ``m``'s blocks (one lag) with each run of blocks
    holding fewer than ``least`` pairs summed, in order, into pieces of at least ``least`` pairs (short
    ones left at the end join the last such piece); ``pooled``: the short blocks put into ``n_pooled``
    pieces; ``dropped``: short blocks left out (too few pairs even all together). Blocks without pairs
    stay as they are (NaN pieces)."""
    groups: list[list[int]] = []
    current: list[int] = []
    last = None
    for b, n in enumerate(m.n_pairs[:, 0]):
        if n >= least or n == 0:
            groups.append([b])
            continue
        current.append(b)
        if m.n_pairs[current, 0].sum() >= least:
            last = len(groups)
            groups.append(current)
            current = []
    dropped = 0
    if current and last is not None:
        groups[last] += current
    else:
        dropped = len(current)
    pooled_groups = [g for g in groups if len(g) > 1]      # a short block alone never reaches ``least``
    arrays = [np.stack([a[g].sum(axis=0) for g in groups or [[]]]) for a in (m.C00, m.C0t, m.Ctt, m.n_pairs)]
    return Moments(m.lags, *arrays), sum(map(len, pooled_groups)), len(pooled_groups), dropped


def _population_note(n_blocks: int, ci_from: str, least: int, pooled: int, n_pieces: int, dropped: int,
                     invalid: int, used: int, confidence: float) -> str:
    """Why the population interval is missing or wide, and which blocks were pooled or left out."""
    from ..base.option_names import option

    short = f"of {n_blocks} {ci_from} have fewer than {least} lagged pairs ({MIN_PAIRS_PER_STATE} per state), too " \
            "few to estimate a stationary vector each"
    notes = []
    if pooled:
        notes.append(f"{pooled} {short}: pooled into {n_pieces} pieces")
    if dropped:
        notes.append(f"{dropped} {short} or all together: left out")
    if invalid:
        notes.append(f"{invalid} pieces gave no probability vector (entries outside [0, 1]) and were left out")
    if used < 2:
        notes.append(f"no interval: {used} usable piece{'s' if used != 1 else ''}, and an interval needs 2 or "
                     f"more (longer or more trajectories, or {option('ci_from')} targets or blocks)")
    elif used < FEW_PIECES:
        quantile = float(scipy.stats.t.ppf(0.5 + confidence / 2, used - 1))
        notes.append(f"rough: from only {used} pieces (Student t quantile {quantile:.2f})")
    return "; ".join(notes)


#: a population interval wider than this (upper − lower) gets a remark (PopulationIntervals.remark)
WIDE_INTERVAL = 0.5


def own_lag(model: Any) -> ImpliedTimescales:
    """The implied timescales of a Koopman model at its own lag only (no intervals): what
    :func:`check_timescales` needs to judge a model without other lags."""
    ts = np.asarray(model.timescales_ps, dtype=np.float64)[None]
    none = np.full_like(ts, np.nan)
    return ImpliedTimescales(lags=_frozen([model.lag]), lags_ps=_frozen([model.lag_ps]), timescales_ps=_frozen(ts),
                             lower=_frozen(none), upper=_frozen(none), block_timescales_ps=_frozen(none[:0]),
                             confidence=0.95, n_blocks=0, dt_ps=model.dt_ps, reversible=model.reversible,
                             ci_from="blocks", duration_ps=model.duration_ps)


#: a timescale closer than this factor to the analysed trajectory time was seen to relax too few times
DATA_FACTOR = 2.0
#: a timescale that grows by more than this fraction from the lag τ to the longest analysed lag up to
#: ``RISE_SPAN`` τ still rises with the lag: χ is not Markovian at τ and the value is a lower bound
RISE_LIMIT = 0.25
RISE_SPAN = 4
#: an implied timescale is compared only where its eigenvalue |λ_i(L)| = exp(−L/t_i) exceeds this (below,
#: the estimate sinks into the statistical noise, whose floor makes any timescale rise with the lag)
MIN_EIGENVALUE = 0.05


def resolved_timescales(timescales_ps: Any, lag_ps: Any, duration_ps: float) -> np.ndarray:
    """Which timescales the data can support: ``τ < t_i < T / DATA_FACTOR`` (bool array, the shape of
    ``timescales_ps``).

    A relaxation faster than the lag τ (``lag_ps``, broadcast against ``timescales_ps``) has decayed
    before the first step of the model; one within a factor :data:`DATA_FACTOR` of the analysed
    trajectory time ``T`` (``duration_ps``, the summed duration of the analysed trajectories; target
    sets do not add time) was seen to relax too few times to be measured. Infinite or NaN timescales
    are not resolved.
    """
    t = np.asarray(timescales_ps, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return (np.isfinite(t) & (t > np.asarray(lag_ps, dtype=np.float64))
                & (t < float(duration_ps) / DATA_FACTOR))


@dataclass(frozen=True)
class TimescaleCheck:
    """Whether the data pin one relaxation timescale down (:func:`check_timescales`); times in ps.

    Attributes:
        timescale_ps: t_i at the lag τ of the model.
        resolved: τ < t_i < T / :data:`DATA_FACTOR` and not rising with the lag.
        lower_bound: the true timescale is probably longer (it rises with the lag, or it is near or
            beyond the analysed time T).
        rising: t_i grew by more than :data:`RISE_LIMIT` from τ to ``rise_lags_ps[1]`` ≤ RISE_SPAN·τ, or
            rises steadily over all analysed lags (then ``rise_lags_ps[1]`` may lie beyond RISE_SPAN·τ);
            None when no analysed lag in (τ, RISE_SPAN·τ] measures t_i and it does not rise steadily.
        rise: t_i(L) / t_i(τ) − 1 (None: not checked).
        rise_lags_ps: the two lags compared (τ, L), or None.
        lag_needed_ps: when rising: lags beyond this one (the longest analysed lag with a measured t_i) are needed.
        data_needed_ps: for a lower bound, when the analysed time T falls short of it: the data
            should be longer than this (:data:`DATA_FACTOR` × the longest t_i measured at any analysed lag).
        reason: one sentence when not resolved, else None.
    """

    timescale_ps: float
    resolved: bool
    lower_bound: bool
    rising: bool | None
    rise: float | None
    rise_lags_ps: tuple[float, float] | None
    lag_needed_ps: float | None
    data_needed_ps: float | None
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (inf/NaN as ``None``)."""
        from ..files.writes import json_safe

        return json_safe({"timescale_ps": self.timescale_ps, "resolved": self.resolved,
                          "lower_bound": self.lower_bound, "rising": self.rising, "rise": self.rise,
                          "rise_lags_ps": None if self.rise_lags_ps is None else list(self.rise_lags_ps),
                          "lag_needed_ps": self.lag_needed_ps, "data_needed_ps": self.data_needed_ps,
                          "reason": self.reason})


def _ps(t: float) -> str:
    return "∞" if not np.isfinite(t) else f"{t:.3g} ps"


def check_timescales(its: ImpliedTimescales, timescales_ps: Any, lag_ps: float,
                     duration_ps: float) -> list[TimescaleCheck]:
    """One :class:`TimescaleCheck` per process of a model at lag τ = ``lag_ps`` (``timescales_ps``,
    slowest first), against its implied timescales over the analysed lags ``its`` and the analysed
    trajectory time ``duration_ps``.

    A timescale is a *lower bound* when (i) it keeps rising with the lag: at the longest analysed lag
    L ≤ :data:`RISE_SPAN` τ where it is still measured (|λ_i(L)| > :data:`MIN_EIGENVALUE`), t_i(L)
    exceeds t_i(τ) by more than :data:`RISE_LIMIT` (issue 18's rule, whatever the confidence interval
    says: a Markovian χ gives the same t_i at every lag); or (ii) it rises steadily over all analysed
    lags: t_i grows from each measured lag to the next and the longest measured lag exceeds t_i(τ) by
    more than :data:`RISE_LIMIT` (a slow creep that never settles, e.g. 2.4× over lags 1.2–40 ps, even
    where the rise up to :data:`RISE_SPAN` τ alone stays under the limit); or (iii) it is longer than
    1 / :data:`DATA_FACTOR` of the analysed time, or infinite. A timescale shorter than τ is not
    resolved either (it decays within one lag), but is no lower bound.
    """
    t = np.asarray(timescales_ps, dtype=np.float64)
    lags = np.asarray(its.lags_ps, dtype=np.float64)
    grid = np.asarray(its.timescales_ps, dtype=np.float64)
    checks = []
    for i, ti in enumerate(t):
        column = grid[:, i] if i < grid.shape[1] else np.full(len(lags), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            measured = np.isfinite(column) & (np.exp(-lags / column) > MIN_EIGENVALUE)
            later = measured & (lags > lag_ps * (1 + 1e-9)) & (lags <= RISE_SPAN * lag_ps * (1 + 1e-9))
        rising = rise = pair = None
        if np.isfinite(ti) and later.any():
            k = int(np.flatnonzero(later)[-1])
            rise, pair = float(column[k] / ti - 1), (float(lag_ps), float(lags[k]))
            rising = bool(rise > RISE_LIMIT)
        seen = column[measured]
        steady = bool(np.isfinite(ti) and len(seen) >= 3 and lags[measured][-1] > lag_ps * (1 + 1e-9)
                      and np.all(np.diff(seen) > 0) and seen[-1] / ti - 1 > RISE_LIMIT)
        if steady and not rising:
            k = int(np.flatnonzero(measured)[-1])
            rise, pair = float(column[k] / ti - 1), (float(lag_ps), float(lags[k]))
        rising = True if steady else rising
        longest = float(max([ti, *seen]))
        near_end = not np.isfinite(ti) or ti >= duration_ps / DATA_FACTOR
        lower = bool(near_end or rising)
        fast = bool(np.isfinite(ti) and ti <= lag_ps)
        lag_needed = float(lags[measured].max()) if rising else None
        data_needed = (DATA_FACTOR * longest if lower and np.isfinite(longest) and DATA_FACTOR * longest >= duration_ps
                       else None)
        name, notes = f"t{i + 1} = {_ps(ti)}", []
        if fast:
            notes.append(f"{name} is shorter than the lag τ = {lag_ps:g} ps (it decays within one lag)")
        if rising:
            over = (f"; it rises steadily over all analysed lags, {seen[-1] / seen[0]:.2g}× from "
                    f"{lags[measured][0]:g} to {lags[measured][-1]:g} ps" if steady else "")
            notes.append(f"{name} keeps rising with the lag (to {_ps(column[k])} at {pair[1]:g} ps, +{rise:.0%} "
                         f"from τ = {pair[0]:g} ps{over}): a lower bound, χ is not Markovian at τ; try lags beyond "
                         f"{lag_needed:g} ps")
        if near_end:
            notes.append(f"{name} is {'longer than' if ti >= duration_ps else 'more than half of'} the "
                         f"{duration_ps:.3g} ps of trajectory analysed (seen to relax too few times): a lower bound")
        if data_needed is not None:
            notes[-1] += f"; the data would need to be longer than {data_needed:.3g} ps"
        checks.append(TimescaleCheck(
            timescale_ps=float(ti), resolved=not (lower or fast or not np.isfinite(ti)), lower_bound=lower,
            rising=rising, rise=rise, rise_lags_ps=pair, lag_needed_ps=lag_needed, data_needed_ps=data_needed,
            reason="; ".join(notes) or None))
    return checks
