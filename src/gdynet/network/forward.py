"""The network over frames: the one forward pass of training, prediction and the checks.

:func:`frame_outputs` runs a network on some frames of a source (:mod:`.inputs`), with or without
gradients; :func:`run_network` runs it over every frame of a source without gradients, into an array
(``np.memmap`` for outputs larger than memory). Memory is bounded by atoms, not frames (``batch_atoms``).

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

from ..base.errors import GdynetError
from .inputs import Source

#: default ``batch_atoms``: atom-frames per forward chunk. About 1.5 kB each with gradients for the default
#: GDyNet (M = 12, W = 14 stored neighbours, F = 16, K = 3): 2^19 is about 0.8 GB, so a 10^5-atom fit stays
#: under 2 GB (issue 26, benchmarks/RESULTS.md); up to 1,000 atoms a batch of 512 frames is one pass
AUTO_BATCH_ATOMS = 1 << 19


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


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else as ``torch.device``."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise GdynetError(f"unknown device {device!r} (use auto, cpu or cuda)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise GdynetError(f"device {device!r} requested but CUDA is not available")
    return dev


@torch.no_grad()
def run_network(model: torch.nn.Module, source: Source, *, device: str | torch.device = "auto",
            batch_size: int = 256, out: np.ndarray | None = None, batch_atoms: int | None = None) -> np.ndarray:
    """State probabilities ``chi`` ``(F, n, S)`` float32 of every frame of ``source``.

    Runs in eval mode without gradients, ``batch_size`` frames per forward pass (fewer when they would
    hold more than ``batch_atoms`` atom-frames, see :func:`frame_outputs`). ``out`` may be a
    preallocated ``(F, n, S)`` array, e.g. a ``np.memmap`` for outputs larger than memory; it is filled
    and returned.
    """
    dev = resolve_device(device)
    if batch_size < 1:
        raise GdynetError(f"batch_size must be at least 1, got {batch_size}")
    was_training = model.training
    model.to(dev).eval()
    if getattr(source, "n_atoms", None) is not None:
        batch_size = min(batch_size, frames_per_chunk(batch_atoms, source.n_atoms))
    try:
        for start in range(0, source.n_frames, batch_size):
            frames = np.arange(start, min(start + batch_size, source.n_frames))
            chi = frame_outputs(model, source, frames, dev, batch_atoms).float().cpu().numpy()
            if out is None:
                out = np.empty((source.n_frames, *chi.shape[1:]), dtype=np.float32)
            elif out.shape[0] != source.n_frames or out.shape[1:] != chi.shape[1:]:
                raise GdynetError(f"out has shape {out.shape}, expected {(source.n_frames, *chi.shape[1:])}",
                                  source.source)
            out[start:start + len(frames)] = chi
    finally:
        model.train(was_training)
    return out
