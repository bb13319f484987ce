"""The Python surface (issue 17): analyses take StateProbabilities, one name per concept, short reprs,
notebook plots (Figure returned, ax= honoured, files only when asked), a discoverable ``gdynet``."""
from __future__ import annotations

import inspect

import numpy as np
import pytest
from matplotlib.figure import Figure

import gdynet
from gdynet import GdynetError, StateProbabilities, Trajectory
from koopman_chains import P3, one_hot, simulate

DT = 0.1


def _chain(P, frames=1500, n=12, seed=0):
    """One-hot chi ``(F, n, S)`` of ``n`` independent Markov chains with transition matrix ``P``."""
    return one_hot(simulate(P, frames, n, seed), len(P))


@pytest.fixture(scope="module")
def system():
    """Six Li hopping between a slow and a fast state among 40 O, with charges; chi one-hot."""
    rng = np.random.default_rng(5)
    frames, n = 300, 6
    state = (np.arange(frames)[:, None] // 50 + np.arange(n)[None]) % 2
    steps = rng.normal(size=(frames, n, 3)) * np.sqrt(2 * np.array([0.05, 0.5])[state] * DT)[..., None]
    li = np.cumsum(steps, axis=0) + rng.random((n, 3)) * 9.0
    o = rng.random((frames, 40, 3)) * 9.0
    traj = Trajectory(positions=np.concatenate([li, o], axis=1) % 9.0, cells=np.eye(3) * 9.0,
                      numbers=np.array([3] * n + [8] * 40), dt_ps=DT, targets=np.arange(n)[:, None],
                      charges=np.array([1.0] * n + [-0.15] * 40))
    chi = np.eye(2)[state].astype(np.float32)
    return traj, chi, StateProbabilities(chi, DT, targets=traj.targets, source="test")


# ----------------------------------------------------------------- 3. StateProbabilities everywhere
def test_koopman_analyses_read_dt_from_state_probabilities():
    chi = _chain(P3)
    probs = StateProbabilities(chi, DT)
    a = gdynet.KoopmanEstimator(lag=5).fit(probs).fetch_model()
    b = gdynet.KoopmanEstimator(lag=5, dt_ps=DT).fit(chi).fetch_model()
    assert a.dt_ps == DT and a.lag == 5 and a.lag_ps == pytest.approx(0.5)
    np.testing.assert_array_equal(a.K, b.K)
    # a lag given as a time is resolved with the spacing chi carries
    assert gdynet.KoopmanEstimator(lag="0.5ps").fit(probs).fetch_model().lag == 5
    assert gdynet.KoopmanEstimator(lag="1ps").fit([probs, probs]).fetch_model().n_pairs == 2 * 12 * 1490
    its = gdynet.implied_timescales(probs, [1, 5, 10], n_blocks=3)
    np.testing.assert_array_equal(its.timescales_ps, gdynet.implied_timescales(chi, [1, 5, 10], DT,
                                                                               n_blocks=3).timescales_ps)
    ck = gdynet.ck_test(probs, 5, 3, n_blocks=3)
    assert ck.dt_ps == DT and ck.max_error == gdynet.ck_test(chi, 5, 3, DT, n_blocks=3).max_error
    pops = gdynet.population_intervals(probs, "0.5ps", n_blocks=3)
    np.testing.assert_allclose(pops.populations, a.stationary)
    # the Koopman model carries lag and spacing: PCCA+ needs nothing else
    assert gdynet.coarse_grain(a, 2).model.lag_ps == a.lag_ps


def test_koopman_spacing_errors_say_what_to_do():
    chi = _chain(P3, frames=200)
    with pytest.raises(GdynetError, match="dt_ps is needed with plain arrays"):
        gdynet.KoopmanEstimator(lag=5).fit(chi)
    with pytest.raises(GdynetError, match="disagrees"):
        gdynet.implied_timescales(StateProbabilities(chi, DT), [1, 2], dt_ps=0.2)
    with pytest.raises(GdynetError, match="different frame spacings"):
        gdynet.KoopmanEstimator(lag=1).fit([StateProbabilities(chi, DT), StateProbabilities(chi, 0.2)])
    model = gdynet.KoopmanEstimator(lag=1, dt_ps=DT).fit(chi).fetch_model()
    with pytest.raises(GdynetError, match="^n_sets must be an integer from 2 to 2"):
        gdynet.coarse_grain(model, 3)


def test_structure_and_transport_analyses_take_state_probabilities(system):
    traj, chi, probs = system
    pairs = [
        (gdynet.state_rdf, dict(species="O", r_max=4.0, n_bins=20, stride=20), "g"),
        (gdynet.state_profile, dict(axis="z", n_bins=6, stride=20), "density"),
        (gdynet.state_order_parameter, dict(l=6, cutoff=3.0, n_bins=10, stride=30), "density"),
        (gdynet.state_charge_integral, dict(r_max=3.0, n_bins=10, stride=30), "Q"),
    ]
    for function, kwargs, field in pairs:
        np.testing.assert_array_equal(getattr(function(traj, probs, **kwargs), field),
                                      getattr(function(traj, chi, **kwargs), field))
    pooled = gdynet.state_rdf([traj, traj], [probs, probs], "O", r_max=4.0, n_bins=20, stride=20)
    np.testing.assert_allclose(pooled.g, gdynet.state_rdf(traj, chi, "O", r_max=4.0, n_bins=20, stride=20).g)
    model = gdynet.KoopmanEstimator(lag=5).fit(probs).fetch_model()
    a = gdynet.transition_conduction(traj, probs, koopman=model, temperature_K=300.0)   # lag from the model
    b = gdynet.transition_conduction(traj, chi, 5, koopman=model, temperature_K=300.0)
    assert a.lag == 5 and a.sigma_ne == b.sigma_ne
    with pytest.raises(GdynetError, match="give lag"):
        gdynet.transition_conduction(traj, probs, temperature_K=300.0)


def test_state_probabilities_of_another_trajectory_are_refused(system):
    traj, chi, probs = system
    with pytest.raises(GdynetError, match="0.2 ps apart but the trajectory 0.1 ps"):
        gdynet.state_profile(traj, StateProbabilities(chi, 0.2))
    with pytest.raises(GdynetError, match="other target atoms"):
        gdynet.state_rdf(traj, StateProbabilities(chi, DT, targets=traj.targets + 6), "O")


# ----------------------------------------------------------------- 6. one name per concept
@pytest.mark.parametrize("name", ["state_rdf", "state_profile", "state_order_parameter", "state_charge_integral"])
def test_histogram_analyses_call_their_bins_n_bins(name):
    params = inspect.signature(getattr(gdynet, name)).parameters
    assert "n_bins" in params and "bins" not in params and "nbins" not in params


def test_python_errors_name_keywords_not_cli_flags(system):
    traj, chi, _ = system
    with pytest.raises(GdynetError) as err:
        gdynet.state_profile(traj, chi, axis="q")
    assert "axis must be one of" in str(err.value) and "--" not in str(err.value)


def test_gdynet_lists_and_resolves_every_public_name():
    names = dir(gdynet)
    for name in gdynet.__all__:
        assert name in names
        assert getattr(gdynet, name) is not None
    for name in ("read_trajectory", "KoopmanEstimator", "coarse_grain", "StateProbabilities", "plot_ck_test",
                 "state_rdf", "datasets"):
        assert name in gdynet.__all__
    assert callable(gdynet.datasets.toy_li_fcc)
    with pytest.raises(AttributeError):
        gdynet.no_such_name


# ----------------------------------------------------------------- 7. reprs and plots
@pytest.fixture(scope="module")
def results(system):
    traj, chi, probs = system
    model = gdynet.KoopmanEstimator(lag=5).fit(probs).fetch_model()
    three = StateProbabilities(_chain(P3, frames=600), DT)
    model3 = gdynet.KoopmanEstimator(lag=5).fit(three).fetch_model()
    profile = gdynet.state_profile(traj, probs, n_bins=6, stride=20)
    return {
        "probs": probs, "estimator": gdynet.KoopmanEstimator(lag="0.5ps"), "model": model,
        "its": gdynet.implied_timescales(three, [1, 2, 5, 10], n_blocks=3),
        "ck": gdynet.ck_test(three, 5, 3, n_blocks=3),
        "populations": gdynet.population_intervals(three, 5, n_blocks=3),
        "coarse": gdynet.coarse_grain(model3, 2),
        "rdf": gdynet.state_rdf(traj, probs, "O", r_max=4.0, n_bins=20, stride=20),
        "profile": profile,
        "snapshot": gdynet.state_snapshot(traj, probs),
        "order": gdynet.state_order_parameter(traj, probs, cutoff=3.0, n_bins=10, stride=30),
        "charge": gdynet.state_charge_integral(traj, probs, r_max=3.0, n_bins=10, stride=30),
        "conduction": gdynet.transition_conduction(traj, probs, koopman=model, temperature_K=300.0),
        "conduction_no_T": gdynet.transition_conduction(traj, probs, koopman=model, temperature_K=None),
    }


def test_every_result_prints_in_a_line_or_two(results):
    for name, obj in results.items():
        text = repr(obj)
        assert len(text) <= 320 and text.count("\n") <= 2, (name, text)
        assert "array(" not in text and "[[" not in text, (name, text)
        assert text.startswith(type(obj).__name__ + "("), (name, text)
    assert "2 states, lag 0.5 ps = 5 frames" in repr(results["model"])
    assert repr(results["estimator"]) == "KoopmanEstimator(lag='0.5ps')"    # constructor-style (issue 23)
    assert "no absolute σ" in repr(results["conduction_no_T"])


PLOTS = [("plot_implied_timescales", "its"), ("plot_ck_test", "ck"), ("plot_populations", "model"),
         ("plot_populations", "populations"),
         ("plot_populations", "probs"), ("plot_eigenvectors", "model"), ("plot_state_rdf", "rdf"),
         ("plot_transition_msd", "conduction"), ("plot_conduction", "conduction"),
         ("plot_state_profile", "profile"), ("plot_state_snapshot", "snapshot"),
         ("plot_charge_integral", "charge"), ("plot_order_parameter", "order")]


@pytest.mark.parametrize("name, key", PLOTS)
def test_plots_return_a_figure_draw_into_an_axes_and_write_nothing(name, key, results, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plot = getattr(gdynet, name)
    fig = plot(results[key])
    assert isinstance(fig, Figure) and fig.axes
    own = Figure()
    axes = own.subplots(1, 2)
    assert plot(results[key], ax=axes[1]) is own
    assert axes[0] in own.axes and len(own.axes) >= 2            # the other panel is untouched
    assert not list(tmp_path.iterdir())                           # nothing written without path=


def test_plots_write_only_the_file_asked_for(results, tmp_path):
    gdynet.plot_ck_test(results["ck"], path=tmp_path / "ck.svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.svg"]
    gdynet.plot_learning_curve([{"epoch": 1, "train": 1.2, "validation": 1.1},
                                {"epoch": 2, "train": 1.6, "validation": 1.5}], path=tmp_path / "sub" / "lc")
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["lc.png", "lc.svg"]
    assert (tmp_path / "sub" / "lc.png").read_bytes()[:4] == b"\x89PNG"
    assert "path" in inspect.signature(gdynet.plot_state_rdf).parameters
    assert "ax" in inspect.signature(gdynet.plot_state_rdf).parameters
