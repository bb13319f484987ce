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

``--stages`` (issue 26) runs ``python -m gdynet fit`` on a 100,000-atom, 1,000-target LAMMPS dump
(:func:`systems.write_large_dump`, written to ``--workdir`` once) in a fresh process and reports the
peak resident memory of each stage: read (parsing the dump, inclusive of the cache), cache (writing
and checking the frame cache), fingerprints, graphs, training, chi (predicting and writing chi) and
analysis, plus the whole run. A stage's peak is exact: the kernel's peak counter (``VmHWM``) is read
and reset (``/proc/self/clear_refs``) at every stage boundary; the peaks include file-backed pages
of memory maps, as ``top`` and ``/usr/bin/time`` do. Training memory does not grow after the first
epoch, so ``--epochs 1`` measures the default run's peak in minutes, not hours.

    python benchmarks/bench_memory.py --stages [--frames 400 --workdir /tmp/mem]       # prints, writes JSON
    python benchmarks/bench_memory.py --stages --check benchmarks/memory_baseline.json  # exit 1 on > 20 %
    python benchmarks/bench_memory.py --stages --save benchmarks/memory_baseline.json   # new baseline
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
    parser.add_argument("--stages", action="store_true", help="peak RSS per stage of `gdynet fit` (see above)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/gdynet-bench-memory"),
                        help="--stages: where the dump, cache and run folder go")
    parser.add_argument("--stage-atoms", type=int, default=100_000, help="--stages: atoms in the dump")
    parser.add_argument("--stage-targets", type=int, default=1_000, help="--stages: Li targets in the dump")
    parser.add_argument("--check", type=Path, help="--stages: baseline JSON; exit 1 when a stage grew > 20 %%")
    parser.add_argument("--save", type=Path, help="--stages: write the peaks as the new baseline JSON")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--stages-child", type=Path, help=argparse.SUPPRESS)
    if sys.argv[1:2] == ["--stages-child"]:      # the fit's own options (--epochs ...) are not ours to parse
        stages_child(Path(sys.argv[2]), sys.argv[3:])
        return
    args, rest = parser.parse_known_args()
    if args.stages:
        sys.exit(stages(args))
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
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


#: stages of `gdynet fit` and the functions whose calls make them (module, attribute); a stage's peak
#: includes the stages nested in it (read includes cache)
STAGES = {
    "read": [("gdynet.trajectory.read_options", "read_all")],
    "cache": [("gdynet.trajectory.cache", "collect_frames"), ("gdynet.trajectory.cache", "load_entry")],
    "fingerprints": [("gdynet.files.fingerprint", "input_fingerprints")],
    "graphs": [("gdynet.graphs.store", "build_graphs")],
    "training": [("gdynet.training.trainer", "Trainer.fit")],
    "chi": [("gdynet.network.chi", "predict_raw"), ("gdynet.network.chi", "write_calibrated")],
    "analysis": [("gdynet.runs.analyze", "analyze")],
}
#: a stage may grow by this factor over its baseline before --check fails
GROWTH_LIMIT = 1.2


class StagePeaks:
    """Exact peak RSS (MB) of nested stages: ``VmHWM`` read and reset at every stage boundary."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.peaks: dict[str, float] = {}
        self.seconds: dict[str, float] = {}
        self.total = 0.0
        self._started: list[float] = []

    def _boundary(self) -> None:
        peak = peak_rss_mb()
        self.total = max(self.total, peak)
        for stage in set(self.stack):
            self.peaks[stage] = max(self.peaks.get(stage, 0.0), peak)
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS

    def wrap(self, stage: str, function):
        def wrapped(*args, **kwargs):
            self._boundary()
            self.stack.append(stage)
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._boundary()
                self.stack.pop()
                self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start
        wrapped.__wrapped__ = function
        return wrapped

    def install(self) -> list[str]:
        """Wrap every function of :data:`STAGES` wherever gdynet's modules hold it; returns those missing."""
        import importlib

        import gdynet.cli  # noqa: F401  (imports the command modules)

        missing = []
        for stage, places in STAGES.items():
            for module_name, attr in places:
                try:
                    owner = importlib.import_module(module_name)
                except ImportError:
                    missing.append(f"{module_name}.{attr}")
                    continue
                *outer, name = attr.split(".")
                for part in outer:
                    owner = getattr(owner, part)
                original = getattr(owner, name, None)
                if original is None:
                    missing.append(f"{module_name}.{attr}")
                    continue
                wrapped = self.wrap(stage, original)
                setattr(owner, name, wrapped)
                for module in [m for n, m in sys.modules.items() if n.startswith("gdynet") and m is not None]:
                    for key, value in list(vars(module).items()):
                        if value is original:
                            setattr(module, key, wrapped)
        return missing


def stages_child(out: Path, argv: list[str]) -> None:
    """Run ``gdynet <argv>`` in this process with :class:`StagePeaks` installed; JSON of the peaks to ``out``."""
    recorder = StagePeaks()
    missing = recorder.install()
    from gdynet.cli import app

    start = time.perf_counter()
    try:
        code = app(args=argv, prog_name="gdynet", standalone_mode=False)
    finally:
        recorder._boundary()
        out.write_text(json.dumps({"peaks_mb": recorder.peaks, "seconds": recorder.seconds,
                                   "total_mb": recorder.total, "wall_s": time.perf_counter() - start,
                                   "missing_hooks": missing}, indent=1))
    if code:
        sys.exit(code)


def fit_command(dump: Path, out: Path, epochs: int) -> list[str]:
    """The `gdynet fit` arguments of the issue-26 check (defaults but the epochs)."""
    return ["fit", str(dump), "--timestep", "1fs", "--type-map", "1=Li,2=S", "--target", "Li", "--states", "2",
            "--lag", "10", "--epochs", str(epochs), "--out", str(out)]


def run_stages(dump: Path, out: Path, cache: Path, epochs: int = 1, src: Path | None = None) -> dict:
    """Peaks of one fresh `gdynet fit` run (frame cache in ``cache``, emptied first) in a child process."""
    import shutil

    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "GDYNET_CACHE": str(cache)}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    result_file = out.parent / f"{out.name}.stages.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--stages-child", str(result_file),
               *fit_command(dump, out, epochs)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"gdynet fit failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(result_file.read_text())


def compare(peaks: dict[str, float], baseline: dict[str, float], limit: float = GROWTH_LIMIT) -> list[str]:
    """Stages whose peak grew by more than ``limit`` over ``baseline`` (one sentence each)."""
    return [f"{stage}: {peaks[stage]:.0f} MB, baseline {base:.0f} MB ({peaks[stage] / base:.2f}x > {limit}x)"
            for stage, base in baseline.items() if stage in peaks and peaks[stage] > limit * base]


def stages(args: argparse.Namespace) -> int:
    """--stages: write the dump if needed, run the fit, print per-stage peaks; --check / --save."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from systems import write_large_dump

    frames = args.frames if args.frames != 300 else 400
    args.workdir.mkdir(parents=True, exist_ok=True)
    dump = args.workdir / f"large_{args.stage_atoms}_{args.stage_targets}_{frames}.dump"
    if not dump.exists():
        write_large_dump(dump.with_suffix(".tmp"), atoms=args.stage_atoms, targets=args.stage_targets, frames=frames)
        dump.with_suffix(".tmp").rename(dump)
    row = run_stages(dump, args.workdir / "run", args.workdir / "cache", args.epochs if args.epochs != 2 else 1)
    print(f"gdynet fit {dump.name} ({args.stage_atoms} atoms, {args.stage_targets} targets, {frames} frames): "
          f"peak RSS {row['total_mb']:.0f} MB, {row['wall_s']:.0f} s")
    for stage in STAGES:
        if stage in row["peaks_mb"]:
            print(f"  {stage:12s} {row['peaks_mb'][stage]:7.0f} MB  {row['seconds'][stage]:7.1f} s")
    key = f"{args.stage_atoms}x{args.stage_targets}x{frames}"
    if args.save:
        saved = json.loads(args.save.read_text()) if args.save.exists() else {}
        saved[key] = {**row["peaks_mb"], "total": row["total_mb"]}
        args.save.write_text(json.dumps(saved, indent=1, sort_keys=True) + "\n")
    if args.check:
        baseline = json.loads(args.check.read_text()).get(key)
        if baseline is None:
            print(f"no baseline for {key} in {args.check}", file=sys.stderr)
            return 1
        grown = compare({**row["peaks_mb"], "total": row["total_mb"]}, baseline)
        for line in grown:
            print(f"MEMORY GREW: {line}", file=sys.stderr)
        return 1 if grown else 0
    return 0


if __name__ == "__main__":
    main()
