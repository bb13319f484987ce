"""``GDyNetModel``: a trained network with everything needed to apply it, and :func:`load`.

It carries the weights, the neighbours M and Gaussian cutoff its graphs need, the elements it was
trained on, the frame spacing and lag of the fit, the state calibration, the training history and
VAMP-2 scores, and the seed. ``model.transform(traj)`` gives calibrated state probabilities
(:class:`~gdynet.base.states.StateProbabilities`), building the graphs with the model's own settings.
``model.save(path)`` writes the file ``gdynet fit`` writes as ``DIR/model.pt`` (one format,
:mod:`.model_file`); :func:`load` opens either. The descent of ``transform`` is trajectory -> graphs
(:func:`gdynet.graphs.store.build_graphs`) -> network forward pass (:func:`gdynet.network.forward.run_network`)
-> calibration (:mod:`gdynet.network.calibration`) -> χ; nothing of it comes from the training package.
"""
from __future__ import annotations

import copy
import json
import tempfile
import warnings
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence, overload

import numpy as np

from ..base.errors import GdynetError, GdynetWarning
from ..base.states import StateProbabilities, trajectory_id
from ..base.units import frames_to_ps
from ..trajectory.core import Trajectory
from .model_file import SUMMARY_FILE, load_model, model_in_folder, save_model


class GDyNetModel:
    """A trained GDyNet (or global VAMPnet) ready to label trajectories.

    Attributes:
        network: the torch module (eval mode).
        meta: what the model file stores besides the weights (``kind``, ``lag_frames``, ``dt_ps``,
            ``neighbors``, ``cutoff``, ``elements``, ``calibration``, ``vamp2``, ``history``, ``seed``, ...);
            read-only (a ``MappingProxyType``): the properties below read it, so a model cannot be
            changed behind them (:meth:`with_meta` gives a copy with other entries).
        run_dir: the ``gdynet fit`` run folder the model came from (``None`` otherwise).
    """

    def __init__(self, network: Any, meta: dict[str, Any], run_dir: str | Path | None = None) -> None:
        self.network = network.eval()
        self._meta = copy.deepcopy(dict(meta))
        self.run_dir = None if run_dir is None else Path(run_dir)
        self._summary: dict[str, Any] | None = None

    # ------------------------------------------------------------------------------- properties
    @property
    def meta(self) -> Mapping[str, Any]:
        """The model file's entries besides the weights, read-only."""
        return MappingProxyType(self._meta)

    def with_meta(self, **entries: Any) -> "GDyNetModel":
        """A model with the same network and these ``meta`` entries added or replaced."""
        return GDyNetModel(self.network, {**self._meta, **entries}, run_dir=self.run_dir)

    @property
    def kind(self) -> str:
        """``"gdynet"`` or ``"vampnet"``."""
        return str(self.meta["kind"])

    @property
    def n_states(self) -> int:
        return int(self.meta["n_states"])

    @property
    def lag(self) -> int:
        """The fit lag τ in frames."""
        return int(self.meta["lag_frames"])

    @property
    def dt_ps(self) -> float:
        """Frame spacing of the training trajectories in ps."""
        return float(self.meta["dt_ps"])

    @property
    def lag_ps(self) -> float:
        """The fit lag τ in ps (12 significant digits)."""
        return frames_to_ps(self.lag, self.dt_ps)

    @property
    def neighbors(self) -> int | None:
        """Neighbours M per atom of the graphs the network was trained on (``None`` for the VAMPnet)."""
        return int(self.meta["neighbors"]) if self.kind == "gdynet" else None

    @property
    def cutoff(self) -> float | None:
        """Range of the Gaussian bond-length expansion in Å (``None`` for the VAMPnet)."""
        value = self.meta.get("cutoff", getattr(self.network, "config", {}).get("cutoff"))
        return None if value is None else float(value)

    @property
    def elements(self) -> tuple[str, ...] | None:
        """Chemical symbols of the elements in the training data (``None`` for files that predate it)."""
        from ase.data import chemical_symbols

        numbers = self.meta.get("elements")
        return None if numbers is None else tuple(chemical_symbols[int(z)] for z in numbers)

    @property
    def calibration(self) -> np.ndarray:
        """(S, S) matrix A mapping the network's softmax output onto crisp states (``model.calibration``)."""
        return np.asarray(self.meta["calibration"], dtype=np.float64)

    @property
    def scores(self) -> dict[str, float]:
        """VAMP-2 of the kept network on the train, validation and test data."""
        return dict(self.meta["vamp2"])

    @property
    def history(self) -> list[dict[str, Any]]:
        """One dict per training epoch (``epoch``, ``train``, ``validation``, ``lr``, ``seconds``)."""
        return list(self.meta.get("history") or [])

    @property
    def seed(self) -> int:
        return int(self.meta["seed"])

    @property
    def read(self) -> dict[str, Any] | None:
        """How the training files were read (``gdynet predict`` reuses it), when known."""
        return self.meta.get("read")

    def __repr__(self) -> str:
        scores = ", ".join(f"{k} {v:.4f}" for k, v in self.scores.items() if v is not None and np.isfinite(v))
        graphs = f"M={self.neighbors}, cutoff={self.cutoff:g} Å, " if self.kind == "gdynet" else ""
        elements = "" if self.elements is None else f"elements {'/'.join(self.elements)}, "
        return (f"GDyNetModel({self.kind}, {self.n_states} states, lag {self.lag} frames = {self.lag_ps:g} ps, "
                f"{graphs}{elements}seed {self.seed}, VAMP-2 {scores})")

    # -------------------------------------------------------------------------------- transform
    @overload
    def transform(self, trajectory: Trajectory, *, out: str | Path | None = None, device: str = "auto",
                  cache_dir: str | Path | None = None, progress: bool = False) -> StateProbabilities: ...

    @overload
    def transform(self, trajectory: Sequence[Trajectory], *, out: None = None, device: str = "auto",
                  cache_dir: str | Path | None = None, progress: bool = False) -> list[StateProbabilities]: ...

    def transform(self, trajectory: Trajectory | Sequence[Trajectory], *, out: str | Path | None = None,
                  device: str = "auto", cache_dir: str | Path | None = None,
                  progress: bool = False) -> StateProbabilities | list[StateProbabilities]:
        """Calibrated state probabilities of every target set in every frame of ``trajectory`` (a list
        of trajectories gives a list, one per trajectory).

        Graphs are built with the model's own neighbours (and the network applies its own cutoff).
        ``out``: a ``.npy`` file to write χ to (returned memory-mapped read-only; for trajectories
        larger than memory; one trajectory only); default in memory. ``cache_dir``: where the graphs
        go (default: a temporary folder, removed afterwards). A trajectory with an element the model
        never saw is an error naming it. The result records the trajectory it came from
        (``trajectory_id``), so analyses refuse it with another trajectory.
        """
        from ..network.chi import predict_raw, write_calibrated

        if isinstance(trajectory, (list, tuple)) and trajectory and all(isinstance(t, Trajectory) for t in trajectory):
            if out is not None:
                raise GdynetError("out= writes one trajectory's chi; transform the trajectories one by one")
            return [self.transform(t, device=device, cache_dir=cache_dir, progress=progress) for t in trajectory]
        if not isinstance(trajectory, Trajectory):
            raise GdynetError(f"transform needs a Trajectory or a list of them (gdynet.read_trajectory reads a file), "
                              f"got {type(trajectory).__name__}")
        self.check(trajectory)
        if out is not None and Path(out).suffix.lower() != ".npy":
            raise GdynetError("out must be a .npy file", out)
        with tempfile.TemporaryDirectory(prefix="gdynet-transform-") as tmp:
            source = self._source(trajectory, Path(cache_dir) if cache_dir is not None else Path(tmp), progress)
            raw = predict_raw(self.network, source, self.n_states, Path(tmp) / "raw.npy", device)
            path = write_calibrated(raw, self.calibration, Path(out) if out is not None else Path(tmp) / "chi.npy")
            del raw, source
            values = np.load(path, mmap_mode="r") if out is not None else np.load(path)
        return StateProbabilities(values, trajectory.dt_ps, trajectory.file_targets(), trajectory.source,
                                  trajectory_id(trajectory))

    def check(self, trajectory: Trajectory) -> None:
        """Raise :class:`GdynetError` when the model cannot label ``trajectory``: an element it never
        saw, or (global VAMPnet) another number of atoms; warn when the frame spacing differs."""
        if self.kind == "vampnet" and trajectory.n_atoms != int(self.meta["n_atoms"]):
            raise GdynetError(f"the global VAMPnet was trained on {self.meta['n_atoms']} atoms, this trajectory "
                              f"has {trajectory.n_atoms}", trajectory.source)
        known = self.meta.get("elements")
        if known is not None:
            from ase.data import chemical_symbols

            unseen = sorted(set(np.unique(trajectory.numbers).tolist()) - {int(z) for z in known})
            if unseen:
                raise GdynetError(f"element {', '.join(chemical_symbols[z] for z in unseen)} is not in the data the "
                                  f"model was trained on ({', '.join(self.elements or ())}); it cannot label it",
                                  trajectory.source)
        if abs(trajectory.dt_ps - self.dt_ps) > 1e-6 * self.dt_ps:
            warnings.warn(GdynetWarning(
                f"{trajectory.source}: frames every {trajectory.dt_ps:g} ps, the model was trained on "
                f"{self.dt_ps:g} ps (its lag is {self.lag_ps:g} ps): timescales from these states use "
                "the trajectory's own spacing"), stacklevel=3)

    def _source(self, traj: Trajectory, cache_dir: Path, progress: bool) -> Any:
        """The network's input for ``traj``: graphs with the model's M (GDyNet), or coordinates."""
        from ..network.inputs import check_gaussian_range, network_source

        source = network_source(self.kind, traj, self.neighbors, cache_dir, progress)
        if self.kind == "gdynet" and self.cutoff is not None:   # the fit's check, on the new data
            check_gaussian_range([source.store], float(self.cutoff),
                                 advice="these atoms' states are extrapolated (denser or looser than the "
                                        "training data?); fit on such data with a larger cutoff")
        return source

    # ------------------------------------------------------------------------------ save / load
    def save(self, path: str | Path) -> Path:
        """Write the model file (the format of ``gdynet fit``'s ``model.pt``); returns its path."""
        path = Path(path)
        if path.is_dir():
            raise GdynetError("is a folder; give a file name such as model.pt", path)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_model(path, kind=self.kind, model=self.network,
                   meta={k: v for k, v in self.meta.items() if k != "kind"})
        return path

    # ---------------------------------------------------------------------------------- analysis
    def analyze(self, trajectories: Trajectory | Sequence[Trajectory], out: str | Path,
                **analysis: Any) -> dict[str, Any]:
        """Deprecated: use ``gdynet.analyze_model(model, trajectories, out, **analysis)`` (the run layer
        writes run folders). Returns summary.json's dict (also :meth:`summary` afterwards)."""
        import importlib

        warnings.warn("GDyNetModel.analyze is deprecated; use gdynet.analyze_model(model, trajectories, out, "
                      "**analysis)", DeprecationWarning, stacklevel=2)
        run_layer = importlib.import_module("gdynet.runs.model_run")   # a shim: the model layer never imports it
        self._summary = run_layer.analyze_model(self, trajectories, out, **analysis)
        return self._summary

    def summary(self) -> dict[str, Any]:
        """The dict summary.json holds: of the run folder the model was loaded from (or of the last
        deprecated :meth:`analyze`)."""
        if self._summary is not None:
            return self._summary
        if self.run_dir is not None and (self.run_dir / SUMMARY_FILE).is_file():
            return json.loads((self.run_dir / SUMMARY_FILE).read_text())
        raise GdynetError("no analysis yet: call gdynet.analyze_model(model, trajectories, out_dir) (or load a "
                          "finished run folder with gdynet.load)")


def load(path: str | Path, device: str = "cpu") -> GDyNetModel:
    """Open a model: a file written by :meth:`GDyNetModel.save`, or a ``gdynet fit`` run folder
    (its ``model.pt``; :meth:`GDyNetModel.summary` then gives its summary.json)."""
    path = Path(path)
    run_dir = None
    if path.is_dir():
        path, run_dir = model_in_folder(path), path
    network, meta = load_model(path, device)
    return GDyNetModel(network, meta, run_dir=run_dir)
