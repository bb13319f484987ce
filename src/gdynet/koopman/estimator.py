"""Koopman matrix K(τ) from state probabilities χ, its spectrum and relaxation timescales.

Eq. 2 of the paper, χ(x_{t+τ}) ≈ Kᵀ χ(x_t), is solved in the least-squares sense over all frames
and target sets, which gives (as in VAMPnets, on the raw, not mean-free χ)

    K(τ) = C00⁻¹ C0t,   C00 = Σ χ(t)ᵀχ(t),   C0t = Σ χ(t)ᵀχ(t+τ)           (sums: see covariance.py)

For softmax χ the rows of K sum to 1, so K acts as a transition matrix between the S states:
K[i, j] is the probability to be in state j a time τ after being in state i. With the reversible
(detailed-balance) option the moments are symmetrised first:
K_rev = ((C00 + Ctt)/2)⁻¹ (C0t + C0tᵀ)/2.

Relaxation timescales (Eq. 11): t_i(τ) = −τ / ln|λ_i(τ)|, i = 1 … S−1, from the eigenvalues λ_i of K.

Usage (deeptime style)::

    model = KoopmanEstimator(lag=100).fit(chi).fetch_model()        # chi: a StateProbabilities
    model = KoopmanEstimator(lag=100, dt_ps=0.1).fit(array).fetch_model()   # a plain (F, n, S) array
    model.timescales_ps, model.stationary, model.propagate(p0, 10)
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg

from ..files.writes import json_safe
from ..base.errors import GdynetError
from ..base.states import unpack_chi
from ..base.units import check_lag, lag_to_frames, parse_time
from ..base.wording import number_list
from .covariance import as_trajectories, lagged_moments
from .processes import eigenvector_summary

#: default relative cut-off: eigenvalues of C00 below EPSILON · max eigenvalue are dropped (pseudo-inverse)
EPSILON = 1e-10
#: eigenvalues whose imaginary parts are all below this are returned as real numbers
_IMAG_TOL = 1e-10
#: |λ| this close to 1 counts as 1 (infinite timescale); round-off of an exact 1 is ~1e-15
_UNIT_TOL = 1e-12


def koopman_matrix(C00: np.ndarray, C0t: np.ndarray, epsilon: float = EPSILON) -> tuple[np.ndarray, int]:
    """``K = C00⁺ C0t`` with the pseudo-inverse of the symmetric ``C00`` by eigen-truncation.

    Eigenvalues of ``C00`` at or below ``epsilon · max eigenvalue`` (and their eigenvectors) are left
    out, so a state that never occurs (a zero row/column of ``C00``) gives a zero row of ``K``.
    Returns ``(K (S, S), rank)`` where ``rank`` is the number of eigenvalues kept.
    """
    s, v = np.linalg.eigh(C00)
    keep = s > epsilon * max(s.max(), 0.0)
    if not keep.any():
        raise GdynetError("the instantaneous moment matrix C00 is zero", "koopman")
    inverse = (v[:, keep] / s[keep]) @ v[:, keep].T
    return inverse @ C0t, int(keep.sum())


def estimate_koopman_matrix(C00: np.ndarray, C0t: np.ndarray, Ctt: np.ndarray, *, reversible: bool = False,
                            epsilon: float = EPSILON) -> tuple[np.ndarray, int]:
    """``K = C00⁺ C0t``, or with ``reversible`` ``K = ((C00 + Ctt)/2)⁺ (C0t + C0tᵀ)/2``; returns ``(K, rank)``."""
    if reversible:
        return koopman_matrix((C00 + Ctt) / 2, (C0t + C0t.T) / 2, epsilon)
    return koopman_matrix(C00, C0t, epsilon)


def spectrum(K: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigen-decomposition of ``K``: ``(eigenvalues (S,), left (S, S), right (S, S))``.

    Order: the eigenvalue closest to 1 (the stationary process) first, the others by |λ| descending.
    ``left[i] @ K = λ_i left[i]`` (rows), ``K @ right[:, i] = λ_i right[:, i]`` (columns),
    ``left[i] @ right[:, i] = 1``; ``left[0]`` is scaled to sum to 1, so for a row-stochastic ``K``
    it is the stationary distribution and ``right[:, 0]`` is the vector of ones. Arrays are real when
    all imaginary parts are below 1e-10, else complex.
    """
    w, right = scipy.linalg.eig(K)
    first = int(np.argmin(np.abs(w - 1.0)))
    rest = [i for i in np.argsort(-np.abs(w), kind="stable") if i != first]
    order = [first, *rest]
    w, right = w[order], right[:, order]
    try:  # K = R Λ R⁻¹, so the rows of R⁻¹ are the left eigenvectors (also for degenerate λ)
        left = np.linalg.inv(right)
    except np.linalg.LinAlgError:  # defective K (measure zero for estimated matrices)
        left = np.linalg.pinv(right)
    scale = left[0].sum()
    if abs(scale) > 0:
        left[0] /= scale
        right[:, 0] *= scale
    if np.all(np.abs(w.imag) <= _IMAG_TOL):
        w, left, right = w.real, left.real, right.real
    return w, left, right


def timescales_from_eigenvalues(eigenvalues: np.ndarray, lag_ps: float) -> np.ndarray:
    """Eq. 11, ``t_i = −τ / ln|λ_i|`` in ps for every eigenvalue given (same shape).

    Rules: |λ| ≥ 1 − 1e-12 (a process that does not decay, up to round-off) → ``inf``; λ = 0 → 0;
    negative or complex λ use |λ| as in the paper; NaN stays NaN.
    """
    mod = np.abs(np.asarray(eigenvalues))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -lag_ps / np.log(mod)
    return np.where(mod >= 1.0 - _UNIT_TOL, np.inf, t)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.setflags(write=False)
    return a


def _json_list(a: np.ndarray) -> Any:
    """Nested lists of floats with non-finite values as ``None`` (JSON has no inf/NaN)."""
    return json_safe(np.asarray(a, dtype=np.float64))


@dataclass(frozen=True, eq=False)
class KoopmanModel:
    """A Koopman model K(τ) estimated from state probabilities χ (read-only arrays).

    Attributes:
        K: ``(S, S)`` Koopman (transition) matrix, ``K = C00⁻¹ C0t`` (Eq. 2); ``K[i, j]`` = probability to
            be in state j a lag τ after being in state i. Rows sum to 1 for softmax χ.
        lag: τ in frames.
        lag_ps: τ in ps (``lag * dt_ps``).
        dt_ps: time between frames in ps.
        eigenvalues: ``(S,)`` eigenvalues of K: the stationary one (closest to 1) first, then by |λ|
            descending; real unless K has complex eigenvalues.
        timescales_ps: ``(S-1,)`` relaxation timescales t_i = −τ/ln|λ_i| in ps (Eq. 11), slowest
            first; ``inf`` for |λ_i| ≥ 1.
        stationary: ``(S,)`` stationary populations, the left eigenvector of λ_0, normalised to sum 1.
        left_eigenvectors: ``(S, S)``, row i is the left eigenvector of λ_i.
        right_eigenvectors: ``(S, S)``, column i is the right eigenvector of λ_i; ``left @ right = I``.
        C00, C0t, Ctt: ``(S, S)`` un-normalised moments (sums over frames and target sets; never
            symmetrised, also for a reversible model).
        n_pairs: number of (frame, target set) pairs in the sums.
        reversible: whether K was estimated with detailed balance (symmetrised moments).
        epsilon: relative eigenvalue cut-off of the pseudo-inverse of C00.
        rank: number of eigenvalues of C00 kept (``S`` unless C00 is rank-deficient).
    """

    K: np.ndarray
    lag: int
    lag_ps: float
    dt_ps: float
    eigenvalues: np.ndarray
    timescales_ps: np.ndarray
    stationary: np.ndarray
    left_eigenvectors: np.ndarray
    right_eigenvectors: np.ndarray
    C00: np.ndarray
    C0t: np.ndarray
    Ctt: np.ndarray
    n_pairs: int
    reversible: bool = False
    epsilon: float = EPSILON
    rank: int = 0

    def __post_init__(self) -> None:
        # the lag rule (a time with a unit is converted with dt_ps, as everywhere)
        object.__setattr__(self, "lag", lag_to_frames(self.lag, self.dt_ps))

    @classmethod
    def from_moments(cls, C00: np.ndarray, C0t: np.ndarray, Ctt: np.ndarray, n_pairs: int, lag: int,
                     dt_ps: float, *, reversible: bool = False, epsilon: float = EPSILON) -> "KoopmanModel":
        """Build the model from the moments of one lag (see :mod:`gdynet.koopman.covariance`); ``lag``
        in frames, or a time with a unit converted with ``dt_ps``."""
        lag = lag_to_frames(lag, dt_ps)
        K, rank = estimate_koopman_matrix(C00, C0t, Ctt, reversible=reversible, epsilon=epsilon)
        w, left, right = spectrum(K)
        lag_ps = lag * dt_ps
        return cls(K=_frozen(K), lag=int(lag), lag_ps=float(lag_ps), dt_ps=float(dt_ps),
                   eigenvalues=_frozen(w), timescales_ps=_frozen(timescales_from_eigenvalues(w[1:], lag_ps)),
                   stationary=_frozen(left[0].real), left_eigenvectors=_frozen(left),
                   right_eigenvectors=_frozen(right), C00=_frozen(C00), C0t=_frozen(C0t), Ctt=_frozen(Ctt),
                   n_pairs=int(n_pairs), reversible=bool(reversible), epsilon=float(epsilon), rank=rank)

    @property
    def n_states(self) -> int:
        return self.K.shape[0]

    def __repr__(self) -> str:
        kind = ", reversible" if self.reversible else ""
        return (f"KoopmanModel({self.n_states} states, lag {self.lag_ps:g} ps = {self.lag} frames{kind}; "
                f"timescales {number_list(self.timescales_ps, '.4g')} ps; "
                f"populations {number_list(self.stationary)})")

    def propagate(self, p0: np.ndarray, n: int = 1) -> np.ndarray:
        """State distribution after ``n`` lags: ``p_n = p0 Kⁿ`` (the transpose of Eq. 2, Eq. 6).

        ``p0``: ``(S,)`` or ``(m, S)`` (one distribution per row); returns the same shape.
        """
        p0 = np.asarray(p0, dtype=np.float64)
        if p0.ndim not in (1, 2) or p0.shape[-1] != self.n_states:
            raise GdynetError(f"p0 must have shape ({self.n_states},) or (m, {self.n_states}), got {p0.shape}",
                              "propagate")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise GdynetError(f"n must be a non-negative integer, got {n!r}", "propagate")
        return p0 @ np.linalg.matrix_power(self.K, int(n))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (inf/NaN written as ``None``; eigenvalues as real and imaginary parts;
        ``eigenvectors``: :func:`gdynet.koopman.processes.eigenvector_summary`)."""
        w = np.asarray(self.eigenvalues)
        return {
            "lag_frames": self.lag, "lag_ps": self.lag_ps, "dt_ps": self.dt_ps, "n_states": self.n_states,
            "reversible": self.reversible, "n_pairs": self.n_pairs, "rank": self.rank,
            "timescales_ps": _json_list(self.timescales_ps), "populations": _json_list(self.stationary),
            "eigenvalues": _json_list(w.real), "eigenvalues_imag": _json_list(np.imag(w)),
            "K": _json_list(self.K), "eigenvectors": eigenvector_summary(self),
        }

    def summary(self) -> str:
        """One-paragraph text summary (lag, populations, timescales)."""
        pops = ", ".join(f"{p:.3f}" for p in self.stationary)
        ts = ", ".join(f"{t:.4g} ps" for t in self.timescales_ps)
        kind = "reversible " if self.reversible else ""
        return (f"{kind}Koopman model at lag {self.lag_ps:g} ps ({self.lag} frames), {self.n_states} states, "
                f"{self.n_pairs} pairs; stationary populations {pops}; relaxation timescales {ts}")


class KoopmanEstimator:
    """Estimates a :class:`KoopmanModel` from state probabilities χ (deeptime-style estimator).

    Args:
        lag: τ in frames (int), or a time such as ``"10ps"`` converted with the frame spacing.
        dt_ps: time between frames in ps; leave it out when fitting a
            :class:`~gdynet.base.states.StateProbabilities`, which carries its own (plain arrays need it).
        reversible: enforce detailed balance (symmetrised moments, real spectrum).
        epsilon: relative eigenvalue cut-off of the pseudo-inverse of C00 (default 1e-10).
    """

    def __init__(self, lag: int | str, dt_ps: float | str | None = None, reversible: bool = False,
                 epsilon: float = EPSILON) -> None:
        check_lag(lag)
        self.dt_ps = None if dt_ps is None else parse_time(dt_ps, name="dt_ps")
        self._lag = lag
        #: τ in frames; ``None`` when it is a time and the frame spacing comes with χ (the model has it)
        self.lag = lag_to_frames(lag, self.dt_ps) if self.dt_ps is not None or _is_frames(lag) else None
        self.reversible = bool(reversible)
        if not (0 <= epsilon < 1):
            raise GdynetError(f"epsilon must be in [0, 1), got {epsilon!r}", "KoopmanEstimator")
        self.epsilon = float(epsilon)
        self._model: KoopmanModel | None = None

    def __repr__(self) -> str:
        lag = f"{self.lag} frames" if self.lag is not None else repr(self._lag)
        dt = "" if self.dt_ps is None else f", dt={self.dt_ps:g} ps"
        state = "fitted" if self._model is not None else "not fitted"
        return f"KoopmanEstimator(lag={lag}{dt}, reversible={self.reversible}; {state})"

    def fit(self, chi: Any, *, source: str = "chi") -> "KoopmanEstimator":
        """Estimate K(τ) from ``chi``: a :class:`~gdynet.base.states.StateProbabilities`, one array
        ``(F, n, S)``, or a list of either (one per trajectory).

        ``source`` names the data in error messages (e.g. the file χ was read from).
        """
        arrays, dt_ps = unpack_chi(chi, self.dt_ps, name=source)
        lag = lag_to_frames(self._lag, dt_ps)
        trajs = as_trajectories(arrays, source)
        m = lagged_moments(trajs, [lag], source=source)
        self._model = KoopmanModel.from_moments(m.C00[0, 0], m.C0t[0, 0], m.Ctt[0, 0], int(m.n_pairs[0, 0]),
                                                lag, dt_ps, reversible=self.reversible, epsilon=self.epsilon)
        return self

    def fetch_model(self) -> KoopmanModel:
        """The model of the last :meth:`fit`."""
        if self._model is None:
            raise GdynetError("call fit(chi) before fetch_model()", "KoopmanEstimator")
        return self._model


def _is_frames(lag: Any) -> bool:
    """Whether ``lag`` is a number of frames (an integer), which needs no frame spacing."""
    return isinstance(lag, numbers.Integral) and not isinstance(lag, bool)
