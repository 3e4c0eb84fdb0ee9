"""The cost of one step on the critical path, measured on this machine.

A sequential RNN cannot run faster than (length of its critical path) x (latency of one step
on it). These functions time exactly one such step, on inputs of the right shape, so a
notebook can put the prediction T x latency beside the measured time of the whole loop.

- "lstm-step": one ``nn.LSTMCell`` call: a [B, D] x [D, 4D] product plus the gates;
- "gru-step": one ``nn.GRUCell`` call;
- "sru-step": SRU's elementwise step once the GEMM is done for all t
  (c = f * c + (1 - f) * x~, h = r * tanh(c) + (1 - r) * x), as separate torch ops;
- "combine": one combine of a parallel scan over the whole [B, T, D] tensor
  ((a1, b1), (a2, b2)) -> (a1 a2, a2 b1 + b2): what each of the log2 T levels costs.
"""
from __future__ import annotations

import torch
from torch import nn

from rnnviz.bench.core import time_ms

__all__ = ["STEPS", "step_ms"]

STEPS = ("lstm-step", "gru-step", "sru-step", "combine")


def _step(kind: str, B: int, D: int, T: int, device: torch.device):
    g = torch.Generator(device="cpu").manual_seed(0)

    def r(*shape):
        return torch.randn(*shape, generator=g).to(device)

    if kind in ("lstm-step", "gru-step"):
        cell = (nn.LSTMCell if kind == "lstm-step" else nn.GRUCell)(D, D).to(device)
        x, h = r(B, D), r(B, D)
        state = (h, h) if kind == "lstm-step" else h
        return lambda: cell(x, state)
    if kind == "sru-step":
        f, rr, xt, x, c = (torch.sigmoid(r(B, D)), torch.sigmoid(r(B, D)), r(B, D), r(B, D),
                           r(B, D))

        def sru():
            c2 = f * c + (1 - f) * xt
            return rr * torch.tanh(c2) + (1 - rr) * x
        return sru
    if kind == "combine":
        a1, b1, a2, b2 = (r(B, T, D) for _ in range(4))
        return lambda: (a1 * a2, torch.addcmul(b2, a2, b1))
    raise ValueError(f"kind must be one of {STEPS}, got {kind!r}")


@torch.no_grad()
def step_ms(kind: str, B: int, D: int, *, T: int = 1, device: torch.device | str = "cpu",
            budget_ms: float = 100.0) -> float:
    """Median milliseconds of one ``kind`` step (``T`` only matters for "combine")."""
    device = torch.device(device)
    return time_ms(_step(kind, B, D, T, device), device, budget_ms=budget_ms)
