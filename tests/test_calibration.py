"""State calibration: fuzzy-but-optimal softmax outputs become crisp memberships, dynamics unchanged."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gdynet.koopman.estimator import KoopmanEstimator
from gdynet.network.calibration import apply_calibration, calibration_matrix
from gdynet.training.vamp import vamp_score
from koopman_chains import P2, P3, simulate, stationary


def _fuzzy(P, mixing, seed=0, noise=0.0):
    states = simulate(P, 4000, 8, seed)                          # (F, n)
    crisp = np.eye(len(P))[states]                                # (F, n, S)
    rng = np.random.default_rng(seed)
    fuzzy = crisp @ mixing + noise * rng.normal(size=crisp.shape) @ (mixing - mixing.mean(0))
    fuzzy = np.clip(fuzzy, 1e-6, None)
    return crisp, fuzzy / fuzzy.sum(-1, keepdims=True)


@pytest.mark.parametrize("P, mixing", [
    (P2, np.array([[0.97, 0.03], [0.94, 0.06]])),                 # what a converged net gives
    (P3, np.array([[0.6, 0.3, 0.1], [0.3, 0.5, 0.2], [0.2, 0.2, 0.6]])),
])
def test_calibration_recovers_crisp_states_and_keeps_dynamics(P, mixing):
    crisp, fuzzy = _fuzzy(P, mixing)
    A = calibration_matrix(fuzzy)
    calibrated = apply_calibration(fuzzy, A)
    np.testing.assert_allclose(calibrated, crisp, atol=1e-6)       # state labels kept, not permuted
    before = KoopmanEstimator(3, 0.1).fit(fuzzy).fetch_model()
    after = KoopmanEstimator(3, 0.1).fit(calibrated).fetch_model()
    np.testing.assert_allclose(after.timescales_ps, before.timescales_ps, rtol=1e-8)
    np.testing.assert_allclose(after.stationary, stationary(P), atol=0.03)
    x = torch.as_tensor(fuzzy[:-3].reshape(-1, len(P)))
    y = torch.as_tensor(fuzzy[3:].reshape(-1, len(P)))
    xc = torch.as_tensor(calibrated[:-3].reshape(-1, len(P)))
    yc = torch.as_tensor(calibrated[3:].reshape(-1, len(P)))
    assert float(vamp_score(xc, yc)) == pytest.approx(float(vamp_score(x, y)), rel=1e-8)


def test_noisy_outputs_are_clipped_onto_the_simplex():
    _, fuzzy = _fuzzy(P2, np.array([[0.9, 0.1], [0.7, 0.3]]), noise=0.01)
    calibrated = apply_calibration(fuzzy, calibration_matrix(fuzzy))
    assert calibrated.min() >= 0 and np.allclose(calibrated.sum(-1), 1)
    assert np.mean(calibrated.max(-1) > 0.9) > 0.95


def test_states_that_never_separate_are_left_alone():
    flat = np.full((500, 2), 0.5)
    np.testing.assert_array_equal(calibration_matrix(flat), np.eye(2))


@pytest.mark.parametrize("P, mixing", [
    (P2, np.array([[0.9, 0.1], [0.7, 0.3]])),
    (P3, np.array([[0.6, 0.3, 0.1], [0.3, 0.5, 0.2], [0.2, 0.2, 0.6]])),
])
def test_calibration_of_noisy_outputs_keeps_the_koopman_model(P, mixing):
    """Noise pushes points outside the simplex, where the calibration clips them; the Koopman model of
    the calibrated chi still equals the uncalibrated one mapped by A: timescales within 1 %,
    populations (pi A) within one percentage point (measured: 0.0 for S=2, 0.45 points for S=3 at
    this noise; 1.1 points at noise 0.1)."""
    _, fuzzy = _fuzzy(P, mixing, noise=0.03)
    A = calibration_matrix(fuzzy)
    calibrated = apply_calibration(fuzzy, A)
    assert calibrated.min() >= 0 and np.allclose(calibrated.sum(-1), 1)
    raw = KoopmanEstimator(3, 0.1).fit(fuzzy).fetch_model()
    cal = KoopmanEstimator(3, 0.1).fit(calibrated).fetch_model()
    np.testing.assert_allclose(cal.timescales_ps, raw.timescales_ps, rtol=0.01)
    np.testing.assert_allclose(cal.stationary, raw.stationary @ A, atol=0.01)
