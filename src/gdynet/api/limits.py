"""Bounds on the number of states S: what the data can support, and what the report draws.

VAMP training estimates S x S covariances from the time-lagged pairs of the training block (one
sample per target set and pair); with fewer than ``MIN_SAMPLES_PER_STATE`` samples per state they
are noise, and the network learns nonsense scores (the paper fits 2 to 4 states). More than
``MAX_STATES`` states needs ``--force``. Whatever S, ``gdynet analyze`` draws the figures that grow
with S (CK grid, eigenvectors, per-state curves) only up to ``FIGURE_STATES`` states, so its time
and memory stay bounded; their numbers are in summary.json either way.
"""
from __future__ import annotations

from typing import Sequence

from ..base.errors import GdynetError
from ..base.option_names import option
from ..trajectory.core import Trajectory

#: more states than this needs --force
MAX_STATES = 20
#: training samples (target sets x time-lagged pairs of the training block) needed per state
MIN_SAMPLES_PER_STATE = 50
#: figures whose size grows with S are drawn only up to this many states
FIGURE_STATES = 10


def training_samples(trajs: Sequence[Trajectory], lag: int, train_fraction: float) -> int:
    """Target sets x time-lagged frame pairs (``lag`` frames) in the training blocks of ``trajs``."""
    return sum(t.n_targets * max(0, int(t.n_frames * train_fraction) - lag) for t in trajs)


def check_states(n_states: int, trajs: Sequence[Trajectory], lag: int, train_fraction: float, *,
                 force: bool = False) -> None:
    """Refuse, before training, ``--states`` the data cannot support (always) or above ``MAX_STATES``
    (unless ``force``), with one line saying what to change."""
    samples = training_samples(trajs, lag, train_fraction)
    supported = samples // MIN_SAMPLES_PER_STATE
    if n_states > supported:
        raise GdynetError(f"{option('n_states')} {n_states} is more than these data can support: {samples} "
                          f"training samples (target sets x frame pairs) allow at most {supported} states "
                          f"({MIN_SAMPLES_PER_STATE} samples per state); use fewer states or more frames or targets")
    if n_states > MAX_STATES and not force:
        raise GdynetError(f"{option('n_states')} {n_states} is more than {MAX_STATES}; metastable states are "
                          f"usually few (try `gdynet scan`); pass {option('force')} if you mean it")


def figure_note(n_states: int) -> str | None:
    """The report's note when figures that grow with S were left out (None when all are drawn)."""
    if n_states <= FIGURE_STATES:
        return None
    return (f"{n_states} states: the CK test, eigenvector and per-state figures are drawn only up to "
            f"{FIGURE_STATES} states; their numbers are in summary.json")
