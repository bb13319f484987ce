"""Known-answer tests of the structure labels over time (threshold, core sets, label Markov models)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from gdynet import GdynetError
from gdynet.analysis.order_labels import core_set_labels, labels_from_order, otsu_threshold

DT_PS = 0.1


def test_otsu_threshold_lies_in_the_valley_of_a_bimodal_sample():
    rng = np.random.default_rng(0)
    equal = np.concatenate([rng.normal(0.3, 0.04, 20000), rng.normal(0.6, 0.04, 20000)])
    assert otsu_threshold(equal) == pytest.approx(0.45, abs=0.01)        # symmetric: the midpoint
    unequal = np.concatenate([rng.normal(0.3, 0.03, 30000), rng.normal(0.6, 0.03, 10000)])
    t = otsu_threshold(unequal)
    assert 0.39 < t < 0.51                                              # both tails < 0.1 % beyond
    gap = np.concatenate([np.full(10, 0.2), np.full(30, 0.7)])          # empty bins between: their middle
    assert otsu_threshold(gap) == pytest.approx(0.45, abs=0.01)
    with pytest.raises(GdynetError, match="cannot split"):
        otsu_threshold(np.full(5, 0.4))


def test_core_sets_ignore_flicker_that_does_not_reach_the_other_core():
    q = np.array([0.2, 0.45, 0.55, 0.45, 0.75, 0.55, 0.35, 0.55, 0.2, 0.4])[:, None]
    assert core_set_labels(q, 0.7, 0.3, start=0.5)[:, 0].tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 0, 0]
    assert (q[:, 0] >= 0.5).astype(int).tolist() == [0, 0, 1, 0, 1, 1, 0, 1, 0, 0]   # a single threshold flickers
    # undecided in the first frame: the side of `start`
    assert core_set_labels(np.array([[0.55, 0.45]]), 0.7, 0.3, start=0.5).tolist() == [[1, 0]]


def _two_state_chain(p: float, n_frames: int, n_targets: int, noise: float, seed: int = 0):
    """Each target switches ordered <-> disordered with probability ``p`` per frame; its q is drawn
    around 0.5 (ordered) or 0.2 (disordered) with standard deviation ``noise``. Returns q, one-hot chi
    (state 0 = ordered) and the exact slowest timescale -dt / ln(1 - 2p) in ps."""
    rng = np.random.default_rng(seed)
    flips = rng.random((n_frames, n_targets)) < p
    ordered = (np.cumsum(flips, axis=0) + rng.integers(0, 2, n_targets)) % 2
    q = np.where(ordered == 1, 0.5, 0.2) + rng.normal(0.0, noise, ordered.shape)
    chi = np.stack([ordered, 1 - ordered], axis=2).astype(np.float32)
    return q, chi, -DT_PS / np.log(1 - 2 * p)


def test_label_markov_model_recovers_the_known_timescale_and_states():
    q, chi, exact = _two_state_chain(p=0.02, n_frames=2000, n_targets=100, noise=0.03)
    labels = labels_from_order(q, chi, [1, 2, 5], DT_PS)
    assert labels.threshold == pytest.approx(0.35, abs=0.02)
    assert labels.class_means == pytest.approx((0.2, 0.5), abs=0.005)
    assert labels.core_thresholds == pytest.approx((0.275, 0.425), abs=0.02)
    assert labels.ordered_fraction == pytest.approx([1.0, 0.0], abs=1e-3) and labels.agreement > 0.999
    for its in (labels.timescales, labels.core_timescales):
        assert its.timescales_ps[:, 0] == pytest.approx(np.full(3, exact), rel=0.1)      # 2.45 ps
    summary = labels.summary()
    assert summary["lags_ps"] == pytest.approx([0.1, 0.2, 0.5]) and summary["ci_from"] == "targets"
    assert all(lo <= t <= hi for t, (lo, hi) in zip(summary["timescales_ps"], summary["timescales_ci_ps"]))


def test_core_sets_restore_the_timescale_that_flicker_shortens():
    q, chi, exact = _two_state_chain(p=0.01, n_frames=2000, n_targets=50, noise=0.06, seed=1)
    labels = labels_from_order([q[:1000], q[1000:]], [chi[:1000], chi[1000:]], [2], DT_PS)
    raw, core = labels.timescales.timescales_ps[0, 0], labels.core_timescales.timescales_ps[0, 0]
    assert raw < 0.8 * exact and core == pytest.approx(exact, rel=0.1)    # exact: 4.95 ps
    # a label disagrees with the true state when the noise crosses the threshold, 2.5 sigma away
    assert labels.agreement == pytest.approx(1 - scipy.stats.norm.sf(2.5), abs=0.002)
    assert labels.ordered_fraction == pytest.approx([1 - scipy.stats.norm.sf(2.5), scipy.stats.norm.sf(2.5)], abs=0.002)


def test_mismatched_series_are_refused():
    with pytest.raises(GdynetError, match="do not match"):
        labels_from_order(np.zeros((10, 3)), np.zeros((10, 4, 2)), [1], DT_PS)
