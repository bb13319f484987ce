"""State probabilities chi on disk: predicted into memory maps, calibrated chunk by chunk.

chi of a long trajectory, (frames, targets, S) float32, can be larger than memory; it is never held
whole: the network writes into a ``.npy`` memory map and the calibration streams over it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..files import writes
from ..files.diskspace import open_memmap, require_free
from ..files.openfiles import in_memory
from .calibration import apply_calibration
from .forward import run_network

#: frames of a chi file held in memory at once (calibrating it, comparing two of them)
CHI_CHUNK_FRAMES = 65_536
#: rows (frames x targets, over all trajectories) sampled to fit the state calibration
CALIBRATION_SAMPLES = 200_000


def predict_raw(network: Any, source: Any, n_states: int, path: Path, device: str) -> np.ndarray:
    """The network's softmax output (F, n, S) for every frame of ``source``: a ``.npy`` memmap at
    ``path``, or in memory when small (:func:`gdynet.files.openfiles.in_memory`; ``path`` is then removed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (source.n_frames, source.n_targets, n_states)
    require_free(path.parent, 2 * 4 * int(np.prod(shape)), "the state probabilities (raw and calibrated)")
    out = open_memmap(path, np.float32, shape)
    run_network(network, source, device=device, out=out)
    out.flush()
    kept = in_memory(out)                   # small: in memory, its file deleted (no descriptor held)
    if kept is not out:
        del out
        remove(path)
    return kept


def calibration_sample(raws: list[np.ndarray]) -> np.ndarray:
    """About ``CALIBRATION_SAMPLES`` rows (m, S) taken evenly from every trajectory's chi."""
    total = sum(r.shape[0] * r.shape[1] for r in raws)
    step = max(1, total // CALIBRATION_SAMPLES)
    return np.concatenate([np.asarray(r[::step]).reshape(-1, r.shape[-1]) for r in raws])


def write_calibrated(raw: np.ndarray, A: np.ndarray, path: Path) -> Path:
    """``apply_calibration(raw, A)`` written chunk by chunk to the ``.npy`` file ``path``, atomically."""
    with writes.atomic_path(path) as tmp:
        out = open_memmap(tmp, np.float32, raw.shape)
        for start in range(0, raw.shape[0], CHI_CHUNK_FRAMES):
            out[start:start + CHI_CHUNK_FRAMES] = apply_calibration(np.asarray(raw[start:start + CHI_CHUNK_FRAMES]), A)
        out.flush()
        del out
    return path


def remove(path: Path) -> None:
    """Delete a temporary raw chi file (no error if it is gone)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
