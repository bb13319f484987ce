"""Implied timescales and the Chapman–Kolmogorov test (Eqs. 6, 11) with block confidence intervals."""
from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.stats
from deeptime.markov import TransitionCountEstimator
from deeptime.markov._observables import MembershipsObservable
from deeptime.markov.msm import MaximumLikelihoodMSM
from deeptime.util.validation import ck_test as deeptime_ck_test
from koopman_chains import P2, P3, one_hot, simulate, smeared, true_timescales

from gdynet.base.errors import GdynetError
from gdynet.koopman import CKTest, ImpliedTimescales, KoopmanEstimator, ck_test, implied_timescales
from gdynet.koopman.covariance import split_blocks

DT = 0.1  # ps
#: 3 states, lumped to 2 below: state 1 leaves to 0 quickly, state 2 slowly -> the lumped chain is not Markovian
P_HIDDEN = np.array([[0.90, 0.05, 0.05],
                     [0.30, 0.70, 0.00],
                     [0.01, 0.00, 0.99]])


@pytest.fixture(scope="module")
def four_trajectories() -> list[np.ndarray]:
    """Four independent trajectories (unequal lengths, 50 target sets) of the 3-state chain P3."""
    return [simulate(P3, f, 50, seed) for f, seed in ((800, 1), (700, 2), (600, 3), (800, 4))]


def test_split_blocks_partition_all_start_frames():
    lengths = [100, 37, 63]
    assert [[(s.traj, s.start, s.stop) for s in b] for b in split_blocks(lengths, 3)] == \
        [[(0, 0, 100)], [(1, 0, 37)], [(2, 0, 63)]]  # one block per trajectory
    blocks = split_blocks(lengths, 4)  # 200 frames in 4 time blocks of 50
    assert [sum(s.stop - s.start for s in b) for b in blocks] == [50, 50, 50, 50]
    covered = sorted((s.traj, f) for b in blocks for s in b for f in range(s.start, s.stop))
    assert covered == [(k, f) for k, n in enumerate(lengths) for f in range(n)]
    assert [(s.traj, s.start, s.stop) for s in blocks[2]] == [(1, 0, 37), (2, 0, 13)]
    assert len(split_blocks([1000], None)) == 5 and len(split_blocks([10] * 4, None)) == 4
    with pytest.raises(GdynetError, match="n_blocks"):
        split_blocks(lengths, 1)


def test_implied_timescales_flat_for_markov_chain_and_contain_truth(four_trajectories):
    chi = [one_hot(s, 3) for s in four_trajectories]
    its = implied_timescales(chi, np.array([8, 1, 4, 2, 2]), DT)  # numpy ints, sorted, de-duplicated
    assert isinstance(its, ImpliedTimescales) and its.n_blocks == 4
    truth = true_timescales(P3, DT)
    assert its.timescales_ps.shape == its.lower.shape == its.upper.shape == (4, 2)
    np.testing.assert_allclose(its.lags_ps, [0.1, 0.2, 0.4, 0.8])
    np.testing.assert_allclose(its.timescales_ps, np.broadcast_to(truth, (4, 2)), rtol=0.06)  # flat in τ
    assert np.all(its.lower <= its.timescales_ps) and np.all(its.timescales_ps <= its.upper)
    inside = (its.lower <= truth) & (truth <= its.upper)
    assert inside[:, 0].all() and inside.mean() >= 0.75  # 95 % intervals: the slowest always, most others
    assert np.all(its.upper - its.lower < 0.2 * truth)


def test_implied_timescales_blocks_are_the_trajectories(four_trajectories):
    chi = [smeared(s, np.array([[0.8, 0.15, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]])) for s in four_trajectories]
    lags = [2, 5]
    its = implied_timescales(chi, lags, DT, confidence=0.9)
    for i, lag in enumerate(lags):
        full = KoopmanEstimator(lag, DT).fit(chi).fetch_model()
        np.testing.assert_allclose(its.timescales_ps[i], full.timescales_ps, rtol=1e-12)
        per_traj = np.array([KoopmanEstimator(lag, DT).fit(c).fetch_model().timescales_ps for c in chi])
        np.testing.assert_allclose(its.block_timescales_ps[:, i], per_traj, rtol=1e-10)
        # batch-means t interval on the rates 1/t, mapped back to timescales
        rates = 1 / per_traj
        half = scipy.stats.t.ppf(0.95, 3) * rates.std(axis=0, ddof=1) / 2
        np.testing.assert_allclose(its.lower[i], 1 / (1 / full.timescales_ps + half), rtol=1e-10)
        np.testing.assert_allclose(its.upper[i], 1 / (1 / full.timescales_ps - half), rtol=1e-10)
    assert json.dumps(its.to_dict(), allow_nan=False)


def test_implied_timescales_time_blocks_of_one_trajectory():
    states = simulate(P2, 3000, 20, seed=7)
    its = implied_timescales(one_hot(states, 2), [1, 3, 10], DT, n_blocks=6, reversible=True)
    assert its.n_blocks == 6 and its.block_timescales_ps.shape == (6, 3, 1) and its.reversible
    truth = true_timescales(P2, DT)[0]
    assert np.all((its.lower[:, 0] <= truth) & (truth <= its.upper[:, 0]))


def test_block_without_pairs_is_left_out():
    """The 100-frame trajectory has no pair at lag 150: its block is NaN, the CI uses the others."""
    trajs = [one_hot(simulate(P2, f, 10, seed), 2) for f, seed in ((2000, 1), (2000, 2), (2000, 3), (100, 4))]
    its = implied_timescales(trajs, [150], DT)
    assert np.isnan(its.block_timescales_ps[3]).all() and np.isfinite(its.block_timescales_ps[:3]).all()
    assert np.isfinite(its.lower).all() and np.isfinite(its.upper).all()


def test_timescale_of_a_non_decaying_process_is_infinite():
    trajs = [one_hot(np.tile([0, 1, 1], (50, 1)), 2) for _ in range(4)]  # 3 target sets that never switch
    its = implied_timescales(trajs, [1, 5], DT)
    assert np.isinf(its.timescales_ps).all() and np.isinf(its.upper).all()


def _deeptime_ck(dtrajs: list[np.ndarray], lag: int, n_steps: int):
    models = []
    for k in range(1, n_steps + 1):
        counts = TransitionCountEstimator(lagtime=k * lag, count_mode="sliding").fit(dtrajs).fetch_model()
        models.append(MaximumLikelihoodMSM(reversible=False).fit(counts).fetch_model())
    observable = MembershipsObservable(models[0], np.eye(models[0].n_states))
    return deeptime_ck_test(models, observable)


def test_ck_equals_deeptime_ck_test_on_one_hot_chain(four_trajectories):
    lag, n_steps = 3, 5
    ck = ck_test([one_hot(s, 3) for s in four_trajectories], lag, n_steps, DT)
    reference = _deeptime_ck([s[:, j] for s in four_trajectories for j in range(s.shape[1])], lag, n_steps)
    np.testing.assert_allclose(reference.lagtimes * DT, ck.lags_ps)
    np.testing.assert_allclose(ck.predicted, reference.predictions, atol=1e-12)
    np.testing.assert_allclose(ck.estimated, reference.estimates, atol=1e-12)


def test_ck_passes_for_markov_chain(four_trajectories):
    ck = ck_test([one_hot(s, 3) for s in four_trajectories], 2, 6, DT)
    assert isinstance(ck, CKTest) and ck.predicted.shape == ck.estimated.shape == (7, 3, 3)
    np.testing.assert_allclose(ck.predicted[0], np.eye(3))
    np.testing.assert_allclose(ck.estimated[0], np.eye(3))
    np.testing.assert_allclose(ck.predicted[3], np.linalg.matrix_power(P3, 6), atol=0.02)
    for a in (ck.predicted, ck.estimated):
        np.testing.assert_allclose(a.sum(axis=2), 1.0, atol=1e-12)
    for lo, mid, hi in ((ck.predicted_lower, ck.predicted, ck.predicted_upper),
                        (ck.estimated_lower, ck.estimated, ck.estimated_upper)):
        assert np.all(lo <= mid + 1e-15) and np.all(mid <= hi + 1e-15)
    assert ck.fraction_consistent >= 0.9 and ck.max_error < 0.02
    assert json.dumps(ck.to_dict(), allow_nan=False)


def test_ck_fails_for_lumped_non_markovian_states():
    states = simulate(P_HIDDEN, 2000, 40, seed=3)
    lumped = one_hot(np.minimum(states, 1), 2)  # observe only "0" or "1 or 2"
    ck = ck_test(lumped, 1, 8, DT, n_blocks=5)
    assert ck.max_error > 0.1 and ck.fraction_consistent < 0.5
    markov = ck_test(one_hot(states, 3), 1, 8, DT, n_blocks=5)
    assert markov.max_error < 0.03


def test_ck_fuzzy_and_reversible_run(four_trajectories):
    emission = np.array([[0.7, 0.2, 0.1], [0.15, 0.7, 0.15], [0.1, 0.2, 0.7]])
    ck = ck_test([smeared(s, emission) for s in four_trajectories], "0.3ps", 4, DT, reversible=True)
    assert ck.lag == 3 and ck.reversible and ck.n_blocks == 4
    assert ck.max_error < 0.05


@pytest.mark.parametrize("kwargs, message", [
    (dict(lag=100, n_steps=10), "n_steps × lag = 1000 frames"),
    (dict(lag=1, n_steps=0), "n_steps must be a positive integer"),
    (dict(lag=1, n_steps=2, confidence=95), "confidence must be between 0 and 1"),
    (dict(lag=1, n_steps=2, n_blocks=1), "n_blocks must be an integer of at least 2"),
])
def test_ck_bad_parameters(kwargs, message):
    chi = one_hot(simulate(P2, 500, 2, seed=0), 2)
    with pytest.raises(GdynetError, match=message):
        ck_test(chi, dt_ps=DT, **kwargs)


def test_implied_timescales_bad_lags():
    chi = one_hot(simulate(P2, 100, 2, seed=0), 2)
    with pytest.raises(GdynetError, match="not shorter than the longest trajectory"):
        implied_timescales(chi, [1, 100], DT)
    with pytest.raises(GdynetError, match="no lags"):
        implied_timescales(chi, [], DT)


def test_ck_consistency_ignores_entries_without_intervals():
    """A lag that fewer than two blocks reach has NaN intervals: it is left out, not counted as a failure."""
    from gdynet.koopman.validation import CKTest

    eye = np.broadcast_to(np.eye(2), (3, 2, 2)).copy()
    lower, upper = eye - 0.1, eye + 0.1
    lower[2], upper[2] = np.nan, np.nan                      # n = 2: no interval
    ck = CKTest(lag=1, lag_ps=0.1, dt_ps=0.1, lags_ps=np.array([0.0, 0.1, 0.2]), predicted=eye, estimated=eye,
                predicted_lower=lower, predicted_upper=upper, estimated_lower=lower, estimated_upper=upper,
                confidence=0.95, n_blocks=5)
    assert ck.fraction_consistent == 1.0
    lower[1], upper[1] = np.nan, np.nan
    ck = CKTest(lag=1, lag_ps=0.1, dt_ps=0.1, lags_ps=np.array([0.0, 0.1, 0.2]), predicted=eye, estimated=eye,
                predicted_lower=lower, predicted_upper=upper, estimated_lower=lower, estimated_upper=upper,
                confidence=0.95, n_blocks=5)
    assert np.isnan(ck.fraction_consistent)
