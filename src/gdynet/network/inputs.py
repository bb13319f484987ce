"""What the network eats: a *source* wraps one trajectory and turns frame indices into the network's
keyword inputs, reading only those frames from disk (memory maps), so memory stays bounded however
long the trajectory is:

* :class:`GraphSource` (on-disk graphs of :func:`gdynet.graphs.store.build_graphs`) -> inputs of
  :class:`gdynet.network.gdynet.GDyNet`;
* :class:`CoordinateSource` (a :class:`~gdynet.trajectory.core.Trajectory`) -> cell-wrapped
  fractional positions for the global-coordinate baseline :class:`gdynet.network.vampnet.GlobalVAMPNet`;
* :class:`ArraySource`: arrays already in memory (graphs built on the fly, e.g. the invariance check).
"""
from __future__ import annotations

import warnings
from typing import Any, Protocol, Sequence

import numpy as np
import torch

from ..base.errors import GdynetError, GdynetWarning
from ..base.option_names import option
from ..files.pages import release


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
    release(array)
    return block if len(unique) == len(frames) and np.array_equal(unique, frames) else block[inverse]


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
    """Inputs of :class:`~gdynet.network.gdynet.GDyNet` streamed from a ``GraphStore``.

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


class ArraySource:
    """Network inputs held in memory: ``per_frame`` arrays ``(F, ...)`` indexed by frame and ``constant``
    arrays passed whole (e.g. GDyNet's ``numbers`` and ``targets``), each as ``torch.as_tensor`` of the
    array (its dtype kept)."""

    def __init__(self, per_frame: dict[str, np.ndarray], constant: dict[str, np.ndarray], n_targets: int,
                 source: str = "<memory>") -> None:
        self.per_frame = {k: np.asarray(v) for k, v in per_frame.items()}
        self.constant = {k: np.asarray(v) for k, v in constant.items()}
        self.n_frames = int(next(iter(self.per_frame.values())).shape[0])
        self.n_targets = int(n_targets)
        self.source = source

    def inputs(self, frames: np.ndarray, device: torch.device | str) -> dict[str, torch.Tensor]:
        """``{name: tensor}`` of ``frames`` (B,) on ``device``."""
        frames = np.asarray(frames, dtype=np.int64)
        whole = len(frames) == self.n_frames and np.array_equal(frames, np.arange(self.n_frames))
        out = {k: torch.as_tensor(v if whole else v[frames]).to(device) for k, v in self.per_frame.items()}
        return {**out, **{k: torch.as_tensor(v).to(device) for k, v in self.constant.items()}}


def network_source(kind: str, traj: Any, neighbors: int | None, cache_dir: Any, progress: bool = False) -> Any:
    """The network's input for the trajectory ``traj``: graphs of ``neighbors`` (M) nearest neighbours in
    ``cache_dir`` for GDyNet (``kind`` ``"gdynet"``), cell-wrapped coordinates for the VAMPnet (``"vampnet"``)."""
    if kind == "vampnet":
        return CoordinateSource(traj)
    from ..graphs.store import build_graphs

    return GraphSource(build_graphs(traj, neighbors, cache_dir=cache_dir, progress=progress))


#: warn when more than this fraction of the sampled M-th-neighbour distances lie beyond ``cutoff``
BEYOND_CUTOFF_WARN = 0.05
#: warn when more than this fraction of the sampled atoms have neighbours outside the training range
OUTSIDE_RANGE_WARN = 0.05
#: slack on the training range: a distance counts as outside when it is this fraction beyond it
RANGE_SLACK = 0.02


def sampled_distances(stores: Sequence[Any], sample_frames: int = 64) -> np.ndarray:
    """``(m, 2)`` nearest and M-th neighbour distances in Å of every atom in up to ``sample_frames``
    evenly spread frames of each graph store (rows: atoms of the sampled frames, all stores)."""
    rows = []
    for store in stores:
        frames = np.unique(np.linspace(0, store.distances.shape[0] - 1, sample_frames).astype(np.int64))
        d = np.asarray(store.distances[frames])
        rows.append(np.stack([d[..., 0], d[..., store.neighbors - 1]], axis=-1).reshape(-1, 2))
    return np.concatenate(rows).astype(np.float64)


def distance_range(stores: Sequence[Any], sample_frames: int = 64) -> list[float]:
    """``[shortest nearest-neighbour distance, longest M-th-neighbour distance]`` in Å over the sampled
    frames of ``stores``: the span of bond lengths a network trained on them has seen (the model file's
    ``meta.distance_range_A``, checked on new data by :func:`check_distance_range`)."""
    d = sampled_distances(stores, sample_frames)
    return [float(np.nanmin(d[:, 0])), float(np.nanmax(d[:, 1]))]


def check_distance_range(stores: Sequence[Any], trained: Sequence[float], sample_frames: int = 64,
                         advice: str = "") -> float:
    """Fraction of the sampled atoms of ``stores`` whose nearest neighbour is closer, or whose M-th
    neighbour is farther, than the training graphs' ``trained`` range (:func:`distance_range`, Å; with
    :data:`RANGE_SLACK`); a GdynetWarning naming it when it exceeds :data:`OUTSIDE_RANGE_WARN` (the
    network never saw such bonds: a compressed or expanded structure gets extrapolated states).
    ``advice`` ends the warning."""
    low, high = float(trained[0]), float(trained[1])
    d = sampled_distances(stores, sample_frames)
    with np.errstate(invalid="ignore"):
        outside = (d[:, 0] < low * (1 - RANGE_SLACK)) | (d[:, 1] > high * (1 + RANGE_SLACK))
    fraction = float(outside.mean())
    if fraction > OUTSIDE_RANGE_WARN:
        warnings.warn(GdynetWarning(
            f"{fraction:.0%} of the sampled atoms have neighbours closer or farther than any in the training "
            f"graphs (neighbour distances {low:.2f}–{high:.2f} Å in training, {np.nanmin(d[:, 0]):.2f}–"
            f"{np.nanmax(d[:, 1]):.2f} Å here)" + (f": {advice}" if advice else "")), stacklevel=2)
    return fraction


def check_gaussian_range(stores: Sequence[Any], cutoff: float, sample_frames: int = 64,
                         advice: str | None = None) -> float:
    """Fraction of M-th-neighbour distances beyond ``cutoff`` (Å) on up to ``sample_frames`` frames per
    store; a GdynetWarning when it exceeds ``BEYOND_CUTOFF_WARN`` (those bonds get ~0 Gaussian features,
    Eq. 7, so the network cannot tell their lengths apart). ``advice`` ends the warning (default: fit's,
    raise the cutoff or lower the neighbours); predict and transform pass their own."""
    distances = sampled_distances(stores, sample_frames)[:, 1]                     # the M-th
    fraction = float((distances > cutoff).mean())
    if fraction > BEYOND_CUTOFF_WARN:
        farthest = float(distances.max())
        advice = advice or f"raise {option('cutoff')} or lower {option('neighbors')}"
        warnings.warn(GdynetWarning(
            f"the M-th neighbour lies beyond the Gaussian range ({cutoff:g} Å) for {fraction:.0%} of the "
            f"sampled atoms (up to {farthest:.2f} Å): {advice}"), stacklevel=2)
    return fraction
