"""``gdynet fit --seeds N``: how far N trained initialisations agree (summary.json ``seeds``).

Each seed's network labels every frame; its calibrated states are matched to the best seed's by the
permutation that maximises agreement, and the entry reports its validation VAMP-2, its Koopman
timescales and populations (in the best seed's state order), and ``match``: the fraction of all
target-frames whose most probable state equals the best seed's after that permutation (1 = the same
states everywhere). Everything streams through memory maps, one trajectory at a time.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..atomic import json_safe
from .chi import CHUNK_FRAMES, calibration_sample, predict_raw, remove, write_calibrated


def confusion(chi: Sequence[np.ndarray], reference: Sequence[np.ndarray]) -> np.ndarray:
    """(S, S) counts of target-frames with argmax state i in ``chi`` and j in ``reference``."""
    n_states = chi[0].shape[-1]
    joint = np.zeros((n_states, n_states), dtype=np.int64)
    for a, b in zip(chi, reference):
        for start in range(0, a.shape[0], CHUNK_FRAMES):
            i = np.asarray(a[start:start + CHUNK_FRAMES]).argmax(-1).ravel()
            j = np.asarray(b[start:start + CHUNK_FRAMES]).argmax(-1).ravel()
            joint += np.bincount(i * n_states + j, minlength=n_states ** 2).reshape(n_states, n_states)
    return joint


def best_permutation(joint: np.ndarray) -> tuple[np.ndarray, float]:
    """``order`` with ``order[j]`` = the state matched to reference state j, and the matched fraction."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(-joint)
    order = np.empty(len(cols), dtype=np.int64)
    order[cols] = rows
    return order, float(joint[rows, cols].sum() / max(joint.sum(), 1))


def seed_entry(seed: int, validation: float, chi: Sequence[np.ndarray], reference: Sequence[np.ndarray],
               lag: int, dt_ps: float) -> dict[str, Any]:
    """One summary.json ``seeds`` entry for the calibrated ``chi`` of a seed (states in reference order)."""
    from ..koopman.estimator import KoopmanEstimator

    order, match = best_permutation(confusion(chi, reference))
    koopman = KoopmanEstimator(lag, dt_ps).fit(list(chi)).fetch_model()
    return json_safe({"seed": int(seed), "vamp2_validation": validation, "timescales_ps": koopman.timescales_ps,
                      "populations": np.asarray(koopman.stationary)[order], "match": match})


def seed_entries(trained: Sequence[tuple[int, Any, float]], best: int, sources: Sequence[Any],
                 best_chi: Sequence[np.ndarray], scratch: Path, n_states: int, lag: int, dt_ps: float,
                 device: str) -> list[dict[str, Any]]:
    """Entries for every ``(seed, model, validation VAMP-2)`` in ``trained``; ``best`` indexes the kept one,
    whose calibrated chi (``best_chi``, one array per trajectory) is the reference."""
    from ..model.calibration import calibration_matrix

    entries = []
    for k, (seed, model, validation) in enumerate(trained):
        if k == best:
            entries.append(seed_entry(seed, validation, best_chi, best_chi, lag, dt_ps))
            continue
        raw_paths = [scratch / f".seed_{seed}_raw_{i:03d}.{os.getpid()}.npy" for i in range(len(sources))]
        paths = [scratch / f".seed_{seed}_{i:03d}.{os.getpid()}.npy" for i in range(len(sources))]
        raws = [predict_raw(model, s, n_states, p, device) for s, p in zip(sources, raw_paths)]
        A = calibration_matrix(calibration_sample(raws))
        chi = [np.load(write_calibrated(r, A, p), mmap_mode="r") for r, p in zip(raws, paths)]
        del raws
        entries.append(seed_entry(seed, validation, chi, best_chi, lag, dt_ps))
        del chi
        for path in (*raw_paths, *paths):
            remove(path)
    return entries
