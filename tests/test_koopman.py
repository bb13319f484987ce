"""Koopman estimator: K(τ) = C00⁻¹C0t (Eq. 2), spectrum, timescales (Eq. 11); against deeptime and known chains."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from deeptime.covariance import Covariance
from deeptime.decomposition import EDMD, TICA
from deeptime.markov import TransitionCountEstimator
from deeptime.markov.msm import MaximumLikelihoodMSM
from koopman_chains import P2, P3, one_hot, simulate, smeared, stationary, true_timescales

from gdynet.base.errors import GdynetError
from gdynet.koopman import KoopmanEstimator, KoopmanModel
from gdynet.koopman import covariance as cov_module
from gdynet.koopman.covariance import lagged_moments, split_blocks
from gdynet.koopman.estimator import timescales_from_eigenvalues

DT = 0.1  # ps
EMISSION = np.array([[0.80, 0.15, 0.05],
                     [0.10, 0.80, 0.10],
                     [0.05, 0.15, 0.80]])


def _fuzzy(states: np.ndarray, seed: int = 0) -> np.ndarray:
    """Smeared χ plus per-frame noise, renormalised (rows sum to 1, not a Markov chain any more)."""
    chi = smeared(states, EMISSION) + 0.2 * np.random.default_rng(seed).random(states.shape + (3,))
    return chi / chi.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def chain3() -> list[np.ndarray]:
    """Three trajectories of unequal length, 20 target sets each, of the 3-state chain P3."""
    return [simulate(P3, f, 20, seed) for f, seed in ((1500, 1), (900, 2), (400, 3))]


def _deeptime_msm(dtrajs: list[np.ndarray], lag: int):
    counts = TransitionCountEstimator(lagtime=lag, count_mode="sliding").fit(dtrajs).fetch_model()
    return MaximumLikelihoodMSM(reversible=False).fit(counts).fetch_model()


@pytest.mark.parametrize("lag", [1, 7])
def test_one_hot_equals_deeptime_msm(chain3, lag):
    chi = [one_hot(s, 3) for s in chain3]
    model = KoopmanEstimator(lag, DT).fit(chi).fetch_model()
    msm = _deeptime_msm([s[:, j] for s in chain3 for j in range(s.shape[1])], lag)
    assert msm.n_states == 3
    np.testing.assert_allclose(model.K, msm.transition_matrix, atol=1e-12)
    np.testing.assert_allclose(model.timescales_ps, msm.timescales() * DT, rtol=1e-10)
    np.testing.assert_allclose(model.stationary, msm.stationary_distribution, atol=1e-10)
    np.testing.assert_allclose(model.K.sum(axis=1), 1.0, atol=1e-12)
    assert model.n_pairs == sum((len(s) - lag) * s.shape[1] for s in chain3)
    assert model.lag == lag and model.lag_ps == pytest.approx(lag * DT)


def test_fuzzy_moments_equal_deeptime_covariance_and_edmd(chain3):
    lag = 3
    chi = [_fuzzy(s, i) for i, s in enumerate(chain3)]
    model = KoopmanEstimator(lag, DT).fit(chi).fetch_model()
    series = [c[:, j] for c in chi for j in range(c.shape[1])]  # every target set is a trajectory
    cov = Covariance(lagtime=lag, compute_c00=True, compute_c0t=True, compute_ctt=True, remove_data_mean=False,
                     reversible=False, bessels_correction=False).fit(series).fetch_model()
    n = model.n_pairs
    np.testing.assert_allclose(model.C00 / n, cov.cov_00, atol=1e-14)
    np.testing.assert_allclose(model.C0t / n, cov.cov_0t, atol=1e-14)
    np.testing.assert_allclose(model.Ctt / n, cov.cov_tt, atol=1e-14)
    # EDMD with the identity basis is the least-squares Koopman matrix on raw data: pinv(C00) C0t
    x = np.concatenate([c[:-lag] for c in series])
    y = np.concatenate([c[lag:] for c in series])
    edmd = EDMD(basis=lambda v: v).fit((x, y)).fetch_model()
    np.testing.assert_allclose(model.K, edmd.operator, atol=1e-12)
    np.testing.assert_allclose(model.K.sum(axis=1), 1.0, atol=1e-12)  # softmax-like χ: rows sum to 1


def test_reversible_equals_deeptime_tica_on_raw_symmetrised_covariances(chain3):
    lag = 3
    chi = [_fuzzy(s, i) for i, s in enumerate(chain3)]
    model = KoopmanEstimator(lag, DT, reversible=True).fit(chi).fetch_model()
    series = [c[:, j] for c in chi for j in range(c.shape[1])]
    cov = Covariance(lagtime=lag, compute_c00=True, compute_c0t=True, remove_data_mean=False, reversible=True,
                     bessels_correction=False).fit(series).fetch_model()
    tica = TICA(lagtime=lag, epsilon=1e-12, scaling=None).fit_from_covariances(cov).fetch_model()
    np.testing.assert_allclose(model.K, tica.propagate(np.eye(3)), atol=1e-12)
    np.testing.assert_allclose(model.timescales_ps, tica.timescales()[1:] * DT, rtol=1e-9)
    assert model.reversible and np.isrealobj(model.eigenvalues)
    # K is self-adjoint in the C00_sym inner product (detailed balance for fuzzy states), and the
    # stationary vector is the mean of χ over the symmetrised data
    flux = (model.C00 + model.Ctt) / 2 @ model.K
    np.testing.assert_allclose(flux, flux.T, atol=1e-9 * model.n_pairs)
    mean = (model.C00 + model.Ctt).sum(axis=1)
    np.testing.assert_allclose(model.stationary, mean / mean.sum(), atol=1e-12)


def test_one_hot_reversible_is_symmetrised_count_matrix(chain3):
    lag = 2
    model = KoopmanEstimator(lag, DT, reversible=True).fit([one_hot(s, 3) for s in chain3]).fetch_model()
    counts = np.zeros((3, 3))
    for s in chain3:
        np.add.at(counts, (s[:-lag].ravel(), s[lag:].ravel()), 1)
    sym = counts + counts.T
    np.testing.assert_allclose(model.K, sym / sym.sum(axis=1, keepdims=True), atol=1e-12)
    flux = model.stationary[:, None] * model.K  # detailed balance π_i K_ij = π_j K_ji
    np.testing.assert_allclose(flux, flux.T, atol=1e-12)


@pytest.mark.parametrize("P", [P2, P3], ids=["2 states", "3 states"])
def test_known_chain_recovers_transition_matrix_and_timescales(P):
    states = simulate(P, 2000, 200, seed=11)
    lag = 2
    emission = EMISSION[:len(P), :len(P)] / EMISSION[:len(P), :len(P)].sum(axis=1, keepdims=True)
    for chi, populations in ((one_hot(states, len(P)), stationary(P)),
                             (smeared(states, emission), stationary(P) @ emission)):  # fuzzy: mean χ
        model = KoopmanEstimator(lag, DT).fit(chi).fetch_model()
        np.testing.assert_allclose(model.timescales_ps, true_timescales(P, DT), rtol=0.03)
        np.testing.assert_allclose(model.stationary, populations, atol=0.01)
    # the one-hot model is the transition matrix itself
    onehot = KoopmanEstimator(lag, DT).fit(one_hot(states, len(P))).fetch_model()
    np.testing.assert_allclose(onehot.K, np.linalg.matrix_power(P, lag), atol=0.01)


def test_invertible_emission_leaves_spectrum_unchanged(chain3):
    """χ = onehot · E (E invertible): K = E⁻¹ T E has exactly the eigenvalues of the counting estimate T."""
    lag = 4
    discrete = KoopmanEstimator(lag, DT).fit([one_hot(s, 3) for s in chain3]).fetch_model()
    fuzzy = KoopmanEstimator(lag, DT).fit([smeared(s, EMISSION) for s in chain3]).fetch_model()
    np.testing.assert_allclose(fuzzy.eigenvalues, discrete.eigenvalues, atol=1e-10)
    np.testing.assert_allclose(fuzzy.K, np.linalg.solve(EMISSION, discrete.K @ EMISSION), atol=1e-10)


def test_spectrum_is_consistent(chain3):
    model = KoopmanEstimator(5, DT).fit([_fuzzy(s, 4) for s in chain3]).fetch_model()
    L, R, w = model.left_eigenvectors, model.right_eigenvectors, model.eigenvalues
    np.testing.assert_allclose(L @ model.K, w[:, None] * L, atol=1e-12)
    np.testing.assert_allclose(model.K @ R, R * w[None, :], atol=1e-12)
    np.testing.assert_allclose(L @ R, np.eye(3), atol=1e-10)
    assert w[0] == pytest.approx(1.0) and np.all(np.diff(np.abs(w)) <= 1e-15)
    np.testing.assert_allclose(R[:, 0], 1.0, atol=1e-10)
    assert model.stationary.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(model.timescales_ps, -model.lag_ps / np.log(np.abs(w[1:])))
    assert np.all(np.diff(model.timescales_ps) <= 0)  # slowest first


def test_propagate_is_power_of_K_and_keeps_stationary(chain3):
    model = KoopmanEstimator(1, DT).fit([one_hot(s, 3) for s in chain3]).fetch_model()
    p0 = np.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(model.propagate(p0, 3), p0 @ model.K @ model.K @ model.K)
    np.testing.assert_allclose(model.propagate(model.stationary, 50), model.stationary, atol=1e-12)
    np.testing.assert_allclose(model.propagate(np.eye(3), 0), np.eye(3))
    np.testing.assert_allclose(model.propagate(p0, 5000), model.stationary, atol=1e-8)
    with pytest.raises(GdynetError, match="p0 must have shape"):
        model.propagate(np.ones(2) / 2, 1)
    with pytest.raises(GdynetError, match="non-negative integer"):
        model.propagate(p0, -1)


def test_model_is_frozen_and_json_ready(chain3):
    model = KoopmanEstimator(1, DT).fit([one_hot(s, 3) for s in chain3]).fetch_model()
    assert isinstance(model, KoopmanModel)
    with pytest.raises(AttributeError):
        model.lag = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        model.K[0, 0] = 1.0
    d = json.loads(json.dumps(model.to_dict(), allow_nan=False))
    assert d["lag_ps"] == pytest.approx(DT) and len(d["timescales_ps"]) == 2 and len(d["populations"]) == 3
    assert "relaxation timescales" in model.summary()


def test_trajectories_are_not_joined():
    """Pairs never cross trajectories: one trajectory always in state 0, the other always in 1."""
    a, b = one_hot(np.zeros((50, 2), int), 2), one_hot(np.ones((30, 2), int), 2)
    model = KoopmanEstimator(5, DT).fit([a, b]).fetch_model()
    np.testing.assert_allclose(model.K, np.eye(2))
    assert np.all(np.isinf(model.timescales_ps))  # |λ| = 1: a process that never decays
    assert model.n_pairs == (45 + 25) * 2


def test_unvisited_state_gives_zero_row_not_a_crash():
    states = simulate(P2, 600, 10, seed=5)  # states 0 and 1 of a 3-state space
    model = KoopmanEstimator(1, DT).fit(one_hot(states, 3)).fetch_model()
    assert model.rank == 2
    np.testing.assert_allclose(model.K[2], 0.0)
    msm = _deeptime_msm(list(states.T), 1)
    np.testing.assert_allclose(model.K[:2, :2], msm.transition_matrix, atol=1e-12)
    np.testing.assert_allclose(model.timescales_ps, [msm.timescales()[0] * DT, 0.0], atol=1e-12)
    assert model.stationary[2] == pytest.approx(0.0, abs=1e-12)


def test_timescale_rules():
    t = timescales_from_eigenvalues(np.array([1.0, 1.2, 0.5, -0.5, 0.0, 0.5j]), 2.0)
    expected = -2.0 / np.log(0.5)
    np.testing.assert_allclose(t, [np.inf, np.inf, expected, expected, 0.0, expected])


def test_streaming_chunks_and_memmap_give_the_same_result(chain3, tmp_path, monkeypatch):
    chi = [_fuzzy(s, i).astype(np.float32) for i, s in enumerate(chain3)]
    whole = KoopmanEstimator(3, DT).fit(chi).fetch_model()
    paths = []
    for i, c in enumerate(chi):
        np.save(tmp_path / f"chi{i}.npy", c)
        paths.append(np.load(tmp_path / f"chi{i}.npy", mmap_mode="r"))
    monkeypatch.setattr(cov_module, "CHUNK_VALUES", 7 * 20 * 3)  # 7 frames per chunk
    chunked = KoopmanEstimator(3, DT).fit(paths).fetch_model()
    np.testing.assert_allclose(chunked.C00, whole.C00, rtol=1e-12)
    np.testing.assert_allclose(chunked.C0t, whole.C0t, rtol=1e-12)
    np.testing.assert_allclose(chunked.K, whole.K, atol=1e-12)
    assert chunked.n_pairs == whole.n_pairs


def test_lag_as_time_string():
    est = KoopmanEstimator("0.5ps", DT)
    assert est.lag == 5


def _chi_ok(frames: int = 40, targets: int = 2) -> np.ndarray:
    return one_hot(simulate(P2, frames, targets, seed=0), 2)


@pytest.mark.parametrize("chi, message", [
    ([_chi_ok(20), _chi_ok(10)], "lag of 25 frames"),
    (_chi_ok() * 0.5, "sum to 0.5"),
    (np.stack([_chi_ok()[..., 0] + 0.5, -0.5 + _chi_ok()[..., 1]], axis=-1), "negative state probability"),
    ([_chi_ok(), np.full((30, 2, 3), 1 / 3)], r"npy\[1\]: shape \(30, 2, 3\) does not match"),
    (_chi_ok()[:, 0], "must have shape \\(frames, targets, states\\)"),
    (np.ones((30, 2, 1)), "at least 2 states"),
    (np.where(np.arange(2) == 0, np.nan, 1.0) * np.ones((30, 2, 2)), "NaN"),
    ([], "no trajectories"),
    (np.full((30, 2, 2), "a"), "real numbers"),
])
def test_bad_input_gives_one_line_error(chi, message):
    with pytest.raises(GdynetError, match=message) as info:
        KoopmanEstimator(25, DT).fit(chi, source="run/chi.npy")
    assert "\n" not in str(info.value) and str(info.value).startswith("run/chi.npy")


def test_bad_parameters():
    with pytest.raises(GdynetError):
        KoopmanEstimator(0, DT)
    with pytest.raises(GdynetError):
        KoopmanEstimator(1, -1.0)
    with pytest.raises(GdynetError, match="before fetch_model"):
        KoopmanEstimator(1, DT).fetch_model()


def test_torch_tensors_are_accepted(chain3):
    torch = pytest.importorskip("torch")
    chi = [_fuzzy(s, i) for i, s in enumerate(chain3)]
    reference = KoopmanEstimator(2, DT).fit(chi).fetch_model()
    model = KoopmanEstimator(2, DT).fit([torch.from_numpy(c) for c in chi]).fetch_model()
    np.testing.assert_allclose(model.K, reference.K, atol=1e-14)


@settings(max_examples=25, deadline=None)
@given(lengths=st.lists(st.integers(2, 30), min_size=1, max_size=3), n=st.integers(1, 3), S=st.integers(2, 4),
       lag=st.integers(1, 5), chunk=st.integers(1, 12), n_blocks=st.integers(2, 4), seed=st.integers(0, 99))
def test_streamed_block_moments_equal_direct_sums(lengths, n, S, lag, chunk, n_blocks, seed):
    """Any chunk size and block split: the blocks' moments add up to the direct sums over all pairs."""
    rng = np.random.default_rng(seed)
    trajs = [rng.dirichlet(np.ones(S), size=(f, n)) for f in lengths]
    lag = min(lag, max(lengths) - 1)
    expected = [sum(np.einsum("tns,tnr->sr", x[a:len(x) - lag + a], x[b:len(x) - lag + b]) for x in trajs
                    if len(x) > lag) for a, b in ((0, 0), (0, lag), (lag, lag))]  # C00, C0t, Ctt
    old = cov_module.CHUNK_VALUES
    cov_module.CHUNK_VALUES = chunk * n * S
    try:
        blocks = split_blocks(lengths, n_blocks) if sum(lengths) >= n_blocks else None
        m = lagged_moments(trajs, [lag], blocks).total()
    finally:
        cov_module.CHUNK_VALUES = old
    for got, want in zip((m.C00, m.C0t, m.Ctt), expected):
        np.testing.assert_allclose(got[0, 0], want, atol=1e-12)
    assert m.n_pairs[0, 0] == sum(max(f - lag, 0) for f in lengths) * n


def test_several_lags_with_partial_chunks_and_row_groups_equal_direct_sums(monkeypatch):
    """Many lags at once (C00 of a whole chunk shared between lags, a shorter head at the end of the
    data) and the grouped products of sum_outer (groups of 5 rows, remainders) give the direct sums."""
    monkeypatch.setattr(cov_module, "GROUP_ROWS", 5)
    monkeypatch.setattr(cov_module, "CHUNK_VALUES", 9 * 3 * 4)  # 9 frames per chunk
    rng = np.random.default_rng(5)
    trajs = [rng.dirichlet(np.ones(4), size=(f, 3)) for f in (40, 23)]
    lags = [1, 4, 10, 30]
    m = lagged_moments(trajs, lags, split_blocks([40, 23], 3)).total()
    for i, lag in enumerate(lags):
        expected = [sum(np.einsum("tns,tnr->sr", x[a:len(x) - lag + a], x[b:len(x) - lag + b]) for x in trajs
                        if len(x) > lag) for a, b in ((0, 0), (0, lag), (lag, lag))]
        for got, want in zip((m.C00, m.C0t, m.Ctt), expected):
            np.testing.assert_allclose(got[0, i], want, rtol=1e-12)
    a, b = rng.random((7, 3, 2)), rng.random((7, 3, 5))
    np.testing.assert_allclose(cov_module.sum_outer(a, b), a.reshape(-1, 2).T @ b.reshape(-1, 5), rtol=1e-12)
