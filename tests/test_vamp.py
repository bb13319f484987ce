"""VAMP scores: agreement with deeptime, known answers, moment route for distributed training."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from deeptime.decomposition.deep import vamp_score as deeptime_vamp_score

from gdynet.base.errors import GdynetError
from gdynet.training.vamp import VampMoments, vamp_loss, vamp_moments, vamp_score, vamp_score_from_moments


def correlated(t: int = 400, s: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random full-rank features with a non-symmetric time-lagged correlation."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(t, s, generator=g, dtype=torch.float64)
    mix = torch.randn(s, s, generator=g, dtype=torch.float64)
    y = 0.6 * x @ mix + 0.5 * torch.randn(t, s, generator=g, dtype=torch.float64)
    return x, y


def softmax_features(t: int = 300, s: int = 3, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Probabilities (rows sum to 1): C00 and Ctt are singular, like a GDyNet output."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(t + 5, s, generator=g, dtype=torch.float64).cumsum(0) * 0.3
    p = torch.softmax(logits, dim=-1)
    return p[:-5], p[5:]


@pytest.mark.parametrize("data", [correlated, softmax_features])
@pytest.mark.parametrize("method", ["VAMP1", "VAMP2"])
@pytest.mark.parametrize("mode", ["trunc", "regularize", "clamp"])
def test_matches_deeptime(data, method, mode):
    x, y = data()
    ours = vamp_score(x, y, method=method, mode=mode)
    ref = deeptime_vamp_score(x, y, method=method, mode=mode)
    assert abs(ours.item() - ref.item()) < 1e-6


@pytest.mark.parametrize("mode", ["trunc", "regularize", "clamp"])
def test_vamp2_gradient_matches_deeptime(mode):
    x, y = softmax_features()
    grads = []
    for score in (vamp_score, deeptime_vamp_score):
        a, b = x.clone().requires_grad_(), y.clone().requires_grad_()
        score(a, b, method="VAMP2", mode=mode).backward()
        grads.append((a.grad, b.grad))
    torch.testing.assert_close(grads[0][0], grads[1][0], atol=1e-7, rtol=1e-6)
    torch.testing.assert_close(grads[0][1], grads[1][1], atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("mode", ["trunc", "regularize", "clamp"])
def test_inverse_sqrt_gradient_is_exact(mode):
    """The Daleckii-Krein backward of C^{-1/2} against finite differences (C = A A^T + 0.1 I)."""
    from gdynet.training.vamp import _inv_sqrt

    a = torch.randn(4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(4)).requires_grad_()
    w = torch.randn(4, 4, dtype=torch.float64)
    eye = torch.eye(4, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda m: (_inv_sqrt(m @ m.T + 0.1 * eye, 1e-6, mode) * w).sum(), (a,))


@pytest.mark.parametrize("mode", ["trunc", "regularize", "clamp"])
def test_constant_outputs_give_finite_gradients(mode):
    """A collapsed network (C00 = Ctt = 0, degenerate eigenvalues): score 1, zero gradient, no NaN."""
    x = torch.full((50, 3), 1 / 3, requires_grad=True)
    score = vamp_score(x, torch.full((50, 3), 1 / 3), mode=mode)
    score.backward()
    assert score.item() == pytest.approx(1.0)
    assert torch.isfinite(x.grad).all() and x.grad.abs().max() < 1e-6


@pytest.mark.parametrize("data", [correlated, softmax_features])
def test_vampe_equals_vamp2_on_its_own_data(data):
    """Known answer: the empirical VAMP-E score of the estimating data is 1 + sum s_i^2 = VAMP-2."""
    x, y = data()
    assert vamp_score(x, y, "VAMPE").item() == pytest.approx(vamp_score(x, y, "VAMP2").item(), abs=1e-9)


def test_vampe_matches_deeptime_for_symmetric_koopman():
    """deeptime 0.4.5 transposes the SVD in VAMP-E; with time-symmetrised data both conventions agree."""
    x, _ = correlated(s=3)
    y = x + 0.3 * torch.randn_like(x)
    xs, ys = torch.cat([x, y]), torch.cat([y, x])
    for mode in ("trunc", "regularize"):
        ours = vamp_score(xs, ys, "VAMPE", mode=mode)
        assert abs(ours.item() - deeptime_vamp_score(xs, ys, "VAMPE", mode=mode).item()) < 1e-6


def test_two_state_markov_chain_known_answer():
    """One-hot states of a symmetric two-state chain with flip probability p: VAMP-2 = 1 + (1-2p)^2."""
    rng = np.random.default_rng(3)
    p, t = 0.1, 40000
    flips = rng.random(t) < p
    states = np.cumsum(flips) % 2
    onehot = torch.nn.functional.one_hot(torch.as_tensor(states), 2).double()
    score = vamp_score(onehot[:-1], onehot[1:]).item()
    assert score == pytest.approx(1 + (1 - 2 * p) ** 2, abs=0.01)
    # uncorrelated (shuffled) pairs carry no dynamics: only the constant function scores
    shuffled = onehot[torch.randperm(t - 1, generator=torch.Generator().manual_seed(0))]
    assert vamp_score(onehot[:-1], shuffled).item() == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("method", ["VAMP1", "VAMP2", "VAMPE"])
def test_summed_moments_equal_full_batch_with_gradients(method):
    x, y = softmax_features(t=240)
    full_x, full_y = x.clone().requires_grad_(), y.clone().requires_grad_()
    full = vamp_score(full_x, full_y, method)
    full.backward()

    part_x, part_y = x.clone().requires_grad_(), y.clone().requires_grad_()
    bounds = [0, 17, 130, 240]  # unequal "ranks"
    moments = [vamp_moments(part_x[a:b], part_y[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    total = moments[0] + moments[1] + moments[2]
    summed = vamp_score_from_moments(total, method)
    summed.backward()

    assert summed.item() == pytest.approx(full.item(), abs=1e-9)
    torch.testing.assert_close(part_x.grad, full_x.grad, atol=1e-9, rtol=1e-7)
    torch.testing.assert_close(part_y.grad, full_y.grad, atol=1e-9, rtol=1e-7)


def test_moment_vector_round_trip_for_all_reduce():
    x, y = correlated(t=50, s=3)
    m = vamp_moments(x, y)
    vec = m.to_vector()
    assert vec.shape == (1 + 2 * 3 + 3 * 9,) and vec.dtype == torch.float64
    back = VampMoments.from_vector(vec, 3)
    assert vamp_score_from_moments(back).item() == pytest.approx(vamp_score(x, y).item(), abs=1e-12)
    assert back.count.item() == 50
    with pytest.raises(GdynetError, match="does not hold 4 states"):
        VampMoments.from_vector(vec, 4)


def test_moments_from_a_differentiable_all_reduce_score_without_warning():
    """A moment vector that requires grad (count included) scores and backpropagates silently."""
    x, y = correlated(t=60, s=3)
    a = x.clone().requires_grad_()
    vector = vamp_moments(a, y).to_vector() * 1.0  # like _SumOverRanks.apply: every entry requires grad
    assert vector.requires_grad
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score = vamp_score_from_moments(VampMoments.from_vector(vector, 3))
        score.backward()
    b = x.clone().requires_grad_()
    vamp_score(b, y).backward()
    assert score.item() == pytest.approx(vamp_score(x, y).item(), abs=1e-12)
    torch.testing.assert_close(a.grad, b.grad, atol=1e-12, rtol=1e-10)


def test_float32_input_and_batched_shapes():
    x, y = softmax_features()
    score32 = vamp_score(x.float(), y.float())
    assert score32.dtype == torch.float32
    assert score32.item() == pytest.approx(vamp_score(x, y).item(), abs=1e-5)
    # (B, n, S) model output is flattened to (B*n, S) pairs
    assert vamp_score(x.reshape(100, 3, 3), y.reshape(100, 3, 3)).item() == pytest.approx(vamp_score(x, y).item())
    assert vamp_loss(x, y).item() == pytest.approx(-vamp_score(x, y).item())


def test_bad_input_raises_one_line_errors():
    x, y = correlated(t=10, s=2)
    with pytest.raises(GdynetError, match="differ in shape"):
        vamp_score(x, y[:5])
    with pytest.raises(GdynetError, match="unknown VAMP method"):
        vamp_score(x, y, method="VAMP3")
    with pytest.raises(GdynetError, match="unknown regularisation mode"):
        vamp_score(x, y, mode="magic")
    with pytest.raises(GdynetError, match="at least 2"):
        vamp_score(x[:1], y[:1])
    with pytest.raises(GdynetError, match=r"\(T, S\)"):
        vamp_score(x[:, 0], y[:, 0])
