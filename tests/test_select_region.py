"""Targets by region: MDAnalysis geometric selections on the first frame of any format (issue 11 item 2)."""
from __future__ import annotations

import numpy as np
import pytest

from gdynet.base.errors import GdynetError
from gdynet.trajectory.readers import read_trajectory
from gdynet.trajectory.targets import needs_coordinates, select_targets

CELL = np.diag([12.0, 12.0, 50.0])


def _slab(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two frames of a small slab: 8 Au below z = 10 Å, 24 Si from z = 10 to 48 Å (frame 1 shifted up)."""
    rng = np.random.default_rng(seed)
    numbers = np.array([79] * 8 + [14] * 24)
    first = np.column_stack([rng.uniform(0, 12, (32, 2)), np.r_[rng.uniform(1, 9, 8), np.linspace(10.5, 47.5, 24)]])
    first[8] = [0.2, 6.0, 10.5]  # an Si atom whose nearest Au sits across the x boundary
    first[0] = [11.6, 6.0, 9.0]
    second = first + [0.0, 0.0, 3.0]
    return numbers, np.stack([first, second])


def _write_extxyz(path, numbers, frames) -> None:
    from ase import Atoms
    from ase.io import write

    write(path, [Atoms(numbers=numbers, positions=p, cell=CELL, pbc=True) for p in frames], format="extxyz")


def _write_dump(path, numbers, frames) -> None:
    types = np.where(numbers == 14, 1, 2)
    blocks = []
    for step, pos in enumerate(frames):
        rows = "".join(f"{i + 1} {t} {x:.6f} {y:.6f} {z:.6f}\n" for i, (t, (x, y, z)) in enumerate(zip(types, pos)))
        blocks.append(f"ITEM: TIMESTEP\n{10 * step}\nITEM: NUMBER OF ATOMS\n{len(pos)}\n"
                      f"ITEM: BOX BOUNDS pp pp ff\n0 12\n0 12\n0 50\nITEM: ATOMS id type x y z\n{rows}")
    path.write_text("".join(blocks))


@pytest.mark.parametrize("kind", ["extxyz", "lammps-dump"])
def test_geometric_selection_on_the_first_frame_of_any_format(tmp_path, kind):
    numbers, frames = _slab()
    if kind == "extxyz":
        path = tmp_path / "slab.extxyz"
        _write_extxyz(path, numbers, frames)
        read = dict(dt="1fs")
    else:
        path = tmp_path / "dump.slab"
        _write_dump(path, numbers, frames)
        read = dict(dt="1fs", type_map="1=Si,2=Au")
    z = frames[0, :, 2]
    band = read_trajectory(path, targets={"select": "prop z > 20 and prop z < 40"}, **read)
    np.testing.assert_array_equal(band.targets[:, 0], np.flatnonzero((z > 20) & (z < 40)))  # frame 0, not 1
    assert not np.array_equal(np.flatnonzero((z > 17) & (z < 37)), band.targets[:, 0])  # frame 1 would differ
    assert band.n_frames == 2
    named = read_trajectory(path, targets="name Si and prop z < 15", **read)  # names are element symbols
    np.testing.assert_array_equal(named.targets[:, 0], np.flatnonzero((numbers == 14) & (z < 15)))
    # within 3 Å of an Au: atom 8 only through the periodic x boundary (0.2 vs 11.6 Å: 0.6 Å apart)
    near = read_trajectory(path, targets="name Si and around 3 name Au", **read)
    assert 8 in near.targets[:, 0]
    assert set(near.targets[:, 0]) <= set(np.flatnonzero(numbers == 14))


def test_in_memory_selection_matches_a_brute_force_distance_and_cylinder(tmp_path):
    numbers, frames = _slab(seed=1)
    pos = frames[0]
    got = select_targets(numbers, "around 4.5 index 0", positions=pos, cell=CELL)[:, 0]
    d = pos - pos[0]
    d -= np.round(d / np.diag(CELL)) * np.diag(CELL)  # orthogonal box: minimum image per axis
    expected = np.flatnonzero(np.linalg.norm(d, axis=1) < 4.5)
    np.testing.assert_array_equal(got, expected[expected != 0])
    zone = select_targets(numbers, "cyzone 5 10 -10 index 0", positions=pos, cell=CELL)[:, 0]
    radial = np.linalg.norm(d[:, :2], axis=1)
    np.testing.assert_array_equal(zone, np.flatnonzero((radial < 5) & (d[:, 2] > -10) & (d[:, 2] < 10)))


def test_bad_or_empty_selection_is_one_line_error_naming_it(tmp_path):
    numbers, frames = _slab()
    path = tmp_path / "slab.extxyz"
    _write_extxyz(path, numbers, frames)
    with pytest.raises(GdynetError, match="invalid MDAnalysis selection 'prop z >'") as info:
        read_trajectory(path, dt="1fs", targets="prop z >")
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)
    with pytest.raises(GdynetError, match=r"selection 'prop z > 60' matches no atoms in the first frame \(without a "
                                          r"topology atom names, types and elements are the element symbols: Si, Au"):
        read_trajectory(path, dt="1fs", targets={"select": "prop z > 60"})


def test_needs_coordinates_only_without_topology():
    for spec in ("prop z > 20", "select:around 5 name Au", {"select": "prop z > 1"}, "molecules:H2O"):
        assert needs_coordinates(spec)
    assert needs_coordinates("molecules:H2O", topology=object())
    for spec in ("Li", "0,4", [1, 2], "residues:resname EC", "Xx"):
        assert not needs_coordinates(spec)
    assert not needs_coordinates("prop z > 20", topology=object())


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_selection_with_a_topology_uses_the_first_frame(tmp_path):
    """A PDB + DCD read to its end: the geometric selection still sees frame 0 of the trajectory."""
    import MDAnalysis as mda
    from MDAnalysis.coordinates.memory import MemoryReader

    numbers, frames = _slab()
    u = mda.Universe.empty(32, n_residues=32, atom_resindex=np.arange(32), trajectory=False)
    symbols = np.where(numbers == 14, "Si", "Au").astype(object)
    for name in ("names", "types", "elements"):
        u.add_TopologyAttr(name, symbols)
    u.add_TopologyAttr("resnames", ["SI"] * 32)
    u.add_TopologyAttr("resids", np.arange(1, 33))
    u.load_new(frames.astype(np.float32), format=MemoryReader, dimensions=[12, 12, 50, 90, 90, 90])
    top, path = tmp_path / "slab.pdb", tmp_path / "slab.dcd"
    u.atoms.write(str(top))
    with mda.Writer(str(path), 32) as writer:
        for _ in u.trajectory:
            writer.write(u.atoms)
    traj = read_trajectory(path, topology=top, dt="1ps", targets="prop z > 30")   # the DCD's own spacing
    np.testing.assert_array_equal(traj.targets[:, 0], np.flatnonzero(frames[0, :, 2] > 30))
    assert len(np.flatnonzero(frames[1, :, 2] > 30)) > traj.n_targets  # the last frame would give more


# ------------------------------------------------------------------ --select-on first|each (issue 11 items 2, 4)
BAND = "prop z > 20 and prop z < 40"


def _two_segments(tmp_path, n_frames: int = 24) -> tuple[list, np.ndarray, np.ndarray]:
    """Two consecutive extxyz segments of one run of the slab: the Si drift up 3 Å per segment (with a
    little noise), so the first frames of the two files put different atoms in BAND."""
    numbers, frames = _slab()
    rng = np.random.default_rng(3)
    t = np.arange(2 * n_frames)[:, None]
    drift = np.where(numbers == 14, 3.0 / n_frames, 0.0)[None, :] * t
    run = frames[0][None] + rng.normal(0.0, 0.05, (2 * n_frames, len(numbers), 3))
    run[..., 2] += drift
    paths = [tmp_path / "part1.extxyz", tmp_path / "part2.extxyz"]
    for path, segment in zip(paths, (run[:n_frames], run[n_frames:])):
        _write_extxyz(path, numbers, segment)
    return paths, run[0], run[n_frames]


def _band(first_frame: np.ndarray) -> np.ndarray:
    z = first_frame[:, 2]
    return np.flatnonzero((z > 20) & (z < 40))


def test_select_on_first_gives_every_file_the_targets_of_the_first(tmp_path):
    from gdynet.trajectory.read_options import ReadOptions, read_all

    paths, first_a, first_b = _two_segments(tmp_path)
    assert len(_band(first_a)) != len(_band(first_b))           # the band's content moved between the files
    each = read_all(paths, ReadOptions(dt="1fs", targets={"select": BAND}))
    np.testing.assert_array_equal(each[0].targets[:, 0], _band(first_a))
    np.testing.assert_array_equal(each[1].targets[:, 0], _band(first_b))
    first = read_all(paths, ReadOptions(dt="1fs", targets={"select": BAND}, select_on="first"))
    for traj in first:
        np.testing.assert_array_equal(traj.targets[:, 0], _band(first_a))
    np.testing.assert_array_equal(first[1].positions, each[1].positions)


def test_select_on_first_refuses_files_of_other_atoms(tmp_path):
    from gdynet.trajectory.read_options import ReadOptions, read_all

    paths, first_a, _ = _two_segments(tmp_path)
    numbers, _ = _slab()
    fewer, swapped = tmp_path / "fewer.extxyz", tmp_path / "swapped.extxyz"
    _write_extxyz(fewer, numbers[:-1], [first_a[:-1]] * 3)
    au_inside = numbers.copy()
    au_inside[_band(first_a)[2]] = 79                             # a target atom is Au in this file
    _write_extxyz(swapped, au_inside, [first_a] * 3)
    read = ReadOptions(dt="1fs", targets={"select": BAND}, select_on="first")
    for other, fragment in ((fewer, "31 atoms here, 32 in part1.extxyz"),
                            (swapped, f"target atom {_band(first_a)[2]} is Au here, Si in part1.extxyz")):
        with pytest.raises(GdynetError, match=fragment) as info:
            read_all([paths[0], other], read)
        message = str(info.value)
        assert message.startswith(str(other)) and "--select-on each" in message and "\n" not in message
    with pytest.raises(GdynetError, match="select_on must be each or first, got 'last'"):
        read_all(paths, ReadOptions(dt="1fs", targets={"select": BAND}, select_on="last"))


def test_select_on_first_through_the_cli_config_run_json_analyze_and_predict(tmp_path):
    import json

    import torch
    from typer.testing import CliRunner

    from gdynet.cli import app

    runner = CliRunner()
    paths, first_a, _ = _two_segments(tmp_path)
    config = tmp_path / "fit.toml"
    config.write_text('select-on = "first"\n')
    out = tmp_path / "run"
    common = ["--dt", "1fs", "--select", BAND, "--lag", "1", "--epochs", "1", "--batch-size", "8",
              "--neighbors", "6", "--cutoff", "10", "--device", "cpu", "-q"]
    result = runner.invoke(app, ["fit", str(paths[0]), "--test", str(paths[1]), "--out", str(out),
                                 "--config", str(config), *common])
    assert result.exit_code == 0, result.output
    targets = _band(first_a)
    assert json.loads((out / "run.json").read_text())["read"]["select_on"] == "first"
    assert json.loads((out / "summary.json").read_text())["select_on"] == "first"
    assert [np.load(out / "chi" / f"traj_{i:03d}.npy").shape[1] for i in range(2)] == [len(targets)] * 2
    meta = torch.load(out / "model.pt", weights_only=True)["meta"]
    np.testing.assert_array_equal(np.asarray(meta["shared_targets"]["sets"])[:, 0], targets)
    again = runner.invoke(app, ["analyze", str(out), "--lags", "1,2"])
    assert again.exit_code == 0, again.output
    assert json.loads((out / "summary.json").read_text())["n_targets"] == 2 * len(targets)
    probs = tmp_path / "probs.npy"
    predicted = runner.invoke(app, ["predict", str(out), str(paths[1]), "-o", str(probs), "-q"])
    assert predicted.exit_code == 0, predicted.output
    np.testing.assert_allclose(np.load(probs), np.load(out / "chi" / "traj_001.npy"), atol=1e-5)
    alone = runner.invoke(app, ["fit", str(paths[0]), "--out", str(tmp_path / "x"), "--dt", "1fs", "--target", "Si",
                                "--select-on", "first"])
    assert alone.exit_code == 2 and "--select-on first needs --select" in alone.output
    assert not (tmp_path / "x").exists()
