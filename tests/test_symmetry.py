"""chi is invariant under the symmetries of the periodic structure, exact neighbour-shell ties included
(issue 18): frozen FCC / BCC / diamond interstitial sites, a perfect slab, lattice translations of the
crystal (not of the cell), random shifts and permutations; random and trained weights."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from gdynet.datasets.toy import OCT_FRACTIONAL, S_FRACTIONAL, TET_FRACTIONAL, toy_li_fcc
from gdynet.graphs.neighbors import neighbors as nearest
from gdynet.graphs.shells import SHELL_SMOOTHING_A
from gdynet.graphs.store import build_graphs
from gdynet.network import GDyNet
from gdynet.network.shell import shell_weights
from gdynet.runs.symmetry import frame_chi, invariance_check
from gdynet.network.inputs import GraphSource
from gdynet.training.trainer import TrainConfig, Trainer

torch.set_num_threads(1)
#: random weights, float64 network: equivalent sites agree to rounding of the float32 distances
EXACT = 1e-9
A_FCC = 6.5


def random_model(neighbors: int) -> GDyNet:
    torch.manual_seed(0)
    return GDyNet(n_states=3, neighbors=neighbors, cutoff=8.0, n_gaussians=41).double()


def interstitial_frames(host: np.ndarray, sites: np.ndarray, a: float) -> np.ndarray:
    """One frame per site: the interstitial (atom 0) at ``sites`` (fractional), then the host atoms."""
    return np.stack([np.concatenate([[s], host]) for s in sites]) * a


def assert_one_chi_per_kind(chi: np.ndarray, kinds: list[slice], atol: float) -> None:
    """``chi (F, n, S)``: equal within every kind (frames), different between kinds."""
    for kind in kinds:
        np.testing.assert_allclose(chi[kind], np.broadcast_to(chi[kind][:1], chi[kind].shape), rtol=0, atol=atol)
    means = [chi[kind].mean(axis=0) for kind in kinds]
    assert all(np.abs(a - b).max() > 100 * atol for a, b in itertools.combinations(means, 2))


FCC_SITES = np.concatenate([TET_FRACTIONAL, OCT_FRACTIONAL])
FCC = (S_FRACTIONAL, FCC_SITES, A_FCC, [slice(0, 8), slice(8, 12)])
BCC_OCT = np.array([p for p in itertools.product((0, 0.5), repeat=3) if sum(p) in (0.5, 1.0)])
BCC_TET = np.array([p for p in itertools.permutations((0.0, 0.5, 0.25))]
                   + [p for p in itertools.permutations((0.0, 0.5, 0.75))])
BCC = (np.array([[0, 0, 0], [0.5, 0.5, 0.5]]), np.concatenate([BCC_OCT, BCC_TET]), 3.3, [slice(0, 6), slice(6, 18)])
DIAMOND_ATOMS = np.concatenate([S_FRACTIONAL, S_FRACTIONAL + 0.25])
DIAMOND_T = np.concatenate([S_FRACTIONAL + 0.5, S_FRACTIONAL + 0.75]) % 1.0  # two kinds of T, one orbit
DIAMOND = (DIAMOND_ATOMS, DIAMOND_T, 5.43, [slice(0, 8)])


def test_lattice_sites_are_what_they_claim():
    assert len(BCC_OCT) == 6 and len(np.unique(BCC_TET, axis=0)) == 12
    assert len(np.unique(DIAMOND_T, axis=0)) == 8


@pytest.mark.parametrize("neighbors", [4, 6, 12, 20])
@pytest.mark.parametrize("crystal", [FCC, BCC, DIAMOND], ids=["fcc", "bcc", "diamond"])
def test_random_weights_give_one_chi_per_site_kind(crystal, neighbors):
    host, sites, a, kinds = crystal
    pos = interstitial_frames(host, sites, a)
    numbers = np.array([3] + [16] * len(host))
    chi = frame_chi(random_model(neighbors), pos, np.eye(3) * a, numbers, np.array([[0]]))
    if len(kinds) > 1:
        assert_one_chi_per_kind(chi, kinds, EXACT)
    else:
        np.testing.assert_allclose(chi, np.broadcast_to(chi[:1], chi.shape), rtol=0, atol=EXACT)


@pytest.mark.parametrize("neighbors", [4, 12, 16])
def test_every_atom_of_a_perfect_diamond_crystal_gets_the_same_chi(neighbors):
    a = 5.43
    pos = (DIAMOND_ATOMS * a)[None]
    chi = frame_chi(random_model(neighbors), pos, np.eye(3) * a, np.full(8, 14), np.arange(8)[:, None])
    np.testing.assert_allclose(chi[0], np.broadcast_to(chi[0, :1], chi[0].shape), rtol=0, atol=EXACT)


@pytest.mark.parametrize("neighbors", [8, 12, 16])
def test_perfect_slab_atoms_agree_by_layer_and_mirror(neighbors):
    """FCC(001), 4 layers of 2 atoms, periodic in x and y only: layers 0/3 (surfaces) and 1/2 agree."""
    a = 4.05
    layers = [[[0, 0], [0.5, 0.5]], [[0.5, 0], [0, 0.5]]]
    frac = np.array([[*xy, z / 2] for z in range(4) for xy in layers[z % 2]])
    cell = np.diag([a, a, 30.0])
    pos = (frac * [a, a, a])[None] + [0.0, 0.0, 5.0]
    chi = frame_chi(random_model(neighbors), pos, cell, np.full(8, 13), np.arange(8)[:, None],
                    pbc=(True, True, False))[0]
    layer = np.arange(8) // 2
    surface, inner = chi[(layer == 0) | (layer == 3)], chi[(layer == 1) | (layer == 2)]
    np.testing.assert_allclose(surface, np.broadcast_to(surface[:1], surface.shape), rtol=0, atol=EXACT)
    np.testing.assert_allclose(inner, np.broadcast_to(inner[:1], inner.shape), rtol=0, atol=EXACT)
    assert np.abs(surface[0] - inner[0]).max() > 100 * EXACT


def test_translation_by_a_crystal_lattice_vector_and_any_shift_leave_chi_unchanged():
    """Li on every site and at random positions of frozen FCC: moving everything by (a/2, a/2, 0) (an FCC
    lattice vector, not one of the cell) or by a random vector gives the same chi."""
    rng = np.random.default_rng(4)
    host, sites, a, _ = FCC
    pos = np.concatenate([interstitial_frames(host, sites, a),
                          interstitial_frames(host, rng.uniform(0, 1, (6, 3)), a)])
    numbers, targets, cell = np.array([3, 16, 16, 16, 16]), np.array([[0]]), np.eye(3) * a
    model = random_model(12)
    chi = frame_chi(model, pos, cell, numbers, targets)
    for shift in (np.array([a / 2, a / 2, 0.0]), np.array([0.0, a / 2, -a / 2]), rng.uniform(-a, a, 3)):
        np.testing.assert_allclose(frame_chi(model, pos + shift, cell, numbers, targets), chi, rtol=0, atol=EXACT)


def test_permuting_the_atoms_leaves_chi_unchanged():
    host, sites, a, _ = FCC
    pos = interstitial_frames(host, sites, a)
    numbers = np.array([3, 16, 16, 16, 16])
    model = random_model(12)
    chi = frame_chi(model, pos, np.eye(3) * a, numbers, np.array([[0]]))
    order = np.array([3, 0, 4, 2, 1])
    moved = frame_chi(model, pos[:, order], np.eye(3) * a, numbers[order], np.argsort(order)[[[0]]])
    np.testing.assert_allclose(moved, chi, rtol=0, atol=EXACT)


@pytest.fixture(scope="module")
def trained_toy_model(tmp_path_factory):
    """GDyNet (M = 12, float32) trained for 2 epochs on 4 x 150 ps of the paper's toy (~5 s)."""
    toy = toy_li_fcc(4, 1500, seed=1)
    sources = [GraphSource(build_graphs(t, 12, tmp_path_factory.mktemp("g"), progress=False))
               for t in toy.trajectories]
    torch.manual_seed(0)
    model = GDyNet(n_states=2, neighbors=12, atom_features=8, n_conv=3, hidden=(16,))
    config = TrainConfig(lag=10, batch_size=128, lr=1e-2, epochs=2, patience=0, device="cpu",
                         progress=False)
    return Trainer(config).fit(model, sources).model, toy


def test_a_trained_model_gives_one_chi_per_site_kind_and_is_invariant(trained_toy_model):
    model, toy = trained_toy_model
    host, sites, a, kinds = FCC
    pos = interstitial_frames(host, sites, a)
    numbers, targets, cell = np.array([3, 16, 16, 16, 16]), np.array([[0]]), np.eye(3) * a
    chi = frame_chi(model, pos, cell, numbers, targets)
    assert_one_chi_per_kind(chi, kinds, 1e-6)
    traj = toy.trajectories[0]  # it learned the two site kinds of the thermal data
    learned = frame_chi(model, np.asarray(traj.positions), traj.cells, traj.numbers, traj.targets)[:, 0, 0]
    assert abs(np.corrcoef(learned, toy.labels[0])[0, 1]) > 0.9
    shifted = frame_chi(model, pos + [a / 2, a / 2, 0.0], cell, numbers, targets)
    np.testing.assert_allclose(shifted, chi, rtol=0, atol=1e-6)
    check = invariance_check(model, toy.trajectories, frames=3)
    assert check["invariant"] and check["max_change"] < 1e-5 and check["frames"] == 3


# ------------------------------------------------------------------------------------ shell weights
def test_shell_weights_known_answers():
    delta = SHELL_SMOOTHING_A
    d = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0],          # no near tie: exactly the M = 2 nearest
                      [1.0, 2.0, 2.0, 4.0, 5.0],          # tie at the M-th place, inside W: half each
                      [1.0, 2.0, 2.0, 2.0, 2.0],          # the tied shell runs past W: none of it
                      [1.0, 2.0 - 2.5 * delta, 2.0 + 2.5 * delta, 4.0, 5.0]], dtype=torch.float64)
    expected = torch.tensor([[1, 1, 0, 0, 0], [1, 0.5, 0.5, 0, 0], [1, 0, 0, 0, 0], [1, 1, 0, 0, 0]],
                            dtype=torch.float64)
    torch.testing.assert_close(shell_weights(d, 2), expected, atol=1e-12, rtol=0)
    near = torch.tensor([[1.0, 2.0 - 0.5 * delta, 2.0 + 0.5 * delta, 4.0]], dtype=torch.float64)
    w = shell_weights(near, 2)[0]
    assert 0.5 < w[1] < 1 and 0 < w[2] < 0.5 and w[1] + w[2] == pytest.approx(1.0)  # cos window is symmetric
    swapped = shell_weights(torch.tensor([[1.0, 2.0 - 1e-6, 2.0 + 1e-6, 4.0]], dtype=torch.float64), 2)[0]
    assert (swapped[1:3] - 0.5).abs().max() < 1e-4  # continuous: near-tied neighbours get nearly equal weight


def test_a_model_whose_m_cuts_every_shell_gets_no_messages_not_nan():
    """M = 1 in FCC: the 12 nearest are tied and run past W = 3, so no neighbour counts (no NaN)."""
    a = 4.05
    pos = (S_FRACTIONAL * a)[None]
    chi = frame_chi(random_model(1), pos, np.eye(3) * a, np.full(4, 13), np.arange(4)[:, None])
    assert np.isfinite(chi).all()
    np.testing.assert_allclose(chi[0], np.broadcast_to(chi[0, :1], chi[0].shape), rtol=0, atol=EXACT)


def test_neighbours_of_weight_zero_do_not_matter():
    """Which atoms sit in the columns of weight 0 does not change chi: a graph without a near tie is
    exactly the M-nearest graph of the paper, and a tied shell that runs past W is left out whole."""
    rng = np.random.default_rng(0)
    host, sites, a, _ = FCC
    pos = interstitial_frames(host, rng.uniform(0, 1, (4, 3)), a)
    idx, dist = nearest(pos, np.eye(3) * a, 8)
    model = random_model(6)
    numbers, targets = torch.tensor([3, 16, 16, 16, 16]), torch.tensor([[0]])
    before = model(numbers, torch.as_tensor(idx.copy()), torch.as_tensor(dist), targets)
    unused = (shell_weights(torch.as_tensor(dist, dtype=torch.float64), 6) == 0).numpy()
    assert unused[..., :6].any() and unused[..., -1].all()  # ties cut at M = 6 in the S rows
    idx[unused] = (idx[unused] + 1) % 5
    after = model(numbers, torch.as_tensor(idx), torch.as_tensor(dist), targets)
    torch.testing.assert_close(after, before, rtol=0, atol=0)


# --------------------------------------------------------------------- checks on the user's data
def test_graph_check_finds_the_tied_shells_of_the_toy_and_names_the_closing_m():
    """Frozen FCC S with one Li: an S atom with the Li inside its 12-S shell has the 12th and 13th
    neighbours tied (M = 12 cuts a shell); on the first sampled frame M = 13 closes every shell."""
    from gdynet.base.errors import GdynetWarning
    from gdynet.runs.symmetry import graph_check, symmetry_checks

    toy = toy_li_fcc(2, 200, seed=2)
    with pytest.warns(GdynetWarning, match=r"--neighbors 12 cuts an exactly tied neighbour shell for \d+% .*"
                                           r"shells close at --neighbors (1 or )?13"):
        graph = graph_check(toy.trajectories, 12)
    assert graph["tied_shell_fraction"] > 0.05 and graph["shell_closing_neighbors"][-1] == 13
    assert (graph["neighbors"], graph["width"]) == (12, 14)
    with pytest.warns(GdynetWarning):
        checks, lines = symmetry_checks(random_model(12).float(), "gdynet", toy.trajectories)
    assert checks["invariance_check"]["invariant"] and checks["invariance_check"]["max_change"] < 1e-5
    assert set(lines) == {"invariance check", "neighbour shells"}
    assert symmetry_checks(None, "vampnet", toy.trajectories) == ({"graph": None, "invariance_check": None}, {})


def test_invariance_check_on_a_slab_wraps_along_the_periodic_axes_only():
    """pbc (T, T, F) with a tilted third cell vector that must not be used: the shifted frame is wrapped
    by the in-plane lattice vectors only and gives the same chi."""
    from gdynet import Trajectory

    a = 4.05
    frac = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    pos = np.concatenate([frac, frac + [0, 0, 1]]) * a + np.random.default_rng(1).normal(0, 0.1, (8, 3))
    cell = np.array([[a, 0.0, 0.0], [0.0, a, 0.0], [1.0, 0.5, 3.0]])
    traj = Trajectory(pos[None], cell, np.full(8, 13), 0.1, np.arange(8)[:, None], pbc=(True, True, False))
    check = invariance_check(random_model(6).float(), [traj], frames=1)
    assert check["invariant"] and check["frames"] == 1
