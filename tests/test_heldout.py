"""Held-out analysis (the paper's protocol): --test trajectories, else the test blocks; --analyze-on all."""
from __future__ import annotations

import json

import numpy as np
import pytest

from gdynet.datasets.toy import toy_li_fcc, write_npz
from gdynet.base.errors import GdynetError, GdynetWarning
from gdynet.runs.analyze import analyze
from gdynet.runs.fit import FitOptions, fit
from gdynet.trajectory.read_options import ReadOptions
from gdynet.runs.selection import held_out_segments, select_frames
from gdynet.training.data import split_frames

LAG = 10  # frames (1 ps at 0.1 ps)


@pytest.fixture(scope="module")
def toy_paths(tmp_path_factory):
    folder = tmp_path_factory.mktemp("heldout")
    toy = toy_li_fcc(n_trajectories=3, n_frames=400, seed=5)
    return [write_npz(t, folder / f"toy_{i}.npz") for i, t in enumerate(toy.trajectories)]


def _fit(paths, out, states=2, **kwargs):
    options = FitOptions(n_states=states, lag=LAG, epochs=1, batch_size=128, device="cpu")
    return fit(paths, out, ReadOptions(dt=0.1), options, progress=False,
               analysis={"lags": [5, 10, 20]}, **kwargs)


def test_segments_are_the_test_blocks_or_the_test_trajectories():
    split = (0.7, 0.15, 0.15)
    assert held_out_segments([600, 400], 2, LAG, split) == [
        (k, *split_frames(n, LAG, split)["test"]) for k, n in enumerate([600, 400])]
    assert held_out_segments([600, 400, 300], 2, LAG, split) == [(2, 0, 300)]
    selection = select_frames([600, 400], n_train=2, lag=LAG, split=split, analyze_on="test")
    assert selection.analysis_on == "test" and selection.longest == 90 and "held-out" in selection.note


def test_too_short_held_out_data_fall_back_to_all_frames_with_a_warning():
    with pytest.warns(GdynetWarning, match="too short.*analysing all frames"):
        selection = select_frames([600], n_train=1, lag=40, split=(0.7, 0.15, 0.15), analyze_on="test")
    assert selection.analysis_on == "all" and selection.segments == [(0, 0, 600)] and "too short" in selection.note
    with pytest.warns(GdynetWarning, match="no frames out of training"):
        select_frames([600], n_train=1, lag=10, split=(0.8, 0.2, 0.0), analyze_on="test")
    assert select_frames([600], n_train=1, lag=40, split=(0.7, 0.15, 0.15), analyze_on="all").note.startswith("all")


def test_fit_analyses_the_test_blocks_and_analyze_on_all_uses_every_frame(toy_paths, tmp_path):
    out = tmp_path / "run"
    summary = _fit(toy_paths[:2], out)
    assert summary["analysis_on"] == "test" and summary["n_frames"] == 800
    assert summary["n_frames_analysed"] == 2 * 60                      # the last 15 % of each trajectory
    assert summary["koopman"]["n_pairs"] == 2 * (60 - LAG)
    chi = [np.load(out / "chi" / f"traj_{i:03d}.npy") for i in range(2)]
    from gdynet.koopman import KoopmanEstimator

    expected = KoopmanEstimator(LAG, 0.1).fit([c[340:] for c in chi]).fetch_model()
    np.testing.assert_allclose(summary["koopman"]["K"], expected.K, atol=1e-12)
    everything = analyze(out, analyze_on="all")
    assert everything["analysis_on"] == "all" and everything["koopman"]["n_pairs"] == 2 * (400 - LAG)
    assert json.loads((out / "summary.json").read_text())["analysis_on"] == "all"


@pytest.fixture(scope="module")
def three_states(toy_paths, tmp_path_factory):
    """A 3-state fit on two trajectories with the third as --test trajectory."""
    out = tmp_path_factory.mktemp("three") / "run"
    return out, _fit(toy_paths[:2], out, states=3, test_paths=[toy_paths[2]])


def test_test_trajectories_are_never_trained_on_and_are_analysed(toy_paths, three_states):
    out, summary = three_states
    record = json.loads((out / "run.json").read_text())
    assert record["test_paths"] == [str(toy_paths[2].resolve())]
    assert summary["analysis_on"] == "test" and summary["n_frames_analysed"] == 400
    assert summary["koopman"]["n_pairs"] == 400 - LAG and summary["n_trajectories"] == 3
    assert (out / "chi" / "traj_002.npy").is_file()
    assert "test trajectories" in (out / "report.md").read_text()
    with pytest.raises(GdynetError, match="2 trajectories, got 1; use ci_from targets or blocks"):   # one held-out trajectory
        analyze(out, ci_from="trajectories", analyze_on="test")


def test_analyze_reports_intervals_eigenvectors_resolution_and_pcca(three_states):
    out, _ = three_states
    summary = analyze(out, coarse=2, ci_from="blocks", analyze_on="test", lags=[5, 10, 20])
    assert summary["ci_from"] == "blocks" and summary["populations_ci"]["from"] == "blocks"
    assert summary["conduction"]["ci_from"] == "blocks" and summary["conduction"]["ci_blocks"] == 5
    ci = summary["populations_ci"]
    assert ci["confidence"] == 0.95 and len(ci["lower"]) == len(ci["upper"]) == 3
    assert all(lo <= p <= hi for p, lo, hi in zip(summary["populations"], ci["lower"], ci["upper"]))
    assert len(summary["timescales_resolved"]) == 2 and summary["analysed_time_ps"] == pytest.approx(39.9)
    assert np.shape(summary["implied_timescales"]["resolved"]) == (3, 2)
    eig = summary["koopman"]["eigenvectors"]
    assert np.shape(eig["left"]) == np.shape(eig["right"]) == (2, 3)
    coarse = summary["coarse"]
    assert coarse["n_sets"] == 2 and sorted(s for group in coarse["sets"] for s in group) == [0, 1, 2]
    report = (out / "report.md").read_text()
    for text in ("process 1 (t = ", "PCCA+ lumping into 2 sets", "populations (95% CI from 5 blocks)",
                 "figures/eigenvectors.png"):
        assert text in report
    with pytest.raises(GdynetError, match="ci_from"):
        analyze(out, ci_from="bootstrap")


def test_cli_table_shows_unresolved_and_infinite_timescales(capsys):
    from gdynet.commands.options import print_summary

    summary = {"lag_ps": 1.0, "timescales_ps": [None, 0.4], "timescales_resolved": [False, False],
               "analysed_time_ps": 29.0, "populations": [0.5, 0.3, 0.2],
               "populations_ci": {"lower": [0.4, None, 0.1], "upper": [0.6, None, 0.3]}, "analysis_on": "test",
               "vamp2": {"train": 2.9, "validation": 2.8, "test": None}, "n_frames": 10, "n_targets": 1}
    print_summary(summary, "run")
    text = capsys.readouterr().out
    assert "∞ (not resolved)" in text and "0.4 ps (not resolved)" in text and "29 ps" in text
    assert "0.500 [0.400, 0.600]" in text and "held-out" in text and "2.800 / –" in text
