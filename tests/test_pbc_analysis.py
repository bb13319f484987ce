"""Per-axis periodicity in the analyses: state RDFs, unwrapping and conduction of a slab, pbc (T, T, F)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from gdynet import Trajectory
from gdynet.analysis.conduction import transition_conduction
from gdynet.analysis.rdf import state_rdf
from gdynet.analysis.unwrap import target_centers, target_masses, unwrap_centers

SLAB = (True, True, False)


def test_simple_cubic_bilayer_rdf_has_five_neighbours_not_six():
    """Two 3 Å square layers in a 6 Å-high cell, far above the box: 4 in-plane + 1 (periodic z: 6)."""
    a = 3.0
    grid = np.array([[i, j, k] for k in range(2) for i in range(4) for j in range(4)], dtype=float) * a
    grid += [0.5, 0.5, 40.0]
    cell = np.diag([4 * a, 4 * a, 2 * a])
    for pbc, first_shell in ((SLAB, 5.0), ((True, True, True), 6.0)):
        traj = Trajectory(grid[None], cell, np.full(32, 29), dt_ps=0.1, targets=np.array([[5], [26]]), pbc=pbc)
        res = state_rdf(traj, np.ones((1, 2, 1)), "Cu", r_max=3.5, n_bins=35)
        assert res.coordination[0, -1] == pytest.approx(first_shell)
        assert res.density[0] == pytest.approx(31 / np.linalg.det(cell))  # documented: N / V of the cell


def test_slab_rdf_counts_equal_brute_force_with_in_plane_images_only():
    rng = np.random.default_rng(3)
    cell = np.array([[9.0, 0.0, 0.0], [2.0, 8.0, 0.0], [1.0, -0.5, 20.0]])
    frac = rng.random((3, 40, 3)) * [1, 1, 0.5] + [0, 0, 0.25]
    frac[:, :4, 2] += [0.9, -0.7, 1.5, -1.2]  # atoms above and below the box
    pos = frac @ cell
    numbers = np.array([3] * 6 + [8] * 34)
    traj = Trajectory(pos, cell, numbers, dt_ps=0.1, targets=np.arange(6)[:, None], pbc=SLAB)
    res = state_rdf(traj, np.full((3, 6, 1), 1.0), "O", r_max=6.0, n_bins=12)
    shifts = np.array([(i, j, 0) for i, j in itertools.product(range(-2, 3), repeat=2)]) @ cell
    d = np.linalg.norm(pos[:, 6:, None, None] + shifts - pos[:, None, :6, None], axis=-1)  # (F, O, Li, shift)
    expected = np.histogram(d[d < 6.0], bins=res.edges)[0] / (3 * 6)
    np.testing.assert_allclose(np.diff(res.coordination[0], prepend=0.0), expected, atol=1e-12)


def test_unwrapping_keeps_motion_along_the_open_axis():
    """6 Å per frame along z in a 9.5 Å-high cell (folded back when periodic), wrapped diffusion in x, y."""
    rng = np.random.default_rng(4)
    cell = np.array([[7.0, 0.0, 0.0], [1.0, 6.5, 0.0], [0.0, 0.0, 9.5]])
    frames = 50
    true = np.cumsum(np.concatenate([[[2.0, 3.0, 1.0]], rng.normal(0, 0.5, (frames - 1, 3))]), axis=0)
    true[:, 2] = 1.0 + 6.0 * np.arange(frames)
    frac = true @ np.linalg.inv(cell)
    frac[:, :2] -= np.floor(frac[:, :2])  # wrapped along x and y only, as a LAMMPS dump of a slab
    traj = Trajectory((frac @ cell)[:, None], cell, np.array([3]), dt_ps=0.1, targets=np.array([[0]]), pbc=SLAB)
    np.testing.assert_allclose(unwrap_centers(traj)[:, 0] - true[0], true - true[0], atol=1e-9)
    res = transition_conduction(traj, np.ones((frames, 1, 1)), 2, temperature_K=None, K=np.ones((1, 1)),
                                offsets=[1, 2, 3])
    planar = np.array([np.mean(np.sum((true[o:, :2] - true[:-o, :2]) ** 2, axis=1)) for o in (1, 2, 3)])
    np.testing.assert_allclose(res.msd[0, 0], planar + (6.0 * np.array([1, 2, 3])) ** 2, rtol=1e-9)


def test_molecule_is_not_joined_across_the_open_face():
    """O at z = 0.5 Å, H atoms at 9.4 and 9.6 Å of a 10 Å cell: joined through z only when z is periodic."""
    cell = np.eye(3) * 10.0
    pos = np.array([[[5.0, 5.0, 0.5], [5.0, 5.8, 9.4], [5.0, 4.2, 9.6]]])
    masses = target_masses(np.array([8, 1, 1]), np.array([[0, 1, 2]]))
    open_z = target_centers(pos, cell[None], np.array([[0, 1, 2]]), masses, SLAB)[0, 0]
    periodic = target_centers(pos, cell[None], np.array([[0, 1, 2]]), masses)[0, 0]
    np.testing.assert_allclose(open_z, masses[0] @ pos[0] / masses.sum())
    np.testing.assert_allclose(periodic[2], (15.999 * 0.5 + 1.008 * (-0.6 - 0.4)) / (15.999 + 2 * 1.008))
