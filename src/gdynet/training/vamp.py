"""VAMP scores of learned features, differentiable, on single batches or on pre-summed moments.

For instantaneous features ``x_t`` and time-lagged features ``x_tau`` (both (T, S), T time-lagged
pairs, S states) the mean-free covariances are

    C00 = X^T X / (T-1),   C0t = X^T Y / (T-1),   Ctt = Y^T Y / (T-1),   X = x_t - mean, Y = x_tau - mean,

the whitened Koopman matrix is ``A = C00^{-1/2} C0t Ctt^{-1/2}`` with singular values ``s_i``, and

    VAMP1 = 1 + sum_i s_i,     VAMP2 = 1 + sum_i s_i^2,
    VAMPE = 1 + tr(2 S U'^T C0t V' - S U'^T C00 U' S V'^T Ctt V'),  U' = C00^{-1/2} U,  V' = Ctt^{-1/2} V,

where ``A = U S V^T`` (the "+1" is the constant singular function removed with the mean). The paper
trains by maximising VAMP-2 (Eq. 6; loss = -score). ``VAMP1``/``VAMP2`` reproduce
``deeptime.decomposition.deep.vamp_score`` (deeptime 0.4.5) exactly; for ``VAMPE`` deeptime 0.4.5
pairs ``C00^{-1/2}`` with the *right* singular vectors of ``A`` (it takes the SVD of ``A^T``), so its
value differs from the definition whenever ``A`` is not symmetric. This module follows the definition:
on the data it was estimated from, VAMPE equals VAMP2 (both are 1 + sum s_i^2 at full rank).

Distributed training: :func:`vamp_moments` returns sums (count, sum x, sum y, sum x x^T, sum x y^T,
sum y y^T) that add across batches or ranks (``moments.to_vector()`` -> all-reduce ->
``VampMoments.from_vector``); :func:`vamp_score_from_moments` forms the mean-free covariances of the
union and scores them, so summing the moments of the parts equals scoring the whole batch, gradients
included. The moments and the score are computed in float64 (the raw second moments would lose
digits to cancellation in float32); the score is returned in the input dtype. The gradient of
C^{-1/2} uses divided differences (``_InvSqrt``), so degenerate spectra (e.g. constant outputs of a
collapsed network) give finite gradients where autograd through ``eigh`` gives NaN.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from ..base.errors import GdynetError

Method = Literal["VAMP1", "VAMP2", "VAMPE"]
Mode = Literal["trunc", "regularize", "clamp"]
METHODS: tuple[str, ...] = ("VAMP1", "VAMP2", "VAMPE")
MODES: tuple[str, ...] = ("trunc", "regularize", "clamp")
_SOURCE = "vamp_score"


@dataclass(frozen=True)
class VampMoments:
    """Additive sufficient statistics of T time-lagged feature pairs (float64).

    Attributes: ``count`` () number of pairs T; ``sum_t`` (S,) = sum x_t; ``sum_tau`` (S,) = sum x_tau;
    ``sxx`` (S, S) = sum x_t x_t^T; ``sxy`` (S, S) = sum x_t x_tau^T; ``syy`` (S, S) = sum x_tau x_tau^T.
    ``a + b`` is the moments of the union of the two sets of pairs.
    """

    count: Tensor
    sum_t: Tensor
    sum_tau: Tensor
    sxx: Tensor
    sxy: Tensor
    syy: Tensor

    @property
    def n_states(self) -> int:
        """S, the feature dimension."""
        return int(self.sum_t.shape[0])

    def __add__(self, other: VampMoments) -> VampMoments:
        if other.n_states != self.n_states:
            raise GdynetError(f"cannot add moments of {self.n_states} and {other.n_states} states", _SOURCE)
        return VampMoments(*(a + b for a, b in zip(self._fields(), other._fields())))

    def _fields(self) -> tuple[Tensor, ...]:
        return (self.count, self.sum_t, self.sum_tau, self.sxx, self.sxy, self.syy)

    def to_vector(self) -> Tensor:
        """All moments packed into one (1 + 2S + 3S^2,) float64 tensor (for one all-reduce)."""
        return torch.cat([f.reshape(-1) for f in self._fields()])

    @classmethod
    def from_vector(cls, vector: Tensor, n_states: int) -> VampMoments:
        """Inverse of :meth:`to_vector` for S = ``n_states``."""
        s = n_states
        sizes = [1, s, s, s * s, s * s, s * s]
        if vector.ndim != 1 or vector.shape[0] != sum(sizes):
            raise GdynetError(f"moment vector of shape {tuple(vector.shape)} does not hold {s} states", _SOURCE)
        count, sum_t, sum_tau, sxx, sxy, syy = torch.split(vector, sizes)
        return cls(count.reshape(()), sum_t, sum_tau, sxx.reshape(s, s), sxy.reshape(s, s), syy.reshape(s, s))

    def covariances(self) -> tuple[Tensor, Tensor, Tensor]:
        """Mean-free covariances (C00, C0t, Ctt), each (S, S), normalised by 1/(T-1) like deeptime.

        The count T is a number of pairs, not a function of the features: it carries no gradient
        (it may arrive with ``requires_grad`` from a differentiable all-reduce of ``to_vector()``).
        """
        n = self.count.detach()
        mean_t, mean_tau = self.sum_t / n, self.sum_tau / n
        norm = 1.0 / (n - 1)
        c00 = (self.sxx - n * torch.outer(mean_t, mean_t)) * norm
        c0t = (self.sxy - n * torch.outer(mean_t, mean_tau)) * norm
        ctt = (self.syy - n * torch.outer(mean_tau, mean_tau)) * norm
        return c00, c0t, ctt


def _as_pairs(x_t: Tensor, x_tau: Tensor) -> tuple[Tensor, Tensor]:
    """Check and flatten features (..., S) to (T, S) float64."""
    if not (isinstance(x_t, Tensor) and isinstance(x_tau, Tensor)):
        raise GdynetError("features must be torch tensors", _SOURCE)
    if x_t.shape != x_tau.shape:
        raise GdynetError(
            f"instantaneous and lagged features differ in shape: {tuple(x_t.shape)} vs {tuple(x_tau.shape)}",
            _SOURCE,
        )
    if x_t.ndim < 2 or x_t.shape[-1] < 1:
        raise GdynetError(f"features must be (T, S), got shape {tuple(x_t.shape)}", _SOURCE)
    if not (x_t.is_floating_point() and x_tau.is_floating_point()):
        raise GdynetError("features must be floating point", _SOURCE)
    s = x_t.shape[-1]
    return x_t.reshape(-1, s).double(), x_tau.reshape(-1, s).double()


def vamp_moments(x_t: Tensor, x_tau: Tensor) -> VampMoments:
    """Additive moments of the pairs (x_t[i], x_tau[i]).

    Args:
        x_t: (T, S) instantaneous features (leading dimensions, e.g. (B, n, S), are flattened).
        x_tau: (T, S) features of the same samples one lag time later.
    Returns:
        :class:`VampMoments` in float64 on the inputs' device, differentiable w.r.t. both inputs.
    """
    x, y = _as_pairs(x_t, x_tau)
    count = torch.tensor(float(x.shape[0]), dtype=torch.float64, device=x.device)
    xt = x.transpose(0, 1)
    return VampMoments(count, x.sum(0), y.sum(0), xt @ x, xt @ y, y.transpose(0, 1) @ y)


def _inv_sqrt_spectrum(eigval: Tensor, epsilon: float, mode: str) -> tuple[Tensor, Tensor]:
    """f(lambda) = lambda^{-1/2} with the rank handling of ``mode``, and f'(lambda); both (S,).

    trunc: eigenvalues <= epsilon are dropped (f = 0); regularize (epsilon already added to C):
    |lambda|^{-1/2}; clamp: max(lambda, epsilon)^{-1/2}. (deeptime's ``sym_inverse`` conventions.)
    """
    if mode == "trunc":
        keep = eigval > epsilon
        safe = torch.where(keep, eigval, 1.0)
        return torch.where(keep, safe.rsqrt(), 0.0), torch.where(keep, -0.5 * safe.pow(-1.5), 0.0)
    if mode == "regularize":
        mag = eigval.abs()
        return mag.rsqrt(), -0.5 * eigval.sign() * mag.pow(-1.5)
    clamped = eigval.clamp_min(epsilon)
    return clamped.rsqrt(), torch.where(eigval > epsilon, -0.5 * clamped.pow(-1.5), 0.0)


class _InvSqrt(torch.autograd.Function):
    """C^{-1/2} = V f(Lambda) V^T of a symmetric (S, S) matrix, with a degeneracy-safe backward.

    Autograd through ``eigh`` divides by lambda_i - lambda_j and returns NaN when two eigenvalues
    coincide (e.g. a collapsed network whose outputs are constant, C = 0). The backward here is the
    Daleckii-Krein formula dC = V [(V^T G V) o Gamma] V^T with the divided differences
    Gamma_ij = (f_i - f_j) / (lambda_i - lambda_j), and (f'_i + f'_j) / 2 for (near-)equal pairs,
    which is the same gradient wherever eigh's is finite.
    """

    @staticmethod
    def forward(ctx, c: Tensor, epsilon: float, mode: str) -> Tensor:
        eigval, eigvec = torch.linalg.eigh(c)
        f, df = _inv_sqrt_spectrum(eigval, epsilon, mode)
        ctx.save_for_backward(eigval, eigvec, f, df)
        return (eigvec * f) @ eigvec.transpose(0, 1)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:
        eigval, eigvec, f, df = ctx.saved_tensors
        gap = eigval[:, None] - eigval[None, :]
        scale = torch.maximum(eigval.abs()[:, None], eigval.abs()[None, :])
        close = gap.abs() <= 1e-9 * scale
        gamma = torch.where(close, 0.5 * (df[:, None] + df[None, :]),
                            (f[:, None] - f[None, :]) / torch.where(close, 1.0, gap))
        inner = eigvec.transpose(0, 1) @ (0.5 * (grad + grad.transpose(0, 1))) @ eigvec
        return eigvec @ (inner * gamma) @ eigvec.transpose(0, 1), None, None


def _inv_sqrt(c: Tensor, epsilon: float, mode: str) -> Tensor:
    """C^{-1/2} of a symmetric PSD (S, S) matrix, rank deficiency handled by ``mode`` (see above)."""
    if mode == "regularize":
        c = c + epsilon * torch.eye(c.shape[0], dtype=c.dtype, device=c.device)
    return _InvSqrt.apply(c, epsilon, mode)


def _check_options(method: str, mode: str, epsilon: float) -> None:
    if method not in METHODS:
        raise GdynetError(f"unknown VAMP method {method!r}; choose one of {', '.join(METHODS)}", _SOURCE)
    if mode not in MODES:
        raise GdynetError(f"unknown regularisation mode {mode!r}; choose one of {', '.join(MODES)}", _SOURCE)
    if not epsilon > 0:
        raise GdynetError(f"epsilon must be > 0, got {epsilon}", _SOURCE)


def vamp_score_from_moments(
    moments: VampMoments, method: Method = "VAMP2", epsilon: float = 1e-6, mode: Mode = "trunc",
    relative: bool = False,
) -> Tensor:
    """VAMP score (module docstring) of the pairs summarised by ``moments``; scalar float64 tensor.

    ``relative=True`` divides the three covariances by their mean variance
    ``(tr C00 + tr Ctt) / 2S`` before the inverses, so ``epsilon`` is a fraction of the features'
    own scale rather than an absolute variance. VAMP scores are invariant to this common scaling,
    so the value is the same wherever no eigenvalue is cut; what changes is that features of small
    spread (e.g. a softmax whose outputs drift towards 0 and 1, spread 1e-3) are not cut away. An
    absolute cut-off makes such a drift a cliff: the score drops to exactly 1 with zero gradient,
    and training never recovers (the "collapse" of a trained network; used by the trainer).
    """
    _check_options(method, mode, epsilon)
    # one host read of the count; on CUDA the eigh below synchronises the device anyway
    count = float(moments.count.detach())
    if count < 2:
        raise GdynetError(f"need at least 2 time-lagged pairs, got {count:g}", _SOURCE)
    c00, c0t, ctt = moments.covariances()
    if relative:
        scale = ((torch.trace(c00) + torch.trace(ctt)) / (2 * c00.shape[0])).detach()
        if scale > 0:
            c00, c0t, ctt = c00 / scale, c0t / scale, ctt / scale
    w0 = _inv_sqrt(c00, epsilon, mode)
    wt = _inv_sqrt(ctt, epsilon, mode)
    koopman = w0 @ c0t @ wt
    if method == "VAMP2":
        return 1 + koopman.square().sum()
    if method == "VAMP1":
        return 1 + torch.linalg.svdvals(koopman).sum()
    u, s, vh = torch.linalg.svd(koopman)
    keep = s > epsilon
    s = s[keep]
    u0 = w0 @ u[:, keep]
    vt = wt @ vh.transpose(0, 1)[:, keep]
    gain = 2 * (s * torch.diagonal(u0.T @ c0t @ vt)).sum()
    a = s[:, None] * (u0.T @ c00 @ u0)  # S U'^T C00 U'
    b = s[:, None] * (vt.T @ ctt @ vt)  # S V'^T Ctt V'
    return 1 + gain - (a * b.T).sum()


def vamp_score(
    x_t: Tensor, x_tau: Tensor, method: Method = "VAMP2", epsilon: float = 1e-6, mode: Mode = "trunc"
) -> Tensor:
    """VAMP score of time-lagged feature pairs (module docstring), differentiable.

    Args:
        x_t: (T, S) features at time t (e.g. the model's (B, n, S) output; leading dims are flattened).
        x_tau: (T, S) features of the same target sets at t + tau.
        method: "VAMP2" (the paper's training score), "VAMP1" or "VAMPE".
        epsilon: eigenvalue cutoff ("trunc"/"clamp") or regulariser ("regularize") for C^{-1/2}.
        mode: "trunc", "regularize" or "clamp", as in deeptime.
    Returns:
        Scalar tensor in the dtype of ``x_t`` (computed in float64). The training loss is ``-score``.
    """
    _check_options(method, mode, epsilon)
    return vamp_score_from_moments(vamp_moments(x_t, x_tau), method, epsilon, mode).to(x_t.dtype)


def vamp_loss(
    x_t: Tensor, x_tau: Tensor, method: Method = "VAMP2", epsilon: float = 1e-6, mode: Mode = "trunc"
) -> Tensor:
    """``-vamp_score(...)``: the loss minimised in training (Eq. 6)."""
    return -vamp_score(x_t, x_tau, method, epsilon, mode)
