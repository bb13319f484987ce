"""Issue 9 on the real files of the MDAnalysisTests package (its ``datafiles`` names), and a fast
subset of ``benchmarks/compare_readers.py`` (gdynet vs MDAnalysis on the same trajectories)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from gdynet import GdynetError, read_trajectory
from gdynet.base.errors import GdynetWarning

data = pytest.importorskip("MDAnalysisTests.datafiles")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


def test_lammps_dcd_is_recognised_and_needs_the_md_step():
    """Item 1: 250 steps of 2 fs between frames = 0.5 ps (not 24.44 ps in CHARMM AKMA units)."""
    with pytest.raises(GdynetError, match="LAMMPS DCD .* 250 steps of 2 apart; pass timestep="):
        read_trajectory(data.LAMMPSdcd2, topology=data.LAMMPSdata2, targets="O")
    traj = read_trajectory(data.LAMMPSdcd2, topology=data.LAMMPSdata2, targets="O", timestep="2fs")
    assert traj.dt_ps == pytest.approx(0.5) and traj.dt_source == "DCD step interval x --timestep"
    with pytest.raises(GdynetError, match="--timestep 0.001 ps disagrees with the DCD header's step 2"):
        read_trajectory(data.LAMMPSdcd2, topology=data.LAMMPSdata2, targets="O", timestep="1fs")
    import MDAnalysis as mda

    charges = mda.Universe(data.LAMMPSdata2).atoms.charges              # issue 12 item 2: charges in e
    np.testing.assert_allclose(traj.charges, charges)
    assert abs(traj.charges.sum()) < 1e-3


def test_lammps_dump_timestep_compressed():
    """Items 2 and 7: TIMESTEP 100 apart x 2 fs = 0.2 ps, from a .bz2 dump."""
    traj = read_trajectory(data.LAMMPSDUMP_allcoords, timestep="2fs", type_map="1=O,2=H", targets="O")
    assert traj.dt_ps == pytest.approx(0.2) and traj.dt_source == "dump TIMESTEP x --timestep"
    assert traj.n_frames == 11 and traj.n_atoms == 4500
    water = read_trajectory(data.LAMMPSDUMP, timestep="1fs", type_map="1=H,2=O", targets="molecules:H2O")
    assert water.n_targets == 8 and water.dt_ps == pytest.approx(0.5)      # TIMESTEP 0, 500, 1000
    with pytest.raises(GdynetError, match="disagrees with dump TIMESTEP x --timestep = 0.5 ps"):
        read_trajectory(data.LAMMPSDUMP, dt="1fs", timestep="1fs", type_map="1=H,2=O", targets="O")


def test_tip4p_virtual_sites_are_dropped_and_tpr_elements_and_charges_kept():
    """Item 3 on adk_oplsaa (GRO and TPR) and cobrotoxin (TPR, one atom type without element)."""
    with pytest.warns(GdynetWarning, match="left out 11084 massless particles \\(virtual sites: names MW\\)"):
        gro = read_trajectory(data.XTC, topology=data.GRO, targets="molecules:H2O")
    assert gro.n_targets == 11084 and gro.target_size == 3 and gro.charges is None
    assert set(gro.symbols) == {"C", "H", "N", "O", "S", "Na"}        # Na+ from the ion name, not nitrogen
    with pytest.warns(GdynetWarning, match="left out 4612 massless"):
        cobro = read_trajectory(data.XTC_sub_sol, topology=data.TPR_xvf, targets="name OW")
    assert cobro.numbers.min() > 0 and set(cobro.symbols) == {"C", "H", "N", "O", "S", "Cl", "Na"}
    import MDAnalysis as mda

    atoms = mda.Universe(data.TPR_xvf).atoms
    kept = atoms.masses > 0
    np.testing.assert_allclose(cobro.charges[:100], atoms.charges[kept][:100])   # issue 12 item 2: TPR charges
    assert cobro.charges.sum() == pytest.approx(atoms.charges.sum(), abs=1e-3)  # MW charges moved onto the O
    ow = np.flatnonzero(np.asarray(atoms.names)[kept] == "OW")
    np.testing.assert_allclose(cobro.charges[ow], -1.04, atol=1e-3)             # TIP4P: M charge on O


@pytest.mark.parametrize("trajectory, topology", [("DCD_TRICLINIC", "PSF_TRICLINIC"), ("TRJ_NCBOX", "PRM_NCBOX")])
def test_psf_and_prmtop_charges(trajectory, topology):
    """Issue 12 item 2: partial charges of a PSF and a PRMTOP topology, in e."""
    import MDAnalysis as mda

    traj = read_trajectory(getattr(data, trajectory), topology=getattr(data, topology), targets=[0])
    np.testing.assert_allclose(traj.charges, mda.Universe(getattr(data, topology)).atoms.charges)
    assert traj.charges.sum() == pytest.approx(0.0, abs=1e-3) and np.ptp(traj.charges) > 0.5


def test_dump_element_mass_columns_and_type_map():
    """Item 5: an explicit type_map wins over element/mass columns; element X is refused with the fix."""
    own = read_trajectory(data.LAMMPSDUMP_allinfo, dt="1fs", targets=[0])
    assert set(own.symbols) == {"C", "H", "N", "O"} and own.charges is not None
    assert own.symbols[:2] == ["C", "H"]                         # atom 1 is type 9 (C), atom 2 type 6 (H)
    mapped = read_trajectory(data.LAMMPSDUMP_allinfo, dt="1fs", targets=[0], type_map="9=Si")
    assert mapped.symbols[:2] == ["Si", "H"] and mapped.symbols.count("Si") == own.symbols.count("C") - sum(
        1 for s, t in zip(own.symbols, _types(data.LAMMPSDUMP_allinfo)) if s == "C" and t != "9")
    with pytest.raises(GdynetError, match=r"element column X.*--type-map 6=\?$"):
        read_trajectory(data.LAMMPSDUMP_nomass_elemx, dt="1fs", targets=[0])


def test_cryptic_errors_are_one_line_naming_the_file():
    """Item 8: no coordinate columns; format='dcd' on an AMBER file."""
    for path, kwargs, message in [
        (data.LAMMPSDUMP_nocoords, dict(dt="1fs", type_map="1=O,2=H"), "no coordinate columns"),
        (data.TRJ, dict(topology=data.PRM, format="dcd"), "not a readable DCD file"),
        (data.LAMMPSDUMP_additional_columns, dict(timestep="1fs", type_map="1=O"), "needs a 'type' column"),
    ]:
        with pytest.raises(GdynetError, match=message) as info:
            read_trajectory(path, targets=[0], **kwargs)
        assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_slab_dump_is_periodic_in_x_and_y_only(tmp_path):
    """Item 4 on additional_columns.lammpstrj (``pp pp ff``; a type column added, as it has none)."""
    text = Path(data.LAMMPSDUMP_additional_columns).read_text().replace("id x y z q p", "id x y z q p type")
    lines = [line + " 1" if line[:1].isdigit() and len(line.split()) == 6 else line for line in text.splitlines()]
    slab = tmp_path / "slab.lammpstrj"
    slab.write_text("\n".join(lines) + "\n")
    traj = read_trajectory(slab, dt="1fs", type_map="1=Au", targets=[0])
    assert traj.pbc == (True, True, False)
    np.testing.assert_allclose(traj.charges[:2], [0.00258855, 6.91952e-05])


def _types(path):
    lines = Path(path).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("ITEM: ATOMS"))
    column = lines[start].split()[2:].index("type")
    rows = [line.split() for line in lines[start + 1:start + 31]]
    return [r[column] for r in sorted(rows, key=lambda r: int(r[0]))]


def test_fast_subset_agrees_with_mdanalysis():
    spec = importlib.util.spec_from_file_location(
        "compare_readers", Path(__file__).resolve().parents[1] / "benchmarks" / "compare_readers.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module              # dataclasses look their module up
    spec.loader.exec_module(module)
    for case in module.CASES:
        if case[0] in module.QUICK:
            row = module.compare(*case)
            assert not row.problems, (row.name, row.problems)
            assert row.position_err <= module.POSITION_TOL and row.frames > 1


def test_multi_model_nmr_pdb_is_its_own_topology_and_not_periodic():
    with pytest.warns(GdynetWarning, match="no cell in the file: read as non-periodic"):
        traj = read_trajectory(data.PDB_multiframe, dt="1ps", targets="name CA")
    assert traj.n_frames == 24 and traj.pbc == (False, False, False) and traj.dt_source == "--dt"
    extent = np.ptp(traj.positions[3], axis=0)
    np.testing.assert_allclose(np.diag(traj.cells[3]), extent + 20.0, rtol=1e-6)     # bounding cell, 10 Å pad
