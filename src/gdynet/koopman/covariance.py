"""Streaming second moments of state probabilities χ for the Koopman estimate (Eq. 2).

For every trajectory of state probabilities ``chi`` with shape ``(F, n, S)`` (F frames, n target
sets, S states; rows sum to 1) and a lag τ in frames, the un-normalised moments are

    C00 = Σ_t Σ_l χ_l(t)ᵀ χ_l(t),  C0t = Σ_t Σ_l χ_l(t)ᵀ χ_l(t+τ),  Ctt = Σ_t Σ_l χ_l(t+τ)ᵀ χ_l(t+τ)

with t = 0 … F-τ-1 and l = 0 … n-1 (every target set is one more sample of the same dynamics, as in
the paper's VAMP loss, Eq. 5). Pairs never cross trajectories. ``n_pairs`` counts the (t, l) pairs.

The arrays may be memory maps far larger than RAM: frames are read in chunks and each chunk is
reduced with batched BLAS products (:func:`sum_outer`); there is no Python loop over frames. Each
chunk is checked (finite, non-negative, rows summing to 1) on the way, so bad input costs no extra
pass.

Data blocks (for confidence intervals) partition the *start* frames t of all pairs: a pair belongs to
the block holding its start frame, so the moments of the blocks add up exactly to those of all data.
Blocks may instead partition the target sets l (random subsets, :func:`confidence_blocks`); they
then add up exactly too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..base.errors import GdynetError
from ..base.states import CHUNK_VALUES, check_rows
from ..base.option_names import option

#: rows per group in :func:`sum_outer`
GROUP_ROWS = 1024
def as_trajectories(chi: object, source: str = "chi") -> list[np.ndarray]:
    """Check the shapes of ``chi`` and return it as a list of ``(F, n, S)`` arrays (not copied).

    ``chi`` is one array ``(F, n, S)`` or a sequence of them (one per trajectory, F may differ; n and
    S must agree). Torch tensors are moved to the CPU. The values are checked later, while streaming.
    """
    items = list(chi) if isinstance(chi, (list, tuple)) else [chi]
    if not items:
        raise GdynetError("no trajectories given (empty list)", source)
    trajs = []
    for i, item in enumerate(items):
        name = source if len(items) == 1 else f"{source}[{i}]"
        if hasattr(item, "detach"):  # torch tensor, possibly on a GPU
            item = item.detach().cpu().numpy()
        arr = item if isinstance(item, np.ndarray) else np.asarray(item)
        if arr.dtype.kind not in "fiu":
            raise GdynetError(f"state probabilities must be real numbers, got dtype {arr.dtype}", name)
        if arr.ndim != 3:
            raise GdynetError(
                f"state probabilities must have shape (frames, targets, states), got shape {arr.shape}"
                " (for one target set use chi[:, None, :])", name)
        if arr.shape[0] < 1 or arr.shape[1] < 1:
            raise GdynetError(f"state probabilities are empty (shape {arr.shape})", name)
        if arr.shape[2] < 2:
            raise GdynetError(f"need at least 2 states, got {arr.shape[2]}", name)
        if trajs and arr.shape[1:] != trajs[0].shape[1:]:
            raise GdynetError(
                f"shape {arr.shape} does not match the first trajectory's (targets, states) = "
                f"{trajs[0].shape[1:]}", name)
        trajs.append(arr)
    return trajs


#: where confidence intervals come from (see :func:`confidence_blocks`)
CI_SOURCES = ("auto", "trajectories", "targets", "blocks")
#: blocks (time blocks or target subsets) when they are not given
DEFAULT_BLOCKS = 5
#: ``ci_from="auto"`` uses target subsets only when each of the 5 holds at least this many target sets
MIN_TARGETS_PER_SUBSET = 4


@dataclass(frozen=True)
class Segment:
    """Start frames ``start … stop-1`` of trajectory ``traj`` (one piece of a data block), for the
    target sets ``targets`` (column indices of χ; ``None``: all of them)."""

    traj: int
    start: int
    stop: int
    targets: tuple[int, ...] | None = None


def split_blocks(lengths: Sequence[int], n_blocks: int | None) -> list[list[Segment]]:
    """Partition the start frames of all trajectories into independent blocks.

    Rule: if ``n_blocks`` equals the number of trajectories, each trajectory is one block. Otherwise
    the trajectories are laid end to end and cut into ``n_blocks`` contiguous pieces with equal numbers
    of frames (a piece that spans a trajectory boundary holds two segments; pairs still never cross
    trajectories). ``n_blocks=None``: one block per trajectory when there are at least 4 trajectories,
    else 5 time blocks.
    """
    n_traj = len(lengths)
    if n_blocks is None:
        n_blocks = n_traj if n_traj >= 4 else 5
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, (int, np.integer)) or n_blocks < 2:
        raise GdynetError(f"n_blocks must be an integer of at least 2, got {n_blocks!r}", "confidence intervals")
    if n_blocks == n_traj:
        return [[Segment(k, 0, int(f))] for k, f in enumerate(lengths)]
    total = int(sum(lengths))
    if n_blocks > total:
        raise GdynetError(f"n_blocks={n_blocks} is more than the {total} frames of data", "confidence intervals")
    edges = np.linspace(0, total, n_blocks + 1).round().astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    blocks = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        segments = []
        for k in range(n_traj):
            a, b = max(lo, offsets[k]), min(hi, offsets[k + 1])
            if b > a:
                segments.append(Segment(k, int(a - offsets[k]), int(b - offsets[k])))
        blocks.append(segments)
    return blocks


def target_subsets(n_targets: int, n_subsets: int, seed: int = 0) -> list[tuple[int, ...]]:
    """``n_subsets`` random disjoint subsets of the target sets ``0 … n_targets-1`` (sizes differ by ≤ 1).

    The paper's error bars for one trajectory with many targets (the Si atoms of an interface) come
    from "five randomly selected sets" of them; the subsets are fixed by ``seed``.
    """
    if n_targets < n_subsets:
        raise GdynetError(f"{n_subsets} random subsets of the target sets need at least {n_subsets} of "
                          f"them, there are {n_targets}; use ci_from='trajectories' or 'blocks' (--ci-from)",
                          "confidence intervals")
    order = np.random.default_rng(seed).permutation(n_targets)
    return [tuple(sorted(int(i) for i in part)) for part in np.array_split(order, n_subsets)]


def confidence_blocks(lengths: Sequence[int], n_targets: int, ci_from: str = "auto",
                      n_blocks: int | None = None, seed: int = 0) -> tuple[str, list[list[Segment]]]:
    """Independent pieces of the data for confidence intervals; returns ``(source used, blocks)``.

    ``ci_from``:

    * ``"trajectories"``: one block per trajectory (needs at least 2);
    * ``"targets"``: ``n_blocks`` (default 5) random disjoint subsets of the target sets, each over
      all frames of all trajectories (:func:`target_subsets`; the paper's interface error bars);
    * ``"blocks"``: ``n_blocks`` (default 5) contiguous time blocks (:func:`split_blocks`);
    * ``"auto"``: with ``n_blocks`` given, :func:`split_blocks`'s rule; else trajectories when there
      are at least 4, target subsets when there are at least 5 × :data:`MIN_TARGETS_PER_SUBSET`
      target sets, otherwise time blocks.
    """
    if ci_from not in CI_SOURCES:
        raise GdynetError(f"{option('ci_from')} must be one of {', '.join(CI_SOURCES)}, got {ci_from!r}")
    n_traj = len(lengths)
    if ci_from == "auto":
        if n_blocks is not None:
            return ("trajectories" if n_blocks == n_traj else "blocks"), split_blocks(lengths, n_blocks)
        ci_from = ("trajectories" if n_traj >= 4 else
                   "targets" if n_targets >= DEFAULT_BLOCKS * MIN_TARGETS_PER_SUBSET else "blocks")
    if ci_from == "trajectories":
        if n_traj < 2:
            raise GdynetError("confidence intervals over trajectories need at least 2 trajectories, got 1; "
                              f"use {option('ci_from')} targets or blocks", f"{option('ci_from')} trajectories")
        return ci_from, split_blocks(lengths, n_traj)
    if ci_from == "targets":
        subsets = target_subsets(n_targets, n_blocks or DEFAULT_BLOCKS, seed)
        return ci_from, [[Segment(k, 0, int(f), part) for k, f in enumerate(lengths)] for part in subsets]
    return ci_from, split_blocks(lengths, n_blocks or DEFAULT_BLOCKS)


@dataclass(frozen=True, eq=False)
class Moments:
    """Un-normalised moments for L lags and B blocks (sum over ``axis=0`` for all data).

    Attributes:
        lags: ``(L,)`` lags in frames.
        C00, C0t, Ctt: ``(B, L, S, S)`` sums defined in the module docstring.
        n_pairs: ``(B, L)`` number of (frame, target) pairs that entered each sum.
    """

    lags: np.ndarray
    C00: np.ndarray
    C0t: np.ndarray
    Ctt: np.ndarray
    n_pairs: np.ndarray

    def total(self) -> "Moments":
        """The moments of all data (blocks summed), with B = 1."""
        return Moments(self.lags, *(a.sum(axis=0, keepdims=True) for a in
                                    (self.C00, self.C0t, self.Ctt, self.n_pairs)))


def _accumulate(x: np.ndarray, seg: Segment, lags: np.ndarray, out: tuple[np.ndarray, ...],
                name: str) -> None:
    """Add the moments of the pairs starting in ``seg`` to ``out = (C00, C0t, Ctt, n_pairs)``."""
    c00, c0t, ctt, n_pairs = out
    n_frames, n_targets, n_states = x.shape
    chunk = max(1, CHUNK_VALUES // (n_targets * n_states))
    cols = slice(None) if seg.targets is None else list(seg.targets)
    n_targets = n_targets if seg.targets is None else len(seg.targets)
    for a in range(seg.start, seg.stop, chunk):
        b = min(a + chunk, seg.stop)
        x0 = np.asarray(x[a:b], dtype=np.float64)[:, cols]
        check_rows(x0, name, a)
        full = None  # C00 of the whole chunk, shared by every lag that uses all its start frames
        for i, lag in enumerate(lags):
            m = min(b, n_frames - lag) - a
            if m <= 0:
                continue
            xt = np.asarray(x[a + lag:a + lag + m], dtype=np.float64)[:, cols]
            if m < b - a:
                c00[i] += sum_outer(x0[:m], x0[:m])
            else:
                full = sum_outer(x0, x0) if full is None else full
                c00[i] += full
            c0t[i] += sum_outer(x0[:m], xt)
            ctt[i] += sum_outer(xt, xt)
            n_pairs[i] += m * n_targets


def sum_outer(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sum_r a_rᵀ b_r`` over all rows: ``a (..., Sa)`` and ``b (..., Sb)`` with the same leading shape
    give ``(Sa, Sb)`` (``a.reshape(-1, Sa).T @ b.reshape(-1, Sb)``).

    Computed as one batched product of ``GROUP_ROWS``-row groups, summed: for few columns OpenBLAS
    runs the single tall-skinny product 2-4x slower (S >= 3; about equal for S = 2).
    """
    a, b = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
    k = len(a) - len(a) % GROUP_ROWS
    out = a[k:].T @ b[k:]
    if k:
        out += np.matmul(a[:k].reshape(-1, GROUP_ROWS, a.shape[1]).transpose(0, 2, 1),
                         b[:k].reshape(-1, GROUP_ROWS, b.shape[1])).sum(axis=0)
    return out


def lagged_moments(trajs: Sequence[np.ndarray], lags: Sequence[int],
                   blocks: list[list[Segment]] | None = None, source: str = "chi") -> Moments:
    """Moments of ``trajs`` (from :func:`as_trajectories`) for every lag, per block.

    Args:
        trajs: arrays ``(F_k, n, S)`` of state probabilities.
        lags: lags in frames (each ≥ 1).
        blocks: from :func:`split_blocks`; ``None`` = one block holding all data.
        source: name used in error messages.

    Raises:
        GdynetError: bad values in ``chi``, or a lag with no pair in any trajectory.
    """
    lags = np.asarray(lags, dtype=np.int64)
    if blocks is None:
        blocks = [[Segment(k, 0, len(x)) for k, x in enumerate(trajs)]]
    longest = max(len(x) for x in trajs)
    if lags.min() < 1:
        raise GdynetError(f"lag must be at least 1 frame, got {int(lags.min())}", source)
    if lags.max() >= longest:
        raise GdynetError(f"lag of {int(lags.max())} frames is not shorter than the longest trajectory "
                          f"({longest} frames)", source)
    n_states = trajs[0].shape[2]
    shape = (len(blocks), len(lags), n_states, n_states)
    c00, c0t, ctt = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    n_pairs = np.zeros((len(blocks), len(lags)), dtype=np.int64)
    for j, block in enumerate(blocks):
        for seg in block:
            name = source if len(trajs) == 1 else f"{source}[{seg.traj}]"
            _accumulate(trajs[seg.traj], seg, lags, (c00[j], c0t[j], ctt[j], n_pairs[j]), name)
    return Moments(lags, c00, c0t, ctt, n_pairs)
