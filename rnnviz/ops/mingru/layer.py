"""``min_rnn_layer``: one minGRU / minLSTM layer on the GPU, its GEMM and the fused recurrence
as one autograd node.

Written as ``F.linear`` followed by :func:`min_recurrence`, a layer is several autograd nodes
(the GEMM, its views and transposes, the recurrence), each a few host-side calls per step,
and its bias gradient is a separate reduction that reads all of dL/dP again: on an H100 at
B = 64, H = 128, T = 4096 (fp32) that reduction was 185 us of a 2.1 ms training step
(benchmarks/profile-h100.txt). Here the backward is, with cuBLAS,

    dx = dP W,   dW = dP^T x,

and the bias gradient comes from the backward kernel's own partial sums (a few MB).

The GEMM runs in the autocast dtype like any torch matmul (custom_fwd/custom_bwd keep the
forward's autocast state for the backward).
"""
from __future__ import annotations

import torch

from rnnviz.trace import stage

from .function import fused_backward, fused_forward

__all__ = ["min_rnn_layer", "MinRNNLayerFunction"]


class MinRNNLayerFunction(torch.autograd.Function):
    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda")
    def forward(ctx, x, weight, bias, h0, cell: str, H: int, D: int, positive: bool,
                batch_first: bool, layer):
        with stage(cell, "gemm", x.device, layer):
            x2 = x.reshape(-1, x.shape[-1])
            P2 = torch.mm(x2, weight.t()) if bias is None else torch.addmm(bias, x2, weight.t())
            P = P2.view(*x.shape[:-1], weight.shape[0])
        Pb = P if batch_first else P.transpose(0, 1)  # [B, T, K*D*H], a view
        h0 = None if h0 is None else h0.to(P.dtype)
        with stage(cell, "recurrence", x.device, layer):
            out = fused_forward(Pb, h0, cell, H, D, positive, layer)
        ctx.save_for_backward(x, weight, Pb, h0, out)
        ctx.cfg = (cell, H, D, positive, batch_first, None if bias is None else bias.dtype)
        return out if batch_first else out.transpose(0, 1)

    @staticmethod
    @torch.amp.custom_bwd(device_type="cuda")
    def backward(ctx, grad_out):
        x, weight, Pb, h0, out = ctx.saved_tensors
        cell, H, D, positive, batch_first, bias_dtype = ctx.cfg
        need = ctx.needs_input_grad
        gob = grad_out if batch_first else grad_out.transpose(0, 1)
        dPb, dh0, db = fused_backward(Pb, h0, out, gob, cell, H, D, positive,
                                      with_bias=bias_dtype is not None and need[2])
        dP2 = (dPb if batch_first else dPb.transpose(0, 1)).reshape(-1, dPb.shape[-1])
        gx = gW = None
        if need[0]:
            gx = torch.mm(dP2, weight.to(dP2.dtype)).view(x.shape)
        if need[1]:
            gW = torch.mm(dP2.t(), x.reshape(-1, x.shape[-1]).to(dP2.dtype))
        gb = None if db is None else db.to(bias_dtype)
        gh0 = dh0 if dh0 is not None and need[3] else None
        return gx, gW, gb, gh0, None, None, None, None, None, None


def min_rnn_layer(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                  h0: torch.Tensor | None, *, cell: str, hidden_size: int,
                  num_directions: int = 1, positive: bool = False, batch_first: bool = False,
                  layer: int | None = None) -> torch.Tensor:
    """One layer on the fused kernels: P = x weight^T + bias, then the recurrence of
    :func:`rnnviz.ops.mingru.min_recurrence` (mode "parallel", Triton).

    Args:
        x: [T, B, n_in] ([B, T, n_in] when batch_first), channels contiguous.
        weight: [K*D*H, n_in], the gates' and candidate's nn.Linear weights stacked
            (block-major: [gate 1 | gate 2 (minLSTM) | candidate], each D*H rows);
            bias: [K*D*H] or None.
        h0: [D, B, H] or None.
    Returns:
        h: [T, B, D*H] ([B, T, D*H] when batch_first).
    """
    if x.stride(-1) != 1:
        x = x.contiguous()
    return MinRNNLayerFunction.apply(x, weight, bias, h0, cell, hidden_size, num_directions,
                                     bool(positive), batch_first, layer)
