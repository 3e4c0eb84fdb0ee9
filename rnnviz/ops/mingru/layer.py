"""``min_rnn_layer``: one minGRU / minLSTM layer on the GPU, its GEMM and the fused recurrence
as one autograd node.

Written as ``F.linear`` followed by :func:`min_recurrence`, a layer is several autograd nodes
(the concatenation of the gates' weights, the GEMM, its views and transposes, the
recurrence), each a few host-side calls per step, and its bias gradient is a separate
reduction that reads all of dL/dP again: on an H100 at B = 64, H = 128, T = 4096 (fp32)
that reduction was 185 us of a 2.1 ms training step (benchmarks/profile-h100.txt). Here the
backward is, with cuBLAS,

    dx = dP W,   dW = dP^T x,

the bias gradient comes from the backward kernel's own partial sums (a few MB), and the
gradients of the separate ``nn.Linear`` weights are views of dW: no concatenation node.

The weights are concatenated once per parameter update (:class:`StackedWeights` keys its
cache on the parameters' versions), not on every forward. The GEMM runs in the autocast
dtype like any torch matmul; under autocast the input is cast once and that copy is what
the backward's dW GEMM reads. Every dtype is explicit here, in the forward (the weights
come stacked in the compute dtype) and in the backward (the forward's dtypes), so the node
does without ``torch.amp.custom_fwd`` / ``custom_bwd`` (see
:func:`rnnviz.device.backward_outside_autocast`).
"""
from __future__ import annotations

from typing import Sequence

import torch

from rnnviz.device import backward_outside_autocast, eager_under_compile
from rnnviz.trace import stage

from .function import fused_backward, fused_forward

__all__ = ["min_rnn_layer", "MinRNNLayerFunction", "StackedWeights"]


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype a torch matmul on x runs in here: the autocast dtype when autocast is on."""
    if x.is_floating_point() and torch.is_autocast_enabled(x.device.type):
        return torch.get_autocast_dtype(x.device.type)
    return x.dtype


def _version_key(params: list[torch.Tensor], dtype: torch.dtype):
    """What identifies the current values of ``params``; None where a tensor keeps no
    version counter (inference-mode tensors): then nothing is cached."""
    try:
        return (dtype, tuple((id(p), p._version, p.data_ptr()) for p in params))
    except RuntimeError:
        return None


class StackedWeights:
    """The gates' and candidate's weights (and biases) concatenated in the order of the
    pre-activations, in a given dtype, without autograd: recomputed only when a parameter
    changed (its version counter, identity or storage) or another dtype is asked for."""

    def __init__(self):
        self._key = None
        self._value: tuple[torch.Tensor, torch.Tensor | None] | None = None

    def get(self, weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor] | None,
            dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor | None]:
        key = _version_key(list(weights) + list(biases or []), dtype)
        if key is None or key != self._key:  # the first call's key never matches None
            with torch.no_grad():
                W = torch.cat([w.detach() for w in weights]).to(dtype)
                b = None if biases is None else torch.cat([b.detach() for b in biases]).to(dtype)
            self._key, self._value = key, (W, b)
        return self._value


class MinRNNLayerFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, W, b, cfg, n_weights: int, *params):
        cell, H, D, positive, batch_first, layer = cfg
        with stage(cell, "gemm", x.device, layer):
            x2 = x.reshape(-1, x.shape[-1])
            if x2.dtype != W.dtype:  # autocast: cast once, and keep that copy for dW
                x2 = x2.to(W.dtype)
            P2 = torch.mm(x2, W.t()) if b is None else torch.addmm(b, x2, W.t())
            P = P2.view(*x.shape[:-1], W.shape[0])
        Pb = P if batch_first else P.transpose(0, 1)  # [B, T, K*D*H], a view
        h0 = None if h0 is None else h0.to(P.dtype)
        with stage(cell, "recurrence", x.device, layer):
            out = fused_forward(Pb, h0, cell, H, D, positive, layer)
        ctx.save_for_backward(x2, W, Pb, h0, out)
        ctx.cfg = (cfg, n_weights, x.shape, x.dtype, [p.dtype for p in params])
        return out if batch_first else out.transpose(0, 1)

    @staticmethod
    @backward_outside_autocast
    def backward(ctx, grad_out):
        x2, W, Pb, h0, out = ctx.saved_tensors
        (cell, H, D, positive, batch_first, _), n_weights, x_shape, x_dtype, dtypes = ctx.cfg
        need = ctx.needs_input_grad
        want_w = any(need[6:6 + n_weights])
        want_b = len(dtypes) > n_weights and any(need[6 + n_weights:])
        gob = grad_out if batch_first else grad_out.transpose(0, 1)
        dPb, dh0, db = fused_backward(Pb, h0, out, gob, cell, H, D, positive, with_bias=want_b)
        dP2 = (dPb if batch_first else dPb.transpose(0, 1)).reshape(-1, dPb.shape[-1])
        gx = torch.mm(dP2, W.to(dP2.dtype)).view(x_shape).to(x_dtype) if need[0] else None
        gh0 = dh0 if dh0 is not None and need[1] else None
        grads: list[torch.Tensor | None] = [None] * len(dtypes)
        if want_w:  # one GEMM for all the weights; each weight's gradient is a row block
            gW = torch.mm(dP2.t(), x2.to(dP2.dtype)).to(dtypes[0])
            # (split_with_sizes: bound in C, where split goes through a Python wrapper)
            grads[:n_weights] = gW.split_with_sizes((gW.shape[0] // n_weights,) * n_weights)
        if want_b:
            db = db.to(dtypes[n_weights])
            grads[n_weights:] = db.split_with_sizes((db.shape[0] // n_weights,) * n_weights)
        return (gx, gh0, None, None, None, None, *grads)


def min_rnn_layer(x: torch.Tensor, weights: Sequence[torch.Tensor],
                  biases: Sequence[torch.Tensor] | None, h0: torch.Tensor | None, *, cell: str,
                  hidden_size: int, num_directions: int = 1, positive: bool = False,
                  batch_first: bool = False, layer: int | None = None,
                  stacked: StackedWeights | None = None) -> torch.Tensor:
    """One layer on the fused kernels: P = x [W_1; ...; W_K]^T + [b_1; ...; b_K], then the
    recurrence of :func:`rnnviz.ops.mingru.min_recurrence` (mode "parallel", Triton).

    Args:
        x: [T, B, n_in] ([B, T, n_in] when batch_first), channels contiguous.
        weights: the gates' and candidate's nn.Linear weights, each [D*H, n_in], in the
            order of the pre-activations ([gate 1 | gate 2 (minLSTM) | candidate]);
            biases: their biases [D*H] in the same order, or None.
        h0: [D, B, H] or None.
        stacked: a :class:`StackedWeights` cache kept across calls (a module's), so the
            concatenation runs once per parameter update; None concatenates on every call.
    Returns:
        h: [T, B, D*H] ([B, T, D*H] when batch_first).
    """
    if x.stride(-1) != 1:
        x = x.contiguous()
    W, b = (stacked or StackedWeights()).get(weights, biases, _compute_dtype(x))
    cfg = (cell, hidden_size, num_directions, bool(positive), batch_first, layer)
    return _apply_eagerly(x, h0, W, b, cfg, len(weights), *weights, *(biases or []))


# the Triton launches, which torch.compile steps around (rnnviz.device.eager_under_compile)
_apply_eagerly = eager_under_compile(MinRNNLayerFunction.apply)
