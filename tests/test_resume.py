"""A training run killed with SIGKILL and restarted ends exactly like an uninterrupted run (CPU)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gdynet.network.inputs import GraphSource
from gdynet.training.trainer import TrainConfig, Trainer
from training_helpers import TinyGraphNet, hidden_two_state_store

HERE = Path(__file__).parent

SCRIPT = """
import json, os, sys, time
sys.path.insert(0, {here!r})
import torch
from gdynet.network.inputs import GraphSource
from gdynet.training.trainer import TrainConfig, Trainer
from training_helpers import TinyGraphNet, hidden_two_state_store
from pathlib import Path

torch.set_num_threads(1)
data, ckpt_dir, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
slow = float(os.environ.get("SLOW_STEP", "0"))

class SlowNet(TinyGraphNet):
    def forward(self, *args, **kw):
        time.sleep(slow)
        return super().forward(*args, **kw)

store, _ = hidden_two_state_store(data, 300, seed=4)
torch.manual_seed(0)
config = TrainConfig(lag=2, batch_size=32, lr=2e-2, epochs=5, patience=10, seed=7,
                     checkpoint_dir=ckpt_dir, checkpoint_every=3, device="cpu", progress=False)
result = Trainer(config).fit(SlowNet(), [GraphSource(store)])
torch.save({{k: v for k, v in result.model.state_dict().items()}}, out.with_suffix(".pt"))
out.write_text(json.dumps({{"scores": result.scores, "best_epoch": result.best_epoch,
                           "history": [[h["train"], h["validation"]] for h in result.history]}}))
"""


def _start(tmp: Path, name: str, slow: float) -> tuple[subprocess.Popen, Path, Path]:
    script = tmp / "train.py"
    script.write_text(SCRIPT.format(here=str(HERE)))
    env = {**os.environ, "SLOW_STEP": str(slow), "OMP_NUM_THREADS": "1"}
    ckpt_dir, out = tmp / f"ckpt_{name}", tmp / f"{name}.json"
    proc = subprocess.Popen([sys.executable, str(script), str(tmp / f"data_{name}"), str(ckpt_dir), str(out)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return proc, ckpt_dir, out


def _finish(proc: subprocess.Popen) -> None:
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output.decode()


def test_sigkill_then_rerun_matches_an_uninterrupted_run(tmp_path):
    reference, _, ref_out = _start(tmp_path, "ref", 0.0)
    victim, ckpt_dir, out = _start(tmp_path, "run", 0.05)
    deadline = time.monotonic() + 60
    while not (ckpt_dir / "last.pt").exists():
        assert victim.poll() is None and time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.005)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL and not out.exists()
    first = torch.load(ckpt_dir / "last.pt", weights_only=False)["run"]
    assert (first["epoch"], first["step"]) < (5, 0)          # killed part-way through training

    rerun, _, _ = _start(tmp_path, "run", 0.0)                # the same command again
    _finish(rerun)
    _finish(reference)
    got, want = json.loads(out.read_text()), json.loads(ref_out.read_text())
    assert got == want                                       # scores, best epoch, every epoch's scores
    weights, ref_weights = torch.load(out.with_suffix(".pt")), torch.load(ref_out.with_suffix(".pt"))
    for key, value in ref_weights.items():
        assert torch.equal(weights[key], value), key


def test_rerunning_a_finished_run_returns_its_result_without_training(tmp_path):
    store, _ = hidden_two_state_store(tmp_path / "data", 300, seed=4)
    config = TrainConfig(lag=1, batch_size=32, epochs=3, patience=1, device="cpu", progress=False,
                         checkpoint_dir=tmp_path / "ckpt")
    torch.manual_seed(0)
    first = Trainer(config).fit(TinyGraphNet(), [GraphSource(store)])
    stamp = first.last_checkpoint.stat().st_mtime_ns
    torch.manual_seed(1)                                     # other initial weights: replaced by the checkpoint
    again = Trainer(config).fit(TinyGraphNet(), [GraphSource(store)])
    assert again.history == first.history and again.scores == first.scores
    assert again.last_checkpoint.stat().st_mtime_ns == stamp
    for a, b in zip(first.model.parameters(), again.model.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("junk", [b"", b"not a checkpoint"])
def test_an_unreadable_checkpoint_is_a_clear_error(tmp_path, junk):
    from gdynet.base.errors import GdynetError

    store, _ = hidden_two_state_store(tmp_path / "data", 100)
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "last.pt").write_bytes(junk)
    config = TrainConfig(batch_size=16, epochs=1, device="cpu", progress=False, checkpoint_dir=tmp_path / "ckpt")
    with pytest.raises(GdynetError, match=r"last\.pt: cannot read checkpoint.*delete it"):
        Trainer(config).fit(TinyGraphNet(), [GraphSource(store)])
