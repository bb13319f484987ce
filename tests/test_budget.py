"""Automatic training lengths (gdynet.training.budget): known answers for the data sizes of the examples."""
from __future__ import annotations

import pytest

from gdynet.base.errors import GdynetError
from gdynet.training.budget import training_budget


def test_interface_many_targets_few_frames():
    b = training_budget(105, 1353)                # Cu interface example: 105 pairs of 1,353 targets
    assert b.batch_size == 4 and b.steps_per_epoch == 26
    assert b.epochs == 193 and b.patience == 31   # 5,000 steps, 800 steps of patience
    assert b.auto == ("batch_size", "epochs", "patience")


def test_few_targets_few_frames_keep_eight_steps_per_epoch():
    b = training_budget(270, 16)                  # 16 Li ions, 270 pairs: 256 pairs would be one step
    assert b.batch_size == 33 and b.steps_per_epoch == 8 and b.epochs == 625


def test_toy_one_target_many_frames():
    b = training_budget(67_200, 1)                # 12 toy trajectories of 8,000 frames
    assert b.batch_size == 256 and b.steps_per_epoch == 262
    assert b.epochs == 30 and b.patience == 5


def test_given_values_are_kept():
    b = training_budget(105, 1353, batch_size=8, epochs=3, patience=0)
    assert (b.batch_size, b.epochs, b.patience, b.auto) == (8, 3, 0, ())
    assert b.to_dict() == {"batch_size": 8, "epochs": 3, "patience": 0, "steps_per_epoch": 13, "auto": []}


def test_no_targets_is_an_error():
    with pytest.raises(GdynetError, match="at least one target set"):
        training_budget(100, 0)
