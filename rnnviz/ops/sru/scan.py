"""The SRU recurrence without peephole, solved by a parallel scan over t.

Without v_f, v_r the gates do not depend on c, and c is a linear recurrence (the 2017
"Training RNNs as Fast as CNNs" version):

    c_t = a_t * c_{t-1} + b_t,   a_t = f_t,   b_t = (1 - f_t) * x~_t

with f_t = sigmoid(U_f[t] + b_f) known for every t at once. ``rnnviz.ops.linear_scan``
solves it in O(log T) depth, so this path is parallel over t as well as over batch x hidden:
it wins where batch x hidden is too small to fill the GPU with one thread per unit.
A padded step is a_t = 1, b_t = 0 (c carried unchanged). Everything else is elementwise
torch, differentiated by autograd (linear_scan brings its own backward).
"""
from __future__ import annotations

import torch

__all__ = ["sru_scan"]


def sru_scan(U: torch.Tensor, x: torch.Tensor | None, bias: torch.Tensor, c0: torch.Tensor | None,
             mask_pad: torch.Tensor | None, *, D: int, H: int, K: int, scale_x: float, tanh: bool,
             batch_first: bool, backend: str = "auto"):
    """Returns (h like U's leading dims + [D*H], c_n [B, D*H], and f, r, c as [B, T, D, H]).

    mask_pad is time-major [T, B] here (the caller transposes a batch-first one).
    """
    from rnnviz.ops.linear_scan import linear_scan

    cdt = torch.float64 if U.dtype == torch.float64 else torch.float32
    Ub = U if batch_first else U.transpose(0, 1)  # [B, T, D*H*K]
    B, T = Ub.shape[0], Ub.shape[1]
    u = Ub.reshape(B, T, D, H, K).to(cdt)
    b = bias.to(cdt).reshape(2, D, H)
    f = torch.sigmoid(u[..., 1] + b[0])
    r = torch.sigmoid(u[..., 2] + b[1])
    a, bb = f, (1 - f) * u[..., 0]
    keep = None
    if mask_pad is not None:
        keep = (mask_pad == 0).t()[:, :, None, None]  # [B, T, 1, 1]
        a = torch.where(keep, a, torch.ones_like(a))
        bb = torch.where(keep, bb, torch.zeros_like(bb))
    c_init = None if c0 is None else c0.to(cdt).reshape(B, D, H)
    cs = []
    for d in range(D):  # a loop over directions (at most 2), not over time
        h0 = (torch.zeros(B, H, dtype=cdt, device=U.device) if c_init is None else c_init[:, d])
        cs.append(linear_scan(a[:, :, d], bb[:, :, d], h0, reverse=d == 1, backend=backend))
    c = torch.stack(cs, dim=2)  # [B, T, D, H]
    g = torch.tanh(c) if tanh else c
    if x is None:
        xp = u[..., 3]
    else:
        xb = x if batch_first else x.transpose(0, 1)
        xp = xb.reshape(B, T, D, H).to(cdt) * scale_x
    h = xp + r * (g - xp)
    if keep is not None:
        h = torch.where(keep, h, torch.zeros_like(h))
    h = h.reshape(B, T, D * H).to(U.dtype)
    h = h if batch_first else h.transpose(0, 1)
    c_n = torch.stack([c[:, T - 1, 0]] + ([c[:, 0, 1]] if D == 2 else []), dim=1).reshape(B, D * H)
    return h, c_n, f, r, c
