"""select_targets: every spelling, molecules from bonds under PBC, and every error path."""
import numpy as np
import pytest

from gdynet import GdynetError, Trajectory, select_targets
from gdynet.trajectory.targets import bonded_fragments, element_counts

BOX = 12.0


def _water_box():
    """Li+, 3 waters (one split across the periodic boundary), a TFSI-like S2 fragment and a stray O.

    Atoms: 0 Li | 1-3 H2O | 4-6 H2O (H at x = 11.9 + 0.96 -> wraps to 0.86) | 7-9 H2O | 10 O.
    """
    h1, h2 = np.array([0.96, 0.0, 0.0]), np.array([-0.24, 0.93, 0.0])
    oxygens = [np.array([3.0, 3.0, 3.0]), np.array([11.9, 6.0, 3.0]), np.array([3.0, 9.0, 9.0])]
    pos = [[6.0, 6.0, 9.0]]
    for o in oxygens:
        pos += [o, o + h1, o + h2]
    pos.append([8.0, 2.0, 6.0])
    numbers = np.array([3] + [8, 1, 1] * 3 + [8])
    return numbers, np.array(pos) % BOX, np.eye(3) * BOX


def _traj():
    numbers, pos, cell = _water_box()
    return Trajectory(positions=pos[None], cells=cell, numbers=numbers, dt_ps=0.01, targets=[0], source="box.xyz")


def test_element_and_index_spellings():
    traj = _traj()
    np.testing.assert_array_equal(select_targets(traj, "Li"), [[0]])
    with pytest.warns(FutureWarning, match="targets=8 is atom 8.*atomic number 8.*targets='O'"):
        np.testing.assert_array_equal(select_targets(traj, 8), [[8]])       # an int is an index (issue 23)
    np.testing.assert_array_equal(select_targets(traj, {"element": 8}), [[1], [4], [7], [10]])
    np.testing.assert_array_equal(select_targets(traj, "1, 4,7"), [[1], [4], [7]])
    np.testing.assert_array_equal(select_targets(traj, [10, 0]), [[10], [0]])  # order kept as given
    np.testing.assert_array_equal(select_targets(traj, {"element": "Li"}), [[0]])
    np.testing.assert_array_equal(select_targets(traj, {"indices": [4, 7]}), [[4], [7]])
    np.testing.assert_array_equal(select_targets(traj, np.array([[1, 2], [4, 5]])), [[1, 2], [4, 5]])
    out = select_targets(traj.numbers, "O")
    assert out.dtype == np.int64 and out.shape == (4, 1)
    assert element_counts(traj.numbers) == {"H": 6, "Li": 1, "O": 4}


def test_water_molecules_from_bonds_across_the_boundary():
    traj = _traj()
    waters = select_targets(traj, "molecules:H2O")
    np.testing.assert_array_equal(waters, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    np.testing.assert_array_equal(select_targets(traj, "molecules: OH2"), waters)
    np.testing.assert_array_equal(select_targets(traj, "molecules:O"), [[10]])
    trajectory = traj.with_targets(waters)
    assert trajectory.target_size == 3 and trajectory.n_targets == 3


def test_ions_do_not_bond_into_molecules():
    numbers, pos, cell = _water_box()
    pos[0] = pos[1] + [0.0, 0.0, 1.9]  # Li+ at 1.9 Å from a water oxygen
    np.testing.assert_array_equal(select_targets(numbers, "molecules:H2O", positions=pos, cell=cell),
                                  [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    np.testing.assert_array_equal(select_targets(numbers, "molecules:LiH2O", positions=pos, cell=cell),
                                  [[0, 1, 2, 3]])


def test_bonded_fragments_known_answer_triclinic():
    # an O-H pair bonded only through the tilted periodic boundary
    cell = np.array([[5.0, 0.0, 0.0], [2.0, 5.0, 0.0], [0.0, 0.0, 5.0]])
    pos = np.array([[0.1, 0.1, 0.1], [0.1 + 2.0, 0.1 + 5.0 - 0.9, 0.1], [2.5, 2.5, 2.5]])
    groups = bonded_fragments(np.array([8, 1, 8]), pos, cell)
    assert [g.tolist() for g in groups] == [[0, 1], [2]]


def test_molecules_are_not_bonded_across_an_open_face():
    """A water split by the z boundary of a slab box is one molecule only when z is periodic."""
    cell = np.eye(3) * 10.0
    numbers = np.array([8, 1, 1, 8, 1, 1])
    pos = np.array([[5.0, 5.0, 0.3], [5.0, 5.76, 9.7], [5.0, 4.24, 9.7],      # split across z
                    [2.0, 2.0, 5.0], [2.0, 2.76, 5.6], [2.0, 1.24, 5.6]])     # whole, mid-box
    both = select_targets(numbers, "molecules:H2O", positions=pos, cell=cell)
    np.testing.assert_array_equal(both, [[0, 1, 2], [3, 4, 5]])
    slab = select_targets(numbers, "molecules:H2O", positions=pos, cell=cell, pbc=(True, True, False))
    np.testing.assert_array_equal(slab, [[3, 4, 5]])


@pytest.mark.parametrize("spec, message", [
    ("Xx", "unknown element 'Xx'"),
    ("li", "unknown element 'li'"),
    ({"element": 0}, "unknown atomic number 0"),
    (11, r"target index 11 is out of range \(atoms are 0..10\)"),
    (8 + 100, r"target index 108 is out of range"),
    ("Na", r"no Na atoms to use as targets \(atoms present: H x6, Li x1, O x4\)"),
    ([0, 11], r"target index 11 is out of range \(atoms are 0..10\)"),
    ("3,-1", "invalid MDAnalysis selection '3,-1': SelectionError"),
    ([], "empty"),
    ([1, 1], "atom 1 appears more than once"),
    ([[1, 2], [3]], "unequal sizes"),
    ([0.5], "integer atom indices"),
    ("name OW", r"selection 'name OW' matches no atoms in the first frame \(without a topology atom names, "
                r"types and elements are the element symbols: H, Li, O\)"),
    ("residues:resname SOL", "needs topology="),
    ("molecules:H2Q", "not a chemical formula"),
    ("molecules:NH3", r"no NH3 molecules among the bonded fragments of frame 0 \(found: H2O x3"),
    (True, "targets must be"),
    ({"select": "name OW", "element": "O"}, "exactly one key"),
    ({"resname": "SOL"}, "unknown targets mapping"),
    ("select:name OW", "selection 'name OW' matches no atoms"),
])
def test_bad_specs_are_one_line_errors_naming_the_file(spec, message):
    with pytest.raises(GdynetError, match=message) as info:
        select_targets(_traj(), spec)
    text = str(info.value)
    assert text.startswith("box.xyz: ") and "\n" not in text


def test_molecules_need_coordinates_and_finite_ones():
    numbers, pos, cell = _water_box()
    with pytest.raises(GdynetError, match="needs positions and a cell"):
        select_targets(numbers, "molecules:H2O", source="x.npz")
    pos[3, 0] = np.nan
    with pytest.raises(GdynetError, match="NaN"):
        select_targets(numbers, "molecules:H2O", positions=pos, cell=cell, source="x.npz")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_topology_selection_residues_and_unequal_molecules(tmp_path):
    import MDAnalysis as mda

    numbers, pos, cell = _water_box()
    u = mda.Universe.empty(11, n_residues=5, atom_resindex=[0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4],
                           residue_segindex=[0] * 5, trajectory=True)
    u.add_TopologyAttr("name", ["LI"] + ["OW", "HW1", "HW2"] * 3 + ["OX"])
    u.add_TopologyAttr("resname", ["LI", "SOL", "SOL", "SOL", "OX"])
    u.add_TopologyAttr("resid", [1, 2, 3, 4, 5])
    traj = _traj()
    np.testing.assert_array_equal(select_targets(traj, "name OW", topology=u), [[1], [4], [7]])
    np.testing.assert_array_equal(select_targets(traj, "select:name LI", topology=u), [[0]])
    np.testing.assert_array_equal(select_targets(traj, {"select": "name OW"}, topology=u), [[1], [4], [7]])
    np.testing.assert_array_equal(select_targets(traj, {"molecules": "H2O"}, topology=u), [[1, 2, 3], [4, 5, 6],
                                                                                          [7, 8, 9]])
    np.testing.assert_array_equal(select_targets(traj, "residues:resname SOL and not name HW2", topology=u),
                                  [[1, 2], [4, 5], [7, 8]])
    np.testing.assert_array_equal(select_targets(traj, "molecules:H2O", topology=u),
                                  [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    with pytest.raises(GdynetError, match="molecules of unequal size: residues of 'all' have 1 to 3 atoms"):
        select_targets(traj, "residues:all", topology=u)
    with pytest.raises(GdynetError, match="no H2O2 molecules among the residues of the topology"):
        select_targets(traj, "molecules:H2O2", topology=u)
    with pytest.raises(GdynetError, match="topology has 3 atoms but the trajectory has 11"):
        select_targets(traj, "name OW", topology=mda.Universe.empty(3, trajectory=True))
    top = tmp_path / "box.gro"
    u.dimensions = [BOX, BOX, BOX, 90, 90, 90]
    u.atoms.positions = pos
    u.atoms.write(str(top))
    np.testing.assert_array_equal(select_targets(traj, "resname SOL and name OW", topology=top), [[1], [4], [7]])
    with pytest.raises(GdynetError, match="cannot read topology"):
        select_targets(traj, "name OW", topology=tmp_path / "missing.gro")


def test_organic_molecules_and_water_from_ase_geometries():
    from ase import Atoms
    from ase.build import molecule

    parts = [molecule("CH3CH2OH"), molecule("H2O"), molecule("CH3CH2OH"), molecule("H2O"), Atoms("Li")]
    offsets = [[3, 3, 3], [10, 3, 3], [3, 10, 10], [10, 10, 3], [10, 3, 10]]
    system = Atoms(cell=np.eye(3) * 14.0, pbc=True)
    for part, offset in zip(parts, offsets):
        part.translate(offset)
        system += part
    numbers, pos, cell = system.numbers, system.positions, system.cell.array
    ethanol = select_targets(numbers, "molecules:C2H6O", positions=pos, cell=cell)
    np.testing.assert_array_equal(ethanol, [np.arange(0, 9), np.arange(12, 21)])
    water = select_targets(numbers, "molecules:H2O", positions=pos, cell=cell)
    np.testing.assert_array_equal(water, [[9, 10, 11], [21, 22, 23]])


def test_overlapping_molecules_are_left_out_with_a_warning():
    """Two waters close enough to bond into H4O2 are not targets, and the user is told so."""
    from gdynet.base.errors import GdynetWarning

    water = np.array([[0, 0, 0], [0.757, 0.586, 0], [-0.757, 0.586, 0]])
    positions = np.concatenate([water + [2, 2, 2], water + [6, 6, 6], water + [6.9, 6.0, 6.0]])
    numbers = np.array([8, 1, 1] * 3)
    with pytest.warns(GdynetWarning, match=r"H4O2 x1"):
        sets = select_targets(numbers, "molecules:H2O", positions=positions, cell=np.eye(3) * 12.0,
                              source="w.xyz")
    assert sets.tolist() == [[0, 1, 2]]
