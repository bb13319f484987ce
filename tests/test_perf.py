"""Training at scale: fused CPU edge kernel, chunked forward (batch_atoms), precision and compile options."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import gdynet.network.layers as layers
from gdynet.base.errors import GdynetError
from gdynet.network.gdynet import GDyNet
from gdynet.network.layers import AttentionConv, GaussianLinear
from gdynet.network.forward import frame_outputs, frames_per_chunk, run_network
from gdynet.network.inputs import GraphSource
from gdynet.training.trainer import TrainConfig, Trainer
from training_helpers import hidden_two_state_store

pytestmark = pytest.mark.skipif(not layers.edge_kernel.AVAILABLE, reason="the fused kernel needs numba")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    store, _ = hidden_two_state_store(tmp_path_factory.mktemp("perf"), 120, n_atoms=40, m=6, n_targets=4)
    return GraphSource(store)


def test_table_interpolation_matches_the_gaussians():
    """P(d) by linear interpolation in the table equals u(d) W^T + b to float32 rounding (bound 2.4e-7)."""
    torch.manual_seed(0)
    layer = GaussianLinear(7.0, 36, 5)
    table, inv_h = layer.table()
    d = torch.rand(10_000, dtype=torch.float64) * 12  # beyond cutoff + 10 sigma too
    x = (d * inv_h).clamp(max=len(table) - 1)
    k = x.floor().long().clamp(max=len(table) - 2)
    lerp = torch.lerp(table[k].double(), table[k + 1].double(), (x - k).unsqueeze(1))
    direct = layer.linear.double()(layer.expansion(d))
    assert (lerp - direct).abs().max() < 3e-6


@pytest.mark.parametrize("activation", ["relu", "softplus"])
def test_fused_kernel_equals_the_composite_conv(monkeypatch, activation):
    """Values and every gradient of the fused kernel equal the plain torch ops (pruned rows, int32 indices,
    shell weights with zeros and a row of zero weights)."""
    torch.manual_seed(1)
    conv = AttentionConv(8, 6.0, 31, activation, "layer")
    b, n, m = 3, 50, 6
    v = torch.randn(b, n, 8)
    idx = torch.randint(0, n, (b, n, m), dtype=torch.int32)
    dist = torch.rand(b, n, m) * 8
    weight = torch.rand(b, n, m) * (torch.rand(b, n, m) > 0.3)
    weight[1, 4] = 0.0  # an updated row without messages
    rows = torch.arange(0, n, 2)
    grad = torch.randn(b, n, 8)
    results = []
    for threshold in (0, 10**9):  # fused, then composite
        monkeypatch.setattr(layers, "FUSED_MIN_EDGES", threshold)
        conv.zero_grad()
        x = v.clone().requires_grad_()
        out = conv(x, *(t.index_select(1, rows) for t in (idx, dist, weight)), rows)
        (out * grad).sum().backward()
        results.append([out.detach(), x.grad] + [p.grad for p in conv.parameters()])
    for fused, plain in zip(*results):
        torch.testing.assert_close(fused, plain, rtol=1e-5, atol=1e-5 * float(plain.abs().max()))


def test_chunked_forward_gives_the_whole_batch_gradient(source):
    """batch_atoms splits the frames into chunks; outputs and gradients equal one whole pass."""
    torch.manual_seed(2)
    model = GDyNet(n_states=3, neighbors=source.store.neighbors, atom_features=8, n_conv=2)
    frames = np.arange(0, 60, 3)
    results = []
    for batch_atoms in (None, 3 * source.n_atoms):  # whole, then 3 frames per chunk with recomputation
        model.zero_grad()
        out = frame_outputs(model, source, frames, "cpu", batch_atoms)
        loss = (out[1:] * out[:-1]).sum().log()  # couples the chunks, like the VAMP-2 score
        loss.backward()
        results.append([out.detach()] + [p.grad.clone() for p in model.parameters()])
    for chunked, whole in zip(results[1], results[0]):
        torch.testing.assert_close(chunked, whole, rtol=1e-5, atol=1e-7)
    assert frames_per_chunk(3 * source.n_atoms, source.n_atoms) == 3 and frames_per_chunk(1, 10**6) == 1


def test_batch_atoms_and_precision_in_training(source):
    """Same seed: a chunked fit equals the whole-batch fit; bf16 trains; predict honours batch_atoms."""
    def fit(**kw):
        torch.manual_seed(0)
        model = GDyNet(n_states=2, neighbors=source.store.neighbors, atom_features=8, n_conv=1)
        config = TrainConfig(lag=1, batch_size=16, epochs=1, patience=0, progress=False,
                             device="cpu", **kw)
        return Trainer(config).fit(model, [source])

    whole, chunked = fit(), fit(batch_atoms=5 * source.n_atoms)
    assert chunked.scores["validation"] == pytest.approx(whole.scores["validation"], abs=1e-5)
    bf16 = fit(precision="bf16")
    assert np.isfinite(bf16.scores["validation"]) and 1.0 <= bf16.scores["validation"] <= 2.0 + 1e-6
    chi = run_network(whole.model, source, device="cpu")
    np.testing.assert_allclose(run_network(whole.model, source, device="cpu", batch_atoms=7 * source.n_atoms), chi,
                               atol=1e-6)


def test_compile_option_compiles_the_network(source, monkeypatch):
    compiled = []
    monkeypatch.setattr(torch, "compile", lambda module, **kw: compiled.append(module) or module)
    config = TrainConfig(lag=1, batch_size=16, epochs=1, progress=False, device="cpu", compile=True)
    Trainer(config).fit(GDyNet(n_states=2, neighbors=source.store.neighbors, atom_features=4, n_conv=1), [source])
    assert len(compiled) == 1 and isinstance(compiled[0], GDyNet)


@pytest.mark.parametrize("option, message", [({"batch_atoms": 0}, "batch_atoms must be at least 1"),
                                             ({"precision": "fp16"}, "precision must be one of fp32, bf16")])
def test_bad_options_raise_one_line(option, message):
    with pytest.raises(GdynetError, match=message):
        TrainConfig(**option).check()
