"""``gdynet fit``: trajectories -> graphs -> trained model -> chi -> analysis, in one run folder."""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import atomic
from ..errors import GdynetError
from ..trajectory.core import Trajectory
from ..units import lag_to_frames
from .inputs import ReadOptions, read_all
from .rundir import RunDir, save_model

#: run.json entries that must agree for ``fit`` to resume in an existing folder
_SAME_RUN = ("paths", "test_paths", "read", "fit")


@dataclass(frozen=True)
class FitOptions:
    """Model and training options of ``gdynet fit`` (units: lag as frames or a time such as "1ps")."""

    model: str = "gdynet"          # "gdynet" (graph network) or "vampnet" (global-coordinate baseline)
    states: int = 2
    lag: int | float | str = "1ps"
    neighbors: int = 12
    seed: int = 0
    epochs: int = 30
    patience: int = 5
    batch_size: int = 256
    lr: float = 5e-3
    atom_features: int = 16
    n_conv: int = 3
    device: str = "auto"

    def check(self) -> None:
        if self.model not in ("gdynet", "vampnet"):
            raise GdynetError(f"--model must be gdynet or vampnet, got {self.model!r}")
        if self.states < 2:
            raise GdynetError(f"--states must be at least 2, got {self.states}")
        if self.neighbors < 1:
            raise GdynetError(f"--neighbors must be at least 1, got {self.neighbors}")
        if self.epochs < 1:
            raise GdynetError(f"--epochs must be at least 1, got {self.epochs}")


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
    record = {"paths": paths, "test_paths": test_paths, "read": read.to_dict(), "fit": asdict(options),
              "lag_frames": lag, "dt_ps": dt_ps,
              "analysis": {k: v for k, v in (analysis or {}).items() if k not in ("lags", "trajectories")}}
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
        model, result = _train(sources, run, options, lag, progress, n_test=len(test_paths))
        if _other_rank():                     # under torchrun only rank 0 writes results
            return {}
        calibration = _write_chi(model, sources, run, options)
        meta = {"lag_frames": lag, "dt_ps": dt_ps, "neighbors": options.neighbors, "read": read.to_dict(),
                "vamp2": dict(result.scores), "best_epoch": result.best_epoch,
                "n_atoms": trajs[0].n_atoms, "n_states": options.states, "calibration": calibration.tolist()}
        save_model(run.model, kind=options.model, model=model, meta=meta)
    except GdynetError:
        if created:
            shutil.rmtree(run.root, ignore_errors=True)
        raise
    from .analyze import analyze

    return analyze(run.root, **(analysis or {}), trajectories=trajs)


def _other_rank() -> bool:
    """True in a torchrun worker process other than rank 0."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_rank() != 0


def _sources(trajs: Sequence[Trajectory], run: RunDir, options: FitOptions, progress: bool) -> list[Any]:
    """One data source per trajectory: on-disk graphs for GDyNet, coordinates for the VAMPnet."""
    from ..training.data import CoordinateSource, GraphSource

    if options.model == "vampnet":
        return [CoordinateSource(t) for t in trajs]
    from ..graphs.store import build_graphs

    return [GraphSource(build_graphs(t, options.neighbors, cache_dir=run.graphs, progress=progress))
            for t in trajs]


def _new_model(sources: Sequence[Any], options: FitOptions) -> Any:
    import torch

    torch.manual_seed(options.seed)
    if options.model == "vampnet":
        from ..model.vampnet import GlobalVAMPNet

        return GlobalVAMPNet(n_atoms=sources[0].traj.n_atoms, n_states=options.states)
    from ..model.gdynet import GDyNet

    return GDyNet(n_states=options.states, atom_features=options.atom_features, n_conv=options.n_conv)


def _train(sources: Sequence[Any], run: RunDir, options: FitOptions, lag: int, progress: bool,
           n_test: int = 0):
    """Train on ``sources``; the last ``n_test`` of them are test data only (``--test``)."""
    from ..training.trainer import TrainConfig, Trainer

    config = TrainConfig(lag_frames=lag, test_sources=tuple(range(len(sources) - n_test, len(sources))),
                         batch_size=options.batch_size, lr=options.lr,
                         max_epochs=options.epochs, patience=options.patience, seed=options.seed,
                         device=options.device, checkpoint_dir=run.checkpoints, progress=progress)
    result = Trainer(config).fit(_new_model(sources, options), sources)
    return result.model, result


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
