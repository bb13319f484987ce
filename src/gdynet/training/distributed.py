"""Multi-process training with ``torch.distributed`` (``torchrun``; NCCL on GPUs, gloo on CPU).

How the global VAMP-2 loss is computed across ranks (``W`` processes):

* every global mini-batch of pairs is sharded, rank ``r`` takes pairs ``r, r + W, ...``;
* each rank sums its raw moments (``sum x_0``, ``sum x_t``, ``sum x_0 x_0^T``, ``sum x_0 x_t^T``,
  ``sum x_t x_t^T``, count) and :func:`all_reduce_sum` adds them over ranks, so every rank computes the
  SAME loss ``L``, equal to the single-process loss on the union batch (not a mean of per-rank scores);
* gradients: :func:`all_reduce_sum` is differentiable and its backward is again a sum over ranks
  (like the deprecated ``torch.distributed.nn.functional.all_reduce``). The upstream gradient
  ``dL/dM`` is identical on all ranks, so rank ``r`` receives ``W * dL/dM`` for its own moments and ends with ``W * g_r``, where ``g_r`` is the part of the true
  gradient flowing through its shard. DDP then AVERAGES parameter gradients:
  ``(1/W) sum_r W g_r = sum_r g_r = dL/dtheta``, exactly the single-process gradient. (With an
  identity backward instead, DDP's average would be ``W`` times too small.) ``tests/test_distributed.py``
  checks loss, gradients and trained weights against a single process.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from ..base.errors import GdynetError


@dataclass(frozen=True)
class World:
    """This process's ``rank`` among ``size`` processes (``size == 1``: no distribution)."""

    rank: int = 0
    size: int = 1

    @property
    def active(self) -> bool:
        """True when more than one process takes part."""
        return self.size > 1

    @property
    def main(self) -> bool:
        """True on the rank that writes checkpoints and shows progress."""
        return self.rank == 0


def setup(device: torch.device) -> tuple[World, torch.device]:
    """Join the process group started by ``torchrun`` (env ``WORLD_SIZE > 1``), if any.

    Uses NCCL when ``device`` is CUDA (each rank on ``cuda:LOCAL_RANK``), gloo otherwise. Returns
    the world and the device this rank should use. An already initialised group is reused.
    """
    if not dist.is_available():
        return World(), device
    if not dist.is_initialized():
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return World(), device
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    world = World(dist.get_rank(), dist.get_world_size())
    if device.type == "cuda" and world.active:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", world.rank % torch.cuda.device_count())))
        torch.cuda.set_device(device)
    return world, device


class _SumOverRanks(torch.autograd.Function):
    """``y = sum_r x_r`` on every rank; backward: ``dL/dx_r = sum_r' dL/dy`` (again a sum over ranks)."""

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:
        out = tensor.clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad


def all_reduce_sum(tensor: torch.Tensor, world: World, *, grad: bool) -> torch.Tensor:
    """Sum ``tensor`` over ranks; with ``grad`` the result is differentiable (backward: sum over ranks)."""
    if not world.active:
        return tensor
    if grad:
        return _SumOverRanks.apply(tensor)
    tensor = tensor.clone()
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def shard(items: torch.Tensor | list, world: World, *, what: str = "batch"):
    """Rank ``r``'s share ``items[r::W]`` of a global batch; every rank must get at least one item."""
    if len(items) < world.size:
        raise GdynetError(f"a {what} of {len(items)} pairs cannot be shared by {world.size} processes; "
                          "use a larger batch size or fewer processes")
    return items[world.rank::world.size]
