"""Real-MD reading on small files of each kind: time from the file, atoms left out, periodicity,
elements, topology names, compression, charges and one-line errors (issue 9, issue 12 item 2)."""
from __future__ import annotations

import bz2
import gzip
import lzma
import warnings

import numpy as np
import pytest

from gdynet import GdynetError, read_trajectory
from gdynet.base.errors import GdynetWarning
from gdynet.trajectory.atoms import parse_pbc
from test_readers import _one_line


def _dump(steps, *, columns="id type x y z", rows=None, bounds="pp pp pp", n=4):
    """A LAMMPS dump: 4 atoms in a 10 x 12 x 14 box; ``rows(frame)`` gives the atom lines."""
    rows = rows or (lambda f: [f"{i + 1} {1 + i % 2} {1.0 + i + 0.1 * f} 2.0 3.0" for i in range(n)])
    text = []
    for f, step in enumerate(steps):
        atoms = rows(f)
        text += ["ITEM: TIMESTEP", str(step), "ITEM: NUMBER OF ATOMS", str(len(atoms)),
                 f"ITEM: BOX BOUNDS {bounds}", "0 10", "0 12", "-2 12", f"ITEM: ATOMS {columns}", *atoms]
    return "\n".join(text) + "\n"


# ------------------------------------------------------------------ time from the file
def test_dump_timestep_times_step_difference_gives_the_frame_spacing(tmp_path):
    path = tmp_path / "md.lammpstrj"
    path.write_text(_dump([1000, 1100, 1200, 1300, 1400]))
    traj = read_trajectory(path, timestep="2fs", type_map="1=Li,2=S", targets="Li")
    assert traj.dt_ps == pytest.approx(0.2) and traj.dt_source == "dump TIMESTEP x --timestep"
    strided = read_trajectory(path, timestep=0.002, type_map="1=Li,2=S", targets="Li", stride=2)
    assert strided.dt_ps == pytest.approx(0.4) and strided.n_frames == 3
    agreeing = read_trajectory(path, dt="0.2ps", timestep="2fs", type_map="1=Li,2=S", targets="Li")
    assert agreeing.dt_ps == pytest.approx(0.2) and agreeing.dt_source == "--dt"
    assert read_trajectory(path, dt="2fs", type_map="1=Li,2=S", targets="Li").dt_ps == pytest.approx(0.002)
    with pytest.raises(GdynetError, match=r"--dt 0.002 ps disagrees with dump TIMESTEP x --timestep = 0.2 ps "
                                          r"between frames 0 and 1") as info:
        read_trajectory(path, dt="2fs", timestep="2fs", type_map="1=Li,2=S", targets="Li")
    _one_line(info, path)


def test_dump_units_and_time_items_before_each_timestep_are_skipped(tmp_path):
    path = tmp_path / "md.lammpstrj"
    frames = _dump([0, 10, 20]).split("ITEM: TIMESTEP\n")[1:]
    path.write_text("ITEM: UNITS\nreal\n" + "".join(f"ITEM: TIME\n{0.5 * k}\nITEM: TIMESTEP\n{text}"
                                                     for k, text in enumerate(frames)))
    traj = read_trajectory(path, timestep="1fs", type_map="1=Li,2=S", targets="Li")
    assert traj.n_frames == 3 and traj.dt_ps == pytest.approx(0.01)
    np.testing.assert_allclose(traj.positions[:, 0, 0], [1.0, 1.1, 1.2])


def test_uneven_or_repeated_dump_steps_are_refused_naming_the_frames(tmp_path):
    path = tmp_path / "md.lammpstrj"
    path.write_text(_dump([0, 100, 200, 250]))
    with pytest.raises(GdynetError, match=r"dump TIMESTEP is not evenly spaced: 0 -> 100 between frames 0 and 1 "
                                          r"but 200 -> 250 between frames 2 and 3") as info:
        read_trajectory(path, timestep="1fs", type_map="1=Li,2=S", targets="Li")
    _one_line(info, path)
    path.write_text(_dump([0, 0, 0]))
    with pytest.raises(GdynetError, match="every frame has dump TIMESTEP 0: the steps give no spacing; pass dt="):
        read_trajectory(path, timestep="1fs", type_map="1=Li,2=S", targets="Li")
    with pytest.raises(GdynetError, match="a LAMMPS dump stores the MD step .* timestep= \\(--timestep"):
        read_trajectory(path, type_map="1=Li,2=S", targets="Li")


def _xtc_with_steps(tmp_path, steps):
    """``(topology, xtc)``: 4 frames of Li + S, 0.5 ps apart, with the MD step numbers ``steps``."""
    import MDAnalysis as mda
    from MDAnalysis.coordinates.memory import MemoryReader

    u = mda.Universe.empty(2, trajectory=True)
    u.add_TopologyAttr("name", ["LI", "S"])
    u.add_TopologyAttr("element", ["Li", "S"])
    coords = np.random.default_rng(0).random((4, 2, 3)).astype(np.float32) * 9
    u.load_new(coords, format=MemoryReader, dimensions=np.tile([9.0, 9, 9, 90, 90, 90], (4, 1)), dt=0.5)
    top, path = tmp_path / "two.pdb", tmp_path / "run.xtc"
    u.atoms.write(str(top))
    with mda.Writer(str(path), 2) as writer:
        for ts, step in zip(u.trajectory, steps):
            ts.data["step"] = step
            writer.write(u.atoms)
    return top, path


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_xtc_step_times_timestep_is_checked_against_the_file_time(tmp_path):
    top, path = _xtc_with_steps(tmp_path, [0, 250, 500, 750])   # 0.5 ps = 250 steps of 2 fs
    assert read_trajectory(path, topology=top, targets="Li").dt_source == "file time"
    traj = read_trajectory(path, topology=top, targets="Li", timestep="2fs")
    assert traj.dt_ps == pytest.approx(0.5) and traj.dt_source == "XTC step x --timestep"
    with pytest.raises(GdynetError, match=r"frame times are 0.5 ps apart but XTC step x --timestep gives 0.25 ps"):
        read_trajectory(path, topology=top, targets="Li", timestep="1fs")


def test_timestep_needs_step_numbers(tmp_path):
    from ase import Atoms
    from ase.io import write

    path = tmp_path / "md.extxyz"
    write(path, [Atoms("Li", positions=[[f, 0, 0]], cell=np.eye(3) * 5, pbc=True) for f in range(3)])
    with pytest.raises(GdynetError, match="timestep= \\(--timestep\\) needs the MD step number of each frame"):
        read_trajectory(path, timestep="1fs", targets="Li")


# ------------------------------------------------------------------ periodicity
def test_slab_boundary_flags_give_per_axis_pbc_and_pbc_overrides(tmp_path):
    path = tmp_path / "slab.lammpstrj"
    path.write_text(_dump([0, 10], bounds="pp pp ff"))
    traj = read_trajectory(path, timestep="1fs", type_map="1=Li,2=S", targets="Li")
    assert traj.pbc == (True, True, False)
    np.testing.assert_allclose(traj.cells[0], np.diag([10.0, 12.0, 14.0]))
    assert read_trajectory(path, timestep="1fs", type_map="1=Li,2=S", targets="Li", pbc="xyz").pbc == (True,) * 3
    shrink = tmp_path / "shrink.lammpstrj"
    shrink.write_text(_dump([0, 10], bounds="xy xz yz pp ss fm").replace("0 10\n0 12\n-2 12", "0 10 1\n0 12 0\n-2 12 0"))
    assert read_trajectory(shrink, timestep="1fs", type_map="1=Li,2=S", targets="Li").pbc == (True, False, False)
    from ase import Atoms
    from ase.io import write

    xyz = tmp_path / "slab.extxyz"
    write(xyz, [Atoms("Li2", positions=[[0, 0, f], [1, 1, 1]], cell=np.eye(3) * 6, pbc=[True, True, False])
                for f in range(2)])
    assert read_trajectory(xyz, dt="1fs", targets="Li").pbc == (True, True, False)           # ASE's pbc
    assert parse_pbc("1,1,0") == parse_pbc("xy") == parse_pbc([1, 1, 0]) == (True, True, False)
    assert parse_pbc("none") == (False,) * 3 and parse_pbc(True) == (True,) * 3
    with pytest.raises(GdynetError, match="pbc must name the periodic cell vectors"):
        parse_pbc("xq")


# ------------------------------------------------------------------ elements
def test_elements_type_map_wins_then_element_column_then_mass(tmp_path):
    rows = lambda f: ["1 1 Li 6.94 0.9 1 2 3", "2 2 S 32.06 -0.9 4 5 6", "3 3 X 15.9994 0.0 7 8 9"]  # noqa: E731
    path = tmp_path / "mass_q_elem.lammpstrj"
    path.write_text(_dump([0, 5], columns="id type element mass q x y z", rows=rows))
    traj = read_trajectory(path, timestep="1fs", targets="Li")                   # element X resolved by its mass: O
    np.testing.assert_array_equal(traj.numbers, [3, 16, 8])
    np.testing.assert_allclose(traj.charges, [0.9, -0.9, 0.0])                    # the dump's q column
    mapped = read_trajectory(path, timestep="1fs", targets="Na", type_map="1=Na,2=Cl")   # type_map wins
    np.testing.assert_array_equal(mapped.numbers, [11, 17, 8])
    no_mass = tmp_path / "elements_only.lammpstrj"
    no_mass.write_text(_dump([0, 5], columns="id type element x y z",
                             rows=lambda f: ["1 1 Li 1 2 3", "2 2 S 4 5 6", "3 3 X 7 8 9"]))
    with pytest.raises(GdynetError, match=r"element of atoms \(types 3; element column X\).*--type-map 3=\?$") as info:
        read_trajectory(no_mass, timestep="1fs", targets="Li")
    _one_line(info, no_mass)
    with pytest.raises(GdynetError, match=r"--type-map 1=Na,3=\?$"):
        read_trajectory(no_mass, timestep="1fs", targets="Na", type_map="1=Na")
    assert list(read_trajectory(no_mass, timestep="1fs", targets="Li", type_map="3=Ar").numbers) == [3, 16, 18]


def test_dump_type_map_and_column_errors_are_one_line(tmp_path):
    no_type = tmp_path / "no_type.lammpstrj"
    no_type.write_text(_dump([0, 1], columns="id x y z", rows=lambda f: ["1 1 2 3", "2 4 5 6"]))
    with pytest.raises(GdynetError, match="no type, element or mass column"):
        read_trajectory(no_type, timestep="1fs", targets=[0])
    with pytest.raises(GdynetError, match="type_map \\(--type-map\\) needs a 'type' column") as info:
        read_trajectory(no_type, timestep="1fs", targets=[0], type_map="1=Li")
    _one_line(info, no_type)
    no_xyz = tmp_path / "no_xyz.lammpstrj"
    no_xyz.write_text(_dump([0, 1], columns="id type", rows=lambda f: ["1 1", "2 2 7"]))
    with pytest.raises(GdynetError, match=r"frame 0: no coordinate columns \(x y z, .*\); the columns are id type"):
        read_trajectory(no_xyz, timestep="1fs", targets=[0], type_map="1=Li,2=S")


# ------------------------------------------------------------------ atoms left out
def test_massless_charge_moves_to_the_heaviest_atom_of_its_molecule(tmp_path):
    """TIP4P in a dump with mol and q columns: the M site's -1.04 e lands on the O; the water stays neutral."""
    rows = lambda f: ["1 1 1 15.999 0.0 0 0 0", "2 1 2 1.008 0.52 0.96 0 0", "3 1 2 1.008 0.52 -0.24 0.93 0",  # noqa: E731
                      "4 1 3 0.0 -1.04 0.1 0.1 0", "5 2 4 6.94 1.0 5 5 5", "6 3 3 0.0 -0.5 8 8 8"]
    path = tmp_path / "tip4p_q.lammpstrj"
    path.write_text(_dump([0, 2], columns="id mol type mass q x y z", rows=rows))
    with pytest.warns(GdynetWarning) as record:
        traj = read_trajectory(path, timestep="1fs", targets=[4])
    np.testing.assert_allclose(traj.charges, [-1.04, 0.52, 0.52, 1.0])
    messages = " ".join(str(w.message) for w in record)
    assert "left out 2 massless particles" in messages and "0.5 e of charge" in messages  # molecule 3: no host


def test_massless_particles_are_dropped_with_one_warning_and_targets_keep_file_numbering(tmp_path):
    rows = lambda f: ["1 1 15.999 0 0 0", "2 2 1.008 0.96 0 0", "3 2 1.008 -0.24 0.93 0",  # noqa: E731
                      "4 3 0.0 0.1 0.1 0", "5 4 6.94 5 5 5"]
    path = tmp_path / "tip4p.lammpstrj"
    path.write_text(_dump([0, 2], columns="id type mass x y z", rows=rows))
    with pytest.warns(GdynetWarning, match="left out 1 massless particles \\(virtual sites: types 3\\)") as record:
        traj = read_trajectory(path, timestep="1fs", targets=[4])
    assert len([w for w in record if issubclass(w.category, GdynetWarning)]) == 1
    assert traj.n_atoms == 4 and list(traj.numbers) == [8, 1, 1, 3]
    np.testing.assert_array_equal(traj.targets, [[3]])                 # file atom 4 -> kept atom 3
    np.testing.assert_allclose(traj.positions[0, 3], [5, 5, 7])        # box from z = -2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GdynetWarning)
        water = read_trajectory(path, timestep="1fs", targets="molecules:H2O")
        np.testing.assert_array_equal(water.targets, [[0, 1, 2]])
        with pytest.raises(GdynetError, match="target atom 3 is left out"):
            read_trajectory(path, timestep="1fs", targets=[3])
        no_li = read_trajectory(path, timestep="1fs", targets="O", exclude="Li")
        assert list(no_li.numbers) == [8, 1, 1]
        by_index = read_trajectory(path, timestep="1fs", targets=[4], exclude="1,2")
        assert list(by_index.numbers) == [8, 3] and by_index.targets.tolist() == [[1]]
        assert by_index.file_targets().tolist() == [[4]]                 # the file's numbering, for chi/targets_*.npy
        assert water.file_targets().tolist() == [[0, 1, 2]]
        with pytest.raises(GdynetError, match="neither elements .* nor atom indices"):
            read_trajectory(path, timestep="1fs", targets="O", exclude="name OW")


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_tip4p_gro_virtual_sites_argon_names_and_exclude_selection(tmp_path):
    import MDAnalysis as mda
    from MDAnalysis.coordinates.memory import MemoryReader

    names = ["OW", "HW1", "HW2", "MW"] * 2 + ["Ar"]
    u = mda.Universe.empty(9, n_residues=3, atom_resindex=[0] * 4 + [1] * 4 + [2], trajectory=True)
    u.add_TopologyAttr("name", names)
    u.add_TopologyAttr("resname", ["SOL", "SOL", "AR"])
    u.add_TopologyAttr("resid", [1, 2, 3])
    water = np.array([[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0], [0.05, 0.1, 0]])
    frame = np.concatenate([water + 2, water + 6, [[9.0, 9.0, 9.0]]])
    coords = np.stack([frame + 0.01 * f for f in range(3)]).astype(np.float32)
    u.load_new(coords, format=MemoryReader, dimensions=np.tile([12.0, 12, 12, 90, 90, 90], (3, 1)), dt=0.1)
    top, path = tmp_path / "conf.gro", tmp_path / "run.xtc"
    u.atoms.write(str(top))
    with mda.Writer(str(path), 9) as writer:
        for _ in u.trajectory:
            writer.write(u.atoms)
    with pytest.warns(GdynetWarning, match="left out 2 massless particles \\(virtual sites: names MW\\)"):
        traj = read_trajectory(path, topology=top, targets="molecules:H2O")
    assert list(traj.numbers) == [8, 1, 1, 8, 1, 1, 18]                  # Ar from its name, not 'A'
    np.testing.assert_array_equal(traj.targets, [[0, 1, 2], [3, 4, 5]])
    assert traj.dt_ps == pytest.approx(0.1, rel=1e-5)
    with pytest.warns(GdynetWarning):
        argon_only = read_trajectory(path, topology=top, targets="Ar", exclude="resname SOL")
    assert list(argon_only.numbers) == [18]


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning", "ignore::PendingDeprecationWarning")
def test_one_atom_without_element_keeps_every_other_element(tmp_path):
    pdb = tmp_path / "mixed.pdb"
    lines = ["CRYST1   10.000   10.000   10.000  90.00  90.00  90.00 P 1           1"]
    for i, (name, element) in enumerate([("LI1", "LI"), ("CA", "CA"), ("OX", "")]):
        lines.append(f"HETATM{i + 1:5d} {name:<4s} MOL A   1    {i + 1:8.3f}{1.0:8.3f}{1.0:8.3f}  1.00  0.00"
                     f"          {element:>2s}")
    pdb.write_text("\n".join(lines + ["END"]) + "\n")
    import MDAnalysis as mda

    u = mda.Universe(str(pdb))
    dcd = tmp_path / "mixed.dcd"
    with mda.Writer(str(dcd), 3) as writer:
        for _ in range(2):
            writer.write(u.atoms)
    traj = read_trajectory(dcd, topology=pdb, targets="Li", dt="1ps")
    assert list(traj.numbers) == [3, 20, 8]          # PDB elements Li and Ca kept; the blank one from its name


# ------------------------------------------------------------------ topologies: LAMMPS data names, charges
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
@pytest.mark.parametrize("name", ["data.lmp", "data.system", "system.lmp", "system.data.gz", "topo.txt"])
def test_any_lammps_data_name_is_a_topology_with_masses_and_charges(tmp_path, name):
    import ase.io
    import MDAnalysis as mda
    from ase import Atoms
    from MDAnalysis.coordinates.memory import MemoryReader

    atoms = Atoms("LiSO", positions=[[0, 0, 0], [2, 2, 2], [4, 1, 1]], cell=np.eye(3) * 8, pbc=True)
    atoms.set_initial_charges([1.0, -0.4, -0.6])
    plain = tmp_path / "plain.data"
    ase.io.write(plain, atoms, format="lammps-data", specorder=["Li", "S", "O"], atom_style="full", masses=True)
    top = tmp_path / name
    if name.endswith(".gz"):
        top.write_bytes(gzip.compress(plain.read_bytes()))
    else:
        top.write_bytes(plain.read_bytes())
    u = mda.Universe.empty(3, trajectory=True)
    coords = (np.random.default_rng(1).random((3, 3, 3)) * 8).astype(np.float32)
    u.load_new(coords, format=MemoryReader, dimensions=np.tile([8.0, 8.0, 8.0, 90.0, 90.0, 90.0], (3, 1)))
    path = tmp_path / "run.dcd"
    with mda.Writer(str(path), 3) as writer:
        for _ in u.trajectory:
            writer.write(u.atoms)
    kwargs = {"topology_format": "DATA"} if name == "topo.txt" else {}
    traj = read_trajectory(path, topology=top, targets="Li", dt="1ps", **kwargs)   # a LAMMPS DCD by its topology
    assert list(traj.numbers) == [3, 16, 8]                                        # from the Masses section
    np.testing.assert_allclose(traj.charges, [1.0, -0.4, -0.6])
    with pytest.raises(GdynetError, match="a LAMMPS DCD stores its time in the run's unit"):
        read_trajectory(path, topology=top, targets="Li", **kwargs)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning", "ignore::PendingDeprecationWarning")
def test_lammps_dcd_is_recognised_by_its_header(tmp_path):
    import MDAnalysis as mda
    from MDAnalysis.coordinates.memory import MemoryReader

    u = mda.Universe.empty(2, trajectory=True)
    u.add_TopologyAttr("name", ["LI", "S"])
    u.add_TopologyAttr("element", ["Li", "S"])
    u.load_new(np.ones((3, 2, 3), dtype=np.float32), format=MemoryReader,
               dimensions=np.tile([9.0, 9, 9, 90, 90, 90], (3, 1)))
    top, path = tmp_path / "two.pdb", tmp_path / "lammps.dcd"
    u.atoms.write(str(top))
    akma_ps = 0.04888821  # the writer stores dt / (nsavc x AKMA time unit) as the step; LAMMPS its own unit
    with mda.Writer(str(path), 2, remarks="Written by LAMMPS", nsavc=250, dt=500 * akma_ps) as writer:
        for _ in u.trajectory:
            writer.write(u.atoms)
    with pytest.raises(GdynetError, match="a LAMMPS DCD .* frames are 250 steps of 2 apart"):
        read_trajectory(path, topology=top, targets="Li")
    assert read_trajectory(path, topology=top, targets="Li", timestep="2fs").dt_ps == pytest.approx(0.5)


# ------------------------------------------------------------------ compressed files
@pytest.mark.parametrize("suffix, compress", [(".gz", gzip.compress), (".bz2", bz2.compress), (".xz", lzma.compress)])
def test_compressed_dumps_and_extxyz_read_like_the_plain_file(tmp_path, suffix, compress):
    from ase import Atoms
    from ase.io import write

    text = _dump([0, 50, 100])
    plain = tmp_path / "md.lammpstrj"
    plain.write_text(text)
    packed = tmp_path / f"md.lammpstrj{suffix}"
    packed.write_bytes(compress(text.encode()))
    a = read_trajectory(plain, timestep="1fs", type_map="1=Li,2=S", targets="Li")
    b = read_trajectory(packed, timestep="1fs", type_map="1=Li,2=S", targets="Li")
    np.testing.assert_array_equal(a.positions, b.positions)
    assert b.dt_ps == pytest.approx(0.05)
    xyz = tmp_path / f"md.extxyz{suffix}"
    images = [Atoms("Li", positions=[[f, 0, 0]], cell=np.eye(3) * 5, pbc=True) for f in range(3)]
    with open(tmp_path / "x.extxyz", "w") as fh:
        write(fh, images, format="extxyz")
    xyz.write_bytes(compress((tmp_path / "x.extxyz").read_bytes()))
    assert read_trajectory(xyz, dt="1fs", targets="Li").n_frames == 3


def test_compressed_binary_trajectories_are_refused(tmp_path):
    path = tmp_path / "run.xtc.gz"
    path.write_bytes(gzip.compress(b"\0" * 10))
    with pytest.raises(GdynetError, match="xtc files cannot be read compressed \\(.gz\\); decompress it first"):
        read_trajectory(path, targets="Li")


# ------------------------------------------------------------------ command line
def test_cli_read_options_reach_the_reader(tmp_path):
    from typer.testing import CliRunner

    from gdynet.cli import app

    path = tmp_path / "md.lammpstrj"
    path.write_text(_dump([0, 100, 200], bounds="pp pp ff"))
    base = ["fit", str(path), "--out", str(tmp_path / "run"), "--type-map", "1=Li,2=S", "--target", "Li"]
    for extra, fragment in [(["--timestep", "2fs", "--dt", "1fs"], "disagrees with dump TIMESTEP x --timestep"),
                            (["--timestep", "2fs", "--exclude", "name X"], "neither elements"),
                            (["--timestep", "2fs", "--pbc", "xq"], "pbc must name the periodic cell vectors"),
                            (["--timestep", "2fs", "--topology", str(path), "--topology-format", "PDB"],
                             "cannot read topology")]:
        result = CliRunner().invoke(app, base + extra)
        assert result.exit_code == 2, result.output
        assert result.output.startswith("error:") and fragment in result.output, result.output
    from gdynet.trajectory.read_options import ReadOptions, read_all

    (traj,) = read_all([path], ReadOptions(timestep="2fs", pbc="xyz", exclude="S", targets="Li",
                                           extra={"type_map": "1=Li,2=S"}))
    assert traj.dt_ps == pytest.approx(0.2) and traj.pbc == (True, True, True) and list(traj.numbers) == [3, 3]


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_dump_with_a_lammps_data_topology_gives_elements_charges_and_selections(tmp_path):
    import ase.io
    from ase import Atoms

    atoms = Atoms("LiSOLi", positions=[[0, 0, 0], [2, 2, 2], [4, 1, 1], [6, 6, 6]], cell=np.eye(3) * 8, pbc=True)
    atoms.set_initial_charges([1.0, -0.4, -0.6, 1.0])
    top = tmp_path / "data.lmp"
    ase.io.write(top, atoms, format="lammps-data", specorder=["Li", "S", "O"], atom_style="full", masses=True)
    rows = lambda f: [f"{i + 1} {t} {i + 0.5} 1.0 {1.0 + f}" for i, t in enumerate([1, 2, 3, 1])]  # noqa: E731
    path = tmp_path / "slab.lammpstrj"
    path.write_text(_dump([0, 20, 40], rows=rows, bounds="pp pp ff"))
    traj = read_trajectory(path, topology=top, timestep="1fs", targets="Li", exclude="type 3")
    assert list(traj.numbers) == [3, 16, 3] and traj.pbc == (True, True, False)
    np.testing.assert_allclose(traj.charges, [1.0, -0.4, 1.0])
    np.testing.assert_array_equal(traj.targets, [[0], [2]])
    assert traj.dt_ps == pytest.approx(0.02)
