"""Confidence intervals from trajectories / target subsets / time blocks, population intervals,
resolved-timescale marks, what each process exchanges (eigenvectors) and PCCA+ lumping."""
from __future__ import annotations

import numpy as np
import pytest
from koopman_chains import P2, P3, one_hot, simulate, stationary, true_timescales

from gdynet.base.errors import GdynetError
from gdynet.koopman import KoopmanEstimator, implied_timescales
from gdynet.koopman.covariance import confidence_blocks, lagged_moments, target_subsets
from gdynet.koopman.estimator import spectrum
from gdynet.koopman.pcca import coarse_grain, pcca_memberships
from gdynet.koopman.processes import describe_process, eigenvector_summary, exchanged_states
from gdynet.koopman.validation import population_intervals, resolved_timescales

DT = 0.1  # ps
#: two metastable pairs {0, 1} and {2, 3}: fast exchange inside a pair, slow between the pairs
P4 = np.array([[0.80, 0.18, 0.02, 0.00],
               [0.18, 0.80, 0.00, 0.02],
               [0.02, 0.00, 0.80, 0.18],
               [0.00, 0.02, 0.18, 0.80]])


def test_target_subsets_are_disjoint_random_and_cover_every_target():
    parts = target_subsets(23, 5, seed=1)
    assert sorted(i for p in parts for i in p) == list(range(23)) and {len(p) for p in parts} == {4, 5}
    assert parts != [tuple(range(0, 5)), tuple(range(5, 10))] and parts == target_subsets(23, 5, seed=1)
    with pytest.raises(GdynetError, match="at least 5"):
        target_subsets(3, 5)


def test_auto_rule_and_explicit_sources():
    assert confidence_blocks([100] * 4, 1)[0] == "trajectories"
    assert confidence_blocks([100] * 2, 20)[0] == "targets"
    assert confidence_blocks([100] * 2, 19)[0] == "blocks"
    assert confidence_blocks([100] * 2, 19, "trajectories")[0] == "trajectories"
    source, blocks = confidence_blocks([100, 50], 10, "targets", n_blocks=2)
    assert source == "targets" and len(blocks) == 2 and all(len(b) == 2 for b in blocks)
    with pytest.raises(GdynetError, match="use ci_from targets or blocks"):
        confidence_blocks([100], 1, "trajectories")
    with pytest.raises(GdynetError, match="ci_from must be one of"):
        confidence_blocks([100], 1, "bootstrap")


def test_target_subset_moments_add_up_to_all_data():
    chi = [one_hot(simulate(P3, n, 12, seed), 3) for n, seed in ((80, 1), (60, 2))]
    _, blocks = confidence_blocks([80, 60], 12, "targets")
    m = lagged_moments(chi, [1, 3], blocks)
    full = lagged_moments(chi, [1, 3]).total()
    for a, b in ((m.C00, full.C00), (m.C0t, full.C0t), (m.Ctt, full.Ctt), (m.n_pairs, full.n_pairs)):
        np.testing.assert_allclose(a.sum(axis=0), b[0])


@pytest.mark.parametrize("ci_from", ["targets", "blocks", "trajectories"])
def test_population_and_timescale_intervals_contain_the_truth(ci_from):
    chi = [one_hot(simulate(P3, 1500, 40, seed), 3) for seed in (3, 4, 5, 6)]
    pops = population_intervals(chi, 2, DT, ci_from=ci_from)
    assert pops.ci_from == ci_from and pops.to_dict()["from"] == ci_from
    truth = stationary(P3)
    assert np.all(pops.lower <= truth) and np.all(truth <= pops.upper)
    assert np.all(pops.upper - pops.lower < 0.05) and np.all(pops.lower <= pops.populations)
    its = implied_timescales(chi, [1, 2], DT, ci_from=ci_from)
    assert its.ci_from == ci_from and its.to_dict()["ci_from"] == ci_from
    slow = true_timescales(P3, DT)[0]
    assert np.all(its.lower[:, 0] <= slow) and np.all(slow <= its.upper[:, 0])


def test_timescales_outside_lag_and_trajectory_time_are_not_resolved():
    flags = resolved_timescales([np.inf, 300.0, 20.0, 0.5, np.nan], 1.0, 100.0)
    assert flags.tolist() == [False, False, True, False, False]
    grid = resolved_timescales([[5.0], [5.0]], np.array([1.0, 10.0])[:, None], 100.0)
    assert grid.tolist() == [[True], [False]]


def test_eigenvectors_say_which_states_each_process_exchanges():
    chi = one_hot(simulate(P3, 4000, 20, 7), 3)
    model = KoopmanEstimator(1, DT).fit(chi).fetch_model()
    eig = eigenvector_summary(model)
    left, right = np.array(eig["left"]), np.array(eig["right"])
    np.testing.assert_allclose(np.sum(left * right, axis=1), 1.0, atol=1e-9)      # l_i · r_i = 1
    np.testing.assert_allclose(left.sum(axis=1), 0.0, atol=1e-9)                  # probability conserved
    # P3 is a birth-death chain 0-1-2: the slow process moves 0 <-> 2, the fast one 1 <-> {0, 2}
    assert sorted([eig["positive_states"][0], eig["negative_states"][0]]) == [[0], [2]]
    assert sorted([eig["positive_states"][1], eig["negative_states"][1]]) == [[0, 2], [1]]
    text = describe_process(1, 1.95, right[0])
    assert text == "process 1 (t = 1.95 ps) exchanges state 0 with state 2"
    assert describe_process(2, 0.4, np.array([-1.0, 1.0, -1.0]), resolved=False) == \
        "process 2 (t = 0.4 ps) exchanges states 0 and 2 with state 1 (timescale not resolved)"
    assert exchanged_states(np.array([0.99, -0.06, 0.01])) == ([0], [1])   # each side against its own extreme
    assert "eigenvectors" in model.to_dict()


def _reversible(S: int, m: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    group = np.arange(S) * m // S
    C = rng.random((S, S)) * np.where(group[:, None] == group[None, :], 1.0, 0.03)
    C = C + C.T
    return C / C.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(("S", "m"), [(4, 2), (6, 3), (8, 4)])
def test_pcca_memberships_equal_deeptime(S, m):
    from deeptime.markov import pcca
    from scipy.optimize import linear_sum_assignment

    P = _reversible(S, m, seed=S)
    _, _, right = spectrum(P)
    M = pcca_memberships(right[:, :m], stationary(P))
    expected = pcca(P, m).memberships
    rows, cols = linear_sum_assignment(-M.T @ expected)
    np.testing.assert_allclose(M[:, rows], expected[:, cols], atol=1e-3)
    np.testing.assert_allclose(M.sum(axis=1), 1.0) and (M >= 0).all()


def test_coarse_graining_lumps_two_metastable_pairs():
    chi = one_hot(simulate(P4, 3000, 20, 11), 4)
    model = KoopmanEstimator(1, DT).fit(chi).fetch_model()
    coarse = coarse_grain(model, 2)
    assert coarse.sets == [[0, 1], [2, 3]] and coarse.assignment.tolist() == [0, 0, 1, 1]
    np.testing.assert_allclose(coarse.memberships, [[1, 0], [1, 0], [0, 1], [0, 1]], atol=0.05)
    assert coarse.model.timescales_ps[0] == pytest.approx(model.timescales_ps[0], rel=0.05)  # the slow process stays
    np.testing.assert_allclose(coarse.model.stationary, [0.5, 0.5], atol=0.03)
    d = coarse.to_dict()
    assert d["n_sets"] == 2 and d["sets"] == [[0, 1], [2, 3]] and "states 0, 1" in d["description"]
    with pytest.raises(GdynetError, match="n_sets must be"):
        coarse_grain(model, 4)
    two_state = KoopmanEstimator(1, DT).fit(one_hot(simulate(P2, 200, 2, 1), 2)).fetch_model()
    with pytest.raises(GdynetError, match="n_sets must be"):
        coarse_grain(two_state, 2)


def test_eigenvector_and_asymmetric_population_figures(tmp_path):
    from gdynet.report import figures

    model = KoopmanEstimator(1, DT).fit(one_hot(simulate(P3, 500, 4, 2), 3)).fetch_model()
    png, svg = figures.save_eigenvectors(model, tmp_path / "eig")
    assert png.stat().st_size > 5000 and svg.is_file()
    png, _ = figures.save_populations([0.02, 0.5, 0.48], tmp_path / "pop", errors=[[0.02, 0.1, 0.1], [0.05, 0.1, 0.1]])
    assert png.is_file()
    with pytest.raises(GdynetError, match="error bars"):
        figures.save_populations([0.5, 0.5], tmp_path / "bad", errors=[[0.1, 0.1, 0.1]])
