"""Training throughput at the size of real systems: this tree vs an older gdynet, same data, same run.

For each system of ``systems.py`` (``interface``: 1,536 atoms, every atom a target; ``ionic``:
19,652 atoms, 983 targets; S = 4, M = 12, default GDyNet) and each code version, a fresh child
process (``PYTHONPATH`` = that version's ``src``, ``--threads`` torch threads):

1. builds the graphs with that version's ``build_graphs`` (cached per version),
2. after one untimed warm-up step (JIT compilation), profiles ``--steps`` training steps of ``--batch`` random pairs (lag 1 frame), split into
   reading + graph assembly (``source.inputs``), forward (model + VAMP-2) and backward + Adam step,
   with user and system CPU time (``getrusage``) and peak RSS,
3. trains ``--epochs`` epochs with ``Trainer`` (seed 0, ``patience=0``) and reports the validation
   VAMP-2 of the best model (same seed -> same result expected, up to float rounding).

Versions run interleaved (old, new, old, new, ... ``--repeats`` times) so that a shared machine
slows both alike; the table gives the best (highest) throughput of each and the ratio of target
pairs per second (pairs x targets per second of training steps).

    git worktree add /work/wt/base c09ac23
    python benchmarks/bench_training_scale.py --old /work/wt/base/src [--systems interface,ionic]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NEW_SRC = HERE.parent / "src"


def child(system: str, frames: int, batch: int, steps: int, epochs: int, cache: str) -> dict:
    """Run in the child process (the gdynet on ``sys.path``); returns the measurements."""
    import resource

    import numpy as np
    import torch

    from gdynet.graphs.store import build_graphs
    from gdynet.network.gdynet import GDyNet
    from gdynet.network.inputs import GraphSource
    from gdynet.training.trainer import TrainConfig, Trainer
    from gdynet.training.vamp import vamp_moments, vamp_score_from_moments
    from systems import make_system

    def cpu() -> tuple[float, float]:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime, r.ru_stime

    traj = make_system(system, frames=frames)
    start = time.perf_counter()
    store = build_graphs(traj, 12, cache_dir=cache, progress=False)
    graph_seconds = time.perf_counter() - start
    source = GraphSource(store)
    n_targets = source.n_targets
    torch.manual_seed(0)
    model = GDyNet(n_states=4)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    rng = np.random.default_rng(0)
    warm = model(**source.inputs(np.arange(2), "cpu"))  # compiles any JIT kernels before the clock starts
    warm.sum().backward()
    split = {"read": 0.0, "forward": 0.0, "backward": 0.0}
    (u0, s0), wall0 = cpu(), time.perf_counter()
    for _ in range(steps):
        t = rng.choice(frames - 1, batch, replace=False)
        fr, where = np.unique(np.concatenate([t, t + 1]), return_inverse=True)
        a = time.perf_counter()
        inputs = source.inputs(fr, "cpu")
        b = time.perf_counter()
        out = model(**inputs)
        w = torch.from_numpy(where)
        score = vamp_score_from_moments(vamp_moments(out[w[:batch]].reshape(-1, 4), out[w[batch:]].reshape(-1, 4)),
                                        "VAMP2", 1e-6)
        c = time.perf_counter()
        optimizer.zero_grad()
        (-score).backward()
        optimizer.step()
        d = time.perf_counter()
        split["read"] += b - a
        split["forward"] += c - b
        split["backward"] += d - c
    (u1, s1), wall = cpu(), time.perf_counter() - wall0
    rss_profile = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    torch.manual_seed(0)
    model = GDyNet(n_states=4)
    start = time.perf_counter()
    result = Trainer(TrainConfig(lag=1, batch_size=batch, epochs=epochs, patience=0, seed=0,
                                 device="cpu", progress=False)).fit(model, [source])
    fit_seconds = time.perf_counter() - start
    return {"atoms": store.indices.shape[1], "targets": n_targets, "graph_seconds": graph_seconds,
            "steps": steps, "batch": batch, "wall": wall, "user": u1 - u0, "sys": s1 - s0,
            **{f"{k}_s": v / steps for k, v in split.items()},
            "target_pairs_per_s": steps * batch * n_targets / wall,
            "target_pairs_per_cpu_s": steps * batch * n_targets / (u1 - u0 + s1 - s0),
            "peak_rss_mb": rss_profile, "fit_seconds": fit_seconds,
            "val_vamp2": result.scores["validation"], "train_vamp2": result.scores["train"],
            "history": [h["validation"] for h in result.history]}


def run_child(src: str, threads: int, args: argparse.Namespace, system: str, frames: int, tag: str) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{HERE}", "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "NUMBA_NUM_THREADS": str(threads)}
    cache = str(Path(args.workdir) / tag)
    code = (f"import json, torch; torch.set_num_threads({threads}); from bench_training_scale import child; "
            f"print('RESULT', json.dumps(child({system!r}, {frames}, {args.batch}, {args.steps}, {args.epochs}, "
            f"{cache!r})))")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=HERE)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode or not line:
        raise SystemExit(f"{tag} {system} failed:\n{proc.stderr[-3000:]}")
    return json.loads(line[0][7:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True, help="src folder of the older gdynet (e.g. a c09ac23 worktree)")
    parser.add_argument("--systems", default="interface,ionic")
    parser.add_argument("--frames", default="interface=300,ionic=200", help="frames per system")
    parser.add_argument("--batch", type=int, default=64, help="time-lagged pairs per mini-batch")
    parser.add_argument("--steps", type=int, default=3, help="profiled training steps")
    parser.add_argument("--epochs", type=int, default=1, help="Trainer epochs for the trained-result check")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workdir", default="/tmp/gdynet-bench-scale")
    parser.add_argument("--json", default=None, help="also write all results here")
    args = parser.parse_args()
    frames = dict((k, int(v)) for k, v in (item.split("=") for item in args.frames.split(",")))
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
          f"{args.threads} threads, batch {args.batch} pairs, {args.steps} steps, {args.epochs} epochs")
    results: dict = {}
    for system in args.systems.split(","):
        for rep in range(args.repeats):
            for tag, src in (("old", args.old), ("new", str(NEW_SRC))):
                r = run_child(src, args.threads, args, system, frames[system], tag)
                results.setdefault(system, {}).setdefault(tag, []).append(r)
                print(f"{system} {tag} rep {rep}: {r['target_pairs_per_s']:,.0f} target pairs/s wall, "
                      f"{r['target_pairs_per_cpu_s']:,.0f} per CPU-s; user {r['user']:.1f} s sys {r['sys']:.1f} s; "
                      f"read {r['read_s']:.2f} fwd {r['forward_s']:.2f} bwd {r['backward_s']:.2f} s/step; "
                      f"peak RSS {r['peak_rss_mb']:.0f} MB; val VAMP-2 {r['val_vamp2']:.5f}", flush=True)
    print("\n| system | atoms | targets | version | target pairs/s (wall) | per CPU-s | user s | sys s | "
          "read s/step | forward s/step | backward s/step | peak RSS MB | val VAMP-2 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for system, by_tag in results.items():
        best = {tag: max(rs, key=lambda r: r["target_pairs_per_s"]) for tag, rs in by_tag.items()}
        for tag, r in best.items():
            print(f"| {system} | {r['atoms']} | {r['targets']} | {tag} | {r['target_pairs_per_s']:,.0f} | "
                  f"{r['target_pairs_per_cpu_s']:,.0f} | {r['user']:.1f} | {r['sys']:.1f} | {r['read_s']:.2f} | "
                  f"{r['forward_s']:.2f} | {r['backward_s']:.2f} | {r['peak_rss_mb']:.0f} | {r['val_vamp2']:.5f} |")
        ratio = best["new"]["target_pairs_per_s"] / best["old"]["target_pairs_per_s"]
        cpu_ratio = best["new"]["target_pairs_per_cpu_s"] / best["old"]["target_pairs_per_cpu_s"]
        print(f"| {system} | | | **new/old** | **{ratio:.2f}x** | **{cpu_ratio:.2f}x** | | | | | | | "
              f"{best['new']['val_vamp2'] - best['old']['val_vamp2']:+.1e} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
