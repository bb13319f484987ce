"""Faults real MD work produces, made fresh on small files: restarted and repeated dumps, cut-off and
cut-short frames, damaged compressed files, zero-atom frames, absurd coordinates, damaged and
replaced frame caches, two readers of one file, and the large-file path against the small-file
path (issue 19). Each case was silently wrong or a traceback before."""
from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import threading
import time
import warnings

import numpy as np
import pytest

from gdynet import GdynetError, read_trajectory
from gdynet.base.errors import GdynetWarning
from gdynet.trajectory import cache, lammps_dump
from test_readers import _entries, _one_line
from test_readers_md import _dump, _xtc_with_steps

LI_S = dict(type_map="1=Li,2=S", targets="Li")


def _x0(traj):
    """Atom 0's x in each frame: ``1 + 0.1 f`` where ``f`` is the frame's place in the list written by ``_dump``."""
    return np.round((np.asarray(traj.positions[:, 0, 0]) - 1.0) / 0.1).astype(int)


def _read_warning(path, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        traj = read_trajectory(path, **LI_S, **options)
    messages = [str(w.message) for w in caught if issubclass(w.category, GdynetWarning)]
    return traj, messages


# ------------------------------------------------------------------ time from the file
@pytest.mark.parametrize("time_option", [dict(dt="10fs"), dict(timestep="1fs")])
def test_restarted_dump_keeps_the_later_segment_with_one_warning(tmp_path, time_option):
    """TIMESTEPs 0 ... 290 then 2000-style restart at 200 ... 390: the restart's frames replace 200-290."""
    path = tmp_path / "restarted.lammpstrj"
    path.write_text(_dump(list(range(0, 300, 10)) + list(range(200, 400, 10))))
    traj, messages = _read_warning(path, **time_option)
    assert traj.n_frames == 40 and traj.dt_ps == pytest.approx(0.01)
    np.testing.assert_array_equal(_x0(traj), list(range(20)) + list(range(30, 50)))   # the later frames 200-290
    assert traj.frames_dropped == 10 and traj.truncated_tail == 0
    assert len(messages) == 1
    assert ("10 frames dropped where the TIMESTEP goes back or repeats: the TIMESTEP goes back from 290 to 200 at "
            "frame 30 (a restarted run appended to the file): its frames replace the 10 earlier frames of TIMESTEP "
            "200-290") in messages[0] and str(path) in messages[0]
    strided, _ = _read_warning(path, stride=3, **time_option)    # stride counts the frames kept
    np.testing.assert_array_equal(_x0(strided), (list(range(20)) + list(range(30, 50)))[::3])
    assert strided.dt_ps == pytest.approx(0.03)


def test_frame_written_twice_counts_once_and_later_copy_is_kept(tmp_path):
    path = tmp_path / "twice.lammpstrj"
    path.write_text(_dump([0, 10, 20, 20, 30]))
    traj, messages = _read_warning(path, dt="10fs")
    np.testing.assert_array_equal(_x0(traj), [0, 1, 3, 4])
    assert traj.frames_dropped == 1 and len(messages) == 1 and "frame 3 repeats TIMESTEP 20" in messages[0]


def test_uneven_timesteps_are_refused_with_dt_too(tmp_path):
    path = tmp_path / "gap.lammpstrj"
    path.write_text(_dump([0, 10, 20, 40, 50]))
    with pytest.raises(GdynetError, match=r"dump TIMESTEP is not evenly spaced: 0 -> 10 between frames 0 and 1 but "
                                          r"20 -> 40 between frames 2 and 3") as info:
        read_trajectory(path, dt="10fs", **LI_S)
    _one_line(info, path)
    path.write_text(_dump([0, 0, 0]))   # no step numbers at all (every TIMESTEP 0): the frames as written
    traj, messages = _read_warning(path, dt="10fs")
    assert traj.n_frames == 3 and traj.frames_dropped == 0 and messages == []


def test_uneven_file_times_are_refused_with_dt_too(tmp_path):
    from ase import Atoms
    from ase.io import write
    from ase.units import fs

    path = tmp_path / "md.extxyz"
    images = [Atoms("Li", positions=[[0.1 * f, 0, 0]], cell=np.eye(3) * 5, pbc=True) for f in range(4)]
    for image, t in zip(images, [0.0, 1.0, 2.0, 5.0]):
        image.info["time"] = t * fs
    write(path, images)
    with pytest.raises(GdynetError, match="frame times are not evenly spaced") as info:
        read_trajectory(path, dt="1fs", targets="Li")
    _one_line(info, path)


# ------------------------------------------------------------------ cut-off and cut-short frames
def test_cut_off_last_frame_is_dropped_with_a_warning(tmp_path):
    whole = _dump(range(0, 100, 10))
    path = tmp_path / "killed.lammpstrj"
    path.write_text(whole[:-15])
    last_frame = len(whole) - len(_dump(range(0, 90, 10)))
    traj, messages = _read_warning(path, dt="10fs")
    assert traj.n_frames == 9 and traj.truncated_tail == last_frame - 15 and traj.frames_dropped == 0
    assert len(messages) == 1 and "the last frame (frame 9) is cut off" in messages[0]
    assert f"ignored its {last_frame - 15} bytes" in messages[0]
    np.testing.assert_array_equal(_x0(traj), range(9))
    path.write_text(whole[:-5])   # the last line lacks a number: not a whole frame either
    with pytest.warns(GdynetWarning, match="frame 9"):
        assert read_trajectory(path, dt="10fs", **LI_S).n_frames == 9
    path.write_text(whole[:-1])   # only the final newline missing (files not written by LAMMPS): whole
    assert read_trajectory(path, dt="10fs", **LI_S).n_frames == 10


@pytest.mark.parametrize("lines, message", [
    (slice(22, 24), "frame 1: it has fewer atom lines than its NUMBER OF ATOMS"),
    (slice(20, 22), "frame 1: it ends before its 'ITEM: ATOMS' line"),
])
def test_frame_cut_short_inside_the_file_is_an_error(tmp_path, lines, message):
    text = _dump(range(0, 50, 10)).splitlines(keepends=True)
    del text[lines]                  # frame 1 is lines 13-25: two atom lines, or a bound and the ATOMS line
    path = tmp_path / "short.lammpstrj"
    path.write_text("".join(text))
    with pytest.raises(GdynetError, match=message) as info:
        read_trajectory(path, dt="10fs", **LI_S)
    _one_line(info, path)


def test_frame_without_atoms_is_one_line(tmp_path):
    path = tmp_path / "empty.lammpstrj"
    path.write_text(_dump([0, 10], rows=lambda f: [] if f else ["1 1 1.0 2.0 3.0"]))
    with pytest.raises(GdynetError, match=r"frame 1: the frame has no atoms \(NUMBER OF ATOMS 0\)") as info:
        read_trajectory(path, dt="10fs", **LI_S)
    _one_line(info, path)


@pytest.mark.parametrize("name", ["empty.xyz", "empty.npz"])
def test_other_formats_without_atoms_say_so(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".xyz"):
        path.write_text('0\nLattice="5 0 0 0 5 0 0 0 5" Properties=species:S:1:pos:R:3 pbc="T T T"\n' * 3)
    else:
        np.savez(path, traj_coords=np.zeros((3, 0, 3)), lattices=np.eye(3) * 5, atom_types=np.zeros(0, int),
                 target_index=np.zeros(0, int))
    with pytest.raises(GdynetError, match="the file's first frame has no atoms") as info:
        read_trajectory(path, dt="10fs", targets="Li" if name.endswith(".xyz") else None)
    _one_line(info, path)


# ------------------------------------------------------------------ compressed files
def test_truncated_compressed_dump_keeps_its_whole_frames(tmp_path):
    noise = np.random.default_rng(0).random((10, 4))   # numbers that do not compress away
    text = _dump(range(0, 100, 10), rows=lambda f: [f"{i + 1} {1 + i % 2} {1.0 + 0.1 * f} {2 + noise[f, i]:.12f} 3.0"
                                                    for i in range(4)]).encode()
    for suffix, compress in ((".gz", gzip.compress), (".bz2", bz2.compress), (".xz", lzma.compress)):
        path = tmp_path / f"killed.lammpstrj{suffix}"
        data = compress(text)
        path.write_bytes(data[:int(len(data) * 0.7)])
        if suffix == ".bz2":   # bzip2 gives nothing of a block until its end
            with pytest.raises(GdynetError, match=r"no whole frame: .*\(the compressed stream ends early\)") as info:
                read_trajectory(path, dt="10fs", **LI_S)
            _one_line(info, path)
            continue
        traj, messages = _read_warning(path, dt="10fs")
        assert 0 < traj.n_frames < 10 and traj.truncated_tail > 0
        assert len(messages) == 1 and "(the compressed stream ends early)" in messages[0]
        np.testing.assert_array_equal(_x0(traj), range(traj.n_frames))


@pytest.mark.parametrize("name, damage, message", [
    ("crc.lammpstrj.gz", lambda b: b[:-8] + bytes([b[-8] ^ 1]) + b[-7:], r"not a valid \.gz file.*CRC check failed"),
    ("fake.lammpstrj.gz", lambda b: gzip.decompress(b), r"not a valid \.gz file.*Not a gzipped file"),
    ("bad.lammpstrj.bz2", lambda b: bz2.compress(gzip.decompress(b))[:20] + b"x" * 200, r"not a valid \.bz2 file"),
    ("fake.lammpstrj.xz", lambda b: gzip.decompress(b), r"not a valid \.xz file"),
])
def test_damaged_compressed_dump_is_one_line(tmp_path, name, damage, message):
    path = tmp_path / name
    path.write_bytes(damage(gzip.compress(_dump(range(0, 50, 10)).encode())))
    with pytest.raises(GdynetError, match=message) as info:
        read_trajectory(path, dt="10fs", **LI_S)
    _one_line(info, path)


# ------------------------------------------------------------------ plausibility
def test_coordinates_far_outside_the_cell_are_refused_naming_frame_and_atom(tmp_path):
    def rows(x):
        return lambda f: [f"{i + 1} {1 + i % 2} {x if (f, i) == (2, 3) else 1.0 + i} 2.0 3.0" for i in range(4)]

    path = tmp_path / "exploded.lammpstrj"
    for x in (1e7, -3e4, 1e30):
        path.write_text(_dump([0, 10, 20], rows=rows(x)))
        with pytest.raises(GdynetError, match=re.escape(f"atom 3 of frame 2 is at x = {x:.6g} Å, beyond 10010 Å")) as info:
            read_trajectory(path, dt="10fs", **LI_S)
        _one_line(info, path)
    path.write_text(_dump([0, 10, 20], rows=rows(500.0)))   # 50 cells away: unwrapped coordinates of a long run
    assert read_trajectory(path, dt="10fs", **LI_S).positions[2, 3, 0] == 500.0


# ------------------------------------------------------------------ the frame cache
@pytest.fixture
def cached(monkeypatch):
    """Every file goes through the frame cache, in blocks of 2 frames."""
    monkeypatch.setattr(cache, "STREAM_THRESHOLD_BYTES", 0)
    monkeypatch.setattr(cache, "BLOCK_FRAMES", 2)


def test_large_file_path_gives_exactly_the_small_file_numbers(tmp_path, monkeypatch):
    path = tmp_path / "md.lammpstrj"
    rng = np.random.default_rng(3)
    path.write_text(_dump(range(0, 70, 10), rows=lambda f: [f"{i + 1} {1 + i % 2} " + " ".join(
        f"{v:.9f}" for v in rng.random(3) * 9) for i in range(4)]))
    small = read_trajectory(path, dt="10fs", **LI_S)
    monkeypatch.setattr(cache, "STREAM_THRESHOLD_BYTES", 0)
    monkeypatch.setattr(cache, "BLOCK_FRAMES", 3)
    large = read_trajectory(path, dt="10fs", cache_dir=tmp_path / "c", **LI_S)
    assert isinstance(large.positions, np.memmap) and large.positions.dtype == small.positions.dtype == np.float64
    np.testing.assert_array_equal(large.positions, small.positions)
    np.testing.assert_array_equal(large.cells, small.cells)
    assert large.fingerprint() == small.fingerprint()


def test_zero_filled_cache_block_is_rebuilt_never_read(tmp_path, cached):
    path = tmp_path / "md.lammpstrj"
    path.write_text(_dump(range(0, 70, 10)))
    first = np.array(read_trajectory(path, dt="10fs", cache_dir=tmp_path / "c", **LI_S).positions)
    (entry,) = _entries(tmp_path / "c")
    data = bytearray((entry / "positions.npy").read_bytes())
    data[-200:-100] = bytes(100)   # zeros in frames 4-5 (96 bytes a frame), header kept
    (entry / "positions.npy").write_bytes(bytes(data))
    traj, messages = _read_warning(path, dt="10fs", cache_dir=tmp_path / "c")
    assert len(messages) == 1 and "damaged frame cache (checksum of positions.npy block 2 (frames 4-5)" in messages[0]
    assert str(entry) in messages[0]
    np.testing.assert_array_equal(traj.positions, first)
    again, messages = _read_warning(path, dt="10fs", cache_dir=tmp_path / "c")   # rebuilt: clean now
    assert messages == [] and isinstance(again.positions, np.memmap)
    (entry / "cells.npy").unlink()
    traj, messages = _read_warning(path, dt="10fs", cache_dir=tmp_path / "c")
    assert "damaged frame cache (unreadable" in messages[0]
    np.testing.assert_array_equal(traj.positions, first)


def test_replaced_input_with_same_size_and_time_is_read_again(tmp_path, cached):
    path = tmp_path / "md.lammpstrj"
    path.write_text(_dump(range(0, 50, 10)))
    read_trajectory(path, dt="10fs", cache_dir=tmp_path / "c", **LI_S)
    stat = path.stat()
    path.write_text(_dump(range(0, 50, 10)).replace("2.0 3.0", "2.5 3.0"))   # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))                  # same modification time
    traj = read_trajectory(path, dt="10fs", cache_dir=tmp_path / "c", **LI_S)
    assert np.all(np.asarray(traj.positions[:, :, 1]) == 2.5)


def test_cache_hit_keeps_what_the_reader_left_out_without_scanning_again(tmp_path, cached, monkeypatch):
    path = tmp_path / "restarted.lammpstrj"
    path.write_text(_dump(list(range(0, 60, 10)) + list(range(30, 90, 10)))[:-20])
    built, messages = _read_warning(path, dt="10fs", cache_dir=tmp_path / "c")
    assert built.frames_dropped == 3 and built.truncated_tail > 0 and len(messages) == 2
    scan = lammps_dump.scan

    def head_only(path, max_frames=None):
        assert max_frames == 1, "a cache hit must not scan the whole file"
        return scan(path, max_frames)

    monkeypatch.setattr(lammps_dump, "scan", head_only)
    hit, again = _read_warning(path, dt="10fs", cache_dir=tmp_path / "c")
    assert again == messages and (hit.frames_dropped, hit.truncated_tail) == (3, built.truncated_tail)
    np.testing.assert_array_equal(hit.positions, built.positions)


def test_second_reader_of_one_file_waits_for_the_first_and_uses_its_entry(tmp_path, cached):
    from gdynet.files.cache_root import entry_lock

    path = tmp_path / "md.lammpstrj"
    path.write_text(_dump(range(0, 50, 10)))
    root = tmp_path / "c"
    entry = cache.cache_entry(path, root, format="lammps-dump", stride=1, type_map=[("1", 3), ("2", 16)],
                              exclude=None, topology=None)
    root.mkdir()
    result: dict = {"caught": []}

    def read():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result["caught"] = caught          # filled while the reader runs
            result["traj"] = read_trajectory(path, dt="10fs", cache_dir=root, **LI_S)

    def waiting():
        return any("waiting for another process that is caching this file" in str(w.message)
                   for w in result["caught"])

    with entry_lock(root / f".{entry.name}.lock"):     # another process is building this entry
        reader = threading.Thread(target=read)
        reader.start()
        deadline = time.monotonic() + 30
        while not waiting() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waiting() and reader.is_alive() and not entry.exists()
    reader.join(timeout=30)
    assert _entries(root) == [entry] and result["traj"].n_frames == 5
