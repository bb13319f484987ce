"""Stage 1: trajectories in. The :class:`Trajectory` object, file readers and target selection."""
from .core import Trajectory

__all__ = ["Trajectory"]
