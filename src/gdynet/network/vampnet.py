"""GlobalVAMPNet: the paper's baseline, a fully connected VAMPnet on the whole frame.

Input: cell-wrapped fractional coordinates s (B, N, 3) in [0, 1). A wrapped coordinate jumps from
~1 to ~0 when an atom crosses the cell boundary, although nothing physical happens; fed raw, the
network would see a huge, spurious "transition". Each coordinate is therefore encoded as
(sin 2 pi s, cos 2 pi s), which is continuous and periodic across the boundary and identical for
s and s + 1 (so wrapped or unwrapped input gives the same output). The encoding keeps absolute
positions (it is not translation invariant) on purpose: the baseline is the global model that sees
symmetry-equivalent sites as different, which is the paper's point of comparison (Fig. 2).

    s (B, N, 3) -> [sin 2 pi s, cos 2 pi s] (B, 6N) -> MLP -> softmax -> (B, 1, S)
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..base.errors import GdynetError
from .layers import ACTIVATIONS, mlp

_SOURCE = "GlobalVAMPNet"


class GlobalVAMPNet(nn.Module):
    """MLP VAMPnet on the fractional coordinates of all N atoms.

    Args:
        n_atoms: N, atoms per frame (fixed).
        n_states: S, number of softmax outputs.
        hidden: widths of the hidden layers.
        activation: "relu" or "softplus".
    """

    def __init__(
        self, n_atoms: int, n_states: int = 2, hidden: Sequence[int] = (64, 64), activation: str = "relu"
    ) -> None:
        super().__init__()
        if n_atoms < 1 or n_states < 1 or any(h < 1 for h in hidden) or activation not in ACTIVATIONS:
            raise GdynetError(
                f"need n_atoms, n_states, hidden widths >= 1 and activation in {sorted(ACTIVATIONS)}; "
                f"got {n_atoms}, {n_states}, {list(hidden)}, {activation!r}", _SOURCE,
            )
        self.config: dict[str, Any] = {
            "n_atoms": int(n_atoms),
            "n_states": int(n_states),
            "hidden": [int(h) for h in hidden],
            "activation": activation,
        }
        self.net = mlp(6 * n_atoms, hidden, n_states, activation)

    @property
    def n_states(self) -> int:
        return self.config["n_states"]

    def forward(self, frac_positions: Tensor) -> Tensor:
        """(B, N, 3) fractional coordinates -> (B, 1, S) state probabilities (one set: the frame)."""
        n_atoms = self.config["n_atoms"]
        if frac_positions.ndim != 3 or frac_positions.shape[1:] != (n_atoms, 3):
            raise GdynetError(
                f"expected fractional positions (B, {n_atoms}, 3), got {tuple(frac_positions.shape)}", _SOURCE
            )
        weight = self.net[0].weight
        angle = (2 * math.pi) * frac_positions.to(device=weight.device, dtype=weight.dtype)
        features = torch.cat([torch.sin(angle), torch.cos(angle)], dim=-1).flatten(1)  # (B, 6N)
        return torch.softmax(self.net(features), dim=-1).unsqueeze(1)
