"""``MinGRU`` and ``MinLSTM``: the minimal RNNs of Feng et al. 2024 ("Were RNNs All We
Needed?"), shaped like ``nn.GRU``.

Per layer and direction, with x_t the layer's input (one GEMM for all t):

    minGRU    z_t  = sigmoid(Linear_z(x_t))          h~_t = Linear_h(x_t)
              h_t  = (1 - z_t) * h_{t-1} + z_t * h~_t
    minLSTM   f_t  = sigmoid(Linear_f(x_t)),  i_t = sigmoid(Linear_i(x_t))
              f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)
              h_t  = f'_t * h_{t-1} + i'_t * h~_t

The gates do not read h_{t-1}, so h is a linear recurrence h_t = a_t h_{t-1} + b_t, solved
over all t at once by a parallel scan. ``positive=True`` uses the paper's g(h~_t), g(x) =
x + 0.5 (x >= 0), sigmoid(x) (x < 0), in every mode, as the paper's log-space model does.

Modes (same parameters, same results within rounding):
- "parallel": rnnviz's fused kernel on CUDA (gates + scan in one pass); a vectorised torch
  scan on a CPU;
- "log": the paper's log-space formulation (cumsum and logcumsumexp); needs positive=True;
- "sequential": a loop over t, for teaching and as an oracle.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import PackedSequence

from rnnviz.checks import check_rnn_input, check_rnn_state
from rnnviz.device import resolve_backend
from rnnviz.models.common import rnn_extra_repr
from rnnviz.ops.mingru import MODES, min_recurrence
from rnnviz.ops.mingru.gates import candidate, coefficients
from rnnviz.ops.mingru.layer import StackedWeights, min_rnn_layer
from rnnviz.trace import stage

__all__ = ["MinGRU", "MinLSTM", "MinRNNLayer"]


class MinRNNLayer(nn.Module):
    """One layer, both directions: ``linear_z``, ``linear_h`` (minGRU) or ``linear_f``,
    ``linear_i``, ``linear_h`` (minLSTM), each ``nn.Linear(input_size, D * hidden_size)``
    with direction d's units at rows d*H .. (d+1)*H. The forward concatenates their weights
    into one matrix and runs one GEMM for all time steps and gates."""

    def __init__(self, cell: str, input_size: int, hidden_size: int, *, bidirectional: bool,
                 bias: bool):
        super().__init__()
        self.cell, self.hidden_size = cell, hidden_size
        self.num_directions = 2 if bidirectional else 1
        out = self.num_directions * hidden_size
        names = ("linear_z", "linear_h") if cell == "mingru" else ("linear_f", "linear_i", "linear_h")
        for n in names:
            setattr(self, n, nn.Linear(input_size, out, bias=bias))
        self.names = names
        self.stack_cache = StackedWeights()  # the GPU path's concatenated weights

    def linears(self) -> list[nn.Linear]:
        return [getattr(self, n) for n in self.names]

    def weights(self) -> list[torch.Tensor]:
        return [lin.weight for lin in self.linears()]

    def biases(self) -> list[torch.Tensor] | None:
        lins = self.linears()
        return [lin.bias for lin in lins] if lins[0].bias is not None else None

    def stacked(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The linears' weights [K*D*H, input_size] and biases [K*D*H] (or None) stacked in
        the order of the pre-activations: [k | hc] or [kf | ki | hc]."""
        biases = self.biases()
        return torch.cat(self.weights()), (None if biases is None else torch.cat(biases))

    def preactivations(self, x: torch.Tensor) -> torch.Tensor:
        """x [..., input_size] -> P [..., K*D*H], one GEMM."""
        return F.linear(x, *self.stacked())

    def extra_repr(self) -> str:
        return f"{self.cell}, num_directions={self.num_directions}"


class _MinRNN(nn.Module):
    CELL = "mingru"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 mode: str = "parallel", positive: bool = False, backend: str = "auto"):
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if mode == "log" and not positive:
            raise ValueError("mode='log' computes log(h~_t) and needs positive candidates: pass "
                             "positive=True (the paper's g), or use mode='parallel', which works "
                             "for any sign")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.mode, self.positive, self.backend = mode, bool(positive), backend
        out = self.num_directions * hidden_size
        self.layers = nn.ModuleList(
            MinRNNLayer(self.CELL, input_size if i == 0 else out, hidden_size,
                        bidirectional=bidirectional, bias=bias) for i in range(num_layers))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """As nn.GRU: every weight and bias uniform in +-1/sqrt(hidden_size)."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            p.uniform_(-k, k)

    # -- shapes ---------------------------------------------------------------------------
    def _check_h0(self, h0: torch.Tensor | None, B: int, ref: torch.Tensor) -> None:
        if h0 is not None:
            check_rnn_state("h0", h0, [self.num_layers * self.num_directions, B, self.hidden_size], ref)

    # -- forward --------------------------------------------------------------------------
    def forward(self, input: torch.Tensor, h0: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """input [T, B, input_size] ([B, T, ...] if batch_first; [T, input_size] unbatched),
        h0 [L*D, B, H] or None -> (output [T, B, D*H], h_n [L*D, B, H]) as nn.GRU."""
        if isinstance(input, PackedSequence):  # nn.GRU code may pass one
            raise TypeError(f"{type(self).__name__} takes no PackedSequence: it has no padding mask "
                            "(a padded step would move the state), so batch sequences of one length, "
                            "or run each alone; rnnviz.models.SRU takes a PackedSequence")
        check_rnn_input(input, self.input_size, self.batch_first,
                        weight=self.layers[0].linears()[0].weight)
        unbatched = input.dim() == 2
        if unbatched:
            input = input.unsqueeze(0 if self.batch_first else 1)
            h0 = None if h0 is None else h0.unsqueeze(1)
        B = input.shape[0] if self.batch_first else input.shape[1]
        self._check_h0(h0, B, input)
        D, H = self.num_directions, self.hidden_size
        # the GPU path: GEMM + fused kernels as one autograd node per layer (ops/mingru/layer.py)
        fused = self.mode == "parallel" and resolve_backend(
            self.backend, input.device, input.dtype) == "triton"
        x, h_n = input, []
        for i, layer in enumerate(self.layers):
            h0_i = None if h0 is None else h0[i * D:(i + 1) * D]
            if fused:
                out = min_rnn_layer(x, layer.weights(), layer.biases(), h0_i, cell=self.CELL,
                                    hidden_size=H, num_directions=D, positive=self.positive,
                                    batch_first=self.batch_first, layer=i,
                                    stacked=layer.stack_cache)
                h = out if self.batch_first else out.transpose(0, 1)
            else:
                with stage(self.CELL, "gemm", x.device, i):
                    P = layer.preactivations(x)
                Pb = P if self.batch_first else P.transpose(0, 1)  # [B, T, N] view, no copy
                h = min_recurrence(Pb, None if h0_i is None else h0_i.to(P.dtype),
                                   cell=self.CELL, hidden_size=H, num_directions=D,
                                   positive=self.positive, mode=self.mode, backend=self.backend,
                                   layer=i)
            T = h.shape[1]
            h_n.append(h[:, T - 1, :H])
            if D == 2:
                h_n.append(h[:, 0, H:])  # the backward direction ends at t = 0
            x = h if self.batch_first else h.transpose(0, 1)
            if self.dropout > 0 and i + 1 < self.num_layers:
                x = F.dropout(x, self.dropout, self.training)
        h_n = torch.stack(h_n, 0)
        if unbatched:
            x, h_n = x.squeeze(0 if self.batch_first else 1), h_n.squeeze(1)
        return x, h_n

    def flatten_parameters(self) -> None:
        """Nothing to do: nn.GRU's call to compact its weights for cuDNN, kept so that code
        written for nn.GRU runs unchanged."""

    @torch.no_grad()
    def step(self, x_t: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """One time step in O(1) memory, for token-by-token inference: x_t [B, input_size],
        h [L, B, H] (None: zeros) -> the new h [L, B, H]; the output is h[-1].
        Unidirectional models only."""
        if self.bidirectional:
            raise ValueError("step() needs a unidirectional model: a bidirectional layer's "
                             "backward direction reads the whole sequence")
        if not isinstance(x_t, torch.Tensor) or x_t.dim() != 2 or x_t.shape[-1] != self.input_size:
            got = list(x_t.shape) if isinstance(x_t, torch.Tensor) else type(x_t).__name__
            raise ValueError(f"expected x_t of shape [B, {self.input_size}], got {got}")
        B, H = x_t.shape[0], self.hidden_size
        if h is None:
            h = x_t.new_zeros(self.num_layers, B, H)
        self._check_h0(h, B, x_t)
        x, new = x_t, []
        for i, layer in enumerate(self.layers):
            P = layer.preactivations(x)
            k1, *rest = P.split(H, -1)
            k2 = rest[0] if self.CELL == "minlstm" else None
            a, w = coefficients(self.CELL, k1, k2)
            x = a * h[i].to(P.dtype) + w * candidate(rest[-1], self.positive)
            new.append(x)
        return torch.stack(new, 0)

    def extra_repr(self) -> str:
        return rnn_extra_repr(self, mode=self.mode, positive=self.positive)


class MinGRU(_MinRNN):
    """minGRU, a drop-in for ``nn.GRU``: ``(output, h_n) = model(input, h0)``.

        z_t = sigmoid(Linear_z(x_t)),  h~_t = Linear_h(x_t)   (g(Linear_h(x_t)) if positive)
        h_t = (1 - z_t) * h_{t-1} + z_t * h~_t

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional: as
            nn.GRU (dropout on the outputs of every layer but the last).
        mode: "parallel" (fused scan kernel on CUDA, vectorised torch scan on CPU), "log"
            (the paper's log-space form; needs positive=True), "sequential" (loop over t).
        positive: use g(h~) > 0, g(x) = x + 0.5 (x >= 0), sigmoid(x) (x < 0).
        backend: "auto" | "triton" | "torch" | "reference" (for mode="parallel").

    Parameters: ``layers[i].linear_z`` and ``layers[i].linear_h``, ``nn.Linear(in, D*H)``
    (direction d's units at rows d*H .. (d+1)*H); one GEMM computes both for all t.
    Shapes as nn.GRU: output [T, B, D*H] (batch_first: [B, T, D*H]), h_n [L*D, B, H].
    """

    CELL = "mingru"


class MinLSTM(_MinRNN):
    """minLSTM, shaped like ``nn.GRU`` (one state, no cell): ``(output, h_n) = model(input, h0)``.

        f_t = sigmoid(Linear_f(x_t)), i_t = sigmoid(Linear_i(x_t)), h~_t = Linear_h(x_t)
        f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)
        h_t = f'_t * h_{t-1} + i'_t * h~_t

    Arguments and shapes as :class:`MinGRU`; parameters ``layers[i].linear_f``,
    ``.linear_i``, ``.linear_h``.
    """

    CELL = "minlstm"
