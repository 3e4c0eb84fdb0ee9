"""The dense linear recurrence on the CPU in torch: a doubling (Hillis-Steele) scan.

With elements (A_t, c_t) = (J_t, b_t) (h0 folded into c_0 += J_0 h0), level k = 1, 2, 4, ...
combines every element with the one k steps before it,

    (A_t, c_t) <- (A_t A_{t-k},  A_t c_{t-k} + c_t)   for t >= k,

so after ceil(log2 T) levels c_t = h_t. Each level is one batched matmul over all t:
O(T D^3 log T) work but only log2(T) Python steps, never a loop over time. ``reverse`` flips
time (h_t = J_t h_{t+1} + b_t becomes a forward scan on the flipped sequence).
"""
from __future__ import annotations

import torch

__all__ = ["dense_scan_torch"]


def dense_scan_torch(J: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None, *,
                     reverse: bool = False) -> torch.Tensor:
    B, T, D = b.shape
    if T == 0:
        return b.clone()
    if reverse:
        J, b = J.flip(1), b.flip(1)
    A = J.clone()
    c = b.clone()
    if h0 is not None:
        c[:, 0] += (J[:, 0] @ h0[..., None].to(b.dtype))[..., 0]
    k = 1
    while k < T:
        c_new = c.clone()
        c_new[:, k:] += (A[:, k:] @ c[:, :-k, :, None])[..., 0]
        if 2 * k < T:  # A is needed only by later levels
            A_new = A.clone()
            A_new[:, k:] = A[:, k:] @ A[:, :-k]
            A = A_new
        c = c_new
        k *= 2
    return c.flip(1) if reverse else c
