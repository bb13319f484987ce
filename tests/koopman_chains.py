"""Test data for the Koopman tests: discrete Markov chains with known transition matrices."""
from __future__ import annotations

import numpy as np

#: 2 states, eigenvalues 1 and 0.85
P2 = np.array([[0.90, 0.10],
               [0.05, 0.95]])
#: 3 states, reversible (birth-death chain), eigenvalues 1, 0.95, 0.8 (distinct, real)
P3 = np.array([[0.90, 0.10, 0.00],
               [0.05, 0.90, 0.05],
               [0.00, 0.10, 0.90]])


def stationary(P: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eig(P.T)
    pi = np.real(v[:, np.argmin(np.abs(w - 1))])
    return pi / pi.sum()


def true_timescales(P: np.ndarray, dt_ps: float) -> np.ndarray:
    """Eq. 11 for the exact transition matrix P of one frame (the same for every lag), slowest first."""
    w = np.sort(np.abs(np.linalg.eigvals(P)))[::-1][1:]
    return -dt_ps / np.log(w)


def simulate(P: np.ndarray, n_frames: int, n_chains: int, seed: int) -> np.ndarray:
    """``(n_frames, n_chains)`` int states of independent chains started from the stationary law.

    Vectorised over chains; one numpy step per frame (inverse-CDF sampling).
    """
    rng = np.random.default_rng(seed)
    cum = np.cumsum(P, axis=1)
    cum[:, -1] = 1.0
    states = np.empty((n_frames, n_chains), dtype=np.int64)
    states[0] = rng.choice(len(P), size=n_chains, p=stationary(P))
    u = rng.random((n_frames, n_chains))
    for t in range(1, n_frames):
        states[t] = (u[t, :, None] > cum[states[t - 1]]).sum(axis=1)
    return states


def one_hot(states: np.ndarray, n_states: int) -> np.ndarray:
    """``(F, n)`` states -> ``(F, n, S)`` one-hot χ."""
    return np.eye(n_states)[states]


def smeared(states: np.ndarray, emission: np.ndarray) -> np.ndarray:
    """Fuzzy χ: row ``emission[s]`` for state s (rows of ``emission`` sum to 1, invertible)."""
    return emission[states]
