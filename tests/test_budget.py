"""Automatic training lengths (gdynet.training.budget): known answers for the data sizes of the examples."""
from __future__ import annotations

import pytest

from gdynet.base.errors import GdynetError
from gdynet.training.budget import training_budget, training_convergence


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


def _history(validation, collapse=()):
    return [{"epoch": i + 1, "validation": v, **({"collapse": True} if i + 1 in collapse else {})}
            for i, v in enumerate(validation)]


def test_a_curve_still_rising_at_the_epoch_limit_is_not_converged():
    # the electrolyte's seed 1 at 40 epochs (issue 26): best in the last epoch, +0.02 over the last 8
    curve = [2.0 + 0.0015 * min(e, 30) + 0.003 * max(e - 32, 0) for e in range(1, 41)]
    converged, reason = training_convergence(_history(curve), 40)
    assert not converged
    assert "came in the last of the 40 epochs allowed" in reason
    assert "still rose by 0.0240" in reason and "over the last 8 of 40 epochs" in reason
    assert reason.startswith("training has not converged") and reason.endswith("refit with more --epochs (this run: 40)")


def test_a_plateau_is_converged_and_patience_stops_are_judged_by_the_rise():
    plateau = [1.9 + 0.2 * min(e, 20) / 20 + 0.001 * (-1) ** e for e in range(1, 41)]
    assert training_convergence(_history(plateau), 40) == (True, None)     # best epoch 20 of 40
    assert training_convergence(_history(plateau[:30]), 625) == (True, None)  # stopped early by patience
    # stopped by a short patience (3 epochs) 3 epochs after a jump: not at the limit, but the rise counts
    jump = [1.9] * 26 + [2.1] + [2.09] * 3
    converged, reason = training_convergence(_history(jump), 100)
    assert not converged and "came in" not in reason and "rose by 0.2000" in reason


def test_a_best_in_the_last_tenth_at_the_limit_is_flagged_even_when_small():
    curve = [2.0] * 38 + [2.0001, 1.99]                       # best in epoch 39 of 40 (the last 10 %)
    converged, reason = training_convergence(_history(curve), 40)
    assert not converged and "epoch 39 of the 40 allowed (the last 10%)" in reason and "rose" not in reason
    # the rise alone stays below the tolerance (1 % of best - 1) when the limit did not stop the run
    assert training_convergence(_history(curve), 100) == (True, None)


def test_too_few_epochs_collapses_and_unknown_limits():
    assert training_convergence(_history([1.5, 1.4]), 2)[1].startswith("training has not converged: only 2 epochs")
    # an epoch the collapse guard undid is not a score; the limit unknown counts as reached
    curve = [1.5 + 0.01 * e for e in range(1, 21)] + [1.01, 1.8]
    converged, reason = training_convergence(_history(curve, collapse={21}), None)
    assert not converged and "came in the last of the 22 epochs allowed" in reason
    assert not training_convergence(_history([float("nan")]), 5)[0]
