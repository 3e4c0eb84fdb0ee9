"""The SRU recurrence on the CPU in torch: the kernel's algorithm, vectorised over B x D x H.

With a peephole the recurrence is nonlinear in c, so it is sequential by nature: this path
loops over t over a handful of fused elementwise torch ops (the same steps the Triton
kernel runs per thread), forward and backward, with the backward recomputing f, r and
g(c_t) from U and the stored c_{t-1} as the kernel does. Without a peephole c is linear in
c_{t-1} and ``rnnviz.ops.sru.scan`` solves it with a parallel scan instead.

Both directions run in one loop: direction 1 is stored time-reversed ("direction-local"
time), so step s of every direction is one slice.
"""
from __future__ import annotations

import torch

__all__ = ["sru_fwd_torch", "sru_bwd_torch"]


def _local(t: torch.Tensor, D: int) -> torch.Tensor:
    """[T, B, D, ...] in physical time <-> direction-local time (flip direction 1)."""
    if D == 1:
        return t
    return torch.stack([t[:, :, 0], t[:, :, 1].flip(0)], dim=2)


def _tm(t: torch.Tensor | None, batch_first: bool) -> torch.Tensor | None:
    return t.transpose(0, 1) if (t is not None and batch_first) else t


def _unpack(U, x, weight_c, bias, c0, mask_pad, D, H, K, scale_x, batch_first):
    Ut = _tm(U, batch_first)
    T, B = Ut.shape[0], Ut.shape[1]
    cdt = torch.float64 if U.dtype == torch.float64 else torch.float32
    Ul = _local(Ut.reshape(T, B, D, H, K).to(cdt), D)
    xl = None if x is None else _local(_tm(x, batch_first).reshape(T, B, D, H).to(cdt), D) * scale_x
    xp = Ul[..., 3] if x is None else xl
    b = bias.to(cdt).reshape(2, D, H)
    v = None if weight_c is None else weight_c.to(cdt).reshape(2, D, H)
    c_init = (torch.zeros(B, D, H, dtype=cdt, device=U.device) if c0 is None
              else c0.to(cdt).reshape(B, D, H))
    keep = None
    if mask_pad is not None:
        m = (mask_pad == 0)[:, :, None, None].expand(T, B, D, 1)
        keep = _local(m, D)
    return Ut, T, B, cdt, Ul, xp, b, v, c_init, keep


def _gates(u: torch.Tensor, c: torch.Tensor, b: torch.Tensor, v: torch.Tensor | None):
    if v is None:
        return torch.sigmoid(u[..., 1] + b[0]), torch.sigmoid(u[..., 2] + b[1])
    return torch.sigmoid(u[..., 1] + b[0] + v[0] * c), torch.sigmoid(u[..., 2] + b[1] + v[1] * c)


def sru_fwd_torch(U, x, weight_c, bias, c0, mask_pad, *, D: int, H: int, K: int,
                  scale_x: float, tanh: bool, batch_first: bool, store_c: bool, record: bool):
    """Same contract as ``rnnviz.kernels.sru.sru_fwd`` (c_all, f, r are [T, B, D*H])."""
    Ut, T, B, cdt, Ul, xp, b, v, c, keep = _unpack(U, x, weight_c, bias, c0, mask_pad,
                                                   D, H, K, scale_x, batch_first)
    h = torch.empty(T, B, D, H, dtype=cdt, device=U.device)
    c_all = torch.empty(T, B, D, H, dtype=cdt, device=U.device)
    f_all = torch.empty_like(c_all) if record else None
    r_all = torch.empty_like(c_all) if record else None
    for s in range(T):
        u = Ul[s]
        f, r = _gates(u, c, b, v)
        c_new = u[..., 0] + f * (c - u[..., 0])
        g = torch.tanh(c_new) if tanh else c_new
        h_s = xp[s] + r * (g - xp[s])
        if keep is not None:
            c_new = torch.where(keep[s], c_new, c)
            h_s = torch.where(keep[s], h_s, 0.0)
        c = c_new
        h[s], c_all[s] = h_s, c
        if record:
            f_all[s], r_all[s] = f, r

    def phys(t: torch.Tensor) -> torch.Tensor:
        return _local(t, D).reshape(T, B, D * H)

    h_out = phys(h).to(U.dtype)
    h_out = h_out.transpose(0, 1).contiguous() if batch_first else h_out
    return (h_out, c.reshape(B, D * H), phys(c_all) if store_c else None,
            phys(f_all) if record else None, phys(r_all) if record else None)


def sru_bwd_torch(U, x, weight_c, bias, c0, mask_pad, c_all, grad_h, grad_cn, *, D: int,
                  H: int, K: int, scale_x: float, tanh: bool, batch_first: bool):
    """Same contract as ``rnnviz.kernels.sru.sru_bwd``."""
    Ut, T, B, cdt, Ul, xp, b, v, c0_, keep = _unpack(U, x, weight_c, bias, c0, mask_pad,
                                                     D, H, K, scale_x, batch_first)
    cl = _local(c_all.reshape(T, B, D, H).to(cdt), D)
    ghl = _local(_tm(grad_h, batch_first).reshape(T, B, D, H).to(cdt), D)
    gc = (torch.zeros(B, D, H, dtype=cdt, device=U.device) if grad_cn is None
          else grad_cn.to(cdt).reshape(B, D, H))
    gUl = torch.empty(T, B, D, H, K, dtype=cdt, device=U.device)
    gxl = torch.empty(T, B, D, H, dtype=cdt, device=U.device) if x is not None else None
    gv = torch.zeros(2, B, D, H, dtype=cdt, device=U.device)
    for s in range(T - 1, -1, -1):
        u = Ul[s]
        cp = cl[s - 1] if s > 0 else c0_
        f, r = _gates(u, cp, b, v)
        c = u[..., 0] + f * (cp - u[..., 0])
        g = torch.tanh(c) if tanh else c
        dg = (1 - g * g) if tanh else 1.0
        gh, gc_in = ghl[s], gc
        if keep is not None:  # a padded step: nothing of U or x reached the output
            gh, gc_in = torch.where(keep[s], gh, 0.0), torch.where(keep[s], gc, 0.0)
        gr = gh * (g - xp[s])
        gxp = gh * (1 - r)
        gct = gc_in + gh * r * dg
        gU_s = gUl[s]
        gU_s[..., 0] = gct * (1 - f)
        guf = gct * (cp - u[..., 0]) * f * (1 - f)
        gur = gr * r * (1 - r)
        gU_s[..., 1], gU_s[..., 2] = guf, gur
        gcp = gct * f
        if v is not None:
            gcp = gcp + guf * v[0] + gur * v[1]
            gv[0] += guf * cp
            gv[1] += gur * cp
        if x is None:
            gU_s[..., 3] = gxp
        else:
            gxl[s] = gxp * scale_x
        gc = gcp if keep is None else torch.where(keep[s], gcp, gc)
    gU = _local(gUl, D).reshape(T, B, D * H * K)
    gbias = gU.view(T, B, D, H, K)[..., 1:3].sum((0, 1)).permute(2, 0, 1).reshape(-1)
    gU = (gU.transpose(0, 1) if batch_first else gU).to(U.dtype)
    gx = None
    if x is not None:
        gx = _local(gxl, D).reshape(T, B, D * H)
        gx = (gx.transpose(0, 1) if batch_first else gx).to(x.dtype)
    gwc = gv.sum(1).reshape(-1) if v is not None else None
    return gU, gx, gc.reshape(B, D * H), gwc, gbias
