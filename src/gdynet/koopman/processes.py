"""What each relaxation process does: the sign pattern of its Koopman eigenvectors (paper Fig. 3e).

Process i (i = 1 … S−1, timescale t_i = −τ/ln|λ_i|, Eq. 11) has a left eigenvector l_i (l_i K = λ_i l_i)
and a right eigenvector r_i (K r_i = λ_i r_i), normalised so that l_i · r_i = 1. A distribution
p0 = π + c l_i relaxes as p(nτ) = π + c λ_iⁿ l_i: probability flows between the states where l_i is
positive and those where it is negative, at rate 1/t_i. Since π · r_i = 0 (and Σ_s l_is = 0), both
signs occur. The right eigenvector, r_is ≈ l_is / π_s, measures how strongly state s takes part
independently of its population, so the states a process *exchanges* are read from r_i: those with
r_is ≥ :data:`INVOLVED` · max_s r_is against those with r_is ≤ :data:`INVOLVED` · min_s r_is (each side
measured against its own extreme, since a populous state moves much probability with a small r_is).

Signs are arbitrary; here both vectors are flipped together (keeping l_i · r_i = 1) so that the
largest |r_is| is positive. Complex pairs (non-reversible K) are reported by their real parts.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..base.wording import state_list

#: a state takes part in a process when |r_is| is at least this fraction of max_s |r_is|
INVOLVED = 0.25


def oriented_eigenvectors(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Real ``(S-1, S)`` left and right eigenvectors of processes 1 … S−1, one row each, signs fixed.

    ``left`` (S, S) has the left eigenvectors as rows, ``right`` (S, S) the right ones as columns,
    both in :func:`gdynet.koopman.estimator.spectrum` order (stationary first).
    """
    lvec = np.real(np.asarray(left))[1:]
    rvec = np.real(np.asarray(right)).T[1:]
    sign = np.sign(rvec[np.arange(len(rvec)), np.argmax(np.abs(rvec), axis=1)])
    sign[sign == 0] = 1.0
    return lvec * sign[:, None], rvec * sign[:, None]


def exchanged_states(right: np.ndarray, threshold: float = INVOLVED) -> tuple[list[int], list[int]]:
    """States on the positive and on the negative side of one right eigenvector ``(S,)``."""
    r = np.asarray(right, dtype=np.float64)
    if not np.all(np.isfinite(r)):
        return [], []
    return ([int(s) for s in np.flatnonzero((r > 0) & (r >= threshold * r.max()))],
            [int(s) for s in np.flatnonzero((r < 0) & (r <= threshold * r.min()))])


def describe_process(index: int, timescale_ps: float, right: np.ndarray, resolved: bool = True,
                     lower_bound: bool = False) -> str:
    """One sentence, e.g. ``"process 1 (t = 30.1 ps) exchanges state 0 with states 1 and 2"``; a
    timescale the data do not pin down is marked "(timescale not resolved)" or "(timescale: a lower bound)"."""
    t = "∞" if not np.isfinite(timescale_ps) else f"{timescale_ps:.3g}"
    plus, minus = sorted(exchanged_states(right), key=lambda side: min(side, default=len(right)))
    what = (f"exchanges {state_list(plus)} with {state_list(minus)}" if plus and minus else
            f"involves {state_list(plus + minus)}" if plus or minus else "has no clear state pattern")
    mark = "" if resolved else " (timescale: a lower bound)" if lower_bound else " (timescale not resolved)"
    return f"process {index} (t = {t} ps) {what}{mark}"


def eigenvector_summary(model: Any) -> dict[str, Any]:
    """``koopman.eigenvectors`` of summary.json: per process 1 … S−1 its left and right eigenvector,
    the states on each side, and whether its eigenvalue is complex (real parts given then)."""
    from ..files.writes import json_safe

    lvec, rvec = oriented_eigenvectors(model.left_eigenvectors, model.right_eigenvectors)
    sides = [exchanged_states(r) for r in rvec]
    return {"left": json_safe(lvec), "right": json_safe(rvec),
            "positive_states": [p for p, _ in sides], "negative_states": [m for _, m in sides],
            "complex": [bool(abs(np.imag(w)) > 0) for w in np.asarray(model.eigenvalues)[1:]],
            "normalisation": "left[i] · right[i] = 1; rows are processes 1 … S-1 (slowest first); "
                             "sign: largest |right| entry positive"}
