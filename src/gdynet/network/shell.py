"""Distance-only neighbour weights (the smooth M-th shell) and the weighted attention softmax.

See :mod:`gdynet.graphs.shells` for why: graphs store ``W = M + EXTRA_NEIGHBORS`` neighbours per atom
and each gets a weight in [0, 1] that depends on distances only, so tied neighbours are treated alike
and the graph of a crystal does not depend on where it sits in the box.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from ..graphs.shells import SHELL_SMOOTHING_A

#: smallest attention denominator; a row whose weights are all 0 gets alpha = 0 (no message)
_TINY = 1e-30


def shell_weights(dist: Tensor, neighbors: int, delta: float = SHELL_SMOOTHING_A) -> Tensor:
    """Weights ``(..., W)`` of the neighbours at sorted distances ``dist (..., W)`` Å, ``W > neighbors = M``.

    With ``m = (d_M + d_{M+1}) / 2``, ``r_in = m - delta`` and ``r_out = min(m + delta, d_W)``:

        w_j = 1                                                  if d_j <= r_in
        w_j = (1 + cos(pi (d_j - r_in) / (r_out - r_in))) / 2    if r_in < d_j < r_out
        w_j = 0                                                  if d_j >= r_out

    ``r_out - r_in >= delta > 0``. Continuous in the positions; exactly the M nearest (weights 1 and 0)
    when ``d_{M+1} - d_M > 2 delta``; neighbours at equal distance get equal weights.
    """
    mid = 0.5 * (dist[..., neighbors - 1] + dist[..., neighbors])
    r_in = (mid - delta).unsqueeze(-1)
    r_out = torch.minimum(mid + delta, dist[..., -1]).unsqueeze(-1)
    x = ((dist - r_in) / (r_out - r_in)).clamp(0.0, 1.0)
    return torch.where(dist < r_out, 0.5 * (1.0 + torch.cos(math.pi * x)), 0.0)


def weighted_softmax(logits: Tensor, weights: Tensor) -> Tensor:
    """``alpha_j = w_j exp(a_j) / sum_k w_k exp(a_k)`` over the last axis (Eq. 8 with shell weights).

    Stabilised by the largest logit among the neighbours of positive weight, so a zero-weight neighbour
    never matters, not even through rounding; a row whose weights are all 0 gives alpha = 0.
    """
    top = torch.where(weights > 0, logits, -math.inf).amax(dim=-1, keepdim=True).detach()
    top = torch.where(torch.isfinite(top), top, 0.0)
    e = weights * torch.exp((logits - top).clamp(max=0.0))
    return e / e.sum(dim=-1, keepdim=True).clamp(min=_TINY)
