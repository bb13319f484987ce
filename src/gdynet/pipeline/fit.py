"""``gdynet fit``: trajectories -> graphs -> trained model -> chi -> analysis, in one run folder."""
from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import atomic
from ..atomic import json_safe
from ..errors import GdynetError, GdynetWarning
from ..trajectory.core import Trajectory
from ..units import lag_to_frames
from .inputs import ReadOptions, SharedTargets, read_all
from .rundir import RunDir, save_model

#: run.json entries that must agree for ``fit`` to resume in an existing folder
_SAME_RUN = ("paths", "test_paths", "read", "fit")


#: spacing of the Gaussian centres of Eq. 7 in Å (the paper's 0.2 Å); --cutoff sets their range
GAUSSIAN_SPACING_A = 0.2
#: warn when more than this fraction of the sampled M-th-neighbour distances lie beyond --cutoff
BEYOND_CUTOFF_WARN = 0.05


@dataclass(frozen=True)
class FitOptions:
    """Model and training options of ``gdynet fit`` (units: lag as frames or a time such as "1ps";
    cutoff in Å). Training defaults are those of :class:`gdynet.training.trainer.TrainConfig` (see
    its docstring for the measurements behind them)."""

    model: str = "gdynet"          # "gdynet" (graph network) or "vampnet" (global-coordinate baseline)
    states: int = 2
    lag: int | float | str = "1ps"
    neighbors: int = 20             # M, as the paper for its real systems (Si-Au, PEO/LiTFSI); its toy used 12
    seed: int = 0
    epochs: int | None = None      # None: automatic (training.budget), as patience and batch_size
    patience: int | None = None
    batch_size: int | None = None
    lr: float = 1e-3
    atom_features: int = 16
    n_conv: int = 3
    device: str = "auto"
    hidden: tuple[int, ...] = (32, 32)          # widths of the MLP head's hidden layers
    cutoff: float = 7.0                         # largest Gaussian centre (Å); centres every 0.2 Å
    weight_decay: float = 0.0
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)   # train/validation/test time blocks
    seeds: int = 1                              # initialisations trained; the best by validation VAMP-2 kept
    batch_atoms: int | None = None  # atom-frames per forward pass (None: automatic), see training.chunked
    precision: str = "fp32"         # "fp32" or "bf16"
    compile: bool = False           # torch.compile the network

    def check(self) -> None:
        if self.model not in ("gdynet", "vampnet"):
            raise GdynetError(f"--model must be gdynet or vampnet, got {self.model!r}")
        if self.states < 2:
            raise GdynetError(f"--states must be at least 2, got {self.states}")
        for name in ("neighbors", "epochs", "seeds", "atom_features", "batch_size"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                flag = "--" + name.replace("_", "-")
                raise GdynetError(f"{flag} must be at least 1, got {getattr(self, name)}")
        if self.n_conv < 0 or (self.patience or 0) < 0 or not self.hidden or min(self.hidden) < 1:
            raise GdynetError("--conv-layers and --patience must be >= 0 and --hidden widths >= 1, got "
                              f"{self.n_conv}, {self.patience}, {','.join(map(str, self.hidden))}")
        if not self.cutoff >= 2 * GAUSSIAN_SPACING_A:
            raise GdynetError(f"--cutoff must be at least {2 * GAUSSIAN_SPACING_A:g} Å, got {self.cutoff}")
        if not (self.lr > 0 and self.weight_decay >= 0):
            raise GdynetError(f"--lr must be > 0 and --weight-decay >= 0, got {self.lr} and {self.weight_decay}")
        if len(self.split) != 3 or min(self.split) < 0 or self.split[0] <= 0 or self.split[1] <= 0 \
                or abs(sum(self.split) - 1) > 1e-6:
            raise GdynetError("--split must be three fractions train,validation,test (train and validation "
                              f"> 0) that sum to 1, e.g. 0.7,0.15,0.15; got {','.join(map(str, self.split))}")


def fit(paths: Sequence[str | Path], out_dir: str | Path, read: ReadOptions = ReadOptions(),
        options: FitOptions = FitOptions(), *, test_paths: Sequence[str | Path] = (),
        analysis: dict[str, Any] | None = None, progress: bool = True) -> dict[str, Any]:
    """Train a model on the trajectories in ``paths`` and analyse it; returns ``summary.json``'s dict.

    ``test_paths``: trajectories read with the same options but never trained on (the test split);
    their state probabilities are written too, and the analysis uses them (``analyze_on="test"``).

    Every user mistake is detected before ``out_dir`` is touched. Re-running the same call after a
    kill resumes from the last checkpoint in ``out_dir/checkpoints``. Under ``torchrun`` every
    process trains on its share of each batch and rank 0 writes the results (others return ``{}``).
    """
    trajs = train(paths, out_dir, read, options, test_paths=test_paths, analysis=analysis, progress=progress)
    if trajs is None:
        return {}
    from .analyze import analyze

    return analyze(out_dir, **(analysis or {}), trajectories=trajs)


def train(paths: Sequence[str | Path], out_dir: str | Path, read: ReadOptions = ReadOptions(),
          options: FitOptions = FitOptions(), *, test_paths: Sequence[str | Path] = (),
          analysis: dict[str, Any] | None = None,
          progress: bool = True) -> list[Trajectory] | None:
    """:func:`fit` without the analysis: run.json, graphs, model.pt and chi in ``out_dir`` (``gdynet
    analyze`` completes it). Returns the trajectories read, or ``None`` on torchrun ranks other than 0."""
    from ..training.trainer import split_frames

    options.check()
    paths = [str(Path(p).resolve()) for p in paths]
    test_paths = [str(Path(p).resolve()) for p in test_paths]
    trajs = read_all(paths + test_paths, read)
    dt_ps = trajs[0].dt_ps
    lag = lag_to_frames(options.lag, dt_ps, name="--lag")
    for traj in trajs[:len(paths)]:
        split_frames(traj.n_frames, lag, source=traj.source)  # raises when too short for the lag
    if options.model == "vampnet" and len({t.n_atoms for t in trajs}) > 1:
        raise GdynetError("the global VAMPnet needs the same atoms in every trajectory")

    run = RunDir(Path(out_dir))
    record = json_safe({"paths": paths, "test_paths": test_paths, "read": read.to_dict(), "fit": asdict(options),
                        "lag_frames": lag, "dt_ps": dt_ps,
                        "analysis": {k: v for k, v in (analysis or {}).items() if k not in ("lags", "trajectories")}})
    if run.root.exists() and not run.root.is_dir():
        raise GdynetError("--out must be a folder, but a file of that name exists", run.root)
    created = not run.root.exists()
    if run.run_json.is_file():
        previous = json.loads(run.run_json.read_text())
        if {k: previous.get(k, [] if k == "test_paths" else None) for k in _SAME_RUN} != \
                {k: record[k] for k in _SAME_RUN}:
            raise GdynetError("this folder holds a different run (other inputs or options); "
                              "choose another --out or delete it", run.root)
    elif run.root.exists() and any(run.root.iterdir()):
        raise GdynetError("output folder exists and is not empty; choose another --out", run.root)
    try:
        atomic.write_json(run.run_json, record)
        sources = _sources(trajs, run, options, progress)
        trained = _train(sources, run, options, lag, progress, n_test=len(test_paths))
        if _leave_process_group():            # under torchrun only rank 0 writes results
            return None
        best = max(range(len(trained)), key=lambda k: trained[k][1].scores["validation"])
        seed, result = trained[best]
        model = result.model
        calibration = _write_chi(model, sources, run, options)
        for i, traj in enumerate(trajs):
            atomic.save_npy(run.targets(i), traj.file_targets())
        meta = {"lag_frames": lag, "dt_ps": dt_ps, "neighbors": options.neighbors, "read": read.to_dict(),
                "vamp2": dict(result.scores), "best_epoch": result.best_epoch, "seed": seed,
                "history": json_safe(result.history), "training": result.budget.to_dict(),
                "n_atoms": trajs[0].n_atoms, "n_states": options.states, "calibration": calibration.tolist()}
        if read.select_on == "first":                 # what `gdynet predict` imposes on a new file
            meta["shared_targets"] = SharedTargets.of(trajs[0]).to_dict()
        if len(trained) > 1:
            meta["seeds"] = _seed_entries(trained, best, sources, run, options, lag, dt_ps)
        save_model(run.model, kind=options.model, model=model, meta=meta)
    except GdynetError:
        if created:
            shutil.rmtree(run.root, ignore_errors=True)
        raise
    return trajs


def _leave_process_group() -> bool:
    """After training under torchrun: every rank meets the others and shuts its process group down
    (a rank that exits with gloo still running aborts with SIGABRT, and torchrun then kills the
    rest); returns True on ranks other than 0, which have nothing left to do. False without a group."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return False
    rank = dist.get_rank()
    dist.barrier()
    dist.destroy_process_group()
    return rank != 0


def _sources(trajs: Sequence[Trajectory], run: RunDir, options: FitOptions, progress: bool) -> list[Any]:
    """One data source per trajectory: on-disk graphs for GDyNet, coordinates for the VAMPnet."""
    from ..training.data import CoordinateSource, GraphSource

    if options.model == "vampnet":
        return [CoordinateSource(t) for t in trajs]
    from ..graphs.store import build_graphs

    stores = [build_graphs(t, options.neighbors, cache_dir=run.graphs, progress=progress) for t in trajs]
    check_gaussian_range(stores, options.cutoff)
    return [GraphSource(store) for store in stores]


def check_gaussian_range(stores: Sequence[Any], cutoff: float, sample_frames: int = 64) -> float:
    """Fraction of M-th-neighbour distances (column ``store.neighbors``) beyond ``cutoff`` (Å) on up to
    ``sample_frames`` frames per store; a GdynetWarning when it exceeds ``BEYOND_CUTOFF_WARN`` (those bonds get ~0 Gaussian features,
    Eq. 7, so the network cannot tell their lengths apart)."""
    last = []
    for store in stores:
        frames = np.unique(np.linspace(0, store.distances.shape[0] - 1, sample_frames).astype(np.int64))
        last.append(np.asarray(store.distances[frames][..., store.neighbors - 1]).ravel())
    distances = np.concatenate(last)
    fraction = float((distances > cutoff).mean())
    if fraction > BEYOND_CUTOFF_WARN:
        farthest = float(distances.max())
        warnings.warn(GdynetWarning(
            f"the M-th neighbour lies beyond the Gaussian range ({cutoff:g} Å) for {fraction:.0%} of the "
            f"sampled atoms (up to {farthest:.2f} Å): raise --cutoff or lower --neighbors"), stacklevel=2)
    return fraction


def _new_model(sources: Sequence[Any], options: FitOptions, seed: int) -> Any:
    import torch

    torch.manual_seed(seed)
    if options.model == "vampnet":
        from ..model.vampnet import GlobalVAMPNet

        return GlobalVAMPNet(n_atoms=sources[0].traj.n_atoms, n_states=options.states)
    from ..model.gdynet import GDyNet

    return GDyNet(n_states=options.states, neighbors=options.neighbors, atom_features=options.atom_features,
                  n_conv=options.n_conv, cutoff=options.cutoff,
                  n_gaussians=round(options.cutoff / GAUSSIAN_SPACING_A) + 1, hidden=options.hidden)


def _train(sources: Sequence[Any], run: RunDir, options: FitOptions, lag: int, progress: bool,
           n_test: int = 0) -> list[tuple[int, Any]]:
    """Train ``options.seeds`` initialisations in turn (seeds ``seed``, ``seed + 1``, ...); each has its
    own checkpoint folder, so a killed run resumes the seed it was on. The last ``n_test`` sources are
    test data only (``--test``). Returns ``(seed, TrainResult)``s."""
    from ..training.trainer import TrainConfig, Trainer

    trained = []
    for seed in range(options.seed, options.seed + options.seeds):
        folder = run.checkpoints if options.seeds == 1 else run.checkpoints / f"seed_{seed}"
        config = TrainConfig(lag_frames=lag, test_sources=tuple(range(len(sources) - n_test, len(sources))),
                             batch_size=options.batch_size, lr=options.lr,
                             weight_decay=options.weight_decay, split=tuple(options.split),
                             max_epochs=options.epochs, patience=options.patience, seed=seed,
                             device=options.device, checkpoint_dir=folder, progress=progress,
                             batch_atoms=options.batch_atoms, precision=options.precision,
                             compile=options.compile)
        trained.append((seed, Trainer(config).fit(_new_model(sources, options, seed), sources)))
    return trained


def _seed_entries(trained: Sequence[tuple[int, Any]], best: int, sources: Sequence[Any], run: RunDir,
                  options: FitOptions, lag: int, dt_ps: float) -> list[dict[str, Any]]:
    """summary.json ``seeds`` (see :mod:`.seeds`), against the kept seed's calibrated chi files."""
    from .seeds import seed_entries

    best_chi = [np.load(run.chi(i), mmap_mode="r") for i in range(len(sources))]
    models = [(seed, result.model, result.scores["validation"]) for seed, result in trained]
    return seed_entries(models, best, sources, best_chi, run.chi(0).parent, options.states, lag, dt_ps,
                        options.device)


def _write_chi(model: Any, sources: Sequence[Any], run: RunDir, options: FitOptions) -> np.ndarray:
    """Write calibrated state probabilities of every trajectory; return the calibration matrix.

    The network's raw softmax output is mapped onto crisp memberships by the affine map of
    :mod:`gdynet.model.calibration` (VAMP-2 score and timescales unchanged), fitted on a sample of
    all frames. Everything streams through memory maps.
    """
    from ..model.calibration import calibration_matrix
    from .chi import calibration_sample, predict_raw, remove, write_calibrated

    raw_paths = [run.chi(i).with_name(f".raw_{i:03d}.npy") for i in range(len(sources))]
    raws = [predict_raw(model, source, options.states, path, options.device)
            for source, path in zip(sources, raw_paths)]
    A = calibration_matrix(calibration_sample(raws))
    for i, (raw, path) in enumerate(zip(raws, raw_paths)):
        write_calibrated(raw, A, run.chi(i))
        del raw
        remove(path)
    return A
