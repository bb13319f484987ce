"""Tiny data and models for the trainer tests (also imported by their subprocess scripts).

``hidden_two_state_store`` writes a graph store whose target atoms hop between two environments
(neighbour shells at 2.0 Å and 3.0 Å) following a known two-state Markov chain; the VAMP-2 score
of the true state indicator is the known answer a trained model should approach.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gdynet.graphs.store import GraphStore


def markov_chain(n_frames: int, n_chains: int, p_switch: float, rng: np.random.Generator) -> np.ndarray:
    """``(F, n_chains)`` 0/1 states of independent symmetric two-state chains."""
    flips = rng.random((n_frames, n_chains)) < p_switch
    flips[0] = rng.random(n_chains) < 0.5
    return np.cumsum(flips, axis=0) % 2


def hidden_two_state_store(folder: Path, n_frames: int, n_atoms: int = 6, m: int = 4, n_targets: int = 2,
                           seed: int = 0, p_switch: float = 0.05) -> tuple[GraphStore, np.ndarray]:
    """A store on disk and the hidden states ``(F, n_targets)`` of its target atoms (atoms 0..n-1)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    states = markov_chain(n_frames, n_targets, p_switch, rng)
    dist = rng.normal(2.5, 0.3, size=(n_frames, n_atoms, m)).astype(np.float32)
    dist[:, :n_targets, :] = (2.0 + states[:, :, None] + rng.normal(0, 0.1, (n_frames, n_targets, m))).astype(np.float32)
    idx = rng.integers(0, n_atoms, size=(n_frames, n_atoms, m)).astype(np.int32)
    # written under a scratch name and renamed, so processes building the same store side by side
    # (tests/test_distributed.py) never read a half-written file
    for name, array in (("indices", idx), ("distances", np.sort(dist, axis=2))):
        scratch = folder / f".{name}.{os.getpid()}.npy"
        np.save(scratch, array)
        os.replace(scratch, folder / f"{name}.npy")
    store = GraphStore(folder, np.load(folder / "indices.npy", mmap_mode="r"),
                     np.load(folder / "distances.npy", mmap_mode="r"), np.full(n_atoms, 3, dtype=np.int64),
                     np.arange(n_targets, dtype=np.int64)[:, None], 0.1, str(folder))
    return store, states


class TinyGraphNet(nn.Module):
    """GDyNet's interface in miniature: Gaussian-expanded neighbour distances of each target -> softmax."""

    def __init__(self, n_states: int = 2, n_gaussians: int = 8, hidden: int = 8, nan: bool = False) -> None:
        super().__init__()
        self.config = {"n_states": n_states, "n_gaussians": n_gaussians, "hidden": hidden}
        self.register_buffer("centers", torch.linspace(1.0, 4.0, n_gaussians))
        self.mlp = nn.Sequential(nn.Linear(n_gaussians, hidden), nn.Tanh(), nn.Linear(hidden, n_states))
        self.nan = nan

    def forward(self, numbers: torch.Tensor, nbr_idx: torch.Tensor, nbr_dist: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        d = nbr_dist[:, targets[:, 0]]                                   # (B, n, M)
        g = torch.exp(-((d[..., None] - self.centers) ** 2) / 0.5).mean(2)  # (B, n, G)
        logits = self.mlp(g)
        if self.nan:
            logits = logits * float("nan")
        return torch.softmax(logits, dim=-1)
