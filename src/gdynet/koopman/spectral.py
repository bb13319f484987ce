"""The spectral core of a Koopman model: K(τ) from the moments, its eigen-decomposition and the
relaxation timescales of its eigenvalues (Eq. 2, Eq. 11), shared by the estimator and the validation
(implied timescales, CK test, populations) without either importing the other.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg

from ..files.writes import json_safe
from ..base.errors import GdynetError

#: default relative cut-off: eigenvalues of C00 below EPSILON · max eigenvalue are dropped (pseudo-inverse)
EPSILON = 1e-10
#: eigenvalues whose imaginary parts are all below this are returned as real numbers
_IMAG_TOL = 1e-10
#: |λ| this close to 1 counts as 1 (infinite timescale); round-off of an exact 1 is ~1e-15
_UNIT_TOL = 1e-12


def koopman_matrix(C00: np.ndarray, C0t: np.ndarray, epsilon: float = EPSILON) -> tuple[np.ndarray, int]:
    """``K = C00⁺ C0t`` with the pseudo-inverse of the symmetric ``C00`` by eigen-truncation.

    Eigenvalues of ``C00`` at or below ``epsilon · max eigenvalue`` (and their eigenvectors) are left
    out, so a state that never occurs (a zero row/column of ``C00``) gives a zero row of ``K``.
    Returns ``(K (S, S), rank)`` where ``rank`` is the number of eigenvalues kept.
    """
    s, v = np.linalg.eigh(C00)
    keep = s > epsilon * max(s.max(), 0.0)
    if not keep.any():
        raise GdynetError("the instantaneous moment matrix C00 is zero", "koopman")
    inverse = (v[:, keep] / s[keep]) @ v[:, keep].T
    return inverse @ C0t, int(keep.sum())


def estimate_koopman_matrix(C00: np.ndarray, C0t: np.ndarray, Ctt: np.ndarray, *, reversible: bool = False,
                            epsilon: float = EPSILON) -> tuple[np.ndarray, int]:
    """``K = C00⁺ C0t``, or with ``reversible`` ``K = ((C00 + Ctt)/2)⁺ (C0t + C0tᵀ)/2``; returns ``(K, rank)``."""
    if reversible:
        return koopman_matrix((C00 + Ctt) / 2, (C0t + C0t.T) / 2, epsilon)
    return koopman_matrix(C00, C0t, epsilon)


def spectrum(K: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigen-decomposition of ``K``: ``(eigenvalues (S,), left (S, S), right (S, S))``.

    Order: the eigenvalue closest to 1 (the stationary process) first, the others by |λ| descending.
    ``left[i] @ K = λ_i left[i]`` (rows), ``K @ right[:, i] = λ_i right[:, i]`` (columns),
    ``left[i] @ right[:, i] = 1``; ``left[0]`` is scaled to sum to 1, so for a row-stochastic ``K``
    it is the stationary distribution and ``right[:, 0]`` is the vector of ones. Arrays are real when
    all imaginary parts are below 1e-10, else complex.
    """
    w, right = scipy.linalg.eig(K)
    first = int(np.argmin(np.abs(w - 1.0)))
    rest = [i for i in np.argsort(-np.abs(w), kind="stable") if i != first]
    order = [first, *rest]
    w, right = w[order], right[:, order]
    try:  # K = R Λ R⁻¹, so the rows of R⁻¹ are the left eigenvectors (also for degenerate λ)
        left = np.linalg.inv(right)
    except np.linalg.LinAlgError:  # defective K (measure zero for estimated matrices)
        left = np.linalg.pinv(right)
    scale = left[0].sum()
    if abs(scale) > 0:
        left[0] /= scale
        right[:, 0] *= scale
    if np.all(np.abs(w.imag) <= _IMAG_TOL):
        w, left, right = w.real, left.real, right.real
    return w, left, right


def timescales_from_eigenvalues(eigenvalues: np.ndarray, lag_ps: float) -> np.ndarray:
    """Eq. 11, ``t_i = −τ / ln|λ_i|`` in ps for every eigenvalue given (same shape).

    Rules: |λ| ≥ 1 − 1e-12 (a process that does not decay, up to round-off) → ``inf``; λ = 0 → 0;
    negative or complex λ use |λ| as in the paper; NaN stays NaN.
    """
    mod = np.abs(np.asarray(eigenvalues))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -lag_ps / np.log(mod)
    return np.where(mod >= 1.0 - _UNIT_TOL, np.inf, t)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.setflags(write=False)
    return a


def _json_list(a: np.ndarray) -> Any:
    """Nested lists of floats with non-finite values as ``None`` (JSON has no inf/NaN)."""
    return json_safe(np.asarray(a, dtype=np.float64))
