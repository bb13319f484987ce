"""Graph storage options for training (issue 13, item 4): stored float32/int32, compact 16-bit, on the fly.

For each system of ``systems.py`` and random batches of ``--batch`` frames:

* ``store``: the current entry (int32 indices + float32 distances, 8 bytes per edge), read from the
  memory maps (page cache warm) into the arrays the model takes;
* ``compact``: uint16 indices (N <= 65,535; else int32) + uint16 distances in steps of 2^-12 Å
  (<= 16 Å), 4 (6) bytes per edge, read and decoded to int32/float32;
* ``on the fly``: ``gdynet.neighbors`` of the batch's frames from the positions (no storage beyond the
  trajectory's 12 bytes per atom-frame).

It prints bytes per atom-frame, milliseconds per batch and, for the compact store, the largest
distance error (Å) and the largest change of the default GDyNet's output it causes.

    python benchmarks/bench_graph_storage.py [--batch 128 --repeats 5]
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from gdynet.graphs.neighbors import neighbors
from gdynet.graphs.store import build_graphs
from gdynet.network.gdynet import GDyNet
from systems import make_system

STEP = 2.0 ** -12  # Å per distance code


def best_ms(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1e3 * min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--frames", default="interface=300,ionic=200")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    frames = dict((k, int(v)) for k, v in (item.split("=") for item in args.frames.split(",")))
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, batch {args.batch} frames, best of {args.repeats}")
    print("| system | atoms | option | bytes / atom-frame (M = 12) | ms / batch | µs / atom-frame |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for system, n_frames in frames.items():
            traj = make_system(system, frames=n_frames)
            store = build_graphs(traj, 12, cache_dir=tmp, progress=False)
            n_atoms = traj.n_atoms
            idx_dtype = np.uint16 if n_atoms <= 65535 else np.int32
            folder = Path(tmp) / f"compact-{system}"
            folder.mkdir()
            np.save(folder / "i.npy", np.asarray(store.indices).astype(idx_dtype))
            np.save(folder / "d.npy", np.rint(np.asarray(store.distances) / STEP).astype(np.uint16))
            c_idx, c_dist = np.load(folder / "i.npy", mmap_mode="r"), np.load(folder / "d.npy", mmap_mode="r")
            rng = np.random.default_rng(0)
            batch = np.sort(rng.choice(n_frames, min(args.batch, n_frames), replace=False))
            atom_frames = len(batch) * n_atoms
            options = {
                "store (int32 + float32)": (8 * 12, lambda: (np.asarray(store.indices[batch]),
                                                             np.asarray(store.distances[batch]))),
                f"compact ({np.dtype(idx_dtype).name} + uint16)": (
                    (np.dtype(idx_dtype).itemsize + 2) * 12,
                    lambda: (c_idx[batch].astype(np.int32), c_dist[batch].astype(np.float32) * np.float32(STEP))),
                "on the fly (gdynet.neighbors)": (0, lambda: neighbors(traj.positions[batch], traj.cells[batch], 12)),
            }
            for name, (size, read) in options.items():
                ms = best_ms(read, args.repeats)
                print(f"| {system} | {n_atoms} | {name} | {size} | {ms:.1f} | {1e3 * ms / atom_frames:.3f} |")
            error = np.abs(c_dist[batch].astype(np.float64) * STEP - store.distances[batch]).max()
            torch.manual_seed(0)
            model = GDyNet(n_states=4).eval()
            few = batch[:4]
            with torch.no_grad():
                exact = model(torch.as_tensor(store.numbers), torch.as_tensor(np.asarray(store.indices[few])),
                              torch.as_tensor(np.asarray(store.distances[few])), torch.as_tensor(store.targets))
                rounded = model(torch.as_tensor(store.numbers), torch.as_tensor(c_idx[few].astype(np.int32)),
                                torch.as_tensor(c_dist[few].astype(np.float32) * np.float32(STEP)),
                                torch.as_tensor(store.targets))
            print(f"| {system} | | compact: max distance error {error:.2e} Å, max output change "
                  f"{float((exact - rounded).abs().max()):.2e} | | | |")


if __name__ == "__main__":
    main()
