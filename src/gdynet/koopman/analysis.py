"""Every Koopman result of one analysis in one call: model, implied timescales, CK test, population
intervals, resolved-timescale marks, eigenvectors and (optionally) PCCA+ lumping.

:func:`koopman_analysis` is what ``gdynet analyze`` runs on the selected (held-out) χ; its
:meth:`KoopmanAnalysis.summary` gives the summary.json entries and :meth:`KoopmanAnalysis.text` the
report's sentences.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Sequence

import numpy as np

from ..files.writes import json_safe
from ..base.states import unpack_chi
from .covariance import as_trajectories
from .estimator import KoopmanEstimator, KoopmanModel
from .pcca import CoarseModel, coarse_grain
from .processes import describe_process
from .validation import (RISE_LIMIT, RISE_SPAN, CKTest, ImpliedTimescales, PopulationIntervals, TimescaleCheck,
                         check_timescales, ck_test, implied_timescales, population_intervals, resolved_timescales)


@dataclass(frozen=True, eq=False)
class KoopmanAnalysis:
    """Results of :func:`koopman_analysis` (see there); ``duration_ps`` is the analysed trajectory time."""

    model: KoopmanModel
    its: ImpliedTimescales
    ck: CKTest
    populations: PopulationIntervals
    duration_ps: float
    coarse: CoarseModel | None = None

    @cached_property
    def checks(self) -> list[TimescaleCheck]:
        """Per process: resolved, or a lower bound and why (:func:`~.validation.check_timescales`)."""
        return check_timescales(self.its, self.model.timescales_ps, self.model.lag_ps, self.duration_ps)

    @property
    def resolved(self) -> np.ndarray:
        """``(S-1,)`` bools: τ < t_i < analysed time / 2 and not rising with the lag."""
        return np.array([c.resolved for c in self.checks], dtype=bool)

    @property
    def markovian(self) -> bool | None:
        """False when some timescale keeps rising with the lag, True when none does, None when no
        analysed lag above τ could tell (:class:`~.validation.TimescaleCheck` ``rising``)."""
        rising = [c.rising for c in self.checks if c.rising is not None]
        return None if not rising else not any(rising)

    def summary(self) -> dict[str, Any]:
        """summary.json entries: ``timescales_ps``, ``populations``, ``analysed_time_ps``, ``ci_from``,
        ``populations_ci``, ``timescales_resolved`` (per process), ``timescales_markovian``,
        ``timescales_checks`` (per process: lower bound, rise with the lag, lag and data needed, reason),
        ``koopman``, ``implied_timescales`` (with ``resolved`` per lag and process), ``ck_test``, ``coarse``."""
        its_resolved = resolved_timescales(self.its.timescales_ps, self.its.lags_ps[:, None], self.duration_ps)
        checks = self.checks
        return {"timescales_ps": json_safe(self.model.timescales_ps), "populations": json_safe(self.model.stationary),
                "analysed_time_ps": self.duration_ps, "ci_from": self.its.ci_from,
                "populations_ci": self.populations.to_dict(),
                "timescales_resolved": [bool(c.resolved) for c in checks], "timescales_markovian": self.markovian,
                "timescales_checks": [c.to_dict() for c in checks], "koopman": self.model.to_dict(),
                "implied_timescales": {**self.its.to_dict(), "resolved": its_resolved.tolist()},
                "ck_test": json_safe(self.ck.to_dict()),
                "coarse": None if self.coarse is None else self.coarse.to_dict()}

    def text(self) -> dict[str, str]:
        """Report lines: populations with intervals, what each process exchanges, which timescales
        the data resolve (and why not), and the PCCA+ lumping."""
        pops = self.populations
        lines = {f"populations ({pops.confidence:.0%} CI from {pops.n_blocks} {pops.ci_from})": ", ".join(
            f"state {s}: {100 * p:.1f} %" + ("" if np.isnan(lo) else f" [{100 * lo:.1f}, {100 * hi:.1f}]")
            for s, (p, lo, hi) in enumerate(zip(pops.populations, pops.lower, pops.upper)))
            + (f" (intervals: {pops.note})" if pops.note else "")}
        right = np.real(self.model.right_eigenvectors).T[1:]
        checks = self.checks
        lines["processes (Koopman eigenvectors)"] = "; ".join(
            describe_process(i + 1, t, r, c.resolved, c.lower_bound)
            for i, (t, r, c) in enumerate(zip(self.model.timescales_ps, right, checks)))
        notes = [c.reason for c in checks if c.reason]
        rise = ("no analysed lag above τ tells whether they rise with the lag" if self.markovian is None else
                f"none rises by more than {RISE_LIMIT:.0%} up to {RISE_SPAN}τ")
        lines["resolved timescales"] = (
            f"all timescales lie between the lag and half the analysed trajectory time, and {rise}"
            if not notes else "not resolved: " + "; ".join(notes))
        if self.coarse is not None:
            lines[f"PCCA+ lumping into {self.coarse.memberships.shape[1]} sets"] = self.coarse.describe()
        return lines


def koopman_analysis(chi: Any, lag: int, lags: Sequence[int], dt_ps: float | None = None, *, ck_steps: int = 5,
                     ci_from: str = "auto", coarse: int | None = None, source: str = "chi") -> KoopmanAnalysis:
    """Koopman model K(τ) (Eq. 2), implied timescales at ``lags`` (Eq. 11), CK test with up to
    ``ck_steps`` multiples of τ (Eq. 6, as many as the longest trajectory allows), population
    intervals (all with intervals from ``ci_from``), and PCCA+ lumping into ``coarse`` sets.

    ``chi``: one ``(F, n, S)`` array or a list of them (every trajectory or held-out piece), or
    :class:`~gdynet.base.states.StateProbabilities` (then ``dt_ps`` may be left out); lags in frames.
    """
    chi, dt_ps = unpack_chi(chi, dt_ps, name=source)
    trajs = as_trajectories(chi, source)
    longest = max(len(x) for x in trajs)
    model = KoopmanEstimator(lag, dt_ps).fit(trajs, source=source).fetch_model()
    steps = max(1, min(ck_steps, (longest - 1) // lag - 1))
    return KoopmanAnalysis(
        model=model, its=implied_timescales(trajs, lags, dt_ps, source=source, ci_from=ci_from),
        ck=ck_test(trajs, lag, steps, dt_ps, source=source, ci_from=ci_from),
        populations=population_intervals(trajs, lag, dt_ps, source=source, ci_from=ci_from),
        duration_ps=sum(len(x) - 1 for x in trajs) * dt_ps,
        coarse=None if coarse is None else coarse_grain(model, coarse))
