"""The linear scan by its definition: a loop over time in float64. The test oracle.

    h_t = a_t * h_{t-1} + b_t,   t = 0 .. T-1,   h_{-1} = h0          (reverse=False)
    h_t = a_t * h_{t+1} + b_t,   t = T-1 .. 0,   h_T  = h0           (reverse=True)

elementwise over the batch B and the channels D; a, b are [B, T, D], h0 is [B, D].
"""
from __future__ import annotations

import torch


def linear_scan_reference(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None,
                          reverse: bool = False) -> torch.Tensor:
    """h of shape [B, T, D] in float64, differentiable by autograd (slowly: one op per step).

    Returns float64 whatever the input dtype: it is the exact answer the other paths are
    compared with, not a fast path.
    """
    a64, b64 = a.double(), b.double()
    B, T, D = a64.shape
    h = a64.new_zeros(B, D) if h0 is None else h0.double()
    out = [None] * T
    steps = range(T - 1, -1, -1) if reverse else range(T)
    for t in steps:
        h = a64[:, t] * h + b64[:, t]
        out[t] = h
    return torch.stack(out, dim=1) if T else a64.new_zeros(B, 0, D)
