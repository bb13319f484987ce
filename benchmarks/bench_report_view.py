"""How smooth is report.html's 3D view for ~10^4 atoms, and how large is the file (issue 25)?

Builds the page of a real (small) toy run whose 3D view shows a synthetic solid-liquid slab of
``--cells`` FCC cells (default 14 x 14 x 13 = 10,192 atoms, every atom a target, 4 states that follow
the height with noise that changes every frame), opens it in headless Chromium (``tests/browser.py``,
the same driver as the tests) and measures, inside the page with ``performance.now()``:

* first render: from the start of navigation to the 3D view drawn (its promise resolved and two
  animation frames painted), and to every figure drawn;
* slider: a frame change (the slider's ``input`` event) until the atoms are repainted (two animation
  frames later), median and max over 10 changes;
* rotation: animation frames per second over 2 s while every frame moves the camera with
  ``Plotly.relayout(view, {'scene.camera.eye': ...})``.

``--atoms-1e5`` also writes the page of a 10^5-atom system (random atoms, 5,000 targets) and reports
its size. Chromium renders WebGL with SwiftShader (software, on the CPU) here: a laptop's GPU is
faster, so these numbers are a lower bound on smoothness.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_report_view.py [--cells 14,14,13] [--atoms-1e5]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

ROTATE = """new Promise(function (done) {
  const el = gdynetView.el; let frames = 0; const t0 = performance.now();
  function tick(now) {
    frames++;
    const a = (now - t0) / 1000 * Math.PI;
    Plotly.relayout(el, {'scene.camera.eye': {x: 1.8 * Math.cos(a), y: 1.8 * Math.sin(a), z: 0.9}});
    if (now - t0 < 2000) requestAnimationFrame(tick); else done(frames / ((now - t0) / 1000));
  }
  requestAnimationFrame(tick);
})"""

SLIDE = """(function (i) {
  const t0 = performance.now(); const s = document.getElementById('frame');
  s.value = String(i); s.dispatchEvent(new Event('input'));
  return gdynetView.drawn().then(function () { return new Promise(function (r) {
    requestAnimationFrame(function () { requestAnimationFrame(function () { r(performance.now() - t0); }); }); }); });
})(%d)"""


def toy_run(folder: Path) -> Path:
    """A small fitted toy run with 4 states (the page's figures and summary come from it)."""
    from typer.testing import CliRunner

    from gdynet.cli import app
    from gdynet.datasets.toy import toy_li_fcc, write_npz

    toy = toy_li_fcc(n_trajectories=2, n_frames=400, seed=1)
    paths = [str(write_npz(t, folder / f"toy_{i}.npz")) for i, t in enumerate(toy.trajectories)]
    out = folder / "run"
    result = CliRunner().invoke(app, ["fit", *paths, "--dt", "0.1ps", "--out", str(out), "--lag", "1ps", "--epochs",
                                      "3", "--quiet", "--lags", "0.5ps,1ps", "--device", "cpu", "--states", "4"])
    if result.exit_code:
        raise SystemExit(result.output)
    return out


def slab_states(traj, n_states: int = 4, seed: int = 0) -> np.ndarray:
    """(F, n, S) probabilities that follow the height z (solid bottom to liquid top), noisy per frame."""
    rng = np.random.default_rng(seed)
    z = np.asarray(traj.positions)[:, :, 2] / float(np.asarray(traj.cells)[0][2, 2])
    centres = (np.arange(n_states) + 0.5) / n_states
    logits = -((z[..., None] - centres) ** 2) / 0.02 + rng.normal(0, 1.5, z.shape + (n_states,))
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return p / p.sum(axis=-1, keepdims=True)


def page(run: Path, out: Path, traj, chi: np.ndarray) -> Path:
    from gdynet.runs.analyze import write_run_html

    summary = json.loads((run / "summary.json").read_text())
    record = json.loads((run / "run.json").read_text())
    return write_run_html(out, summary, record, [traj], [chi])


def measure(path: Path) -> dict[str, float]:
    from browser import Browser, find_chromium

    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    with Browser(chromium, width=1280, height=900, timeout=300) as browser:
        browser.open(path.resolve().as_uri())
        browser.wait_for("window.gdynetReady === true")
        first = browser.evaluate("gdynetTimes.view")
        ready = browser.evaluate("gdynetTimes.ready")
        n = browser.evaluate("gdynetView.frames")
        slides = [browser.evaluate(SLIDE % (k * 7 % n)) for k in range(1, 11)]
        fps = browser.evaluate(ROTATE)
        errors = browser.errors()
    if errors:
        raise SystemExit(f"errors on the page: {errors}")
    return {"first_view_ms": first, "all_drawn_ms": ready, "slider_median_ms": statistics.median(slides),
            "slider_max_ms": max(slides), "rotate_fps": fps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", default="14,14,13", help="FCC cells of the slab (4 atoms each)")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--atoms-1e5", action="store_true", help="also the size of a 10^5-atom page")
    parser.add_argument("--keep", type=Path, help="write the pages into this folder (default: a temporary one)")
    args = parser.parse_args()
    from systems import interface

    from gdynet.report.structure_view import structure_view
    from gdynet.trajectory.core import Trajectory

    folder = args.keep or Path(tempfile.mkdtemp(prefix="gdynet-bench-report-"))
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    run = toy_run(folder)
    cells = tuple(int(c) for c in args.cells.split(","))
    traj = interface(frames=args.frames, cells=cells, seed=0)
    chi = slab_states(traj)
    path = page(run, folder / "slab", traj, chi)
    view = structure_view([traj], [chi])
    print(f"{traj.n_atoms:,} atoms ({traj.n_targets:,} targets), {len(view.frames)} frames: "
          f"{path.stat().st_size / 1e6:.2f} MB ({time.perf_counter() - t0:.0f} s to build)")
    print(json.dumps({k: round(v, 1) for k, v in measure(path).items()}))
    if args.atoms_1e5:
        rng = np.random.default_rng(0)
        n, frames = 100_000, 60
        big = Trajectory(rng.uniform(0, 100, (frames, n, 3)).astype(np.float32), np.diag([100.0] * 3),
                         np.where(np.arange(n) < 5000, 3, 8), dt_ps=0.1, targets=np.arange(5000), source="big")
        path = page(run, folder / "big", big, rng.dirichlet(np.ones(4), (frames, 5000)))
        print(f"100,000 atoms (5,000 targets): {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
