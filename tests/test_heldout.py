"""Held-out analysis (the paper's protocol): --test trajectories, else the test blocks; --analyze-on all."""
from __future__ import annotations

import json

import numpy as np
import pytest

from gdynet.datasets.toy import toy_li_fcc, write_npz
from gdynet.errors import GdynetWarning
from gdynet.pipeline.analyze import analyze
from gdynet.pipeline.fit import FitOptions, fit
from gdynet.pipeline.inputs import ReadOptions
from gdynet.pipeline.selection import held_out_segments, select_frames
from gdynet.training.data import split_frames

LAG = 10  # frames (1 ps at 0.1 ps)


@pytest.fixture(scope="module")
def toy_paths(tmp_path_factory):
    folder = tmp_path_factory.mktemp("heldout")
    toy = toy_li_fcc(n_trajectories=3, n_frames=400, seed=5)
    return [write_npz(t, folder / f"toy_{i}.npz") for i, t in enumerate(toy.trajectories)]


def _fit(paths, out, **kwargs):
    options = FitOptions(states=2, lag=LAG, epochs=1, batch_size=128, device="cpu")
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


def test_test_trajectories_are_never_trained_on_and_are_analysed(toy_paths, tmp_path):
    out = tmp_path / "run"
    summary = _fit(toy_paths[:2], out, test_paths=[toy_paths[2]])
    record = json.loads((out / "run.json").read_text())
    assert record["test_paths"] == [str(toy_paths[2].resolve())]
    assert summary["analysis_on"] == "test" and summary["n_frames_analysed"] == 400
    assert summary["koopman"]["n_pairs"] == 400 - LAG and summary["n_trajectories"] == 3
    assert (out / "chi" / "traj_002.npy").is_file()
    assert "test trajectories" in (out / "report.md").read_text()
