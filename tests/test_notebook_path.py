"""The notebook path never silently wrong (issue 23), each point as a user meets it: ASE cells without pbc,
integer targets, the numbering of AtomGroup targets, chi paired with its trajectory, timescale verdicts in
Python, figures that lay out, deeptime/scikit-learn conventions, immutability and units.

Systems: a 24-Li hopper built as a list of ``ase.Atoms`` (the toy's Li in a 2x3x4 FCC S supercell), an
ASE EMT Cu slab, MDAnalysisTests PSF/DCD and GRO/XTC (TIP4P)."""
from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import gdynet
from gdynet import GdynetError, StateProbabilities
from gdynet.base.errors import GdynetWarning
from koopman_chains import P3, one_hot, simulate
from test_python_surface import PLOTS, results, system  # noqa: F401  (fixtures: every result to plot)

A = 6.5                                                   # the toy's FCC S lattice constant (Å)
OFFSETS = np.array([[i, j, k] for i in range(2) for j in range(3) for k in range(4)], dtype=float) * A
SUPERCELL = np.diag([2 * A, 3 * A, 4 * A])
#: a tiny network (seconds per fit), as tests/test_estimator.py
SETTINGS = dict(n_states=2, lag=5, neighbors=12, cutoff=6.0, atom_features=8, conv_layers=1, hidden=(8,),
                epochs=2, seed=0, device="cpu", progress=False)


@pytest.fixture(scope="module")
def hopper():
    """24 Li (atoms 0-23) hopping in a 2x3x4 supercell of the toy's FCC S (96 S, atoms 24-119): each Li is
    one toy replica in its own cell; positions wrapped into the supercell, (frames, 120, 3) Å."""
    data = gdynet.toy_li_fcc(n_trajectories=24, n_frames=60, equilibration_ps=2.0, seed=3)
    s = np.asarray(data.trajectories[0].positions[0, 1:], dtype=float)
    s_all = (s[None] + OFFSETS[:, None]).reshape(-1, 3)
    li = np.stack([np.asarray(t.positions[:, 0], dtype=float) for t in data.trajectories], axis=1) + OFFSETS
    positions = np.concatenate([li, np.broadcast_to(s_all, (li.shape[0], 96, 3))], axis=1)
    return positions - np.floor(positions @ np.linalg.inv(SUPERCELL)) @ SUPERCELL


def hopper_atoms(positions, pbc=None):
    """The hopper as ASE users build it: ``ase.Atoms(symbols, positions, cell=...)``, ASE's default pbc=False."""
    from ase import Atoms

    frames = [Atoms(numbers=[3] * 24 + [16] * 96, positions=p, cell=SUPERCELL) for p in positions]
    if pbc is not None:
        for atoms in frames:
            atoms.pbc = pbc
    return frames


@pytest.fixture(scope="module")
def cu_slab():
    """An ASE EMT Cu(100) slab (pbc True, True, False), 8 frames of Verlet MD 5 fs apart."""
    from ase import units
    from ase.build import fcc100
    from ase.calculators.emt import EMT
    from ase.md.verlet import VelocityVerlet

    slab = fcc100("Cu", size=(3, 3, 4), vacuum=6.0)
    slab.calc = EMT()
    slab.set_velocities(np.random.default_rng(0).normal(scale=0.02, size=(len(slab), 3)))   # Å/fs-ish, ~600 K
    md, frames = VelocityVerlet(slab, 5 * units.fs), []
    for _ in range(8):
        md.run(1)
        frames.append(slab.copy())
    return frames


# ----------------------------------------------------------------- 1. ASE cells without pbc
def test_an_ase_cell_without_pbc_warns_naming_pbc(hopper):
    with pytest.warns(GdynetWarning, match=r"pbc=False along every axis \(ASE's default\).*atoms.pbc = True.*pbc=True"):
        traj = gdynet.read_trajectory(hopper_atoms(hopper), dt="0.1ps", targets="Li")
    assert traj.pbc == (False, False, False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gdynet.read_trajectory(hopper_atoms(hopper, True), dt="0.1ps", targets="Li").pbc == (True,) * 3
        assert gdynet.read_trajectory(hopper_atoms(hopper), dt="0.1ps", targets="Li", pbc=True).pbc == (True,) * 3
        assert gdynet.read_trajectory(hopper_atoms(hopper), dt="0.1ps", targets="Li", pbc=False).pbc == (False,) * 3


def test_an_ase_file_with_a_cell_and_no_pbc_warns_too(hopper, tmp_path):
    from ase.io import write

    write(tmp_path / "h.extxyz", hopper_atoms(hopper[:4]), format="extxyz")        # Lattice=..., pbc="F F F"
    with pytest.warns(GdynetWarning, match=r"h.extxyz: the cell has pbc=False along every axis.*--pbc xyz"):
        assert gdynet.read_trajectory(tmp_path / "h.extxyz", dt="0.1ps", targets="Li").pbc == (False,) * 3


def test_an_ase_cell_without_pbc_and_atoms_outside_it_is_refused(hopper):
    unwrapped = hopper.copy()
    unwrapped[30:, 5] += SUPERCELL[0]                        # Li 5 crosses the boundary (unwrapped coordinates)
    with pytest.raises(GdynetError, match=r"pbc=False along every axis.*atom 5 of frame 30 lies outside it.*"
                                          r"atoms.pbc = True") as info:
        gdynet.read_trajectory(hopper_atoms(unwrapped), dt="0.1ps", targets="Li")
    assert "\n" not in str(info.value)
    traj = gdynet.read_trajectory(hopper_atoms(unwrapped, True), dt="0.1ps", targets="Li")   # periodic: fine
    assert traj.pbc == (True, True, True)


def test_an_ase_slab_keeps_its_own_periodicity(cu_slab):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        slab = gdynet.read_trajectory(cu_slab, dt="5fs", targets="prop z > 10")
    assert slab.pbc == (True, True, False) and slab.n_targets > 0
    frames = [atoms.copy() for atoms in cu_slab]
    for atoms in frames:
        atoms.pbc = False                                    # the surface atoms at x = 0 move out of the cell
    with pytest.raises(GdynetError, match=r"pbc=False along every axis.*lies outside it.*pbc='xy' for a slab"):
        gdynet.read_trajectory(frames, dt="5fs", targets="Cu")
    for atoms in frames:
        atoms.wrap(pbc=(True, True, False))
    with pytest.warns(GdynetWarning, match="pbc=False along every axis"):
        assert gdynet.read_trajectory(frames, dt="5fs", targets="Cu").pbc == (False, False, False)


# ----------------------------------------------------------------- 2. an int target is an atom index
def test_an_int_target_is_an_atom_index(hopper):
    frames = hopper_atoms(hopper, True)
    with pytest.warns(FutureWarning, match=r"targets=16 is atom 16.*atomic number 16, the 96 S atoms.*targets='S'"):
        traj = gdynet.read_trajectory(frames, dt="0.1ps", targets=16)
    assert traj.targets.tolist() == [[16]] and traj.symbols[16] == "Li"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gdynet.read_trajectory(frames, dt="0.1ps", targets=[16]).targets.tolist() == [[16]]
        assert gdynet.read_trajectory(frames, dt="0.1ps", targets="S").n_targets == 96
        assert gdynet.read_trajectory(frames, dt="0.1ps", targets=40).targets.tolist() == [[40]]   # no Zr: an index
        assert gdynet.read_trajectory(frames, dt="0.1ps", targets={"element": 16}).n_targets == 96
    with pytest.raises(GdynetError, match=r"target index 200 is out of range \(atoms are 0..119\)"):
        gdynet.read_trajectory(frames, dt="0.1ps", targets=200)
    small = [frame[[0, 30]] for frame in frames]               # Li, S: targets=16 cannot be an index there
    with pytest.raises(GdynetError, match=r"targets=16: an int is an atom index.*atoms are 0..1.*targets='S'"):
        gdynet.read_trajectory(small, dt="0.1ps", targets=16)
    doc = gdynet.select_targets.__doc__ + sys.modules["gdynet.trajectory.targets"].__doc__
    assert "an atom index" in doc and "FutureWarning" in doc


def test_the_cli_target_index_is_an_index(tmp_path, hopper):
    from ase.io import write

    write(tmp_path / "h.extxyz", hopper_atoms(hopper[:3], True), format="extxyz")
    from gdynet.commands.options import targets_option as _targets

    assert _targets("16", None, None) == "16" and _targets(None, "16", None) == [16]
    traj = gdynet.read_trajectory(tmp_path / "h.extxyz", dt="0.1ps", targets="16")      # --target 16
    assert traj.targets.tolist() == [[16]]


# ----------------------------------------------------------------- 3. AtomGroup numbering
def test_atom_group_targets_are_in_the_universe_numbering():
    import MDAnalysis as mda
    from MDAnalysisTests import datafiles as data

    universe = mda.Universe(data.PSF, data.DCD)
    group = universe.select_atoms("resid 50:60")
    with pytest.warns(GdynetWarning, match="no cell"):
        traj = gdynet.read_trajectory(group, targets="name CA")
    ca = group.select_atoms("name CA")
    np.testing.assert_array_equal(traj.file_targets()[:, 0], ca.indices)              # Universe numbering
    assert set(universe.atoms[traj.file_targets()[:, 0]].names) == {"CA"}
    np.testing.assert_array_equal(traj.targets[:, 0], np.searchsorted(group.indices, ca.indices))  # own atoms
    with pytest.warns(GdynetWarning, match="no cell"):
        by_index = gdynet.read_trajectory(group, targets=[int(ca.indices[2])])      # an index: the Universe's
    assert by_index.file_targets().tolist() == [[int(ca.indices[2])]]
    with pytest.raises(GdynetError, match="target atom 0 is not in the AtomGroup"):
        gdynet.read_trajectory(group, targets=[0])


def test_tip4p_atom_group_targets_keep_the_universe_numbering():
    import MDAnalysis as mda
    from MDAnalysisTests import datafiles as data

    universe = mda.Universe(data.GRO, data.XTC)
    waters = universe.select_atoms("resname SOL")[:200]                      # 50 TIP4P molecules, MW massless
    with pytest.warns(GdynetWarning, match="left out 50 massless"):
        traj = gdynet.read_trajectory(waters, targets="name OW", stride=5)
    assert traj.n_atoms == 150 and traj.n_targets == 50
    assert set(universe.atoms[traj.file_targets()[:, 0]].names) == {"OW"}
    np.testing.assert_array_equal(traj.file_targets()[:, 0], waters.select_atoms("name OW").indices)
    assert set(np.asarray(traj.symbols)[traj.targets[:, 0]]) == {"O"}                # traj.targets: its own atoms
    assert "into this Trajectory's atoms" in gdynet.Trajectory.__doc__          # each numbering named
    assert "Universe" in gdynet.Trajectory.file_targets.__doc__


# ----------------------------------------------------------------- 4, 7, 8. a fitted model on the hopper
@pytest.fixture(scope="module")
def fitted(hopper):
    frames = hopper_atoms(hopper, True)
    trajs = [gdynet.read_trajectory(frames[:30], dt="0.1ps", targets="Li"),
             gdynet.read_trajectory(frames[30:], dt="0.1ps", targets="Li")]
    estimator = gdynet.GDyNetEstimator(**{**SETTINGS, "lag": 2})
    assert estimator.model is None and not estimator.has_model
    model = estimator.fit_fetch(trajs)
    return estimator, model, trajs


def test_chi_of_another_trajectory_is_refused(fitted):
    _, model, (a, b) = fitted
    chi_a, chi_b = model.transform([a, b])                                        # a list gives a list
    assert chi_a.trajectory_id == gdynet.base.states.trajectory_id(a) != chi_b.trajectory_id
    assert chi_a.shape == chi_b.shape and np.array_equal(chi_a.targets, chi_b.targets)   # shapes alone agree
    rdf = gdynet.state_rdf(a, chi_a, "S", r_max=4.0, n_bins=10)
    analyses = [lambda **k: gdynet.state_rdf(a, chi_b, "S", r_max=4.0, n_bins=10, **k),
                lambda **k: gdynet.state_profile(a, chi_b, n_bins=4, **k),
                lambda **k: gdynet.state_snapshot(a, chi_b, **k),
                lambda **k: gdynet.state_order_parameter(a, chi_b, cutoff=3.0, n_bins=5, **k),
                lambda **k: gdynet.transition_conduction(a, chi_b, 2, temperature_K=None, **k)]
    for analysis in analyses:
        with pytest.raises(GdynetError, match=r"chi was computed from another trajectory.*check_source=False") as info:
            analysis()
        assert "\n" not in str(info.value)
        analysis(check_source=False)                                              # a user who knows
    with pytest.raises(GdynetError, match="another trajectory"):
        gdynet.state_rdf([a, b], [chi_b, chi_a], "S", r_max=4.0, n_bins=10)
    assert rdf.g.shape[0] == 2
    assert gdynet.state_rdf(a, chi_a.values, "S", r_max=4.0, n_bins=10).g.shape == rdf.g.shape   # plain arrays: no record


def test_estimator_follows_deeptime_and_sklearn(fitted):
    estimator, model, (a, b) = fitted
    assert estimator.model is model and estimator.has_model and estimator.fetch_model() is model
    assert estimator.architecture == "gdynet" and "architecture" in estimator.get_params()
    with pytest.warns(DeprecationWarning, match=r"model=\.\.\.\) is now architecture="):
        old = gdynet.GDyNetEstimator(model="vampnet")
    assert old.architecture == "vampnet" and old.model is None
    with pytest.warns(DeprecationWarning, match="architecture"):
        assert old.set_params(model="gdynet").architecture == "gdynet"
    with pytest.raises(TypeError, match="unexpected keyword argument 'modle'"):
        gdynet.GDyNetEstimator(modle="gdynet")
    chis = gdynet.GDyNetEstimator(**{**SETTINGS, "lag": 2}).fit_transform([a, b])
    assert isinstance(chis, list) and len(chis) == 2 and chis[0].shape == (30, 24, 2)
    with pytest.raises(GdynetError, match="fit takes StateProbabilities \\(from GDyNetModel.transform\\)"):
        gdynet.KoopmanEstimator(lag=2).fit(a)


def _clone(estimator):
    """scikit-learn's clone, or what it does: a new object from get_params, the same parameters back."""
    try:
        from sklearn.base import clone
    except ImportError:
        params = estimator.get_params(deep=False)
        new = type(estimator)(**params)
        assert all(new.get_params()[k] is v for k, v in params.items())
        return new
    return clone(estimator)


def test_koopman_estimator_has_params_and_a_constructor_repr():
    est = gdynet.KoopmanEstimator(lag="0.5ps", reversible=True)
    assert est.get_params() == {"lag": "0.5ps", "dt_ps": None, "reversible": True, "epsilon": 1e-10}
    assert repr(est) == "KoopmanEstimator(lag='0.5ps', reversible=True)"
    copy = _clone(est)
    assert copy is not est and copy.get_params() == est.get_params() and not copy.has_model
    assert eval(repr(est), {"KoopmanEstimator": gdynet.KoopmanEstimator}).get_params() == est.get_params()
    assert est.set_params(lag=5, dt_ps=0.1).lag == 5 and est.dt_ps == 0.1
    with pytest.raises(GdynetError, match="unknown setting"):
        est.set_params(lags=3)
    with pytest.raises(GdynetError, match="epsilon"):
        est.set_params(epsilon=2.0)
    assert est.get_params()["epsilon"] == 1e-10                                   # a refused setting is not kept
    probs = StateProbabilities(one_hot(simulate(P3, 300, 4, 0), 3), 0.1)
    assert est.fit(probs).has_model and repr(est).endswith("# fitted") and est.model is est.fetch_model()
    assert "GDyNetEstimator(" in repr(gdynet.GDyNetEstimator(architecture="vampnet"))
    _clone(gdynet.GDyNetEstimator(lag="1ps", hidden=(8,)))


def test_model_meta_and_chi_values_are_read_only(fitted):
    _, model, (a, _) = fitted
    with pytest.raises(TypeError):
        model.meta["lag_frames"] = 99
    assert model.lag == 2 and model.with_meta(seed=7).seed == 7 and model.seed == 0
    chi = model.transform(a)
    assert not chi.values.flags.writeable
    with pytest.raises(ValueError):
        chi.values[0, 0, 0] = 1.0
    values = np.full((5, 2, 2), 0.5)
    values[3, 1] = [0.7, 0.7]
    with pytest.raises(GdynetError, match=r"frame 3, target set 1 is 0.7, 0.7 \(sums to 1.4\).*sum to 1 within 0.0001"):
        StateProbabilities(values, 0.1)
    values[3, 1] = [0.5, 0.5 + 5e-5]                                               # float32 round-off passes
    assert StateProbabilities(values, 0.1).n_frames == 5
    assert values.flags.writeable                                                  # the caller's array untouched


# ----------------------------------------------------------------- 5. verdicts on timescales in Python
def test_koopman_results_carry_the_timescale_verdicts():
    slow = np.array([[0.998, 0.002], [0.0005, 0.9995]])                       # t1 ~ 40 ps from 20 ps of data
    probs = StateProbabilities(one_hot(simulate(slow, 200, 100, 1), 2), 0.1)
    model = gdynet.KoopmanEstimator(lag=5).fit(probs).fetch_model()
    check = model.checks[0]
    assert isinstance(check, gdynet.TimescaleCheck) and check.lower_bound and not check.resolved
    assert model.lower_bound.tolist() == [True] and model.resolved.tolist() == [False]
    assert "lower bound" in repr(model) and "of data" in repr(model) and "a lower bound" in check.reason
    assert any("lower bound" in r for r in model.remarks) and "lower bound" in model.summary()
    fast = StateProbabilities(one_hot(simulate(P3, 3000, 8, 0), 3), 0.1)
    good = gdynet.KoopmanEstimator(lag=2).fit(fast).fetch_model()
    assert good.resolved.all() and "lower bound" not in repr(good) and not good.remarks
    its = gdynet.implied_timescales(fast, [1, 2, 5, 8], n_blocks=4)
    assert its.resolved.shape == its.lower_bound.shape == (4, 2)
    assert [c.to_dict() for c in good.check(its)] == [c.to_dict() for c in gdynet.check_timescales(
        its, good.timescales_ps, good.lag_ps, its.duration_ps)]                  # summary.json's rule
    assert its.check(2)[0].to_dict() == good.check(its)[0].to_dict() and its.check("0.2ps")[0].resolved
    its_slow = gdynet.implied_timescales(probs, [1, 5, 10], n_blocks=4)
    assert its_slow.lower_bound[:, 0].all() and "t1 a lower bound at every lag" in repr(its_slow)
    assert "check_timescales" in gdynet.__all__ and "TimescaleCheck" in gdynet.__all__


def test_populations_far_from_the_data_and_wide_intervals_get_a_remark():
    slow = np.array([[0.998, 0.002], [0.0005, 0.9995]])
    states = simulate(slow, 200, 6, 2)
    states[:, :3] = 0                                                             # half the sets never leave 0
    probs = StateProbabilities(one_hot(states, 2), 0.1)
    model = gdynet.KoopmanEstimator(lag=5).fit(probs).fetch_model()
    assert model.observed_populations == pytest.approx([2 / 3, 1 / 3])
    assert "(in the data 0.667, 0.333)" in repr(model) and "∞ (lower bound)" in repr(model)
    assert any("differ from those in the data (0.667, 0.333)" in r for r in model.remarks)
    wide = gdynet.population_intervals(probs, 5, n_blocks=3, ci_from="targets")
    assert np.any(wide.upper - wide.lower > 0.5) and wide.remark.startswith("wide intervals (state ")
    assert "wide intervals (see .remark)" in repr(wide)
    narrow = gdynet.population_intervals(StateProbabilities(one_hot(simulate(P3, 3000, 8, 0), 3), 0.1), 5)
    assert narrow.remark is None and "wide" not in repr(narrow)


# ----------------------------------------------------------------- 6. figures into your own axes
def _draw(fig):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                                          # tight_layout's "not compatible"
        if fig.get_layout_engine() is None:
            fig.tight_layout()
        FigureCanvasAgg(fig).draw()


def _grid(shape, layout):
    """The user's own figure: a 1x3 or 2x2 grid of simple panels, tight or constrained layout."""
    fig = Figure(figsize=(12, 4) if shape == (1, 3) else (9, 7), layout="constrained" if layout == "constrained" else None)
    axes = fig.subplots(*shape).ravel()
    for ax in axes:
        ax.plot([0, 1], [0, 1])
        ax.set_title("mine")
    return fig, axes


_PLAIN: dict = {}
HISTORY = [{"epoch": 1, "train": 1.2, "validation": 1.1}, {"epoch": 2, "train": 1.6, "validation": 1.5}]


@pytest.mark.parametrize("layout", ["tight", "constrained"])
@pytest.mark.parametrize("shape", [(1, 3), (2, 2)])
@pytest.mark.parametrize("name, key", [*PLOTS, ("plot_learning_curve", "history")])
def test_every_plot_lays_out_in_your_own_grid(name, key, shape, layout, results):  # noqa: F811
    if (shape, layout) not in _PLAIN:                                          # the grid without gdynet's panel
        plain, plain_axes = _grid(shape, layout)
        _draw(plain)
        _PLAIN[shape, layout] = [ax.get_position().width for ax in plain_axes]
    before = _PLAIN[shape, layout]
    fig, axes = _grid(shape, layout)
    assert getattr(gdynet, name)(HISTORY if key == "history" else results[key], ax=axes[1]) is fig
    _draw(fig)
    assert axes[1].figure is fig and axes[1] in fig.axes                         # the user's axes stays
    for k in (0, -1):                                                          # the other panels keep their size
        assert axes[k].get_position().width >= 0.6 * before[k], (name, axes[k].get_position())
    widths = [ax.get_position().width for ax in fig.axes if ax.get_visible() and ax.axison]
    assert min(widths) > 0.05, (name, widths)


def test_the_implied_timescales_figure_puts_nothing_at_the_origin(results):  # noqa: F811
    fig = gdynet.plot_implied_timescales(results["its"])
    assert all(len(line.get_xdata()) for line in fig.axes[0].lines)               # no empty, unclipped markers


# ----------------------------------------------------------------- 9. units and the package surface
def test_a_time_string_needs_its_unit(hopper):
    frames = hopper_atoms(hopper[:5], True)
    with pytest.raises(GdynetError, match=r"dt '0.1' has no unit: write 0.1ps \(or 0.1fs\), or the number 0.1"):
        gdynet.read_trajectory(frames, dt="0.1", targets="Li")
    with pytest.raises(GdynetError, match="has no unit"):
        gdynet.KoopmanEstimator(lag=5, dt_ps="0.1")
    assert gdynet.read_trajectory(frames, dt=0.1, targets="Li").dt_ps == 0.1
    assert gdynet.parse_time("100fs") == pytest.approx(0.1)


def test_lag_ps_is_rounded_and_errors_give_the_right_range():
    probs = StateProbabilities(one_hot(simulate(P3, 300, 4, 0), 3), 0.1)
    model = gdynet.KoopmanEstimator(lag=3).fit(probs).fetch_model()
    assert model.lag_ps == 0.3 and "lag 0.3 ps" in repr(model)
    assert gdynet.implied_timescales(probs, [3, 7]).lags_ps.tolist() == [0.3, 0.7]
    two = gdynet.KoopmanEstimator(lag=3).fit(StateProbabilities(one_hot(simulate(np.array(
        [[0.9, 0.1], [0.1, 0.9]]), 300, 4, 0), 2), 0.1)).fetch_model()
    with pytest.raises(GdynetError, match="this model has 2: lumping needs a model of at least 3 states") as info:
        gdynet.coarse_grain(two, 1)
    assert "from 2 to 1" not in str(info.value)


def test_the_package_lists_only_its_names_and_ships_its_types():
    names = dir(gdynet)
    assert not {"Any", "annotations", "importlib", "os"} & set(names)
    assert set(gdynet.__all__) <= set(names)
    root = Path(gdynet.__file__).parent
    assert (root / "py.typed").is_file()
    assert 'gdynet = ["py.typed"]' in (root.parents[1] / "pyproject.toml").read_text()
    import typing

    hints = typing.get_type_hints(gdynet.GDyNetEstimator.fetch_model, localns={"GDyNetModel": gdynet.GDyNetModel})
    assert hints["return"] is gdynet.GDyNetModel
    out = subprocess.run([sys.executable, "-c", "import gdynet; print(sorted(set(dir(gdynet)) - set(gdynet.__all__)))"],
                         capture_output=True, text=True, check=True).stdout
    assert "os" not in out.split("'") and "Any" not in out
