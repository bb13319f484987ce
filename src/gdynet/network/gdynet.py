"""GDyNet: graph network mapping each target set of atoms to a probability over S states.

Pipeline (paper Methods; B frames, N atoms, M neighbours, W = M + 2 stored, F features, n target
sets of k atoms):

    numbers (N,)                       -> v^(0) = Embedding(Z)                      (B, N, F)
    nbr_dist (B, N, W)                 -> u = Gaussians (Eq. 7)                     (B, N, W, G)
                                       -> w = shell weights (M-th shell, smooth)    (B, N, W)
    K x AttentionConv (Eqs. 8-9)       -> v^(K)                                     (B, N, F)
    mean over each target set (Eq. 10) -> v^[l]                                     (B, n, F)
    MLP (two hidden layers) + softmax  -> chi                                       (B, n, S)

Cost O(B N W K (G + F) F) (the paper's O(NMK) scaling). Only atoms that can influence a target
atom are updated: layer K updates the target atoms, layer K-1 those plus their neighbours, and so
on (union over the batch); with LayerNorm or no norm this is exact, not an approximation.
Invariant under rotations and translations (only distances enter) and permutations of the atoms
(when ``nbr_idx`` and ``targets`` are relabelled accordingly), exact ties of neighbour distances
included: the neighbours' weights depend on distances only (:mod:`gdynet.graphs.shells`).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..base.errors import GdynetError
from ..graphs.neighbors import check_m
from ..graphs.shells import EXTRA_NEIGHBORS, graph_width
from .layers import ACTIVATIONS, NORMS, AttentionConv, mlp
from .shell import shell_weights

MAX_Z = 118
_SOURCE = "GDyNet"
_MIN_EDGES_TO_PRUNE = 16384


class GDyNet(nn.Module):
    """Graph dynamical network of Xie et al. (2019).

    Args:
        n_states: S, the number of states (softmax outputs).
        neighbors: M, the neighbours per atom the graphs were built for (their width is
            ``graph_width(M) = M + 2``; other graphs are refused).
        atom_features: F, width of the atom embeddings.
        n_conv: K, the number of graph convolutions.
        cutoff: largest Gaussian centre in Å (Eq. 7); neighbour distances should stay below it.
        n_gaussians: G; centres 0, cutoff/(G-1), ..., cutoff, width = the spacing (0.2 Å by default).
        hidden: widths of the hidden layers of the MLP head (the paper uses two).
        activation: g of Eq. 9 and the head's activation, "relu" (paper) or "softplus".
        norm: "layer" (LayerNorm on each aggregated message, see AttentionConv) or "none".
    """

    def __init__(
        self,
        n_states: int = 2,
        neighbors: int = 12,
        atom_features: int = 16,
        n_conv: int = 3,
        cutoff: float = 7.0,
        n_gaussians: int = 36,
        hidden: Sequence[int] = (32, 32),
        activation: str = "relu",
        norm: str = "layer",
    ) -> None:
        super().__init__()
        _check_config(n_states, atom_features, n_conv, cutoff, n_gaussians, hidden, activation, norm)
        check_m(neighbors)
        self.config: dict[str, Any] = {
            "n_states": int(n_states),
            "neighbors": int(neighbors),
            "atom_features": int(atom_features),
            "n_conv": int(n_conv),
            "cutoff": float(cutoff),
            "n_gaussians": int(n_gaussians),
            "hidden": [int(h) for h in hidden],
            "activation": activation,
            "norm": norm,
        }
        self.embedding = nn.Embedding(MAX_Z + 1, atom_features)
        self.convs = nn.ModuleList(
            AttentionConv(atom_features, cutoff, n_gaussians, activation, norm) for _ in range(n_conv)
        )
        self.head = mlp(atom_features, hidden, n_states, activation)

    @property
    def n_states(self) -> int:
        return self.config["n_states"]

    @property
    def neighbors(self) -> int:
        """M, the neighbours per atom of the graphs this model takes (stored width ``M + 2``)."""
        return self.config["neighbors"]

    def forward(self, numbers: Tensor, nbr_idx: Tensor, nbr_dist: Tensor, targets: Tensor) -> Tensor:
        """State probabilities of every target set in every frame.

        Args:
            numbers: (N,) atomic numbers (0..118), the same for all frames.
            nbr_idx: (B, N, W) integer neighbour indices (into 0..N-1), ``W = graph_width(M)``.
            nbr_dist: (B, N, W) float neighbour distances in Å, each row nearest first.
            targets: (n, k) integer atom indices of the n target sets of k atoms each.
        Returns:
            (B, n, S) probabilities (rows sum to 1), in the model's dtype and device.
        """
        device, dtype = self.embedding.weight.device, self.embedding.weight.dtype
        numbers, targets = (t.to(device=device, dtype=torch.long) for t in (numbers, targets))
        # int32 indices (the graph store's) stay int32: half the memory of long on large batches
        nbr_idx = nbr_idx.to(device=device, dtype=nbr_idx.dtype if nbr_idx.dtype == torch.int32 else torch.long)
        nbr_dist = nbr_dist.to(device=device, dtype=dtype)
        _check_inputs(numbers, nbr_idx, nbr_dist, targets, self.neighbors)
        weight = shell_weights(nbr_dist, self.neighbors)
        v = self.embedding(numbers).unsqueeze(0).expand(nbr_idx.shape[0], -1, -1)
        for conv, rows in zip(self.convs, _rows_to_update(nbr_idx, targets, len(self.convs), weight)):
            if rows is None:
                v = conv(v, nbr_idx, nbr_dist, weight)
            else:
                v = conv(v, *(x.index_select(1, rows) for x in (nbr_idx, nbr_dist, weight)), rows)
        pooled = v[:, targets].mean(dim=2)  # Eq. 10, (B, n, F)
        return torch.softmax(self.head(pooled), dim=-1)


def _rows_to_update(nbr_idx: Tensor, targets: Tensor, n_conv: int, weight: Tensor) -> list[Tensor | None]:
    """Atoms each layer must update so that the target atoms' final features are exact.

    Layer K needs the targets; layer l needs the atoms layer l+1 updates plus their neighbours of
    positive ``weight`` (B, N, W) in any frame of the batch (a neighbour of weight 0 sends nothing).
    None means all atoms. Small batches are not pruned: below
    ``_MIN_EDGES_TO_PRUNE`` edges the bookkeeping costs more time than the skipped rows save.
    """
    n_atoms = nbr_idx.shape[1]
    rows: list[Tensor | None] = [None] * n_conv
    if nbr_idx.numel() < _MIN_EDGES_TO_PRUNE:
        return rows
    needed = torch.zeros(n_atoms, dtype=torch.bool, device=nbr_idx.device)
    needed[targets.reshape(-1)] = True
    for layer in range(n_conv - 1, -1, -1):
        current = needed.nonzero().squeeze(1)
        if current.numel() == n_atoms:
            break
        rows[layer] = current
        needed[nbr_idx.index_select(1, current)[weight.index_select(1, current) > 0]] = True
    return rows


def _check_config(
    n_states: int, atom_features: int, n_conv: int, cutoff: float, n_gaussians: int,
    hidden: Sequence[int], activation: str, norm: str,
) -> None:
    problems = []
    if n_states < 1 or atom_features < 1 or n_conv < 0 or any(h < 1 for h in hidden):
        problems.append("n_states, atom_features and hidden widths must be >= 1 and n_conv >= 0")
    if not cutoff > 0 or n_gaussians < 2:
        problems.append(f"need cutoff > 0 Å and n_gaussians >= 2, got {cutoff} and {n_gaussians}")
    if activation not in ACTIVATIONS:
        problems.append(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if norm not in NORMS:
        problems.append(f"norm must be one of {list(NORMS)}, got {norm!r}")
    if problems:
        raise GdynetError("; ".join(problems), _SOURCE)


def _check_inputs(numbers: Tensor, nbr_idx: Tensor, nbr_dist: Tensor, targets: Tensor, neighbors: int) -> None:
    """Shapes (the graphs' width must be ``graph_width(neighbors)``) and value ranges of the model inputs."""
    if numbers.ndim != 1 or nbr_idx.ndim != 3 or targets.ndim != 2:
        raise GdynetError(
            f"expected numbers (N,), nbr_idx (B, N, W), targets (n, k); got {tuple(numbers.shape)}, "
            f"{tuple(nbr_idx.shape)}, {tuple(targets.shape)}", _SOURCE,
        )
    n_atoms, width = numbers.shape[0], graph_width(neighbors)
    if nbr_idx.shape[-1] != width:
        raise GdynetError(
            f"graphs built for {nbr_idx.shape[-1] - EXTRA_NEIGHBORS} neighbours per atom (width "
            f"{nbr_idx.shape[-1]}) given to a model of {neighbors} neighbours (width {width}); rebuild the "
            f"graphs with --neighbors {neighbors}", _SOURCE,
        )
    if nbr_idx.shape[1] != n_atoms or nbr_dist.shape != nbr_idx.shape:
        raise GdynetError(
            f"nbr_idx {tuple(nbr_idx.shape)} and nbr_dist {tuple(nbr_dist.shape)} must both be "
            f"(B, {n_atoms}, {width})", _SOURCE,
        )
    if 0 in nbr_idx.shape or 0 in targets.shape:
        raise GdynetError("empty batch, neighbour list or target sets", _SOURCE)
    # one pass per tensor (aminmax), two host syncs; NaN/inf distances surface in the max
    z_min, z_max, i_min, i_max, t_min, t_max = torch.stack(
        [*torch.aminmax(numbers), *(x.long() for x in torch.aminmax(nbr_idx)), *torch.aminmax(targets)]
    ).tolist()
    d_min, d_max, step = torch.stack([*torch.aminmax(nbr_dist), torch.diff(nbr_dist, dim=-1).min()]).tolist()
    bad = [
        z_min < 0 or z_max > MAX_Z,
        i_min < 0 or i_max >= n_atoms,
        not (d_min >= 0 and math.isfinite(d_max) and step >= 0),
        t_min < 0 or t_max >= n_atoms,
    ]
    names = [
        f"atomic numbers outside 0..{MAX_Z}",
        f"neighbour indices outside 0..{n_atoms - 1}",
        "negative, non-finite or unsorted neighbour distances (each row must be nearest first)",
        f"target indices outside 0..{n_atoms - 1}",
    ]
    if any(bad):
        raise GdynetError("; ".join(name for name, flag in zip(names, bad) if flag), _SOURCE)
