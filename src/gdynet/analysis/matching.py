"""Matching the states of two labellings (two fits, or a fit and a known answer): the confusion
matrix of their most likely states and the one-to-one matching that agrees most often (Hungarian
assignment), or the many-to-one map when there are more states than reference labels."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def confusion(states: np.ndarray, reference: np.ndarray, n_states: int, n_reference: int) -> np.ndarray:
    """``(n_states, n_reference)`` int64 counts of target-frames with state ``i`` in ``states`` and
    ``j`` in ``reference`` (integer labels of the same shape)."""
    pairs = np.asarray(states, dtype=np.int64).ravel() * n_reference + np.asarray(reference, dtype=np.int64).ravel()
    return np.bincount(pairs, minlength=n_states * n_reference).reshape(n_states, n_reference)


def best_match(joint: np.ndarray) -> tuple[np.ndarray, float]:
    """The one-to-one matching of the rows of ``joint`` (states) onto its columns (reference labels) that
    agrees most often: ``order`` with ``order[j]`` = the state matched to reference label ``j`` (-1 for a
    label no state matches), and the fraction of all counts on matched pairs."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(-joint)
    order = np.full(joint.shape[1], -1, dtype=np.int64)
    order[cols] = rows
    return order, float(joint[rows, cols].sum() / max(joint.sum(), 1))


def agreement_percent(chi: Sequence[np.ndarray], labels: Sequence[np.ndarray]) -> float:
    """Percentage of frames whose most probable state equals the label, under the best relabelling.

    ``chi``: per trajectory ``(F, 1, S)``; ``labels``: per trajectory ``(F,)`` ints in ``0..L-1``.
    States and labels are matched one to one (:func:`best_match`), or, for ``S > L``, each state onto
    the label it meets most often.
    """
    states = np.concatenate([np.asarray(c)[:, 0].argmax(axis=1) for c in chi])
    truth = np.concatenate([np.asarray(label) for label in labels]).astype(np.int64)
    n_states, n_labels = int(max(states.max() + 1, np.asarray(chi[0]).shape[2])), int(truth.max() + 1)
    joint = confusion(states, truth, n_states, n_labels)
    if n_states <= n_labels:
        order, _ = best_match(joint)
        matched = joint[order[order >= 0], np.flatnonzero(order >= 0)].sum()
    else:                                       # several states may map onto one label
        matched = joint.max(axis=1).sum()
    return 100.0 * matched / len(states)
