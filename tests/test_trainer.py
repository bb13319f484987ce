"""Trainer, data sources, splits and predict on tiny data with a known answer (CPU)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gdynet.base.errors import GdynetError
from gdynet.trajectory.core import Trajectory
from gdynet.network.forward import run_network
from gdynet.network.inputs import CoordinateSource, GraphSource
from gdynet.training.data import batches, split_frames, split_sources
from gdynet.training.trainer import TrainConfig, Trainer
from gdynet.training.vamp import vamp_score
from gdynet.network.gdynet import GDyNet
from gdynet.network.vampnet import GlobalVAMPNet
from training_helpers import TinyGraphNet, hidden_two_state_store, markov_chain

torch.set_num_threads(1)


def _config(tmp_path=None, **kw) -> TrainConfig:
    base = dict(lag=1, batch_size=64, lr=1e-2, epochs=3, patience=2, device="cpu", progress=False,
                checkpoint_dir=tmp_path)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("graphs")
    a, states_a = hidden_two_state_store(root / "a", 600, seed=0)
    b, states_b = hidden_two_state_store(root / "b", 400, n_atoms=8, n_targets=3, seed=1)
    return (a, states_a), (b, states_b)


# ------------------------------------------------------------------------------------------ splits
def test_split_frames_contiguous_blocks_follow_fractions():
    blocks = split_frames(1000, 5)
    assert blocks == {"train": (0, 700), "validation": (700, 850), "test": (850, 1000)}
    blocks = split_frames(1000, 5, (0.8, 0.2, 0.0))
    assert blocks["test"] == (1000, 1000)


def test_split_frames_too_short_names_the_file_and_the_minimum():
    with pytest.raises(GdynetError, match=r"run\.xyz: 50 frames are too few for lag 10.*at least 80 frames"):
        split_frames(50, 10, source="run.xyz")


def test_no_pair_crosses_a_split_boundary_and_test_trajectories_stay_whole():
    lag = 7
    blocks = split_sources([300, 200, 150], lag, test_sources=(2,))
    assert [(b.source, b.start, b.stop) for b in blocks["test"]] == [(2, 0, 150)]
    seen: dict[int, set] = {0: set(), 1: set(), 2: set()}
    for split, group in blocks.items():
        for block in group:
            t = block.times()
            assert t.min() >= block.start and t.max() + lag < block.stop  # pair entirely inside the block
            frames = set(t) | set(t + lag)
            assert not frames & seen[block.source]                      # blocks are disjoint
            seen[block.source] |= frames
    assert not any(b.source == 2 for b in blocks["train"] + blocks["validation"])


def test_an_epoch_visits_every_training_pair_once_in_single_trajectory_batches():
    blocks = split_sources([300, 200], 3)["train"]
    plan = batches(blocks, 16, np.random.default_rng(0))
    seen = sorted((s, int(t)) for s, chunk in plan for t in chunk)
    assert seen == sorted((b.source, int(t)) for b in blocks for t in b.times())
    assert min(len(chunk) for _, chunk in plan) >= 8  # a short tail is merged, never a 1-pair batch
    again = batches(blocks, 16, np.random.default_rng(0))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(plan, again))


# ----------------------------------------------------------------------------------------- sources
def test_graph_source_reads_the_requested_frames(stores):
    (store, _), _ = stores
    frames = np.array([5, 2, 5, 599])
    x = GraphSource(store).inputs(frames, "cpu")
    assert x["nbr_idx"].dtype == torch.int32 and x["nbr_dist"].dtype == torch.float32
    np.testing.assert_array_equal(x["nbr_idx"].numpy(), store.indices[frames])
    np.testing.assert_array_equal(x["nbr_dist"].numpy(), store.distances[frames])
    np.testing.assert_array_equal(x["targets"].numpy(), store.targets)


def test_coordinate_source_gives_wrapped_fractional_positions():
    rng = np.random.default_rng(0)
    cells = np.array([[5.0, 0, 0], [1.0, 6.0, 0], [0.5, 0.5, 7.0]])
    frac = rng.uniform(-1.5, 2.5, size=(4, 3, 3))
    traj = Trajectory(frac @ cells, cells, np.array([3, 3, 16]), 0.1, np.arange(3)[:, None])
    out = CoordinateSource(traj).inputs(np.array([3, 1]), "cpu")["frac_positions"].numpy()
    assert out.shape == (2, 3, 3) and out.dtype == np.float32
    assert np.all((out >= 0) & (out < 1))
    np.testing.assert_allclose(out, (frac[[3, 1]] % 1.0), atol=1e-6)


# ---------------------------------------------------------------------------------------- training
def _oracle(states: np.ndarray, lag: int) -> float:
    """VAMP-2 of the true two-state indicator of every target (the best any 2-state model can do)."""
    onehot = torch.nn.functional.one_hot(torch.as_tensor(states), 2).double()
    return float(vamp_score(onehot[:-lag].reshape(-1, 2), onehot[lag:].reshape(-1, 2)))


def test_fit_learns_the_hidden_two_state_dynamics(stores, tmp_path):
    (a, states_a), (b, _) = stores
    torch.manual_seed(0)
    model = TinyGraphNet()
    before = Trainer(_config(epochs=1, lr=1e-9)).fit(TinyGraphNet(), [GraphSource(a)]).scores["validation"]
    result = Trainer(_config(tmp_path, epochs=4)).fit(model, [GraphSource(a), GraphSource(b)])
    oracle = _oracle(states_a, 1)
    assert oracle > 1.7
    assert result.scores["validation"] > 0.97 * oracle > before
    assert set(result.scores) == {"train", "validation", "test"} and np.isfinite(result.scores["test"])
    assert [h["epoch"] for h in result.history] == list(range(1, len(result.history) + 1))
    best = max(result.history, key=lambda h: h["validation"])
    assert result.best_epoch == best["epoch"]
    assert result.scores["validation"] == pytest.approx(best["validation"], rel=1e-12)
    assert result.model is model and not model.training
    assert repr(result).startswith("TrainResult(TinyGraphNet, ") and "\n" not in repr(result) and len(repr(result)) < 200
    saved = torch.load(result.best_checkpoint, weights_only=False)
    assert saved["epoch"] == result.best_epoch and saved["config"] == model.config
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, saved["model"][k], rtol=0, atol=0)
    assert result.last_checkpoint.is_file()


def test_same_seed_same_weights_other_seed_other_weights(stores):
    (a, _), _ = stores

    def weights(seed: int) -> list[torch.Tensor]:
        torch.manual_seed(0)
        model = Trainer(_config(epochs=2, seed=seed)).fit(TinyGraphNet(), [GraphSource(a)]).model
        return [p.detach().clone() for p in model.parameters()]

    first, second, other = weights(1), weights(1), weights(2)
    assert all(torch.equal(x, y) for x, y in zip(first, second))
    assert not all(torch.equal(x, y) for x, y in zip(first, other))


def test_early_stopping_keeps_the_best_epoch(stores):
    (a, _), _ = stores
    torch.manual_seed(0)
    result = Trainer(_config(epochs=30, patience=1, lr=5e-2)).fit(TinyGraphNet(), [GraphSource(a)])
    n = len(result.history)
    assert n < 30 and n == result.best_epoch + 1  # stopped one epoch after the last improvement
    assert result.history[-1]["validation"] <= result.history[result.best_epoch - 1]["validation"]


def test_divergence_is_reported_with_advice(stores):
    (a, _), _ = stores
    with pytest.raises(GdynetError, match="diverged.*lower learning rate.*fewer states"):
        Trainer(_config()).fit(TinyGraphNet(nan=True), [GraphSource(a)])


def test_lag_as_time_and_bad_options(stores, tmp_path):
    (a, _), _ = stores
    result = Trainer(_config(epochs=1, lag="0.3ps")).fit(TinyGraphNet(), [GraphSource(a)])
    assert result.lag_frames == 3
    with pytest.raises(GdynetError, match="not a whole number of frames"):
        Trainer(_config(lag="0.25ps")).fit(TinyGraphNet(), [GraphSource(a)])
    with pytest.raises(GdynetError, match="batch_size"):
        Trainer(_config(batch_size=0))
    with pytest.raises(GdynetError, match="weight_decay must be a non-negative number"):
        Trainer(_config(weight_decay=-1e-3))
    with pytest.raises(GdynetError, match="unknown device"):
        Trainer(_config(device="tpu")).fit(TinyGraphNet(), [GraphSource(a)])


def test_a_checkpoint_of_another_run_is_refused(stores, tmp_path):
    (a, _), _ = stores
    Trainer(_config(tmp_path, epochs=1)).fit(TinyGraphNet(), [GraphSource(a)])
    with pytest.raises(GdynetError, match=r"last\.pt: checkpoint belongs to a different run \(lag differ"):
        Trainer(_config(tmp_path, epochs=1, lag=2)).fit(TinyGraphNet(), [GraphSource(a)])
    # the restored optimizer would otherwise keep the old weight decay without a word
    with pytest.raises(GdynetError, match=r"\(weight_decay differ"):
        Trainer(_config(tmp_path, epochs=2, weight_decay=1e-3)).fit(TinyGraphNet(), [GraphSource(a)])


def test_a_checkpoint_whose_best_weights_are_not_finite_is_refused(stores, tmp_path):
    """Issue 24: a NaN in last.pt's kept best weights (only kept for a finite score: damage) would give
    an all-NaN chi; the resume names the checkpoint instead."""
    (a, _), _ = stores
    Trainer(_config(tmp_path, epochs=1)).fit(TinyGraphNet(), [GraphSource(a)])
    state = torch.load(tmp_path / "last.pt", weights_only=True)
    for value in state["run"]["best_state"].values():
        if value.is_floating_point():
            value.fill_(float("nan"))
    torch.save(state, tmp_path / "last.pt")
    with pytest.raises(GdynetError, match=r"last\.pt: damaged checkpoint: its best weights are not finite"):
        Trainer(_config(tmp_path, epochs=2)).fit(TinyGraphNet(), [GraphSource(a)])


def test_global_coordinate_vampnet_trains_through_the_same_trainer():
    """Two 'Li' atoms hop between x = 0.25 and x = 0.75 of a 4 Å cell (one crossing the boundary)."""
    rng = np.random.default_rng(3)
    states = markov_chain(500, 2, 0.05, rng)
    frac = np.zeros((500, 3, 3))
    frac[:, :2, 0] = 0.25 + 0.5 * states + rng.normal(0, 0.03, (500, 2))
    frac[:, 1, 0] += 0.5                                  # second atom wraps around the cell
    frac[:, 2] = 0.5                                      # a fixed host atom
    cell = np.diag([4.0, 4.0, 4.0])
    traj = Trajectory(frac @ cell, cell, np.array([3, 3, 16]), 0.1, np.arange(3)[:, None])
    torch.manual_seed(0)
    model = GlobalVAMPNet(n_atoms=3, hidden=(16,))
    result = Trainer(_config(epochs=3, lr=2e-2)).fit(model, [CoordinateSource(traj)])
    # one "target set" per frame holding both atoms: 4 joint states, a 2-state model sees the slowest mode
    assert result.scores["validation"] > 1.5


def test_the_graph_network_learns_the_hidden_states(stores):
    (a, states_a), (b, _) = stores
    torch.manual_seed(0)
    model = GDyNet(n_states=2, neighbors=2, atom_features=8, n_conv=1, cutoff=4.0, n_gaussians=16, hidden=(8,))
    result = Trainer(_config(epochs=3, lr=1e-2)).fit(model, [GraphSource(a), GraphSource(b)])
    assert result.scores["validation"] > 0.95 * _oracle(states_a, 1)
    chi = run_network(result.model, GraphSource(a), device="cpu")
    # VAMP-2 is blind to affine maps of chi, so compare by correlation with the hidden state
    assert abs(np.corrcoef(chi[..., 1].ravel(), states_a.ravel())[0, 1]) > 0.95


def test_end_to_end_from_a_trajectory_through_build_graphs(tmp_path):
    """Li hopping between a tetrahedral (2.6 Å from S) and an octahedral (3.0 Å) site of an FCC S cell."""
    from gdynet.graphs.store import build_graphs

    rng = np.random.default_rng(7)
    states = markov_chain(500, 1, 0.05, rng)[:, 0]
    sulfur = np.array([[0, 0, 0], [3, 3, 0], [3, 0, 3], [0, 3, 3]], dtype=float)
    sites = np.array([[1.5, 1.5, 1.5], [3.0, 0.0, 0.0]])
    pos = np.concatenate([np.broadcast_to(sulfur, (500, 4, 3)), sites[states][:, None]], axis=1)
    pos = pos + rng.normal(0, 0.05, pos.shape)
    traj = Trajectory(pos, np.eye(3) * 6.0, np.array([16, 16, 16, 16, 3]), 0.1, np.array([[4]]))
    store = build_graphs(traj, neighbors=4, cache_dir=tmp_path, progress=False)
    torch.manual_seed(0)
    model = GDyNet(n_states=2, neighbors=4, atom_features=8, n_conv=1, cutoff=4.0, n_gaussians=20, hidden=(8,))
    result = Trainer(_config(epochs=3, lr=1e-2)).fit(model, [GraphSource(store)])
    chi = run_network(result.model, GraphSource(store), device="cpu")
    assert chi.shape == (500, 1, 2)
    assert abs(np.corrcoef(chi[:, 0, 1], states)[0, 1]) > 0.95


# ----------------------------------------------------------------------------------------- predict
def test_predict_matches_the_model_and_fills_a_memmap(stores, tmp_path):
    _, (b, _) = stores
    torch.manual_seed(0)
    model = TinyGraphNet(n_states=3)
    source = GraphSource(b)
    chi = run_network(model, source, device="cpu", batch_size=64)
    assert chi.shape == (400, 3, 3) and chi.dtype == np.float32
    np.testing.assert_allclose(chi.sum(-1), 1.0, atol=1e-6)
    with torch.no_grad():
        direct = model(**source.inputs(np.arange(400), "cpu")).numpy()
    np.testing.assert_allclose(chi, direct, atol=1e-6)
    np.testing.assert_allclose(run_network(model, source, device="auto"), direct, atol=1e-4)  # CUDA when present
    model.cpu()
    out = np.lib.format.open_memmap(tmp_path / "chi.npy", mode="w+", dtype=np.float32, shape=(400, 3, 3))
    assert run_network(model, source, device="cpu", batch_size=37, out=out) is out
    np.testing.assert_allclose(np.load(tmp_path / "chi.npy"), direct, atol=1e-6)
    with pytest.raises(GdynetError, match="out has shape"):
        run_network(model, source, device="cpu", out=np.zeros((10, 3, 3), np.float32))
