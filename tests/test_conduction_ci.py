"""Confidence intervals of the conduction analysis from trajectories, target subsets or time blocks."""
from __future__ import annotations

import numpy as np
import pytest
from test_conduction import CELL, _two_state_walkers, _wrap

from gdynet import GdynetError, Trajectory
from gdynet.analysis.conduction import transition_conduction
from gdynet.analysis.msd import msd_sums

TRUE_D = np.array([0.1, 1.0])   # Å^2/ps in states 0 and 1 (the generator's default)
LAG = 10


def _system(seed: int, n: int, frames: int = 1500, switch: float = 0.002) -> tuple[Trajectory, np.ndarray]:
    """One trajectory of ``n`` independent two-state random walkers (dt = 0.1 ps) and their exact chi."""
    pos, state = _two_state_walkers(seed, frames=frames, n=n, switch=switch)
    traj = Trajectory(positions=_wrap(pos), cells=CELL, numbers=np.full(n, 3), dt_ps=0.1,
                      targets=np.arange(n)[:, None])
    return traj, np.eye(2)[state]


def test_msd_sums_of_target_columns_equal_those_of_the_sliced_arrays():
    rng = np.random.default_rng(3)
    pos = rng.normal(size=(50, 6, 3)).cumsum(axis=0)
    chi = rng.dirichlet([1.0, 1.0], size=(50, 6))
    cols, offsets, charges = [4, 1, 2], np.array([1, 5, 20]), np.array([1.0, -0.5])
    picked = msd_sums(pos, chi, offsets, charges, targets=cols)
    sliced = msd_sums(pos[:, cols], chi[:, cols], offsets, charges)
    for name in ("numerator", "denominator", "collective", "self_part", "origins"):
        np.testing.assert_array_equal(getattr(picked, name), getattr(sliced, name))
    assert picked.n_targets == 3


def test_target_subsets_of_one_trajectory_give_intervals_that_cover_D_and_shrink_as_one_over_sqrt_n():
    """One trajectory, as at the paper's interface: 5 random target subsets give the error bars.

    Over 8 seeds x 3 sizes x 2 states the 95 % intervals cover the true D (about 46 of 48 expected;
    40 to 48 in 10 sets of other seeds), and the mean half-width falls as n^-0.5 from 20 to 80 target
    sets (fitted exponent -0.42 to -0.63 in those 10 sets)."""
    sizes = (20, 40, 80)
    widths = {n: [] for n in sizes}
    covered = 0
    for seed in range(8):
        for n in sizes:
            res = transition_conduction(*_system(seed, n), LAG, temperature_K=300.0, ci_from="targets")
            assert (res.ci_from, res.ci_blocks, res.ci_note) == ("targets", 5, "")
            ci = np.diag(res.D_ci)
            assert np.all(np.isfinite(ci)) and np.all(ci > 0) and np.all(np.isfinite(res.percent_ci))
            widths[n].append(ci / TRUE_D)
            covered += int(np.sum(np.abs(np.diag(res.D) - TRUE_D) <= ci))
    assert covered >= 40
    exponent = np.polyfit(np.log(sizes), np.log([np.mean(widths[n]) for n in sizes]), 1)[0]
    assert -0.75 < exponent < -0.3, exponent


def test_pooled_results_do_not_depend_on_where_the_intervals_come_from():
    traj, chi = _system(7, 24)
    results = {src: transition_conduction(traj, chi, LAG, temperature_K=300.0, charges=[1.0, -1.0], ci_from=src)
               for src in ("targets", "blocks", "auto")}
    first = results["targets"]
    for res in results.values():
        for name in ("D", "msd", "sigma", "percent", "collective_msd", "self_msd", "joint_probability"):
            np.testing.assert_array_equal(getattr(res, name), getattr(first, name))
        assert res.sigma_collective == first.sigma_collective and res.sigma_self == first.sigma_self
    assert results["auto"].ci_from == "targets"            # one trajectory, 24 >= 5 x 4 target sets
    np.testing.assert_array_equal(results["auto"].D_ci, first.D_ci)
    assert not np.array_equal(results["blocks"].D_ci, first.D_ci)
    assert results["blocks"].summary()["ci_from"] == "blocks"


def test_auto_picks_trajectories_then_targets_then_blocks():
    systems = [_system(seed, 6, frames=600) for seed in range(4)]
    trajs, chis = [t for t, _ in systems], [c for _, c in systems]
    assert transition_conduction(trajs, chis, LAG, temperature_K=None).ci_from == "trajectories"
    assert transition_conduction(trajs[:3], chis[:3], LAG, temperature_K=None).ci_from == "blocks"  # 6 targets
    with pytest.raises(GdynetError, match="ci_from trajectories: .* at least 2 trajectories"):
        transition_conduction(trajs[0], chis[0], LAG, temperature_K=None, ci_from="trajectories")
    with pytest.raises(GdynetError, match="ci_from must be one of"):
        transition_conduction(trajs[0], chis[0], LAG, temperature_K=None, ci_from="bootstrap")


def test_time_blocks_shorter_than_the_fit_window_give_no_intervals_and_say_why():
    traj, chi = _system(5, 4, frames=60, switch=0.05)     # 5 blocks of 12 frames; window 5..15 frames
    res = transition_conduction(traj, chi, LAG, temperature_K=None, ci_from="blocks")
    assert np.all(np.isnan(res.D_ci)) and np.all(np.isnan(res.percent_ci)) and np.all(np.isfinite(res.D))
    assert res.ci_note.startswith("no intervals: a time block of 12 frames cannot hold the fit window (16 frames")
    bare = res.summary(charged=False)
    assert (bare["ci_from"], bare["ci_blocks"], bare["ci_note"]) == ("blocks", 5, res.ci_note)
