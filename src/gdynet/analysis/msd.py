"""Transition-resolved and collective mean-squared displacements of unwrapped target trajectories.

Eq. 13 of Xie et al. (2019): the expected squared displacement over a time ``t`` of a target set
that is in state ``i`` at ``t'`` and in state ``j`` at ``t' + t``::

    E[d^2(t) | i -> j] = sum_{t',l} d_l^2(t', t'+t) p_i(l,t') p_j(l,t'+t) / sum_{t',l} p_i(l,t') p_j(l,t'+t)

and, for the collective (Einstein) conductivity, the squared displacement of the summed charge
``M(t', t) = sum_l zbar_l dr_l(t', t+t')`` with ``zbar_l = (q_l(t') + q_l(t'+t)) / 2`` the charge of
set ``l`` averaged over the two ends (``q_l = sum_s p_s(l) z_s``), next to its self part
``sum_l zbar_l^2 |dr_l|^2`` (the ``l = l'`` terms only). Both are summed over all origins ``t'``;
:class:`MSDSums` keeps the raw sums so several trajectories can be pooled before dividing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..koopman.covariance import sum_outer

#: origins processed at a time (bounds the temporary arrays to about chunk * n * S floats)
_CHUNK = 2048


@dataclass
class MSDSums:
    """Raw sums over origins for a set of offsets; add several with ``+`` then call the properties.

    Attributes:
        offsets: ``(T,)`` time offsets in frames.
        numerator: ``(S, S, T)`` ``sum d^2 p_i p_j`` in Å^2.
        denominator: ``(S, S, T)`` ``sum p_i p_j``.
        collective: ``(T,)`` ``sum_{t'} |M|^2`` in e^2 Å^2.
        self_part: ``(T,)`` ``sum_{t'} sum_l zbar_l^2 |dr_l|^2`` in e^2 Å^2.
        origins: ``(T,)`` number of time origins ``t'`` summed.
        n_targets: number of target sets ``n``.
    """

    offsets: np.ndarray
    numerator: np.ndarray
    denominator: np.ndarray
    collective: np.ndarray
    self_part: np.ndarray
    origins: np.ndarray
    n_targets: int

    def __add__(self, other: "MSDSums") -> "MSDSums":
        return MSDSums(self.offsets, self.numerator + other.numerator, self.denominator + other.denominator,
                       self.collective + other.collective, self.self_part + other.self_part,
                       self.origins + other.origins, self.n_targets)

    @property
    def transition_msd(self) -> np.ndarray:
        """``(S, S, T)`` ``E[d^2(t) | i -> j]`` in Å^2 (Eq. 13); NaN where the transition never occurs."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.denominator > 0, self.numerator / self.denominator, np.nan)

    @property
    def joint_probability(self) -> np.ndarray:
        """``(S, S, T)`` mean of ``p_i(l,t') p_j(l,t'+t)`` over origins and sets (rows of ``i`` sum to pi_i)."""
        return self.denominator / (self.origins * self.n_targets)

    @property
    def collective_msd(self) -> np.ndarray:
        """``(T,)`` mean ``|sum_l zbar_l dr_l|^2`` over origins, in e^2 Å^2."""
        return self.collective / self.origins

    @property
    def self_msd(self) -> np.ndarray:
        """``(T,)`` mean ``sum_l zbar_l^2 |dr_l|^2`` over origins, in e^2 Å^2."""
        return self.self_part / self.origins


def msd_sums(positions: np.ndarray, chi: np.ndarray, offsets: np.ndarray, charges: np.ndarray,
             targets: Sequence[int] | None = None) -> MSDSums:
    """Accumulate the sums of Eq. 13 and of the collective charge displacement for one trajectory.

    Args:
        positions: ``(F, n, 3)`` unwrapped positions in Å.
        chi: ``(F, n, S)`` state probabilities (may be a memory map; read in chunks).
        offsets: ``(T,)`` positive offsets in frames, each ``< F``.
        charges: ``(S,)`` charge of each state in units of e.
        targets: column indices (target sets) to use, e.g. a random subset for confidence
            intervals; ``None``: all. Only these columns are copied, chunk by chunk.

    Returns:
        :class:`MSDSums` for this trajectory (its ``n_targets`` is the number of columns used).
    """
    def frames(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """Frames ``lo:hi`` of ``x``, only the chosen target columns (``np.take``: 4x faster than x[lo:hi, list])."""
        return x[lo:hi] if targets is None else np.take(x[lo:hi], targets, axis=1)

    n_frames = positions.shape[0]
    n_targets = positions.shape[1] if targets is None else len(targets)
    n_states = chi.shape[2]
    offsets = np.asarray(offsets, dtype=np.int64)
    num = np.zeros((len(offsets), n_states, n_states))
    den = np.zeros_like(num)
    coll = np.zeros(len(offsets))
    self_part = np.zeros(len(offsets))
    # origins outside, offsets inside: each origin chunk of chi and positions is read (and its charges
    # q_l(t') = sum_s p_s(l, t') z_s computed) once
    for a in range(0, n_frames - offsets.min(), _CHUNK):
        p0_chunk = np.asarray(frames(chi, a, a + _CHUNK), dtype=np.float64)  # (B, n, S)
        q0_chunk = p0_chunk @ charges                                        # (B, n)
        x0_chunk = frames(positions, a, a + _CHUNK)                          # (B, n, 3)
        for index, t in enumerate(offsets):
            b = min(a + _CHUNK, n_frames - t)
            if b <= a:
                continue
            dr = frames(positions, a + t, b + t) - x0_chunk[:b - a]  # (B, n, 3)
            d2 = dr[..., 0] ** 2 + dr[..., 1] ** 2 + dr[..., 2] ** 2
            p0, p1 = p0_chunk[:b - a], np.asarray(frames(chi, a + t, b + t), dtype=np.float64)
            num[index] += sum_outer(p0 * d2[:, :, None], p1)
            den[index] += sum_outer(p0, p1)
            zbar = 0.5 * (q0_chunk[:b - a] + p1 @ charges)   # (B, n)
            total = np.matmul(zbar[:, None, :], dr)[:, 0]    # (B, 3) = sum_l zbar_l dr_l
            coll[index] += np.sum(total * total)
            self_part[index] += np.sum(zbar * zbar * d2)
    origins = (n_frames - offsets).astype(np.float64)
    num, den = num.transpose(1, 2, 0), den.transpose(1, 2, 0)
    return MSDSums(offsets, num, den, coll, self_part, origins, n_targets)


def slope(times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Least-squares slope of ``values (..., T)`` against ``times (T,)`` (NaN rows stay NaN)."""
    t = times - times.mean()
    centred = values - values.mean(axis=-1, keepdims=True)
    return (centred @ t) / (t @ t)
