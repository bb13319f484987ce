"""Stage 1: trajectories in. The :class:`Trajectory` object, file readers and target selection."""
from .core import Trajectory
from .readers import FORMATS, read_trajectory
from .targets import select_targets

__all__ = ["FORMATS", "Trajectory", "read_trajectory", "select_targets"]
