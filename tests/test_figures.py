"""Figures and the Markdown report: files exist, are valid PNG/SVG, and the report lists the numbers."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from gdynet import GdynetError, Trajectory
from gdynet.analysis.conduction import transition_conduction
from gdynet.analysis.rdf import state_rdf
from gdynet.report import figures

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _chain(P, frames=3000, n=20, seed=0):
    """One-hot chi ``(F, n, S)`` of independent Markov chains with transition matrix ``P``."""
    rng = np.random.default_rng(seed)
    cum = np.cumsum(P, axis=1)
    states = np.zeros((frames, n), dtype=np.int64)
    u = rng.random((frames, n))
    for t in range(1, frames):
        states[t] = np.minimum((u[t, :, None] > cum[states[t - 1]]).sum(axis=1), len(P) - 1)
    return np.eye(len(P))[states]


P3 = np.array([[0.96, 0.04, 0.0], [0.02, 0.96, 0.02], [0.0, 0.04, 0.96]])


def _its():
    from gdynet.koopman.validation import implied_timescales

    return implied_timescales(_chain(P3), [1, 2, 5, 10, 20, 50, 100], 0.1, n_blocks=5)


def _ck(n=3):
    from gdynet.koopman.validation import ck_test

    return ck_test(_chain(P3), 10, 5, 0.1, n_blocks=5)


@pytest.fixture(scope="module")
def analysis():
    """A small two-state system: RDF and conduction results to plot."""
    rng = np.random.default_rng(5)
    cell = np.eye(3) * 9.0
    frames, n = 400, 6
    state = (np.arange(frames)[:, None] // 50 + np.arange(n)[None]) % 2
    steps = rng.normal(size=(frames, n, 3)) * np.sqrt(2 * np.array([0.05, 0.5])[state] * 0.1)[..., None]
    li = np.cumsum(steps, axis=0) + rng.random((n, 3)) * 9.0
    o = rng.random((frames, 40, 3)) * 9.0
    traj = Trajectory(positions=np.concatenate([li, o], axis=1) % 9.0, cells=cell,
                      numbers=np.array([3] * n + [8] * 40), dt_ps=0.1, targets=np.arange(n)[:, None])
    chi = np.eye(2)[state]
    rdf = state_rdf(traj, chi, "O", r_max=4.0, n_bins=40, stride=10)
    cond = transition_conduction(traj, chi, 5, K=[[0.95, 0.05], [0.05, 0.95]], temperature_K=300.0,
                                 charges=[1.0, -0.5])
    return rdf, cond


def _check(paths, tmp_path, stem):
    png, svg = paths
    assert png == tmp_path / f"{stem}.png" and svg == tmp_path / f"{stem}.svg"
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 5000
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "</svg>" in text
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_every_figure_writes_png_and_svg(tmp_path, analysis):
    rdf, cond = analysis
    _check(figures.save_implied_timescales(_its(), tmp_path / "its"), tmp_path, "its")
    _check(figures.save_ck_test(_ck(), tmp_path / "ck"), tmp_path, "ck")
    _check(figures.save_populations(np.array([0.5, 0.3, 0.2]), tmp_path / "pop", errors=[0.01, 0.02, 0.01]),
           tmp_path, "pop")
    _check(figures.save_state_rdf({"Li-O": rdf, "Li-O (again)": rdf}, tmp_path / "rdf"), tmp_path, "rdf")
    _check(figures.save_transition_msd(cond, tmp_path / "msd"), tmp_path, "msd")
    _check(figures.save_conduction(cond, tmp_path / "cond"), tmp_path, "cond")


def test_svg_contains_labels_with_units(tmp_path, analysis):
    rdf, cond = analysis
    _, svg = figures.save_implied_timescales(_its(), tmp_path / "its.png")  # a suffix is replaced
    assert svg == tmp_path / "its.svg"
    text = svg.read_text()
    # matplotlib writes text as paths but keeps it in comments/ids: check the labels survive
    assert "lag time" in text and "(ps)" in text
    text = figures.save_conduction(cond, tmp_path / "cond")[1].read_text()
    assert "S/cm" in text


def test_populations_accept_a_koopman_model_and_check_labels(tmp_path):
    model = SimpleNamespace(stationary=np.array([0.7, 0.3]))
    figures.save_populations(model, tmp_path / "pop", labels=["bulk", "interface"])
    with pytest.raises(GdynetError, match="labels"):
        figures.save_populations(model, tmp_path / "bad", labels=["one"])


def test_mismatched_ck_arrays_raise(tmp_path):
    ck = _ck()
    bad = SimpleNamespace(**{**vars(ck), "estimated": ck.estimated[:, :2, :2]})
    with pytest.raises(GdynetError, match="CK test"):
        figures.save_ck_test(bad, tmp_path / "ck")


def test_populations_and_report_take_a_real_koopman_model(tmp_path):
    from gdynet.koopman.estimator import KoopmanEstimator
    from gdynet.report.markdown import write_report

    model = KoopmanEstimator(10, 0.1).fit(_chain(P3)).fetch_model()
    png, _ = figures.save_populations(model, tmp_path / "pop")
    text = write_report(tmp_path, summary={"koopman": model}, figures={"Populations": png}, inputs={}).read_text()
    assert f"| 1 | {model.timescales_ps[0]:.4g} |" in text
    assert f"| 1 | {100 * model.stationary[1]:.4g} |" in text
    assert "Lag time τ = 1 ps (10 frames)" in text


def test_report_lists_inputs_numbers_and_relative_figure_links(tmp_path, analysis):
    from gdynet.report.markdown import write_report

    rdf, cond = analysis
    figs = tmp_path / "figures"
    paths = {"Implied timescales": figures.save_implied_timescales(_its(), figs / "its"),
             "Conduction": figures.save_conduction(cond, figs / "conduction")[0]}
    koopman = {"lag_ps": 5.0, "lag_frames": 50, "timescales_ps": [40.0, float("inf")],
               "populations": [0.75, 0.25], "K": [[0.9, 0.1], [0.3, 0.7]]}
    summary = {"koopman": koopman, "vamp2": {"train": 1.93, "validation": 1.91, "test": 1.9},
               "conduction": cond, "rdf": {"Li-O": rdf}, "epochs": 12}
    path = write_report(tmp_path, summary=summary, figures=paths,
                        inputs={"trajectory": "md|run.xyz", "lag": "5ps", "temperature (K)": 300.0})
    text = path.read_text()
    assert path == tmp_path / "report.md"
    assert "![Implied timescales](figures/its.png)" in text and "(figures/its.svg)" in text
    assert "![Conduction](figures/conduction.png)" in text
    assert "| 1 | 40 |" in text and "| 2 | ∞ |" in text          # timescales in ps
    assert "| 0 | 75 |" in text                                   # populations in %
    assert "| validation | 1.91 |" in text
    assert "md\\|run.xyz" in text                                 # table cells are escaped
    assert f"{cond.sigma_ne:.4g}" in text and f"{cond.sigma_collective:.4g}" in text
    assert "| 1->1 |" in text and "| epochs | 12 |" in text
    assert "Li-O" in text
    assert not list(tmp_path.glob(".*.tmp"))


def test_unbounded_timescale_interval_reaches_the_top_edge(tmp_path, monkeypatch):
    """upper = inf (the interval reaches |λ| >= 1) must not erase the band: it fills to the top edge,
    and an infinite timescale is marked there instead of vanishing."""
    saved = []
    monkeypatch.setattr(figures, "save_figure", lambda fig, stem: saved.append(fig) or (stem, stem))
    lags = np.array([1.0, 2.0, 4.0, 8.0])
    ts = np.array([[30.0], [31.0], [29.0], [np.inf]])
    its = SimpleNamespace(lags_ps=lags, timescales_ps=ts, lower=np.array([[24.0], [25.0], [23.0], [20.0]]),
                          upper=np.array([[36.0], [np.inf], [np.inf], [np.inf]]))
    figures.save_implied_timescales(its, tmp_path / "its")
    ax = saved[0].axes[0]
    top = ax.get_ylim()[1]
    band = ax.collections[0].get_paths()[0].vertices  # the CI band (the grey t < tau area comes later)
    assert np.all(np.isfinite(band)) and band[:, 1].max() == pytest.approx(top)
    marker = [line for line in ax.lines if line.get_marker() == "^"][0]
    np.testing.assert_allclose(marker.get_xydata(), [[8.0, top]])
