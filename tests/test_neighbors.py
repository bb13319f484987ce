"""gdynet.neighbors: exact agreement with brute force over periodic images, known lattices, errors."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import gdynet.graphs.neighbors as neighbors_module
from gdynet.base.errors import GdynetError
from gdynet.graphs.neighbors import MAX_NEIGHBORS, neighbors


def brute_force(pos: np.ndarray, cell: np.ndarray, m: int,
                pbc: tuple[bool, bool, bool] = (True, True, True)) -> tuple[np.ndarray, np.ndarray]:
    """Every (atom, image) pair of a box of shifts surely holding the ``m`` nearest images.

    Returns per atom all candidates sorted by distance: ``(j (N, C), d (N, C) float64)``.
    The ``m``-th neighbour is never farther than the ``m``-th nearest image of the atom itself,
    ``R``; images within ``R`` have ``|S_k| <= R / h_k + 1`` (``h_k`` the cell thickness).
    Along a non-periodic axis (``pbc[k]`` false) positions are not wrapped and ``S_k = 0``.
    """
    periodic = np.asarray(pbc)
    frac = pos @ np.linalg.inv(cell)
    wrapped = np.where(periodic, frac - np.floor(frac), frac) @ cell
    span = (0, m + 1, 4, 3)[periodic.sum()]  # at least m + 1 small shifts along the periodic axes
    small = np.array(list(itertools.product(*(range(-span, span + 1) if p else (0,) for p in periodic))))
    radius = np.sort(np.linalg.norm(small @ cell, axis=1))[m] if periodic.any() else 0.0  # [0]: zero shift
    thickness = abs(np.linalg.det(cell)) / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    reach = np.where(periodic, np.ceil(radius / thickness).astype(int) + 1, 0)
    shifts = np.array(list(itertools.product(*(range(-r, r + 1) for r in reach))))
    vectors = wrapped[None, :, None, :] + (shifts @ cell)[None, None] - wrapped[:, None, None, :]
    d = np.linalg.norm(vectors, axis=-1)  # (i, j, shift)
    n = len(pos)
    d[np.arange(n), np.arange(n), np.flatnonzero(~shifts.any(axis=1))[0]] = np.inf  # not itself
    d = d.reshape(n, -1)
    j = np.broadcast_to(np.arange(n)[None, :, None], (n, n, len(shifts))).reshape(n, -1)
    order = np.argsort(d, axis=1, kind="stable")
    return np.take_along_axis(j, order, 1), np.take_along_axis(d, order, 1)


def assert_matches_brute_force(pos: np.ndarray, cell: np.ndarray, m: int,
                               pbc: tuple[bool, bool, bool] = (True, True, True)) -> None:
    """Distances equal exactly (float32); indices equal as multisets within each tie group."""
    idx, dist = neighbors(pos, cell, m, pbc)
    assert idx.shape == dist.shape == (len(pos), m)
    assert idx.dtype == np.int64 and dist.dtype == np.float32
    ref_j, ref_d = brute_force(pos, cell, m, pbc)
    ref_d32 = ref_d.astype(np.float32)
    np.testing.assert_array_equal(dist, ref_d32[:, :m])
    for i in range(len(pos)):
        for value in np.unique(dist[i]):
            ours = np.sort(idx[i][dist[i] == value])
            theirs = ref_j[i][ref_d32[i] == value]  # the whole tie group, also beyond m
            counts = np.bincount(theirs, minlength=len(pos))
            got = np.bincount(ours, minlength=len(pos))
            if value == dist[i, -1]:  # group cut by m: ours is a sub-multiset
                assert np.all(got <= counts), (i, value)
            else:
                np.testing.assert_array_equal(got, counts)


@st.composite
def skewed_cells(draw) -> np.ndarray:
    """Triclinic cells: lengths 2-6 Å, off-diagonal shear up to 0.6 of the length, rotated."""
    lengths = draw(arrays(np.float64, 3, elements=st.floats(2.0, 6.0)))
    shear = draw(arrays(np.float64, 3, elements=st.floats(-0.6, 0.6)))
    cell = np.diag(lengths)
    cell[1, 0], cell[2, 0], cell[2, 1] = shear[0] * lengths[1], shear[1] * lengths[2], shear[2] * lengths[2]
    angles = draw(arrays(np.float64, 3, elements=st.floats(0.0, 2 * np.pi)))
    a, b, c = angles
    rot_z = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rot_x = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rot_z2 = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return cell @ (rot_z @ rot_x @ rot_z2).T


@settings(max_examples=150, deadline=None)
@given(cell=skewed_cells(), n=st.integers(1, 6), m=st.integers(1, 30), data=st.data())
def test_agrees_with_brute_force_on_small_skewed_cells(cell, n, m, data):
    pos = data.draw(arrays(np.float64, (n, 3), elements=st.floats(-10.0, 10.0)))  # also outside the cell
    # atoms on top of each other (< 0.05 Å) only test rounding at the 1e-16 Å level
    assume(brute_force(pos, cell, 1)[1][:, 0].min() > 0.05)
    assert_matches_brute_force(pos, cell, m)


def test_five_atom_cell_lists_images_of_itself_and_others():
    rng = np.random.default_rng(0)
    cell = np.array([[3.0, 0.0, 0.0], [0.8, 2.9, 0.0], [-0.5, 0.4, 3.1]])
    pos = rng.uniform(0, 1, (5, 3)) @ cell
    idx, dist = neighbors(pos, cell, 12)
    assert idx.shape == (5, 12)
    assert np.all(dist > 0)  # the atom itself at distance 0 is never listed
    assert np.all(np.diff(dist, axis=1) >= 0)
    for i in range(5):
        assert len(np.unique(idx[i])) < 12  # 12 neighbours from 5 atoms: images repeat
    assert_matches_brute_force(pos, cell, 12)
    idx, dist = neighbors(pos, cell, 30)  # 30 neighbours reach past the cell: images of itself
    assert all(np.count_nonzero(idx[i] == i) >= 2 for i in range(5))
    assert_matches_brute_force(pos, cell, 30)


def test_simple_cubic_known_shells():
    a = 2.5
    idx, dist = neighbors(np.zeros((1, 3)), np.eye(3) * a, 18)
    assert np.all(idx == 0)
    np.testing.assert_allclose(dist[0, :6], a, rtol=1e-6)  # 6 face neighbours
    np.testing.assert_allclose(dist[0, 6:], a * np.sqrt(2), rtol=1e-6)  # 12 edge neighbours


def test_fcc_twelve_nearest_then_six():
    a = 4.05  # Al, conventional cubic cell with 4 atoms
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]) * a
    idx, dist = neighbors(basis, np.eye(3) * a, 18)
    np.testing.assert_allclose(dist[:, :12], a / np.sqrt(2), rtol=1e-6)
    np.testing.assert_allclose(dist[:, 12:], a, rtol=1e-6)
    for i in range(4):  # nearest shell: 4 images of each of the 3 other atoms
        np.testing.assert_array_equal(np.bincount(idx[i, :12], minlength=4), np.where(np.arange(4) == i, 0, 4))
        np.testing.assert_array_equal(idx[i, 12:], i)  # second shell: images of itself


def test_sparse_outlier_needs_a_larger_radius():
    """20 atoms in a 2 Å cluster and one far away: the density estimate is far too small for it."""
    rng = np.random.default_rng(3)
    cell = np.array([[30.0, 0, 0], [5.0, 28.0, 0], [0, -4.0, 31.0]])
    pos = np.vstack([rng.uniform(0, 2.0, (20, 3)) + 3.0, [[20.0, 15.0, 18.0]]])
    assert_matches_brute_force(pos, cell, 12)
    # batched with an ordinary frame (one k-d tree for both): each frame still exact
    frames = np.stack([pos, rng.uniform(0, 1, (21, 3)) @ cell])
    idx, dist = neighbors(frames, cell, 12)
    for f in range(2):
        np.testing.assert_array_equal(dist[f], brute_force(frames[f], cell, 12)[1][:, :12].astype(np.float32))


def test_frames_vectorised_and_invariant_to_lattice_translations():
    rng = np.random.default_rng(1)
    cells = np.stack([np.diag(rng.uniform(5, 7, 3)) + rng.uniform(-1, 1, (3, 3)) for _ in range(4)])
    frac = rng.uniform(0, 1, (4, 30, 3))
    pos = np.einsum("fnk,fkl->fnl", frac, cells)
    idx, dist = neighbors(pos, cells, 8)
    assert idx.shape == dist.shape == (4, 30, 8)
    for f in range(4):
        i_f, d_f = neighbors(pos[f], cells[f], 8)
        np.testing.assert_array_equal(dist[f], d_f)
        np.testing.assert_array_equal(idx[f], i_f)
        np.testing.assert_array_equal(d_f, brute_force(pos[f], cells[f], 8)[1][:, :8].astype(np.float32))
    moved = pos + np.einsum("fnk,fkl->fnl", rng.integers(-3, 4, (4, 30, 3)).astype(float), cells)
    np.testing.assert_allclose(neighbors(moved, cells, 8)[1], dist, rtol=1e-5)
    one_cell = neighbors(pos[:2], cells[0], 5)[1]  # a (3, 3) cell serves every frame
    np.testing.assert_array_equal(one_cell[0], neighbors(pos[0], cells[0], 5)[1])


@pytest.fixture(params=["cell list", "k-d tree"])
def kernel(request, monkeypatch):
    """Run a test with the numba cell-list kernel and with the k-d tree fallback (numba missing)."""
    if request.param == "k-d tree":
        monkeypatch.setattr(neighbors_module, "numba", None)
    elif neighbors_module.numba is None:
        pytest.skip("numba is not installed")
    return request.param


def test_dense_system_with_many_bins_matches_brute_force(kernel):
    """1500 atoms, uniform (so local density varies), triclinic: ~7 bins per direction, some retries."""
    rng = np.random.default_rng(5)
    cell = np.array([[20.0, 0.0, 0.0], [6.0, 19.0, 0.0], [-4.0, 5.0, 18.0]])
    pos = rng.uniform(-0.5, 1.5, (1500, 3)) @ cell
    frac = pos @ np.linalg.inv(cell)
    wrapped = (frac - np.floor(frac)) @ cell
    shifts = np.array(list(itertools.product((-1, 0, 1), repeat=3))) @ cell  # enough: cell >> 2 x 20th distance
    for m in (12, 20):
        idx, dist = neighbors(pos, cell, m)
        for i in rng.choice(1500, 40, replace=False):
            d = np.linalg.norm(wrapped[None, :, :] + shifts[:, None, :] - wrapped[i], axis=-1)
            d[13, i] = np.inf  # shift (0, 0, 0): the atom itself
            ref = np.sort(d.ravel())[:m].astype(np.float32)
            np.testing.assert_array_equal(dist[i], ref)
            owners = np.tile(np.arange(1500), 27)[np.argsort(d.ravel())[:m]]
            np.testing.assert_array_equal(np.sort(idx[i]), np.sort(owners))


def test_both_kernels_on_small_cells_and_outliers(kernel):
    rng = np.random.default_rng(8)
    cell = np.array([[3.0, 0.0, 0.0], [0.8, 2.9, 0.0], [-0.5, 0.4, 3.1]])
    for m in (1, 12, 40):
        assert_matches_brute_force(rng.uniform(-1, 2, (5, 3)) @ cell, cell, m)
    cell = np.array([[30.0, 0, 0], [5.0, 28.0, 0], [0, -4.0, 31.0]])
    pos = np.vstack([rng.uniform(0, 2.0, (20, 3)) + 3.0, [[20.0, 15.0, 18.0]]])
    assert_matches_brute_force(pos, cell, 12)


def test_crowded_frame_batched_with_a_uniform_one_is_exact():
    """A dense droplet in a large box (the cell list hands it to the k-d tree) next to a liquid frame."""
    rng = np.random.default_rng(9)
    cell = np.eye(3) * 60.0
    frames = np.stack([rng.normal(30.0, 2.0, (400, 3)), rng.uniform(0, 60.0, (400, 3))])
    if neighbors_module.numba is not None:
        crowded = neighbors_module._cell_list_batch(frames, np.stack([cell] * 2), np.empty((2, 400, 12), np.int64),
                                                    np.empty((2, 400, 12), np.float32))
        np.testing.assert_array_equal(crowded, [True, False])
    _, dist = neighbors(frames, cell, 12)
    shifts = np.array(list(itertools.product((-1, 0, 1), repeat=3))) * 60.0
    for f, i in itertools.product(range(2), rng.choice(400, 20, replace=False)):
        d = np.linalg.norm(frames[f][None] + shifts[:, None] - frames[f][i], axis=-1)
        d[13, i] = np.inf
        np.testing.assert_array_equal(dist[f, i], np.sort(d.ravel())[:12].astype(np.float32))


@pytest.mark.parametrize("m", [0, -1, MAX_NEIGHBORS + 1, 10**9, 2.5, True, "12"])
def test_bad_m(m):
    with pytest.raises(GdynetError, match="neighbors: .*m"):
        neighbors(np.zeros((2, 3)), np.eye(3) * 4, m)


@pytest.mark.parametrize("pos, cell, problem", [
    (np.zeros((2, 2)), np.eye(3), "shape"),
    (np.zeros((0, 3)), np.eye(3), "shape"),
    (np.zeros((2, 3)), np.eye(2), "shape"),
    (np.zeros((3, 2, 3)), np.stack([np.eye(3)] * 2), "shape"),
    (np.full((2, 3), np.nan), np.eye(3), "NaN"),
    (np.zeros((2, 3)), np.diag([1.0, 1.0, 0.0]), "singular"),
])
def test_bad_input_is_one_line_gdynet_error(pos, cell, problem):
    with pytest.raises(GdynetError, match=problem) as info:
        neighbors(pos, cell, 3)
    assert "\n" not in str(info.value)


PBCS = [p for p in itertools.product((True, False), repeat=3) if not all(p)]


@settings(max_examples=150, deadline=None)
@given(cell=skewed_cells(), pbc=st.sampled_from(PBCS), n=st.integers(2, 6), m=st.integers(1, 30),
       data=st.data())
def test_slabs_wires_and_clusters_agree_with_brute_force(cell, pbc, n, m, data):
    """Images only along the periodic axes; atoms far outside the box along a non-periodic one."""
    assume(any(pbc) or m < n)
    pos = data.draw(arrays(np.float64, (n, 3), elements=st.floats(-10.0, 10.0)))
    pos += data.draw(st.floats(-3.0, 3.0)) * (np.where(pbc, 0.0, 1.0) @ cell)  # out along the open axes
    assume(brute_force(pos, cell, 1, pbc)[1][:, 0].min() > 0.05)
    assert_matches_brute_force(pos, cell, m, pbc)


def test_square_monolayer_known_shells_and_no_images_along_z():
    """One atom per 3 Å square cell, pbc (T, T, F): 4 at 3 Å, 4 at 3√2, 4 at 6 (cubic would give 6 at 3)."""
    cell = np.diag([3.0, 3.0, 3.0])
    idx, dist = neighbors(np.array([[1.0, 1.0, 50.0]]), cell, 12, pbc=(True, True, False))  # far outside in z
    np.testing.assert_allclose(dist[0], [3.0] * 4 + [3.0 * np.sqrt(2)] * 4 + [6.0] * 4, rtol=1e-6)
    assert np.all(idx == 0)
    two = neighbors(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 40.0]]), np.zeros((3, 3)) + np.diag([3.0, 3.0, 0.0]),
                    12, pbc=(True, True, False))[1]  # a zero vector along the open axis is fine
    np.testing.assert_allclose(two[:, :4], 3.0, rtol=1e-6)


def test_cluster_is_an_ordinary_nearest_neighbour_search():
    rng = np.random.default_rng(11)
    pos = rng.normal(0.0, 3.0, (40, 3)) + [0.0, 0.0, 100.0]
    idx, dist = neighbors(pos, np.eye(3) * 5.0, 39, pbc=False)
    full = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    np.fill_diagonal(full, np.inf)
    np.testing.assert_array_equal(dist, np.sort(full, axis=1)[:, :39].astype(np.float32))
    assert all(sorted(row) == sorted(set(range(40)) - {i}) for i, row in enumerate(idx.tolist()))
    with pytest.raises(GdynetError, match="40 neighbours asked for, but with no periodic axis the 40 atoms"):
        neighbors(pos, np.eye(3) * 5.0, 40, pbc=(False, False, False))


def test_both_kernels_on_a_slab_with_vacuum_and_atoms_outside_the_box(kernel):
    """600 atoms in a triclinic slab, pbc (T, T, F), a few atoms above and below the box in z."""
    rng = np.random.default_rng(12)
    cell = np.array([[15.0, 0.0, 0.0], [4.0, 14.0, 0.0], [2.0, -1.0, 30.0]])
    frac = rng.uniform(0, 1, (600, 3)) * [1, 1, 0.4] + [0, 0, 0.3]
    frac[:5, 2] += [1.0, 1.5, -1.2, 2.0, -0.8]
    pos = frac @ cell
    frac[:, :2] -= np.floor(frac[:, :2])
    wrapped = frac @ cell
    shifts = np.array([(a, b, 0) for a in (-1, 0, 1) for b in (-1, 0, 1)]) @ cell  # in the slab: 20th distance < 5 Å
    assert_matches_brute_force(pos[:40], cell, 12, (True, True, False))
    for m in (12, 20):
        idx, dist = neighbors(pos, cell, m, pbc=(True, True, False))
        for i in rng.choice(np.arange(5, 600), 40, replace=False):  # the outliers: brute force above
            d = np.linalg.norm(wrapped[None, :, :] + shifts[:, None, :] - wrapped[i], axis=-1)
            d[4, i] = np.inf  # shift (0, 0, 0): the atom itself
            np.testing.assert_array_equal(dist[i], np.sort(d.ravel())[:m].astype(np.float32))
            owners = np.tile(np.arange(600), 9)[np.argsort(d.ravel())[:m]]
            np.testing.assert_array_equal(np.sort(idx[i]), np.sort(owners))


@pytest.mark.parametrize("pbc", ["xy", (True, False), (1, 2, 0), None])
def test_bad_pbc_is_one_line_gdynet_error(pbc):
    with pytest.raises(GdynetError, match="pbc must be a bool or three bools"):
        neighbors(np.zeros((2, 3)), np.eye(3) * 4.0, 2, pbc=pbc)


@pytest.mark.parametrize("pbc", [(True, False, True), (False, True, False), (False, False, False)])
def test_open_axes_per_frame_in_a_batch_of_changing_cells(pbc):
    """Each frame's own extent and cell: a batch equals the brute force of every frame."""
    rng = np.random.default_rng(13)
    cells = np.stack([np.diag(rng.uniform(5, 8, 3)) + rng.uniform(-1, 1, (3, 3)) for _ in range(5)])
    pos = np.einsum("fnk,fkl->fnl", rng.uniform(-1, 2, (5, 25, 3)) * [1, 1, 3], cells)
    idx, dist = neighbors(pos, cells, 10, pbc)
    for f in range(5):
        np.testing.assert_array_equal(dist[f], brute_force(pos[f], cells[f], 10, pbc)[1][:, :10].astype(np.float32))
