"""The dense linear recurrence, as a plain loop in float64: the specification and test oracle.

    forward:  h_t = J_t h_{t-1} + b_t,  t = 0 .. T-1,  h_{-1} = h0 (zeros if None)
    reverse:  h_t = J_t h_{t+1} + b_t,  t = T-1 .. 0,  h_T    = h0

J: [B, T, D, D], b: [B, T, D], h0: [B, D]; returns h [B, T, D] in float64.
"""
from __future__ import annotations

import torch

__all__ = ["dense_scan_naive"]


def dense_scan_naive(J: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None, *,
                     reverse: bool = False) -> torch.Tensor:
    B, T, D = b.shape
    J, b = J.double(), b.double()
    h = torch.zeros(B, D, dtype=torch.float64, device=b.device) if h0 is None else h0.double()
    out = torch.empty(B, T, D, dtype=torch.float64, device=b.device)
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        h = (J[:, t] @ h[..., None])[..., 0] + b[:, t]
        out[:, t] = h
    return out
