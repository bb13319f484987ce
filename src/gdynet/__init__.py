"""gdynet: Graph Dynamical Networks for atomic-scale dynamics in materials (Xie et al., 2019).

Pipeline, one sub-package per stage::

    trajectory/  Trajectory, read_trajectory, select_targets      (MD files -> one object)
    graphs/      neighbors, build_graphs, GraphStore               (periodic kNN graphs on disk)
    model/       GDyNet, GlobalVAMPNet                             (graph network -> chi)
    training/    vamp_score, Trainer                               (VAMP-2 training, checkpoints)
    koopman/     KoopmanEstimator, implied_timescales, ck_test     (K(tau), timescales, CK test)
    analysis/    state_rdf, transition_conduction, state_profile,  (structure and transport)
                 state_order_parameter, state_charge_integral
    report/      figures and the Markdown report
    datasets/    toy_li_fcc, reference_timescale                   (the paper's toy system)
    pipeline/    GDyNetEstimator, GDyNetModel, load; fit / predict / analyze / demo for the ``gdynet`` CLI

Names are imported lazily so ``import gdynet`` stays fast (torch loads only when needed).
"""
from __future__ import annotations

import importlib
import os
from typing import Any

# OpenMP threads (torch, numba) that wait for work by sleeping instead of spinning: on a CPU shared with
# other busy processes a training epoch took 5.3-6.5 s spinning and 2.4-2.5 s sleeping, and 1.8 vs 1.6 s
# alone (benchmarks/bench_shared_cpu.py). It acts only when set before torch is first imported; a value
# the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .errors import GdynetError
from .trajectory.core import Trajectory
from .units import parse_time

__version__ = "0.3.0"

_LAZY = {
    "read_trajectory": "gdynet.trajectory.readers",
    "select_targets": "gdynet.trajectory.targets",
    "neighbors": "gdynet.graphs.neighbors",
    "build_graphs": "gdynet.graphs.store",
    "GraphStore": "gdynet.graphs.store",
    "GDyNet": "gdynet.model.gdynet",
    "GlobalVAMPNet": "gdynet.model.vampnet",
    "vamp_score": "gdynet.training.vamp",
    "Trainer": "gdynet.training.trainer",
    "TrainConfig": "gdynet.training.trainer",
    "KoopmanEstimator": "gdynet.koopman.estimator",
    "KoopmanModel": "gdynet.koopman.estimator",
    "implied_timescales": "gdynet.koopman.validation",
    "ck_test": "gdynet.koopman.validation",
    "state_rdf": "gdynet.analysis.rdf",
    "transition_conduction": "gdynet.analysis.conduction",
    "state_profile": "gdynet.analysis.profile",
    "state_snapshot": "gdynet.analysis.profile",
    "state_order_parameter": "gdynet.analysis.order",
    "state_charge_integral": "gdynet.analysis.charge",
    "state_charges": "gdynet.analysis.charge",
    "toy_li_fcc": "gdynet.datasets.toy",
    "reference_timescale": "gdynet.datasets.toy",
    "StateProbabilities": "gdynet.states",
    "GDyNetEstimator": "gdynet.pipeline.estimator",
    "GDyNetModel": "gdynet.pipeline.trained_model",
    "load": "gdynet.pipeline.trained_model",
    "fit": "gdynet.pipeline.fit",
    "predict": "gdynet.pipeline.predict",
    "analyze": "gdynet.pipeline.analyze",
}

__all__ = ["GdynetError", "Trajectory", "parse_time", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gdynet' has no attribute {name!r}")
