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

from ..base.errors import GdynetError
from ..base.states import unpack_chi
from ..base.units import check_lag, frames_to_ps, lag_to_frames, parse_time
from ..base.wording import number_list
from .covariance import as_trajectories, lagged_moments
from .processes import eigenvector_summary
from .spectral import (EPSILON, _frozen, _json_list, estimate_koopman_matrix, koopman_matrix,  # noqa: F401
                       spectrum, timescales_from_eigenvalues)          # koopman_matrix: its home until 0.4

#: a stationary population further than this from the one observed in χ gets a remark (KoopmanModel.remarks)
POPULATION_GAP = 0.1


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
        duration_ps: the analysed trajectory time T (summed over the trajectories fitted; NaN when
            unknown): with it the model says which timescales the data pin down (:attr:`checks`).

    Verdicts, as in summary.json: :attr:`checks` (per process a
    :class:`~gdynet.koopman.validation.TimescaleCheck`: ``resolved``, ``lower_bound``, ``reason``),
    :attr:`lower_bound`, :attr:`resolved` and :attr:`remarks`, all shown by the repr. From the model
    alone a timescale is judged against τ and T; whether it keeps rising with the lag needs the
    implied timescales: ``model.check(gdynet.implied_timescales(chi, lags))``.
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
    duration_ps: float = float("nan")

    def __post_init__(self) -> None:
        # the lag rule (a time with a unit is converted with dt_ps, as everywhere)
        object.__setattr__(self, "lag", lag_to_frames(self.lag, self.dt_ps))

    @classmethod
    def from_moments(cls, C00: np.ndarray, C0t: np.ndarray, Ctt: np.ndarray, n_pairs: int, lag: int,
                     dt_ps: float, *, reversible: bool = False, epsilon: float = EPSILON,
                     duration_ps: float = float("nan")) -> "KoopmanModel":
        """Build the model from the moments of one lag (see :mod:`gdynet.koopman.covariance`); ``lag``
        in frames, or a time with a unit converted with ``dt_ps``; ``duration_ps``: the analysed
        trajectory time."""
        lag = lag_to_frames(lag, dt_ps)
        K, rank = estimate_koopman_matrix(C00, C0t, Ctt, reversible=reversible, epsilon=epsilon)
        w, left, right = spectrum(K)
        lag_ps = frames_to_ps(lag, dt_ps)
        return cls(K=_frozen(K), lag=int(lag), lag_ps=float(lag_ps), dt_ps=float(dt_ps),
                   eigenvalues=_frozen(w), timescales_ps=_frozen(timescales_from_eigenvalues(w[1:], lag_ps)),
                   stationary=_frozen(left[0].real), left_eigenvectors=_frozen(left),
                   right_eigenvectors=_frozen(right), C00=_frozen(C00), C0t=_frozen(C0t), Ctt=_frozen(Ctt),
                   n_pairs=int(n_pairs), reversible=bool(reversible), epsilon=float(epsilon), rank=rank,
                   duration_ps=float(duration_ps))

    @property
    def n_states(self) -> int:
        return self.K.shape[0]

    def check(self, its: Any = None) -> list[Any]:
        """One :class:`~gdynet.koopman.validation.TimescaleCheck` per process
        (:func:`~gdynet.koopman.validation.check_timescales`): against the implied timescales ``its``
        when given (then a timescale that keeps rising with the lag is a lower bound too), else
        against the lag τ and the analysed time only."""
        from .validation import check_timescales, own_lag

        return check_timescales(own_lag(self) if its is None else its, self.timescales_ps, self.lag_ps,
                                self.duration_ps)

    @property
    def checks(self) -> list[Any]:
        """Per process: resolved, or a lower bound and why (:meth:`check` from the model alone)."""
        return self.check()

    @property
    def lower_bound(self) -> np.ndarray:
        """``(S-1,)`` bools: the true timescale is probably longer (:attr:`checks`)."""
        return np.array([c.lower_bound for c in self.checks], dtype=bool)

    @property
    def resolved(self) -> np.ndarray:
        """``(S-1,)`` bools: τ < t_i < T / 2 (:attr:`checks`)."""
        return np.array([c.resolved for c in self.checks], dtype=bool)

    @property
    def observed_populations(self) -> np.ndarray:
        """``(S,)`` mean χ of each state over the pairs fitted (rows of C00 sum to it, as χ rows sum to 1)."""
        return np.asarray(self.C00, dtype=np.float64).sum(axis=1) / max(self.n_pairs, 1)

    @property
    def remarks(self) -> list[str]:
        """Sentences on what the data do not pin down: each timescale that is not resolved (its reason),
        and stationary populations far (> :data:`POPULATION_GAP`) from those observed in χ."""
        notes = [c.reason for c in self.checks if c.reason]
        observed = self.observed_populations
        if np.all(np.isfinite(self.stationary)) and np.max(np.abs(self.stationary - observed)) > POPULATION_GAP:
            notes.append(f"the stationary populations ({number_list(self.stationary)}) differ from those in the data "
                         f"({number_list(observed)}): the data are far from equilibrium, or the slowest process "
                         "did not relax within them")
        return notes

    def __repr__(self) -> str:
        kind = ", reversible" if self.reversible else ""
        marks = [" (lower bound)" if c.lower_bound else " (not resolved)" if not c.resolved else ""
                 for c in self.checks]
        times = ", ".join(f"{'∞' if t == np.inf else format(t, '.4g')}{m}" for t, m in zip(self.timescales_ps, marks))
        observed = self.observed_populations
        seen = (f" (in the data {number_list(observed)})"
                if np.max(np.abs(self.stationary - observed), initial=0.0) > POPULATION_GAP else "")
        data = "" if not np.isfinite(self.duration_ps) else f" from {self.duration_ps:.4g} ps of data"
        return (f"KoopmanModel({self.n_states} states, lag {self.lag_ps:g} ps = {self.lag} frames{kind}{data}; "
                f"timescales {times} ps; populations {number_list(self.stationary)}{seen})")

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
        notes = "".join(f". {note[0].upper()}{note[1:]}" for note in self.remarks)
        return (f"{kind}Koopman model at lag {self.lag_ps:g} ps ({self.lag} frames), {self.n_states} states, "
                f"{self.n_pairs} pairs; stationary populations {pops}; relaxation timescales {ts}{notes}")


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
        self._params = {"lag": lag, "dt_ps": dt_ps, "reversible": reversible, "epsilon": epsilon}
        self._settle()
        self._model: KoopmanModel | None = None

    def _settle(self) -> None:
        """Check the settings (the lag rule at once) and derive ``dt_ps`` (ps) and ``lag`` (frames) from them."""
        lag, dt_ps, epsilon = self._params["lag"], self._params["dt_ps"], self._params["epsilon"]
        check_lag(lag)
        self.dt_ps = None if dt_ps is None else parse_time(dt_ps, name="dt_ps")
        self._lag = lag
        #: τ in frames; ``None`` when it is a time and the frame spacing comes with χ (the model has it)
        self.lag = lag_to_frames(lag, self.dt_ps) if self.dt_ps is not None or _is_frames(lag) else None
        self.reversible = bool(self._params["reversible"])
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not (0 <= epsilon < 1):
            raise GdynetError(f"epsilon must be in [0, 1), got {epsilon!r}", "KoopmanEstimator")
        self.epsilon = float(epsilon)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The settings as given to ``__init__`` (scikit-learn's convention; ``sklearn.clone`` works)."""
        return dict(self._params)

    def set_params(self, **params: Any) -> "KoopmanEstimator":
        """Change settings (checked at once); returns the estimator. A fitted model is kept until the next fit."""
        unknown = sorted(set(params) - set(self._params))
        if unknown:
            raise GdynetError(f"unknown setting(s) {', '.join(unknown)}; settings: {', '.join(self._params)}",
                              "KoopmanEstimator")
        old = dict(self._params)
        self._params.update(params)
        try:
            self._settle()
        except GdynetError:
            self._params = old
            self._settle()
            raise
        return self

    @property
    def has_model(self) -> bool:
        """Whether :meth:`fit` has given a model."""
        return self._model is not None

    @property
    def model(self) -> "KoopmanModel | None":
        """The fitted model, ``None`` before :meth:`fit` (deeptime's ``est.model``)."""
        return self._model

    def __repr__(self) -> str:
        defaults = {"dt_ps": None, "reversible": False, "epsilon": EPSILON}
        given = [f"lag={self._params['lag']!r}"] + [f"{k}={v!r}" for k, v in self._params.items()
                                                     if k != "lag" and v != defaults[k]]
        return f"KoopmanEstimator({', '.join(given)}){'  # fitted' if self.has_model else ''}"

    def fit(self, chi: Any, *, source: str = "chi") -> "KoopmanEstimator":
        """Estimate K(τ) from ``chi``: a :class:`~gdynet.base.states.StateProbabilities`, one array
        ``(F, n, S)``, or a list of either (one per trajectory).

        ``source`` names the data in error messages (e.g. the file χ was read from).
        """
        from ..trajectory.core import Trajectory

        items = chi if isinstance(chi, (list, tuple)) else [chi]
        if any(isinstance(c, Trajectory) for c in items):
            raise GdynetError("fit takes StateProbabilities (from GDyNetModel.transform), not a Trajectory: "
                              "chi = model.transform(trajectory); KoopmanEstimator(lag).fit(chi)", source)
        arrays, dt_ps = unpack_chi(chi, self.dt_ps, name=source)
        lag = lag_to_frames(self._lag, dt_ps)
        trajs = as_trajectories(arrays, source)
        m = lagged_moments(trajs, [lag], source=source)
        self._model = KoopmanModel.from_moments(m.C00[0, 0], m.C0t[0, 0], m.Ctt[0, 0], int(m.n_pairs[0, 0]),
                                                lag, dt_ps, reversible=self.reversible, epsilon=self.epsilon,
                                                duration_ps=sum(len(x) - 1 for x in trajs) * dt_ps)
        return self

    def fetch_model(self) -> KoopmanModel:
        """The model of the last :meth:`fit`."""
        if self._model is None:
            raise GdynetError("call fit(chi) before fetch_model()", "KoopmanEstimator")
        return self._model


def _is_frames(lag: Any) -> bool:
    """Whether ``lag`` is a number of frames (an integer), which needs no frame spacing."""
    return isinstance(lag, numbers.Integral) and not isinstance(lag, bool)
