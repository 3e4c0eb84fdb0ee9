"""``dense_scan``: the public, checked, differentiable dense linear recurrence.

    forward:  h_t = J_t h_{t-1} + b_t   (h_{-1} = h0)
    reverse:  h_t = J_t h_{t+1} + b_t   (h_T = h0)

Backward (forward direction; the reverse one mirrors it): with g = dL/dh the adjoint
lambda_t = g_t + J_{t+1}^T lambda_{t+1} is itself a dense scan, run in reverse on the
transposed, shifted Jacobians (a strided view, no copy); then

    dL/db_t = lambda_t,   dL/dJ_t = lambda_t h_{t-1}^T,   dL/dh0 = J_0^T lambda_0.
"""
from __future__ import annotations

import torch

from rnnviz.checks import check_same, check_tensor
from rnnviz.device import eager_under_compile, resolve_backend
from rnnviz.ops.dense_scan.naive import dense_scan_naive
from rnnviz.ops.dense_scan.torch_scan import dense_scan_torch

__all__ = ["dense_scan", "dense_scan_adjoint", "run_scan"]


def run_scan(J: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None, reverse: bool,
             backend: str, precision: str = "ieee", add: torch.Tensor | None = None
             ) -> torch.Tensor:
    """The forward recurrence on an already resolved backend, no checks, no autograd.
    ``add``: return add + h (the Triton kernel adds as it stores h: one pass fewer)."""
    if backend == "triton":
        from rnnviz.kernels.deer import dense_scan_fwd

        return dense_scan_fwd(J, b, h0, reverse=reverse, precision=precision, add=add)
    if backend == "torch":
        h = dense_scan_torch(J, b, h0, reverse=reverse)
    else:
        h = dense_scan_naive(J, b, h0, reverse=reverse).to(b.dtype)
    return h if add is None else add + h


def dense_scan_adjoint(J: torch.Tensor, g: torch.Tensor, *, reverse: bool = False,
                       backend: str = "torch", precision: str = "ieee") -> torch.Tensor:
    """lambda with lambda_t = g_t + J_{t+1}^T lambda_{t+1} (``reverse``: J_{t-1}^T lambda_{t-1}):
    the adjoint of the (forward or reverse) recurrence for an output gradient g [B, T, D]."""
    T = g.shape[1]
    lam = torch.empty_like(g)
    if reverse:
        lam[:, 0] = g[:, 0]
        if T > 1:
            lam[:, 1:] = run_scan(J[:, :-1].mT, g[:, 1:], g[:, 0], False, backend, precision)
    else:
        lam[:, T - 1] = g[:, T - 1]
        if T > 1:
            lam[:, :-1] = run_scan(J[:, 1:].mT, g[:, :-1], g[:, T - 1], True, backend, precision)
    return lam


class DenseScanFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, J, b, h0, reverse, backend):
        h = run_scan(J, b, h0, reverse, backend)
        ctx.save_for_backward(J, h, h0)
        ctx.reverse, ctx.backend = reverse, backend
        return h

    @staticmethod
    def backward(ctx, g):
        J, h, h0 = ctx.saved_tensors
        reverse, backend = ctx.reverse, ctx.backend
        lam = dense_scan_adjoint(J, g.contiguous(), reverse=reverse, backend=backend)
        start = torch.zeros_like(h[:, 0]) if h0 is None else h0.to(h.dtype)
        if reverse:
            h_in = torch.cat([h[:, 1:], start[:, None]], 1)  # h_{t+1}
            J_end = J[:, -1]
        else:
            h_in = torch.cat([start[:, None], h[:, :-1]], 1)  # h_{t-1}
            J_end = J[:, 0]
        dJ = lam[..., :, None] * h_in[..., None, :] if ctx.needs_input_grad[0] else None
        lam_end = lam[:, -1] if reverse else lam[:, 0]
        dh0 = None
        if h0 is not None and ctx.needs_input_grad[2]:
            dh0 = (J_end.mT @ lam_end[..., None])[..., 0].to(h0.dtype)
        return dJ, lam, dh0, None, None


def dense_scan(J: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None, *,
               reverse: bool = False, backend: str = "auto") -> torch.Tensor:
    """Solve h_t = J_t h_{t-1} + b_t for all t (``reverse=True``: h_t = J_t h_{t+1} + b_t).

    Args:
        J: [B, T, D, D] the transition matrices (DEER's Jacobians).
        b: [B, T, D] the inputs.
        h0: [B, D] the state before the first step (after the last one when reversed);
            None for zeros.
        backend: "auto" (Triton on CUDA for D <= 64, else the torch doubling scan),
            "triton", "torch" or "reference" (the float64 loop).
    Returns:
        h: [B, T, D], differentiable in J, b and h0.
    """
    check_tensor("b", b, 3, dims="[B, T, D]")
    check_tensor("J", J, 4, dims="[B, T, D, D]")
    B, T, D = b.shape
    check_same("J", J, "b", b, shape=(B, T, D, D))
    if h0 is not None:
        check_tensor("h0", h0, 2, dims="[B, D]")
        check_same("h0", h0, "b", b, shape=(B, D))
    be = resolve_backend(backend, b.device, b.dtype)
    if be == "triton" and D > 64:
        if backend == "triton":
            raise ValueError(f"backend='triton' supports D <= 64 (D x D held in registers), got D={D}")
        be = "torch"
    apply = _apply_eagerly if be == "triton" else DenseScanFunction.apply
    return apply(J, b, h0, bool(reverse), be)


# the Triton launches, which torch.compile steps around (rnnviz.device.eager_under_compile)
_apply_eagerly = eager_under_compile(DenseScanFunction.apply)
