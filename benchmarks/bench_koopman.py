"""Throughput and memory of the streaming Koopman analysis on a χ memory map larger than its chunks.

Writes a float32 memmap χ of shape (F, n, S) (softmax of a slowly drifting random walk), then times
  fit    KoopmanEstimator(lag).fit(chi)                      (one pass, one lag)
  its    implied_timescales(chi, 6 lags, n_blocks=5)         (one pass, six lags)
  ck     ck_test(chi, lag, n_steps=5)                        (one pass, five lags)
  deeptime Covariance(lagtime, remove_data_mean=False) on the same data loaded in RAM (target sets
         as trajectories), and checks that the moments agree.
Peak resident memory is reported (ru_maxrss): streaming keeps it near the size of a few chunks plus
the in-RAM copy needed by deeptime (measured after the gdynet runs).

Run:  OMP_NUM_THREADS=2 python benchmarks/bench_koopman.py [--frames 100000] [--targets 100] [--states 4]
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from gdynet.koopman import KoopmanEstimator, ck_test, implied_timescales


def make_chi(path: Path, frames: int, targets: int, states: int, seed: int = 0) -> np.memmap:
    rng = np.random.default_rng(seed)
    chi = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(frames, targets, states))
    logits = rng.normal(size=(targets, states))
    for a in range(0, frames, 10_000):
        b = min(a + 10_000, frames)
        walk = logits + np.cumsum(0.1 * rng.normal(size=(b - a, targets, states)), axis=0)
        logits = walk[-1]
        e = np.exp(walk - walk.max(axis=-1, keepdims=True))
        chi[a:b] = e / e.sum(axis=-1, keepdims=True)
    chi.flush()
    return np.load(path, mmap_mode="r")


def timed(label: str, fn, nbytes: int) -> object:
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    print(f"{label:10s} {dt:7.2f} s   {nbytes / dt / 1e9:6.2f} GB/s of χ read per pass")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--states", type=int, default=4)
    parser.add_argument("--skip-deeptime", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        chi = make_chi(Path(tmp) / "chi.npy", args.frames, args.targets, args.states)
        nbytes = chi.nbytes
        print(f"chi {chi.shape} float32 memmap, {nbytes / 1e6:.0f} MB")
        model = timed("fit", lambda: KoopmanEstimator(10, 0.1).fit(chi).fetch_model(), nbytes)
        timed("its", lambda: implied_timescales(chi, [1, 2, 5, 10, 20, 50], 0.1, n_blocks=5), nbytes)
        timed("ck", lambda: ck_test(chi, 10, 5, 0.1, n_blocks=5), nbytes)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
        print(f"peak RSS after gdynet runs: {rss:.0f} MB; timescales {model.timescales_ps} ps")
        if not args.skip_deeptime:
            from deeptime.covariance import Covariance
            series = [np.ascontiguousarray(chi[:, j], dtype=np.float64) for j in range(chi.shape[1])]
            est = Covariance(lagtime=10, compute_c00=True, compute_c0t=True, compute_ctt=True,
                             remove_data_mean=False, bessels_correction=False)
            cov = timed("deeptime", lambda: est.fit(series).fetch_model(), nbytes)
            err = np.abs(cov.cov_0t - model.C0t / model.n_pairs).max()
            print(f"max |C0t/n - deeptime cov_0t| = {err:.2e}")


if __name__ == "__main__":
    main()
