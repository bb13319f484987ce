"""``GDyNetEstimator``: trajectories -> graphs -> trained network -> calibrated states, from Python.

Follows deeptime and scikit-learn: ``__init__`` only stores the settings (named as the ``gdynet fit``
options; :meth:`~GDyNetEstimator.get_params` / :meth:`~GDyNetEstimator.set_params`), ``fit`` checks
every setting before any work, trains and returns the estimator, and :meth:`~GDyNetEstimator.fetch_model`
gives the :class:`~gdynet.api.model.GDyNetModel` that carries all it needs to label new
trajectories. ``gdynet fit`` runs the same code (:meth:`GDyNetEstimator.train_network`), so the CLI and
Python give identical state probabilities for the same inputs and ``seed``::

    est = gdynet.GDyNetEstimator(n_states=2, lag="1ps", neighbors=12, epochs=5, seed=0)
    model = est.fit(trajectories).fetch_model()
    chi = model.transform(new_trajectory)          # StateProbabilities (frames, target sets, S)
"""
from __future__ import annotations

import inspect
import numbers
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..files.writes import json_safe
from ..base.errors import GdynetError
from ..base.option_names import option
from ..trajectory.core import Trajectory
from ..base.units import check_lag, lag_to_frames

if TYPE_CHECKING:
    from .model import GDyNetModel

#: spacing of the Gaussian centres of Eq. 7 in Å (the paper's 0.2 Å); ``cutoff`` sets their range
GAUSSIAN_SPACING_A = 0.2
MODELS = ("gdynet", "vampnet")
#: settings that change where files go or what is shown, not the trained model
_NOT_MODEL = ("checkpoint_dir", "progress")


class GDyNetEstimator:
    """Train a GDyNet (or the global VAMPnet baseline) on trajectories; settings as ``gdynet fit``'s.

    Args:
        n_states: number of states S (``--states``).
        lag: lag τ: an int is a number of frames, a string with a unit (``"1ps"``, ``"500fs"``) a time.
        neighbors: neighbours M per atom in each graph (the paper: 20 for its real systems, 12 for its toy).
        cutoff: range of the Gaussian bond-length expansion in Å (centres every 0.2 Å).
        atom_features: width F of the atom features.
        conv_layers: number K of graph convolutions.
        hidden: widths of the hidden layers of the output MLP.
        batch_size: time-lagged frame pairs per mini-batch (``None``: automatic, see ``training.budget``).
        epochs: maximum training epochs (``None``: automatic).
        patience: epochs without a better validation VAMP-2 before stopping (0: never; ``None``: automatic).
        lr: Adam learning rate.
        weight_decay: Adam L2 penalty.
        split: train, validation, test fractions of each trajectory (contiguous time blocks).
        seed: seeds the initial weights, the pair order and dropout: the same seed gives the same
            weights and state probabilities on CPU.
        seeds: initialisations trained (``seed``, ``seed + 1``, ...); the best by validation VAMP-2 is kept.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        precision: ``"fp32"`` or ``"bf16"``.
        compile: run the network through ``torch.compile``.
        checkpoint_dir: folder for training checkpoints (a killed fit resumes from them) and the
            neighbour graphs (``checkpoint_dir/graphs``); ``None``: graphs in a temporary folder,
            best weights kept in memory.
        batch_atoms: atom-frames per forward pass (``None``: automatic).
        architecture: ``"gdynet"`` (graph network) or ``"vampnet"`` (global-coordinate baseline); the
            CLI's ``--model``. (Until gdynet 0.4 this keyword was ``model``, still accepted with a
            DeprecationWarning: ``est.model`` is now the fitted model, as in deeptime.)
        progress: show progress bars.

    Attributes (after ``fit``):
        model: the fitted :class:`~gdynet.api.model.GDyNetModel` (``None`` before ``fit``;
            also ``fetch_model()``, ``model_``); ``has_model`` says whether there is one.
    """

    def __init__(self, *, n_states: int = 2, lag: int | str = "1ps", neighbors: int = 20, cutoff: float = 7.0,
                 atom_features: int = 16, conv_layers: int = 3, hidden: Sequence[int] = (32, 32),
                 batch_size: int | None = None, epochs: int | None = None, patience: int | None = None,
                 lr: float = 1e-3, weight_decay: float = 0.0, split: Sequence[float] = (0.7, 0.15, 0.15),
                 seed: int = 0, seeds: int = 1, device: str = "auto", precision: str = "fp32",
                 compile: bool = False, checkpoint_dir: str | Path | None = None, batch_atoms: int | None = None,
                 architecture: str = "gdynet", progress: bool = True, **deprecated: Any) -> None:
        check_lag(lag, name=option("lag"))           # the lag rule at once; the other settings at fit
        self.n_states = n_states
        self.lag = lag
        self.neighbors = neighbors
        self.cutoff = cutoff
        self.atom_features = atom_features
        self.conv_layers = conv_layers
        self.hidden = hidden
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.lr = lr
        self.weight_decay = weight_decay
        self.split = split
        self.seed = seed
        self.seeds = seeds
        self.device = device
        self.precision = precision
        self.compile = compile
        self.checkpoint_dir = checkpoint_dir
        self.batch_atoms = batch_atoms
        self.architecture = _renamed(deprecated, architecture)
        self.progress = progress

    # ------------------------------------------------------------------------- sklearn conventions
    @classmethod
    def _param_names(cls) -> list[str]:
        return [name for name, p in inspect.signature(cls.__init__).parameters.items()
                if name != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The settings, as given to ``__init__``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> "GDyNetEstimator":
        """Change settings (checked at the next ``fit``); returns the estimator."""
        if "model" in params:
            params["architecture"] = _renamed({"model": params.pop("model")}, params.get("architecture", "gdynet"))
        unknown = sorted(set(params) - set(self._param_names()))
        if unknown:
            raise GdynetError(f"unknown setting(s) {', '.join(unknown)}; settings: {', '.join(self._param_names())}")
        if "lag" in params:
            check_lag(params["lag"], name=option("lag"))
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {n: p.default for n, p in inspect.signature(type(self).__init__).parameters.items() if n != "self"}
        changed = [f"{n}={v!r}" for n, v in self.get_params().items() if _differs(v, defaults[n])]
        fitted = "  # fitted" if self.has_model else ""
        return f"GDyNetEstimator({', '.join(changed)}){fitted}"

    @property
    def model(self) -> "GDyNetModel | None":
        """The fitted model, ``None`` before :meth:`fit` (deeptime's ``est.model``; scikit-learn's
        ``model_`` is set by ``fit`` only)."""
        return getattr(self, "model_", None)

    @property
    def has_model(self) -> bool:
        """Whether :meth:`fit` has given a model."""
        return self.model is not None

    # ----------------------------------------------------------------------------------- settings
    def check(self) -> None:
        """Raise :class:`GdynetError` naming the first impossible setting (Python keyword or CLI flag)."""
        if self.architecture not in MODELS:
            raise GdynetError(f"{option('architecture')} must be gdynet or vampnet, got {self.architecture!r}")
        _whole(self.n_states, "n_states", 2)
        check_lag(self.lag, name=option("lag"))
        for name in ("neighbors", "atom_features", "seeds"):
            _whole(getattr(self, name), name, 1)
        _whole(self.conv_layers, "conv_layers", 0)
        _whole(self.seed, "seed", 0)
        for name, least in (("epochs", 1), ("batch_size", 4), ("batch_atoms", 1), ("patience", 0)):
            if getattr(self, name) is not None:
                _whole(getattr(self, name), name, least)
        hidden = self.hidden if isinstance(self.hidden, (list, tuple)) else None
        if not hidden or any(isinstance(h, bool) or not isinstance(h, numbers.Integral) or h < 1 for h in hidden):
            raise GdynetError(f"{option('hidden')} must be one or more layer widths >= 1, e.g. (32, 32), "
                              f"got {self.hidden!r}")
        _number(self.cutoff, "cutoff", 2 * GAUSSIAN_SPACING_A, "Å")
        _number(self.lr, "lr", 0.0, "", strict=True)
        _number(self.weight_decay, "weight_decay", 0.0, "")
        split = tuple(self.split) if isinstance(self.split, (list, tuple)) else ()
        if len(split) != 3 or not all(isinstance(f, numbers.Real) and np.isfinite(f) for f in split) \
                or min(split) < 0 or split[0] <= 0 or split[1] <= 0 or abs(sum(split) - 1) > 1e-6:
            raise GdynetError(f"{option('split')} must be three fractions train, validation, test (train and "
                              f"validation > 0) that sum to 1, e.g. (0.7, 0.15, 0.15); got {self.split!r}")
        from ..training.trainer import PRECISIONS

        if self.precision not in PRECISIONS:
            raise GdynetError(f"{option('precision')} must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not isinstance(self.device, str):
            raise GdynetError(f"{option('device')} must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        from ..training.trainer import resolve_device

        resolve_device(self.device)
        for name in ("compile", "progress"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise GdynetError(f"{option(name)} must be True or False, got {getattr(self, name)!r}")

    # ---------------------------------------------------------------------------------------- fit
    def fit(self, trajectories: Trajectory | Sequence[Trajectory],
            test: Trajectory | Sequence[Trajectory] | None = None) -> "GDyNetEstimator":
        """Train on ``trajectories`` (one :class:`~gdynet.Trajectory` or a list); returns the estimator.

        ``test``: trajectories never trained on (their VAMP-2 is ``scores["test"]``). Every setting
        and the data are checked before anything is built. The state calibration is fitted on the
        network's output over all trajectories given (as ``gdynet fit`` does).
        """
        train, held_out = _trajectories(trajectories, "trajectories"), _trajectories(test or [], "test")
        self.check()
        self.model_ = None
        with tempfile.TemporaryDirectory(prefix="gdynet-fit-") as scratch:
            graphs = Path(self.checkpoint_dir) / "graphs" if self.checkpoint_dir is not None else Path(scratch) / "graphs"
            outcome = self.train_network(train, held_out, graphs_dir=graphs, scratch=Path(scratch),
                                         checkpoint_dir=self.checkpoint_dir)
            if outcome is None:                       # a torchrun rank other than 0
                return self
            outcome.release()
        self.model_ = outcome.model
        return self

    def fetch_model(self) -> "GDyNetModel":
        """The trained :class:`~gdynet.api.model.GDyNetModel` (deeptime's name)."""
        if self.model is None:
            raise GdynetError("the estimator is not fitted yet: call fit(trajectories) first")
        return self.model

    def fit_fetch(self, trajectories: Trajectory | Sequence[Trajectory],
                  test: Trajectory | Sequence[Trajectory] | None = None) -> "GDyNetModel":
        """``fit(trajectories, test).fetch_model()`` (deeptime's ``fit_fetch``)."""
        return self.fit(trajectories, test).fetch_model()

    def fit_transform(self, trajectories: Trajectory | Sequence[Trajectory],
                      test: Trajectory | Sequence[Trajectory] | None = None) -> Any:
        """Fit, then the :class:`~gdynet.base.states.StateProbabilities` of ``trajectories`` (one, or a list
        for a list), as scikit-learn's ``fit_transform``."""
        return self.fit(trajectories, test).fetch_model().transform(trajectories)

    def train_network(self, train: Sequence[Trajectory], test: Sequence[Trajectory] = (), *,
                      graphs_dir: Path, scratch: Path, checkpoint_dir: str | Path | None,
                      force: bool = False) -> "Outcome | None":
        """The training both ``fit`` and ``gdynet fit`` run: graphs in ``graphs_dir``, every seed
        trained (checkpoints in ``checkpoint_dir``, one folder per seed when ``seeds > 1``), the best
        kept, its raw output over every trajectory written to ``scratch`` and the calibration fitted.
        ``force``: allow more than :data:`~.limits.MAX_STATES` states. Returns ``None`` on torchrun
        ranks other than 0."""
        self.check()
        lag = self.check_data(train, test, force=force)
        trajs, dt_ps = [*train, *test], train[0].dt_ps
        sources = self._sources(trajs, graphs_dir)
        trained = self._train(sources, lag, len(test), checkpoint_dir)
        if leave_process_group():
            return None
        best = max(range(len(trained)), key=lambda k: trained[k][1].scores["validation"])
        seed, result = trained[best]
        from ..network.calibration import calibration_matrix
        from ..network.chi import calibration_sample, predict_raw

        raws = [predict_raw(result.model, s, self.n_states, scratch / f".raw_{i:03d}.{os.getpid()}.npy", self.device)
                for i, s in enumerate(sources)]
        calibration = calibration_matrix(calibration_sample(raws))
        meta = {"kind": self.architecture, "lag_frames": lag, "dt_ps": dt_ps, "neighbors": int(self.neighbors),
                "cutoff": float(self.cutoff), "elements": sorted({int(z) for t in trajs for z in np.unique(t.numbers)}),
                "vamp2": dict(result.scores), "best_epoch": result.best_epoch, "seed": seed,
                "history": json_safe(result.history), "training": result.budget.to_dict(),
                "n_atoms": trajs[0].n_atoms, "n_states": int(self.n_states), "calibration": calibration.tolist(),
                "settings": json_safe({k: v for k, v in self.get_params().items() if k not in _NOT_MODEL}),
                "read": _read_options(trajs)}
        from .model import GDyNetModel

        return Outcome(GDyNetModel(result.model, meta), sources, raws, trained, best)

    def check_data(self, train: Sequence[Trajectory], test: Sequence[Trajectory] = (), *,
                   force: bool = False) -> int:
        """Raise :class:`GdynetError` when these settings cannot train on ``train`` (+ ``test``): no
        data, different frame spacings, too few frames for the lag and split, atoms that differ for
        the VAMPnet, more states than the data support (:func:`.limits.check_states`; above its
        ``MAX_STATES`` only with ``force``), the same frames given twice (:func:`_distinct`). Returns
        the lag in frames."""
        trajs = [*train, *test]
        if not train:
            raise GdynetError(f"no training data: give at least one trajectory ({option('trajectories')})")
        _distinct(train, test)
        dt_ps = trajs[0].dt_ps
        if any(abs(t.dt_ps - dt_ps) > 1e-9 * dt_ps for t in trajs):
            raise GdynetError("the trajectories have different frame spacings (" +
                              ", ".join(f"{t.dt_ps:g}" for t in trajs) + " ps); use the same stride and dt")
        lag = lag_to_frames(self.lag, dt_ps, name=option("lag"))
        from ..training.data import split_sources

        split_sources([t.n_frames for t in trajs], lag, tuple(self.split),
                      tuple(range(len(train), len(trajs))), [t.source for t in trajs])
        if self.architecture == "vampnet" and len({t.n_atoms for t in trajs}) > 1:
            raise GdynetError("the global VAMPnet needs the same atoms in every trajectory")
        from .limits import check_states

        check_states(self.n_states, train, lag, self.split[0], force=force)
        return lag

    def _sources(self, trajs: Sequence[Trajectory], graphs_dir: Path) -> list[Any]:
        """One data source per trajectory: on-disk graphs for GDyNet, coordinates for the VAMPnet."""
        from ..network.inputs import check_gaussian_range, network_source

        sources = [network_source(self.architecture, t, self.neighbors, graphs_dir, self.progress) for t in trajs]
        if self.architecture != "vampnet":
            check_gaussian_range([s.store for s in sources], self.cutoff)
        return sources

    def new_network(self, n_atoms: int, seed: int) -> Any:
        """An untrained network with these settings, its weights drawn from ``seed``."""
        import torch

        torch.manual_seed(seed)
        if self.architecture == "vampnet":
            from ..network.vampnet import GlobalVAMPNet

            return GlobalVAMPNet(n_atoms=n_atoms, n_states=self.n_states)
        from ..network.gdynet import GDyNet

        return GDyNet(n_states=self.n_states, neighbors=self.neighbors, atom_features=self.atom_features,
                      n_conv=self.conv_layers,
                      cutoff=self.cutoff, n_gaussians=round(self.cutoff / GAUSSIAN_SPACING_A) + 1,
                      hidden=tuple(self.hidden))

    def _train(self, sources: Sequence[Any], lag: int, n_test: int,
               checkpoint_dir: str | Path | None) -> list[tuple[int, Any]]:
        """Train ``seeds`` initialisations in turn (``seed``, ``seed + 1``, ...), each with its own
        checkpoint folder, so a killed run resumes the seed it was on. The last ``n_test`` sources are
        test data only. Returns ``(seed, TrainResult)``s."""
        from ..training.trainer import TrainConfig, Trainer

        trained = []
        for seed in range(self.seed, self.seed + self.seeds):
            folder = None if checkpoint_dir is None else (
                Path(checkpoint_dir) if self.seeds == 1 else Path(checkpoint_dir) / f"seed_{seed}")
            config = TrainConfig(lag=lag, test_sources=tuple(range(len(sources) - n_test, len(sources))),
                                 batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                                 split=tuple(self.split), epochs=self.epochs, patience=self.patience,
                                 seed=seed, device=self.device, checkpoint_dir=folder, progress=self.progress,
                                 batch_atoms=self.batch_atoms, precision=self.precision, compile=self.compile)
            network = self.new_network(getattr(sources[0], "n_atoms", 0), seed)
            trained.append((seed, Trainer(config).fit(network, sources)))
        return trained


@dataclass
class Outcome:
    """What :meth:`GDyNetEstimator.train_network` gives: the model, the data sources, the kept
    network's raw output per trajectory (``.npy`` memmaps in the scratch folder), every seed's
    ``(seed, TrainResult)`` and the index of the kept one."""

    model: Any
    sources: list[Any]
    raws: list[np.ndarray]
    trained: list[tuple[int, Any]]
    best: int

    def release(self) -> None:
        """Delete the raw output files."""
        from ..network.chi import remove

        paths = [Path(r.filename) for r in self.raws if getattr(r, "filename", None)]
        self.raws = []
        for path in paths:
            remove(path)


def leave_process_group() -> bool:
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


def _trajectories(value: Any, name: str) -> list[Trajectory]:
    """One Trajectory or a sequence of them, as a list; a one-line error naming ``name`` otherwise."""
    items = [value] if isinstance(value, Trajectory) else value
    if isinstance(items, (str, Path)) or not isinstance(items, Sequence) \
            or not all(isinstance(t, Trajectory) for t in items):
        raise GdynetError(f"{name} must be a Trajectory or a list of them (gdynet.read_trajectory reads a file), "
                          f"got {type(value).__name__}")
    return list(items)


def _distinct(train: Sequence[Trajectory], test: Sequence[Trajectory]) -> None:
    """Refuse a training trajectory given twice (it would count as another independent one) or a test
    trajectory that is a training one (its "never trained on" scores would be training scores), by
    content (:meth:`Trajectory.fingerprint`, computed once and reused as the graph cache key)."""
    seen: dict[str, str] = {}
    for role, trajs in (("training trajectory", train), (f"{option('test')} trajectory", test)):
        for k, traj in enumerate(trajs):
            name, key = f"{role} {k} ({traj.source})", traj.fingerprint()
            if key in seen:
                hint = ("give each trajectory once" if seen[key].startswith(role) else
                        "test data must be frames the network never trained on")
                raise GdynetError(f"{name} holds the same frames as {seen[key]}: {hint}")
            seen[key] = name


def _read_options(trajs: Sequence[Trajectory]) -> dict[str, Any] | None:
    """Read options for ``gdynet predict`` with a model trained from Python: the target element when
    every target set is one atom of one element (e.g. Li); ``None`` when no simple rule gives the targets."""
    from ase.data import chemical_symbols

    from ..trajectory.read_options import ReadOptions

    elements = {int(z) for t in trajs for z in np.asarray(t.numbers)[np.asarray(t.targets)].ravel()}
    single = all(np.asarray(t.targets).shape[1] == 1 for t in trajs)
    everyone = all(np.array_equal(np.sort(np.asarray(t.targets).ravel()),
                                  np.flatnonzero(np.isin(t.numbers, list(elements)))) for t in trajs)
    if single and len(elements) == 1 and everyone:
        return ReadOptions(targets=chemical_symbols[elements.pop()]).to_dict()
    return None


def _renamed(deprecated: dict[str, Any], architecture: str) -> str:
    """``architecture``, or the value of the old keyword ``model`` (with a DeprecationWarning naming the
    new one); any other unknown keyword is a TypeError, as Python gives."""
    unknown = sorted(set(deprecated) - {"model"})
    if unknown:
        raise TypeError(f"GDyNetEstimator got an unexpected keyword argument {unknown[0]!r}")
    if "model" not in deprecated:
        return architecture
    warnings.warn("GDyNetEstimator(model=...) is now architecture=... (est.model is the fitted model, as in "
                  "deeptime)", DeprecationWarning, stacklevel=3)
    return deprecated["model"]


def _whole(value: Any, name: str, least: int) -> None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < least:
        raise GdynetError(f"{option(name)} must be a whole number >= {least}, got {value!r}")


def _number(value: Any, name: str, least: float, unit: str, strict: bool = False) -> None:
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and np.isfinite(value) \
        and (value > least if strict else value >= least)
    if not ok:
        raise GdynetError(f"{option(name)} must be a number {'>' if strict else '>='} {least:g}"
                          f"{' ' + unit if unit else ''}, got {value!r}")


def _differs(value: Any, default: Any) -> bool:
    if isinstance(value, (list, tuple)) and isinstance(default, (list, tuple)):
        return list(value) != list(default)
    return type(value) is not type(default) or value != default
