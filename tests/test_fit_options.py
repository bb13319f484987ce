"""Every training setting on `gdynet fit`, --config TOML, --seeds, the Gaussian-range warning, and the
summary printout of an infinite timescale."""
from __future__ import annotations

import json
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from gdynet.cli import app
from gdynet.commands.options import print_summary
from gdynet.datasets.toy import toy_li_fcc, write_npz
from gdynet.base.errors import GdynetWarning
from gdynet.network.inputs import check_gaussian_range
from gdynet.analysis.matching import best_match
from gdynet.runs.seeds import state_confusion

runner = CliRunner()


@pytest.fixture(scope="module")
def seeded_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("options")
    toy = toy_li_fcc(n_trajectories=2, n_frames=500, seed=2)
    paths = [str(write_npz(t, folder / f"toy_{i}.npz")) for i, t in enumerate(toy.trajectories)]
    config = folder / "fit.toml"
    config.write_text('epochs = 1\nhidden = [8, 8]\nconv-layers = 2\nlr = 0.5\nsplit = "0.6,0.2,0.2"\n')
    out = folder / "run"
    result = runner.invoke(app, ["fit", *paths, "--dt", "0.1ps", "--out", str(out), "--lag", "1ps", "-q",
                                 "--device", "cpu", "--config", str(config), "--lr", "0.002", "--seeds", "2",
                                 "--atom-features", "8", "--cutoff", "6", "--weight-decay", "1e-5",
                                 "--patience", "2", "--lags", "0.5ps,1ps"])
    assert result.exit_code == 0, result.output
    return out, paths, folder


def test_every_setting_reaches_run_json_and_flags_override_the_config(seeded_run):
    out, _, _ = seeded_run
    fit = json.loads((out / "run.json").read_text())["fit"]
    assert fit["lr"] == 0.002                                     # flag beats config (0.5)
    assert fit["epochs"] == 1 and fit["hidden"] == [8, 8] and fit["conv_layers"] == 2       # from the config
    assert fit["split"] == [0.6, 0.2, 0.2] and fit["atom_features"] == 8 and fit["cutoff"] == 6.0
    assert fit["weight_decay"] == 1e-5 and fit["patience"] == 2 and fit["seeds"] == 2
    import torch

    config = torch.load(out / "model.pt", weights_only=True)["config"]
    assert config["hidden"] == [8, 8] and config["n_conv"] == 2 and config["cutoff"] == 6.0
    assert config["n_gaussians"] == 31                            # centres 0, 0.2, ..., 6 Å


def test_history_and_seeds_in_the_summary_and_the_report(seeded_run):
    out, _, _ = seeded_run
    summary = json.loads((out / "summary.json").read_text())
    assert [set(h) for h in summary["history"]] == [{"epoch", "train", "validation", "lr", "seconds"}]
    assert summary["history"][0]["lr"] == 0.002
    seeds = summary["seeds"]
    assert [s["seed"] for s in seeds] == [0, 1]
    best = max(seeds, key=lambda s: s["vamp2_validation"])
    assert best["match"] == 1.0 and all(0.5 <= s["match"] <= 1.0 for s in seeds)
    assert summary["vamp2"]["validation"] == pytest.approx(best["vamp2_validation"])
    for s in seeds:
        assert len(s["timescales_ps"]) == 1 and sum(s["populations"]) == pytest.approx(1.0)
    report = (out / "report.md").read_text()
    assert "figures/learning_curve.png" in report and "2 seeds" in report
    assert not list((out / "chi").glob(".seed*"))                 # scratch files removed
    # issue 18: whether the seeds agree, what their states are, how the other seed differs
    assert summary["seeds_agreement"] == pytest.approx(min(s["match"] for s in seeds))
    assert summary["robust"] is (summary["seeds_agreement"] >= 0.9 and summary["seeds_spread"]["timescales_ps"]
                                 ["relative"][0] <= 0.25)
    for s in seeds:
        assert 3.3 < s["shell_radius_A"] < 5.3 and all(3.5 < n < 6.5 for n in s["coordination"]["S"])
    spread = summary["seeds_spread"]
    assert spread["populations"]["min"][0] == min(s["populations"][0] for s in seeds)
    assert set(spread) == {"populations", "timescales_ps", "coordination"}
    assert "## 2 seeds: do the initialisations agree?" in report and summary["seeds_remark"] in report
    assert "How the other seeds differ from the kept one:" in report and "- seed " in report
    assert isinstance(summary["timescales_markovian"], (bool, type(None)))
    assert len(summary["timescales_checks"]) == len(summary["timescales_resolved"]) == 1


def test_config_mistakes_are_one_line_errors(seeded_run, tmp_path):
    _, paths, _ = seeded_run
    bad = tmp_path / "bad.toml"
    bad.write_text("learning_rate = 0.1\n")
    for config, fragment in ((bad, "unknown option 'learning_rate'"), (tmp_path / "none.toml", "cannot read")):
        result = runner.invoke(app, ["fit", paths[0], "--dt", "0.1ps", "--out", str(tmp_path / "x"),
                                     "--config", str(config)])
        assert result.exit_code == 2 and result.output.startswith("error:") and fragment in result.output
        assert len(result.output.strip().splitlines()) == 1
    result = runner.invoke(app, ["fit", paths[0], "--dt", "0.1ps", "--out", str(tmp_path / "x"), "--split", "0.5,0.2"])
    assert result.exit_code == 2 and "--split" in result.output and not (tmp_path / "x").exists()


def test_states_are_matched_under_the_best_permutation():
    a = [np.eye(3)[[0, 1, 2, 2]][:, None]]
    b = [np.eye(3)[[2, 0, 1, 0]][:, None]]                      # a's 0 -> 2, 1 -> 0, 2 -> 1 (one miss)
    order, match = best_match(state_confusion(a, b))
    assert match == pytest.approx(0.75) and list(order) == [1, 2, 0]


def test_a_warning_when_the_mth_neighbour_lies_beyond_the_gaussian_range():
    near = SimpleNamespace(distances=np.full((10, 4, 14), 3.0, dtype=np.float32), neighbors=12)
    far = SimpleNamespace(distances=np.concatenate([near.distances[..., :11], np.full((10, 4, 3), 7.5)], axis=2),
                          neighbors=12)  # the M-th (12th) column counts, not the last stored one
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_gaussian_range([near], 7.0) == 0.0
    with pytest.warns(GdynetWarning, match=r"beyond the Gaussian range \(7 Å\) for 50% .*7.50 Å\): raise cutoff or"):
        check_gaussian_range([near, far], 7.0)                # from Python: the keyword
    from gdynet.base.option_names import cli_names

    with cli_names(), pytest.warns(GdynetWarning, match=r"raise --cutoff or lower --neighbors"):
        check_gaussian_range([near, far], 7.0)                # in the CLI: the flag


def test_the_cli_table_says_whether_the_seeds_agree(seeded_run, capsys, monkeypatch):
    out, _, _ = seeded_run
    summary = json.loads((out / "summary.json").read_text())
    monkeypatch.setenv("COLUMNS", "400")
    print_summary(summary, out)
    assert summary["seeds_remark"] in capsys.readouterr().out


def test_an_infinite_timescale_prints_without_a_traceback(capsys):
    summary = {"lag_ps": 1.0, "timescales_ps": [None, 3.0], "populations": [0.5, 0.3, 0.2],
               "vamp2": {"train": 2.0, "validation": 1.9, "test": None}, "n_frames": 10, "n_targets": 1}
    print_summary(summary, "run")
    printed = capsys.readouterr().out
    assert "∞" in printed and "3 ps" in printed and "–" in printed


def test_fit_options_use_the_estimator_names_and_read_gdynet_0_4_records(tmp_path):
    """FitOptions says n_states/conv_layers like GDyNetEstimator; a run.json written by gdynet 0.4
    (states/n_conv) reads with the new names, and the old keywords still work with a warning."""
    import dataclasses
    import json
    import shutil
    from pathlib import Path

    from gdynet.runs.fit import FitOptions
    from gdynet.runs.rundir import RunDir

    assert {"n_states", "conv_layers"} <= {f.name for f in dataclasses.fields(FitOptions)}
    assert FitOptions(n_states=3).estimator_params()["n_states"] == 3
    shutil.copy(Path(__file__).parent / "data" / "v0.4" / "run.json", tmp_path / "run.json")
    old = json.loads((tmp_path / "run.json").read_text())["fit"]
    assert "states" in old and "n_conv" in old
    record = RunDir(tmp_path).read_run()["fit"]
    assert record["n_states"] == old["states"] == 2 and record["conv_layers"] == old["n_conv"] == 3
    assert json.loads(json.dumps(dataclasses.asdict(FitOptions.from_dict(old)))) == record
    with pytest.warns(DeprecationWarning, match="use n_states="):
        assert FitOptions(states=4).n_states == 4
    with pytest.warns(DeprecationWarning, match="use conv_layers="):
        assert dataclasses.replace(FitOptions(n_conv=2), n_states=5).conv_layers == 2
