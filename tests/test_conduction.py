"""Known-answer tests of the transition-resolved conduction analysis (Eqs. 13-16)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import constants

from gdynet import GdynetError, Trajectory
from gdynet.analysis.conduction import transition_conduction

CELL = np.array([[9.0, 0.0, 0.0], [2.0, 8.5, 0.0], [-1.0, 1.5, 9.5]])
VOLUME = abs(np.linalg.det(CELL))


def _wrap(x: np.ndarray) -> np.ndarray:
    frac = x @ np.linalg.inv(CELL)
    return (frac - np.floor(frac)) @ CELL


def _walkers(rng, frames, n, step_std, *, shared=False):
    """Brownian walkers: (F, n, 3) unwrapped positions with increments of std ``step_std`` per axis."""
    shape = (frames, 1 if shared else n, 3)
    steps = rng.normal(size=shape) * step_std
    steps[0] = rng.random((shape[1], 3)) @ CELL
    return np.broadcast_to(np.cumsum(steps, axis=0), (frames, n, 3)) + (rng.random((n, 3)) @ CELL if shared else 0)


def _nernst_einstein_si(n, D_A2_ps, T, z=1.0):
    """sigma = e^2 N z^2 D / (V k_B T), written out in SI units, returned in S/cm."""
    D = D_A2_ps * 1e-20 / 1e-12
    V = VOLUME * 1e-30
    return constants.e ** 2 * n * z ** 2 * D / (V * constants.k * T) / 100.0


def test_independent_dimers_recover_D_and_nernst_einstein():
    """Rigid dimers (k = 2, split across the boundary) diffusing with D = 0.5 Å^2/ps, wrapped."""
    rng = np.random.default_rng(0)
    frames, n, dt, D = 3000, 16, 0.1, 0.5
    centres = _walkers(rng, frames, n, np.sqrt(2 * D * dt))
    bond = np.array([1.0, 0.2, -0.3])
    atoms = np.stack([centres - bond / 2, centres + bond / 2], axis=2).reshape(frames, 2 * n, 3)
    traj = Trajectory(positions=_wrap(atoms), cells=CELL, numbers=np.full(2 * n, 6), dt_ps=dt,
                      targets=np.arange(2 * n).reshape(n, 2))
    res = transition_conduction(traj, np.ones((frames, n, 1)), 10, temperature_K=300.0, K=np.ones((1, 1)))
    assert res.D[0, 0] == pytest.approx(D, rel=0.06)
    assert res.D_cm2_s[0, 0] == pytest.approx(res.D[0, 0] * 1e-4)
    assert res.sigma_ne == pytest.approx(_nernst_einstein_si(n, res.D[0, 0], 300.0), rel=1e-10)
    assert res.percent[0, 0] == pytest.approx(100.0)
    # the self part of the collective quantity is the same Einstein relation: equal for one state
    assert res.sigma_self == pytest.approx(res.sigma_ne, rel=1e-9)
    # independent walkers: the cross terms average out (the collective value is noisy: 1 vector/origin)
    assert res.sigma_collective == pytest.approx(res.sigma_ne, rel=0.35)
    assert res.volume_A3 == pytest.approx(VOLUME)
    # MSD curve is linear: E[d^2](t) = 6 D t
    k = np.searchsorted(res.offsets, 10)
    assert res.msd[0, 0, k] == pytest.approx(6 * D * res.times_ps[k], rel=0.06)


def test_collective_conductivity_averaged_over_seeds_matches_independent_walkers():
    """Within noise: mean over 8 independent systems of sigma_collective / sigma_ne is 1."""
    ratios = []
    for seed in range(8):
        rng = np.random.default_rng(100 + seed)
        pos = _walkers(rng, 2000, 10, np.sqrt(2 * 0.2 * 0.1))
        traj = Trajectory(positions=_wrap(pos), cells=CELL, numbers=np.full(10, 3), dt_ps=0.1,
                          targets=np.arange(10)[:, None])
        res = transition_conduction(traj, np.ones((2000, 10, 1)), 5, temperature_K=350.0, K=[[1.0]])
        ratios.append(res.sigma_collective / res.sigma_ne)
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.15)
    assert np.std(ratios) > 0.02  # it really is a noisy quantity


def test_perfectly_correlated_walkers_give_n_times_the_self_term():
    rng = np.random.default_rng(1)
    n = 12
    pos = _walkers(rng, 1500, n, 0.3, shared=True)
    traj = Trajectory(positions=_wrap(pos), cells=CELL, numbers=np.full(n, 3), dt_ps=0.05,
                      targets=np.arange(n)[:, None])
    res = transition_conduction(traj, np.ones((1500, n, 1)), "0.4ps", temperature_K=300.0, K=[[1.0]],
                                charges=[1.0])
    assert res.lag == 8
    assert res.sigma_collective == pytest.approx(n * res.sigma_self, rel=1e-9)
    assert res.sigma_cross == pytest.approx((n - 1) * res.sigma_self, rel=1e-9)


def _two_state_walkers(seed, frames=12000, n=10, switch=0.002, D=(0.1, 1.0), dt=0.1):
    rng = np.random.default_rng(seed)
    state = np.zeros((frames, n), dtype=np.int64)
    state[0] = rng.integers(0, 2, n)
    flips = rng.random((frames, n)) < switch
    for f in range(1, frames):
        state[f] = np.where(flips[f], 1 - state[f - 1], state[f - 1])
    std = np.sqrt(2 * np.asarray(D) * dt)[state]  # step into frame f made in the state at frame f
    steps = rng.normal(size=(frames, n, 3)) * std[..., None]
    steps[0] = rng.random((n, 3)) @ CELL
    return np.cumsum(steps, axis=0), state


def test_two_state_walker_recovers_per_state_diffusion():
    pos, state = _two_state_walkers(2)
    frames, n = state.shape
    traj = Trajectory(positions=_wrap(pos), cells=CELL, numbers=np.full(n, 3), dt_ps=0.1,
                      targets=np.arange(n)[:, None])
    chi = np.eye(2)[state]
    lag = 5
    counts = np.zeros((2, 2))
    np.add.at(counts, (state[:-lag].ravel(), state[lag:].ravel()), 1)
    K = counts / counts.sum(axis=1, keepdims=True)
    pi = np.bincount(state.ravel(), minlength=2) / state.size
    model = SimpleNamespace(K=K, stationary=pi, lag=lag)
    res = transition_conduction(traj, chi, lag, koopman=model, temperature_K=300.0, charges=[1.0, -1.0])
    assert res.D[0, 0] == pytest.approx(0.1, rel=0.1)
    assert res.D[1, 1] == pytest.approx(1.0, rel=0.1)
    # transitions within lag are rare but present; their D lies between the two
    assert 0.1 < res.D[0, 1] < 1.0 and 0.1 < res.D[1, 0] < 1.0
    # z_01 = 0: the mixed transitions carry no current; contributions add up to 100 %
    assert res.sigma[0, 1] == 0.0 and res.sigma[1, 0] == 0.0
    assert res.percent.sum() == pytest.approx(100.0)
    expected = constants.e ** 2 * n / (VOLUME * 1e-30 * constants.k * 300.0) * 1e-8 / 100
    assert res.sigma[1, 1] == pytest.approx(expected * pi[1] * K[1, 1] * res.D[1, 1], rel=1e-10)
    # the joint probabilities of Eq. 13 match the Koopman pair probabilities pi_i K_ij at tau
    k = np.searchsorted(res.offsets, lag)
    np.testing.assert_allclose(res.joint_probability[:, :, k], counts / counts.sum(), atol=1e-12)
    rows = res.table()
    assert [r["transition"] for r in rows] == ["0->0", "0->1", "1->0", "1->1"]
    assert res.summary()["sigma_nernst_einstein_S_cm"] == pytest.approx(res.sigma_ne)


def test_koopman_estimated_from_chi_when_not_given():
    """One-hot chi: K(tau) is the row-normalised pair probability of Eq. 13 and the pair-weighted sum of
    the transition MSDs is the plain MSD."""
    from gdynet.koopman.estimator import KoopmanEstimator

    pos, state = _two_state_walkers(5, frames=4000, n=8)
    traj = Trajectory(positions=_wrap(pos), cells=CELL, numbers=np.full(8, 3), dt_ps=0.1,
                      targets=np.arange(8)[:, None])
    chi = np.eye(2)[state]
    res = transition_conduction(traj, chi, 6, temperature_K=300.0)
    model = KoopmanEstimator(6, 0.1).fit(chi).fetch_model()
    np.testing.assert_allclose(res.K, model.K)
    np.testing.assert_allclose(res.stationary, model.stationary)
    k = np.searchsorted(res.offsets, 6)
    joint = res.joint_probability[:, :, k]  # one-hot chi: K = C00^-1 C0t is the row-normalised joint
    np.testing.assert_allclose(joint / joint.sum(axis=1, keepdims=True), res.K, atol=1e-12)
    np.testing.assert_allclose(res.stationary, joint.sum(axis=1), atol=0.03)
    plain = np.mean(np.sum((pos[6:] - pos[:-6]) ** 2, axis=-1))
    assert np.sum(res.joint_probability[:, :, k] * res.msd[:, :, k]) == pytest.approx(plain, rel=1e-10)
    # a Koopman model at another lag is refused
    with pytest.raises(GdynetError, match="lag"):
        transition_conduction(traj, chi, 5, koopman=model, temperature_K=300.0)


def test_pooling_two_trajectories_and_list_inputs():
    pos_a, state_a = _two_state_walkers(3, frames=3000, n=6)
    pos_b, state_b = _two_state_walkers(4, frames=2000, n=6)
    trajs = [Trajectory(positions=_wrap(p), cells=CELL, numbers=np.full(6, 3), dt_ps=0.1,
                        targets=np.arange(6)[:, None]) for p in (pos_a, pos_b)]
    chis = [np.eye(2)[s] for s in (state_a, state_b)]
    K = np.array([[0.99, 0.01], [0.01, 0.99]])
    both = transition_conduction(trajs, chis, 4, K=K, temperature_K=300.0)
    one = transition_conduction(trajs[0], chis[0], 4, K=K, temperature_K=300.0)
    k = np.searchsorted(both.offsets, 4)
    d2 = [np.sum((p[4:] - p[:-4]) ** 2, -1) for p in (pos_a, pos_b)]
    w = [c[:-4, :, 1] * c[4:, :, 1] for c in chis]
    expected = sum(np.sum(a * b) for a, b in zip(d2, w)) / sum(np.sum(b) for b in w)
    assert both.msd[1, 1, k] == pytest.approx(expected, rel=1e-12)
    assert not np.allclose(both.msd, one.msd)
    # stationary distribution from K when not given: symmetric K -> uniform
    np.testing.assert_allclose(both.stationary, [0.5, 0.5])


def test_bad_inputs_raise_one_line_errors():
    traj = Trajectory(positions=np.zeros((20, 2, 3)) + [[1, 1, 1], [2, 2, 2]], cells=CELL,
                      numbers=np.array([3, 3]), dt_ps=0.1, targets=np.array([[0], [1]]))
    chi = np.ones((20, 2, 1))
    with pytest.raises(GdynetError, match="too long"):
        transition_conduction(traj, chi, 19, K=[[1.0]], temperature_K=300.0)
    with pytest.raises(GdynetError, match="charges"):
        transition_conduction(traj, chi, 2, K=[[1.0]], temperature_K=300.0, charges=[1, 2])
    with pytest.raises(GdynetError, match="temperature"):
        transition_conduction(traj, chi, 2, K=[[1.0]], temperature_K=-3.0)
    with pytest.raises(GdynetError, match="lag 3 frames"):
        transition_conduction(traj, chi, 2, koopman=SimpleNamespace(K=[[1.0]], stationary=[1.0], lag=3),
                              temperature_K=300.0)
    with pytest.raises(GdynetError, match="Koopman matrix"):
        transition_conduction(traj, chi, 2, K=np.eye(2), temperature_K=300.0)
    with pytest.raises(GdynetError, match="chi must have shape"):
        transition_conduction(traj, chi[:10], 2, K=[[1.0]], temperature_K=300.0)
    # a single NaN frame is caught even when K is given (no Koopman fit reads chi), not zeroed into sigma
    long = Trajectory(positions=np.zeros((3000, 2, 3)) + [[1, 1, 1], [2, 2, 2]], cells=CELL,
                      numbers=np.array([3, 3]), dt_ps=0.1, targets=np.array([[0], [1]]))
    bad = np.ones((3000, 2, 1))
    bad[1501, 1, 0] = np.nan
    with pytest.raises(GdynetError, match=r"NaN or inf \(frame 1501\)"):
        transition_conduction(long, bad, 2, K=[[1.0]], temperature_K=300.0)
    # chi without a shape (nested lists) is accepted per trajectory
    res = transition_conduction([traj, traj], [chi.tolist(), chi], 2, K=[[1.0]], temperature_K=300.0)
    assert res.n_states == 1


def test_without_temperature_percentages_and_D_are_kept():
    """T only scales sigma: with temperature_K=None the absolute values are NaN, the rest identical."""
    rng = np.random.default_rng(3)
    steps = rng.normal(scale=0.2, size=(400, 4, 3))
    pos = np.cumsum(steps, axis=0) % 10.0
    traj = Trajectory(pos, np.eye(3) * 10.0, np.full(4, 3), 0.1, np.arange(4)[:, None])
    chi = rng.dirichlet([2.0, 2.0], size=(400, 4))
    with_t = transition_conduction(traj, chi, 5, temperature_K=300.0)
    without = transition_conduction(traj, chi, 5, temperature_K=None)
    np.testing.assert_allclose(without.percent, with_t.percent)
    np.testing.assert_allclose(without.D, with_t.D)
    assert np.isnan(without.sigma_ne) and np.isnan(without.temperature_K)


def test_msd_sums_match_a_direct_loop_over_origins(monkeypatch):
    """Every sum of msd_sums against plain per-origin formulas, with origin chunks of 7 frames (and
    the grouped products of sum_outer in groups of 4 rows)."""
    import gdynet.analysis.msd as msd
    import gdynet.koopman.covariance as cov

    monkeypatch.setattr(msd, "_CHUNK", 7)
    monkeypatch.setattr(cov, "GROUP_ROWS", 4)
    rng = np.random.default_rng(11)
    frames, n, S = 40, 5, 3
    pos = rng.normal(size=(frames, n, 3)).cumsum(axis=0)
    chi = rng.dirichlet([1.0] * S, size=(frames, n)).astype(np.float32)
    charges = np.array([1.0, -1.0, 0.5])
    offsets = np.array([1, 6, 13, 39])
    sums = msd.msd_sums(pos, chi, offsets, charges)
    p, q = chi.astype(np.float64), chi.astype(np.float64) @ charges
    for k, t in enumerate(offsets):
        dr = pos[t:] - pos[:-t]
        d2 = np.sum(dr ** 2, axis=-1)
        zbar = 0.5 * (q[:-t] + q[t:])
        np.testing.assert_allclose(sums.numerator[:, :, k], np.einsum("fni,fn,fnj->ij", p[:-t], d2, p[t:]), rtol=1e-12)
        np.testing.assert_allclose(sums.denominator[:, :, k], np.einsum("fni,fnj->ij", p[:-t], p[t:]), rtol=1e-12)
        assert sums.collective[k] == pytest.approx(np.sum(np.einsum("fn,fni->fi", zbar, dr) ** 2), rel=1e-12)
        assert sums.self_part[k] == pytest.approx(np.sum(zbar ** 2 * d2), rel=1e-12)
        assert sums.origins[k] == frames - t


def test_confidence_intervals_over_trajectories_cover_the_true_diffusion():
    """As in the paper's Fig. 5: 95 % intervals from independent trajectories (auto: at least 4)."""
    trajs, chis = [], []
    for seed in range(6):
        pos, state = _two_state_walkers(seed, frames=3000)
        trajs.append(Trajectory(positions=_wrap(pos), cells=CELL, numbers=np.full(state.shape[1], 3), dt_ps=0.1,
                                targets=np.arange(state.shape[1])[:, None]))
        chis.append(np.eye(2)[state])
    result = transition_conduction(trajs, chis, 10, temperature_K=300.0)
    ci = np.diag(result.D_ci)
    assert np.all(np.isfinite(ci)) and np.all(ci > 0)
    assert np.all(np.abs(np.diag(result.D) - [0.1, 1.0]) <= 2 * ci)     # the truth lies within the spread
    assert np.all(np.isfinite(result.percent_ci))
    assert (result.ci_from, result.ci_blocks, result.ci_note) == ("trajectories", 6, "")


def test_large_unwrapped_centres_go_through_a_scratch_memmap(monkeypatch):
    """Beyond the in-memory limit the unwrapped centres live in a scratch file: same numbers."""
    import gdynet.analysis.conduction as conduction

    pos, state = _two_state_walkers(4, frames=800)
    traj = Trajectory(positions=_wrap(pos), cells=CELL, numbers=np.full(state.shape[1], 3), dt_ps=0.1,
                      targets=np.arange(state.shape[1])[:, None])
    chi = np.eye(2)[state]
    in_memory = transition_conduction(traj, chi, 5, temperature_K=300.0)
    monkeypatch.setattr(conduction, "UNWRAP_IN_MEMORY_BYTES", 0)
    on_disk = transition_conduction(traj, chi, 5, temperature_K=300.0)
    np.testing.assert_array_equal(on_disk.msd, in_memory.msd)
    np.testing.assert_array_equal(on_disk.D, in_memory.D)
