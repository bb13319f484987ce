"""Two gloo processes give the single-process loss, gradients and weights on the union batch (CPU)."""
from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from gdynet.network.inputs import GraphSource
from gdynet.training.data import split_sources
from gdynet.training.distributed import setup
from gdynet.training.trainer import TrainConfig, Trainer, _Context
from training_helpers import TinyGraphNet, hidden_two_state_store

CONFIG = dict(lag=2, batch_size=32, lr=1e-2, epochs=2, patience=5, seed=3, device="cpu",
              progress=False, eval_batch_size=50)
BATCH = np.arange(5, 69)  # one global batch of 64 pairs (t, t + 2)


def _data(folder: Path) -> list[GraphSource]:
    a, _ = hidden_two_state_store(folder / "a", 240, seed=5)
    b, _ = hidden_two_state_store(folder / "b", 160, n_atoms=7, n_targets=3, seed=6)
    return [GraphSource(a), GraphSource(b)]


def _gradient_and_fit(folder: Path) -> dict:
    """Loss and gradients of one global batch, then a short fit; same code with 1 or 2 processes."""
    torch.set_num_threads(1)
    sources = _data(folder)
    config = TrainConfig(**CONFIG)
    world, device = setup(torch.device("cpu"))
    torch.manual_seed(0)
    model = TinyGraphNet()
    net = Trainer._wrap(model, world, device)
    blocks = split_sources([s.n_frames for s in sources], 2, config.split)
    score = _Context(config, sources, blocks, 2, device, world).batch_score(net, 0, BATCH, grad=True)
    (-score).backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    torch.manual_seed(0)
    result = Trainer(config).fit(TinyGraphNet(), sources)
    return {"loss": -score.item(), "grads": grads, "weights": result.model.state_dict(),
            "history": [(h["train"], h["validation"]) for h in result.history], "scores": result.scores}


def _worker(rank: int, world_size: int, port: int, folder: Path) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    try:
        torch.save(_gradient_and_fit(folder), folder / f"rank{rank}.pt")
        dist.barrier()  # neither rank tears gloo down while the other still talks to it
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dist")
    _data(folder)  # written once, before the processes open the memory maps
    mp.spawn(_worker, args=(2, _free_port(), folder), nprocs=2, join=True)
    single = _gradient_and_fit(folder)
    return single, [torch.load(folder / f"rank{r}.pt", weights_only=False) for r in range(2)]


def test_loss_is_the_global_loss_on_every_rank(runs):
    single, ranks = runs
    for r in ranks:
        assert r["loss"] == pytest.approx(single["loss"], rel=1e-7)


def test_gradients_equal_single_process_gradients_not_averaged_twice(runs):
    single, ranks = runs
    scale = max(float(g.abs().max()) for g in single["grads"].values())
    assert scale > 1e-3  # a real gradient is compared (twice averaged would be half of it)
    for r in ranks:
        for name, grad in single["grads"].items():
            torch.testing.assert_close(r["grads"][name], grad, rtol=1e-4, atol=1e-5 * scale)


def test_training_with_two_processes_matches_one_process(runs):
    single, ranks = runs
    for r in ranks:
        np.testing.assert_allclose(r["history"], single["history"], rtol=1e-5)
        assert r["scores"] == pytest.approx(single["scores"], rel=1e-5)
        for name, value in single["weights"].items():
            torch.testing.assert_close(r["weights"][name], value, rtol=1e-4, atol=1e-5)


def test_torchrun_cli_with_two_gloo_ranks_matches_one_process(tmp_path):
    """`torchrun --nproc_per_node=2 gdynet fit ...` (the README's route) ends with rank 0's results,
    the same as one process."""
    import json
    import subprocess
    import sys

    from typer.testing import CliRunner

    from gdynet.cli import app
    from gdynet.datasets.toy import toy_li_fcc, write_npz

    path = str(write_npz(toy_li_fcc(n_trajectories=1, n_frames=600, seed=8).trajectories[0], tmp_path / "toy.npz"))
    args = ["fit", path, "--dt", "0.1ps", "--lag", "1ps", "--epochs", "1", "--batch-size", "64", "-q",
            "--device", "cpu", "--lags", "0.5ps,1ps"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           "-m", "gdynet", *args, "--out", str(tmp_path / "two")], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("gdynet run") == 1                     # only rank 0 reports
    single = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "one")])
    assert single.exit_code == 0, single.output
    two, one = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("two", "one"))
    # The fused numba edge kernel sums in float32 in an order that depends on threads, shards and (with
    # numba's dynamic scheduling) on what else the CPU is doing, and one epoch of Adam from scratch amplifies
    # that rounding: two ranks vs one process differed by 7e-5 in VAMP-2 and 3e-3 (relative) in t1 on a quiet
    # machine and by 3.6e-3 in the validation/test VAMP-2 on a loaded one (measured). This test is about the
    # route (torchrun, rank 0 alone reporting, the same run folder); exactness of the all-reduced moments and
    # gradients is tested above, in one step. The bounds are about 5x the largest difference measured.
    assert two["vamp2"] == pytest.approx(one["vamp2"], abs=2e-2)
    assert two["timescales_ps"] == pytest.approx(one["timescales_ps"], rel=5e-2)
