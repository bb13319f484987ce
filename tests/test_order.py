"""Known-answer tests of the Steinhardt order parameter per state (Supp. Fig. 2)."""
from __future__ import annotations

import numpy as np
import pytest

from gdynet import GdynetError, Trajectory
from gdynet.analysis.order import default_cutoff, state_order_parameter, steinhardt
from gdynet.analysis.pairs import first_minimum

FCC = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]
BCC = [[0, 0, 0], [0.5, 0.5, 0.5]]
DIAMOND = FCC + [[x + 0.25, y + 0.25, z + 0.25] for x, y, z in FCC]


def _crystal(basis, a=4.0, reps=3):
    grid = np.array([[i, j, k] for i in range(reps) for j in range(reps) for k in range(reps)])
    return ((grid[:, None, :] + np.asarray(basis)[None]).reshape(-1, 3)) * a, np.eye(3) * a * reps


@pytest.mark.parametrize("basis, l, cutoff, expected", [
    (FCC, 6, 0.8, 0.5745),      # 12 neighbours (Steinhardt et al. 1983: 0.575)
    (BCC, 6, 1.2, 0.5107),      # 8 + 6 neighbours (0.511)
    (BCC, 6, 0.9, 0.6285),      # first shell only
    (DIAMOND, 3, 0.5, 0.7454),  # four tetrahedral neighbours (0.745)
    ([[0, 0, 0]], 6, 1.2, 0.3536),  # simple cubic (0.354)
    (FCC, 4, 0.8, 0.1909),      # q4 of FCC (0.191)
])
def test_perfect_crystals_give_the_literature_values(basis, l, cutoff, expected):
    pos, cell = _crystal(basis)
    q = steinhardt(pos, cell, np.arange(len(pos)), l, cutoff * 4.0)
    assert q == pytest.approx(np.full(len(pos), expected), abs=1e-4)
    # rotating the crystal (and its cell) leaves q_l unchanged
    rot = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))[0]
    assert steinhardt(pos @ rot, cell @ rot, np.arange(4), l, cutoff * 4.0) == pytest.approx(np.full(4, expected),
                                                                                           abs=1e-4)


def test_averaged_qbar_equals_q_on_one_site_and_three_fifths_for_diamond_q3():
    pos, cell = _crystal(FCC)
    assert steinhardt(pos, cell, np.arange(8), 6, 3.2, average=True) == pytest.approx(np.full(8, 0.5745), abs=1e-4)
    pos, cell = _crystal(DIAMOND)   # the two sublattices have opposite q_3m: (q - 4 q) / 5
    assert steinhardt(pos, cell, np.arange(8), 3, 2.0, average=True) == pytest.approx(np.full(8, 0.6 * 0.74536),
                                                                                       abs=1e-4)


def test_default_cutoff_is_the_first_rdf_minimum():
    for basis, low, high in ((FCC, 0.71, 1.0), (DIAMOND, 0.44, 0.70)):
        pos, cell = _crystal(basis)
        traj = Trajectory(positions=pos[None], cells=cell, numbers=np.full(len(pos), 14), dt_ps=1.0,
                          targets=np.arange(len(pos))[:, None])
        assert low * 4.0 < default_cutoff(traj) < high * 4.0


def _toy_like_counts():
    """Pair counts of a toy-like Li: a sharp tetrahedral shell (2.81 Å), a broad flat octahedral shell
    (3.0-4.0 Å) with a two-bin dip of 8 counts at 3.4 Å (counting noise), an empty gap, the next shell
    at 5.4 Å; 150 bins up to 9.5 Å as in :func:`default_cutoff`."""
    edges = np.linspace(0.0, 9.5, 151)
    r = 0.5 * (edges[1:] + edges[:-1])
    counts = 40 * np.exp(-0.5 * ((r - 2.81) / 0.1) ** 2) * r ** 2 / 2.81 ** 2
    counts += np.where((r > 3.0) & (r < 4.0), 20 * r ** 2 / 3.5 ** 2, 0.0)
    counts += 60 * np.exp(-0.5 * ((r - 5.4) / 0.15) ** 2)
    counts = np.round(counts)
    wiggle = np.searchsorted(r, 3.4)
    counts[wiggle:wiggle + 2] -= 8
    return r, counts


def test_counting_noise_inside_a_broad_shell_does_not_end_it():
    """Issue 27: the toy's broad octahedral shell, sampled on a few hundred frames, has dips that the
    old rule (first bin where g stops decreasing) took for the first minimum: 3.39 Å instead of the
    gap at 4.1-4.8 Å. With the counts, a dip must be significant (4 standard errors)."""
    r, counts = _toy_like_counts()
    g = counts / r ** 2
    assert 4.1 < first_minimum(r, g, smooth=2, counts=counts) < 4.8             # the gap between the shells
    assert 3.3 < first_minimum(r, g, smooth=2) < 3.6                            # no counts: the dip is 15 % deep
    assert 3.3 < first_minimum(r, 100 * g, smooth=2, counts=100 * counts) < 3.6  # 100x the data: a real minimum
    shallow = counts.copy()                                         # a 5 % dip: a wiggle, however many counts
    shallow[(r > 3.0) & (r < 4.0)] = 2000
    shallow[np.searchsorted(r, 3.4):np.searchsorted(r, 3.4) + 2] = 1900
    assert 4.1 < first_minimum(r, 100 * shallow / r ** 2, smooth=2) < 4.8
    alone = np.where(r < 4.0, counts, 0.0)                                    # no shell after the broad one
    with pytest.raises(GdynetError, match="no minimum after its first peak"):
        first_minimum(r, alone / r ** 2, smooth=2, counts=alone)


def test_default_cutoff_pools_every_trajectory():
    pos, cell = _crystal(FCC)
    one = Trajectory(positions=pos[None], cells=cell, numbers=np.full(len(pos), 14), dt_ps=1.0,
                     targets=np.arange(4)[:, None])
    assert default_cutoff([one, one]) == default_cutoff(one)


def test_states_separate_a_crystal_from_a_gas_and_honour_non_periodic_axes():
    """Half of the targets sit in a thermally shaken FCC crystal (state 0), half in a random gas (1)."""
    rng = np.random.default_rng(3)
    pos, cell = _crystal(FCC, reps=4)
    n = len(pos)
    frames = np.stack([pos + rng.normal(scale=0.1, size=pos.shape) for _ in range(4)])
    gas = rng.random((4, n, 3)) @ cell + np.array([0, 0, 16.0])          # a second box above it
    both = np.concatenate([frames, gas], axis=1)
    traj = Trajectory(positions=both, cells=np.diag([16.0, 16.0, 32.0]), numbers=np.full(2 * n, 29), dt_ps=1.0,
                      targets=np.arange(2 * n)[:, None], pbc=(True, True, False))
    chi = np.zeros((4, 2 * n, 2))
    chi[:, :n, 0] = chi[:, n:, 1] = 1.0
    op = state_order_parameter(traj, chi, l=6, cutoff=3.4, n_bins=20)
    assert op.mean[0] == pytest.approx(0.5745, abs=0.06)
    assert op.mean[1] < 0.45
    averaged = state_order_parameter(traj, chi, l=6, cutoff=3.4, n_bins=20, average=True)
    assert averaged.name == "qbar6" and averaged.mean[0] > 0.45 and averaged.mean[1] < 0.25
    assert op.density.sum(axis=1) / 20 == pytest.approx([1.0, 1.0])
    assert op.summary()["name"] == "q6" and op.cutoff_A == 3.4
    with pytest.raises(GdynetError, match="cut-off"):
        state_order_parameter(traj, chi, cutoff=-1.0)


def test_option_parsing_and_figure(tmp_path):
    from gdynet.runs.materials import check_options, parse_order_parameter
    from gdynet.report.figures import save_order_parameter

    assert parse_order_parameter("q6") == (6, False, None) and parse_order_parameter("Q3:3.1") == (3, False, 3.1)
    assert parse_order_parameter("qbar6:3.5") == (6, True, 3.5)
    for bad in ("q", "p6", "q6:", "q6:x", "q13"):
        with pytest.raises(GdynetError, match="order_parameter"):
            parse_order_parameter(bad)
    with pytest.raises(GdynetError, match="profile must be one of"):
        check_options("w", None, None)
    with pytest.raises(GdynetError, match="shell_radius"):
        check_options("z", "q6", -1.0)
    pos, cell = _crystal(FCC, reps=2)
    traj = Trajectory(positions=np.stack([pos, pos]), cells=cell, numbers=np.full(len(pos), 29), dt_ps=1.0,
                      targets=np.arange(len(pos))[:, None])
    chi = np.full((2, len(pos), 2), 0.5)
    one = state_order_parameter(traj, chi, cutoff=3.2)
    two = state_order_parameter([traj, traj], [chi, chi], cutoff=3.2)
    assert two.density == pytest.approx(one.density) and two.n_frames == 4
    png, svg = save_order_parameter(one, tmp_path / "q6")
    assert png.stat().st_size > 1000 and svg.is_file()
