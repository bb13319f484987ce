"""Cost of the smooth M-th shell (issue 18): graph building and a training step, old code vs new.

The new graphs store ``W = M + 2`` neighbours per atom and the attention is weighted by distance-only
shell weights (:mod:`gdynet.graphs.shells`); the old code stored exactly M. This script measures one
version of gdynet, given by ``--src`` (a ``src`` folder, e.g. ``git archive 7e9a4ac src | tar -x -C /tmp/old``),
and prints one JSON line; ``--compare OLD_SRC NEW_SRC`` runs both alternately in fresh processes
(``--rounds`` times, best of each) and prints the ratios new / old.

Systems (CPU, float32, 1 thread):
  toy:    the paper's toy cell (1 Li + 4 S, a = 6.5 Å, Li at random places), M = 12, 1 target, B = 256 pairs
  liquid: 2,000 atoms at random in a 34.2 Å box, M = 20, 100 single-atom targets, B = 16 pairs
Measured: ``build_graphs`` of 200 toy frames / 40 liquid frames (1 worker, fresh cache; atom-frames per
second), one training step (forward of 2B frames, VAMP-2 loss, backward; median of ``--steps``) and
the peak resident memory of the process that ran the steps (it imports torch and reads the graphs,
nothing else: ``ru_maxrss``, MB), each in a fresh process.

Run:  python benchmarks/bench_shell_weights.py --compare /tmp/old/src src [--rounds 3]
      python benchmarks/bench_shell_weights.py --delta-share      (where the weights differ from M-nearest)
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

SYSTEMS = {"toy": dict(n_atoms=5, box=6.5, neighbors=12, targets=1, pairs=256, frames=200),
           "liquid": dict(n_atoms=2000, box=34.2, neighbors=20, targets=100, pairs=16, frames=40)}


def make_traj(system: str):
    """The trajectory of ``system`` (see the module docstring)."""
    import numpy as np

    from gdynet import Trajectory

    spec = SYSTEMS[system]
    rng = np.random.default_rng(0)
    n, frames = spec["n_atoms"], spec["frames"]
    if system == "toy":
        s_sites = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]) * spec["box"]
        pos = np.concatenate([rng.random((frames, 1, 3)) * spec["box"], np.broadcast_to(s_sites, (frames, 4, 3))], 1)
        numbers = np.array([3, 16, 16, 16, 16])
    else:
        pos = rng.random((frames, n, 3)) * spec["box"]
        numbers = rng.choice([3, 8, 16], n)
    return Trajectory(pos, np.eye(3) * spec["box"], numbers, 0.1, np.arange(spec["targets"])[:, None])


def build(system: str, folder: str) -> dict[str, float]:
    """Build the graphs into ``folder`` (after a warm-up build that compiles the kernel)."""
    from gdynet.graphs.store import build_graphs

    traj = make_traj(system)
    build_graphs(traj, SYSTEMS[system]["neighbors"], os.path.join(folder, "warm"), workers=1, progress=False)
    start = time.perf_counter()
    store = build_graphs(traj, SYSTEMS[system]["neighbors"], folder, workers=1, progress=False)
    return {"build_atom_frames_per_s": traj.n_atoms * traj.n_frames / (time.perf_counter() - start),
            "path": str(store.path)}


def steps(system: str, path: str, n_steps: int) -> dict[str, float]:
    """Time training steps on the graphs at ``path``; peak RSS of this process (it built nothing)."""
    import numpy as np
    import torch

    from gdynet.graphs.store import GraphStore
    from gdynet.network import GDyNet
    from gdynet.network.inputs import GraphSource
    from gdynet.training.vamp import vamp_score

    torch.set_num_threads(1)
    spec = SYSTEMS[system]
    kwargs = {"neighbors": spec["neighbors"]} if "neighbors" in inspect.signature(GDyNet).parameters else {}
    source = GraphSource(GraphStore.open(path))
    torch.manual_seed(0)
    model = GDyNet(n_states=2, **kwargs)
    b = spec["pairs"]
    frames = np.concatenate([np.arange(b), np.arange(b) + 1]) % spec["frames"]
    times = []
    for step in range(n_steps + 2):
        start = time.perf_counter()
        out = model(**source.inputs(frames, "cpu")).reshape(2, b * spec["targets"], -1)
        (-vamp_score(out[0], out[1])).backward()
        model.zero_grad()
        if step >= 2:  # the first two compile / warm up
            times.append(time.perf_counter() - start)
    return {"width": int(source.store.distances.shape[2]), "step_s": statistics.median(times),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure(src: str, system: str, n_steps: int, env: dict[str, str]) -> dict[str, float]:
    """Both measurements of one version, each in a fresh process."""
    def run(*args: str) -> dict:
        out = subprocess.run([sys.executable, __file__, "--src", src, "--system", system, *args], env=env,
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout.splitlines()[-1])

    with tempfile.TemporaryDirectory() as tmp:
        built = run("--build", tmp)
        return {**built, **run("--steps", str(n_steps), "--store", built["path"])}


def delta_share() -> None:
    """Table: share of atoms with a shell weight strictly between 0 and 1, for three values of delta."""
    import numpy as np
    import torch

    from gdynet.datasets.toy import toy_li_fcc
    from gdynet.graphs.neighbors import neighbors
    from gdynet.network.shell import shell_weights

    rng = np.random.default_rng(0)
    toy = toy_li_fcc(1, 400, seed=0, progress=False)
    a = 3.61
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    fcc = (np.array(list(np.ndindex(4, 4, 4)))[:, None] + basis).reshape(-1, 3) * a
    systems = {"toy Li/FCC-S (all atoms)": (np.asarray(toy.trajectories[0].positions[::20]), np.eye(3) * 6.5)}
    for sigma in (0.05, 0.1):
        systems[f"FCC Cu 256 atoms, thermal sigma {sigma} Å"] = (
            fcc[None] + rng.normal(0, sigma, (10, len(fcc), 3)), np.eye(3) * 4 * a)
    systems["random gas 500 atoms (0.05/Å^3)"] = (rng.random((10, 500, 3)) * 21.5, np.eye(3) * 21.5)
    print("| system | M | delta 0.01 Å | 0.025 Å | 0.05 Å |\n|---|---|---|---|---|")
    for name, (pos, cell) in systems.items():
        for m in (12, 20):
            dist = torch.as_tensor(neighbors(pos, cell, m + 2)[1], dtype=torch.float64)
            shares = [((w > 0) & (w < 1)).any(-1).double().mean().item()
                      for w in (shell_weights(dist, m, delta) for delta in (0.01, 0.025, 0.05))]
            print(f"| {name} | {m} | " + " | ".join(f"{100 * x:.1f} %" for x in shares) + " |")


def compare(old: str, new: str, rounds: int, steps: int) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    results: dict[tuple[str, str], list[dict]] = {}
    for _ in range(rounds):
        for system in SYSTEMS:
            for label, src in (("old", old), ("new", new)):  # back to back, alternating
                results.setdefault((system, label), []).append(measure(src, system, steps, env))
    print("| system | W old / new | build atom-frames/s old / new (ratio) | step ms old / new (ratio) "
          "| step process peak RSS MB old / new |")
    print("|---|---|---|---|---|")
    for system in SYSTEMS:
        o, n = results[(system, "old")], results[(system, "new")]
        build = [max(r["build_atom_frames_per_s"] for r in x) for x in (o, n)]
        step = [min(r["step_s"] for r in x) * 1e3 for x in (o, n)]
        peak = [min(r["peak_rss_mb"] for r in x) for x in (o, n)]
        print(f"| {system} | {o[0]['width']} / {n[0]['width']} | {build[0]:,.0f} / {build[1]:,.0f} "
              f"({build[1] / build[0]:.2f}) | {step[0]:.1f} / {step[1]:.1f} ({step[1] / step[0]:.2f}) "
              f"| {peak[0]:.0f} / {peak[1]:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", help="the gdynet src folder to measure")
    parser.add_argument("--system", choices=sorted(SYSTEMS), default="toy")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--build", metavar="DIR", help="only build the graphs into DIR")
    parser.add_argument("--store", help="only time training steps on this graph store")
    parser.add_argument("--compare", nargs=2, metavar=("OLD_SRC", "NEW_SRC"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--delta-share", action="store_true", help="print the table of partial weights per delta")
    args = parser.parse_args()
    if args.delta_share:
        sys.path.insert(0, os.path.abspath(args.src or "src"))
        delta_share()
        return
    if args.compare:
        compare(*args.compare, args.rounds, args.steps)
        return
    sys.path.insert(0, os.path.abspath(args.src))
    if args.build:
        print(json.dumps(build(args.system, args.build)))
    elif args.store:
        print(json.dumps(steps(args.system, args.store, args.steps)))
    else:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        print(json.dumps(measure(args.src, args.system, args.steps, env)))


if __name__ == "__main__":
    main()
