"""Fused CPU kernel of the per-edge part of a graph convolution (Eqs. 7-9), forward and backward.

For every updated atom i (row) with neighbours j (W per row) of shell weights ``w_ij``
(:func:`gdynet.network.shell.shell_weights`), given the per-row projections ``a_i = v_i W_self`` and
per-atom ``b_j = v_j W_nbr`` (both (F+1) wide) and a table ``P`` of the projected Gaussians
``u(d) W_u^T + bias`` on a fine distance grid (step ``h``, linear interpolation):

    pre_ij   = P(d_ij) + a_i + b_j                                          (F+1,)
    alpha_ij = w_ij exp(pre_ij[F]) / sum_k w_ik exp(pre_ik[F])              Eq. 8
    out_i    = sum_j alpha_ij g(pre_ij[:F])                                 Eq. 9 (before norm and residual)

as :func:`gdynet.network.shell.weighted_softmax` (stabilised by the largest logit of positive weight; a row
of zero weights gives 0). Neighbours of weight 0 cost only their table look-up.

One pass per row, everything in registers/L1: no (edges x features) temporaries are allocated, so a
training step neither streams gigabytes through memory nor page-faults on fresh allocations (the
kernel-time overhead of issue 13). The backward recomputes ``pre`` row by row. Rows are split over
threads by frame: the neighbours of a frame's rows are atoms of the same frame, so the scatter into
``grad b`` never races; the small table gradient is kept per thread and summed.

Compiled with numba (cached on disk); :data:`AVAILABLE` is False without numba (callers fall back to
plain torch ops).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

try:
    import numba
except ImportError:  # optional: the model then uses its composite torch path
    numba = None

AVAILABLE = numba is not None
#: activation codes of the kernel
ACTIVATION_CODES = {"ReLU": 0, "Softplus": 1}


def _jit(function, parallel=True):
    return function if numba is None else numba.njit(cache=True, parallel=parallel)(function)


def _prange(n):  # pragma: no cover (replaced by numba.prange when compiled)
    return range(n)


prange = numba.prange if numba is not None else _prange


def _row(table, a_self, a_nbr, dist, weight, nbr, row, base, inv_h, pre, alpha, ks, ws):  # pragma: no cover
    """Fill ``pre (W, F+1)``, the attention ``alpha (W,)`` and the table cells ``ks``/``ws`` of one row."""
    m, c = pre.shape
    f = c - 1
    x_max = np.float32(table.shape[0] - 1)
    top = np.float32(-np.inf)
    for j in range(m):
        x = min(dist[row, j] * inv_h, x_max)
        k = min(int(x), table.shape[0] - 2)
        w = x - np.float32(k)
        ks[j], ws[j] = k, w
        nb = base + nbr[row, j]
        for q in range(c):
            lo = table[k, q]
            pre[j, q] = lo + w * (table[k + 1, q] - lo) + a_self[row, q] + a_nbr[nb, q]
        if weight[row, j] > 0:
            top = max(top, pre[j, f])
    total = np.float32(0.0)
    for j in range(m):
        alpha[j] = weight[row, j] * np.exp(pre[j, f] - top) if weight[row, j] > 0 else np.float32(0.0)
        total += alpha[j]
    if total > 0:
        for j in range(m):
            alpha[j] /= total


_row = _jit(_row, parallel=False)


@_jit
def _forward(table, a_self, a_nbr, dist, weight, nbr, rows_per_frame, n_atoms, inv_h, act, n_threads):  # pragma: no cover
    n_rows, m = dist.shape
    f = table.shape[1] - 1
    out = np.zeros((n_rows, f), dtype=np.float32)
    n_frames = n_rows // rows_per_frame
    for t in prange(n_threads):
        pre = np.empty((m, f + 1), dtype=np.float32)
        alpha = np.empty(m, dtype=np.float32)
        ks = np.empty(m, dtype=np.int64)
        ws = np.empty(m, dtype=np.float32)
        for frame in range(t * n_frames // n_threads, (t + 1) * n_frames // n_threads):
            for row in range(frame * rows_per_frame, (frame + 1) * rows_per_frame):
                _row(table, a_self, a_nbr, dist, weight, nbr, row, frame * n_atoms, inv_h, pre, alpha, ks, ws)
                for j in range(m):
                    if alpha[j] == 0:
                        continue
                    for q in range(f):
                        y = pre[j, q]
                        if act == 0:
                            y = max(y, np.float32(0.0))
                        elif y <= 20.0:
                            y = np.log1p(np.exp(y))
                        out[row, q] += alpha[j] * y
    return out


@_jit
def _backward(grad, table, a_self, a_nbr, dist, weight, nbr, rows_per_frame, n_atoms, inv_h, act,
              n_threads):  # pragma: no cover
    n_rows, m = dist.shape
    c = table.shape[1]
    f = c - 1
    grad_self = np.zeros((n_rows, c), dtype=np.float32)
    grad_nbr = np.zeros(a_nbr.shape, dtype=np.float32)
    grad_table = np.zeros((n_threads, table.shape[0], c), dtype=np.float32)
    n_frames = n_rows // rows_per_frame
    for t in prange(n_threads):
        pre = np.empty((m, c), dtype=np.float32)
        alpha = np.empty(m, dtype=np.float32)
        d_alpha = np.empty(m, dtype=np.float32)
        ks = np.empty(m, dtype=np.int64)
        ws = np.empty(m, dtype=np.float32)
        for frame in range(t * n_frames // n_threads, (t + 1) * n_frames // n_threads):
            base = frame * n_atoms
            for row in range(frame * rows_per_frame, (frame + 1) * rows_per_frame):
                _row(table, a_self, a_nbr, dist, weight, nbr, row, base, inv_h, pre, alpha, ks, ws)
                s = np.float32(0.0)
                for j in range(m):
                    d_alpha[j] = np.float32(0.0)
                    if alpha[j] == 0:  # no message: its d pre is 0
                        continue
                    acc = np.float32(0.0)
                    for q in range(f):
                        y = pre[j, q]
                        if act == 0:
                            slope = np.float32(1.0) if y > 0 else np.float32(0.0)
                            y = max(y, np.float32(0.0))
                        elif y <= 20.0:
                            e = np.exp(y)
                            slope = e / (np.float32(1.0) + e)
                            y = np.log1p(e)
                        else:
                            slope = np.float32(1.0)
                        acc += grad[row, q] * y
                        pre[j, q] = alpha[j] * grad[row, q] * slope  # now d pre
                    d_alpha[j] = acc
                    s += alpha[j] * acc
                for j in range(m):
                    pre[j, f] = alpha[j] * (d_alpha[j] - s)
                for j in range(m):
                    if alpha[j] == 0:
                        continue
                    nb = base + nbr[row, j]
                    k, w = ks[j], ws[j]
                    for q in range(c):
                        g = pre[j, q]
                        grad_self[row, q] += g
                        grad_nbr[nb, q] += g
                        grad_table[t, k, q] += (np.float32(1.0) - w) * g
                        grad_table[t, k + 1, q] += w * g
    return grad_self, grad_nbr, grad_table.sum(axis=0)


def _threads(n_frames: int) -> int:
    return max(1, min(torch.get_num_threads(), n_frames, numba.config.NUMBA_NUM_THREADS))


def _arrays(*tensors: Tensor) -> list[np.ndarray]:
    return [t.detach().contiguous().numpy() for t in tensors]


class EdgeAttention(torch.autograd.Function):
    """``out (B*R, F)`` of the module docstring; gradients for ``table``, ``a_self`` and ``a_nbr``.

    Inputs: ``table (T, F+1)`` float32 (``P`` on the grid ``d = t h``), ``a_self (B*R, F+1)``,
    ``a_nbr (B*N, F+1)`` float32, ``dist (B*R, W)`` float32 Å and ``weight (B*R, W)`` float32 shell
    weights (no gradient), ``nbr (B*R, W)`` int32/int64 atom indices within each frame, ``rows_per_frame`` R, ``n_atoms`` N, ``inv_h``
    (1/Å) and the activation code (:data:`ACTIVATION_CODES`).
    """

    @staticmethod
    def forward(ctx, table, a_self, a_nbr, dist, weight, nbr, rows_per_frame, n_atoms, inv_h, act):  # noqa: D102
        args = (*_arrays(table, a_self, a_nbr, dist, weight, nbr), int(rows_per_frame), int(n_atoms),
                np.float32(inv_h), int(act), _threads(dist.shape[0] // rows_per_frame))
        ctx.save_for_backward(table, a_self, a_nbr, dist, weight, nbr)
        ctx.scalars = args[6:]
        return torch.from_numpy(_forward(*args))

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        arrays = _arrays(grad.float(), *ctx.saved_tensors)
        grad_self, grad_nbr, grad_table = _backward(*arrays, *ctx.scalars)
        return (torch.from_numpy(grad_table), torch.from_numpy(grad_self), torch.from_numpy(grad_nbr),
                None, None, None, None, None, None, None)
