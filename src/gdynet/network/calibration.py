"""Crisp state memberships from a trained network's softmax output (a post-processing step).

The VAMP-2 score, and so the training loss, is unchanged when the features ``chi`` undergo an
invertible affine map: with softmax outputs a network can reach the optimal score with fuzzy
outputs, e.g. ``chi_0 = 0.94`` in one site type and ``0.97`` in the other, which is a perfect
two-state model but reads as "state 0 everywhere". The Koopman timescales are invariant too, but
populations and the argmax are not.

This module finds the linear map that sends the extreme points of the ``chi`` cloud to the vertices
of the probability simplex (the inner-simplex step of PCCA+, Deuflhard & Weber 2005)::

    chi' = chi A,   A = V^-1,   V[s] = chi at the vertex of state s      (rows of V sum to 1)

so ``chi'`` rows still sum to 1, ``K' = A^-1 K A`` has the same eigenvalues (same timescales), and
frames deep inside a state get membership ~1. Points slightly outside the simplex (noise beyond the
estimated vertex) are clipped to [0, 1] and renormalised.
"""
from __future__ import annotations

import numpy as np

from ..base.errors import GdynetError

#: vertices are the mean of this fraction of the most extreme points (robust to single outliers)
VERTEX_FRACTION = 0.002
#: a vertex matrix worse conditioned than this means the states are not separated: keep chi as is
MAX_CONDITION = 1e6


def simplex_vertices(chi: np.ndarray, fraction: float = VERTEX_FRACTION) -> np.ndarray:
    """Vertices ``V`` (S, S) of the ``chi`` cloud, one row per state, ordered to keep state labels.

    ``chi``: (T, S) samples (rows sum to 1). Vertices are found by farthest-point search in the
    (S-1)-dimensional affine hull: first the point farthest from the centroid, then repeatedly the
    point farthest from the affine span of the vertices so far; each vertex is the mean of the
    ``fraction`` most extreme points in that direction.
    """
    x = np.asarray(chi, dtype=np.float64)
    n_samples, n_states = x.shape
    k = max(1, int(round(fraction * n_samples)))
    y = x - x.mean(axis=0)
    chosen: list[np.ndarray] = []
    basis = np.zeros((0, n_states))
    for _ in range(n_states):
        origin = chosen[0] if chosen else np.zeros(n_states)
        residual = (y - origin) - ((y - origin) @ basis.T) @ basis
        dist = np.einsum("ij,ij->i", residual, residual)
        top = np.argpartition(dist, -k)[-k:]
        vertex = y[top].mean(axis=0)
        if chosen:
            direction = vertex - origin - ((vertex - origin) @ basis.T) @ basis
            norm = np.linalg.norm(direction)
            if norm > 0:
                basis = np.vstack([basis, direction / norm])
        chosen.append(vertex)
    vertices = np.stack(chosen) + x.mean(axis=0)
    # order vertices so that vertex s is the one where the network's own state s is largest
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(-vertices)
    order = np.empty(n_states, dtype=np.int64)
    order[cols] = rows
    return vertices[order]


def calibration_matrix(chi: np.ndarray, fraction: float = VERTEX_FRACTION) -> np.ndarray:
    """The (S, S) matrix ``A`` with ``chi' = chi A`` crisp (module docstring); identity if degenerate.

    ``chi``: (T, S) or (T, n, S) state probabilities (a sample of the training frames suffices).
    """
    x = np.asarray(chi, dtype=np.float64)
    x = x.reshape(-1, x.shape[-1])
    if x.shape[0] < x.shape[1] or not np.all(np.isfinite(x)):
        raise GdynetError(f"cannot calibrate states from chi of shape {np.shape(chi)}")
    vertices = simplex_vertices(x, fraction)
    if np.linalg.cond(vertices) > MAX_CONDITION:
        return np.eye(x.shape[1])
    return np.linalg.inv(vertices)


def apply_calibration(chi: np.ndarray, A: np.ndarray) -> np.ndarray:
    """``chi A`` clipped to [0, 1] and renormalised so every row sums to 1; same shape as ``chi``."""
    x = np.asarray(chi)
    out = np.clip(x.astype(np.float64, copy=False) @ A, 0.0, None)
    out /= out.sum(axis=-1, keepdims=True)
    return out.astype(x.dtype if x.dtype.kind == "f" else np.float64, copy=False)
