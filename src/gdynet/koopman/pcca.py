"""PCCA+: lumping the S states of a Koopman model into m metastable sets (``gdynet analyze --coarse m``).

PCCA+ (Deuflhard & Weber 2005; Röblitz & Weber 2013) writes the m memberships of every state as a
linear combination of the m slowest right eigenvectors of K,

    M = R A,   R = [r_0 = 1, r_1, …, r_{m-1}]  (S × m),   M ≥ 0,   M 1 = 1,

so that the sets inherit the slow processes. ``A`` starts from the inner simplex algorithm (the m
states spanning the largest simplex in eigenvector space become the vertices, ``A = R[vertices]⁻¹``)
and is then made feasible (M ≥ 0, rows summing to 1) and optimised for crispness

    f(A) = Σ_j Σ_i A_ij² / A_0j   (= Σ_j ⟨M_j, M_j⟩ / ⟨M_j, 1⟩ for eigenvectors orthonormal in ⟨·,·⟩_w)

with Nelder–Mead over the free (m−1) × (m−1) block. The eigenvectors come from the reversible
(detailed-balance) estimate K_rev = ((C00+Ctt)/2)⁻¹ (C0t+C0tᵀ)/2 of the same moments, whose spectrum
is real, and are normalised in the inner product of W = (C00+Ctt)/2 / n (= diag(π) for crisp χ).

The lumped model is estimated from the same data: χ' = χ M is again a membership (rows sum to 1),
and its moments are Mᵀ C M, so K' = (Mᵀ C00 M)⁻¹ Mᵀ C0t M without another pass over χ.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from ..files.writes import json_safe
from ..base.errors import GdynetError
from ..base.option_names import option
from .estimator import KoopmanModel, estimate_koopman_matrix, spectrum


def inner_simplex_vertices(R: np.ndarray) -> list[int]:
    """Rows of ``R`` (S, m) spanning the largest simplex: first the row of largest norm, then
    repeatedly the row farthest from the affine span of those chosen (Gram–Schmidt)."""
    first = int(np.argmax(np.linalg.norm(R, axis=1)))
    chosen, X = [first], R - R[first]
    for _ in range(1, R.shape[1]):
        dist = np.linalg.norm(X, axis=1)
        dist[chosen] = -1.0
        k = int(np.argmax(dist))
        if dist[k] <= 1e-12:
            raise GdynetError("PCCA+: the eigenvectors do not separate the states (degenerate spectrum)", "coarse")
        chosen.append(k)
        v = X[k] / dist[k]
        X = X - np.outer(X @ v, v)
    return chosen


def _feasible(inner: np.ndarray, R: np.ndarray) -> np.ndarray:
    """The m × m matrix A with block ``A[1:, 1:] ∝ inner`` that makes ``M = R A`` non-negative with
    rows summing to 1 (Röblitz & Weber 2013, Sec. 3.3): each eigenvector row of A sums to 0, and the
    first row is the smallest one keeping every membership ≥ 0, then A is scaled so Σ_j A_0j = 1."""
    block = np.column_stack([-inner.sum(axis=1), inner])          # (m-1, m), rows sum to 0
    first = (-(R[:, 1:] @ block)).max(axis=0)                     # (m,)
    return np.vstack([first, block]) / first.sum()


def pcca_memberships(R: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """PCCA+ memberships ``M`` (S, m) from the m dominant right eigenvectors ``R`` (S, m), ``R[:, 0]`` constant.

    ``weights`` (S,) or (S, S): the inner product ⟨f, g⟩ = fᵀ W g (W = diag(π) for a Markov chain;
    default uniform) in which the eigenvectors are normalised. Rows of ``M`` are ≥ 0 and sum to 1.
    """
    R = np.real(np.asarray(R, dtype=np.complex128)).copy()
    n_states, m = R.shape
    W = np.full(n_states, 1.0 / n_states) if weights is None else np.asarray(weights, dtype=np.float64)
    W = np.diag(W) if W.ndim == 1 else W
    R /= np.sqrt(np.einsum("si,st,ti->i", R, W, R))
    R[:, 0] = np.abs(R[:, 0])
    if m == 1:
        return np.ones((n_states, 1))
    A0 = np.linalg.inv(R[inner_simplex_vertices(R)])
    x, shape = A0[1:, 1:].ravel(), (m - 1, m - 1)

    def crispness(vector: np.ndarray) -> float:
        A = _feasible(vector.reshape(shape), R)
        return -float(np.sum(A ** 2 / A[0]))

    best = minimize(crispness, x, method="Nelder-Mead",
                    options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000 * m * m}).x
    M = np.clip(R @ _feasible(best.reshape(shape), R), 0.0, 1.0)
    return M / M.sum(axis=1, keepdims=True)


@dataclass(frozen=True, eq=False)
class CoarseModel:
    """The lumped Koopman model of ``gdynet analyze --coarse m``.

    Attributes:
        memberships: ``(S, m)`` PCCA+ membership of every state in every set (rows sum to 1).
        assignment: ``(S,)`` the set holding most of each state.
        model: the :class:`KoopmanModel` of χ' = χ M (lumped K, timescales, populations).
    """

    memberships: np.ndarray
    assignment: np.ndarray
    model: KoopmanModel

    @property
    def sets(self) -> list[list[int]]:
        """The states assigned to each set."""
        return [[int(s) for s in np.flatnonzero(self.assignment == j)] for j in range(self.memberships.shape[1])]

    def __repr__(self) -> str:
        return f"CoarseModel({self.memberships.shape[0]} states -> {self.memberships.shape[1]} sets: {self.describe()})"

    def describe(self) -> str:
        """One line: which states went where, with the lumped populations and timescales."""
        parts = [f"set {j} = state{'s' if len(states) != 1 else ''} {', '.join(map(str, states)) or '–'} "
                 f"({100 * p:.1f} %)" for j, (states, p) in enumerate(zip(self.sets, self.model.stationary))]
        ts = ", ".join("∞" if not np.isfinite(t) else f"{t:.3g}" for t in self.model.timescales_ps)
        return "; ".join(parts) + f"; lumped timescales {ts} ps"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``n_sets``, ``memberships``, ``assignment``, ``sets``, and the lumped model's
        ``K``, ``timescales_ps``, ``populations``, ``lag_ps``."""
        k = self.model.to_dict()
        return {"n_sets": int(self.memberships.shape[1]), "memberships": json_safe(self.memberships),
                "assignment": [int(a) for a in self.assignment], "sets": self.sets,
                **{key: k[key] for key in ("lag_ps", "K", "timescales_ps", "populations", "eigenvalues")},
                "description": self.describe()}


def coarse_grain(model: KoopmanModel, n_sets: int) -> CoarseModel:
    """Lump the states of ``model`` into ``n_sets`` metastable sets by PCCA+ (module docstring).

    ``model`` carries its moments, lag and frame spacing, so nothing else is needed.
    Sets are numbered by their lowest state, so set 0 holds state 0.
    """
    n_states = model.n_states
    if n_states < 3:
        raise GdynetError(f"{option('n_sets')} must be at least 2 and fewer than the states, and this model has "
                          f"{n_states}: lumping needs a model of at least 3 states (got {n_sets!r})")
    if isinstance(n_sets, bool) or not isinstance(n_sets, (int, np.integer)) or not 2 <= n_sets < n_states:
        raise GdynetError(f"{option('n_sets')} must be an integer from 2 to {n_states - 1} (fewer than the "
                          f"{n_states} states), got {n_sets!r}")
    K_rev, _ = estimate_koopman_matrix(model.C00, model.C0t, model.Ctt, reversible=True, epsilon=model.epsilon)
    _, _, right = spectrum(K_rev)
    weights = (model.C00 + model.Ctt) / 2 / model.n_pairs
    M = pcca_memberships(right[:, :n_sets], weights)
    first = [int(np.flatnonzero(M.argmax(axis=1) == j).min(initial=n_states)) for j in range(n_sets)]
    M = M[:, np.argsort(first, kind="stable")]
    lumped = KoopmanModel.from_moments(M.T @ model.C00 @ M, M.T @ model.C0t @ M, M.T @ model.Ctt @ M,
                                       model.n_pairs, model.lag, model.dt_ps, reversible=model.reversible,
                                       epsilon=model.epsilon, duration_ps=model.duration_ps)
    return CoarseModel(memberships=M, assignment=M.argmax(axis=1), model=lumped)
