"""gdynet from Python (issue 17): GDyNetEstimator -> GDyNetModel -> StateProbabilities, save/load, the
one lag rule, seeded reproducibility, options checked before training, and the CLI giving the same chi."""
from __future__ import annotations

import json
import time
from dataclasses import replace

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import gdynet
from gdynet.cli import app
from gdynet.datasets.toy import toy_li_fcc, write_npz
from gdynet.base.errors import GdynetError
from gdynet.trajectory.read_options import ReadOptions

runner = CliRunner()
#: a tiny network on a tiny toy: seconds per fit
SETTINGS = dict(n_states=2, lag=5, neighbors=12, cutoff=6.0, atom_features=8, conv_layers=1, hidden=(8,),
                epochs=2, seed=0, device="cpu", progress=False)
FLAGS = ["--states", "2", "--lag", "5", "--neighbors", "12", "--cutoff", "6", "--atom-features", "8",
         "--conv-layers", "1", "--hidden", "8", "--epochs", "2", "--seed", "0", "--device", "cpu", "-q"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("estimator")
    data = toy_li_fcc(n_trajectories=3, n_frames=400, seed=5)
    paths = [str(write_npz(t, folder / f"toy_{i}.npz")) for i, t in enumerate(data.trajectories)]
    trajs = [gdynet.read_trajectory(p, dt="0.1ps") for p in paths]
    return folder, paths, trajs


@pytest.fixture(scope="module")
def fitted(toy):
    _, _, trajs = toy
    estimator = gdynet.GDyNetEstimator(**SETTINGS)
    assert estimator.fit(trajs[:2]) is estimator                    # sklearn: fit returns the estimator
    return estimator, estimator.fetch_model()


def test_the_model_carries_everything_needed_to_apply_it(fitted, toy):
    estimator, model = fitted
    assert isinstance(model, gdynet.GDyNetModel)
    assert (model.kind, model.n_states, model.lag, model.dt_ps, model.lag_ps) == ("gdynet", 2, 5, 0.1, 0.5)
    assert model.neighbors == 12 and model.cutoff == 6.0 and model.elements == ("Li", "S") and model.seed == 0
    assert model.calibration.shape == (2, 2) and set(model.scores) == {"train", "validation", "test"}
    assert 1 <= len(model.history) <= 2 and model.history[0]["epoch"] == 1
    assert model.read == {**model.read, "targets": "Li"}                 # gdynet predict can read new files
    for text in (repr(estimator), repr(model)):
        assert "\n" not in text and len(text) < 250
    assert repr(estimator).startswith("GDyNetEstimator(lag=5, neighbors=12, cutoff=6.0") and "fitted" in repr(estimator)
    assert "M=12" in repr(model) and "lag 5 frames = 0.5 ps" in repr(model)
    assert estimator.get_params()["hidden"] == (8,)
    with pytest.raises(GdynetError, match="not fitted yet"):
        gdynet.GDyNetEstimator().fetch_model()
    with pytest.raises(GdynetError, match="unknown setting.*n_state"):
        gdynet.GDyNetEstimator().set_params(n_state=3)


def test_transform_gives_calibrated_state_probabilities(fitted, toy):
    _, model = fitted
    _, paths, trajs = toy
    chi = model.transform(trajs[2])                                      # a trajectory it never saw
    assert isinstance(chi, gdynet.StateProbabilities)
    assert chi.shape == (400, 1, 2) and chi.dt_ps == 0.1 and chi.source == trajs[2].source
    np.testing.assert_array_equal(chi.targets, trajs[2].file_targets())
    np.testing.assert_allclose(chi.values.sum(-1), 1.0, atol=1e-6)
    assert "\n" not in repr(chi)


def test_same_seed_same_weights_and_chi_other_seed_other_chi(fitted, toy):
    estimator, model = fitted
    _, _, trajs = toy
    again = gdynet.GDyNetEstimator(**estimator.get_params()).fit(trajs[:2]).fetch_model()
    for a, b in zip(model.network.state_dict().values(), again.network.state_dict().values()):
        assert torch.equal(a, b)
    np.testing.assert_array_equal(again.transform(trajs[2]).values, model.transform(trajs[2]).values)
    other = gdynet.GDyNetEstimator(**{**estimator.get_params(), "seed": 1}).fit(trajs[:2]).fetch_model()
    assert not np.array_equal(other.transform(trajs[2]).values, model.transform(trajs[2]).values)


def test_trainer_seed_alone_fixes_the_initial_weights():
    from gdynet.network.gdynet import GDyNet
    from gdynet.training.trainer import seed_weights

    first, second = GDyNet(n_states=2, atom_features=4, n_conv=1), GDyNet(n_states=2, atom_features=4, n_conv=1)
    seed_weights(first, 3)
    seed_weights(second, 3)
    torch.manual_seed(3)
    built = GDyNet(n_states=2, atom_features=4, n_conv=1)     # what the estimator builds: the same weights
    for a, b, c in zip(first.state_dict().values(), second.state_dict().values(), built.state_dict().values()):
        assert torch.equal(a, b) and torch.equal(a, c)


def test_save_and_load_round_trip_exactly(fitted, toy, tmp_path):
    _, model = fitted
    _, _, trajs = toy
    path = model.save(tmp_path / "model.pt")
    loaded = gdynet.load(path)
    assert repr(loaded) == repr(model) and loaded.meta == model.meta
    np.testing.assert_array_equal(loaded.transform(trajs[2]).values, model.transform(trajs[2]).values)
    on_disk = loaded.transform(trajs[2], out=tmp_path / "chi.npy")       # memory-mapped, same numbers
    assert isinstance(on_disk.values, np.memmap)
    np.testing.assert_array_equal(np.asarray(on_disk.values), model.transform(trajs[2]).values)
    with pytest.raises(GdynetError, match="model file not found"):
        gdynet.load(tmp_path / "missing.pt")


def test_an_element_the_model_never_saw_is_an_error_naming_it(fitted, toy):
    _, model = fitted
    _, _, trajs = toy
    numbers = np.array(trajs[2].numbers)
    numbers[numbers == 16] = [16, 16, 16, 34]                           # one S becomes Se
    with pytest.raises(GdynetError, match=r"element Se is not in the data the model was trained on \(Li, S\)"):
        model.transform(replace(trajs[2], numbers=numbers))


def test_the_global_vampnet_baseline_fits_and_transforms_too(toy):
    _, _, trajs = toy
    model = gdynet.GDyNetEstimator(**{**SETTINGS, "architecture": "vampnet"}).fit(trajs[:2]).fetch_model()
    assert model.kind == "vampnet" and model.neighbors is None and "M=" not in repr(model)
    assert model.transform(trajs[2]).shape == (400, 1, 2)                # the whole frame is one set
    with pytest.raises(GdynetError, match="trained on 5 atoms, this trajectory has 4"):
        model.transform(replace(trajs[2], positions=trajs[2].positions[:, :4], numbers=trajs[2].numbers[:4]))


def test_one_rule_for_lags(toy):
    from gdynet.koopman.estimator import KoopmanEstimator
    from gdynet.training.trainer import TrainConfig

    _, _, trajs = toy
    both_ways = r'whole number of frames \(an int, e.g. 10\) or a time with a unit \(e.g. "2ps" or "500fs"\)'
    for lag in (10.0, "10", np.float64(1.0)):
        with pytest.raises(GdynetError, match=f"^lag must be a {both_ways}"):
            gdynet.GDyNetEstimator(lag=lag).fit(trajs[:1])
        with pytest.raises(GdynetError, match=both_ways):
            KoopmanEstimator(lag, 0.1)
        with pytest.raises(GdynetError, match=both_ways):
            TrainConfig(lag=lag).check()
    assert KoopmanEstimator(10, 0.1).lag == KoopmanEstimator("1ps", 0.1).lag == KoopmanEstimator("1000fs", 0.1).lag
    with pytest.raises(TypeError):
        TrainConfig(lag_frames=1)                                       # the old name is gone, loudly
    result = runner.invoke(app, ["fit", "x.npz", "--out", "never", "--lag", "1.5"])
    assert result.exit_code == 2 and "--lag must be a whole number of frames" in result.output


def test_every_option_is_checked_before_training(toy, tmp_path):
    _, paths, trajs = toy
    started = time.perf_counter()
    with pytest.raises(GdynetError, match=r"unknown analysis option 'temperature' \(did you mean 'temperature_K'\?\)"):
        gdynet.fit(paths[:1], tmp_path / "run", ReadOptions(dt="0.1ps"),
                   analysis={"temperature": 300}, progress=False)
    with pytest.raises(GdynetError, match="^ci_from must be one of"):
        gdynet.fit(paths[:1], tmp_path / "run", ReadOptions(dt="0.1ps"),
                   analysis={"ci_from": "bootstrap"}, progress=False)
    from gdynet.runs.fit import FitOptions

    with pytest.raises(GdynetError, match="^n_states must be a whole number >= 2"):   # FitOptions says n_states too
        gdynet.fit(paths[:1], tmp_path / "run", ReadOptions(dt="0.1ps"), FitOptions(n_states=1), progress=False)
    assert time.perf_counter() - started < 20 and not (tmp_path / "run").exists()   # nothing trained or written
    for bad, message in (({"n_states": 1}, "^n_states must be a whole number >= 2"),
                         ({"hidden": ()}, "^hidden must be"), ({"split": (0.5, 0.2)}, "^split must be"),
                         ({"epochs": 2.5}, "^epochs must be a whole number"), ({"architecture": "mlp"}, "^architecture must be"),
                         ({"cutoff": 0.1}, r"^cutoff must be a number >= 0.4 Å")):
        with pytest.raises(GdynetError, match=message):
            gdynet.GDyNetEstimator(**bad).fit(trajs[:1])
    with pytest.raises(GdynetError, match="trajectories must be a Trajectory or a list"):
        gdynet.GDyNetEstimator().fit(paths[0])
    result = runner.invoke(app, ["fit", paths[0], "--dt", "0.1ps", "--out", str(tmp_path / "cli"), "--states", "1"])
    assert result.exit_code == 2 and result.output.startswith("error: --states must be")      # the flag in the CLI
    result = runner.invoke(app, ["fit", paths[0], "--dt", "0.1ps", "--out", str(tmp_path / "cli"), "--ci-from", "x"])
    assert result.exit_code == 2 and result.output.startswith("error: --ci-from must be")
    assert not (tmp_path / "cli").exists()


def test_cli_and_python_give_identical_chi_and_timescales(fitted, toy, tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from gdynet.koopman.estimator import KoopmanEstimator
    from gdynet.report import figures

    # drawing the figures is most of an analysis' time and is tested elsewhere (test_figures, test_pipeline)
    monkeypatch.setattr(figures, "save_figure", lambda fig, stem: plt.close(fig) or (stem, stem))
    _, model = fitted
    _, paths, trajs = toy
    out = tmp_path / "run"
    result = runner.invoke(app, ["fit", *paths[:2], "--dt", "0.1ps", "--out", str(out), *FLAGS])
    assert result.exit_code == 0, result.output
    for i, traj in enumerate(trajs[:2]):
        np.testing.assert_array_equal(np.load(out / "chi" / f"traj_{i:03d}.npy"), model.transform(traj).values)
    assert not list((out / "chi").glob(".raw*"))                       # the network's raw output is removed
    cli = [np.load(out / "chi" / f"traj_{i:03d}.npy") for i in range(2)]
    python = [model.transform(t) for t in trajs[:2]]
    assert KoopmanEstimator(5, 0.1).fit(cli).fetch_model().timescales_ps == \
        KoopmanEstimator(5, 0.1).fit([p.values for p in python]).fetch_model().timescales_ps
    run = gdynet.load(out)                                              # a run folder opens as a model
    assert run.meta["calibration"] == model.meta["calibration"] and run.summary() == json.loads(
        (out / "summary.json").read_text())

    saved = model.save(tmp_path / "model.pt")                           # a model trained in Python ...
    result = runner.invoke(app, ["predict", str(saved), paths[2], "--dt", "0.1ps", "-o", str(tmp_path / "p.npy")])
    assert result.exit_code == 0, result.output                         # ... is applied by the CLI
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), model.transform(trajs[2]).values)
    result = runner.invoke(app, ["analyze", str(saved), paths[2], "--dt", "0.1ps", "--out", str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "new" / "summary.json").read_text())
    assert summary["analysis_on"] == "test" and summary["n_frames"] == 400 and summary["lag_ps"] == 0.5
    np.testing.assert_array_equal(np.load(tmp_path / "new" / "chi" / "traj_000.npy"), model.transform(trajs[2]).values)
    again = gdynet.analyze_model(model, trajs[2], tmp_path / "from_python", lags=[2, 5])   # the same from Python
    assert again["timescales_ps"] == summary["timescales_ps"] and gdynet.load(tmp_path / "from_python").summary() == again
    with pytest.warns(DeprecationWarning, match="gdynet.analyze_model"):        # the old method, for one release
        old = model.analyze(trajs[2], tmp_path / "old_method", lags=[2, 5])
    assert model.summary() is old and old["timescales_ps"] == summary["timescales_ps"]
    result = runner.invoke(app, ["analyze", str(saved), "--out", str(tmp_path / "none")])
    assert result.exit_code == 2 and "needs the trajectories to analyse" in result.output
