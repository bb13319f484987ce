"""build_graphs / GraphStore: contents, cache reuse and keys, interrupted builds, parallel workers."""
from __future__ import annotations

import json

import numpy as np
import pytest

import gdynet.graphs.store as store_mod
from gdynet import Trajectory
from gdynet.errors import GdynetError
from gdynet.graphs import GraphStore, build_graphs
from gdynet.graphs.neighbors import neighbors


def make_traj(n_frames: int = 9, n_atoms: int = 12, seed: int = 0) -> Trajectory:
    rng = np.random.default_rng(seed)
    cells = np.stack([np.array([[6.0, 0, 0], [1.0, 5.5, 0], [-0.7, 0.4, 6.2]]) * (1 + 0.01 * f)
                      for f in range(n_frames)])
    pos = np.einsum("fnk,fkl->fnl", rng.uniform(-0.2, 1.2, (n_frames, n_atoms, 3)), cells)
    numbers = np.array([3, 16] * (n_atoms // 2))
    return Trajectory(pos, cells, numbers, dt_ps=0.5, targets=np.arange(0, n_atoms, 2)[:, None], source="toy.xyz")


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 2 frames (12 atoms) so that a 9-frame trajectory has 5 chunks."""
    monkeypatch.setattr(store_mod, "CHUNK_ATOM_FRAMES", 24)


def test_store_holds_the_neighbours_of_every_frame(tmp_path, small_chunks):
    traj = make_traj()
    store = build_graphs(traj, m=7, cache_dir=tmp_path, progress=False)
    idx, dist = neighbors(traj.positions, traj.cells, 7)
    assert store.indices.dtype == np.int32 and store.distances.dtype == np.float32
    assert isinstance(store.indices, np.memmap) and not store.indices.flags.writeable
    np.testing.assert_array_equal(store.indices, idx)
    np.testing.assert_array_equal(store.distances, dist)
    assert (store.n_frames, store.n_atoms, store.m) == (9, 12, 7)
    np.testing.assert_array_equal(store.numbers, traj.numbers)
    np.testing.assert_array_equal(store.targets, traj.targets)
    assert store.dt_ps == 0.5 and store.source == "toy.xyz"
    assert store.path.parent == tmp_path and (store.path / "COMPLETE").is_file()
    reopened = GraphStore.open(store.path)
    np.testing.assert_array_equal(reopened.distances, dist)
    assert reopened.targets.dtype == np.int64 and reopened.numbers.dtype == np.int64
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_cache_is_reused_only_for_same_content_and_m(tmp_path, monkeypatch):
    traj = make_traj()
    first = build_graphs(traj, m=6, cache_dir=tmp_path, progress=False)

    def fail(*args, **kwargs):
        raise AssertionError("recomputed although the cache matches")

    monkeypatch.setattr(store_mod, "neighbors", fail)
    again = build_graphs(make_traj(), m=6, cache_dir=tmp_path, progress=False)  # equal content, new object
    assert again.path == first.path
    relabelled = build_graphs(traj.with_targets(np.array([[1], [3]])), m=6, cache_dir=tmp_path, progress=False)
    assert relabelled.path == first.path
    np.testing.assert_array_equal(relabelled.targets, [[1], [3]])
    np.testing.assert_array_equal(GraphStore.open(first.path).targets, [[1], [3]])
    monkeypatch.undo()
    other_m = build_graphs(traj, m=5, cache_dir=tmp_path, progress=False)
    other_data = build_graphs(make_traj(seed=1), m=6, cache_dir=tmp_path, progress=False)
    assert len({first.path, other_m.path, other_data.path}) == 3


def test_killed_build_is_resumed_not_trusted(tmp_path, small_chunks, monkeypatch):
    traj = make_traj()
    calls = []
    real = store_mod.neighbors

    def dies_on_third_chunk(pos, cells, m, pbc):
        calls.append(len(pos))
        if len(calls) == 3:
            raise KeyboardInterrupt  # the job is killed mid-build
        return real(pos, cells, m, pbc)

    monkeypatch.setattr(store_mod, "neighbors", dies_on_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        build_graphs(traj, m=4, cache_dir=tmp_path, progress=False)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("graphs-")]  # nothing to trust
    calls.clear()
    monkeypatch.setattr(store_mod, "neighbors", lambda *a: (calls.append(len(a[0])), real(*a))[1])
    store = build_graphs(traj, m=4, cache_dir=tmp_path, progress=False)
    assert sum(calls) == 9 - 4  # the two finished chunks (4 frames) are not redone
    np.testing.assert_array_equal(store.distances, neighbors(traj.positions, traj.cells, 4)[1])


def test_incomplete_entry_is_refused_and_rebuilt(tmp_path):
    traj = make_traj()
    store = build_graphs(traj, m=3, cache_dir=tmp_path, progress=False)
    (store.path / "COMPLETE").unlink()
    np.lib.format.open_memmap(store.path / "distances.npy", "r+")[:] = -1.0
    with pytest.raises(GdynetError, match="incomplete"):
        GraphStore.open(store.path)
    rebuilt = build_graphs(traj, m=3, cache_dir=tmp_path, progress=False)
    assert rebuilt.path == store.path and np.all(rebuilt.distances[:] > 0)


def test_parallel_workers_give_identical_graphs(tmp_path, small_chunks):
    traj = make_traj()
    serial = build_graphs(traj, m=5, cache_dir=tmp_path / "a", workers=1, progress=False)
    parallel = build_graphs(traj, m=5, cache_dir=tmp_path / "b", workers=2, progress=False)
    np.testing.assert_array_equal(parallel.indices, serial.indices)
    np.testing.assert_array_equal(parallel.distances, serial.distances)


def test_slab_graphs_follow_pbc_and_have_their_own_cache_entry(tmp_path, small_chunks):
    """pbc (T, T, F): the stored graphs are the slab's (serial and parallel), keyed apart from the periodic ones."""
    periodic = make_traj()
    slab = Trajectory(periodic.positions, periodic.cells, periodic.numbers, dt_ps=0.5, targets=periodic.targets,
                      source="toy.xyz", pbc=(True, True, False))
    full = build_graphs(periodic, m=9, cache_dir=tmp_path, progress=False)
    for workers in (1, 2):
        store = build_graphs(slab, m=9, cache_dir=tmp_path / str(workers), workers=workers, progress=False)
        idx, dist = neighbors(slab.positions, slab.cells, 9, pbc=(True, True, False))
        np.testing.assert_array_equal(store.indices, idx)
        np.testing.assert_array_equal(store.distances, dist)
    assert build_graphs(slab, m=9, cache_dir=tmp_path, progress=False).path != full.path
    assert not np.array_equal(store.distances, full.distances)


def test_default_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GDYNET_CACHE", str(tmp_path / "env"))
    store = build_graphs(make_traj(n_frames=2), m=2, progress=True)  # no TTY under pytest: no bar
    assert store.path.parent == tmp_path / "env" / "graphs"
    meta = json.loads((store.path / "meta.json").read_text())
    assert meta["m"] == 2 and meta["fingerprint"] == make_traj(n_frames=2).fingerprint()


@pytest.mark.parametrize("m", [0, 10**7])
def test_bad_m_is_gdynet_error(tmp_path, m):
    with pytest.raises(GdynetError, match="m must be between"):
        build_graphs(make_traj(n_frames=2), m=m, cache_dir=tmp_path)


def test_open_a_folder_that_is_not_a_store(tmp_path):
    with pytest.raises(GdynetError, match="not a graph store") as info:
        GraphStore.open(tmp_path / "nothing")
    assert str(tmp_path / "nothing") in str(info.value)


def test_corrupt_store_is_gdynet_error(tmp_path):
    store = build_graphs(make_traj(n_frames=2), m=2, cache_dir=tmp_path, progress=False)
    (store.path / "meta.json").write_text("{}")
    with pytest.raises(GdynetError, match="unreadable graph store"):
        GraphStore.open(store.path)


def test_relabelled_store_keeps_its_own_targets_when_another_run_relabels_the_entry(tmp_path, monkeypatch):
    """Two runs with other targets share one entry: each gets its own targets, not the last written."""
    traj = make_traj()
    build_graphs(traj, m=3, cache_dir=tmp_path, progress=False)
    real_write_json = store_mod.write_json

    def other_run_relabels_right_after(path, data):
        real_write_json(path, data)
        store_mod.save_npy(path.parent / "targets.npy", np.array([[5]]))  # the other run, just after us

    monkeypatch.setattr(store_mod, "write_json", other_run_relabels_right_after)
    mine = build_graphs(traj.with_targets(np.array([[1], [3]])), m=3, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(mine.targets, [[1], [3]])
    assert mine.targets.dtype == np.int64


def test_unwritable_cache_folder_is_one_line_error(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(GdynetError, match="cannot write the graph cache") as info:
        build_graphs(make_traj(n_frames=2), m=2, cache_dir=blocker / "graphs", progress=False)
    assert str(blocker) in str(info.value) and "\n" not in str(info.value)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_mod.np, "save", disk_full)
    with pytest.raises(GdynetError, match="cannot write the graph cache .No space left on device"):
        build_graphs(make_traj(n_frames=2), m=2, cache_dir=tmp_path / "full", progress=False)
