"""`gdynet scan` on the two-state toy system recommends two states, and its rules on known numbers."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from gdynet.cli import app
from gdynet.datasets.toy import toy_li_fcc, write_npz
from gdynet.runs.scan import held_out_vamp2, plateau_lag, recommend

runner = CliRunner()


def test_scan_recommends_two_states_on_the_two_site_toy(tmp_path):
    toy = toy_li_fcc(n_trajectories=3, n_frames=1000, seed=6)
    paths = [str(write_npz(t, tmp_path / f"toy_{i}.npz")) for i, t in enumerate(toy.trajectories)]
    out = tmp_path / "scan"
    result = runner.invoke(app, ["scan", *paths, "--dt", "0.1ps", "--states", "2,3", "--lags", "1ps,2ps",
                                 "--out", str(out), "--epochs", "2", "--batch-size", "64", "-q", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "recommended: 2 states" in result.output
    scan = json.loads((out / "scan.json").read_text())
    assert scan["recommended"]["states"] == 2 and scan["recommended"]["rule"]
    assert {(r["states"], r["lag_ps"]) for r in scan["results"]} == {(2, 1.0), (2, 2.0), (3, 1.0), (3, 2.0)}
    for r in scan["results"]:
        assert 1.0 <= r["vamp2"] <= r["states"] + 1e-6 and len(r["timescales_ps"]) == r["states"] - 1
        assert set(r["ck"]) == {"fraction_consistent", "passed"} and r["fit_lag_ps"] == 2.0
    assert (out / "figures" / "scan.png").is_file() and "figures/scan.png" in (out / "report.md").read_text()
    assert (out / "states_2_lag_20" / "model.pt").is_file()            # each fit is a run folder


def test_scan_with_seeds_says_whether_each_fit_is_robust(tmp_path):
    toy = toy_li_fcc(n_trajectories=2, n_frames=400, seed=6)
    paths = [str(write_npz(t, tmp_path / f"toy_{i}.npz")) for i, t in enumerate(toy.trajectories)]
    out = tmp_path / "scan"
    result = runner.invoke(app, ["scan", *paths, "--dt", "0.1ps", "--states", "2", "--lags", "1ps", "--seeds", "2",
                                 "--out", str(out), "--epochs", "1", "--batch-size", "32", "--hidden", "8",
                                 "--atom-features", "8", "-q", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    scan = json.loads((out / "scan.json").read_text())
    (entry,) = scan["results"]
    assert 0.5 <= entry["seeds_agreement"] <= 1.0 and isinstance(entry["robust"], bool)
    assert scan["recommended"]["robust"] is entry["robust"] and entry["seeds_remark"] in result.output
    assert entry["seeds_remark"] in (out / "report.md").read_text()


def _entry(states, lag_ps, vamp2, timescales, passed=True):
    return {"states": states, "lag_ps": lag_ps, "lag_frames": int(lag_ps * 10), "vamp2": vamp2,
            "timescales_ps": np.array(timescales, dtype=float), "ck": {"passed": passed}}


def test_the_lag_is_where_the_slowest_timescale_levels_off():
    rows = [_entry(2, lag, 1.9, [t]) for lag, t in ((0.5, 20.0), (1.0, 27.0), (2.0, 29.0), (5.0, 29.5))]
    assert plateau_lag(rows) == 10                                       # 1 ps: 27 -> 29.5 within 10 %
    rows = [_entry(2, lag, 1.9, [t]) for lag, t in ((0.5, 10.0), (1.0, 20.0), (2.0, 40.0))]
    assert plateau_lag(rows) == 20                                       # never flat: the longest lag


def test_more_states_only_when_they_add_a_resolved_process():
    rows = {2: [_entry(2, 1.0, 1.90, [30.0]), _entry(2, 2.0, 1.85, [30.0])],
            3: [_entry(3, 1.0, 2.50, [30.0, 8.0]), _entry(3, 2.0, 2.45, [30.0, 8.0])],
            4: [_entry(4, 1.0, 2.60, [30.0, 8.0, 0.3]), _entry(4, 2.0, 2.47, [30.0, 8.0, 0.5])]}
    taus = {2: 10, 3: 10, 4: 20}
    rec = recommend(rows, taus, duration_ps=1000.0)
    assert rec["states"] == 3 and rec["lag_ps"] == 1.0
    assert "S=4" in rec["reason"] and "gain 0.020" in rec["reason"] and "not resolved" in rec["reason"]  # at 2 ps
    rows[3][0]["ck"]["passed"] = False
    assert recommend(rows, taus, duration_ps=1000.0)["states"] == 2


def test_held_out_vamp2_of_crisp_two_state_features():
    rng = np.random.default_rng(0)
    states = np.cumsum(rng.random(4000) < 0.02) % 2                      # switches every ~50 frames
    chi = np.eye(2)[states][:, None, :].astype(np.float32)
    score = held_out_vamp2([chi], 5, (0.7, 0.15, 0.15))
    assert score == pytest.approx(1 + (1 - 2 * 0.02) ** 10, abs=0.1)     # 1 + lambda^2, lambda = (1-2p)^tau
