"""Benchmark and characterise the toy system: generation speed, site populations, reference timescale.

    python benchmarks/bench_toy.py [--replicas 64] [--frames 20000] [--md-step-fs 5] [--out toy.json]

Prints one JSON object: frames/s of :func:`gdynet.datasets.toy_li_fcc`, the kinetic temperature,
the site populations (nearest-centre and core-set), and the core-set reference timescale at lags
0.5-10 ps for core radii 0.5, 0.8 and 1.1 Å. The default run takes about a minute on one core.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from gdynet.datasets import reference_timescale, toy_li_fcc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=64)
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--md-step-fs", type=float, default=5.0)
    parser.add_argument("--friction", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="also write the JSON here")
    args = parser.parse_args()
    start = time.perf_counter()
    data = toy_li_fcc(args.replicas, args.frames, md_step_fs=args.md_step_fs, friction_per_ps=args.friction,
                      seed=args.seed)
    seconds = time.perf_counter() - start
    lags = (0.5, 1.0, 2.0, 5.0, 10.0)
    result = dict(replicas=args.replicas, frames_per_replica=args.frames, md_step_fs=args.md_step_fs,
                  friction_per_ps=args.friction, seconds=round(seconds, 1),
                  frames_per_s=round(args.replicas * args.frames / seconds),
                  kinetic_temperature_K=round(data.kinetic_temperature_K, 2),
                  oct_fraction_nearest=round(float(np.concatenate(data.labels).mean()), 4), reference={})
    for radius in (0.5, 0.8, 1.1):
        ref = reference_timescale(data, lags, core_radius_A=radius)
        result["reference"][f"core_{radius}A"] = dict(
            lags_ps=list(lags), timescales_ps=[round(float(t), 2) for t in ref.timescales_ps],
            populations_tet_oct=[round(float(p), 4) for p in ref.populations], transitions=ref.n_transitions)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
