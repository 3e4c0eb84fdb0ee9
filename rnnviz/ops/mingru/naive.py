"""minGRU / minLSTM by their definition: a loop over time. In float64, the test oracle.

    h_t = a_t * h_{t-1} + w_t * h~_t      (a, w, h~ from ``gates.py``)

One direction; pre-activations [B, T, H]; h0 [B, H] (zeros if None); ``reverse`` runs
t = T-1 .. 0 with h_T = h0. The same loop in the input's dtype is the models'
``mode="sequential"``.
"""
from __future__ import annotations

import torch

from .gates import candidate, coefficients


def min_rnn_loop(cell: str, k1: torch.Tensor, k2: torch.Tensor | None, hc: torch.Tensor,
                 h0: torch.Tensor | None = None, *, positive: bool = False,
                 reverse: bool = False) -> torch.Tensor:
    """h [B, T, H] in the inputs' dtype, one time step at a time (differentiable)."""
    B, T, H = hc.shape
    h = hc.new_zeros(B, H) if h0 is None else h0.to(hc.dtype)
    out = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        a, w = coefficients(cell, k1[:, t], None if k2 is None else k2[:, t])
        h = a * h + w * candidate(hc[:, t], positive)
        out[t] = h
    return torch.stack(out, 1) if T else hc.new_zeros(B, 0, H)


def min_rnn_reference(cell: str, k1: torch.Tensor, k2: torch.Tensor | None, hc: torch.Tensor,
                      h0: torch.Tensor | None = None, *, positive: bool = False,
                      reverse: bool = False) -> torch.Tensor:
    """:func:`min_rnn_loop` in float64, whatever the inputs' dtype: the exact answer."""
    d = lambda x: None if x is None else x.double()  # noqa: E731
    return min_rnn_loop(cell, d(k1), d(k2), d(hc), d(h0), positive=positive, reverse=reverse)
