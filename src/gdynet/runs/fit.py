"""``gdynet fit``: trajectories -> graphs -> trained model -> chi -> analysis, in one run folder."""
from __future__ import annotations

import warnings
from dataclasses import InitVar, asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from ..base.errors import GdynetError
from ..base.option_names import option
from ..files import writes
from ..base.units import check_lag
from ..files.writes import json_safe
from ..trajectory.core import Trajectory
from ..trajectory.read_options import ReadOptions, SharedTargets, read_all
from .lock import claim, writing_run
from .rundir import OLD_FIT_KEYS, RunDir, fit_record

#: run.json entries that must agree for ``fit`` to resume in an existing folder
_SAME_RUN = ("paths", "test_paths", "read", "fit")


@dataclass(frozen=True)
class FitOptions:
    """Model and training options of ``gdynet fit`` (units: lag as frames or a time such as "1ps";
    cutoff in Å). Training defaults are those of :class:`gdynet.training.trainer.TrainConfig` (see
    its docstring for the measurements behind them)."""

    model: str = "gdynet"          # "gdynet" (graph network) or "vampnet" (global-coordinate baseline)
    n_states: int = 2
    lag: int | str = "1ps"           # frames (int) or a time with a unit
    neighbors: int = 20             # M, as the paper for its real systems (Si-Au, PEO/LiTFSI); its toy used 12
    seed: int = 0
    epochs: int | None = None      # None: automatic (training.budget), as patience and batch_size
    patience: int | None = None
    batch_size: int | None = None
    lr: float = 1e-3
    atom_features: int = 16
    conv_layers: int = 3
    device: str = "auto"
    hidden: tuple[int, ...] = (32, 32)          # widths of the MLP head's hidden layers
    cutoff: float = 7.0                         # largest Gaussian centre (Å); centres every 0.2 Å
    weight_decay: float = 0.0
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)   # train/validation/test time blocks
    seeds: int = 1                              # initialisations trained; the best by validation VAMP-2 kept
    batch_atoms: int | None = None  # atom-frames per forward pass (None: automatic), see training.chunked
    precision: str = "fp32"         # "fp32" or "bf16"
    compile: bool = False           # torch.compile the network
    states: InitVar[int | None] = None   # deprecated (gdynet 0.4) spelling of n_states
    n_conv: InitVar[int | None] = None   # deprecated (gdynet 0.4) spelling of conv_layers

    def __post_init__(self, states: int | None, n_conv: int | None) -> None:
        for old, value in (("states", states), ("n_conv", n_conv)):
            if value is not None:
                new = OLD_FIT_KEYS[old]
                warnings.warn(f"FitOptions({old}=...) is deprecated; use {new}=", DeprecationWarning, stacklevel=3)
                object.__setattr__(self, new, value)
        check_lag(self.lag, name=option("lag"))     # the lag rule at once; the other options at fit

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FitOptions":
        """The options of a run.json ``fit`` record (gdynet 0.4's ``states``/``n_conv`` read as the new names)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in fit_record(data).items()})

    def estimator_params(self) -> dict[str, Any]:
        """The :class:`~gdynet.api.estimator.GDyNetEstimator` settings these options stand for (the same
        names, but ``model``, the CLI's ``--model``, is the estimator's ``architecture``)."""
        params = {k: v for k, v in asdict(self).items() if k != "model"}
        return {**params, "hidden": tuple(self.hidden), "split": tuple(self.split), "architecture": self.model}

    def check(self) -> None:
        """Raise :class:`GdynetError` for an impossible option (checked by the estimator; the error
        names the option as FitOptions calls it)."""
        from ..api.estimator import MODELS, GDyNetEstimator

        if self.model not in MODELS:                    # the estimator's architecture=, named as here
            raise GdynetError(f"{option('model')} must be {' or '.join(MODELS)}, got {self.model!r}")
        GDyNetEstimator(**self.estimator_params()).check()


def fit(paths: Sequence[str | Path], out_dir: str | Path, read: ReadOptions = ReadOptions(),
        options: FitOptions = FitOptions(), *, test_paths: Sequence[str | Path] = (),
        analysis: dict[str, Any] | None = None, progress: bool = True, force: bool = False) -> dict[str, Any]:
    """Train a model on the trajectories in ``paths`` and analyse it; returns ``summary.json``'s dict.

    ``test_paths``: trajectories read with the same options but never trained on (the test split);
    their state probabilities are written too, and the analysis uses them (``analyze_on="test"``).

    Every user mistake is detected before anything is written to ``out_dir`` (a folder made for the
    run is removed again). Re-running the same call after a
    kill resumes from the last checkpoint in ``out_dir/checkpoints``, unless an input file changed
    since (refused); ``force``: delete the run in ``out_dir`` and start over. One process at a time
    writes ``out_dir`` (:func:`.lock.run_lock`). Under ``torchrun`` every process trains on its
    share of each batch and rank 0 writes the results (others return ``{}``).
    """
    with writing_run(Path(out_dir)):
        trajs = train(paths, out_dir, read, options, test_paths=test_paths, analysis=analysis, progress=progress,
                      force=force)
        if trajs is None:
            return {}
        from .analyze import analyze

        return analyze(out_dir, **(analysis or {}), trajectories=trajs)


def train(paths: Sequence[str | Path], out_dir: str | Path, read: ReadOptions = ReadOptions(),
          options: FitOptions = FitOptions(), *, test_paths: Sequence[str | Path] = (),
          analysis: dict[str, Any] | None = None,
          progress: bool = True, force: bool = False) -> list[Trajectory] | None:
    """:func:`fit` without the analysis: run.json, graphs, model.pt and chi in ``out_dir`` (``gdynet
    analyze`` completes it). Returns the trajectories read, or ``None`` on torchrun ranks other than 0."""
    from .analysis_options import check_analysis
    from ..api.estimator import GDyNetEstimator

    from ..files.fingerprint import distinct_inputs, file_fingerprint, input_path, read_unchanged

    options.check()
    estimator = GDyNetEstimator(**options.estimator_params(), progress=progress)
    paths = [input_path(p) for p in paths]
    test_paths = [input_path(p) for p in test_paths]
    distinct_inputs(paths, test_paths, {p: file_fingerprint(p) for p in {*paths, *test_paths} if Path(p).is_file()})
    trajs, inputs = read_unchanged([*paths, *test_paths, read.topology], lambda: read_all(paths + test_paths, read))
    dt_ps = trajs[0].dt_ps
    lag = estimator.check_data(trajs[:len(paths)], trajs[len(paths):], force=force)   # say so now
    check_analysis({k: v for k, v in (analysis or {}).items() if k != "trajectories"}, dt_ps,
                   n_states=options.n_states)

    run = RunDir(Path(out_dir))
    record = json_safe({"paths": paths, "test_paths": test_paths, "read": read.to_dict(), "fit": asdict(options),
                        "lag_frames": lag, "dt_ps": dt_ps,
                        "analysis": {k: v for k, v in (analysis or {}).items() if k not in ("lags", "trajectories")}})
    record["inputs"] = inputs                          # of the bytes read
    with writing_run(run.root):
        claim(run, record, _SAME_RUN, force)
        writes.write_json(run.run_json, record)
        outcome = estimator.train_network(trajs[:len(paths)], trajs[len(paths):], graphs_dir=run.graphs,
                                          scratch=run.chi(0).parent, checkpoint_dir=run.checkpoints,
                                          force=force)
        if outcome is None:                            # under torchrun only rank 0 writes results
            return None
        from ..network.chi import write_calibrated

        model = outcome.model
        for i, raw in enumerate(outcome.raws):
            write_calibrated(raw, model.calibration, run.chi(i))
        outcome.release()
        for i, traj in enumerate(trajs):
            writes.save_npy(run.targets(i), traj.file_targets())
        extra: dict[str, Any] = {"read": read.to_dict()}
        if read.select_on == "first":                 # what `gdynet predict` imposes on a new file
            extra["shared_targets"] = SharedTargets.of(trajs[0]).to_dict()
        if len(outcome.trained) > 1:
            extra["seeds"] = _seed_entries(outcome.trained, outcome.best, outcome.sources, run, options,
                                           lag, dt_ps, trajs, (analysis or {}).get("order_parameter"))
        model.with_meta(**extra).save(run.model)
    return trajs


def _seed_entries(trained: Sequence[tuple[int, Any]], best: int, sources: Sequence[Any], run: RunDir,
                  options: FitOptions, lag: int, dt_ps: float, trajs: Sequence[Trajectory],
                  order_parameter: str | None) -> list[dict[str, Any]]:
    """summary.json ``seeds`` (see :mod:`.seeds`), against the kept seed's calibrated chi files; each
    seed's states described on ``trajs`` (coordination, and the ``order_parameter`` when given)."""
    from .seeds import seed_entries

    best_chi = [run.load_chi(i) for i in range(len(sources))]
    models = [(seed, result.model, result.scores["validation"]) for seed, result in trained]
    return seed_entries(models, best, sources, best_chi, run.chi(0).parent, options.n_states, lag, dt_ps,
                        options.device, trajectories=trajs, order_parameter=order_parameter)

