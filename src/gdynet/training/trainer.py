"""Training by maximising the VAMP-2 score (Eq. 6): one score over all target sets and all pairs.

For a mini-batch of time-lagged pairs ``(t, t + tau)`` from one trajectory, the model gives
``chi(t)`` and ``chi(t + tau)`` of shape ``(B, n, S)``; every target set of every frame is a sample, so
``x_0`` and ``x_t`` are ``(B * n, S)``. The loss is ``-VAMP2(x_0, x_t)`` computed from summed moments,
which lets several processes add their moments before the score (see :mod:`.distributed`).

:class:`Trainer` adds early stopping on the validation VAMP-2 score, atomic checkpoints (``last.pt``
every epoch or every ``checkpoint_every`` steps, ``best.pt`` at each improvement) and exact resumption
of a killed run: rerunning the same ``fit`` continues from ``last.pt`` and, on CPU, ends with the same
weights and scores as an uninterrupted run.
"""
from __future__ import annotations

import copy
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..base.errors import GdynetError, GdynetWarning, exception_summary
from ..base.progress import progress_bar
from ..base.units import check_lag, lag_to_frames
from . import checkpoint as ckpt
from .budget import Budget, training_budget
from ..network.forward import frame_outputs, resolve_device
from ..network.inputs import Source
from .data import SPLITS, Block, batches, split_frames, split_sources
from .distributed import World, all_reduce_sum, setup, shard
from .vamp import VampMoments, vamp_moments, vamp_score_from_moments

#: ``TrainConfig.precision`` values -> autocast dtype of the network (None: no autocast)
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}

__all__ = ["TrainConfig", "Trainer", "TrainResult", "split_frames", "resolve_device", "seed_weights"]


@dataclass
class TrainConfig:
    """Options of :class:`Trainer`.

    Defaults, measured on the toy Li/FCC-S system (2 states, lag 1 ps, 2-core CPU, issue 10):

    * ``lr = 1e-3`` (was 5e-3): on 8 x 4,000 frames, lr 5e-3 / 1e-3 / 5e-4 reach the same validation
      VAMP-2 (1.8855 / 1.8861 / 1.8852), slowest timescale (22.96 / 23.03 / 22.88 ps; geometric
      reference 22.19 ps) and site agreement (99.55 % each), all within the first epoch (88 steps);
      on 2 x 600 frames (8 epochs of batch 64) 5e-3 and 1e-3 give 12.05 and 11.76 ps (reference
      11.88). What the higher rate adds is drift: at 5e-3 on 8 x 50,000 frames the softmax kept
      saturating after convergence (spread of chi_0 0.026 -> 0.0021 over 8 epochs, mean logit gap
      -1.9 -> -4.2) at a constant validation VAMP-2 of 1.945, the road to the collapse of issue 10.
      The lower rate drifts 5x slower at no cost in accuracy.
    * ``batch_size``, ``epochs``, ``patience``: ``None`` (automatic) sets them from the size of
      the training data, in samples and steps rather than pairs and epochs (:mod:`.budget`): on the
      toy system every run above converged within the first 100 steps, while a four-state model of
      the Cu interface (1,353 targets per frame) needed ~2,500 steps and stopped on a plateau with
      the old fixed 256 pairs / 30 epochs / patience 5.
    * ``epsilon = 1e-6`` relative to the outputs' variance: the collapse (validation 1.949 -> exactly
      1.0000) came from an absolute cut-off meeting the shrinking spread of a saturating softmax;
      scaled by the variance the cut-off can no longer remove the learned process (tests/test_collapse.py).

    Attributes:
        lag: lag ``tau``: an int is a number of frames, a string with a unit (``"1ps"``) a time,
            converted with the frame spacing of the sources (:func:`gdynet.base.units.lag_to_frames`).
        batch_size: time-lagged pairs per mini-batch (global: shared by all processes); ``None``:
            :func:`.budget.auto_batch_size`.
        lr: Adam learning rate.
        weight_decay: Adam L2 penalty.
        epochs: upper limit on epochs (one epoch = every training pair once); ``None``: enough
            for :data:`.budget.MIN_STEPS` steps, at least 30.
        patience: stop after this many epochs without a better validation VAMP-2 score (0: never);
            ``None``: :data:`.budget.PATIENCE_STEPS` steps, at least 5 epochs.
        min_delta: smallest increase of the validation score that counts as better.
        seed: seeds the initial weights (with ``init_weights``), the pair order and torch's global
            generator for dropout: the same seed gives the same trained weights on CPU.
        init_weights: draw the model's initial weights from ``seed`` before training (every
            submodule's ``reset_parameters``, in order, after ``torch.manual_seed(seed)``: the weights
            the model would get if built right after that call); ``False`` trains the weights as
            given (fine-tuning, hand-set weights). A resumed run takes its weights from the checkpoint.
        split: fractions of each trajectory, as contiguous time blocks, for train/validation/test.
        test_sources: indices of sources used whole as test data (the others: train/validation).
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
        checkpoint_dir: folder for ``last.pt``/``best.pt``; ``None`` keeps the best weights in memory.
        checkpoint_every: also write ``last.pt`` every this many steps (0: only at epoch ends).
        resume: continue from ``checkpoint_dir/last.pt`` when it exists.
        eval_batch_size: pairs per forward pass when scoring a split.
        epsilon: eigenvalue cut-off of the covariance inverses in the VAMP-2 score, relative to the
            outputs' mean variance (see ``vamp_score_from_moments(relative=True)``).
        collapse_fraction: the collapse guard: a validation VAMP-2 below
            ``1 + collapse_fraction * (best - 1)`` (the network has lost almost everything it had
            learned) restores the best weights, resets Adam's moments, multiplies the learning rate
            by ``lr_drop`` and continues (a GdynetWarning; the epoch's history entry gets
            ``"collapse": True``); at most ``max_recoveries`` times, then training stops.
        log_every: steps between progress-bar loss updates (also the NaN check interval).
        progress: show a rich progress bar (only rank 0).
        batch_atoms: atom-frames per forward pass (memory bounded by atoms, not frames): larger
            batches run in chunks, recomputed in the backward pass, with the same gradient
            (:mod:`.chunked`); ``None``: ``chunked.AUTO_BATCH_ATOMS``.
        precision: ``"fp32"`` or ``"bf16"`` (autocast of the network to bfloat16; the VAMP moments
            and score stay float64).
        compile: run the network through ``torch.compile``.
    """

    lag: int | str = 1
    batch_size: int | None = None
    lr: float = 1e-3
    weight_decay: float = 0.0
    epochs: int | None = None
    patience: int | None = None
    min_delta: float = 0.0
    seed: int = 0
    init_weights: bool = True
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)
    test_sources: tuple[int, ...] = ()
    device: str = "auto"
    checkpoint_dir: str | Path | None = None
    checkpoint_every: int = 0
    resume: bool = True
    eval_batch_size: int = 1024
    epsilon: float = 1e-6
    log_every: int = 20
    progress: bool = True
    collapse_fraction: float = 0.1
    lr_drop: float = 0.2
    max_recoveries: int = 3
    batch_atoms: int | None = None
    precision: str = "fp32"
    compile: bool = False

    def __post_init__(self) -> None:
        check_lag(self.lag)                          # the lag rule at once; the other values at check()

    def check(self) -> None:
        """Raise :class:`GdynetError` for impossible values."""
        check_lag(self.lag)
        if self.batch_atoms is not None and int(self.batch_atoms) < 1:
            raise GdynetError(f"batch_atoms must be at least 1 atom-frame, got {self.batch_atoms}")
        if self.precision not in PRECISIONS:
            raise GdynetError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        for name in ("batch_size", "epochs", "eval_batch_size", "log_every"):
            if getattr(self, name) is not None and int(getattr(self, name)) < 1:
                raise GdynetError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.batch_size is not None and self.batch_size < 4:
            raise GdynetError(f"batch_size must be at least 4 pairs, got {self.batch_size}")
        if (self.patience is not None and self.patience < 0) or self.checkpoint_every < 0:
            raise GdynetError("patience and checkpoint_every must be >= 0")
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise GdynetError(f"lr must be a positive number, got {self.lr}")
        if not (np.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise GdynetError(f"weight_decay must be a non-negative number, got {self.weight_decay}")
        if not (0 <= self.collapse_fraction < 1 and 0 < self.lr_drop < 1 and self.max_recoveries >= 0):
            raise GdynetError("need 0 <= collapse_fraction < 1, 0 < lr_drop < 1 and max_recoveries >= 0")


@dataclass
class TrainResult:
    """What :meth:`Trainer.fit` returns.

    Attributes:
        model: the trained model with the BEST validation weights loaded, in eval mode.
        history: one dict per epoch: ``epoch`` (1-based), ``train`` (mean batch VAMP-2),
            ``validation`` (VAMP-2 of the whole validation split), ``lr`` (learning rate of the
            epoch), ``seconds``; and ``collapse: True`` on an epoch the collapse guard undid.
        scores: VAMP-2 of the best model on the whole ``train``, ``validation`` and ``test`` splits
            (``nan`` for an empty test split).
        best_epoch: 1-based epoch of the best validation score.
        lag_frames: the lag in frames.
        budget: the batch size, epoch limit and patience used (:class:`.budget.Budget`).
        best_checkpoint, last_checkpoint: checkpoint files (``None`` without ``checkpoint_dir``).
    """

    model: torch.nn.Module
    history: list[dict[str, float]]
    scores: dict[str, float]
    best_epoch: int
    lag_frames: int
    budget: Budget
    best_checkpoint: Path | None = None
    last_checkpoint: Path | None = None

    def __repr__(self) -> str:
        scores = ", ".join(f"{k} {v:.4f}" for k, v in self.scores.items() if np.isfinite(v))
        return (f"TrainResult({type(self.model).__name__}, {len(self.history)} epochs (best {self.best_epoch}), "
                f"lag {self.lag_frames} frames, VAMP-2 {scores})")


def seed_weights(model: torch.nn.Module, seed: int) -> None:
    """Initial weights of ``model`` drawn from ``seed``: ``torch.manual_seed(seed)``, then every
    submodule's ``reset_parameters`` in registration order (the order in which a model's constructor
    draws them, so a GDyNet gets exactly the weights it would get if built right after the seed)."""
    torch.manual_seed(seed)
    for module in model.modules():
        reset = getattr(module, "reset_parameters", None)
        if callable(reset):
            reset()


# --------------------------------------------------------------------------------- model outputs
def _pair_outputs(model: torch.nn.Module, source: Source, t: np.ndarray, lag: int, device: torch.device,
                  config: TrainConfig | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``x_0, x_t`` ``(B * n, S)`` for pairs ``(t, t + lag)``; each distinct frame goes through the model once
    (in chunks of ``config.batch_atoms`` atom-frames, at ``config.precision``)."""
    config = config or TrainConfig()
    frames, where = np.unique(np.concatenate([t, t + lag]), return_inverse=True)
    with autocast(config.precision, device):
        out = frame_outputs(model, source, frames, device, config.batch_atoms)
    if out.dim() != 3:
        raise GdynetError(f"the model must return (frames, targets, states), got shape {tuple(out.shape)}",
                          source.source)
    where = torch.from_numpy(where).to(out.device)
    n_states = out.shape[-1]
    return out[where[:len(t)]].reshape(-1, n_states), out[where[len(t):]].reshape(-1, n_states)


def autocast(precision: str, device: torch.device | str) -> Any:
    """Autocast context of ``precision`` (``PRECISIONS``) on ``device``; a no-op for ``"fp32"``."""
    dtype = PRECISIONS[precision]
    return torch.autocast(torch.device(device).type, dtype=dtype, enabled=dtype is not None)


def _score(vector: torch.Tensor, n_states: int, epsilon: float) -> torch.Tensor:
    """VAMP-2 from a moment vector (``VampMoments.to_vector``, possibly summed over batches or ranks);
    ``epsilon`` relative to the outputs' scale, so a drifting softmax is never cut away (no collapse)."""
    return vamp_score_from_moments(VampMoments.from_vector(vector, n_states), "VAMP2", epsilon, relative=True)


class Trainer:
    """Fits a model (``model(**source.inputs(frames)) -> (B, n, S)``) by maximising VAMP-2.

    ``Trainer(config).fit(model, sources)`` trains on time-lagged pairs of every source (one per
    trajectory, see :mod:`.data`) and returns a :class:`TrainResult`.
    """

    def __init__(self, config: TrainConfig | None = None) -> None:
        self.given = config or TrainConfig()
        self.given.check()
        self.config = self.given          # with the automatic lengths filled in by ``fit``
        self.budget: Budget | None = None

    # ---------------------------------------------------------------------------------- public
    def fit(self, model: torch.nn.Module, sources: Sequence[Source]) -> TrainResult:
        """Train ``model`` on ``sources``; resumes from ``checkpoint_dir/last.pt`` when present."""
        cfg = self.config = self.given
        sources = list(sources)
        if not sources:
            raise GdynetError("no training data: give at least one trajectory")
        world, device = setup(resolve_device(cfg.device))
        lag = self._lag(sources)
        blocks = split_sources([s.n_frames for s in sources], lag, cfg.split, cfg.test_sources,
                               [s.source for s in sources])
        self.budget = training_budget(sum(b.n_pairs for b in blocks["train"]),
                                      min(sources[k].n_targets for k in {b.source for b in blocks["train"]}),
                                      batch_size=cfg.batch_size, epochs=cfg.epochs, patience=cfg.patience)
        cfg = self.config = replace(cfg, batch_size=self.budget.batch_size, epochs=self.budget.epochs,
                                    patience=self.budget.patience)
        if cfg.init_weights:
            seed_weights(model, cfg.seed)
        model = model.to(device)
        net = self._wrap(model, world, device)
        if cfg.compile:
            net = torch.compile(net)
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        run = _RunState(signature=self._signature(model, sources, lag))
        torch.manual_seed(cfg.seed)
        paths = self._paths()
        if paths and cfg.resume and paths[ckpt.LAST].is_file():
            run = self._restore(paths[ckpt.LAST], model, optimizer, run.signature)
        ctx = _Context(cfg, sources, blocks, lag, device, world)
        with _progress(cfg.progress and world.main) as bar:
            while not run.finished and run.epoch < cfg.epochs:
                self._epoch(net, model, optimizer, run, ctx, bar, paths)
        if run.best_state is None:
            raise GdynetError("epochs reached before any epoch finished")
        model.load_state_dict(run.best_state)
        model.eval()
        scores = {split: ctx.score(model, blocks[split]) for split in SPLITS}
        return TrainResult(model=model, history=run.history, scores=scores, best_epoch=run.best_epoch,
                           lag_frames=lag, budget=self.budget, best_checkpoint=paths.get(ckpt.BEST) if paths else None,
                           last_checkpoint=paths.get(ckpt.LAST) if paths else None)

    # ---------------------------------------------------------------------------------- epochs
    def _epoch(self, net: torch.nn.Module, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               run: "_RunState", ctx: "_Context", bar: Any, paths: dict[str, Path]) -> None:
        """Run (the rest of) epoch ``run.epoch``, validate, update early stopping, checkpoint."""
        cfg = self.config
        plan = batches(ctx.blocks["train"], cfg.batch_size, np.random.default_rng([cfg.seed, run.epoch]))
        task = bar.add_task(f"epoch {run.epoch + 1}/{cfg.epochs}", total=len(plan), completed=run.step,
                            loss=float("nan"))
        started = time.perf_counter() - run.seconds
        net.train()
        running = torch.zeros((), dtype=torch.float64, device=ctx.device)
        while run.step < len(plan):
            source_id, t = plan[run.step]
            score = ctx.batch_score(net, source_id, t, grad=True)
            optimizer.zero_grad(set_to_none=True)
            (-score).backward()
            optimizer.step()
            running = running + score.detach()
            run.step += 1
            at_log = run.step % cfg.log_every == 0 or run.step == len(plan)
            at_checkpoint = cfg.checkpoint_every and run.step % cfg.checkpoint_every == 0
            if at_log or at_checkpoint:
                run.score_sum += running.item()
                running.zero_()
                self._check_finite(run.score_sum, run, optimizer, "training")
                bar.update(task, completed=run.step, loss=-run.score_sum / run.step)
            if at_checkpoint and run.step < len(plan) and paths:
                run.seconds = time.perf_counter() - started
                self._save_last(paths, model, optimizer, run, ctx.world)
        validation = ctx.score(model, ctx.blocks["validation"])
        self._check_finite(validation, run, optimizer, "validation")
        record = {"epoch": run.epoch + 1, "train": run.score_sum / max(len(plan), 1),
                  "validation": validation, "lr": optimizer.param_groups[0]["lr"],
                  "seconds": time.perf_counter() - started}
        run.history.append(record)
        if self._collapsed(validation, run):
            record["collapse"] = True
            self._recover(model, optimizer, run)
        elif run.best_state is None or validation > run.best_score + cfg.min_delta:
            run.best_score, run.best_epoch = validation, run.epoch + 1
            run.best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            if paths and ctx.world.main:
                ckpt.save(paths[ckpt.BEST], {"model": run.best_state, "epoch": run.best_epoch,
                                            "validation": validation, "config": _model_config(model)})
        waited = run.epoch + 1 - max(run.best_epoch, run.recovered_epoch)
        run.finished = (bool(cfg.patience) and waited >= cfg.patience) or run.recoveries > cfg.max_recoveries
        run.epoch, run.step, run.score_sum, run.seconds = run.epoch + 1, 0, 0.0, 0.0
        bar.update(task, description=f"epoch {record['epoch']}/{cfg.epochs} "
                   f"val VAMP-2 {validation:.4f}" + (" *" if run.best_epoch == record["epoch"] else ""))
        if paths:
            self._save_last(paths, model, optimizer, run, ctx.world)

    def _collapsed(self, validation: float, run: "_RunState") -> bool:
        """The network lost almost all it had learned: validation VAMP-2 fell back towards 1."""
        if run.best_state is None or not self.config.collapse_fraction:
            return False
        return validation - 1 < self.config.collapse_fraction * (run.best_score - 1)

    def _recover(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, run: "_RunState") -> None:
        """Collapse guard: best weights back, Adam's moments reset, a lower learning rate; say so."""
        cfg = self.config
        run.recoveries += 1
        lr = optimizer.param_groups[0]["lr"]
        stop = run.recoveries > cfg.max_recoveries
        warnings.warn(GdynetWarning(
            f"training collapsed in epoch {run.epoch + 1} (validation VAMP-2 {run.history[-1]['validation']:.4f}, "
            f"best {run.best_score:.4f} in epoch {run.best_epoch}); "
            + ("stopping with the best weights" if stop else
               f"restored the best weights and continue with learning rate {lr * cfg.lr_drop:g} (was {lr:g})")),
            stacklevel=2)
        model.load_state_dict(run.best_state)
        optimizer.state.clear()
        for group in optimizer.param_groups:
            group["lr"] = lr * cfg.lr_drop
        run.recovered_epoch = run.epoch + 1

    @staticmethod
    def _check_finite(value: float, run: "_RunState", optimizer: torch.optim.Optimizer, what: str) -> None:
        """Stop with advice when the (summed) VAMP-2 score is NaN or infinite."""
        if np.isfinite(value):
            return
        lr = optimizer.param_groups[0]["lr"]
        raise GdynetError(f"training diverged in epoch {run.epoch + 1} (step {run.step}): the {what} VAMP-2 "
                          f"score is {value}. Try a lower learning rate (now {lr:g}), check the inputs for "
                          "NaN or extreme values, or use fewer states")

    # ----------------------------------------------------------------------------- setup/resume
    def _lag(self, sources: Sequence[Source]) -> int:
        lag = self.config.lag
        if not isinstance(lag, str):
            return lag_to_frames(lag, 1.0)
        dts = {round(float(getattr(s, "dt_ps", np.nan)), 9) for s in sources}
        if len(dts) != 1 or not np.isfinite(next(iter(dts))):
            raise GdynetError(f"a lag given as a time ({lag!r}) needs one frame spacing for all "
                              f"trajectories, got {sorted(dts)} ps")
        return lag_to_frames(lag, dts.pop())

    @staticmethod
    def _wrap(model: torch.nn.Module, world: World, device: torch.device) -> torch.nn.Module:
        """DDP wrapper under torchrun (gradients averaged: correct with summed moments, see .distributed)."""
        if not world.active:
            return model
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)

    def _signature(self, model: torch.nn.Module, sources: Sequence[Source], lag: int) -> dict[str, Any]:
        """What must match for a checkpoint to be resumed (``lr`` and ``weight_decay``: the restored
        optimizer state would silently override new values)."""
        cfg = self.config
        return {"lag": lag, "batch_size": cfg.batch_size, "seed": cfg.seed, "split": list(cfg.split),
                "test_sources": list(cfg.test_sources), "lr": cfg.lr, "weight_decay": cfg.weight_decay,
                "frames": [int(s.n_frames) for s in sources], "model": type(model).__name__,
                "parameters": {k: list(v.shape) for k, v in model.state_dict().items()}}

    def _paths(self) -> dict[str, Path]:
        if self.config.checkpoint_dir is None:
            return {}
        root = Path(self.config.checkpoint_dir)
        return {ckpt.LAST: root / ckpt.LAST, ckpt.BEST: root / ckpt.BEST}

    def _restore(self, path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 signature: dict[str, Any]) -> "_RunState":
        state = ckpt.load(path)
        if not isinstance(state, dict):
            raise GdynetError("not a gdynet checkpoint; delete it, or rerun `gdynet fit` with --force, to start "
                              "over", path)
        if state.get("signature") != signature:
            old = state.get("signature") or {}
            diff = sorted(k for k in signature if old.get(k) != signature[k])
            raise GdynetError(f"checkpoint belongs to a different run ({', '.join(diff) or 'format'} differ); "
                              "use another checkpoint folder or delete it", path)
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            ckpt.set_rng_state(state["rng"])
            return _RunState(**state["run"], signature=signature)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise GdynetError(f"damaged checkpoint ({exception_summary(exc)}); delete it, or rerun `gdynet fit` "
                              "with --force, to start over", path) from None

    def _save_last(self, paths: dict[str, Path], model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                   run: "_RunState", world: World) -> None:
        if not world.main:
            return
        ckpt.save(paths[ckpt.LAST], {"signature": run.signature, "model": model.state_dict(),
                                     "optimizer": optimizer.state_dict(), "rng": ckpt.rng_state(),
                                     "run": run.to_dict(), "config": _model_config(model)})


@dataclass
class _RunState:
    """Everything about the progress of a run that a checkpoint must restore."""

    signature: dict[str, Any]
    epoch: int = 0            # epochs completed (0-based index of the running epoch)
    step: int = 0             # steps done in the running epoch
    score_sum: float = 0.0    # sum of batch VAMP-2 scores in the running epoch
    seconds: float = 0.0      # time spent in the running epoch before a restart
    history: list[dict[str, float]] = field(default_factory=list)
    best_score: float = -np.inf
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    finished: bool = False
    recoveries: int = 0       # times the collapse guard restored the best weights
    recovered_epoch: int = 0  # epoch of the last recovery (patience counts from here too)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("signature", "best_state")}
        out["best_state"] = self.best_state
        return copy.deepcopy(out)


@dataclass
class _Context:
    """Data and devices shared by the steps of one ``fit``."""

    config: TrainConfig
    sources: list[Source]
    blocks: dict[str, list[Block]]
    lag: int
    device: torch.device
    world: World

    def batch_score(self, model: torch.nn.Module, source_id: int, t: np.ndarray, *, grad: bool) -> torch.Tensor:
        """VAMP-2 of a global batch of pairs, each rank computing its shard (moments summed over ranks)."""
        x0, xt = _pair_outputs(model, self.sources[source_id], shard(t, self.world), self.lag, self.device,
                               self.config)
        total = all_reduce_sum(vamp_moments(x0, xt).to_vector(), self.world, grad=grad)
        return _score(total, x0.shape[1], self.config.epsilon)

    @torch.no_grad()
    def score(self, model: torch.nn.Module, blocks: Sequence[Block]) -> float:
        """VAMP-2 of a whole split: moments summed over all its pairs (and ranks), then one score."""
        if not any(b.n_pairs for b in blocks):
            return float("nan")
        was_training = model.training
        model.eval()
        total = None
        plan = batches(blocks, self.config.eval_batch_size)
        for i, (source_id, t) in enumerate(plan):
            if self.world.active and i % self.world.size != self.world.rank:
                continue
            m = vamp_moments(*_pair_outputs(model, self.sources[source_id], t, self.lag, self.device, self.config))
            total = m if total is None else total + m
        if total is None:  # more ranks than batches: contribute zero moments of the right shape
            source_id, t = plan[0]
            x0, xt = _pair_outputs(model, self.sources[source_id], t[:1], self.lag, self.device, self.config)
            total = vamp_moments(x0[:0], xt[:0])
        vector = all_reduce_sum(total.to_vector(), self.world, grad=False)
        model.train(was_training)
        return float(_score(vector, total.n_states, self.config.epsilon).item())


def _model_config(model: torch.nn.Module) -> dict[str, Any] | None:
    config = getattr(model, "config", None)
    return dict(config) if isinstance(config, dict) else None


def _progress(show: bool) -> Any:
    """The training bar: epoch, batches, running loss, elapsed time (silent when ``show`` is false)."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    return progress_bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("loss {task.fields[loss]:.4f}"), TimeElapsedColumn(), enabled=show)


# ------------------------------------------------------------------------------------------ predict
