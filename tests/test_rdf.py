"""Known-answer tests of the state-weighted RDF (Eq. 12) and of the target-centre helpers."""
from __future__ import annotations

import numpy as np
import pytest

from gdynet import GdynetError, Trajectory
from gdynet.analysis.rdf import state_rdf
from gdynet.analysis.unwrap import target_centers, target_masses, unwrap_centers


def _traj(positions, cell, numbers, targets, dt=0.1):
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim == 2:
        positions = positions[None]
    return Trajectory(positions=positions, cells=np.asarray(cell, dtype=np.float64), numbers=np.asarray(numbers),
                      dt_ps=dt, targets=np.asarray(targets))


def test_ideal_gas_gives_one_in_a_triclinic_cell():
    rng = np.random.default_rng(0)
    cell = np.array([[12.0, 0.0, 0.0], [3.0, 11.0, 0.0], [2.0, -1.5, 10.0]])
    frames, n_li, n_o = 40, 20, 200
    frac = rng.random((frames, n_li + n_o, 3))
    traj = _traj(frac @ cell, cell, [3] * n_li + [8] * n_o, np.arange(n_li)[:, None])
    chi = np.ones((frames, n_li, 1))
    # r_max beyond half the perpendicular width (~4.6 Å): periodic images must be counted
    res = state_rdf(traj, chi, "O", r_max=7.0, n_bins=14)
    assert res.g.shape == (1, 14)
    # shells beyond 2 Å hold >= 10 expected neighbours per frame-reference -> 5 % noise
    far = res.r > 2.0
    assert np.all(np.abs(res.g[0, far] - 1.0) < 0.12)
    assert abs(np.average(res.g[0, far], weights=res.r[far] ** 2) - 1.0) < 0.03
    assert res.density[0] == pytest.approx(n_o / abs(np.linalg.det(cell)))


def test_same_species_excludes_self_and_normalises_with_n_minus_one():
    rng = np.random.default_rng(1)
    cell = np.eye(3) * 10.0
    n = 150
    traj = _traj(rng.random((30, n, 3)) * 10.0, cell, [3] * n, np.arange(n)[:, None])
    res = state_rdf(traj, np.ones((30, n, 1)), 3, r_max=5.0, n_bins=10)
    assert res.density[0] == pytest.approx((n - 1) / 1000.0)
    assert res.coordination[0, 0] < 0.1  # no zero-distance self pair
    assert abs(np.average(res.g[0, 2:], weights=res.r[2:] ** 2) - 1.0) < 0.03


def _fcc(a, reps):
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    grid = np.array([[i, j, k] for i in range(reps) for j in range(reps) for k in range(reps)])
    return ((grid[:, None, :] + basis[None]).reshape(-1, 3)) * a


def test_fcc_first_shell_has_twelve_neighbours_at_a_over_sqrt2():
    a, reps = 4.0, 3
    pos = _fcc(a, reps)
    n = len(pos)
    cell = np.eye(3) * a * reps
    # targets: two atoms; partners: all other atoms (same element, own atom excluded)
    traj = _traj(pos, cell, [29] * n, [[0], [5]])
    res = state_rdf(traj, np.ones((1, 2, 1)), "Cu", r_max=3.5, n_bins=350)
    first = a / np.sqrt(2)
    peak = res.r[np.argmax(res.g[0])]
    assert abs(peak - first) < 0.011
    # integrate 4 pi r^2 rho g(r) dr over the first peak (up to the gap before a = 4 Å)
    dr = np.diff(res.edges)
    upto = res.edges[1:] <= 3.4
    integral = np.sum(4 * np.pi * res.r[upto] ** 2 * res.density[0] * res.g[0, upto] * dr[upto])
    assert integral == pytest.approx(12.0, rel=0.01)
    assert res.coordination[0, upto][-1] == pytest.approx(12.0)


def test_state_weighting_separates_two_environments():
    """Li in state 0 sits 2.03 Å from an O, Li in state 1 3.03 Å; chi tells them apart."""
    rng = np.random.default_rng(2)
    cell = np.eye(3) * 28.0
    frames, n_li = 6, 8
    li = rng.random((frames, n_li, 3)) * 28.0
    direction = rng.normal(size=(frames, n_li, 3))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    state = rng.integers(0, 2, size=(frames, n_li))
    o = li + direction * np.where(state == 0, 2.03, 3.03)[..., None]
    # every Li has exactly its own O within 3.5 Å: Li on a grid with 7 Å spacing
    grid = np.stack(np.meshgrid([3.5, 10.5, 17.5, 24.5], [7.0, 21.0], [14.0], indexing="ij"), -1).reshape(-1, 3)
    shift = grid[None] - li
    li, o = li + shift, o + shift
    traj = _traj(np.concatenate([li, o], axis=1), cell, [3] * n_li + [8] * n_li, np.arange(n_li)[:, None])
    chi = np.eye(2)[state]
    res = state_rdf(traj, chi, ["O"], r_max=3.5, n_bins=35)
    peaks = res.r[np.argmax(res.g, axis=1)]
    assert peaks == pytest.approx([2.05, 3.05], abs=1e-6)
    assert res.coordination[:, -1] == pytest.approx([1.0, 1.0])
    assert res.weight == pytest.approx([np.sum(state == 0), np.sum(state == 1)])


def test_stride_uses_every_other_frame_and_matching_chi():
    rng = np.random.default_rng(3)
    cell = np.eye(3) * 8.0
    traj = _traj(rng.random((9, 30, 3)) * 8.0, cell, [3] * 5 + [8] * 25, np.arange(5)[:, None])
    chi = rng.dirichlet([1, 1], size=(9, 5))
    full = state_rdf(traj, chi, "O", r_max=4.0, n_bins=8, stride=1, chunk_frames=4)
    sub = state_rdf(traj[::2], chi[::2], "O", r_max=4.0, n_bins=8)
    strided = state_rdf(traj, chi, "O", r_max=4.0, n_bins=8, stride=2, chunk_frames=4)
    assert strided.n_frames == 5 and full.n_frames == 9
    np.testing.assert_allclose(strided.g, sub.g)
    np.testing.assert_allclose(strided.weight, chi[::2].sum(axis=(0, 1)))


def test_molecule_centre_of_mass_across_the_boundary():
    """A water molecule split across the x boundary: its centre is found, and it is excluded."""
    cell = np.eye(3) * 10.0
    o = np.array([9.9, 5.0, 5.0])
    h1 = np.array([0.85, 5.0, 5.3])   # 0.95 Å away through the boundary
    h2 = np.array([9.6, 5.9, 5.0])
    pos = np.array([o, h1, h2])
    masses = target_masses(np.array([8, 1, 1]), np.array([[0, 1, 2]]))
    center = target_centers(pos[None], cell[None], np.array([[0, 1, 2]]), masses)[0, 0]
    expected = (15.999 * o + 1.008 * (h1 + [10.0, 0, 0]) + 1.008 * h2) / (15.999 + 2 * 1.008)
    np.testing.assert_allclose(center, expected, atol=1e-3)
    # RDF of the molecule's centre to hydrogens: its own H atoms are not counted
    traj = _traj(np.concatenate([pos, [[5.0, 5.0, 5.0]]]), cell, [8, 1, 1, 1], [[0, 1, 2]])
    res = state_rdf(traj, np.ones((1, 1, 1)), "H", r_max=5.0, n_bins=50)
    assert res.coordination[0, -1] == pytest.approx(1.0)
    assert res.density[0] == pytest.approx(1 / 1000.0)


def test_unwrap_centers_recovers_brownian_steps_in_a_changing_triclinic_cell():
    """Steps made in the cell of the later frame, then wrapped: unwrapping returns their running sum."""
    rng = np.random.default_rng(4)
    frames = 300
    base = np.array([[6.0, 0.0, 0.0], [1.5, 5.5, 0.0], [0.5, 1.0, 6.5]])
    scale = 1.0 + 0.02 * np.sin(np.arange(frames) / 10.0)
    cells = base[None] * scale[:, None, None]
    steps = rng.normal(scale=0.4, size=(frames, 2, 3))
    steps[0] = rng.random((2, 3)) * 5.0
    wrapped = np.empty_like(steps)
    current = np.zeros((2, 3))
    for f in range(frames):
        frac = (current + steps[f]) @ np.linalg.inv(cells[f])
        current = (frac - np.floor(frac)) @ cells[f]
        wrapped[f] = current
    traj = Trajectory(positions=wrapped, cells=cells, numbers=np.array([3, 3]), dt_ps=0.1,
                      targets=np.array([[0], [1]]))
    out = unwrap_centers(traj, chunk_frames=7)
    expected = np.cumsum(steps, axis=0)
    np.testing.assert_allclose(out - out[0], expected - expected[0], atol=1e-9)
    assert np.abs(out[-1] - out[0]).max() > 6.0  # the walkers really left the cell


def test_bad_inputs_raise_one_line_errors():
    traj = _traj(np.zeros((2, 3)) + [[1, 1, 1], [2, 2, 2]], np.eye(3) * 5, [3, 8], [[0]])
    with pytest.raises(GdynetError, match="chi must have shape"):
        state_rdf(traj, np.ones((2, 1, 1)), "O")
    with pytest.raises(GdynetError, match="unknown species"):
        state_rdf(traj, np.ones((1, 1, 1)), "Xx")
    with pytest.raises(GdynetError, match="no atoms of species"):
        state_rdf(traj, np.ones((1, 1, 1)), "N")
    with pytest.raises(GdynetError, match="probabilities"):
        state_rdf(traj, np.full((1, 1, 2), 0.7), "O")
    # every frame is checked, not a sample: one NaN frame among many is reported by number
    long = _traj(np.zeros((3000, 2, 3)) + [[1, 1, 1], [2, 2, 2]], np.eye(3) * 5, [3, 8], [[0]])
    chi = np.ones((3000, 1, 1))
    chi[2002] = np.nan
    with pytest.raises(GdynetError, match=r"NaN or inf \(frame 2002\)"):
        state_rdf(long, chi, "O")


def test_li_in_fcc_sulfur_tetrahedral_vs_octahedral_sites():
    """The paper's toy lattice (a = 6.5 Å): Li on tetrahedral sites sees 4 S at a*sqrt(3)/4 = 2.81 Å,
    on octahedral sites 6 S at a/2 = 3.25 Å; chi (one-hot site type) separates the two shells."""
    a, reps = 6.5, 2
    sulfur = _fcc(a, reps)
    rng = np.random.default_rng(6)
    frames, n_li = 10, 6
    tet = np.array([0.25, 0.25, 0.25]) * a
    octa = np.array([0.5, 0.0, 0.0]) * a
    cells = rng.integers(0, reps, size=(frames, n_li, 3)) * a
    state = rng.integers(0, 2, size=(frames, n_li))
    li = cells + np.where(state[..., None] == 0, tet, octa) + rng.normal(scale=0.05, size=(frames, n_li, 3))
    pos = np.concatenate([li, np.broadcast_to(sulfur, (frames, len(sulfur), 3))], axis=1)
    traj = _traj(pos, np.eye(3) * a * reps, [3] * n_li + [16] * len(sulfur), np.arange(n_li)[:, None])
    res = state_rdf(traj, np.eye(2)[state], "S", r_max=4.0, n_bins=80)
    peaks = res.r[np.argmax(res.g, axis=1)]
    assert peaks == pytest.approx([a * np.sqrt(3) / 4, a / 2], abs=0.1)
    gap = np.searchsorted(res.edges, 3.0) - 1    # between the two shells
    assert res.coordination[0, gap] == pytest.approx(4.0)
    assert res.coordination[1, gap] == pytest.approx(0.0)
    assert res.coordination[1, -1] == pytest.approx(6.0)


def test_pooled_rdf_equals_rdf_of_concatenated_frames():
    """Two trajectories pooled give exactly the RDF of one trajectory holding all their frames."""
    rng = np.random.default_rng(7)
    cell = np.eye(3) * 9.0
    pos = rng.random((6, 30, 3)) * 9.0
    numbers = np.array([3] * 10 + [8] * 20)
    chi = rng.dirichlet([1.0, 1.0], size=(6, 10))
    whole = Trajectory(pos, cell, numbers, 0.1, np.arange(10)[:, None])
    parts = [whole[:2], whole[2:]]
    pooled = state_rdf(parts, [chi[:2], chi[2:]], "O", r_max=4.0, n_bins=20)
    direct = state_rdf(whole, chi, "O", r_max=4.0, n_bins=20)
    np.testing.assert_allclose(pooled.g, direct.g, rtol=1e-12)
    np.testing.assert_allclose(pooled.coordination, direct.coordination, rtol=1e-12)
    assert pooled.n_frames == 6


def test_partner_groups_give_the_same_rdf(monkeypatch):
    """Searching the partners in groups of 7 (instead of all at once) finds exactly the same pairs,
    also with own atoms excluded (k = 2 target sets whose atoms are partners) and periodic images."""
    import gdynet.analysis.pairs as pairs_module

    rng = np.random.default_rng(8)
    cell = np.array([[7.0, 0.0, 0.0], [1.0, 6.5, 0.0], [0.5, -1.0, 7.5]])
    pos = rng.random((4, 60, 3)) @ cell
    numbers = np.array([8, 1] * 5 + [8] * 30 + [1] * 20)
    traj = Trajectory(pos, cell, numbers, 0.1, np.arange(10).reshape(5, 2))
    chi = rng.dirichlet([1.0, 1.0], size=(4, 5))
    whole = state_rdf(traj, chi, ["O", "H"], r_max=9.0, n_bins=30)
    monkeypatch.setattr(pairs_module, "GROUP_MIN", 7)
    grouped = state_rdf(traj, chi, ["O", "H"], r_max=9.0, n_bins=30)
    np.testing.assert_allclose(grouped.g, whole.g, rtol=1e-12)
    np.testing.assert_allclose(grouped.coordination, whole.coordination, rtol=1e-12)
    assert whole.coordination[:, -1].min() > 50  # r_max > half the cell: periodic images are counted
