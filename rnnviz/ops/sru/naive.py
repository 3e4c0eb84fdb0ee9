"""The SRU recurrence written straight from the equations: a loop over t, in float64.

This is the specification and the test oracle (slow on purpose: one direction, one time
step at a time, no fusion). Lei et al., "Simple Recurrent Units for Highly Parallelizable
Recurrence" (arXiv 1709.02755, version 2), per direction, with U = x W computed beforehand:

    f_t = sigmoid(U_f[t] + v_f * c_{t-1} + b_f)
    r_t = sigmoid(U_r[t] + v_r * c_{t-1} + b_r)
    c_t = f_t * c_{t-1} + (1 - f_t) * U_x~[t]
    h_t = r_t * g(c_t) + (1 - r_t) * x'_t

Without peephole (the 2017 version) v_f = v_r = 0. x'_t is U_x'[t] when U has 4 parts per
unit, else scale_x * x_t. A padded step (mask_pad[t, b] True) keeps c and outputs h = 0.
Direction 1 of a bidirectional layer reads t = T-1, ..., 0.
"""
from __future__ import annotations

import torch

__all__ = ["sru_recurrence_reference"]


def sru_recurrence_reference(U: torch.Tensor, weight_c: torch.Tensor | None, bias: torch.Tensor,
                             c0: torch.Tensor | None = None, *, x: torch.Tensor | None = None,
                             scale_x: float = 1.0, activation: str = "tanh",
                             mask_pad: torch.Tensor | None = None, num_directions: int = 1,
                             ) -> tuple[torch.Tensor, torch.Tensor]:
    """The SRU recurrence of one layer, in float64, differentiable by autograd.

    Args:
        U: [T, B, D*H*K], the official ``sru`` layout: viewed as [T, B, D, H, K] with
            K parts per unit in the order (x~, f, r[, x']).
        weight_c: [2*D*H] viewed as [2, D, H] (v_f, v_r), or None for no peephole.
        bias: [2*D*H] viewed as [2, D, H] (b_f, b_r).
        c0: [B, D*H] or None (zeros).
        x: [T, B, D*H], the skip input x' (times scale_x) when K == 3.
        mask_pad: [T, B] bool, True where the step is padding.

    Returns:
        h [T, B, D*H] and c_T [B, D*H] (the last state of each direction), float64.
    """
    T, B = U.shape[0], U.shape[1]
    D = num_directions
    H = bias.shape[0] // (2 * D)
    K = U.shape[2] // (D * H)
    U = U.double().reshape(T, B, D, H, K)
    b = bias.double().reshape(2, D, H)
    v = None if weight_c is None else weight_c.double().reshape(2, D, H)
    c_init = (torch.zeros(B, D, H, dtype=torch.float64, device=U.device) if c0 is None
              else c0.double().reshape(B, D, H))
    xs = None if x is None else x.double().reshape(T, B, D, H) * scale_x
    hs = [[None] * T for _ in range(D)]
    c_last = []
    for d in range(D):
        c = c_init[:, d]
        for t in (range(T) if d == 0 else range(T - 1, -1, -1)):
            u = U[t, :, d]
            pf = u[..., 1] + b[0, d] + (0 if v is None else v[0, d] * c)
            pr = u[..., 2] + b[1, d] + (0 if v is None else v[1, d] * c)
            f, r = torch.sigmoid(pf), torch.sigmoid(pr)
            c_new = f * c + (1 - f) * u[..., 0]
            g = torch.tanh(c_new) if activation == "tanh" else c_new
            x_prime = u[..., 3] if K == 4 else xs[t, :, d]
            h = r * g + (1 - r) * x_prime
            if mask_pad is not None:
                pad = mask_pad[t].to(torch.bool)[:, None]
                c_new = torch.where(pad, c, c_new)
                h = torch.where(pad, torch.zeros_like(h), h)
            c = c_new
            hs[d][t] = h
        c_last.append(c)
    h = torch.stack([torch.stack(hs[d], 0) for d in range(D)], dim=2)  # [T, B, D, H]
    return h.reshape(T, B, D * H), torch.stack(c_last, 1).reshape(B, D * H)
