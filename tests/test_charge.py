"""Known-answer tests of the state charge integral (Fig. 4c) and the state charges (Supp. Table 1)."""
from __future__ import annotations

import numpy as np
import pytest

from gdynet import GdynetError, Trajectory
from gdynet.analysis.charge import given_charges, state_charge_integral, state_charges

TETRA = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3)
OCTA = np.vstack([np.eye(3), -np.eye(3)])


def test_fixed_shells_give_the_charge_within_each_radius_per_state():
    """A Li+ (+1 e) with four -0.5 e atoms and six +0.25 e atoms: at 2.0 and 4.0 Å in frames 0 and 2,
    at 2.5 and 3.5 Å in frame 1. Frame 0 is state 0, frame 1 state 1, frame 2 half and half."""
    centre = np.full(3, 15.0)
    near = [centre + 2.0 * TETRA, centre + 2.5 * TETRA]
    far = [centre + 4.0 * OCTA, centre + 3.5 * OCTA]
    frames = [np.vstack([centre, near[k], far[k]]) for k in (0, 1, 0)]
    traj = Trajectory(positions=np.stack(frames), cells=np.eye(3) * 30.0, numbers=np.array([3] + [8] * 10),
                      dt_ps=1.0, targets=[[0]], charges=np.array([1.0] + [-0.5] * 4 + [0.25] * 6))
    chi = np.array([[[1.0, 0.0]], [[0.0, 1.0]], [[0.5, 0.5]]])
    res = state_charge_integral(traj, chi, r_max=6.0, n_bins=60)
    expected = {0: {1.9: 0.0, 2.1: -2.0, 3.9: -2.0, 4.1: -0.5},
                1: {1.9: 0.0, 2.1: -2 / 3, 2.6: -2.0, 3.6: -1.0, 4.1: -0.5}}   # weights 1.5 and 1.5
    for s, values in expected.items():
        for r, q in values.items():
            assert res.at(s, r) == pytest.approx(q), (s, r)
        assert res.count[s, -1] == pytest.approx(10.0)
    assert res.own_charge == pytest.approx([1.0])
    z = state_charges(res)
    assert z.shell_radius_A[0] == pytest.approx(3.0, abs=0.15)       # middle of the empty gap
    assert z.charges_e[0] == pytest.approx(-1.0)                    # Li+ with -2 e in its first shell
    assert state_charges(res, shell_radius=5.0).charges_e == pytest.approx([0.5, 0.5])
    assert z.summary()["source"] == "topology" and given_charges([1, -1]).summary()["source"] == "--charge"
    with pytest.raises(GdynetError, match="shell_radius must be between"):
        state_charges(res, shell_radius=9.0)


def test_states_weight_different_environments():
    # two target Li at x = 5 and x = 20 Å: the first has four -1 e at 2 Å, the second none nearby
    centre_a, centre_b = np.array([5.0, 15.0, 15.0]), np.array([20.0, 15.0, 15.0])
    pos = np.vstack([centre_a, centre_b, centre_a + 2.0 * TETRA])
    traj = Trajectory(positions=np.stack([pos] * 2), cells=np.eye(3) * 30.0, numbers=np.array([3, 3] + [9] * 4),
                      dt_ps=1.0, targets=[[0], [1]], charges=np.array([1, 1, -1, -1, -1, -1.0]))
    chi = np.array([[[1, 0], [0, 1]], [[1, 0], [0, 1]]], dtype=float)
    res = state_charge_integral(traj, chi, r_max=4.0, n_bins=40)
    assert res.at(0, 3.0) == pytest.approx(-4.0) and res.at(1, 3.0) == pytest.approx(0.0)
    assert res.summary()["Q"][1][-1] == pytest.approx(0.0)


def test_own_atoms_excluded_and_images_only_along_periodic_axes():
    # a "molecule" target of two atoms (+1 and -1, 1 Å apart) excluded from its own integral; one
    # -1 e atom at the cell centre: 8 periodic images at sqrt(12) Å from the corner target when fully
    # periodic, 4 when z is not periodic
    cell = np.eye(3) * 4.0
    pos = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.5], [2.0, 2.0, 2.0]])
    pos[:2] -= [0, 0, 0.25]                      # centre of mass near the origin
    for pbc, expected in (((True, True, True), -8.0), ((True, True, False), -4.0)):
        traj = Trajectory(positions=pos[None], cells=cell, numbers=np.array([6, 6, 8]), dt_ps=1.0,
                          targets=[[0, 1]], charges=np.array([1.0, -1.0, -1.0]), pbc=pbc)
        res = state_charge_integral(traj, np.ones((1, 1, 1)), r_max=3.6, n_bins=36)
        assert res.at(0, 3.2) == pytest.approx(0.0)
        assert res.at(0, 3.6) == pytest.approx(expected)
        assert res.own_charge == pytest.approx([0.0])


def test_mistakes_are_one_line_errors():
    traj = Trajectory(positions=np.zeros((1, 2, 3)) + [[0, 0, 0], [1, 1, 1]], cells=np.eye(3) * 5, numbers=[3, 8],
                      dt_ps=1.0, targets=[[0]])
    with pytest.raises(GdynetError, match="no partial charges"):
        state_charge_integral(traj, np.ones((1, 1, 1)))


def test_pooled_trajectories_and_figure(tmp_path):
    from gdynet.report.figures import save_charge_integral

    centre = np.full(3, 10.0)
    pos = np.vstack([centre, centre + 2.0 * OCTA])
    traj = Trajectory(positions=pos[None], cells=np.eye(3) * 20.0, numbers=np.array([3] + [8] * 6), dt_ps=1.0,
                      targets=[[0]], charges=np.array([1.0] + [-0.5] * 6))
    chi = np.ones((1, 1, 1))
    one = state_charge_integral(traj, chi, r_max=4.0, n_bins=40)
    two = state_charge_integral([traj, traj], [chi, chi], r_max=4.0, n_bins=40)
    assert two.Q == pytest.approx(one.Q) and two.n_frames == 2 and one.at(0, 3.0) == pytest.approx(-3.0)
    png, svg = save_charge_integral(one, tmp_path / "q", shell_radii=[3.0])
    assert png.stat().st_size > 1000 and svg.is_file()
