"""End to end through the CLI: fit -> predict -> analyze on tiny toy data, and the user's mistakes."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from gdynet.cli import app
from gdynet.datasets.toy import reference_timescale, toy_li_fcc, write_npz
from gdynet.analysis.matching import agreement_percent

runner = CliRunner()


@pytest.fixture(scope="module")
def toy_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy")
    toy = toy_li_fcc(n_trajectories=3, n_frames=600, seed=1)
    paths = [write_npz(t, folder / f"toy_{i}.npz") for i, t in enumerate(toy.trajectories)]
    return paths, toy


@pytest.fixture(scope="module")
def fitted(toy_files, tmp_path_factory):
    paths, _ = toy_files
    out = tmp_path_factory.mktemp("runs") / "run"
    # tiny data (60 ps per trajectory, t1 ~ 12 ps): the science check analyses every frame; held-out
    # analysis (the default) is tested in test_heldout.py
    args = ["fit", str(paths[0]), str(paths[1]), "--analyze-on", "all", "--dt", "0.1ps", "--out", str(out), "--lag", "1ps",
            "--epochs", "8", "--batch-size", "64", "--quiet", "--lags", "0.5ps,1ps,2ps", "--device", "cpu"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out, args


def test_fit_writes_the_contract(fitted):
    out, _ = fitted
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lag_ps"] == pytest.approx(1.0)
    assert len(summary["timescales_ps"]) == 1 and summary["timescales_ps"][0] > 0
    assert len(summary["populations"]) == 2 and sum(summary["populations"]) == pytest.approx(1.0)
    assert set(summary["vamp2"]) == {"train", "validation", "test"}
    assert all(1.0 <= v <= 2.0 + 1e-6 for v in summary["vamp2"].values())
    assert summary["n_frames"] == 1200 and summary["n_targets"] == 2
    assert summary["analysis_on"] == "all" and summary["n_frames_analysed"] == 1200
    assert summary["dt_source"] == "--dt"
    assert summary["frames_dropped"] == 0 and summary["truncated_tail"] == 0   # nothing left out of the files
    assert summary["states_supported"] == 2 and summary["states_remark"] is None
    assert set(summary["training"]) == {"batch_size", "epochs", "patience", "steps_per_epoch", "auto"}
    assert (out / "model.pt").is_file() and (out / "report.md").is_file()
    assert sorted(p.name for p in (out / "chi").iterdir()) == ["targets_000.npy", "targets_001.npy",
                                                               "traj_000.npy", "traj_001.npy"]  # no temp files
    np.testing.assert_array_equal(np.load(out / "chi" / "targets_000.npy"), [[0]])  # the toy npz's one Li
    report = (out / "report.md").read_text()
    for figure in ("implied_timescales", "ck_test", "populations", "state_rdf", "transition_msd"):
        assert (out / "figures" / f"{figure}.png").is_file() and (out / "figures" / f"{figure}.svg").is_file()
        assert f"figures/{figure}.png" in report
    # no charges given and none in the files: D_ij only, no conductivity on an assumed +1 charge
    assert summary["state_charges"] is None and summary["conduction"]["charges_e"] is None
    assert "sigma_nernst_einstein_S_cm" not in summary["conduction"] and "No charges were given" in report
    # the conduction intervals come from the same pieces as the Koopman ones, and the report says which
    assert summary["conduction"]["ci_from"] == summary["ci_from"] == "blocks"   # 2 trajectories, 1 target each
    assert "± 95 %: confidence interval from 5 blocks (contiguous time blocks, --ci-from blocks)" in report
    assert not (out / "figures" / "conduction.png").exists()


def test_the_relaxation_time_is_the_geometric_one(fitted, toy_files):
    """Science, not only shapes: t1 at lag 1 ps against Markov models of the Li's geometric sites in the
    same two trajectories, and the states are the two sites. 120 ps hold only 5-10 hops, so how the
    recrossings of the barrier count moves t1 by up to 40 % (issue 27: 23.9 ps from the nearest-site
    labels, 38.0 ps from the core-set ones on one data seed): the learned soft states count them partly,
    so t1 lies between the nearest-site and the core-set timescales, within 25 % (seen: 11.8 ps in
    10.2-11.9, 22.7 in 23.9-38.0 ps)."""
    from gdynet.koopman.estimator import KoopmanEstimator

    out, _ = fitted
    _, toy = toy_files
    summary = json.loads((out / "summary.json").read_text())
    its = summary["implied_timescales"]
    learned = its["timescales_ps"][its["lags_ps"].index(1.0)][0]
    core_set = reference_timescale(toy.trajectories[:2], lags_ps=[1.0]).timescales_ps[0]
    sites = [np.eye(2)[labels.astype(int)][:, None, :] for labels in toy.labels[:2]]
    nearest = KoopmanEstimator("1ps", 0.1).fit(sites).fetch_model().timescales_ps[0]
    assert 0.8 * min(core_set, nearest) < learned < 1.25 * max(core_set, nearest)
    chi = [np.load(out / "chi" / f"traj_{i:03d}.npy") for i in range(2)]
    assert agreement_percent(chi, toy.labels[:2]) >= 90.0
    assert len(summary["history"]) >= 1 and not any(h.get("collapse") for h in summary["history"])


def test_rerunning_the_same_fit_resumes_and_agrees(fitted):
    out, args = fitted
    before = json.loads((out / "summary.json").read_text())
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    after = json.loads((out / "summary.json").read_text())
    assert after["vamp2"] == before["vamp2"]


def test_predict_npy_and_extxyz(fitted, toy_files, tmp_path):
    out, _ = fitted
    paths, _ = toy_files
    result = runner.invoke(app, ["predict", str(out), str(paths[2]), "-o", str(tmp_path / "p.npy"), "-q"])
    assert result.exit_code == 0, result.output
    probs = np.load(tmp_path / "p.npy")
    assert probs.shape == (600, 1, 2)
    np.testing.assert_allclose(probs.sum(axis=2), 1.0, atol=1e-5)

    result = runner.invoke(app, ["predict", str(out), str(paths[2]), "-o", str(tmp_path / "new" / "p.extxyz"), "-q"])
    assert result.exit_code == 0, result.output
    from ase.io import read

    assert [p.name for p in (tmp_path / "new").iterdir()] == ["p.extxyz"]          # no temp files left
    frames = read(tmp_path / "new" / "p.extxyz", index=":")
    assert len(frames) == 600
    np.testing.assert_allclose(frames[5].arrays["state_prob"][0], probs[5, 0], atol=1e-6)
    assert list(frames[5].arrays["state"][1:]) == [-1] * 4          # S atoms are not targets
    assert frames[5].arrays["state"][0] == probs[5, 0].argmax()
    from gdynet import read_trajectory

    back = read_trajectory(tmp_path / "new" / "p.extxyz", targets="Li")    # gdynet reads its own output
    assert back.dt_ps == pytest.approx(0.1) and back.dt_source == "file time" and back.n_frames == 600


def test_analyze_recomputes_with_new_lags(fitted):
    out, _ = fitted
    result = runner.invoke(app, ["analyze", str(out), "--lags", "0.2ps,1ps,3ps", "--charge", "1",
                                 "--temperature", "64"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["implied_timescales"]["lags_ps"] == pytest.approx([0.2, 1.0, 3.0])
    assert summary["conduction"]["temperature_K"] == 64


def _fails(args, *fragments):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert message.startswith("error:") and len(message.splitlines()) == 1, message
    for fragment in fragments:
        assert fragment in message
    return message


def test_user_mistakes_print_one_line_and_leave_nothing(toy_files, tmp_path):
    paths, _ = toy_files
    out = tmp_path / "never"
    base = ["--out", str(out), "--quiet"]
    _fails(["fit", str(tmp_path / "missing.npz"), "--dt", "0.1ps", *base], "missing.npz")
    _fails(["fit", str(paths[0]), *base], "dt")                                    # npz has no time step
    _fails(["fit", str(paths[0]), "--dt", "0.1ps", "--states", "1", *base], "--states")
    _fails(["fit", str(paths[0]), "--dt", "0.1ps", "--lag", "50ps", *base], "too few")
    _fails(["fit", str(paths[0]), "--dt", "0.1ps", "--target", "Xe", *base], "Xe")
    assert not out.exists()
    (tmp_path / "afile").write_text("x")
    _fails(["fit", str(paths[0]), "--dt", "0.1ps", "--out", str(tmp_path / "afile"), "-q"], "must be a folder")
    _fails(["analyze", str(tmp_path)], "no run.json")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "run.json").write_text("{}")
    _fails(["analyze", str(broken)], "model.pt missing")
    (broken / "model.pt").write_bytes(b"not a model")
    _fails(["analyze", str(broken)], "cannot read model file")
    _fails(["predict", str(tmp_path), str(paths[0]), "-o", str(tmp_path / "p.npy")], "no run.json")
    _fails(["predict", str(tmp_path), str(paths[0]), "-o", str(tmp_path / "p.csv")], "p.csv")


def test_state_agreement_uses_the_best_relabelling():
    labels = [np.array([0, 0, 1, 1, 1]), np.array([1, 0])]
    chi = [np.eye(2)[1 - l][:, None, :] for l in labels]            # states swapped
    assert agreement_percent(chi, labels) == pytest.approx(100.0)
    chi[1] = np.eye(2)[[1, 1]][:, None, :]                           # one frame wrong out of 7
    assert agreement_percent(chi, labels) == pytest.approx(600 / 7)
    fewer = [np.eye(2)[[0, 1, 1, 1]][:, None, :]]                    # 2 states, 3 labels: matched one to one
    assert agreement_percent(fewer, [np.array([0, 1, 2, 2])]) == pytest.approx(75.0)
    more = [np.eye(3)[[0, 1, 2]][:, None, :]]                        # 3 states, 2 labels: many to one
    assert agreement_percent(more, [np.array([0, 0, 1])]) == pytest.approx(100.0)


def test_fit_a_lammps_dump_with_type_map_and_element_target(toy_files, tmp_path):
    """The README's LAMMPS route: numeric types mapped to elements, targets by element, dt with a unit."""
    _, toy = toy_files
    traj = toy.trajectories[0]
    dump = tmp_path / "dump.lammpstrj"
    with open(dump, "w") as handle:
        for i, frame in enumerate(np.asarray(traj.positions) % 6.5):
            handle.write(f"ITEM: TIMESTEP\n{i * 100}\nITEM: NUMBER OF ATOMS\n5\nITEM: BOX BOUNDS pp pp pp\n"
                         "0 6.5\n0 6.5\n0 6.5\nITEM: ATOMS id type x y z\n")
            handle.writelines(f"{a + 1} {1 if a == 0 else 2} {x:.5f} {y:.5f} {z:.5f}\n"
                              for a, (x, y, z) in enumerate(frame))
    out = tmp_path / "run"
    result = runner.invoke(app, ["fit", str(dump), "--dt", "100fs", "--type-map", "1=Li,2=S", "--target", "Li",
                                 "--out", str(out), "--epochs", "2", "--lag", "1ps", "-q", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    # 2 epochs are never known to be enough: summary, report and one warning line say so, naming --epochs
    assert summary["training_converged"] is False and "refit with more --epochs" in summary["training_remark"]
    assert result.output.count("warning: training has not converged") == 1
    assert summary["training_remark"] in (out / "report.md").read_text()
    assert summary["dt_ps"] == pytest.approx(0.1) and summary["n_frames"] == 600 and summary["n_targets"] == 1
    assert "Li–S" in (out / "report.md").read_text()
    _fails(["fit", str(dump), "--dt", "100fs", "--target", "Li", "--out", str(tmp_path / "x"), "-q"], "type")


def test_version_and_help():
    import gdynet

    assert runner.invoke(app, ["--version"]).output.strip() == f"gdynet {gdynet.__version__}"
    for command in ("fit", "predict", "analyze", "demo", "scan"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_killed_fit_resumes_to_the_same_result(toy_files, tmp_path):
    """SIGKILL `gdynet fit --seeds 2` in the middle of training its second seed, run the same command
    again: same model and the same per-seed results as an uninterrupted run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    paths, _ = toy_files

    def command(out):
        return [sys.executable, "-m", "gdynet", "fit", str(paths[0]), str(paths[1]), "--dt", "0.1ps",
                "--out", str(out), "--lag", "1ps", "--epochs", "2", "--quiet", "--device", "cpu",
                "--batch-size", "64", "--seeds", "2", "--patience", "0"]

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    killed = tmp_path / "killed"
    process = subprocess.Popen(command(killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    last = killed / "checkpoints" / "seed_1" / "last.pt"
    while not last.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed / "summary.json").exists()                 # it really was interrupted
    import torch

    assert torch.load(last, weights_only=False)["run"]["epoch"] < 2   # ... part-way through seed 1
    subprocess.run(command(killed), env=env, check=True, stdout=subprocess.DEVNULL)
    whole = tmp_path / "whole"
    subprocess.run(command(whole), env=env, check=True, stdout=subprocess.DEVNULL)
    resumed, uninterrupted = (json.loads((d / "summary.json").read_text()) for d in (killed, whole))
    assert resumed["vamp2"] == uninterrupted["vamp2"]
    assert resumed["seeds"] == uninterrupted["seeds"] and len(resumed["seeds"]) == 2
    assert resumed["timescales_ps"] == pytest.approx(uninterrupted["timescales_ps"], rel=1e-6)


def test_analyze_profile_order_parameter_and_charges_from_the_topology(fitted, toy_files):
    """--profile, --order-parameter and partial charges (Li +1, S -1/4): state charges = own charge
    plus the first-shell charge, used by the conduction analysis; --charge overrides them."""
    from dataclasses import replace

    from gdynet import read_trajectory
    from gdynet.runs.analyze import analyze

    out, _ = fitted
    paths, _ = toy_files
    trajs = [read_trajectory(p, dt="0.1ps") for p in paths[:2]]
    trajs = [replace(t, charges=np.where(t.numbers == 3, 1.0, -0.25)) for t in trajs]
    summary = analyze(out, trajectories=trajs, profile="z", order_parameter="q6:3.6", temperature_K=64)
    profile = summary["profile"]
    assert profile["axis"] == "z" and len(profile["density"]) == 2 and len(profile["edges_A"]) == 101
    assert summary["order_parameter"]["name"] == "q6" and summary["order_parameter"]["cutoff_A"] == 3.6
    labels = summary["order_parameter"]["labels"]      # structure labels over time, at the learned lags
    assert set(labels) >= {"threshold", "class_means", "ordered_fraction", "agreement", "lags_ps", "timescales_ps",
                           "core_timescales_ps", "core_thresholds"}
    assert labels["lags_ps"] == pytest.approx(summary["implied_timescales"]["lags_ps"])
    assert labels["class_means"][0] < labels["core_thresholds"][0] < labels["threshold"] < labels["core_thresholds"][1]
    assert len(labels["ordered_fraction"]) == 2 and 0.5 <= labels["agreement"] <= 1.0
    assert len(labels["timescales_ps"]) == len(labels["core_timescales_ps"]) == len(labels["lags_ps"])
    charges = summary["state_charges"]
    assert charges["source"] == "topology" and len(charges["shell_radius_A"]) == 2
    integral = summary["charge_integral"]
    for s, (z, r) in enumerate(zip(charges["charges_e"], charges["shell_radius_A"])):
        assert 2.5 < r < 6.0                     # the first S shell lies at 2.6-3.9 Å
        assert z == pytest.approx(1.0 + np.interp(r, [0.0, *integral["r_A"]], [0.0, *integral["Q"][s]]))
        assert integral["Q"][s][-1] < -1.0       # more than four S within 6 Å
    assert summary["conduction"]["charges_source"] == "topology"
    assert summary["conduction"]["charges_e"] == pytest.approx(charges["charges_e"])
    report = (out / "report.md").read_text()
    for figure in ("profile", "snapshot", "order_parameter", "charge_integral", "conduction"):
        assert f"figures/{figure}.png" in report
    assert "q6 labels (ordered at or above" in report and "labels with core sets" in report
    given = analyze(out, trajectories=trajs, charges=[1.0, 1.0], shell_radius=3.0)
    assert given["state_charges"] == {"charges_e": [1.0, 1.0], "source": "--charge", "shell_radius_A": None}
    assert "profile" not in given       # asked for in the earlier call only (fit recorded none)


def test_states_below_one_percent_are_reported_as_unsupported():
    from gdynet.runs.analyze import supported_states

    assert supported_states([0.5, 0.3, 0.2]) == (3, None)
    n, remark = supported_states([0.6, 0.395, 0.004, 0.001])
    assert n == 2
    assert remark.startswith("state(s) 2 (0.4 %), 3 (0.1 %) hold less than 1% of the population")
    assert remark.endswith("these data support 2 states; refit with --states 2")
