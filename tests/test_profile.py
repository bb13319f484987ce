"""Known-answer tests of the state density profiles and snapshots (Fig. 3b, c)."""
from __future__ import annotations

import numpy as np
import pytest

from gdynet import GdynetError, Trajectory
from gdynet.analysis.profile import state_profile, state_snapshot


def _slab(frames=6, n=200, pbc=(True, True, True), cell=None, seed=0):
    """Targets uniform in a 10 x 12 x 40 Å cell; state 0 below z = 10 Å, state 1 above."""
    rng = np.random.default_rng(seed)
    cell = np.diag([10.0, 12.0, 40.0]) if cell is None else cell
    frac = rng.random((frames, n, 3))
    pos = frac @ cell
    z = frac[..., 2] * 40.0
    chi = np.stack([z < 10.0, z >= 10.0], axis=-1).astype(float)
    traj = Trajectory(positions=pos, cells=cell, numbers=np.full(n, 14), dt_ps=0.5,
                      targets=np.arange(n)[:, None], pbc=pbc)
    return traj, chi


def test_profile_counts_each_target_once_per_slab_volume():
    traj, chi = _slab()
    prof = state_profile(traj, chi, axis="z", n_bins=8)
    assert prof.edges == pytest.approx(np.linspace(0, 40, 9))
    slab = 10 * 12 * 5.0
    # exact: density summed over states, integrated over slabs = number of targets per frame
    assert (prof.density.sum(axis=0) * slab).sum() == pytest.approx(200)
    # state 0 only in the first two slabs, state 1 only above
    assert np.all(prof.density[0, 2:] == 0) and np.all(prof.density[1, :2] == 0)
    assert (prof.density[0] * slab).sum() == pytest.approx(np.mean(chi[..., 0].sum(axis=1)))
    assert prof.summary()["axis"] == "z" and len(prof.summary()["density"]) == 2


def test_wrapping_cartesian_tilted_and_non_periodic_axes():
    traj, chi = _slab()
    shifted = Trajectory(positions=traj.positions + np.array([0, 0, 40.0]), cells=traj.cells,
                         numbers=traj.numbers, dt_ps=0.5, targets=traj.targets)
    assert state_profile(shifted, chi, axis="c", n_bins=8).density == pytest.approx(
        state_profile(traj, chi, axis="z", n_bins=8).density)
    # a and b tilted in the xy plane: z slabs still follow c
    cell = np.array([[10.0, 0, 0], [3.0, 12.0, 0], [0, 0, 40.0]])
    tilted, chi2 = _slab(cell=cell)
    assert state_profile(tilted, chi2, axis="z", n_bins=4).density.sum() > 0
    with pytest.raises(GdynetError, match="tilted"):
        state_profile(tilted, chi2, axis="x")
    with pytest.raises(GdynetError, match="axis must be one of"):
        state_profile(tilted, chi2, axis="q")
    # non-periodic z: positions not wrapped, bins span the data
    slab, chi3 = _slab(pbc=(True, True, False))
    out = Trajectory(positions=slab.positions + np.array([0, 0, 40.0]), cells=slab.cells, numbers=slab.numbers,
                     dt_ps=0.5, targets=slab.targets, pbc=(True, True, False))
    prof = state_profile(out, chi3, axis="z", n_bins=4)
    assert prof.edges[0] > 39.0 and prof.edges[-1] < 81.0


def test_snapshot_colours_target_atoms_by_most_likely_state():
    traj, chi = _slab(frames=3)
    traj = traj.with_targets(np.arange(100)[:, None])   # atoms 100.. are not targets
    snap = state_snapshot(traj, chi[:, :100], axis="z", frame=1)
    assert snap.labels == ("z", "b", "a")
    assert np.all(snap.state[100:] == -1)
    assert np.array_equal(snap.state[:100], np.argmax(chi[1, :100], axis=1))
    assert snap.horizontal == pytest.approx(traj.positions[1, :, 2])


def test_figures(tmp_path):
    from gdynet.report.figures import save_state_profile, save_state_snapshot

    traj, chi = _slab(frames=2, n=50)
    png, svg = save_state_profile(state_profile(traj, chi, n_bins=10), tmp_path / "profile")
    assert png.stat().st_size > 1000 and svg.is_file()
    png, _ = save_state_snapshot(state_snapshot(traj, chi), tmp_path / "snapshot")
    assert png.stat().st_size > 1000


def test_pooled_trajectories_average_their_frames():
    traj, chi = _slab(frames=2, seed=1)
    other, chi2 = _slab(frames=4, seed=2)
    pooled = state_profile([traj, other], [chi, chi2], axis="z", n_bins=8)
    a, b = state_profile(traj, chi, n_bins=8), state_profile(other, chi2, n_bins=8)
    assert pooled.density == pytest.approx((2 * a.density + 4 * b.density) / 6)
