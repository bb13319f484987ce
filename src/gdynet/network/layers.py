"""Building blocks of the graph dynamical network (Methods, Eqs. 7-9) and the shared MLP head.

Shapes: B frames in a batch, N atoms, W = M + 2 stored neighbours per atom (M used, see
:mod:`gdynet.graphs.shells`), F atom-feature width, G Gaussians. Graphs use the dense layout of
:class:`gdynet.graphs.store.GraphStore`: ``nbr_idx (B, N, W)`` holds the index of the j-th nearest
neighbour (periodic images included) of atom i in frame b, ``nbr_dist (B, N, W)`` its distance in Å.
Every atom has exactly W neighbours, weighted by distance, so neighbour features are fetched with one
``index_select`` (no scatter in the forward pass).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..base.errors import GdynetError
from . import edge_kernel
from .shell import weighted_softmax

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "softplus": nn.Softplus}
NORMS: tuple[str, ...] = ("layer", "none")


# exp() of arguments below ~-87 gives float32 subnormals, which are ~100x slower on x86 CPUs and
# slow down everything downstream; such Gaussians (< 1e-35) are set to exactly 0 instead.
_EXP_FLOOR = -80.0
_TINY = 1e-34
#: grid points per Gaussian width sigma of the interpolation table of the fused CPU kernel
TABLE_STEPS = 1024
#: the fused CPU kernel (:mod:`.edge_kernel`) is used from this many edges on (below: plain torch ops)
FUSED_MIN_EDGES = 4096


class GaussianExpansion(nn.Module):
    """Eq. 7: u_t(d) = exp(-(d - mu_t)^2 / sigma^2), mu_t = t * sigma, t = 0 .. n_gaussians - 1.

    ``sigma = cutoff / (n_gaussians - 1)`` (0.2 Å for the defaults 7 Å / 36, as in the paper).
    Distances beyond ``cutoff`` decay to ~0 features, so choose cutoff >= the largest M-th neighbour
    distance of the system. Values below 1e-34 are returned as exact zeros (see ``_EXP_FLOOR``).
    """

    def __init__(self, cutoff: float = 7.0, n_gaussians: int = 36) -> None:
        super().__init__()
        if n_gaussians < 2 or not cutoff > 0:
            raise GdynetError(f"need cutoff > 0 Å and n_gaussians >= 2, got {cutoff} and {n_gaussians}",
                              "GaussianExpansion")
        self.register_buffer("centres", torch.linspace(0.0, float(cutoff), int(n_gaussians)), persistent=False)
        self.inv_width2 = ((n_gaussians - 1) / float(cutoff)) ** 2

    def forward(self, dist: Tensor) -> Tensor:
        """(...) distances in Å -> (..., G) features in [0, 1]."""
        if dist.requires_grad:  # e.g. forces through the network: keep every step differentiable
            arg = -(dist.unsqueeze(-1) - self.centres).square() * self.inv_width2
            return torch.where(arg > _EXP_FLOOR, arg.clamp(min=_EXP_FLOOR).exp(), 0.0)
        arg = torch.sub(dist.unsqueeze(-1), self.centres).square_().mul_(-self.inv_width2)
        return nn.functional.threshold_(arg.clamp_(min=_EXP_FLOOR).exp_(), _TINY, 0.0)


class _GaussianLinear(torch.autograd.Function):
    """out = GaussianExpansion(d) @ W^T + b, in row chunks, without storing the (E, G) expansion.

    The backward recomputes the expansion chunk by chunk for dW = u^T grad. Distances get no
    gradient (they are data here). CPU only: on GPUs the plain composite is used.
    """

    @staticmethod
    def forward(ctx, dist: Tensor, expansion: GaussianExpansion, weight: Tensor, bias: Tensor,
                chunk: int) -> Tensor:
        out = torch.empty(dist.shape[0], weight.shape[0], dtype=weight.dtype, device=weight.device)
        for start in range(0, dist.shape[0], chunk):
            part = slice(start, start + chunk)
            torch.addmm(bias, expansion(dist[part]), weight.t(), out=out[part])
        ctx.save_for_backward(dist)
        ctx.expansion, ctx.chunk = expansion, chunk
        return out

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[None, None, Tensor, Tensor, None]:
        (dist,) = ctx.saved_tensors
        grad_w = grad.new_zeros(grad.shape[1], ctx.expansion.centres.shape[0])
        for start in range(0, dist.shape[0], ctx.chunk):
            part = slice(start, start + ctx.chunk)
            grad_w.addmm_(grad[part].t(), ctx.expansion(dist[part]))
        return None, None, grad_w, grad.sum(0), None


class GaussianLinear(nn.Module):
    """Linear map of the Gaussian-expanded distances, u(d) W^T + b (the u_ij block of Eqs. 8-9).

    The expansion is the largest tensor of the model (E x G per layer for E edges); on CPU it is
    never materialised (``_GaussianLinear``: chunks of ``chunk`` edges, recomputed in backward),
    which removes most of the memory traffic of a training step. Up to ``chunk`` edges, on GPUs and
    when distances need gradients, the plain composite (expansion, then Linear) is used.
    """

    def __init__(self, cutoff: float, n_gaussians: int, out_features: int, chunk: int = 16384) -> None:
        super().__init__()
        self.expansion = GaussianExpansion(cutoff, n_gaussians)
        self.linear = nn.Linear(n_gaussians, out_features)
        self.chunk = chunk

    def forward(self, dist: Tensor) -> Tensor:
        """(...) distances in Å -> (..., out_features)."""
        if dist.is_cuda or dist.requires_grad or dist.numel() <= self.chunk:  # small: autograd's C++ path
            return self.linear(self.expansion(dist))
        flat = _GaussianLinear.apply(dist.reshape(-1), self.expansion, self.linear.weight, self.linear.bias,
                                     self.chunk)
        return flat.view(*dist.shape, -1)

    def table(self) -> tuple[Tensor, float]:
        """``(P, 1/h)``: ``P[t] = u(t h) W^T + b`` (float32, differentiable in W and b) on a grid of step
        ``h = sigma / TABLE_STEPS`` from 0 to ``cutoff + 10 sigma`` (beyond it every Gaussian is an exact
        0, see ``_EXP_FLOOR``). Linear interpolation in ``P`` differs from the direct value by at most
        ``(h / sigma)^2 / 4 = 2.4e-7`` times the weights' scale (the curvature bound of a Gaussian).
        """
        centres = self.expansion.centres
        sigma = self.expansion.inv_width2 ** -0.5
        key = (centres.device, self.linear.weight.dtype)
        if getattr(self, "_grid", (None,))[0] != key:
            n = (len(centres) - 1 + 10) * TABLE_STEPS + 2
            grid = torch.arange(n, dtype=torch.float64, device=centres.device) * (sigma / TABLE_STEPS)
            self._grid = (key, self.expansion(grid.unsqueeze(0)).squeeze(0).float())  # (T, G)
        with torch.autocast(centres.device.type, enabled=False):  # the kernel works in float32
            table = torch.addmm(self.linear.bias.float(), self._grid[1], self.linear.weight.float().t())
        return table, TABLE_STEPS / sigma


def flat_neighbour_index(nbr_idx: Tensor, n_atoms: int) -> Tensor:
    """(B, R, W) per-frame neighbour indices -> (B*R*W,) row indices into a (B*N, ...) flat tensor."""
    offsets = torch.arange(nbr_idx.shape[0], device=nbr_idx.device) * n_atoms
    return (nbr_idx + offsets.view(-1, 1, 1)).reshape(-1)


class AttentionConv(nn.Module):
    """One graph convolution with neighbour attention (Eqs. 8-9), residual update.

    With z_ij = [v_i, v_j, u_ij] (Eq. 8-9) and the shell weights w_ij of :func:`.shell.shell_weights`:
        alpha_ij = w_ij exp(z_ij W_a + b_a) / sum_k w_ik exp(z_ik W_a + b_a)   (over the W stored neighbours)
        v_i'     = v_i + Norm( sum_j alpha_ij * g(z_ij W_n + b_n) )
    (the paper's softmax over the M nearest when every w_ij is 1 or 0).

    z is never built: [W_n | W_a] is split row-wise into the blocks acting on v_i, v_j and u_ij,
    ``v W_self`` and ``v W_nbr`` are computed once per atom (B, N, F+1) and the neighbour part is
    gathered, so the per-edge work is one (G -> F+1) projection of the Gaussians (never stored, see
    GaussianLinear) plus elementwise ops: O(B N M (G+F) F). On CPU with float32 (or bfloat16) features
    and at least ``FUSED_MIN_EDGES`` edges the whole per-edge part runs in one fused kernel
    (:mod:`.edge_kernel`: table-interpolated projection, no per-edge tensors, same values to float32
    rounding); elsewhere (GPU, float64, gradients w.r.t. distances, no numba) in the torch ops below.

    Norm is a LayerNorm over the F features of the aggregated message (``norm="layer"``) or the
    identity (``norm="none"``, the bare Eq. 9). The original TF code used BatchNorm here. BatchNorm
    is not used because (i) its batch statistics make the features of one frame depend on the
    other frames in the batch, while the VAMP score already treats the batch as a statistical
    sample, (ii) in eval mode it switches to running statistics, so the function used for
    prediction/Koopman analysis differs from the one that was scored in training, (iii) distributed
    training would need SyncBatchNorm to stay equivalent to one big batch, and (iv) it would make
    the exact "compute only the rows the targets need" shortcut (``rows``) inexact. LayerNorm is per
    atom: none of these problems, and the same output in train and eval mode.
    """

    def __init__(self, atom_features: int, cutoff: float = 7.0, n_gaussians: int = 36, activation: str = "relu",
                 norm: str = "layer") -> None:
        super().__init__()
        f = atom_features
        self.atom_features = f
        self.self_proj = nn.Linear(f, f + 1, bias=False)  # v_i block of [W_n | W_a]
        self.nbr_proj = nn.Linear(f, f + 1, bias=False)  # v_j block
        self.edge_proj = GaussianLinear(cutoff, n_gaussians, f + 1)  # u_ij block (Eq. 7), carries b_n and b_a
        self.activation = ACTIVATIONS[activation]()
        self.norm = nn.LayerNorm(f) if norm == "layer" else nn.Identity()

    def forward(self, v: Tensor, nbr_idx: Tensor, nbr_dist: Tensor, nbr_weight: Tensor,
                rows: Tensor | None = None) -> Tensor:
        """Update atom features.

        Args:
            v: (B, N, F) atom features v^(t-1).
            nbr_idx: (B, R, W) long, neighbour indices (into 0..N-1) of the R updated atoms.
            nbr_dist: (B, R, W) their distances in Å (expanded in Gaussians, Eq. 7).
            nbr_weight: (B, R, W) their weights w_ij in [0, 1] (:func:`.shell.shell_weights`).
            rows: (R,) long atom indices to update, or None for all N atoms (R = N). Rows not listed
                keep v^(t-1) (used to skip atoms that cannot influence the target atoms).
        Returns:
            (B, N, F) atom features v^(t).
        """
        b, n, f = v.shape
        m = nbr_idx.shape[-1]
        v_rows = v if rows is None else v.index_select(1, rows)
        from_self = self.self_proj(v_rows)  # (B, R, F+1)
        from_nbr = self.nbr_proj(v).reshape(b * n, f + 1)
        if self._fused(v, nbr_dist):
            table, inv_h = self.edge_proj.table()
            r = nbr_idx.shape[1]
            summed = edge_kernel.EdgeAttention.apply(
                table, from_self.float().reshape(b * r, f + 1), from_nbr.float(), nbr_dist.float().reshape(b * r, m),
                nbr_weight.float().reshape(b * r, m), nbr_idx.reshape(b * r, m), r, n, inv_h,
                edge_kernel.ACTIVATION_CODES[type(self.activation).__name__])
            update = v_rows + self.norm(summed.view(b, r, f).to(v.dtype))
            return update if rows is None else v.index_copy(1, rows, update)
        from_nbr = from_nbr.index_select(0, flat_neighbour_index(nbr_idx.long(), n)).view(b, -1, m, f + 1)
        # z [W_n | W_a] + b = u-block + v_i-block + v_j-block, (B, R, W, F+1): one new tensor (in-place
        # ops on a view of the Linear output would cost a slow as_strided backward)
        pre = torch.add(self.edge_proj(nbr_dist), from_self.unsqueeze(2)).add_(from_nbr)
        alpha = weighted_softmax(pre[..., f], nbr_weight)  # Eq. 8 with the shell weights, (B, R, W)
        message = self.activation(pre[..., :f])  # g(z W_n + b_n), (B, R, W, F)
        # Eq. 9; mul+sum rather than a batched (1 x W) @ (W x F) matmul: as fast for many atoms, 3x
        # faster for few
        update = v_rows + self.norm((alpha.unsqueeze(-1) * message).sum(dim=2))
        if rows is None:
            return update
        return v.index_copy(1, rows, update)


    @staticmethod
    def _fused(v: Tensor, nbr_dist: Tensor) -> bool:
        """Use :mod:`.edge_kernel` (CPU, float32 or bfloat16 features, data distances, enough edges)."""
        return (edge_kernel.AVAILABLE and v.device.type == "cpu" and v.dtype in (torch.float32, torch.bfloat16)
                and not nbr_dist.requires_grad and nbr_dist.numel() >= FUSED_MIN_EDGES)


def mlp(in_features: int, hidden: Sequence[int], out_features: int, activation: str = "relu") -> nn.Sequential:
    """Fully connected net in -> hidden[0] -> ... -> out, activation after every hidden layer.

    The softmax is applied by the caller (the models return state probabilities).
    """
    widths = [in_features, *hidden]
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), ACTIVATIONS[activation]()]
    layers.append(nn.Linear(widths[-1], out_features))
    return nn.Sequential(*layers)
