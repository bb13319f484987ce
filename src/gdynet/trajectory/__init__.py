"""Trajectories in (and out): the :class:`Trajectory` object (positions Å, cells, periodicity, atomic
numbers, charges, frame spacing in ps, target sets), the file readers, the readers of MDAnalysis and
ASE objects, target selection and the file cache. May import: ``gdynet.base``, ``gdynet.files``.

Public names (imported lazily, so that a sub-module does not load the readers): :class:`Trajectory`
(:mod:`.core`), :func:`read_trajectory`, ``FORMATS`` (:mod:`.readers`), :func:`select_targets`
(:mod:`.targets`).
"""
from __future__ import annotations

from ..base.lazy import lazy_names

_LAZY = {"Trajectory": "gdynet.trajectory.core", "FORMATS": "gdynet.trajectory.readers",
         "read_trajectory": "gdynet.trajectory.readers", "select_targets": "gdynet.trajectory.targets"}

__all__ = ["FORMATS", "Trajectory", "read_trajectory", "select_targets"]

__getattr__, __dir__ = lazy_names(__name__, _LAZY)
