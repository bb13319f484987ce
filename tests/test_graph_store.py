"""build_graphs / GraphStore: contents, cache reuse and keys, interrupted builds, parallel workers."""
from __future__ import annotations

import json

import numpy as np
import pytest

import gdynet.graphs.store as store_mod
from gdynet import Trajectory
from gdynet.base.errors import GdynetError
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
    store = build_graphs(traj, neighbors=7, cache_dir=tmp_path, progress=False)
    idx, dist = neighbors(traj.positions, traj.cells, 9)  # M = 7 neighbours and 2 more for the shell weights
    assert store.indices.dtype == np.uint16 and store.distances.dtype == np.float32  # N <= 65,535: 2-byte indices
    assert not isinstance(store.indices, np.memmap) and not store.indices.flags.writeable   # small: in memory
    np.testing.assert_array_equal(store.indices, idx)
    np.testing.assert_array_equal(store.distances, dist)
    assert (store.n_frames, store.n_atoms, store.neighbors, store.width) == (9, 12, 7, 9)
    np.testing.assert_array_equal(store.numbers, traj.numbers)
    np.testing.assert_array_equal(store.targets, traj.targets)
    assert store.dt_ps == 0.5 and store.source == "toy.xyz"
    assert store.path.parent == tmp_path and (store.path / "COMPLETE").is_file()
    import gdynet.files.openfiles

    with pytest.MonkeyPatch.context() as patch:                 # large: memory-mapped read-only
        patch.setattr(gdynet.files.openfiles, "SMALL_BYTES", 0)
        reopened = GraphStore.open(store.path)
    assert isinstance(reopened.indices, np.memmap) and not reopened.indices.flags.writeable
    np.testing.assert_array_equal(reopened.distances, dist)
    assert reopened.targets.dtype == np.int64 and reopened.numbers.dtype == np.int64
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_index_dtype_is_the_narrowest_that_holds_every_atom():
    assert store_mod.index_dtype(65_535) == np.uint16 and store_mod.index_dtype(65_536) == np.int32
    assert "store3" in store_mod.CODE_VERSION  # the format is part of every cache key: old entries are not misread


def test_cache_is_reused_only_for_same_content_and_m(tmp_path, monkeypatch):
    traj = make_traj()
    first = build_graphs(traj, neighbors=6, cache_dir=tmp_path, progress=False)

    def fail(*args, **kwargs):
        raise AssertionError("recomputed although the cache matches")

    monkeypatch.setattr(store_mod, "neighbors", fail)
    again = build_graphs(make_traj(), neighbors=6, cache_dir=tmp_path, progress=False)  # equal content, new object
    assert again.path == first.path
    relabelled = build_graphs(traj.with_targets(np.array([[1], [3]])), neighbors=6, cache_dir=tmp_path, progress=False)
    assert relabelled.path == first.path
    np.testing.assert_array_equal(relabelled.targets, [[1], [3]])
    np.testing.assert_array_equal(GraphStore.open(first.path).targets, [[1], [3]])
    monkeypatch.undo()
    other_m = build_graphs(traj, neighbors=5, cache_dir=tmp_path, progress=False)
    other_data = build_graphs(make_traj(seed=1), neighbors=6, cache_dir=tmp_path, progress=False)
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
        build_graphs(traj, neighbors=4, cache_dir=tmp_path, progress=False)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("graphs-")]  # nothing to trust
    calls.clear()
    monkeypatch.setattr(store_mod, "neighbors", lambda *a: (calls.append(len(a[0])), real(*a))[1])
    store = build_graphs(traj, neighbors=4, cache_dir=tmp_path, progress=False)
    assert sum(calls) == 9 - 4  # the two finished chunks (4 frames) are not redone
    np.testing.assert_array_equal(store.distances, neighbors(traj.positions, traj.cells, 6)[1])


def test_incomplete_entry_is_refused_and_rebuilt(tmp_path):
    traj = make_traj()
    store = build_graphs(traj, neighbors=3, cache_dir=tmp_path, progress=False)
    (store.path / "COMPLETE").unlink()
    np.lib.format.open_memmap(store.path / "distances.npy", "r+")[:] = -1.0
    with pytest.raises(GdynetError, match="incomplete"):
        GraphStore.open(store.path)
    rebuilt = build_graphs(traj, neighbors=3, cache_dir=tmp_path, progress=False)
    assert rebuilt.path == store.path and np.all(rebuilt.distances[:] > 0)


def test_parallel_workers_give_identical_graphs(tmp_path, small_chunks):
    traj = make_traj()
    serial = build_graphs(traj, neighbors=5, cache_dir=tmp_path / "a", workers=1, progress=False)
    parallel = build_graphs(traj, neighbors=5, cache_dir=tmp_path / "b", workers=2, progress=False)
    np.testing.assert_array_equal(parallel.indices, serial.indices)
    np.testing.assert_array_equal(parallel.distances, serial.distances)


def test_slab_graphs_follow_pbc_and_have_their_own_cache_entry(tmp_path, small_chunks):
    """pbc (T, T, F): the stored graphs are the slab's (serial and parallel), keyed apart from the periodic ones."""
    periodic = make_traj()
    slab = Trajectory(periodic.positions, periodic.cells, periodic.numbers, dt_ps=0.5, targets=periodic.targets,
                      source="toy.xyz", pbc=(True, True, False))
    full = build_graphs(periodic, neighbors=9, cache_dir=tmp_path, progress=False)
    for workers in (1, 2):
        store = build_graphs(slab, neighbors=9, cache_dir=tmp_path / str(workers), workers=workers, progress=False)
        idx, dist = neighbors(slab.positions, slab.cells, 11, pbc=(True, True, False))
        np.testing.assert_array_equal(store.indices, idx)
        np.testing.assert_array_equal(store.distances, dist)
    assert build_graphs(slab, neighbors=9, cache_dir=tmp_path, progress=False).path != full.path
    assert not np.array_equal(store.distances, full.distances)


def test_default_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GDYNET_CACHE", str(tmp_path / "env"))
    store = build_graphs(make_traj(n_frames=2), neighbors=2, progress=True)  # no TTY under pytest: no bar
    assert store.path.parent == tmp_path / "env" / "graphs"
    meta = json.loads((store.path / "meta.json").read_text())
    assert (meta["neighbors"], meta["width"]) == (2, 4) and meta["fingerprint"] == make_traj(n_frames=2).fingerprint()


@pytest.mark.parametrize("m", [0, 10**7])
def test_bad_m_is_gdynet_error(tmp_path, m):
    with pytest.raises(GdynetError, match="m must be between"):
        build_graphs(make_traj(n_frames=2), neighbors=m, cache_dir=tmp_path)


def test_open_a_folder_that_is_not_a_store(tmp_path):
    with pytest.raises(GdynetError, match="not a graph store") as info:
        GraphStore.open(tmp_path / "nothing")
    assert str(tmp_path / "nothing") in str(info.value)


def test_corrupt_store_is_gdynet_error(tmp_path):
    store = build_graphs(make_traj(n_frames=2), neighbors=2, cache_dir=tmp_path, progress=False)
    meta = json.loads((store.path / "meta.json").read_text())
    (store.path / "meta.json").write_text(json.dumps({**meta, "neighbors": 3}))  # M and width disagree
    with pytest.raises(GdynetError, match="graph store of 3 neighbours has width 4, this version stores 5"):
        GraphStore.open(store.path)
    (store.path / "meta.json").write_text("{}")
    with pytest.raises(GdynetError, match="unreadable graph store"):
        GraphStore.open(store.path)


def test_a_cluster_needs_room_for_the_extra_neighbours(tmp_path):
    traj = make_traj(n_frames=2)
    cluster = Trajectory(traj.positions, traj.cells, traj.numbers, dt_ps=0.5, targets=traj.targets, pbc=(False, False, False))
    assert build_graphs(cluster, 9, tmp_path, progress=False).width == 11  # 11 of 11 neighbours
    with pytest.raises(GdynetError, match="use --neighbors 9 or less"):
        build_graphs(cluster, 10, tmp_path, progress=False)


def test_relabelled_store_keeps_its_own_targets_when_another_run_relabels_the_entry(tmp_path, monkeypatch):
    """Two runs with other targets share one entry: each gets its own targets, not the last written."""
    traj = make_traj()
    build_graphs(traj, neighbors=3, cache_dir=tmp_path, progress=False)
    real_write_json = store_mod.write_json

    def other_run_relabels_right_after(path, data):
        real_write_json(path, data)
        store_mod.save_npy(path.parent / "targets.npy", np.array([[5]]))  # the other run, just after us

    monkeypatch.setattr(store_mod, "write_json", other_run_relabels_right_after)
    mine = build_graphs(traj.with_targets(np.array([[1], [3]])), neighbors=3, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(mine.targets, [[1], [3]])
    assert mine.targets.dtype == np.int64


def test_unwritable_cache_folder_is_one_line_error(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(GdynetError, match="cannot write the graph cache") as info:
        build_graphs(make_traj(n_frames=2), neighbors=2, cache_dir=blocker / "graphs", progress=False)
    assert str(blocker) in str(info.value) and "\n" not in str(info.value)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_mod.np, "save", disk_full)
    with pytest.raises(GdynetError, match="cannot write the graph cache .No space left on device"):
        build_graphs(make_traj(n_frames=2), neighbors=2, cache_dir=tmp_path / "full", progress=False)
