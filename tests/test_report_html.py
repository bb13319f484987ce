"""report.html: written by fit, rewritten by `gdynet report`, within its size bounds, and drawn by a
real browser (headless Chromium over the DevTools protocol) offline, without errors.

``GDYNET_SCREENSHOT=docs/report.png python -m pytest tests/test_report_html.py`` also saves the
screenshot shown in the README.
"""
from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gdynet.cli import app
from gdynet.datasets.toy import toy_li_fcc, write_npz
from gdynet.report.structure_view import structure_view
from gdynet.trajectory.core import Trajectory

runner = CliRunner()
#: the demo's report.html stays below this (issue 25), and a 10^5-atom run's below LARGE_LIMIT
DEMO_LIMIT, LARGE_LIMIT = 5_000_000, 25_000_000


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A small demo-like run: the Li-in-FCC-S toy, held-out test trajectory, charges, profile, q6."""
    folder = tmp_path_factory.mktemp("toy")
    toy = toy_li_fcc(n_trajectories=3, n_frames=600, seed=1)
    paths = [str(write_npz(t, folder / f"toy_{i}.npz")) for i, t in enumerate(toy.trajectories)]
    out = folder / "run"
    result = runner.invoke(app, ["fit", paths[0], paths[1], "--test", paths[2], "--analyze-on", "all", "--dt", "0.1ps",
                                 "--out", str(out), "--lag", "1ps", "--epochs", "8", "--batch-size", "64", "--quiet",
                                 "--lags", "0.5ps,1ps,2ps", "--device", "cpu", "--charge", "1", "--temperature", "300",
                                 "--profile", "z", "--order-parameter", "q6"])
    assert result.exit_code == 0, result.output
    return out


def _page_data(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    match = re.search(r"<script type='application/json' id='gdynet-data'>(.*?)</script>", text, re.S)
    return json.loads(match.group(1).replace("<\\/", "</"))


def test_fit_writes_report_html_and_report_rewrites_it(run):
    page = run / "report.html"
    assert page.stat().st_size < DEMO_LIMIT
    text = page.read_text(encoding="utf-8")
    assert text.count("* plotly.js v") == 1                               # plotly.js inside the file, once
    ours = re.sub(r"<script>/\*\*\n\* plotly\.js v.*?</script>", "", text, count=1, flags=re.S)
    assert len(re.findall(r"<script(?: [^>]*)?>", ours)) == 2            # the data and the page script
    assert not re.search(r"(src|href)=['\"]?(https?:|//)", ours)          # nothing to fetch
    summary = json.loads((run / "summary.json").read_text())
    data = _page_data(page)
    pops = [t["y"][0] / 100 for t in data["figures"]["populations"]["data"]]
    np.testing.assert_allclose(pops, summary["populations"], rtol=1e-12)
    line = next(t for t in data["figures"]["timescales"]["data"] if t.get("name", "").startswith("t1"))
    np.testing.assert_allclose(line["y"], [row[0] for row in summary["implied_timescales"]["timescales_ps"]])
    assert {"rdf", "profile", "order", "ck", "eigenvectors", "learning"} <= set(data["figures"])
    assert f"{summary['timescales_ps'][0]:.4g} ps" in text
    assert len(data["view"]["frames"]) == 40 and len(data["view"]["systems"]) == 3   # analyse-on all: 3 files
    before, summary_time = page.read_bytes(), (run / "summary.json").stat().st_mtime_ns
    page.unlink()
    result = runner.invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert page.read_bytes() == before                                   # the same page, nothing recomputed
    assert (run / "summary.json").stat().st_mtime_ns == summary_time


def test_report_refuses_a_folder_without_analysis(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "no summary.json" in result.output


def test_large_system_view_stays_small():
    """10^5 atoms, 5,000 of them targets: atoms subsampled (and said), 40 frames, well under 25 MB."""
    rng = np.random.default_rng(0)
    n_atoms, n_frames = 100_000, 60
    cell = np.diag([100.0, 100.0, 100.0])
    positions = rng.uniform(0, 100, (n_frames, n_atoms, 3)).astype(np.float32)
    numbers = np.where(np.arange(n_atoms) < 5000, 3, 8)
    traj = Trajectory(positions, cell, numbers, dt_ps=0.1, targets=np.arange(5000), source="big.lammpstrj")
    chi = rng.dirichlet(np.ones(4), (n_frames, 5000))
    view = structure_view([traj], [chi])
    packed = len(json.dumps(view.to_dict()))
    assert len(view.frames) == 40 and packed < LARGE_LIMIT - 6_000_000   # room for plotly.js and the figures
    assert any("20,000 of its 100,000 atoms" in note for note in view.notes)
    frame = view.frames[-1]
    xyz = np.frombuffer(base64.b64decode(frame["xyz"]), "<u2").reshape(-1, 3) * frame["step"] + frame["lo"]
    kind = np.frombuffer(base64.b64decode(view.systems[0]["kind"]), "<i4")
    ids = np.frombuffer(base64.b64decode(view.systems[0]["ids"]), "<i4")
    assert (kind[:5000] == np.arange(5000)).all()                       # every target is drawn
    np.testing.assert_allclose(xyz, positions[frame["frame"], ids], atol=0.01)


def test_report_in_headless_chromium(run):
    """The page loads offline with no console error and no request, every figure and the 3D view draw,
    and the frame slider recolours the atoms."""
    pytest.importorskip("websocket", reason="websocket-client is not installed (pip install -e '.[test]')")
    from browser import Browser, find_chromium

    chromium = find_chromium()
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium): report.html not checked in a browser")
    page = run / "report.html"
    states = [np.frombuffer(base64.b64decode(f["chi"]), "<u1").reshape(-1, 2).argmax(axis=1)
              for f in _page_data(page)["view"]["frames"]]
    other = next((i for i, s in enumerate(states) if len(s) == len(states[0]) and (s != states[0]).any()), None)
    assert other is not None, "the toy's target never changes state over the 40 frames shown"
    with Browser(chromium, width=1280, height=900, timeout=120) as browser:
        browser.open(page.resolve().as_uri())
        browser.wait_for("window.gdynetReady === true")
        boxes = browser.evaluate("""Array.from(document.querySelectorAll('.figure, .view')).map(function (d) {
            const r = d.getBoundingClientRect();
            return {id: d.id, x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height};
        })""")
        assert {b["id"] for b in boxes} >= {"view3d", "fig-timescales", "fig-ck", "fig-populations", "fig-rdf"}
        for box in boxes:
            pixels = browser.screenshot({k: box[k] for k in ("x", "y", "width", "height")}).astype(float)
            assert pixels.std() > 8, f"{box['id']} looks blank (pixel spread {pixels.std():.1f})"
        colours = "gdynetView.el.data[gdynetView.targetTrace].marker.color.slice()"
        first = browser.evaluate(colours)
        shot = browser.screenshot({"x": 0, "y": 0, "width": 1280, "height": 1500})
        browser.evaluate(f"""(function () {{ const s = document.getElementById('frame'); s.value = '{other}';
            s.dispatchEvent(new Event('input')); return true; }})()""")
        assert browser.evaluate(colours) != first
        assert browser.evaluate("document.getElementById('frame-label').textContent").startswith(f"frame {other + 1} ")
        browser.evaluate("""(function () { const b = document.querySelector('input[data-state="0"]');
            b.click(); return true; })()""")
        hidden = browser.evaluate("""document.getElementById('fig-populations').data.map(t => t.visible)""")
        assert hidden[0] == "legendonly" and hidden[1] is not False
        assert browser.errors() == []
        assert [u for u in browser.requests() if not u.startswith(("file:", "data:", "blob:"))] == []
    target = os.environ.get("GDYNET_SCREENSHOT")
    if target:
        from PIL import Image

        Image.fromarray(shot).save(target, optimize=True)
