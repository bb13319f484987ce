"""Peak resident memory of a training run on 1x and 4x as many frames of on-disk graphs.

Writes graph arrays of ``--atoms`` atoms with ``--m`` neighbours (int32 indices + float32 distances,
memory-mapped ``.npy``) for ``--frames`` and ``4 * --frames`` frames, then trains a small GDyNet on
each for ``--epochs`` epochs in a fresh process and reads its peak RSS (``VmHWM``). Memory must
not grow with the data: target growth <= 1.2x. Default run: about 1-2 minutes on 2 CPU cores.

    python benchmarks/bench_memory.py [--frames 300 --atoms 2000 --m 20 --epochs 2]

``--large`` instead trains the default GDyNet (S = 4, F = 16, K = 3) for one epoch at the default batch
of 256 pairs on a 10^5-atom, 10^3-target system (random graphs, M = 12, ``--frames`` frames, default
60): memory must stay bounded by atoms (``batch_atoms``), target peak RSS <= 4 GB.

    python benchmarks/bench_memory.py --large [--frames 60 --batch-atoms N]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class DiskGraphs:
    """The GraphStore attributes the trainer reads, over memory-mapped ``.npy`` files."""

    path: Path
    indices: np.ndarray
    distances: np.ndarray
    numbers: np.ndarray
    targets: np.ndarray
    dt_ps: float = 0.1

    @property
    def source(self) -> str:
        return str(self.path)


def write_graphs(folder: Path, n_frames: int, n_atoms: int, m: int, seed: int = 0) -> int:
    """Random graphs (neighbour shells 2-4 Å) written frame block by frame block; returns bytes on disk."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    idx = np.lib.format.open_memmap(folder / "indices.npy", "w+", np.int32, (n_frames, n_atoms, m))
    dist = np.lib.format.open_memmap(folder / "distances.npy", "w+", np.float32, (n_frames, n_atoms, m))
    for start in range(0, n_frames, 50):
        stop = min(start + 50, n_frames)
        idx[start:stop] = rng.integers(0, n_atoms, (stop - start, n_atoms, m), dtype=np.int32)
        dist[start:stop] = np.sort(rng.uniform(2.0, 4.0, (stop - start, n_atoms, m)), axis=2)
    idx.flush()
    dist.flush()
    return (folder / "indices.npy").stat().st_size + (folder / "distances.npy").stat().st_size


def peak_rss_mb() -> float:
    """Peak resident set of this process in MB (``VmHWM``; unlike ``ru_maxrss`` it is reset by exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(folder: Path, n_atoms: int, epochs: int, batch_size: int, large: bool = False,
          batch_atoms: int | None = None) -> dict:
    """Train in this process and report peak RSS (MB) before and after training."""
    import torch

    from gdynet.graphs.shells import EXTRA_NEIGHBORS
    from gdynet.network.gdynet import GDyNet
    from gdynet.network.inputs import GraphSource
    from gdynet.training.trainer import TrainConfig, Trainer

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    store = DiskGraphs(folder, np.load(folder / "indices.npy", mmap_mode="r"),
                       np.load(folder / "distances.npy", mmap_mode="r"),
                       np.full(n_atoms, 3, dtype=np.int64), np.arange(0, n_atoms, 100 if large else 40)[:, None])
    torch.manual_seed(0)
    neighbors = store.indices.shape[2] - EXTRA_NEIGHBORS  # the graphs hold M + 2 (issue 18)
    model = (GDyNet(n_states=4, neighbors=neighbors) if large else
             GDyNet(n_states=2, neighbors=neighbors, atom_features=8, n_conv=1, cutoff=5.0, n_gaussians=16,
                    hidden=(16,)))
    before = peak_rss_mb()
    start = time.perf_counter()
    extra = {"batch_atoms": batch_atoms} if batch_atoms else {}
    config = TrainConfig(lag=1, batch_size=batch_size, epochs=epochs, patience=epochs,
                         device="cpu", progress=False, eval_batch_size=batch_size, **extra)
    result = Trainer(config).fit(model, [GraphSource(store)])
    return {"rss_before_mb": before, "peak_rss_mb": peak_rss_mb(),
            "seconds": time.perf_counter() - start, "validation": result.scores["validation"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--atoms", type=int, default=2000)
    parser.add_argument("--m", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--large", action="store_true", help="the 10^5-atom, 10^3-target run (see above)")
    parser.add_argument("--batch-atoms", type=int, default=None, help="TrainConfig.batch_atoms (--large)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.atoms, args.epochs, args.batch_size, args.large, args.batch_atoms)))
        return
    if args.large:
        large(args)
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for factor in (1, 4):
            folder = Path(tmp) / f"x{factor}"
            size = write_graphs(folder, factor * args.frames, args.atoms, args.m)
            out = subprocess.run([sys.executable, __file__, "--child", str(folder), "--atoms", str(args.atoms),
                                  "--epochs", str(args.epochs), "--batch-size", str(args.batch_size)],
                                 check=True, capture_output=True, text=True)
            row = {"frames": factor * args.frames, "disk_mb": size / 2**20, **json.loads(out.stdout)}
            rows.append(row)
            print(f"{row['frames']:6d} frames  {row['disk_mb']:7.1f} MB on disk  peak RSS {row['peak_rss_mb']:7.1f} MB"
                  f"  (after imports {row['rss_before_mb']:.1f} MB)  {row['seconds']:.1f} s")
    growth = rows[1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
    print(f"peak RSS growth for 4x frames: {growth:.3f}x (target <= 1.2x)  "
          f"[{platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}]")


def large(args: argparse.Namespace) -> None:
    """One epoch of the default GDyNet on 10^5 atoms x 10^3 targets; prints peak RSS (target <= 4 GB)."""
    frames = args.frames if args.frames != 300 else 60
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "large"
        size = write_graphs(folder, frames, 100_000, 12)
        command = [sys.executable, __file__, "--child", str(folder), "--atoms", "100000", "--epochs", "1",
                   "--batch-size", "256", "--large"]
        if args.batch_atoms:
            command += ["--batch-atoms", str(args.batch_atoms)]
        row = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    print(f"100,000 atoms, 1,000 targets, M = 12, {frames} frames ({size / 2**20:.0f} MB on disk), default GDyNet, "
          f"batch 256 pairs, batch_atoms {args.batch_atoms or 'auto'}: peak RSS {row['peak_rss_mb']:.0f} MB "
          f"(after imports {row['rss_before_mb']:.0f} MB), {row['seconds']:.0f} s, validation VAMP-2 "
          f"{row['validation']:.3f}  [{platform.machine()}, {os.cpu_count()} CPUs] (target <= 4096 MB)")


if __name__ == "__main__":
    main()
