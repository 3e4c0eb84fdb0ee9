"""``SRU``: the Simple Recurrent Unit as a drop-in for ``nn.LSTM`` / ``nn.GRU``.

Lei et al., "Simple Recurrent Units for Highly Parallelizable Recurrence" (arXiv 1709.02755).
Per layer and direction, with x_t the layer's input:

    U_t = x_t W                                   (one GEMM for all t: [T*B, in] x [in, K*H])
    f_t = sigmoid(W_f x_t + v_f * c_{t-1} + b_f)   forget gate
    r_t = sigmoid(W_r x_t + v_r * c_{t-1} + b_r)   reset (highway) gate
    c_t = f_t * c_{t-1} + (1 - f_t) * x~_t         x~_t = W x_t
    h_t = r_t * g(c_t) + (1 - r_t) * x'_t          g = tanh or identity

x'_t = W' x_t when the layer's input width differs from its output width (K = 4), else
x'_t = x_t (times ``scale_x`` when ``rescale``; K = 3). ``peephole=False`` drops v_f, v_r:
the 2017 version, where c is a linear recurrence (``recurrence="scan"`` solves it in
parallel over t with ``rnnviz.ops.linear_scan``).

Only the elementwise recurrence is sequential; it runs in one fused kernel
(``rnnviz.ops.sru_recurrence``). The GEMM stays in cuBLAS.

Precision: the kernel computes in float32 whatever U's dtype. Under bf16 or fp16 autocast
(U in 2 bytes) its forward computes each sigmoid and tanh with the GPU's ``tanh.approx.f32``
(relative error about 2^-11, finer than bf16's own rounding of the gates' inputs; about
fp16's). On an H100 that took the bf16 inference forward from 155.5 to 138.8 us and the
training forward from 202.1 to 191.8 (benchmarks/sru-tanh-ab-h100.json). The backward, and
float32 U, use exp and a reciprocal.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import PackedSequence

from rnnviz.checks import check_input_dtype, check_rnn_input, check_rnn_state
from rnnviz.models.common import repack_output, rnn_extra_repr, unpack_input
from rnnviz.ops.sru.function import ACTIVATIONS, RECURRENCES
from rnnviz.ops.sru.layer import sru_layer

__all__ = ["SRU", "SRULayer"]


class SRULayer(nn.Module):
    """One SRU layer, both directions, with the official ``sru`` package's parameters
    (its ``SRUCell``), so state dicts move between the two.

    Parameters (D = 2 if bidirectional else 1, H = hidden_size, K = 3 or 4):
        weight: [input_size, D*H*K]; column (d*H + j)*K + k holds, for direction d and unit
            j, part k of (x~, f, r[, x']) -- i.e. weight.view(input_size, D, H, K).
        weight_c: [2*D*H] = view(2, D, H): (v_f, v_r). A zero buffer when peephole=False.
        bias: [2*D*H] = view(2, D, H): (b_f, b_r). A zero buffer when bias=False.
        scale_x: buffer [1], the skip-term scale sqrt(1 + 2 exp(highway_bias)) used when
            rescale=True and K = 3 (with K = 4 the scale is folded into W' at init).
    """

    def __init__(self, input_size: int, hidden_size: int, *, bidirectional: bool = False,
                 bias: bool = True, activation: str = "tanh", peephole: bool = True,
                 highway_bias: float = 0.0, rescale: bool = False):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.num_directions = 2 if bidirectional else 1
        self.output_size = self.num_directions * hidden_size
        self.num_matrices = 4 if input_size != self.output_size else 3
        self.activation, self.peephole = activation, peephole
        self.highway_bias, self.rescale, self.has_bias = highway_bias, rescale, bias
        self.weight = nn.Parameter(torch.empty(input_size, self.output_size * self.num_matrices))
        if peephole:
            self.weight_c = nn.Parameter(torch.empty(2 * self.output_size))
        else:
            self.register_buffer("weight_c", torch.zeros(2 * self.output_size))
        if bias:
            self.bias = nn.Parameter(torch.empty(2 * self.output_size))
        else:
            self.register_buffer("bias", torch.zeros(2 * self.output_size))
        self.register_buffer("scale_x", torch.ones(1))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """The official package's recipe: E[w] = 0, Var[w] = 1/input_size; gates and v
        scaled by sqrt(1/2) (peephole); r's bias = highway_bias."""
        d = self.weight.shape[0]
        self.weight.uniform_(-(3.0 / d) ** 0.5, (3.0 / d) ** 0.5)
        w = self.weight.view(d, self.num_directions, self.hidden_size, self.num_matrices)
        self.bias.zero_()
        if self.has_bias:
            self.bias[self.output_size:] = self.highway_bias
        scale = (1 + math.exp(self.highway_bias) * 2) ** 0.5
        self.scale_x.fill_(scale if self.rescale else 1.0)
        if self.rescale and self.num_matrices == 4:
            w[..., 3].mul_(scale)
        if self.peephole:
            self.weight_c.uniform_(-3.0 ** 0.5, 3.0 ** 0.5).mul_(0.5 ** 0.5)
            w[..., 1].mul_(0.5 ** 0.5)
            w[..., 2].mul_(0.5 ** 0.5)

    def forward(self, x: torch.Tensor, c0: torch.Tensor | None, mask_pad: torch.Tensor | None, *,
                batch_first: bool, layer: int | None = None, input_mask: torch.Tensor | None = None,
                recurrence: str = "auto", backend: str = "auto") -> tuple[torch.Tensor, torch.Tensor]:
        """x: [T, B, input_size] ([B, T, ...] if batch_first); c0: [B, D*H] or None;
        input_mask: a variational dropout mask [B, input_size] (shared over time)."""
        weight = self.weight
        if x.dtype != weight.dtype:  # (checked here, where the weight is at hand, per layer)
            check_input_dtype(x, weight)
        return sru_layer(
            x, weight, self.weight_c if self.peephole else None, self.bias, c0,
            input_mask=input_mask, scale_x=self._scale() if self.rescale else 1.0,
            activation=self.activation, mask_pad=mask_pad, num_directions=self.num_directions,
            batch_first=batch_first, recurrence=recurrence, backend=backend, layer=layer)

    def _scale(self) -> float:
        # scale_x as a Python float without a device sync per forward: re-read only when the
        # buffer changed (reset_parameters, load_state_dict bump its version)
        key = (self.scale_x._version, self.scale_x.data_ptr())
        if getattr(self, "_scale_cache", (None,))[0] != key:
            self._scale_cache = (key, float(self.scale_x))
        return self._scale_cache[1]

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_directions={self.num_directions}, "
                f"activation={self.activation!r}, peephole={self.peephole}")


class SRU(nn.Module):
    """Simple Recurrent Unit, shaped like ``nn.LSTM``: ``(output, c_n) = sru(input, c0)``.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, bidirectional: as nn.LSTM.
        dropout: dropout on the outputs of every layer but the last (as nn.LSTM).
        activation: g in h_t = r_t g(c_t) + (1 - r_t) x'_t: "tanh" or "identity".
        peephole: v_f * c_{t-1}, v_r * c_{t-1} inside the gates (SRU v2, the default);
            False is the 2017 version, whose c is a linear recurrence.
        highway_bias: initial b_r (negative values favour the skip term at init).
        rescale: scale the skip term x'_t = x_t by sqrt(1 + 2 exp(highway_bias)).
        rnn_dropout: variational dropout on each layer's input to its GEMM: one mask per
            sequence, shared over time.
        recurrence: "auto" | "kernel" | "scan" (``rnnviz.ops.sru_recurrence``).
        backend: "auto" | "triton" | "torch" | "reference".

    Parameters: ``rnn_lst[i]`` is an :class:`SRULayer` whose ``weight`` [in, D*H*K],
    ``weight_c`` [2*D*H] and ``bias`` [2*D*H] are laid out as in the official ``sru``
    package (keys ``rnn_lst.{i}.weight``, ``.weight_c``, ``.bias``, ``.scale_x``), so its
    state dicts load here and back. weight.view(in, D, H, K)[..., k] is part k of
    (x~, f, r[, x']); weight_c.view(2, D, H) = (v_f, v_r); bias.view(2, D, H) = (b_f, b_r).
    K = 4 where a layer's input width differs from D*H (the skip term is projected).

    Shapes (L = num_layers, D = 2 if bidirectional else 1):
        input [T, B, input_size] ([B, T, input_size] if batch_first; [T, input_size] unbatched)
        c0 [L*D, B, H] (or None: zeros); mask_pad bool [T, B] ([B, T] if batch_first), True at
        padding: the state is carried unchanged through it and the output there is 0.
        output [T, B, D*H]; c_n [L*D, B, H], like nn.LSTM's c_n.

    A ``PackedSequence`` input (``nn.utils.rnn.pack_padded_sequence``) works as with nn.LSTM:
    it runs as the padded batch with mask_pad from its lengths, the output comes back packed
    like the input, and c_n holds each sequence's state at its last real step (the backward
    direction's after t = 0), c0 and c_n in the batch's original order.

    Speed: at the paper's sizes a training step is the host's, not the GPU's (on an H100, l=128,
    d=256, B=32: 0.18 ms of GPU work, 0.49 ms eagerly). The backward is a Python autograd
    Function, which torch runs on its CUDA device thread by default; wrapping ``backward()``
    in ``torch.autograd.set_multithreading_enabled(False)`` kept it on the calling thread and
    took that step to 0.30 ms, and a CUDA graph of the step to 0.18
    (``benchmarks/sru-l128-h100-*.json``, notebook 2, section 6).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 activation: str = "tanh", peephole: bool = True, highway_bias: float = 0.0,
                 rescale: bool = False, rnn_dropout: float = 0.0, recurrence: str = "auto",
                 backend: str = "auto"):
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        for name, p in (("dropout", dropout), ("rnn_dropout", rnn_dropout)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {p}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        if recurrence not in RECURRENCES:
            raise ValueError(f"recurrence must be one of {RECURRENCES}, got {recurrence!r}")
        if recurrence == "scan" and peephole:
            raise ValueError("recurrence='scan' needs peephole=False (with the peephole c is "
                             "not a linear recurrence)")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.activation, self.peephole, self.highway_bias = activation, peephole, highway_bias
        self.rescale, self.rnn_dropout = rescale, float(rnn_dropout)
        self.recurrence, self.backend = recurrence, backend
        out = self.num_directions * hidden_size
        self.rnn_lst = nn.ModuleList(
            SRULayer(input_size if i == 0 else out, hidden_size, bidirectional=bidirectional,
                     bias=bias, activation=activation, peephole=peephole,
                     highway_bias=highway_bias, rescale=rescale)
            for i in range(num_layers))

    def reset_parameters(self) -> None:
        for layer in self.rnn_lst:
            layer.reset_parameters()

    # -- shapes -----------------------------------------------------------------------------
    def _split_c0(self, c0: torch.Tensor | None, B: int, input: torch.Tensor) -> list:
        L, D, H = self.num_layers, self.num_directions, self.hidden_size
        if c0 is None:
            return [None] * L
        check_rnn_state("c0", c0, [L * D, B, H], input)
        # [L*D, B, H] -> per layer [B, D*H] (the official per-layer layout)
        return [c0[i * D:(i + 1) * D].permute(1, 0, 2).reshape(B, D * H) for i in range(L)]

    def _join_c(self, cs: list, B: int) -> torch.Tensor:
        """Per layer [B, D*H] -> [L*D, B, H], in as few calls as possible."""
        D, H = self.num_directions, self.hidden_size
        c = cs[0].unsqueeze(0) if len(cs) == 1 else torch.stack(cs, 0)  # [L, B, D*H]
        if D == 1:
            return c
        return c.view(len(cs), B, D, H).transpose(1, 2).reshape(len(cs) * D, B, H)

    # -- forward ----------------------------------------------------------------------------
    def forward(self, input: torch.Tensor | PackedSequence, c0: torch.Tensor | None = None, *,
                mask_pad: torch.Tensor | None = None) -> tuple[torch.Tensor | PackedSequence, torch.Tensor]:
        if isinstance(input, PackedSequence):
            if mask_pad is not None:
                raise ValueError("mask_pad must be None when input is a PackedSequence: the "
                                 "padding is read from the packed lengths")
            padded, mask, lengths = unpack_input(input, self.batch_first)
            output, c_n = self.forward(padded, c0, mask_pad=mask)
            return repack_output(output, input, lengths, self.batch_first), c_n
        check_rnn_input(input, self.input_size, self.batch_first, packed_ok=True)
        # (the input's dtype against the weights': by each layer, SRULayer.forward)
        unbatched = input.dim() == 2
        if unbatched:
            input = input.unsqueeze(0 if self.batch_first else 1)
            c0 = None if c0 is None else c0.unsqueeze(1)
            mask_pad = None if mask_pad is None else mask_pad.unsqueeze(0 if self.batch_first else 1)
        B = input.shape[0] if self.batch_first else input.shape[1]
        c0s = self._split_c0(c0, B, input)
        x, cs = input, []
        rnn_dropout = self.rnn_dropout if self.training else 0.0
        dropout = self.dropout if self.training else 0.0
        last = self.num_layers - 1
        for i, layer in enumerate(self.rnn_lst):
            input_mask = None
            if rnn_dropout > 0:
                keep = 1.0 - rnn_dropout
                input_mask = x.new_empty(B, x.shape[-1]).bernoulli_(keep).div_(keep)
            x, c = layer(x, c0s[i], mask_pad, batch_first=self.batch_first, layer=i,
                         input_mask=input_mask, recurrence=self.recurrence, backend=self.backend)
            cs.append(c)
            if dropout > 0 and i < last:
                x = F.dropout(x, dropout, True)
        c_n = self._join_c(cs, B)
        if unbatched:
            x, c_n = x.squeeze(0 if self.batch_first else 1), c_n.squeeze(1)
        return x, c_n

    def flatten_parameters(self) -> None:
        """Nothing to do: nn.LSTM's call to compact its weights for cuDNN, kept so that code
        written for nn.LSTM (``rnn.flatten_parameters()`` after ``.to()`` or under
        DataParallel) runs unchanged. SRU's weights are used as they are."""

    @torch.no_grad()
    def step(self, x_t: torch.Tensor, c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One time step for token-by-token inference: x_t [B, input_size], c [L, B, H]
        (or None) -> (h_t [B, H], c_new [L, B, H]). Unidirectional models only."""
        if self.bidirectional:
            raise ValueError("step() needs a unidirectional SRU: a bidirectional layer's "
                             "backward direction reads the whole sequence")
        if not isinstance(x_t, torch.Tensor) or x_t.dim() != 2 or x_t.shape[-1] != self.input_size:
            got = list(x_t.shape) if isinstance(x_t, torch.Tensor) else type(x_t).__name__
            raise ValueError(f"expected x_t of shape [B, {self.input_size}], got {got}")
        B = x_t.shape[0]
        cs = self._split_c0(c, B, x_t)
        x, new = x_t.unsqueeze(0), []
        for i, layer in enumerate(self.rnn_lst):
            x, ci = layer(x, cs[i], None, batch_first=False, layer=i,
                          recurrence="kernel", backend=self.backend)
            new.append(ci)
        return x.squeeze(0), self._join_c(new, B)

    def extra_repr(self) -> str:
        return rnn_extra_repr(self, activation=self.activation, peephole=self.peephole)
