"""GDyNet and GlobalVAMPNet: equations, invariances, exact pruning, config, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gdynet.network.gdynet as gdynet_module
from gdynet.base.errors import GdynetError
from gdynet.network import GDyNet, GlobalVAMPNet
from gdynet.network.layers import AttentionConv, GaussianExpansion, GaussianLinear
from gdynet.network.shell import shell_weights


def brute_force_neighbors(positions: np.ndarray, cell: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """M nearest periodic images of every atom (self images included, self excluded), by brute force.

    positions (N, 3) Å, cell (3, 3) rows = lattice vectors -> indices (N, M), distances (N, M).
    """
    shifts = np.array([[a, b, c] for a in range(-2, 3) for b in range(-2, 3) for c in range(-2, 3)]) @ cell
    delta = positions[None, :, None, :] + shifts[None, None] - positions[:, None, None, :]  # (N, N, S, 3)
    dist = np.linalg.norm(delta, axis=-1)
    n = len(positions)
    dist[np.arange(n), np.arange(n), np.all(shifts == 0, axis=1).argmax()] = np.inf  # not the atom itself
    flat = dist.reshape(n, -1)
    order = np.argsort(flat, axis=1, kind="stable")[:, :m]
    return order // len(shifts), np.take_along_axis(flat, order, axis=1)


def random_frames(n_frames: int = 3, n_atoms: int = 10, m: int = 6, seed: int = 0):
    """Random triclinic cells and positions -> (positions (F,N,3), cells (F,3,3), idx, dist) as tensors."""
    rng = np.random.default_rng(seed)
    cells = np.stack([np.diag([6.0, 6.5, 7.0]) + rng.normal(0, 0.4, (3, 3)) for _ in range(n_frames)])
    positions = np.einsum("fni,fij->fnj", rng.random((n_frames, n_atoms, 3)), cells)
    pairs = [brute_force_neighbors(p, c, m) for p, c in zip(positions, cells)]
    idx = torch.as_tensor(np.stack([p[0] for p in pairs]))
    dist = torch.as_tensor(np.stack([p[1] for p in pairs]), dtype=torch.float32)
    return positions, cells, idx, dist


NUMBERS = torch.tensor([3, 3, 16, 16, 16, 16, 8, 8, 1, 1])
TARGETS = torch.tensor([[0, 8], [1, 9]])


def make_model(neighbors: int = 4, **kwargs) -> GDyNet:
    """A float64 GDyNet for the width-6 graphs of :func:`random_frames` (M = 4 + 2 extra)."""
    torch.manual_seed(0)
    return GDyNet(n_states=3, neighbors=neighbors, cutoff=6.0, n_gaussians=31, **kwargs).double()


def test_gaussian_expansion_eq7():
    g = GaussianExpansion(cutoff=1.0, n_gaussians=6)  # centres 0, 0.2, ..., 1.0; sigma = 0.2 Å
    u = g(torch.tensor([0.4]))[0]
    expected = torch.exp(-((0.4 - torch.arange(6) * 0.2) ** 2) / 0.2**2)
    torch.testing.assert_close(u, expected)
    assert u[2] == 1.0 and u[1] == pytest.approx(math.exp(-1))


@pytest.mark.parametrize("norm", ["none", "layer"])
def test_attention_conv_is_eqs_8_9_with_explicit_concatenation(norm):
    """The split-weight conv equals Eqs. 8-9 written literally with z_ij = [v_i, v_j, u_ij], the attention
    weighted by the shell weights w_ij (zeros included; a row of zero weights gets no message)."""
    torch.manual_seed(1)
    b, n, m, f, g = 2, 7, 4, 5, 9
    conv = AttentionConv(f, cutoff=1.6, n_gaussians=g, activation="softplus", norm=norm).double()
    v = torch.randn(b, n, f, dtype=torch.float64)
    idx = torch.randint(0, n, (b, n, m))
    dist = torch.rand(b, n, m, dtype=torch.float64) * 2
    weight = torch.rand(b, n, m, dtype=torch.float64) * (torch.rand(b, n, m) > 0.3)
    weight[0, 2] = 0.0
    u = conv.edge_proj.expansion(dist)  # Eq. 7

    edge = conv.edge_proj.linear
    w = torch.cat([conv.self_proj.weight, conv.nbr_proj.weight, edge.weight], dim=1)  # (F+1, 2F+G)
    expected = torch.empty_like(v)
    for fr in range(b):
        for i in range(n):
            z = torch.cat([v[fr, i].expand(m, f), v[fr, idx[fr, i]], u[fr, i]], dim=1)  # (M, 2F+G)
            out = z @ w.T + edge.bias
            e = weight[fr, i] * torch.exp(out[:, f])
            alpha = e / e.sum() if e.sum() > 0 else e  # Eq. 8
            message = (alpha[:, None] * torch.nn.functional.softplus(out[:, :f])).sum(0)
            expected[fr, i] = v[fr, i] + conv.norm(message)  # Eq. 9
    torch.testing.assert_close(conv(v, idx, dist, weight), expected)


def test_gaussian_linear_streams_chunks_exactly():
    """The chunked CPU path (no stored expansion) equals expansion + Linear, values and gradients."""
    torch.manual_seed(2)
    layer = GaussianLinear(cutoff=7.0, n_gaussians=36, out_features=5, chunk=100).double()
    dist = torch.rand(3, 111, dtype=torch.float64) * 8  # 333 edges: 4 chunks, the last partial
    grad = torch.randn(3, 111, 5, dtype=torch.float64)
    results = []
    for streamed in (True, False):
        layer.zero_grad()
        out = layer(dist) if streamed else layer.linear(layer.expansion(dist))
        out.backward(grad)
        results.append((out.detach(), layer.linear.weight.grad.clone(), layer.linear.bias.grad.clone()))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b)


def test_far_gaussians_are_exact_zeros_not_subnormals():
    u = GaussianExpansion(7.0, 36)(torch.tensor([0.1, 6.9]))
    assert u[0, -1] == 0 and u[1, 0] == 0
    assert not ((u > 0) & (u < torch.finfo(torch.float32).tiny)).any()


def test_output_is_probability_per_target_set():
    _, _, idx, dist = random_frames()
    out = make_model()(NUMBERS, idx, dist, TARGETS)
    assert out.shape == (3, 2, 3) and out.dtype == torch.float64
    torch.testing.assert_close(out.sum(-1), torch.ones(3, 2, dtype=torch.float64))
    assert (out > 0).all()


def test_rotation_and_translation_invariance():
    positions, cells, idx, dist = random_frames(seed=2)
    model = make_model()
    rng = np.random.default_rng(5)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    moved = [brute_force_neighbors(p @ q.T + rng.normal(0, 3, 3), c @ q.T, 6) for p, c in zip(positions, cells)]
    idx2 = torch.as_tensor(np.stack([m[0] for m in moved]))
    dist2 = torch.as_tensor(np.stack([m[1] for m in moved]))
    assert torch.equal(idx2, idx)  # same graph, distances equal to rounding
    torch.testing.assert_close(
        model(NUMBERS, idx2, dist2, TARGETS), model(NUMBERS, idx, dist, TARGETS), atol=1e-6, rtol=0
    )


def test_permutation_invariance():
    positions, cells, idx, dist = random_frames(seed=3)
    model = make_model()
    perm = torch.as_tensor(np.random.default_rng(7).permutation(10))  # new atom a = old atom perm[a]
    inverse = torch.argsort(perm)
    # relabel by recomputing the graphs of the permuted frames ...
    rebuilt = [brute_force_neighbors(p[perm.numpy()], c, 6) for p, c in zip(positions, cells)]
    idx_p = torch.as_tensor(np.stack([r[0] for r in rebuilt]))
    dist_p = torch.as_tensor(np.stack([r[1] for r in rebuilt]), dtype=torch.float32)
    torch.testing.assert_close(idx_p, inverse[idx[:, perm]])  # ... which is the remapped graph
    out = model(NUMBERS[perm], idx_p, dist_p, inverse[TARGETS])
    torch.testing.assert_close(out, model(NUMBERS, idx, dist, TARGETS), atol=1e-6, rtol=0)


def test_pruned_layers_are_exact(monkeypatch):
    """Only atoms within K hops of the targets are updated; results equal the full computation."""
    monkeypatch.setattr(gdynet_module, "_MIN_EDGES_TO_PRUNE", 0)  # prune even this tiny batch
    _, _, idx, dist = random_frames(n_atoms=10, m=3, seed=4)  # M = 1 (width 3): receptive fields stay small
    model = make_model(neighbors=1, n_conv=3)
    weight = shell_weights(dist, 1)
    every_atom = torch.arange(10).reshape(10, 1)  # all atoms needed -> nothing pruned
    assert gdynet_module._rows_to_update(idx, every_atom, 3, weight) == [None, None, None]
    full = model(NUMBERS, idx, dist, every_atom)
    for target in ([[4]], [[0], [7]]):
        t = torch.tensor(target)
        rows = gdynet_module._rows_to_update(idx, t, 3, weight)
        assert rows[2].tolist() == sorted(t[:, 0].tolist()) and rows[1] is not None  # really pruned
        torch.testing.assert_close(model(NUMBERS, idx, dist, t), full[:, t[:, 0]])


def test_gradients_reach_every_parameter():
    _, _, idx, dist = random_frames(seed=5)
    model = make_model()
    out = model(NUMBERS, idx, dist, TARGETS)
    (out[..., 0] * torch.arange(6.0).reshape(3, 2)).sum().backward()
    for name, p in model.named_parameters():
        if name == "embedding.weight":
            assert p.grad[NUMBERS.unique()].abs().sum() > 0 and p.grad[50].abs().sum() == 0
        else:
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_train_and_eval_mode_agree_and_batches_are_independent():
    _, _, idx, dist = random_frames(seed=6)
    model = make_model()
    train_out = model(NUMBERS, idx, dist, TARGETS)
    model.eval()
    torch.testing.assert_close(model(NUMBERS, idx, dist, TARGETS), train_out)
    torch.testing.assert_close(model(NUMBERS, idx[1:2], dist[1:2], TARGETS), train_out[1:2])


def test_config_rebuilds_the_model():
    model = make_model(hidden=(8, 4), activation="softplus", norm="none", atom_features=7)
    clone = GDyNet(**model.config).double()
    clone.load_state_dict(model.state_dict())
    _, _, idx, dist = random_frames(seed=7)
    torch.testing.assert_close(clone(NUMBERS, idx, dist, TARGETS), model(NUMBERS, idx, dist, TARGETS))
    assert model.config["hidden"] == [8, 4] and model.n_states == 3


def test_accepts_graph_store_dtypes():
    """int32 indices / float32 distances (GraphStore memmaps) work on a float32 model."""
    _, _, idx, dist = random_frames(seed=8)
    torch.manual_seed(0)
    model = GDyNet(n_states=2, neighbors=4)
    out = model(NUMBERS.int(), idx.int(), dist.float(), TARGETS.int())
    assert out.dtype == torch.float32 and out.shape == (3, 2, 2)


def test_bad_inputs_raise_gdynet_error():
    _, _, idx, dist = random_frames(seed=9)
    model = make_model()
    bad_idx = idx.clone()
    bad_idx[0, 0, 0] = 10
    with pytest.raises(GdynetError, match="neighbour indices outside 0..9"):
        model(NUMBERS, bad_idx, dist, TARGETS)
    with pytest.raises(GdynetError, match="target indices"):
        model(NUMBERS, idx, dist, torch.tensor([[11]]))
    with pytest.raises(GdynetError, match="atomic numbers"):
        model(NUMBERS + 200, idx, dist, TARGETS)
    one_nan = dist.clone()
    one_nan[1, 3, 2] = float("nan")
    with pytest.raises(GdynetError, match="non-finite"):
        model(NUMBERS, idx, one_nan, TARGETS)
    with pytest.raises(GdynetError, match=r"must both be \(B, 10, 6\)"):
        model(NUMBERS, idx, dist[..., :3], TARGETS)
    with pytest.raises(GdynetError, match=r"graphs built for 3 neighbours per atom \(width 5\) given to a model of "
                                          r"4 neighbours \(width 6\); rebuild the graphs with --neighbors 4"):
        model(NUMBERS, idx[..., :5], dist[..., :5], TARGETS)
    with pytest.raises(GdynetError, match="unsorted"):
        model(NUMBERS, idx, dist.flip(-1), TARGETS)
    with pytest.raises(GdynetError, match="norm must be one of"):
        GDyNet(norm="batch")


def test_global_vampnet_shapes_and_periodic_encoding():
    torch.manual_seed(0)
    net = GlobalVAMPNet(n_atoms=5, n_states=3, hidden=(16, 16)).double()
    s = torch.rand(4, 5, 3, dtype=torch.float64)
    out = net(s)
    assert out.shape == (4, 1, 3)
    torch.testing.assert_close(out.sum(-1), torch.ones(4, 1, dtype=torch.float64))
    torch.testing.assert_close(net(s + 1.0), out)  # unwrapped == wrapped
    edge = s.clone()
    edge[:, 0, 0] = 0.99999
    across = edge.clone()
    across[:, 0, 0] = 0.00001  # crossing the boundary is a tiny move, not a jump
    torch.testing.assert_close(net(across), net(edge), atol=1e-3, rtol=0)
    assert GlobalVAMPNet(**net.config).config == net.config
    with pytest.raises(GdynetError, match=r"\(B, 5, 3\)"):
        net(torch.rand(4, 6, 3))


def test_learns_a_two_state_hopping_target():
    """Known answer: a target whose neighbour shell switches between two geometries as a two-state
    Markov chain (flip probability p). Trained on VAMP-2, the model recovers 1 + (1 - 2p)^2."""
    from gdynet.training.vamp import vamp_score

    rng = np.random.default_rng(0)
    p, t = 0.05, 600
    states = np.cumsum(rng.random(t) < p) % 2
    shells = np.array([[2.0, 2.4, 2.8], [2.9, 3.3, 3.7]])  # Å, e.g. tetrahedral vs octahedral site
    dist = torch.as_tensor(shells[states][:, None, :] + rng.normal(0, 0.05, (t, 4, 3)), dtype=torch.float32)
    idx = torch.tensor([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]]).expand(t, 4, 3)
    numbers, targets = torch.tensor([3, 16, 16, 16]), torch.tensor([[0]])
    torch.manual_seed(0)
    model = GDyNet(n_states=2, neighbors=1, atom_features=8, n_conv=2, hidden=(16,))  # width 3
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        opt.zero_grad()
        out = model(numbers, idx, dist, targets)[:, 0]  # (t, 2)
        loss = -vamp_score(out[:-1], out[1:])
        loss.backward()
        opt.step()
    with torch.no_grad():
        out = model(numbers, idx, dist, targets)[:, 0]
    onehot = torch.nn.functional.one_hot(torch.as_tensor(states), 2).float()
    best = vamp_score(onehot[:-1], onehot[1:]).item()  # the true states' score on this chain (~1.85)
    assert best == pytest.approx(1 + (1 - 2 * p) ** 2, abs=0.06)
    assert vamp_score(out[:-1], out[1:]).item() == pytest.approx(best, abs=0.02)
    # and the two learned states are the two geometries
    assert abs(np.corrcoef(out[:, 0].numpy(), states)[0, 1]) > 0.95
