"""Implicit gradients of the DEER solution: one reverse linear solve, then VJPs of f.

At the solution h_t = f(h_{t-1}, x_t; theta) for all t. For a loss L(h) with g_t = dL/dh_t,
the implicit function theorem (not backpropagation through the Newton iterations) gives the
adjoint recurrence, run backwards in time,

    lambda_t = g_t + J_{t+1}^T lambda_{t+1},   lambda_{T-1} = g_{T-1},   J_t = df/dh at h_{t-1},

one reverse dense scan (``rnnviz.ops.dense_scan.dense_scan_adjoint``, the transposed and
shifted Jacobians read as a strided view), and then one vector-Jacobian product of the cell
over all (b, t) at once:

    dL/dtheta = sum_t (df/dtheta)^T lambda_t,   dL/dx_t = (df/dx_t)^T lambda_t,
    dL/dh0 = J_0^T lambda_0  (the VJP's h_{-1} part).

Over a memory limit the same runs over time chunks from the last one back, carrying
J_{s}^T lambda_{s} (the VJP's h_prev part at a chunk's first step) into the chunk before.
Gradients reach the cell's parameters when the cell is an ``nn.Module``.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch.autograd.function import once_differentiable

from rnnviz.deer.cells import CellSpec
from rnnviz.ops.dense_scan.function import dense_scan_adjoint

__all__ = ["DeerFunction", "implicit_backward"]


def implicit_backward(spec: CellSpec, x: torch.Tensor, h0: torch.Tensor, h: torch.Tensor,
                      g: torch.Tensor, params: list[torch.Tensor], *, backend: str, fused: bool,
                      precision: str, chunk_T: int, need_x: bool = True
                      ) -> tuple[torch.Tensor | None, torch.Tensor, list[torch.Tensor | None]]:
    B, T, S = h.shape
    dx = torch.zeros_like(x) if need_x else None
    want = [p for p in params if p.requires_grad]
    dparams: list[torch.Tensor | None] = [None] * len(want)
    carry = torch.zeros(B, S, dtype=h.dtype, device=h.device)
    starts = list(range(0, T, chunk_T))
    for s in reversed(starts):
        e = min(T, s + chunk_T)
        first = h0 if s == 0 else h[:, s - 1]
        hp = torch.cat([first[:, None].to(h.dtype), h[:, s:e - 1]], 1)
        with torch.no_grad():
            lin = spec.linearize(spec.prepare(x[:, s:e]), hp, h[:, s:e], "dense", 1.0, False, fused)
            gc = g[:, s:e].clone()
            gc[:, -1] += carry
            lam = dense_scan_adjoint(lin.J, gc, backend=backend, precision=precision)
            del lin
        with torch.enable_grad():
            xs = x[:, s:e].detach().requires_grad_(need_x)
            hps = hp.detach().requires_grad_(True)
            n = B * (e - s)
            f = spec.call(xs.reshape(n, -1), hps.reshape(n, S))
            inputs = ([xs] if need_x else []) + [hps] + want
            grads = torch.autograd.grad(f, inputs, lam.reshape(n, S), allow_unused=True)
        k = 0
        if need_x:
            dx[:, s:e] = grads[0]
            k = 1
        carry = grads[k][:, 0] if grads[k] is not None else torch.zeros_like(carry)
        for j, gp in enumerate(grads[k + 1:]):
            if gp is not None:
                dparams[j] = gp if dparams[j] is None else dparams[j] + gp
    full: list[torch.Tensor | None] = []
    it = iter(dparams)
    for p in params:
        full.append(next(it) if p.requires_grad else None)
    return dx, carry, full


class DeerFunction(torch.autograd.Function):
    """h = DEER(x, h0; params) with the implicit backward above.

    ``run(x, h0) -> (h, info)`` solves (without grad); ``ctx_args`` carries what the backward
    needs (spec, backend, chunk length)."""

    @staticmethod
    def forward(ctx, run: Callable, bwd: dict[str, Any], x, h0, *params):
        h = run(x, h0)
        ctx.bwd = bwd
        ctx.n_params = len(params)
        ctx.save_for_backward(x, h0, h, *params)
        return h

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        x, h0, h, *params = ctx.saved_tensors
        b = ctx.bwd
        dx, dh0, dparams = implicit_backward(
            b["spec"], x, h0, h, g.contiguous(), b["params"], backend=b["backend"],
            fused=b["fused"], precision=b["precision"], chunk_T=b["chunk_T"],
            need_x=ctx.needs_input_grad[2])
        return (None, None, dx, dh0 if ctx.needs_input_grad[3] else None, *dparams)
