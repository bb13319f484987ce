"""Model outputs of many frames with memory bounded by atoms, not frames (``batch_atoms``).

A mini-batch of B time-lagged pairs touches up to 2B frames of N atoms; its activations (and the
autograd graph) grow as ``2 B N M``. :func:`frame_outputs` runs the model on chunks of at most
``max(1, batch_atoms // N)`` frames. Without gradients the chunk outputs are simply concatenated.
With gradients the chunks run without an autograd graph and are recomputed one at a time in the
backward pass (the loss depends on the small ``(frames, targets, S)`` output only, so the backward
of one chunk needs only that chunk's recomputation): the gradient is the one of the whole batch
(same VAMP-2 moments, same score), at the price of a second forward pass, and peak memory is that of
one chunk. torch's random state is replayed per chunk, so dropout masks match.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

#: default ``batch_atoms``: atom-frames per forward chunk (about 1.3 kB each with gradients for the default
#: GDyNet, M = 12, F = 16, K = 3: about 2.7 GB; a 10^5-atom training run peaks below 4 GB)
AUTO_BATCH_ATOMS = 1 << 21


def frames_per_chunk(batch_atoms: int | None, n_atoms: int) -> int:
    """Frames per forward chunk: ``batch_atoms // n_atoms`` (at least 1); ``None`` -> :data:`AUTO_BATCH_ATOMS`."""
    return max(1, int(AUTO_BATCH_ATOMS if batch_atoms is None else batch_atoms) // max(int(n_atoms), 1))


def frame_outputs(model: torch.nn.Module, source: Any, frames: np.ndarray, device: torch.device | str,
                  batch_atoms: int | None = None) -> torch.Tensor:
    """``model(**source.inputs(frames, device))`` ``(len(frames), n, S)``, at most ``batch_atoms`` atom-frames at once.

    ``source.n_atoms`` (atoms per frame) sets the chunk size; a source without it is run whole, and so is a
    training batch under ``DistributedDataParallel`` (each rank holds only its shard of the pairs).
    """
    n_atoms = getattr(source, "n_atoms", None)
    size = len(frames) if n_atoms is None else frames_per_chunk(batch_atoms, n_atoms)
    if isinstance(model, torch.nn.parallel.DistributedDataParallel) and torch.is_grad_enabled():
        size = len(frames)  # DDP's gradient hooks need its own forward with a graph: each rank runs its shard whole
    if len(frames) <= size:
        return model(**source.inputs(frames, device))
    chunks = [frames[i:i + size] for i in range(0, len(frames), size)]
    params = [p for p in model.parameters() if p.requires_grad]
    if not (torch.is_grad_enabled() and params):
        return torch.cat([model(**source.inputs(chunk, device)) for chunk in chunks])
    return _Recomputed.apply(model, source, chunks, device, *params)


class _Recomputed(torch.autograd.Function):
    """Chunked forward without a graph; backward recomputes each chunk and pulls its gradient through."""

    @staticmethod
    def forward(ctx, model, source, chunks, device, *params):  # noqa: D102
        ctx.model, ctx.source, ctx.chunks, ctx.device = model, source, chunks, device
        ctx.rng = []
        outs = []
        with torch.no_grad():
            for chunk in chunks:
                ctx.rng.append(torch.get_rng_state())
                outs.append(model(**source.inputs(chunk, device)))
        ctx.rng_after = torch.get_rng_state()
        return torch.cat(outs)

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        params = [p for p in ctx.model.parameters() if p.requires_grad]
        total = [torch.zeros_like(p) for p in params]
        start = 0
        for chunk, state in zip(ctx.chunks, ctx.rng):
            torch.set_rng_state(state)
            with torch.enable_grad():
                out = ctx.model(**ctx.source.inputs(chunk, ctx.device))
                parts = torch.autograd.grad(out, params, grad[start:start + len(chunk)], allow_unused=True)
            for acc, part in zip(total, parts):
                if part is not None:
                    acc += part
            start += len(chunk)
        torch.set_rng_state(ctx.rng_after)
        return (None, None, None, None, *total)
