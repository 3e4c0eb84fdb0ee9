"""The SRU elementwise recurrence as one fused Triton kernel, forward and backward.

Given U = x W (computed beforehand by one GEMM for all time steps), per direction d, batch
row b and hidden unit j (Lei et al. 2017, arXiv 1709.02755, version 2):

    f_t = sigmoid(U_f[t] + v_f * c_{t-1} + b_f)        (v_f = v_r = 0 without peephole)
    r_t = sigmoid(U_r[t] + v_r * c_{t-1} + b_r)
    c_t = f_t * c_{t-1} + (1 - f_t) * U_x~[t]
    h_t = r_t * g(c_t) + (1 - r_t) * x'_t              g = tanh or identity

with x'_t = U_x'[t] (K = 4, projected skip) or scale_x * x_t (K = 3). A padded step
(mask_pad[t, b] != 0) carries c unchanged and outputs h_t = 0. Direction 1 runs t from T-1
down to 0.

Layouts (those of the official ``sru`` package): U is [T, B, D, H, K] (K innermost: x~, f,
r[, x']), x, h and c are [T, B, D*H]; the T and B strides of U, x and h are arguments, so a
batch-first tensor needs no transpose. weight_c and bias are [2, D, H] (f part, then r part).

One program owns BLOCK hidden units of one (batch row, direction) and walks t sequentially,
so the grid is parallel over batch x hidden x direction. It reads U once and writes h (and
c, when the backward or a trace needs it) once. Memory latency is hidden by loading the
inputs of the next STEPS time steps before computing the current ones (the loads do not
depend on c, so they can be in flight while the recurrence runs).

The backward walks t in reverse and recomputes f, r and g(c_t) from U and the stored c_{t-1}
instead of storing gates. With ``RECORD`` (a trace asked for it) the forward also writes f
and r; without it no gate buffer exists.

Compute only: this module imports torch and triton, nothing of rnnviz.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

STEPS = 4  # time steps loaded ahead (the kernels below are written out for 4)


@triton.jit
def _tanh(x):
    # tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2|x|): no overflow, float32 accurate
    e = tl.exp(-2.0 * tl.abs(x))
    y = (1.0 - e) / (1.0 + e)
    return tl.where(x < 0, -y, y)


@triton.jit
def _time(s, T, d):
    """Physical time index of direction-local step s (direction 1 runs backwards), int64."""
    live = (s >= 0) & (s < T)
    t = tl.where(d == 0, s, T - 1 - s)
    t = tl.where(live, t, 0)
    return t.to(tl.int64), live


# ---------------------------------------------------------------------------------------
# forward
# ---------------------------------------------------------------------------------------
@triton.jit
def _fwd_load(u_ptr, x_ptr, m_ptr, s, T, d, sUt, sXt, sMt, cmask, scale_x,
              K: tl.constexpr, SKIP_X: tl.constexpr, HAS_MASK: tl.constexpr):
    t, live = _time(s, T, d)
    lm = tl.where(live, cmask, False)  # (bool & scalar bool is int8 in the interpreter)
    up = u_ptr + t * sUt
    u0 = tl.load(up, mask=lm, other=0.0).to(tl.float32)
    u1 = tl.load(up + 1, mask=lm, other=0.0).to(tl.float32)
    u2 = tl.load(up + 2, mask=lm, other=0.0).to(tl.float32)
    if SKIP_X:
        xp = tl.load(x_ptr + t * sXt, mask=lm, other=0.0).to(tl.float32) * scale_x
    else:
        xp = tl.load(up + 3, mask=lm, other=0.0).to(tl.float32)
    keep = live
    if HAS_MASK:
        keep = tl.where(live, tl.load(m_ptr + t * sMt, mask=live, other=1) == 0, False)
    return u0, u1, u2, xp, keep


@triton.jit
def _fwd_step(c, u0, u1, u2, xp, keep, s, T, d, vf, vr, bf, br, cmask,
              h_ptr, sHt, call_ptr, sCt, f_ptr, r_ptr,
              PEEPHOLE: tl.constexpr, TANH: tl.constexpr, STORE_C: tl.constexpr,
              RECORD: tl.constexpr):
    t, live = _time(s, T, d)
    lm = tl.where(live, cmask, False)
    if PEEPHOLE:
        f = tl.sigmoid(u1 + bf + vf * c)
        r = tl.sigmoid(u2 + br + vr * c)
    else:
        f = tl.sigmoid(u1 + bf)
        r = tl.sigmoid(u2 + br)
    c_new = u0 + f * (c - u0)
    if TANH:
        g = _tanh(c_new)
    else:
        g = c_new
    h = xp + r * (g - xp)
    c_new = tl.where(keep, c_new, c)
    h = tl.where(keep, h, 0.0)
    tl.store(h_ptr + t * sHt, h.to(h_ptr.dtype.element_ty), mask=lm)
    if STORE_C:
        tl.store(call_ptr + t * sCt, c_new, mask=lm)
    if RECORD:
        tl.store(f_ptr + t * sCt, f, mask=lm)
        tl.store(r_ptr + t * sCt, r, mask=lm)
    return c_new


@triton.jit
def sru_fwd_kernel(U, X, WC, BIAS, C0, MASK, H_OUT, C_ALL, C_N, F_REC, R_REC,
                   T, B, Hd, sUt, sUb, sXt, sXb, sHt, sHb, sMt, sMb, scale_x,
                   K: tl.constexpr, SKIP_X: tl.constexpr, PEEPHOLE: tl.constexpr,
                   TANH: tl.constexpr, HAS_MASK: tl.constexpr, HAS_C0: tl.constexpr,
                   STORE_C: tl.constexpr, RECORD: tl.constexpr, BLOCK: tl.constexpr):
    pid_h = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    d = tl.program_id(2)
    D = tl.num_programs(2)
    DH = D * Hd
    j = pid_h * BLOCK + tl.arange(0, BLOCK)
    cmask = j < Hd
    col = d * Hd + j  # index in [D*H]

    bf = tl.load(BIAS + col, mask=cmask, other=0.0).to(tl.float32)
    br = tl.load(BIAS + DH + col, mask=cmask, other=0.0).to(tl.float32)
    if PEEPHOLE:
        vf = tl.load(WC + col, mask=cmask, other=0.0).to(tl.float32)
        vr = tl.load(WC + DH + col, mask=cmask, other=0.0).to(tl.float32)
    else:
        vf = bf * 0.0
        vr = bf * 0.0
    if HAS_C0:
        c = tl.load(C0 + b * DH + col, mask=cmask, other=0.0).to(tl.float32)
    else:
        c = bf * 0.0

    u_ptr = U + b * sUb + col * K
    x_ptr = X + b * sXb + col
    m_ptr = MASK + b * sMb
    h_ptr = H_OUT + b * sHb + col
    sCt = B * DH  # c, f, r buffers are [T, B, D*H], contiguous
    call_ptr = C_ALL + b * DH + col
    f_ptr = F_REC + b * DH + col
    r_ptr = R_REC + b * DH + col

    z = pid_h * 0  # a runtime zero: step indices stay tensors inside the helpers
    # inputs of the first STEPS steps
    a0, a1, a2, ax, ak = _fwd_load(u_ptr, x_ptr, m_ptr, z, T, d, sUt, sXt, sMt, cmask, scale_x, K, SKIP_X, HAS_MASK)
    b0, b1, b2, bx, bk = _fwd_load(u_ptr, x_ptr, m_ptr, z + 1, T, d, sUt, sXt, sMt, cmask, scale_x, K, SKIP_X, HAS_MASK)
    e0, e1, e2, ex, ek = _fwd_load(u_ptr, x_ptr, m_ptr, z + 2, T, d, sUt, sXt, sMt, cmask, scale_x, K, SKIP_X, HAS_MASK)
    g0, g1, g2, gx, gk = _fwd_load(u_ptr, x_ptr, m_ptr, z + 3, T, d, sUt, sXt, sMt, cmask, scale_x, K, SKIP_X, HAS_MASK)
    for s1 in range(0, T, 4):
        s0 = z + s1
        # issue the loads of the next 4 steps before the recurrence of these 4 runs
        na0, na1, na2, nax, nak = _fwd_load(u_ptr, x_ptr, m_ptr, s0 + 4, T, d, sUt, sXt, sMt, cmask, scale_x, K, SKIP_X, HAS_MASK)
        nb0, nb1, nb2, nbx, nbk = _fwd_load(u_ptr, x_ptr, m_ptr, s0 + 5, T, d, sUt, sXt, sMt, cmask, scale_x, K, SKIP_X, HAS_MASK)
        ne0, ne1, ne2, nex, nek = _fwd_load(u_ptr, x_ptr, m_ptr, s0 + 6, T, d, sUt, sXt, sMt, cmask, scale_x, K, SKIP_X, HAS_MASK)
        ng0, ng1, ng2, ngx, ngk = _fwd_load(u_ptr, x_ptr, m_ptr, s0 + 7, T, d, sUt, sXt, sMt, cmask, scale_x, K, SKIP_X, HAS_MASK)
        c = _fwd_step(c, a0, a1, a2, ax, ak, s0, T, d, vf, vr, bf, br, cmask, h_ptr, sHt, call_ptr, sCt,
                      f_ptr, r_ptr, PEEPHOLE, TANH, STORE_C, RECORD)
        c = _fwd_step(c, b0, b1, b2, bx, bk, s0 + 1, T, d, vf, vr, bf, br, cmask, h_ptr, sHt, call_ptr, sCt,
                      f_ptr, r_ptr, PEEPHOLE, TANH, STORE_C, RECORD)
        c = _fwd_step(c, e0, e1, e2, ex, ek, s0 + 2, T, d, vf, vr, bf, br, cmask, h_ptr, sHt, call_ptr, sCt,
                      f_ptr, r_ptr, PEEPHOLE, TANH, STORE_C, RECORD)
        c = _fwd_step(c, g0, g1, g2, gx, gk, s0 + 3, T, d, vf, vr, bf, br, cmask, h_ptr, sHt, call_ptr, sCt,
                      f_ptr, r_ptr, PEEPHOLE, TANH, STORE_C, RECORD)
        a0, a1, a2, ax, ak = na0, na1, na2, nax, nak
        b0, b1, b2, bx, bk = nb0, nb1, nb2, nbx, nbk
        e0, e1, e2, ex, ek = ne0, ne1, ne2, nex, nek
        g0, g1, g2, gx, gk = ng0, ng1, ng2, ngx, ngk
    tl.store(C_N + b * DH + col, c, mask=cmask)


# ---------------------------------------------------------------------------------------
# backward
# ---------------------------------------------------------------------------------------
@triton.jit
def _bwd_load(u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, s, T, d, sUt, sXt, sMt, sCt, sGHt,
              cmask, scale_x, K: tl.constexpr, SKIP_X: tl.constexpr, HAS_MASK: tl.constexpr):
    u0, u1, u2, xp, keep = _fwd_load(u_ptr, x_ptr, m_ptr, s, T, d, sUt, sXt, sMt, cmask,
                                     scale_x, K, SKIP_X, HAS_MASK)
    t, live = _time(s, T, d)
    tp, has_prev = _time(s - 1, T, d)
    cp = tl.load(call_ptr + tp * sCt, mask=tl.where(has_prev, cmask, False), other=0.0)
    cp = tl.where(has_prev, cp, c0)
    gh = tl.load(gh_ptr + t * sGHt, mask=tl.where(live, cmask, False), other=0.0).to(tl.float32)
    return u0, u1, u2, xp, keep, cp, gh


@triton.jit
def _bwd_step(gc, gvf, gvr, gbf, gbr, u0, u1, u2, xp, keep, cp, gh, s, T, d, vf, vr, bf, br, cmask,
              gu_ptr, sGUt, gx_ptr, sGXt, scale_x,
              K: tl.constexpr, SKIP_X: tl.constexpr, PEEPHOLE: tl.constexpr, TANH: tl.constexpr):
    t, live = _time(s, T, d)
    lm = tl.where(live, cmask, False)
    # recompute the forward step from U and c_{t-1}
    if PEEPHOLE:
        f = tl.sigmoid(u1 + bf + vf * cp)
        r = tl.sigmoid(u2 + br + vr * cp)
    else:
        f = tl.sigmoid(u1 + bf)
        r = tl.sigmoid(u2 + br)
    c = u0 + f * (cp - u0)
    if TANH:
        g = _tanh(c)
        dg = 1.0 - g * g
    else:
        g = c
        dg = 1.0
    # a padded step: nothing of U or x reached the output, the gradient of c passes through
    gh = tl.where(keep, gh, 0.0)
    gr = gh * (g - xp)
    gxp = gh * (1.0 - r)
    gct = tl.where(keep, gc, 0.0) + gh * r * dg
    gu0 = gct * (1.0 - f)
    guf = gct * (cp - u0) * f * (1.0 - f)
    gur = gr * r * (1.0 - r)
    gcp = gct * f
    gbf += guf
    gbr += gur
    if PEEPHOLE:
        gcp += guf * vf + gur * vr
        gvf += guf * cp
        gvr += gur * cp
    gcp = tl.where(keep, gcp, gc)
    gp = gu_ptr + t * sGUt
    tl.store(gp, gu0.to(gu_ptr.dtype.element_ty), mask=lm)
    tl.store(gp + 1, guf.to(gu_ptr.dtype.element_ty), mask=lm)
    tl.store(gp + 2, gur.to(gu_ptr.dtype.element_ty), mask=lm)
    if SKIP_X:
        tl.store(gx_ptr + t * sGXt, (gxp * scale_x).to(gx_ptr.dtype.element_ty), mask=lm)
    else:
        tl.store(gp + 3, gxp.to(gu_ptr.dtype.element_ty), mask=lm)
    return gcp, gvf, gvr, gbf, gbr


@triton.jit
def sru_bwd_kernel(U, X, WC, BIAS, C0, MASK, C_ALL, GH, GCN, GU, GX, GC0, GVB,
                   T, B, Hd, sUt, sUb, sXt, sXb, sGHt, sGHb, sMt, sMb, sGUt, sGUb, sGXt, sGXb,
                   scale_x,
                   K: tl.constexpr, SKIP_X: tl.constexpr, PEEPHOLE: tl.constexpr,
                   TANH: tl.constexpr, HAS_MASK: tl.constexpr, HAS_C0: tl.constexpr,
                   HAS_GCN: tl.constexpr, BLOCK: tl.constexpr):
    pid_h = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    d = tl.program_id(2)
    D = tl.num_programs(2)
    DH = D * Hd
    j = pid_h * BLOCK + tl.arange(0, BLOCK)
    cmask = j < Hd
    col = d * Hd + j

    bf = tl.load(BIAS + col, mask=cmask, other=0.0).to(tl.float32)
    br = tl.load(BIAS + DH + col, mask=cmask, other=0.0).to(tl.float32)
    if PEEPHOLE:
        vf = tl.load(WC + col, mask=cmask, other=0.0).to(tl.float32)
        vr = tl.load(WC + DH + col, mask=cmask, other=0.0).to(tl.float32)
    else:
        vf = bf * 0.0
        vr = bf * 0.0
    if HAS_C0:
        c0 = tl.load(C0 + b * DH + col, mask=cmask, other=0.0).to(tl.float32)
    else:
        c0 = bf * 0.0
    if HAS_GCN:
        gc = tl.load(GCN + b * DH + col, mask=cmask, other=0.0).to(tl.float32)
    else:
        gc = bf * 0.0
    gvf = bf * 0.0  # per (batch row, unit) sums over t; summed over batch afterwards
    gvr = bf * 0.0
    gbf = bf * 0.0
    gbr = bf * 0.0

    u_ptr = U + b * sUb + col * K
    x_ptr = X + b * sXb + col
    m_ptr = MASK + b * sMb
    sCt = B * DH
    call_ptr = C_ALL + b * DH + col
    gh_ptr = GH + b * sGHb + col
    gu_ptr = GU + b * sGUb + col * K
    gx_ptr = GX + b * sGXb + col

    z = pid_h * 0  # a runtime zero: step indices stay tensors inside the helpers
    # direction-local steps s = T-1, T-2, ..., 0 (i counts them)
    a0, a1, a2, ax, ak, ac, ag = _bwd_load(u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, z + T - 1, T, d, sUt, sXt, sMt, sCt, sGHt, cmask, scale_x, K, SKIP_X, HAS_MASK)
    b0, b1, b2, bx, bk, bc, bg = _bwd_load(u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, z + T - 2, T, d, sUt, sXt, sMt, sCt, sGHt, cmask, scale_x, K, SKIP_X, HAS_MASK)
    e0, e1, e2, ex, ek, ec, eg = _bwd_load(u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, z + T - 3, T, d, sUt, sXt, sMt, sCt, sGHt, cmask, scale_x, K, SKIP_X, HAS_MASK)
    g0, g1, g2, gx, gk, gcc, gg = _bwd_load(u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, z + T - 4, T, d, sUt, sXt, sMt, sCt, sGHt, cmask, scale_x, K, SKIP_X, HAS_MASK)
    for i0 in range(0, T, 4):
        s0 = z + T - 1 - i0
        na0, na1, na2, nax, nak, nac, nag = _bwd_load(u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, s0 - 4, T, d, sUt, sXt, sMt, sCt, sGHt, cmask, scale_x, K, SKIP_X, HAS_MASK)
        nb0, nb1, nb2, nbx, nbk, nbc, nbg = _bwd_load(u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, s0 - 5, T, d, sUt, sXt, sMt, sCt, sGHt, cmask, scale_x, K, SKIP_X, HAS_MASK)
        ne0, ne1, ne2, nex, nek, nec, neg = _bwd_load(u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, s0 - 6, T, d, sUt, sXt, sMt, sCt, sGHt, cmask, scale_x, K, SKIP_X, HAS_MASK)
        ng0, ng1, ng2, ngx, ngk, ngc, ngg = _bwd_load(u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, s0 - 7, T, d, sUt, sXt, sMt, sCt, sGHt, cmask, scale_x, K, SKIP_X, HAS_MASK)
        gc, gvf, gvr, gbf, gbr = _bwd_step(gc, gvf, gvr, gbf, gbr, a0, a1, a2, ax, ak, ac, ag, s0, T, d, vf, vr, bf, br, cmask,
                                 gu_ptr, sGUt, gx_ptr, sGXt, scale_x, K, SKIP_X, PEEPHOLE, TANH)
        gc, gvf, gvr, gbf, gbr = _bwd_step(gc, gvf, gvr, gbf, gbr, b0, b1, b2, bx, bk, bc, bg, s0 - 1, T, d, vf, vr, bf, br, cmask,
                                 gu_ptr, sGUt, gx_ptr, sGXt, scale_x, K, SKIP_X, PEEPHOLE, TANH)
        gc, gvf, gvr, gbf, gbr = _bwd_step(gc, gvf, gvr, gbf, gbr, e0, e1, e2, ex, ek, ec, eg, s0 - 2, T, d, vf, vr, bf, br, cmask,
                                 gu_ptr, sGUt, gx_ptr, sGXt, scale_x, K, SKIP_X, PEEPHOLE, TANH)
        gc, gvf, gvr, gbf, gbr = _bwd_step(gc, gvf, gvr, gbf, gbr, g0, g1, g2, gx, gk, gcc, gg, s0 - 3, T, d, vf, vr, bf, br, cmask,
                                 gu_ptr, sGUt, gx_ptr, sGXt, scale_x, K, SKIP_X, PEEPHOLE, TANH)
        a0, a1, a2, ax, ak, ac, ag = na0, na1, na2, nax, nak, nac, nag
        b0, b1, b2, bx, bk, bc, bg = nb0, nb1, nb2, nbx, nbk, nbc, nbg
        e0, e1, e2, ex, ek, ec, eg = ne0, ne1, ne2, nex, nek, nec, neg
        g0, g1, g2, gx, gk, gcc, gg = ng0, ng1, ng2, ngx, ngk, ngc, ngg
    tl.store(GC0 + b * DH + col, gc, mask=cmask)
    # GVB [B, 4, D*H]: (v_f, v_r, b_f, b_r) gradients of this batch row
    tl.store(GVB + b * 4 * DH + 2 * DH + col, gbf, mask=cmask)
    tl.store(GVB + b * 4 * DH + 3 * DH + col, gbr, mask=cmask)
    if PEEPHOLE:
        tl.store(GVB + b * 4 * DH + col, gvf, mask=cmask)
        tl.store(GVB + b * 4 * DH + DH + col, gvr, mask=cmask)


# ---------------------------------------------------------------------------------------
# launchers
# ---------------------------------------------------------------------------------------
def _block(H: int) -> tuple[int, int]:
    """BLOCK hidden units per program, one per thread: as many threads as the problem has."""
    block = min(128, max(32, triton.next_power_of_2(H)))
    return block, block // 32


def _tb_strides(t: torch.Tensor, batch_first: bool) -> tuple[int, int]:
    return (t.stride(1), t.stride(0)) if batch_first else (t.stride(0), t.stride(1))


def sru_fwd(U: torch.Tensor, x: torch.Tensor | None, weight_c: torch.Tensor | None,
            bias: torch.Tensor, c0: torch.Tensor | None, mask_pad: torch.Tensor | None,
            *, D: int, H: int, K: int, scale_x: float, tanh: bool, batch_first: bool,
            store_c: bool, record: bool):
    """Launch the forward kernel. Returns (h, c_n, c_all | None, f | None, r | None).

    U: [T, B, D*H*K] (or [B, T, ...] when batch_first), last dim contiguous. x: the skip
    input [T, B, D*H] (same convention) when K == 3, else None. c0, c_n: [B, D*H] float32.
    c_all, f, r: [T, B, D*H] float32 (time-major), only when asked for.
    """
    T, B = (U.shape[1], U.shape[0]) if batch_first else (U.shape[0], U.shape[1])
    dev = U.device
    h = torch.empty(U.shape[:-1] + (D * H,), device=dev, dtype=U.dtype)
    c_n = torch.empty(B, D * H, device=dev, dtype=torch.float32)
    dummy = c_n  # never read or written when its flag is off
    c_all = torch.empty(T, B, D * H, device=dev, dtype=torch.float32) if store_c else dummy
    f = torch.empty(T, B, D * H, device=dev, dtype=torch.float32) if record else dummy
    r = torch.empty_like(f) if record else dummy
    sUt, sUb = _tb_strides(U, batch_first)
    sXt, sXb = _tb_strides(x, batch_first) if x is not None else (0, 0)
    sHt, sHb = _tb_strides(h, batch_first)
    sMt, sMb = (mask_pad.stride(0), mask_pad.stride(1)) if mask_pad is not None else (0, 0)
    BLOCK, warps = _block(H)
    grid = (triton.cdiv(H, BLOCK), B, D)
    sru_fwd_kernel[grid](
        U, x if x is not None else U, weight_c if weight_c is not None else bias, bias,
        c0 if c0 is not None else dummy, mask_pad if mask_pad is not None else dummy,
        h, c_all, c_n, f, r,
        T, B, H, sUt, sUb, sXt, sXb, sHt, sHb, sMt, sMb, float(scale_x),
        K=K, SKIP_X=x is not None, PEEPHOLE=weight_c is not None, TANH=tanh,
        HAS_MASK=mask_pad is not None, HAS_C0=c0 is not None, STORE_C=store_c, RECORD=record,
        BLOCK=BLOCK, num_warps=warps)
    return h, c_n, (c_all if store_c else None), (f if record else None), (r if record else None)


def sru_bwd(U: torch.Tensor, x: torch.Tensor | None, weight_c: torch.Tensor | None,
            bias: torch.Tensor, c0: torch.Tensor | None, mask_pad: torch.Tensor | None,
            c_all: torch.Tensor, grad_h: torch.Tensor, grad_cn: torch.Tensor | None,
            *, D: int, H: int, K: int, scale_x: float, tanh: bool, batch_first: bool):
    """Launch the backward kernel. Returns (grad_U, grad_x | None, grad_c0 [B, D*H] float32,
    grad_weight_c [2*D*H] float32 | None, grad_bias [2*D*H] float32)."""
    T, B = (U.shape[1], U.shape[0]) if batch_first else (U.shape[0], U.shape[1])
    dev = U.device
    gU = torch.empty(U.shape, device=dev, dtype=U.dtype)
    gx = torch.empty(x.shape, device=dev, dtype=x.dtype) if x is not None else None
    gc0 = torch.empty(B, D * H, device=dev, dtype=torch.float32)
    peep = weight_c is not None
    gvb = torch.zeros(B, 4 * D * H, device=dev, dtype=torch.float32)
    sUt, sUb = _tb_strides(U, batch_first)
    sXt, sXb = _tb_strides(x, batch_first) if x is not None else (0, 0)
    sGHt, sGHb = _tb_strides(grad_h, batch_first)
    sGUt, sGUb = _tb_strides(gU, batch_first)
    sGXt, sGXb = _tb_strides(gx, batch_first) if gx is not None else (0, 0)
    sMt, sMb = (mask_pad.stride(0), mask_pad.stride(1)) if mask_pad is not None else (0, 0)
    BLOCK, warps = _block(H)
    grid = (triton.cdiv(H, BLOCK), B, D)
    sru_bwd_kernel[grid](
        U, x if x is not None else U, weight_c if peep else bias, bias,
        c0 if c0 is not None else gc0, mask_pad if mask_pad is not None else gc0,
        c_all, grad_h, grad_cn if grad_cn is not None else gc0,
        gU, gx if gx is not None else gU, gc0, gvb,
        T, B, H, sUt, sUb, sXt, sXb, sGHt, sGHb, sMt, sMb, sGUt, sGUb, sGXt, sGXb,
        float(scale_x),
        K=K, SKIP_X=x is not None, PEEPHOLE=peep, TANH=tanh, HAS_MASK=mask_pad is not None,
        HAS_C0=c0 is not None, HAS_GCN=grad_cn is not None, BLOCK=BLOCK, num_warps=warps)
    gvb = gvb.sum(0)
    return gU, gx, gc0, (gvb[:2 * D * H] if peep else None), gvb[2 * D * H:]
