"""Neighbour shells: the smooth M-th-shell rule that makes graphs symmetric, and where M cuts a shell.

The model uses the M nearest neighbours of each atom (``--neighbors``), but in a perfect or frozen
crystal the M-th and (M+1)-th neighbours are often exactly tied (a Li on an octahedral site of FCC has
6 neighbours, then 8 at one distance). Keeping exactly M would cut such a shell in an order that
depends on where the crystal sits in the box, so symmetry-equivalent sites would get different
graphs. Instead every graph stores :func:`graph_width` ``= M + EXTRA_NEIGHBORS`` neighbours and the
model weighs them by distance only (:func:`gdynet.network.shell.shell_weights`): for the sorted
distances ``d_1 <= ... <= d_W`` of one atom,

    m     = (d_M + d_{M+1}) / 2,   r_in = m - delta,   r_out = min(m + delta, d_W)
    w_j   = 1 for d_j <= r_in,  0 for d_j >= r_out,  else (1 + cos(pi (d_j - r_in) / (r_out - r_in))) / 2

with ``delta = SHELL_SMOOTHING_A``. Weights depend only on distances, and every neighbour closer than
``d_W`` is stored, so the weighted graph is the same for every placement and labelling of the atoms;
with a gap ``d_{M+1} - d_M > 2 delta`` it is exactly the M-nearest graph; a tied shell at the M-th
place is taken half (or not at all when it runs past ``d_W``), the same for all its members.

This module also measures how often M cuts an exactly tied shell in the data
(:func:`tied_shell_fraction`) and which values of M would close a shell (:func:`shell_closings`).
"""
from __future__ import annotations

import numpy as np

#: neighbours stored per atom beyond the M the model uses (room for the smooth M-th-shell weight)
EXTRA_NEIGHBORS = 2
#: half-width ``delta`` in Å of the window in which the M-th shell is switched on smoothly: an eighth of
#: the Gaussian spacing (0.2 Å, Eq. 7), small enough that thermal data keep their M-nearest graphs
#: almost everywhere (measured: benchmarks/RESULTS.md), large enough that rounding of positions
#: (1e-6 Å) moves a weight by less than 1e-4
SHELL_SMOOTHING_A = 0.025
#: the M-th and (M+1)-th distances of an atom count as an exact tie within this many Å
TIE_TOLERANCE_A = 1e-3
#: share of atoms with a tied M-th shell above which ``gdynet fit`` warns
TIED_WARN = 0.05


def graph_width(neighbors: int) -> int:
    """Neighbours stored per atom for a model that uses ``neighbors`` (M): ``M + EXTRA_NEIGHBORS``."""
    return int(neighbors) + EXTRA_NEIGHBORS


def tied_fraction(distances: np.ndarray, neighbors: int) -> float:
    """Share of rows of ``distances (..., W)`` (sorted, Å) whose M-th and (M+1)-th entries agree
    within ``TIE_TOLERANCE_A``; ``W > M`` is required."""
    d = np.asarray(distances)
    gap = d[..., neighbors].astype(np.float64) - d[..., neighbors - 1]
    return float(np.mean(gap <= TIE_TOLERANCE_A))


def shell_closings(distances: np.ndarray, neighbors: int) -> tuple[int | None, int | None]:
    """The nearest values of M below and above ``neighbors`` at which no row of ``distances (..., K)``
    (sorted, Å) has a tied M-th shell (:func:`tied_fraction` 0); ``None`` where there is none below
    ``K``."""
    closed = [k for k in range(1, np.shape(distances)[-1]) if tied_fraction(distances, k) == 0.0]
    below = [k for k in closed if k < neighbors]
    above = [k for k in closed if k > neighbors]
    return (below[-1] if below else None), (above[0] if above else None)
