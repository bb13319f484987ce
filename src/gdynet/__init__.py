"""gdynet: Graph Dynamical Networks for atomic-scale dynamics in materials (Xie et al., 2019).

Layers, bottom to top (a package imports only from the ones below it; ARCHITECTURE.md)::

    base/        errors, units, option names, wording, progress, StateProbabilities (the shared vocabulary)
    files/       crash-safe writes, disk space, cache root, input fingerprints
    trajectory/  Trajectory, read_trajectory, select_targets      (MD files and objects -> one object)
    graphs/      neighbors, build_graphs, GraphStore               (periodic kNN graphs on disk)
    network/     GDyNet, GlobalVAMPNet, run_network, calibration   (graph network -> chi)
    koopman/     KoopmanEstimator, implied_timescales, ck_test     (K(tau), timescales, CK test)
    training/    vamp_score, Trainer                               (VAMP-2 training, checkpoints)
    analysis/    state_rdf, transition_conduction, state_profile,  (structure and transport)
                 state_order_parameter, state_charge_integral
    datasets/    toy_li_fcc, reference_timescale, MD generators    (the paper's toy system, examples)
    report/      figures and the Markdown report; plot_* (gdynet.plots) for notebooks
    api/         GDyNetEstimator, GDyNetModel, StateProbabilities, load   (the Python API)
    runs/        fit / scan / predict / analyze into a run folder  (run.json, model.pt, chi/, report)
    commands/    one module per ``gdynet`` verb; cli.py wires them into typer

Names are imported lazily so ``import gdynet`` stays fast (torch loads only when needed);
``dir(gdynet)`` and ``gdynet.__all__`` list them all.
"""
from __future__ import annotations

import importlib as _importlib
import os as _os
from typing import Any as _Any

# OpenMP threads (torch, numba) that wait for work by sleeping instead of spinning: on a CPU shared with
# other busy processes a training epoch took 5.3-6.5 s spinning and 2.4-2.5 s sleeping, and 1.8 vs 1.6 s
# alone (benchmarks/bench_shared_cpu.py). It acts only when set before torch is first imported; a value
# the user set wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .base.errors import GdynetError
from .trajectory.core import Trajectory
from .base.units import parse_time

__version__ = "0.4.0"

_LAZY = {
    "read_trajectory": "gdynet.trajectory.readers",
    "select_targets": "gdynet.trajectory.targets",
    "neighbors": "gdynet.graphs.neighbors",
    "build_graphs": "gdynet.graphs.store",
    "GraphStore": "gdynet.graphs.store",
    "GDyNet": "gdynet.network.gdynet",
    "GlobalVAMPNet": "gdynet.network.vampnet",
    "vamp_score": "gdynet.training.vamp",
    "Trainer": "gdynet.training.trainer",
    "TrainConfig": "gdynet.training.trainer",
    "KoopmanEstimator": "gdynet.koopman.estimator",
    "KoopmanModel": "gdynet.koopman.estimator",
    "implied_timescales": "gdynet.koopman.validation",
    "ck_test": "gdynet.koopman.validation",
    "population_intervals": "gdynet.koopman.validation",
    "check_timescales": "gdynet.koopman.validation",
    "TimescaleCheck": "gdynet.koopman.validation",
    "coarse_grain": "gdynet.koopman.pcca",
    "state_rdf": "gdynet.analysis.rdf",
    "transition_conduction": "gdynet.analysis.conduction",
    "state_profile": "gdynet.analysis.profile",
    "state_snapshot": "gdynet.analysis.profile",
    "state_order_parameter": "gdynet.analysis.order",
    "state_charge_integral": "gdynet.analysis.charge",
    "state_charges": "gdynet.analysis.charge",
    "toy_li_fcc": "gdynet.datasets.toy",
    "reference_timescale": "gdynet.datasets.toy",
    "StateProbabilities": "gdynet.base.states",
    **{name: "gdynet.plots" for name in ("plot_implied_timescales", "plot_ck_test", "plot_populations",
                                         "plot_eigenvectors", "plot_state_rdf", "plot_transition_msd",
                                         "plot_conduction", "plot_state_profile", "plot_state_snapshot",
                                         "plot_charge_integral", "plot_order_parameter", "plot_learning_curve")},
    "GDyNetEstimator": "gdynet.api.estimator",
    "GDyNetModel": "gdynet.api.model",
    "load": "gdynet.api.model",
    "fit": "gdynet.runs.fit",
    "predict": "gdynet.runs.predict",
    "analyze": "gdynet.runs.analyze",
    "analyze_model": "gdynet.runs.model_run",
}

#: sub-packages reachable as attributes before they are imported (``gdynet.datasets.toy_li_fcc(...)``)
_SUBMODULES = ("api", "datasets", "plots")

__all__ = ["GdynetError", "Trajectory", "parse_time", "__version__", *_LAZY, *_SUBMODULES]


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        return getattr(_importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return _importlib.import_module(f"gdynet.{name}")
    raise AttributeError(f"module 'gdynet' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names (``__all__``) and the sub-packages already imported; no helpers of this module."""
    loaded = {name for name, value in globals().items() if type(value).__name__ == "module" and not name.startswith("_")}
    return sorted(set(__all__) | loaded)
