"""Structure labels over time: an independent check of the learned states and their slowest timescale.

From the Steinhardt order parameter ``q`` of every target set in every frame
(:func:`gdynet.analysis.order.state_order_parameter` keeps it in ``series``):

* **threshold** ``t``: Otsu's (IEEE Trans. Syst. Man Cybern. 9, 62 (1979)) on the pooled histogram of
  ``q``, the split that maximises the between-class variance ``w_0 w_1 (m_0 - m_1)^2``; on the bimodal
  distribution of a solid in contact with its melt it lies in the valley. A target set is *ordered*
  (solid) when ``q >= t``, else *disordered* (liquid); a set without neighbours within the cut-off
  counts as disordered. ``m_0``, ``m_1``: the class means.
* **core sets** (milestoning): a set becomes ordered in the frame its ``q`` reaches
  ``t + (m_1 - t) / 2`` and disordered in the frame it falls to ``t - (t - m_0) / 2``; in between it
  keeps its last label (first frame: the side of ``t``). A single threshold counts every thermal
  flicker of ``q`` across ``t`` as a transition, which makes the label Markov model relax faster
  than the atoms do; core sets count only the crossings from one class to the other.
* **label Markov models**: the one-hot labels ``(F, n, 2)`` are a two-state χ, so their slowest
  relaxation time ``t_1 = -τ / ln|λ_1(τ)|`` (Eq. 11) comes from the same estimator, lags and
  confidence blocks as the learned model's implied timescales.
* **agreement**: each learned state's ordered fraction ``sum p_s(n, f) o(n, f) / sum p_s(n, f)``
  (``o``: the raw label), and the fraction of target-frames whose most likely state is on the same
  side (a state counts as ordered when its fraction exceeds 1/2) as the label.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..base.errors import GdynetError
from ..koopman.validation import ImpliedTimescales, implied_timescales
from ..base.wording import join_words, state_list

#: bins of the pooled histogram that Otsu's threshold is chosen on
OTSU_BINS = 256


def otsu_threshold(values: np.ndarray, bins: int = OTSU_BINS) -> float:
    """Otsu's threshold of the finite ``values``: the bin edge that maximises the between-class
    variance of the histogram (``bins`` bins between the smallest and largest value). Where several
    edges tie (empty bins in the valley) the middle of them is returned."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 2 or v.min() == v.max():
        raise GdynetError(f"cannot split {v.size} order-parameter values into two classes: they are all equal "
                          "or there are fewer than two", "order-parameter labels")
    counts, edges = np.histogram(v, bins=bins)
    centres = 0.5 * (edges[1:] + edges[:-1])
    w0 = np.cumsum(counts)[:-1].astype(np.float64)
    w1 = v.size - w0
    s0 = np.cumsum(counts * centres)[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        between = w0 * w1 * (s0 / w0 - (np.sum(counts * centres) - s0) / w1) ** 2
    between = np.nan_to_num(between, nan=-1.0)
    best = np.flatnonzero(between >= between.max() * (1 - 1e-12))
    return float(0.5 * (edges[best[0] + 1] + edges[best[-1] + 1]))


def milestone_labels(in_core: np.ndarray, labels: np.ndarray, before: np.ndarray | int) -> np.ndarray:
    """Core-set (milestoning) labels along axis 0 (frames): each frame takes the label of the last frame
    that was inside a core (``in_core``), so recrossings that do not reach the other core are not
    transitions; frames before the first core visit take ``before`` (broadcast). int8, shape of ``labels``."""
    in_core = np.asarray(in_core, dtype=bool)
    frame = np.arange(len(in_core)).reshape(-1, *([1] * (in_core.ndim - 1)))
    last = np.maximum.accumulate(np.where(in_core, frame, -1), axis=0)
    taken = np.take_along_axis(np.asarray(labels), np.maximum(last, 0), axis=0)
    return np.where(last >= 0, taken, before).astype(np.int8)


def core_set_labels(values: np.ndarray, high: float, low: float, start: float | None = None) -> np.ndarray:
    """Ordered (1) / disordered (0) labels with core sets (:func:`milestone_labels`): ``(F, n)`` -> ``(F, n)`` int8.

    A series is 1 from the first frame its value is ``>= high`` until the first frame it is
    ``<= low``, and 0 the other way round; in between it keeps its last label. In the first frame
    the undecided take the side of ``start`` (default: the middle of ``low`` and ``high``).
    """
    values = np.asarray(values)
    start = 0.5 * (high + low) if start is None else start
    ordered = values >= high
    return milestone_labels(ordered | (values <= low), ordered, values[0] >= start)


def label_timescales(labels: Sequence[np.ndarray], lags: Sequence[int], dt_ps: float, *,
                     ci_from: str = "auto") -> ImpliedTimescales:
    """Implied timescales of the two-state Markov model of 0/1 ``labels`` (one ``(F, n)`` array per
    trajectory), at ``lags`` (frames), frames ``dt_ps`` ps apart, intervals from ``ci_from``."""
    onehot = [np.stack([1.0 - x, x], axis=2).astype(np.float64) for x in labels]
    return implied_timescales(onehot, lags, dt_ps, ci_from=ci_from, source="order-parameter labels")


def order_agreement(labels: Sequence[np.ndarray], chis: Sequence[np.ndarray]) -> tuple[np.ndarray, float]:
    """``(S,)`` ordered fraction of each state (probability-weighted over target-frames) and the
    fraction of target-frames whose most likely state is on the side of their label (module docstring)."""
    ordered = sum(np.einsum("fns,fn->s", np.asarray(c, dtype=np.float64), x) for x, c in zip(labels, chis))
    weight = sum(np.asarray(c, dtype=np.float64).sum(axis=(0, 1)) for c in chis)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = ordered / weight
    side = np.nan_to_num(fraction) > 0.5
    hits = sum(int(np.count_nonzero(side[np.argmax(c, axis=2)] == x.astype(bool))) for x, c in zip(labels, chis))
    return fraction, hits / sum(x.size for x in labels)


@dataclass(frozen=True, eq=False)
class OrderLabels:
    """Result of :func:`labels_from_order`.

    Attributes:
        threshold: Otsu's threshold ``t`` of ``q``; class_means: ``(m_0, m_1)`` below and above it.
        core_thresholds: ``(low, high)`` bounds of the core sets.
        ordered_fraction: ``(S,)`` probability-weighted fraction of each state's target-frames that are ordered.
        agreement: fraction of target-frames whose most likely state agrees with the label.
        timescales, core_timescales: :class:`ImpliedTimescales` of the raw and core-set labels.
        n_frames: frames labelled (all trajectories).
    """

    threshold: float
    class_means: tuple[float, float]
    core_thresholds: tuple[float, float]
    ordered_fraction: np.ndarray
    agreement: float
    timescales: ImpliedTimescales
    core_timescales: ImpliedTimescales
    n_frames: int

    def summary(self) -> dict[str, Any]:
        """JSON-ready: ``threshold``, ``class_means``, ``core_thresholds``, ``ordered_fraction`` (S),
        ``agreement``, ``lags_ps``, ``timescales_ps`` and ``core_timescales_ps`` (slowest per lag),
        their ``*_ci_ps`` ([lower, upper] per lag, None where unknown or unbounded) and ``n_frames``."""
        def slowest(values: np.ndarray) -> list[float | None]:
            return [float(v) if np.isfinite(v) else None for v in np.asarray(values)[:, 0]]

        def interval(its: ImpliedTimescales) -> list[list[float | None]]:
            return [list(pair) for pair in zip(slowest(its.lower), slowest(its.upper))]

        return {"threshold": self.threshold, "class_means": list(self.class_means),
                "ordered_fraction": [float(x) for x in self.ordered_fraction], "agreement": self.agreement,
                "lags_ps": [float(x) for x in self.timescales.lags_ps],
                "timescales_ps": slowest(self.timescales.timescales_ps),
                "timescales_ci_ps": interval(self.timescales),
                "core_timescales_ps": slowest(self.core_timescales.timescales_ps),
                "core_timescales_ci_ps": interval(self.core_timescales),
                "core_thresholds": list(self.core_thresholds), "ci_from": self.timescales.ci_from,
                "n_frames": self.n_frames}

    def sentence(self, name: str, learned: ImpliedTimescales, lag_ps: float) -> str:
        """One plain line for the report: which states are ordered, the agreement, and the slowest
        timescale of the learned model, the labels and the core-set labels at the lag nearest ``lag_ps``."""
        frac = np.nan_to_num(self.ordered_fraction)
        side = frac > 0.5
        groups = [f"{state_list(np.flatnonzero(side == s))} {_percent(frac[side == s])} ordered"
                  for s in (True, False) if np.any(side == s)]
        i = int(np.argmin(np.abs(np.asarray(learned.lags_ps) - lag_ps)))
        j = int(np.argmin(np.abs(np.asarray(self.timescales.lags_ps) - learned.lags_ps[i])))
        lag = float(learned.lags_ps[i])
        t = [_ps(x, lag) for x in (learned.timescales_ps[i][0], self.timescales.timescales_ps[j][0],
                                   self.core_timescales.timescales_ps[j][0])]
        return (f"{name} labels (ordered at or above {self.threshold:.3g}): " + ", ".join(groups)
                + f"; the learned states agree with the labels on {100 * self.agreement:.0f} % of target-frames; slowest "
                f"timescale at τ = {lag:g} ps: learned {t[0]}, labels {t[1]}, labels with core sets "
                f"{t[2]} (a label that flickers across the threshold relaxes faster than the atoms do)")


def _percent(values: np.ndarray) -> str:
    text = [f"{100 * v:.0f} %" for v in values]
    return ("is " if len(text) == 1 else "are ") + join_words(text)


def _ps(value: float, lag_ps: float) -> str:
    if not np.isfinite(value):
        return "not resolved (|λ| ≥ 1)"
    return f"{value:.3g} ps" + (" (shorter than τ: not resolved)" if value < lag_ps else "")


def labels_from_order(q: np.ndarray | Sequence[np.ndarray], chis: np.ndarray | Sequence[np.ndarray],
                      lags: Sequence[int], dt_ps: float, *, ci_from: str = "auto") -> OrderLabels:
    """Label every target set in every frame as ordered or disordered and compare with the learned states.

    Args:
        q: ``(F, n)`` order parameter of each target set in consecutive frames, or one array per
            trajectory (NaN: no neighbours, counted as disordered).
        chis: the matching ``(F, n, S)`` state probabilities.
        lags: lags (frames) of the label Markov models, e.g. those of the learned implied timescales.
        dt_ps: time between frames in ps.
        ci_from: blocks of the timescales' confidence intervals (as the learned model's).

    Returns:
        :class:`OrderLabels` (module docstring for the definitions).
    """
    qs = [np.asarray(q, dtype=np.float64)] if isinstance(q, np.ndarray) else [np.asarray(x, np.float64) for x in q]
    chis = [chis] if isinstance(chis, np.ndarray) else list(chis)
    if len(qs) != len(chis) or any(x.shape != c.shape[:2] for x, c in zip(qs, chis)):
        raise GdynetError(f"order parameter series {[x.shape for x in qs]} do not match the state probabilities "
                          f"{[c.shape[:2] for c in chis]}", "order-parameter labels")
    pooled = np.concatenate([x.ravel() for x in qs])
    pooled = pooled[np.isfinite(pooled)]
    t = otsu_threshold(pooled)
    means = (float(pooled[pooled < t].mean()), float(pooled[pooled >= t].mean()))
    qs = [np.nan_to_num(x, nan=0.0) for x in qs]            # no neighbours: disordered
    low, high = t - (t - means[0]) / 2, t + (means[1] - t) / 2
    raw = [(x >= t).astype(np.int8) for x in qs]
    core = [core_set_labels(x, high, low, start=t) for x in qs]
    fraction, agreement = order_agreement(raw, chis)
    return OrderLabels(threshold=t, class_means=means, core_thresholds=(low, high), ordered_fraction=fraction,
                       agreement=agreement, timescales=label_timescales(raw, lags, dt_ps, ci_from=ci_from),
                       core_timescales=label_timescales(core, lags, dt_ps, ci_from=ci_from),
                       n_frames=sum(len(x) for x in qs))
