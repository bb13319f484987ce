"""Training collapse: the cause (an absolute eigenvalue cut-off meets a drifting softmax) and the guard.

A trained GDyNet whose softmax drifts towards saturation keeps its information in an ever smaller
spread of chi (VAMP-2 is blind to the scale). With an absolute cut-off of 1e-6 on the covariance
eigenvalues the spread eventually falls below it: the score jumps to exactly 1 with zero gradient and
never recovers (issue 10: validation 1.949 -> 1.0000 at epoch 5). The trainer now cuts eigenvalues
relative to the outputs' own variance; the guard undoes any remaining collapse.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gdynet.training.trainer as trainer_module
from gdynet.base.errors import GdynetWarning
from gdynet.network.inputs import GraphSource
from gdynet.training.trainer import TrainConfig, Trainer
from gdynet.training.vamp import VampMoments, vamp_moments, vamp_score_from_moments
from training_helpers import TinyGraphNet, hidden_two_state_store


class SaturatedNet(TinyGraphNet):
    """TinyGraphNet with its logits shifted by ``offset``: a softmax drifted deep into saturation
    (chi_0 ~ 1e-6, spread ~1e-6: the state of the issue's network just before it collapsed)."""

    def __init__(self, offset: float = 14.0) -> None:
        super().__init__()
        self.offset = offset

    def forward(self, numbers, nbr_idx, nbr_dist, targets):
        d = nbr_dist[:, targets[:, 0]]
        g = torch.exp(-((d[..., None] - self.centers) ** 2) / 0.5).mean(2)
        logits = self.mlp(g) + torch.tensor([-self.offset, 0.0])
        return torch.softmax(logits, dim=-1)


def _absolute_score(vector, n_states, epsilon):
    """The trainer's score before the fix: eigenvalues below an absolute 1e-6 cut away."""
    return vamp_score_from_moments(VampMoments.from_vector(vector, n_states), "VAMP2", epsilon)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return hidden_two_state_store(tmp_path_factory.mktemp("collapse"), 400, seed=4)[0]


def _config(**kw):
    return TrainConfig(**{"lag": 1, "batch_size": 32, "lr": 2e-2, "epochs": 3, "patience": 3,
                          "device": "cpu", "progress": False, **kw})


def test_a_saturated_softmax_collapses_with_an_absolute_cutoff_and_trains_with_a_relative_one(store, monkeypatch):
    x = torch.tensor(np.random.default_rng(0).normal(size=(500, 1)) * 1e-4)
    feats = torch.cat([x, 1 - x], dim=1)                           # spread 1e-4: variance 1e-8 < 1e-6
    moments = vamp_moments(feats[:-1], feats[1:])
    assert float(vamp_score_from_moments(moments)) == 1.0           # cut away: the "collapse"
    assert float(vamp_score_from_moments(moments, relative=True)) > 1.0

    torch.manual_seed(0)
    fixed = Trainer(_config()).fit(SaturatedNet(), [GraphSource(store)])
    monkeypatch.setattr(trainer_module, "_score", _absolute_score)
    torch.manual_seed(0)
    old = Trainer(_config()).fit(SaturatedNet(), [GraphSource(store)])
    assert all(h["validation"] == pytest.approx(1.0, abs=1e-9) for h in old.history)   # dead from the start
    assert old.scores["validation"] == pytest.approx(1.0, abs=1e-9)
    assert fixed.scores["validation"] > 1.7                         # the two hidden states are learned


class SabotagedNet(TinyGraphNet):
    """Outputs a constant after ``break_at`` training steps (once): a forced, total collapse. The
    switch is a buffer, so restoring the best weights also mends the network."""

    def __init__(self, break_at: int) -> None:
        super().__init__()
        self.register_buffer("broken", torch.zeros(()))
        self.break_at, self.calls = break_at, 0

    def forward(self, **inputs):
        if self.training:
            self.calls += 1
            if self.calls == self.break_at:
                self.broken.fill_(1.0)
        out = super().forward(**inputs)
        return torch.where(self.broken > 0, torch.full_like(out, 0.5), out)


def test_the_guard_restores_the_best_weights_lowers_the_lr_and_says_so(store):
    torch.manual_seed(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = Trainer(_config(epochs=4, patience=2)).fit(SabotagedNet(break_at=12), [GraphSource(store)])
    history = result.history
    assert [h.get("collapse", False) for h in history] == [False, True, False, False]
    assert history[1]["validation"] == pytest.approx(1.0, abs=1e-9)
    assert [h["lr"] for h in history] == pytest.approx([2e-2, 2e-2, 4e-3, 4e-3])
    assert history[2]["validation"] > 1.7                         # training went on from the best weights
    assert float(result.model.broken) == 0.0 and result.scores["validation"] > 1.7
    messages = [str(w.message) for w in caught if issubclass(w.category, GdynetWarning)]
    assert len(messages) == 1 and "collapsed in epoch 2" in messages[0] and "0.004" in messages[0]
    assert {"epoch", "train", "validation", "lr", "seconds"} <= set(history[0])
