"""Readers: every format written with its library's writer (or by hand for LAMMPS dumps) and read back."""

import numpy as np
import pytest

from gdynet import GdynetError, read_trajectory
from gdynet.base.errors import GdynetWarning
from gdynet.trajectory import cache, frames, readers

NUMBERS = np.array([3, 3, 16, 8, 1, 1])  # Li Li S O H H


def _cells(n_frames):
    base = np.array([[10.0, 0.0, 0.0], [1.0, 9.0, 0.0], [-0.5, 0.7, 8.0]])
    return np.stack([base * (1 + 0.01 * f) for f in range(n_frames)])


def _positions(n_frames, n_atoms=6, seed=0):
    frac = np.random.default_rng(seed).random((n_frames, n_atoms, 3))
    return np.einsum("fni,fij->fnj", frac, _cells(n_frames))


def _images(n_frames=5, time_fs=None):
    from ase import Atoms
    from ase.units import fs

    pos, cells = _positions(n_frames), _cells(n_frames)
    images = []
    for f in range(n_frames):
        atoms = Atoms(numbers=NUMBERS, positions=pos[f], cell=cells[f], pbc=True)
        if time_fs is not None:
            atoms.info["time"] = f * time_fs * fs
        images.append(atoms)
    return images, pos, cells


def _write_npz(path, n_frames=7, compressed=False, **override):
    data = dict(traj_coords=_positions(n_frames), lattices=_cells(n_frames), atom_types=NUMBERS,
                target_index=np.array([0, 1]))
    data.update(override)
    data = {k: v for k, v in data.items() if v is not None}
    (np.savez_compressed if compressed else np.savez)(path, **data)
    return data


def _entries(folder):
    """What a cache folder holds besides the entries' lock files (``.<entry>.lock``)."""
    return [p for p in folder.iterdir() if not p.name.endswith(".lock")]


def _one_line(info, path):
    text = str(info.value)
    assert "\n" not in text and str(path) in text
    return text


# ------------------------------------------------------------------ npz
def test_npz_reads_exactly_with_file_targets_and_stride(tmp_path):
    path = tmp_path / "li.npz"
    data = _write_npz(path)
    traj = read_trajectory(path, dt="10fs")
    np.testing.assert_array_equal(traj.positions, data["traj_coords"])
    np.testing.assert_array_equal(traj.cells, data["lattices"])
    np.testing.assert_array_equal(traj.numbers, NUMBERS)
    np.testing.assert_array_equal(traj.targets, [[0], [1]])
    assert traj.dt_ps == pytest.approx(0.01) and traj.source == str(path)
    strided = read_trajectory(path, dt=0.01, stride=3, targets="S")
    np.testing.assert_array_equal(strided.positions, data["traj_coords"][::3])
    assert strided.n_frames == 3 and strided.dt_ps == pytest.approx(0.03)
    np.testing.assert_array_equal(strided.targets, [[2]])


def test_npz_molecules_from_bonds_in_frame_0(tmp_path):
    pos = _positions(3)
    pos[:, 4] = pos[:, 3] + [0.96, 0.0, 0.0]
    pos[:, 5] = pos[:, 3] + [-0.24, 0.93, 0.0]
    path = tmp_path / "water.npz"
    _write_npz(path, n_frames=3, traj_coords=pos)
    for spec in ("molecules:H2O", {"molecules": "OH2"}):
        np.testing.assert_array_equal(read_trajectory(path, dt=0.01, targets=spec).targets, [[3, 4, 5]])


@pytest.mark.parametrize("compressed", [False, True])
def test_large_npz_streams_into_reused_memmap_cache(tmp_path, monkeypatch, compressed):
    monkeypatch.setattr(cache, "STREAM_THRESHOLD_BYTES", 0)
    monkeypatch.setattr(cache, "BLOCK_FRAMES", 2)
    path = tmp_path / "big.npz"
    data = _write_npz(path, n_frames=9, compressed=compressed)
    traj = read_trajectory(path, dt=0.01, stride=2, cache_dir=tmp_path / "cache")
    assert isinstance(traj.positions, np.memmap) and traj.positions.dtype == data["traj_coords"].dtype
    np.testing.assert_array_equal(traj.positions, data["traj_coords"][::2])  # the file's precision (issue 19)
    np.testing.assert_array_equal(traj.cells, data["lattices"][::2])
    assert traj.n_frames == 5 and traj.dt_ps == pytest.approx(0.02)
    entries = _entries(tmp_path / "cache")
    assert len(entries) == 1 and not entries[0].name.startswith(".")  # no temporary folder left

    def fail(*args, **kwargs):
        raise AssertionError("the cache should have been reused")

    monkeypatch.setattr(readers, "_npz_frames", fail)
    again = read_trajectory(path, dt=0.01, stride=2, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(again.positions, traj.positions)
    other_stride = tmp_path / "cache2"
    monkeypatch.undo()
    monkeypatch.setattr(cache, "STREAM_THRESHOLD_BYTES", 0)
    monkeypatch.setenv("GDYNET_CACHE", str(other_stride))
    assert read_trajectory(path, dt=0.01, stride=3).n_frames == 3
    assert len(_entries(other_stride / "trajectories")) == 1


@pytest.mark.parametrize("override, message", [
    (dict(lattices=None), "missing lattices"),
    (dict(lattices=np.eye(3)[None].repeat(2, 0)), "lattices must have shape"),
    (dict(atom_types=np.array([3, 16])), "atom_types must be 6"),
    (dict(traj_coords=np.zeros((4, 6, 2))), "traj_coords must have shape"),
    (dict(target_index=np.array([0.5])), "target_index must be integer"),
    (dict(target_index=np.array([6])), "out of range"),
])
def test_npz_shape_errors(tmp_path, override, message):
    path = tmp_path / "bad.npz"
    _write_npz(path, **override)
    with pytest.raises(GdynetError, match=message) as info:
        read_trajectory(path, dt=0.01)
    _one_line(info, path)


def test_npz_needs_dt_and_rejects_nan_and_garbage(tmp_path):
    path = tmp_path / "li.npz"
    pos = _positions(7)
    pos[4, 2, 1] = np.nan
    _write_npz(path, traj_coords=pos)
    with pytest.raises(GdynetError, match="pass dt=") as info:
        read_trajectory(path)
    _one_line(info, path)
    with pytest.raises(GdynetError, match="NaN or infinite coordinates at frame 4"):
        read_trajectory(path, dt=0.01)
    with pytest.raises(GdynetError, match="dt must be a time"):
        read_trajectory(path, dt="fast")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"PK\x03\x04 this is not a zip archive")
    with pytest.raises(GdynetError, match="not a readable .npz") as info:
        read_trajectory(garbage, dt=0.01)
    _one_line(info, garbage)


def test_missing_file_unknown_format_and_bad_stride(tmp_path):
    with pytest.raises(GdynetError, match="file not found"):
        read_trajectory(tmp_path / "nope.xyz", dt=0.01)
    odd = tmp_path / "run.foo"
    odd.write_text("hello")
    with pytest.raises(GdynetError, match="supported: npz, extxyz") as info:
        read_trajectory(odd, dt=0.01)
    _one_line(info, odd)
    with pytest.raises(GdynetError, match="unknown format 'pdbx'"):
        read_trajectory(odd, format="pdbx", dt=0.01)
    path = tmp_path / "li.npz"
    _write_npz(path)
    with pytest.raises(GdynetError, match="stride"):
        read_trajectory(path, dt=0.01, stride=0)


# ------------------------------------------------------------------ ASE formats
@pytest.mark.parametrize("name, fmt, atol", [("md.extxyz", "extxyz", 1e-7), ("md.traj", "traj", 0.0)])
def test_ase_formats_read_back(tmp_path, name, fmt, atol):
    import ase.io

    images, pos, cells = _images()
    path = tmp_path / name
    ase.io.write(path, images, format=fmt)
    traj = read_trajectory(path, dt="2 fs", targets="Li")
    np.testing.assert_allclose(traj.positions, pos, atol=atol)
    np.testing.assert_allclose(traj.cells, cells, atol=atol)
    np.testing.assert_array_equal(traj.numbers, NUMBERS)
    np.testing.assert_array_equal(traj.targets, [[0], [1]])
    assert traj.dt_ps == pytest.approx(0.002)
    strided = read_trajectory(path, dt="2 fs", targets="Li", stride=2)
    np.testing.assert_allclose(strided.positions, pos[::2], atol=atol)
    assert strided.dt_ps == pytest.approx(0.004)


@pytest.mark.parametrize("fmt", ["extxyz", "traj"])
def test_ase_time_info_gives_dt(tmp_path, fmt):
    import ase.io

    images, _, _ = _images(time_fs=5.0)
    path = tmp_path / f"timed.{fmt}"
    ase.io.write(path, images, format=fmt)
    assert read_trajectory(path, targets="S").dt_ps == pytest.approx(0.005)
    assert read_trajectory(path, targets="S", stride=2).dt_ps == pytest.approx(0.010)
    assert read_trajectory(path, targets="S", dt="5fs").dt_source == "--dt"   # agrees with the file
    with pytest.raises(GdynetError, match="disagrees with the file's frame times"):   # issue 24
        read_trajectory(path, targets="S", dt="1fs")
    assert read_trajectory(path, targets="S", dt="1fs", dt_override=True).dt_ps == pytest.approx(0.001)


def test_extxyz_streaming_path_matches_memory(tmp_path, monkeypatch):
    import ase.io

    images, pos, cells = _images(n_frames=7, time_fs=1.0)
    path = tmp_path / "md.xyz"
    ase.io.write(path, images, format="extxyz")
    in_memory = read_trajectory(path, targets="O")
    monkeypatch.setattr(cache, "STREAM_THRESHOLD_BYTES", 0)
    monkeypatch.setattr(cache, "BLOCK_FRAMES", 3)
    streamed = read_trajectory(path, targets="O", cache_dir=tmp_path / "c", stride=2)
    assert isinstance(streamed.positions, np.memmap)
    np.testing.assert_allclose(streamed.positions, in_memory.positions[::2], atol=1e-5)
    np.testing.assert_array_equal(streamed.cells, in_memory.cells[::2])
    assert streamed.dt_ps == pytest.approx(0.002)
    assert streamed.fingerprint() == read_trajectory(path, targets="O", cache_dir=tmp_path / "c",
                                                     stride=2).fingerprint()


def test_failed_stream_leaves_no_cache_entry(tmp_path, monkeypatch):
    import ase.io

    monkeypatch.setattr(cache, "STREAM_THRESHOLD_BYTES", 0)
    monkeypatch.setattr(cache, "BLOCK_FRAMES", 2)
    images, _, _ = _images(n_frames=6)
    path = tmp_path / "cut.xyz"
    ase.io.write(path, images, format="extxyz")
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-3]))
    with pytest.raises(GdynetError, match="cannot read extxyz file"):
        read_trajectory(path, dt=0.001, targets="Li", cache_dir=tmp_path / "c")
    assert _entries(tmp_path / "c") == []


def test_extxyz_errors(tmp_path):
    import ase.io
    from ase import Atoms

    images, _, _ = _images()
    path = tmp_path / "md.xyz"
    ase.io.write(path, images, format="extxyz")
    with pytest.raises(GdynetError, match="no time step") as info:
        read_trajectory(path, targets="Li")
    _one_line(info, path)
    with pytest.raises(GdynetError, match="targets needed.*atoms present: H x2, Li x2, O x1, S x1") as info:
        read_trajectory(path, dt=0.001)
    _one_line(info, path)
    lines = path.read_text().splitlines(keepends=True)
    truncated = tmp_path / "cut.xyz"
    truncated.write_text("".join(lines[:-2]))
    with pytest.raises(GdynetError, match="cannot read extxyz file") as info:
        read_trajectory(truncated, dt=0.001, targets="Li")
    _one_line(info, truncated)
    no_cell = tmp_path / "nocell.xyz"
    ase.io.write(no_cell, [Atoms(numbers=NUMBERS, positions=np.random.rand(6, 3))] * 2, format="extxyz")
    with pytest.warns(GdynetWarning, match="no cell in the file: read as non-periodic"):
        cluster = read_trajectory(no_cell, dt=0.001, targets="Li")
    assert cluster.pbc == (False, False, False)
    extent = np.ptp(cluster.positions[0], axis=0) + 2 * frames.BOUNDING_PAD
    np.testing.assert_allclose(cluster.cells[0], np.diag(extent))
    changing = tmp_path / "changing.xyz"
    ase.io.write(changing, [images[0], images[1][:-1]], format="extxyz")
    with pytest.raises(GdynetError, match="frame 1 has 5 atoms but frame 0 has 6"):
        read_trajectory(changing, dt=0.001, targets="Li")


def test_xdatcar(tmp_path):
    import ase.io

    images, pos, _ = _images(n_frames=4)
    cell = images[0].cell.array
    for atoms in images:  # XDATCAR of a fixed-cell run
        atoms.set_cell(cell, scale_atoms=True)
    path = tmp_path / "XDATCAR"
    ase.io.write(path, images, format="vasp-xdatcar")
    traj = read_trajectory(path, dt=0.001, targets=[2])
    np.testing.assert_allclose(traj.positions, [a.positions for a in images], atol=1e-6)
    np.testing.assert_allclose(traj.cells, np.broadcast_to(cell, (4, 3, 3)), atol=1e-6)
    assert sorted(traj.numbers) == sorted(NUMBERS)  # XDATCAR groups atoms by element
    with pytest.raises(GdynetError, match="xdatcar files do not store the time"):
        read_trajectory(path, targets=[2])


# ------------------------------------------------------------------ LAMMPS text dumps
ORTHO_DUMP = """ITEM: TIMESTEP
{step}
ITEM: NUMBER OF ATOMS
3
ITEM: BOX BOUNDS pp pp pp
0.0 10.0
0.0 12.0
-1.0 7.0
ITEM: ATOMS id type x y z
2 2 {x:.3f} 2.000 3.000
1 1 0.500 0.250 -0.500
3 2 9.000 11.000 6.500
"""

TRICLINIC_DUMP = """ITEM: TIMESTEP
{step}
ITEM: NUMBER OF ATOMS
2
ITEM: BOX BOUNDS xy xz yz pp pp pp
-0.5 11.0 1.0
0.0 9.7 -0.5
0.0 8.0 0.7
ITEM: ATOMS id type xs ys zs
1 1 0.1 0.2 0.3
2 2 {s:.2f} 0.5 0.5
"""


def test_lammps_dump_orthogonal_unscaled_with_type_map(tmp_path):
    path = tmp_path / "md.lammpstrj"
    path.write_text("".join(ORTHO_DUMP.format(step=100 * f, x=1.0 + f) for f in range(3)))
    traj = read_trajectory(path, dt="1fs", type_map={1: "Li", 2: "S"}, targets="Li")
    np.testing.assert_array_equal(traj.numbers, [3, 16, 16])  # sorted by LAMMPS id
    # shifted so that the box starts at the origin (z from -1), as MDAnalysis reads dumps
    np.testing.assert_allclose(traj.positions[2], [[0.5, 0.25, 0.5], [3.0, 2.0, 4.0], [9.0, 11.0, 7.5]])
    np.testing.assert_allclose(traj.cells[0], np.diag([10.0, 12.0, 8.0]))
    assert traj.n_frames == 3 and traj.dt_ps == pytest.approx(0.001)
    same = read_trajectory(path, dt="1fs", type_map="1=Li, 2=S", targets="S")
    np.testing.assert_array_equal(same.numbers, traj.numbers)
    np.testing.assert_array_equal(same.targets, [[1], [2]])


def test_lammps_dump_triclinic_scaled(tmp_path):
    path = tmp_path / "dump.tri"
    path.write_text("".join(TRICLINIC_DUMP.format(step=10 * f, s=0.5 + 0.1 * f) for f in range(2)))
    traj = read_trajectory(path, dt=0.002, type_map={1: "O", 2: "H"}, targets="O")
    cell = np.array([[10.0, 0.0, 0.0], [1.0, 9.0, 0.0], [-0.5, 0.7, 8.0]])
    np.testing.assert_allclose(traj.cells, np.broadcast_to(cell, (2, 3, 3)), atol=1e-12)
    frac = np.array([[[0.1, 0.2, 0.3], [0.5, 0.5, 0.5]], [[0.1, 0.2, 0.3], [0.6, 0.5, 0.5]]])
    np.testing.assert_allclose(traj.positions, frac @ cell, atol=1e-12)
    np.testing.assert_array_equal(traj.numbers, [8, 1])


def test_lammps_dump_element_column_and_errors(tmp_path):
    path = tmp_path / "md.dump"
    path.write_text(ORTHO_DUMP.format(step=0, x=1.0) * 2)
    with pytest.raises(GdynetError, match=r"element of atoms \(types 1, 2\); .*--type-map 1=\?,2=\?") as info:
        read_trajectory(path, dt=0.001, targets="Li")
    _one_line(info, path)
    with pytest.raises(GdynetError, match=r"element of atoms \(types 2\).*--type-map 1=Li,2=\?"):
        read_trajectory(path, dt=0.001, type_map={1: "Li"}, targets="Li")
    with pytest.raises(GdynetError, match="unknown element 'Qq'"):
        read_trajectory(path, dt=0.001, type_map="1=Li,2=Qq", targets="Li")
    with pytest.raises(GdynetError, match="type_map must look like"):
        read_trajectory(path, dt=0.001, type_map="1:Li", targets="Li")
    with pytest.raises(GdynetError, match="a LAMMPS dump stores the MD step .*pass timestep="):
        read_trajectory(path, type_map={1: "Li", 2: "S"}, targets="Li")
    named = tmp_path / "named.lammpstrj"
    named.write_text(ORTHO_DUMP.replace("id type x y z", "id element x y z").replace(" 2 ", " S ")
                     .replace("1 1 0.500", "1 Li 0.500").format(step=0, x=1.0) * 2)
    assert list(read_trajectory(named, dt=0.001, targets="Li").numbers) == [3, 16, 16]
    broken = tmp_path / "broken.lammpstrj"
    broken.write_text(ORTHO_DUMP.format(step=0, x=1.0) + ORTHO_DUMP.format(step=1, x=1.0)[:-40])
    with pytest.warns(GdynetWarning, match="the last frame \\(frame 1\\) is cut off"):  # issue 19
        assert read_trajectory(broken, dt=0.001, type_map={1: "Li", 2: "S"}, targets="Li").n_frames == 1


# ------------------------------------------------------------------ MDAnalysis formats
def _water_universe(n_frames=4, dt=0.02, dims=True):
    """3 waters + 1 Li+ in a 12 Å box (one water across the periodic boundary); residues SOL x3, LI."""
    import MDAnalysis as mda
    from MDAnalysis.coordinates.memory import MemoryReader

    oxygens = np.array([[1.0, 1.0, 1.0], [6.0, 1.0, 6.0], [11.8, 6.0, 1.0]])
    h1, h2 = np.array([0.96, 0.0, 0.0]), np.array([-0.24, 0.93, 0.0])
    frame = np.concatenate([np.concatenate([[o], [o + h1], [o + h2]]) for o in oxygens] + [[[6.0, 6.0, 6.0]]])
    frame %= 12.0
    shifts = 0.01 * np.arange(n_frames)[:, None, None]
    coords = (frame[None] + shifts).astype(np.float32)
    u = mda.Universe.empty(10, n_residues=4, atom_resindex=[0, 0, 0, 1, 1, 1, 2, 2, 2, 3],
                           residue_segindex=[0] * 4, trajectory=True)
    u.add_TopologyAttr("name", ["OW", "HW1", "HW2"] * 3 + ["LI"])
    u.add_TopologyAttr("type", ["O", "H", "H"] * 3 + ["Li"])
    u.add_TopologyAttr("element", ["O", "H", "H"] * 3 + ["Li"])
    u.add_TopologyAttr("resname", ["SOL"] * 3 + ["LI"])
    u.add_TopologyAttr("resid", [1, 2, 3, 4])
    box = np.tile([12.0, 12.0, 12.0, 90.0, 90.0, 90.0], (n_frames, 1)) if dims else None
    u.load_new(coords, format=MemoryReader, dimensions=box, dt=dt)
    return u, coords


def _write_mda(u, path):
    import MDAnalysis as mda

    kwargs = {"dt": u.trajectory.dt} if str(path).endswith(".dcd") else {}
    with mda.Writer(str(path), u.atoms.n_atoms, **kwargs) as writer:
        for _ in u.trajectory:
            writer.write(u.atoms)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
@pytest.mark.parametrize("suffix, atol", [("dcd", 1e-6), ("xtc", 0.006), ("trr", 1e-5)])
def test_mdanalysis_formats_with_topology(tmp_path, suffix, atol):
    u, coords = _water_universe()
    top, path = tmp_path / "water.pdb", tmp_path / f"water.{suffix}"
    u.atoms.write(str(top))
    _write_mda(u, path)
    traj = read_trajectory(path, topology=top, targets="name OW")
    np.testing.assert_allclose(traj.positions, coords, atol=atol)
    np.testing.assert_allclose(traj.cells, np.broadcast_to(np.eye(3) * 12.0, (4, 3, 3)), atol=1e-5)
    np.testing.assert_array_equal(traj.numbers, [8, 1, 1] * 3 + [3])
    np.testing.assert_array_equal(traj.targets, [[0], [3], [6]])
    assert traj.dt_ps == pytest.approx(0.02, rel=1e-5)
    strided = read_trajectory(path, topology=top, targets="Li", stride=2, dt="10fs", dt_override=True)
    assert strided.n_frames == 2 and strided.dt_ps == pytest.approx(0.02)  # dt= overrides, x stride
    with pytest.raises(GdynetError, match="disagrees with the file's frame times, 0.02 ps apart"):
        read_trajectory(path, topology=top, targets="Li", stride=2, dt="10fs")   # not without dt_override


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_mdanalysis_selection_residues_and_molecules(tmp_path, monkeypatch):
    u, _ = _water_universe()
    top, path = tmp_path / "water.pdb", tmp_path / "water.dcd"
    u.atoms.write(str(top))
    _write_mda(u, path)
    waters = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    for spec in ("residues:resname SOL", "molecules:H2O", "molecules:OH2", {"molecules": "H2O"}):
        np.testing.assert_array_equal(read_trajectory(path, topology=top, targets=spec).targets, waters)
    assert read_trajectory(path, topology=top, targets="resname SOL").targets.shape == (9, 1)
    monkeypatch.setattr(cache, "STREAM_THRESHOLD_BYTES", 0)
    cached = read_trajectory(path, topology=top, targets="molecules:H2O", cache_dir=tmp_path / "c")
    assert isinstance(cached.positions, np.memmap) and cached.target_size == 3
    again = read_trajectory(path, topology=top, targets="name OW", cache_dir=tmp_path / "c")
    np.testing.assert_array_equal(again.positions, cached.positions)
    assert len(_entries(tmp_path / "c")) == 1


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_gro_topology_without_elements_guesses_from_names(tmp_path):
    u, _ = _water_universe()
    top, path = tmp_path / "water.gro", tmp_path / "water.xtc"
    u.atoms.write(str(top))
    _write_mda(u, path)
    traj = read_trajectory(path, topology=top, targets="molecules:H2O")
    np.testing.assert_array_equal(traj.numbers, [8, 1, 1] * 3 + [3])
    assert traj.targets.shape == (3, 3)
    mapped = read_trajectory(path, topology=top, targets="Li", type_map={"OW": "O", "HW1": "H", "HW2": "H",
                                                                           "LI": "Li", "O": "O", "H": "H"})
    assert mapped.n_targets == 1


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_mdanalysis_errors(tmp_path):
    u, _ = _water_universe()
    top, path = tmp_path / "water.pdb", tmp_path / "water.dcd"
    u.atoms.write(str(top))
    _write_mda(u, path)
    with pytest.raises(GdynetError, match="pass topology=") as info:
        read_trajectory(path, targets="Li")
    _one_line(info, path)
    with pytest.raises(GdynetError, match="topology file not found"):
        read_trajectory(path, topology=tmp_path / "none.pdb", targets="Li")
    small = tmp_path / "small.pdb"
    u.atoms[:6].write(str(small))
    with pytest.raises(GdynetError, match="cannot read as dcd with topology small.pdb") as info:
        read_trajectory(path, topology=small, targets="Li")
    _one_line(info, path)
    with pytest.raises(GdynetError, match="invalid MDAnalysis selection"):
        read_trajectory(path, topology=top, targets="resname and or")
    with pytest.raises(GdynetError, match="matches no atoms"):
        read_trajectory(path, topology=top, targets="resname EC")
    with pytest.raises(GdynetError, match="molecules of unequal size"):
        read_trajectory(path, topology=top, targets="residues:all")
    with pytest.raises(GdynetError, match="targets needed.*H x6, Li x1, O x3"):
        read_trajectory(path, topology=top)
    corrupt = tmp_path / "corrupt.dcd"
    corrupt.write_bytes(b"\x07" * 16 + path.read_bytes()[16:])
    with pytest.raises(GdynetError, match="not a readable DCD file") as info:
        read_trajectory(corrupt, topology=top, targets="Li")
    _one_line(info, corrupt)
    no_box, _ = _water_universe(dims=False)
    boxless = tmp_path / "nobox.dcd"
    _write_mda(no_box, boxless)
    with pytest.warns(GdynetWarning, match="no cell in the file"):
        assert read_trajectory(boxless, topology=top, targets="Li").pbc == (False, False, False)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("style", ["atomic", "charge", "full"])
def test_lammps_dcd_with_lammps_data_topology_and_type_map(tmp_path, style):
    import ase.io
    import MDAnalysis as mda
    from ase import Atoms
    from MDAnalysis.coordinates.memory import MemoryReader

    top, path = tmp_path / "system.data", tmp_path / "run.dcd"
    atoms = Atoms("Li2S", positions=[[0, 0, 0], [2, 2, 2], [4, 1, 1]], cell=np.eye(3) * 8, pbc=True)
    atoms.set_initial_charges([0.5, 0.5, -1.0])
    ase.io.write(top, atoms, format="lammps-data", specorder=["Li", "S"], atom_style=style, masses=True)
    u = mda.Universe.empty(3, trajectory=True)
    coords = (np.random.default_rng(1).random((4, 3, 3)) * 8).astype(np.float32)
    u.load_new(coords, format=MemoryReader, dimensions=np.tile([8.0, 8.0, 8.0, 90.0, 90.0, 90.0], (4, 1)))
    _write_mda(u, path)
    traj = read_trajectory(path, format="LAMMPS", topology=top, type_map="1=Li,2=S", targets="S", dt="1fs")
    if style == "atomic":
        assert traj.charges is None                        # atom_style atomic has no charges
    else:
        np.testing.assert_allclose(traj.charges, [0.5, 0.5, -1.0])   # charge / full: Trajectory.charges in e
    np.testing.assert_array_equal(traj.numbers, [3, 3, 16])
    np.testing.assert_allclose(traj.positions, coords, atol=1e-6)
    np.testing.assert_array_equal(traj.targets, [[2]])
    by_mass = read_trajectory(path, format="lammps-dcd", topology=top, targets="S", dt="1fs")
    np.testing.assert_array_equal(by_mass.numbers, [3, 3, 16])  # from the data file's Masses
    with pytest.raises(GdynetError, match="a LAMMPS DCD stores its time in the run's unit"):
        read_trajectory(path, format="lammps-dcd", topology=top, targets="S", type_map="1=Li,2=S")


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
@pytest.mark.parametrize("suffix", ["dcd", "xtc", "trr"])
@pytest.mark.parametrize("kept", [10, 0.5])
def test_file_cut_inside_its_last_frame_is_refused(tmp_path, suffix, kept):
    """A run killed while writing frame 3: MDAnalysis alone would return frames 0-2 without a word."""
    u, _ = _water_universe(n_frames=4)
    top, full, short = tmp_path / "water.pdb", tmp_path / f"full.{suffix}", tmp_path / f"short.{suffix}"
    u.atoms.write(str(top))
    _write_mda(u, full)
    _write_mda(_water_universe(n_frames=3)[0], short)
    frame_bytes = full.stat().st_size - short.stat().st_size
    cut = tmp_path / f"cut.{suffix}"
    cut.write_bytes(full.read_bytes()[:short.stat().st_size + int(kept if kept > 1 else kept * frame_bytes)])
    assert read_trajectory(full, topology=top, targets="Li").n_frames == 4
    with pytest.raises(GdynetError, match=f"truncated (or corrupt )?{suffix} file") as info:
        read_trajectory(cut, topology=top, targets="Li")
    _one_line(info, cut)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_xtc_float32_times_late_in_a_long_run_give_dt(tmp_path):
    """XTC times are float32: at 100 ns a 0.2 ps step reads as 0.195 to 0.203 ps; still even spacing."""
    import MDAnalysis as mda

    u, _ = _water_universe(n_frames=6)
    top = tmp_path / "water.pdb"
    u.atoms.write(str(top))
    for name, times in (("late", 1e5 + 0.2 * np.arange(6)), ("uneven", 1e5 + np.array([0, 0.2, 0.4, 0.8, 1.0, 1.2]))):
        with mda.Writer(str(tmp_path / f"{name}.xtc"), u.atoms.n_atoms) as writer:
            for ts, time in zip(u.trajectory, times):
                ts.time = time
                writer.write(u.atoms)
    assert read_trajectory(tmp_path / "late.xtc", topology=top, targets="Li").dt_ps == pytest.approx(0.2, abs=2e-3)
    with pytest.raises(GdynetError, match="not evenly spaced"):
        read_trajectory(tmp_path / "uneven.xtc", topology=top, targets="Li")


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_read_error_inside_an_mdanalysis_file_is_not_an_early_end(tmp_path, monkeypatch):
    """MDAnalysis ends a plain iteration quietly on an OSError; a frame that fails to read is an error."""
    from MDAnalysis.coordinates.XTC import XTCReader

    u, _ = _water_universe(n_frames=4)
    top, path = tmp_path / "water.pdb", tmp_path / "water.xtc"
    u.atoms.write(str(top))
    _write_mda(u, path)
    real = XTCReader._read_next_timestep

    def fails_at_frame_2(self, ts=None):
        if self._frame == 1:
            raise OSError(5, "XTC read error = compression")
        return real(self, ts)

    monkeypatch.setattr(XTCReader, "_read_next_timestep", fails_at_frame_2)
    with pytest.raises(GdynetError, match="cannot read frame 2: the file stops after 2 of 4 frames") as info:
        read_trajectory(path, topology=top, targets="Li")
    _one_line(info, path)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_mdanalysis_trajectory_file_is_closed_after_reading(tmp_path):
    import gc
    import os

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd")
    u, _ = _water_universe()
    top, path = tmp_path / "water.pdb", tmp_path / "water.dcd"
    u.atoms.write(str(top))
    _write_mda(u, path)
    read_trajectory(path, topology=top, targets="Li")  # imports, MDAnalysis' own one-off files
    gc.disable()  # open handles must not depend on the garbage collector
    try:
        before = len(os.listdir("/proc/self/fd"))
        for _ in range(3):
            read_trajectory(path, topology=top, targets="Li")
        assert len(os.listdir("/proc/self/fd")) == before
    finally:
        gc.enable()


def test_corrupt_npz_is_closed_after_the_error(tmp_path, recwarn):
    import gc
    import warnings

    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"PK\x03\x04 this is not a zip archive")
    warnings.simplefilter("always", ResourceWarning)
    try:
        read_trajectory(garbage, dt=0.01)
    except GdynetError as exc:
        assert "not a readable .npz" in str(exc)
    gc.collect()
    assert not [w for w in recwarn if issubclass(w.category, ResourceWarning)]


def test_errors_name_the_frame_of_the_file_when_strided(tmp_path):
    import ase.io

    images, _, _ = _images(n_frames=6)
    images[4].set_cell(np.zeros((3, 3)))
    images[4].pbc = False
    path = tmp_path / "md.extxyz"
    ase.io.write(path, images, format="extxyz")
    with pytest.raises(GdynetError, match="frame 4 has no periodic cell") as info:
        read_trajectory(path, dt=0.001, targets="Li", stride=2)
    _one_line(info, path)
    images, _, _ = _images(n_frames=6)
    images[2] = images[2][:-1]
    ase.io.write(path, images, format="extxyz")
    with pytest.raises(GdynetError, match="frame 2 has 5 atoms but frame 0 has 6"):
        read_trajectory(path, dt=0.001, targets="Li", stride=2)


def test_unwritable_cache_folder_is_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "STREAM_THRESHOLD_BYTES", 0)
    path = tmp_path / "li.npz"
    _write_npz(path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(GdynetError, match="cannot write the frame cache in .*a-file.*pass cache_dir=") as info:
        read_trajectory(path, dt=0.01, cache_dir=blocker / "cache")
    _one_line(info, path)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_first_dcd_read_of_a_session_prints_no_mdanalysis_deprecation(tmp_path):
    """MDAnalysis imported inside quiet_mdanalysis used to put its 'once' filter ahead of ours."""
    import subprocess
    import sys

    u, _ = _water_universe()
    top, path = tmp_path / "water.pdb", tmp_path / "water.dcd"
    u.atoms.write(str(top))
    _write_mda(u, path)
    code = f"from gdynet import read_trajectory; read_trajectory({str(path)!r}, topology={str(top)!r}, targets='Li')"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "DeprecationWarning" not in run.stderr
