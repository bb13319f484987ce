"""Training data: per-trajectory input sources, time-block splits and the time-lagged pair sampler.

A *source* wraps one trajectory and turns a set of frame indices into model inputs, reading only
those frames from disk (memory maps), so memory stays bounded however long the trajectory is:

* :class:`GraphSource` (on-disk graphs of :func:`gdynet.graphs.store.build_graphs`) -> inputs of
  :class:`gdynet.model.gdynet.GDyNet`;
* :class:`CoordinateSource` (a :class:`~gdynet.trajectory.core.Trajectory`) -> cell-wrapped
  fractional positions for the global-coordinate baseline :class:`gdynet.model.vampnet.GlobalVAMPNet`.

A batch is a set of time-lagged pairs ``(t, t + tau)`` from ONE trajectory (the number of atoms differs
between trajectories). Splits are contiguous time blocks of each trajectory; a pair never crosses a
block boundary, so no information leaks across the lag between train, validation and test.
"""
from __future__ import annotations

import mmap
from dataclasses import dataclass
from typing import Any, Protocol, Sequence

import numpy as np
import torch

from ..errors import GdynetError

SPLITS = ("train", "validation", "test")


class Source(Protocol):
    """What the trainer needs from a data source (one trajectory)."""

    source: str
    n_frames: int
    n_targets: int

    def inputs(self, frames: np.ndarray, device: torch.device | str) -> dict[str, torch.Tensor]:
        """Model keyword inputs for ``frames`` (B,) -> ``model(**inputs)`` gives ``(B, n, S)``."""


def _read_frames(array: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """``array[frames]`` as an in-memory copy, reading each distinct frame once, in file order.

    For a read-only memory map the pages just read are then released from this process's mapping
    (``madvise(MADV_DONTNEED)``; the data stay in the OS page cache), so the resident memory of a
    long training run does not grow with the size of the files it has streamed through.
    """
    frames = np.asarray(frames, dtype=np.int64)
    unique, inverse = np.unique(frames, return_inverse=True)
    block = np.asarray(array[unique])  # integer indexing already copies the frames into memory
    _release(array)
    return block if len(unique) == len(frames) and np.array_equal(unique, frames) else block[inverse]


def _release(array: np.ndarray) -> None:
    """Unmap the touched pages of a read-only ``np.memmap`` (no-op for anything else)."""
    handle = getattr(array, "_mmap", None)  # numpy keeps the mmap object of a memmap (and its views)
    if isinstance(array, np.memmap) and array.mode == "r" and handle is not None and hasattr(mmap, "MADV_DONTNEED"):
        handle.madvise(mmap.MADV_DONTNEED)


class _TensorCache:
    """Per-device copies of the small constant inputs (atomic numbers, target indices)."""

    def __init__(self, **arrays: np.ndarray) -> None:
        self._arrays = arrays
        self._cache: dict[str, dict[str, torch.Tensor]] = {}

    def get(self, device: torch.device | str) -> dict[str, torch.Tensor]:
        key = str(device)
        if key not in self._cache:
            self._cache[key] = {name: torch.as_tensor(a, dtype=torch.long).to(device)
                                for name, a in self._arrays.items()}
        return self._cache[key]


class GraphSource:
    """Inputs of :class:`~gdynet.model.gdynet.GDyNet` streamed from a ``GraphStore``.

    ``inputs(frames, device)`` returns ``numbers (N,)`` long, ``nbr_idx (B, N, W)`` int32,
    ``nbr_dist (B, N, W)`` float32 in Å and ``targets (n, k)`` long; only the ``B`` requested frames
    are read from the memory-mapped ``(F, N, W)`` arrays (W = M + 2 neighbours per atom for a model of
    M, :mod:`gdynet.graphs.shells`).
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self.source = str(getattr(store, "source", getattr(store, "path", "<graphs>")))
        self.n_frames = int(store.indices.shape[0])
        self.n_targets = int(np.asarray(store.targets).shape[0])
        self.n_atoms = int(store.indices.shape[1])
        self.dt_ps = float(store.dt_ps)
        if store.distances.shape != store.indices.shape or store.indices.ndim != 3:
            raise GdynetError(f"graph arrays disagree: indices {store.indices.shape}, "
                              f"distances {store.distances.shape}", self.source)
        self._constants = _TensorCache(numbers=np.asarray(store.numbers), targets=np.asarray(store.targets))

    def inputs(self, frames: np.ndarray, device: torch.device | str) -> dict[str, torch.Tensor]:
        """Model inputs for ``frames`` (B,) on ``device`` (see the class docstring for shapes)."""
        idx = _read_frames(self.store.indices, frames)  # uint16 (compact store) or int32
        idx = torch.from_numpy(idx if idx.dtype == np.int32 else idx.astype(np.int32)).to(device, non_blocking=True)
        dist = torch.from_numpy(_read_frames(self.store.distances, frames)).to(device, non_blocking=True)
        const = self._constants.get(device)
        return {"numbers": const["numbers"], "nbr_idx": idx, "nbr_dist": dist.float(),
                "targets": const["targets"]}


class CoordinateSource:
    """Inputs of the global VAMPnet: fractional positions of the whole frame wrapped into [0, 1).

    ``inputs(frames, device)`` returns ``frac_positions (B, N, 3)`` float32, ``s = r C^-1 mod 1`` with
    ``r`` the Cartesian positions (Å) and ``C`` the cell (rows = lattice vectors). The model sees the
    whole frame as one target set, so ``n_targets = 1``.
    """

    n_targets = 1

    def __init__(self, traj: Any) -> None:
        self.traj = traj
        self.source = str(traj.source)
        self.n_frames = int(traj.n_frames)
        self.n_atoms = int(traj.n_atoms)
        self.dt_ps = float(traj.dt_ps)

    def inputs(self, frames: np.ndarray, device: torch.device | str) -> dict[str, torch.Tensor]:
        """``{"frac_positions": (B, N, 3) float32}`` for ``frames`` (B,) on ``device``."""
        frames = np.asarray(frames, dtype=np.int64)
        pos = _read_frames(self.traj.positions, frames).astype(np.float64)
        inv = np.linalg.inv(self.traj.cells[frames])
        frac = np.einsum("bnj,bjk->bnk", pos, inv)
        frac -= np.floor(frac)
        frac[frac >= 1.0] = 0.0  # -1e-17 mod 1 rounds to 1.0
        return {"frac_positions": torch.from_numpy(frac.astype(np.float32)).to(device)}


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
