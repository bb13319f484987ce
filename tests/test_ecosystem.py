"""Objects of the ecosystem in (issue 17 item 5): MDAnalysis Universe/AtomGroup and ase.Atoms frames give the
same trajectory as the file they came from; ``Trajectory(..., targets="Li")`` resolves the element."""
from __future__ import annotations

import numpy as np
import pytest

from gdynet import GdynetError, Trajectory, read_trajectory, select_targets
from gdynet.base.errors import GdynetWarning

data = pytest.importorskip("MDAnalysisTests.datafiles")
mda = pytest.importorskip("MDAnalysis")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


def _same(a: Trajectory, b: Trajectory) -> None:
    assert a.positions.shape == b.positions.shape
    assert np.abs(np.asarray(a.positions, np.float64) - np.asarray(b.positions, np.float64)).max() <= 1e-6
    np.testing.assert_allclose(a.cells, b.cells, atol=1e-6)
    np.testing.assert_array_equal(a.numbers, b.numbers)
    np.testing.assert_array_equal(a.targets, b.targets)
    assert a.pbc == b.pbc and a.dt_ps == pytest.approx(b.dt_ps, rel=1e-9)
    assert (a.charges is None) == (b.charges is None)
    if a.charges is not None:
        np.testing.assert_allclose(a.charges, b.charges)


@pytest.mark.parametrize("topology, trajectory, targets", [
    ("PSF_TRICLINIC", "DCD_TRICLINIC", "name OH2"),        # CHARMM DCD, triclinic box, PSF charges
    ("PRM_NCBOX", "TRJ_NCBOX", "name O"),                   # AMBER NetCDF, PRMTOP charges
])
def test_universe_gives_what_the_file_gives(topology, trajectory, targets):
    top, trj = getattr(data, topology), getattr(data, trajectory)
    universe = mda.Universe(top, trj)
    from_file = read_trajectory(trj, topology=top, targets=targets)
    from_universe = read_trajectory(universe, targets=targets)
    _same(from_universe, from_file)
    assert from_universe.dt_source == "file time" and from_universe.source == str(trj)
    _same(Trajectory.from_mdanalysis(universe, targets=targets, stride=3),
          read_trajectory(trj, topology=top, targets=targets, stride=3))
    assert universe.trajectory.frame == 0                   # the universe is left where it was


def test_virtual_sites_are_left_out_as_from_the_file():
    """GROMACS TIP4P: the massless MW sites are dropped from a Universe as from the file."""
    with pytest.warns(GdynetWarning, match="left out 11084 massless"):
        from_universe = read_trajectory(mda.Universe(data.GRO, data.XTC), targets="name OW", stride=5)
    with pytest.warns(GdynetWarning, match="left out 11084 massless"):
        from_file = read_trajectory(data.XTC, topology=data.GRO, targets="name OW", stride=5)
    _same(from_universe, from_file)
    assert from_universe.atom_ids is not None and np.array_equal(from_universe.atom_ids, from_file.atom_ids)


def test_atom_group_keeps_its_atoms_charges_and_selections():
    universe = mda.Universe(data.PSF_TRICLINIC, data.DCD_TRICLINIC)
    group = universe.select_atoms("index 30:89")               # 20 whole water molecules
    traj = Trajectory.from_mdanalysis(group, targets="molecules:OH2")
    full = read_trajectory(data.DCD_TRICLINIC, topology=data.PSF_TRICLINIC, targets=[0])
    assert traj.n_atoms == 60 and traj.n_targets == 20 and traj.target_size == 3
    assert np.abs(np.asarray(traj.positions, np.float64) - np.asarray(full.positions[:, 30:90])).max() <= 1e-6
    np.testing.assert_allclose(traj.charges, full.charges[30:90])
    oxygens = Trajectory.from_mdanalysis(group, targets="name OH2")   # indices within the group
    np.testing.assert_array_equal(oxygens.targets[:, 0], np.arange(0, 60, 3))
    np.testing.assert_array_equal(select_targets(group, "name OH2"), oxygens.targets)
    np.testing.assert_array_equal(select_targets(universe, "name OH2")[:3, 0], [0, 3, 6])


def test_frame_times_that_cannot_be_trusted_need_dt():
    lammps = mda.Universe(data.LAMMPSdata2, data.LAMMPSdcd2)    # time in the run's unit, not AKMA
    with pytest.raises(GdynetError, match="LAMMPS DCD stores its time in the run's unit.*pass dt="):
        read_trajectory(lammps, targets="O")
    _same(read_trajectory(lammps, targets="O", dt="0.5ps"),
          read_trajectory(data.LAMMPSdcd2, topology=data.LAMMPSdata2, targets="O", timestep="2fs"))
    pdb = mda.Universe(data.PDB_small)                          # no time at all
    with pytest.raises(GdynetError, match=r"not from PDBReader; pass dt="):
        read_trajectory(pdb, targets="name CA")
    from MDAnalysis.coordinates.memory import MemoryReader

    memory = mda.Universe(data.PSF_TRICLINIC, np.asarray(mda.Universe(data.PSF_TRICLINIC, data.DCD_TRICLINIC)
                                                         .trajectory.timeseries(order="fac")), format=MemoryReader)
    with pytest.raises(GdynetError, match="MemoryReader"):
        read_trajectory(memory, targets="name OH2")
    with pytest.raises(GdynetError, match="not used for an MDAnalysis object: timestep; leave it out"):
        read_trajectory(memory, targets="name OH2", timestep="1fs")
    with pytest.raises(GdynetError, match="targets needed"):
        read_trajectory(memory, dt=1.0)


def _frames(n=4, dt_ps=0.25):
    from ase import Atoms, units

    rng = np.random.default_rng(0)
    cell = np.array([[8.0, 0, 0], [1.0, 9.0, 0], [0, 0, 10.0]])
    frames = []
    for i in range(n):
        atoms = Atoms("Li2O2", positions=rng.random((4, 3)) * 7.0, cell=cell, pbc=(True, True, False),
                      charges=[1.0, 1.0, -1.0, -1.0])
        atoms.info["time"] = i * dt_ps * 1000 * units.fs
        frames.append(atoms)
    return frames


def test_ase_frames_give_what_their_extxyz_file_gives(tmp_path):
    from ase.io import iread, write

    frames = _frames()
    write(tmp_path / "f.extxyz", frames, format="extxyz")
    from_file = read_trajectory(tmp_path / "f.extxyz", targets="Li")
    from_list = read_trajectory(frames, targets="Li")
    _same(from_list, from_file)
    assert from_list.dt_ps == pytest.approx(0.25) and from_list.pbc == (True, True, False)
    np.testing.assert_allclose(from_list.charges, [1, 1, -1, -1])
    _same(read_trajectory(iread(tmp_path / "f.extxyz"), targets="Li"), from_file)         # a generator
    _same(Trajectory.from_ase(frames, targets="Li", stride=2), read_trajectory(tmp_path / "f.extxyz", targets="Li",
                                                                              stride=2))
    one = Trajectory.from_ase(frames[0], targets="O", dt="1fs")
    assert one.n_frames == 1 and one.dt_ps == pytest.approx(0.001) and one.n_targets == 2


def test_ase_frames_are_checked():
    frames = _frames()
    del frames[0].info["time"]
    with pytest.raises(GdynetError, match="no time.*pass dt="):
        read_trajectory(frames, targets="Li")
    assert read_trajectory(frames, targets="Li", dt=0.25).dt_ps == 0.25
    with pytest.raises(GdynetError, match="elements or the atom order change at frame 2"):
        read_trajectory(frames[:2] + [frames[2][[1, 0, 2, 3]][[0, 2, 1, 3]]], targets="Li", dt=1.0)
    with pytest.raises(GdynetError, match="expected ase.Atoms frames, got int"):
        read_trajectory([1, 2], targets="Li", dt=1.0)
    with pytest.raises(GdynetError, match="not used for ase.Atoms frames: type_map"):
        read_trajectory(frames, targets="Li", dt=1.0, type_map="1=Li")
    with pytest.raises(GdynetError, match="no frames given"):
        read_trajectory([], targets="Li", dt=1.0)


def test_trajectory_resolves_element_and_selection_targets():
    rng = np.random.default_rng(1)
    positions = rng.random((3, 6, 3)) * 10.0
    numbers = np.array([3, 8, 3, 8, 1, 1])
    li = Trajectory(positions=positions, cells=np.eye(3) * 10.0, numbers=numbers, dt_ps=0.1, targets="Li")
    np.testing.assert_array_equal(li.targets, [[0], [2]])
    assert Trajectory(positions=positions, cells=np.eye(3) * 10.0, numbers=numbers, dt_ps=0.1,
                      targets=4).targets.ravel().tolist() == [4]                    # an int is an atom index
    high = Trajectory(positions=positions, cells=np.eye(3) * 10.0, numbers=numbers, dt_ps=0.1,
                      targets="name O and prop z > 5")
    assert set(high.targets.ravel()) == {i for i in (1, 3) if positions[0, i, 2] > 5}
    with pytest.raises(GdynetError, match="no Na atoms to use as targets"):
        Trajectory(positions=positions, cells=np.eye(3) * 10.0, numbers=numbers, dt_ps=0.1, targets="Na")
