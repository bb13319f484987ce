"""Training data: time-block splits and the time-lagged pair sampler over the sources of
:mod:`gdynet.network.inputs` (one per trajectory).

A batch is a set of time-lagged pairs ``(t, t + tau)`` from ONE trajectory (the number of atoms differs
between trajectories). Splits are contiguous time blocks of each trajectory; a pair never crosses a
block boundary, so no information leaks across the lag between train, validation and test.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..base.errors import GdynetError

SPLITS = ("train", "validation", "test")


# ------------------------------------------------------------------------------------------ splits
@dataclass(frozen=True)
class Block:
    """Pairs ``(t, t + lag)`` with ``start <= t`` and ``t + lag < stop`` of source number ``source``."""

    source: int
    start: int
    stop: int
    lag: int

    @property
    def n_pairs(self) -> int:
        """Number of time-lagged pairs inside the block."""
        return max(0, self.stop - self.start - self.lag)

    def times(self) -> np.ndarray:
        """Start frames ``t`` of the pairs, ``(n_pairs,)`` int64."""
        return np.arange(self.start, self.start + self.n_pairs, dtype=np.int64)


def split_frames(n_frames: int, lag: int, fractions: Sequence[float] = (0.7, 0.15, 0.15), *,
                 source: str = "<trajectory>") -> dict[str, tuple[int, int]]:
    """Cut ``n_frames`` frames into contiguous ``[start, stop)`` blocks for train, validation, test.

    Block sizes follow ``fractions`` (normalised; a zero fraction gives an empty block). Every
    non-empty block must hold at least two pairs ``(t, t + lag)`` (a covariance needs two samples);
    otherwise :class:`GdynetError` says how many frames are needed.
    """
    lag = int(lag)
    frac = np.asarray(fractions, dtype=float)
    if frac.shape != (3,) or np.any(frac < 0) or not np.isfinite(frac).all() or frac[:2].min() <= 0:
        raise GdynetError(f"split fractions must be three non-negative numbers (train, validation, test) "
                          f"with train and validation > 0, got {tuple(fractions)}", source)
    if lag < 1:
        raise GdynetError(f"lag must be at least 1 frame, got {lag}", source)
    edges = np.rint(np.concatenate([[0], np.cumsum(frac)]) / frac.sum() * n_frames).astype(int)
    blocks = {name: (int(edges[i]), int(edges[i + 1])) for i, name in enumerate(SPLITS)}
    for name, (start, stop) in blocks.items():
        if (stop > start or name != "test") and stop - start - lag < 2:
            share = frac[SPLITS.index(name)] / frac.sum()
            need = int(np.ceil((lag + 2) / share))
            raise GdynetError(f"{n_frames} frames are too few for lag {lag}: the {name} block "
                              f"({stop - start} frames) needs at least {lag + 2}; use a shorter lag or "
                              f"at least {need} frames", source)
    return blocks


def split_sources(n_frames: Sequence[int], lag: int, fractions: Sequence[float] = (0.7, 0.15, 0.15),
                  test_sources: Sequence[int] = (), names: Sequence[str] | None = None
                  ) -> dict[str, list[Block]]:
    """Blocks of every split over all sources (trajectories).

    Each source is cut into contiguous train/validation/test time blocks (:func:`split_frames`), except
    the sources listed in ``test_sources``, which are used whole as test data; the others are then cut
    into train and validation only, in the ratio of the first two fractions.
    """
    names = list(names) if names is not None else [f"trajectory {i}" for i in range(len(n_frames))]
    bad = [i for i in test_sources if not 0 <= i < len(n_frames)]
    if bad:
        raise GdynetError(f"test_sources {bad} out of range: there are {len(n_frames)} trajectories")
    if len(set(test_sources)) >= len(n_frames):
        raise GdynetError("test_sources must leave at least one trajectory for training")
    out: dict[str, list[Block]] = {name: [] for name in SPLITS}
    for i, n in enumerate(n_frames):
        if i in test_sources:
            block = Block(i, 0, int(n), lag)
            if block.n_pairs < 2:
                raise GdynetError(f"{n} frames are too few for lag {lag} (test trajectory)", names[i])
            out["test"].append(block)
            continue
        frac = (fractions[0], fractions[1], 0.0) if test_sources else fractions
        for split, (start, stop) in split_frames(int(n), lag, frac, source=names[i]).items():
            if stop > start:
                out[split].append(Block(i, start, stop, lag))
    return out


def batches(blocks: Sequence[Block], batch_size: int, rng: np.random.Generator | None = None
            ) -> list[tuple[int, np.ndarray]]:
    """Mini-batches ``(source, t (B,) int64)`` of pair start frames; each batch from one source.

    With ``rng`` the pair order inside each block and the order of the batches are shuffled
    (one epoch = every pair once); without, batches follow time order (for evaluation). A last
    batch of a block smaller than half ``batch_size`` is merged into the previous one so that no
    batch has a degenerate covariance.
    """
    out: list[tuple[int, np.ndarray]] = []
    for block in blocks:
        times = block.times()
        if rng is not None:
            times = rng.permutation(times)
        cuts = list(range(batch_size, len(times), batch_size))
        if cuts and len(times) - cuts[-1] < batch_size // 2:
            cuts.pop()
        out.extend((block.source, chunk) for chunk in np.split(times, cuts))
    if rng is not None:
        order = rng.permutation(len(out))
        out = [out[i] for i in order]
    return out
