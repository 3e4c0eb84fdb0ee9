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
c, when the backward or a trace needs it) once. A load takes several hundred cycles, so the
kernel waits on memory latency unless loads run ahead of the recurrence: they do not
depend on c, so each forward turn issues the loads of the steps two turns ahead (2 CHUNK
steps in flight) before running the recurrence over the current CHUNK steps (the backward:
the next CHUNK). At l = d = 1024, B = 32 on the H200 one turn ahead ran the forward at
0.264 ms (inference) / 0.266 ms (training, storing c), two turns at 0.220 / 0.233 ms (72% /
81% of copy), three at 0.292 / 0.294 ms (more live registers than pay; bf16 alike,
benchmarks/sru-kernels-prefetch3-h200.json). With the loads ahead, what is left is the
instructions: about 130 a step (the loop compiled for sm_90 and counted,
``rnnviz.bench.sass.sru_step_mix``), issued at 0.6 a cycle per scheduler by two warps each
(Nsight Compute, benchmarks/sru-ncu-h200.txt), which is the measured time in fp32 and in
bf16 alike; the bytes alone would take 0.16 ms (fp32) and 0.08 ms (bf16). Notebook 2 draws it.
The steps are unrolled by hand (a variable per value per step) because a tiled version,
loading [CHUNK, BLOCK] tiles (with Triton's pipeliner staging them) and taking row i out
with a select-and-sum, ran 2.2-43x slower on the H200 (benchmarks/sru-fwd-tiled-h200.json),
most likely because Triton laid the CHUNK rows across threads, making every row taken out a
reduction across the program (the compiled code was not inspected).

The backward walks t in reverse and recomputes f, r and g(c_t) from U and the stored c_{t-1}
instead of storing gates. With ``record`` (a trace asked for it) the forward also writes f
and r; without it no gate buffer exists and the stores are predicated off.

Options that do not change what is loaded (peephole, tanh, padding mask, c0, storing c,
recording) are run-time flags and integer arguments are not specialised, so a kernel is
compiled once per (K, dtypes) rather than once per shape and option: compiling the unrolled
loop takes seconds.

Compute only: this module imports torch and triton, nothing of rnnviz.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .. import cdiv, next_pow2
from ..activations import tanh as _tanh
from ..cached_launch import CachedLaunch

CHUNK = 8  # steps per loop turn; loads of the next 2 CHUNK (forward) / CHUNK (backward) in flight
# Steps one pass of each kernel's loop walks: what turns a count of the loop body's
# instructions into instructions per step (rnnviz.bench.sass, notebook 2).
FWD_STEPS_PER_PASS = tl.constexpr(CHUNK)
BWD_STEPS_PER_PASS = tl.constexpr(CHUNK)
_INTS = ["T", "B", "Hd", "sUt", "sUb", "sXt", "sXb", "sHt", "sHb", "sMt", "sMb", "sGHt", "sGHb",
         "sGUt", "sGUb", "sGXt", "sGXb", "scale_x", "peep", "tanh_f", "has_mask", "has_c0",
         "store_c", "record", "has_gcn"]


@triton.jit
def _time(s, T, d):
    """Physical time index of direction-local step s (direction 1 runs backwards), int64."""
    live = (s >= 0) & (s < T)
    t = tl.where(d == 0, s, T - 1 - s)
    t = tl.where(live, t, 0)
    return t.to(tl.int64), live


@triton.jit
def _program_units(Hd, BLOCK: tl.constexpr):
    """This program's BLOCK hidden units: (batch row b, direction d, D*H, their columns in
    [D*H], which exist)."""
    b = tl.program_id(1).to(tl.int64)
    d = tl.program_id(2)
    j = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    return b, d, tl.num_programs(2) * Hd, d * Hd + j, j < Hd


@triton.jit
def _unit_params(WC, BIAS, col, DH, cmask, peep):
    """(b_f, b_r, v_f, v_r) of the units ``col``, float32; v = 0 without peephole."""
    bf = tl.load(BIAS + col, mask=cmask, other=0.0).to(tl.float32)
    br = tl.load(BIAS + DH + col, mask=cmask, other=0.0).to(tl.float32)
    pm = tl.where(peep != 0, cmask, False)
    vf = tl.load(WC + col, mask=pm, other=0.0).to(tl.float32)
    vr = tl.load(WC + DH + col, mask=pm, other=0.0).to(tl.float32)
    return bf, br, vf, vr


@triton.jit
def _state(P, b, DH, col, cmask, flag):
    """The float32 [B, D*H] state ``P`` of these units (zeros where ``flag`` is 0)."""
    return tl.load(P + b * DH + col, mask=tl.where(flag != 0, cmask, False),
                   other=0.0).to(tl.float32)


# ---------------------------------------------------------------------------------------
# forward
# ---------------------------------------------------------------------------------------
@triton.jit
def _fwd_load(u_ptr, x_ptr, m_ptr, s, T, d, sUt, sXt, sMt, cmask, scale_x, hm,
              K: tl.constexpr, SKIP_X: tl.constexpr):
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
    pad = tl.load(m_ptr + t * sMt, mask=tl.where(hm, live, False), other=0)
    keep = tl.where(live, pad == 0, False)
    return u0, u1, u2, xp, keep


@triton.jit
def _fwd_step(c, u0, u1, u2, xp, keep, s, T, d, vf, vr, bf, br, cmask,
              h_ptr, sHt, call_ptr, sCt, f_ptr, r_ptr, th, sc, rc):
    t, live = _time(s, T, d)
    lm = tl.where(live, cmask, False)
    f = tl.sigmoid(u1 + bf + vf * c)
    r = tl.sigmoid(u2 + br + vr * c)
    c_new = u0 + f * (c - u0)
    g = tl.where(th, _tanh(c_new), c_new)
    h = xp + r * (g - xp)
    c_new = tl.where(keep, c_new, c)
    h = tl.where(keep, h, 0.0)
    tl.store(h_ptr + t * sHt, h.to(h_ptr.dtype.element_ty), mask=lm)
    tl.store(call_ptr + t * sCt, c_new, mask=tl.where(sc, lm, False))
    tl.store(f_ptr + t * sCt, f, mask=tl.where(rc, lm, False))
    tl.store(r_ptr + t * sCt, r, mask=tl.where(rc, lm, False))
    return c_new


@triton.jit
def _fwd_load4(u_ptr, x_ptr, m_ptr, s, T, d, sUt, sXt, sMt, cmask, scale_x, hm,
               K: tl.constexpr, SKIP_X: tl.constexpr):
    """The inputs of steps s .. s+3: (x~, f, r, x', keep) each."""
    v0, v1, v2, v3, v4 = _fwd_load(u_ptr, x_ptr, m_ptr, s, T, d, sUt, sXt, sMt, cmask, scale_x, hm, K, SKIP_X)
    v5, v6, v7, v8, v9 = _fwd_load(u_ptr, x_ptr, m_ptr, s + 1, T, d, sUt, sXt, sMt, cmask, scale_x, hm, K, SKIP_X)
    v10, v11, v12, v13, v14 = _fwd_load(u_ptr, x_ptr, m_ptr, s + 2, T, d, sUt, sXt, sMt, cmask, scale_x, hm, K, SKIP_X)
    v15, v16, v17, v18, v19 = _fwd_load(u_ptr, x_ptr, m_ptr, s + 3, T, d, sUt, sXt, sMt, cmask, scale_x, hm, K, SKIP_X)
    return v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16, v17, v18, v19


@triton.jit
def _fwd_chunk(c, v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16, v17, v18, v19,
               s, T, d, vf, vr, bf, br, cmask, h_ptr, sHt, call_ptr, sCt, f_ptr, r_ptr, th, sc, rc):
    """Steps s .. s+3 of the recurrence."""
    c = _fwd_step(c, v0, v1, v2, v3, v4,
                  s, T, d, vf, vr, bf, br, cmask, h_ptr, sHt, call_ptr, sCt, f_ptr, r_ptr, th, sc, rc)
    c = _fwd_step(c, v5, v6, v7, v8, v9,
                  s + 1, T, d, vf, vr, bf, br, cmask, h_ptr, sHt, call_ptr, sCt, f_ptr, r_ptr, th, sc, rc)
    c = _fwd_step(c, v10, v11, v12, v13, v14,
                  s + 2, T, d, vf, vr, bf, br, cmask, h_ptr, sHt, call_ptr, sCt, f_ptr, r_ptr, th, sc, rc)
    c = _fwd_step(c, v15, v16, v17, v18, v19,
                  s + 3, T, d, vf, vr, bf, br, cmask, h_ptr, sHt, call_ptr, sCt, f_ptr, r_ptr, th, sc, rc)
    return c


@triton.jit(do_not_specialize=[n for n in _INTS if n not in ("sGHt", "sGHb", "sGUt", "sGUb", "sGXt", "sGXb", "has_gcn")])
def sru_fwd_kernel(U, X, WC, BIAS, C0, MASK, H_OUT, C_ALL, C_N, F_REC, R_REC,
                   T, B, Hd, sUt, sUb, sXt, sXb, sHt, sHb, sMt, sMb, scale_x,
                   peep, tanh_f, has_mask, has_c0, store_c, record,
                   K: tl.constexpr, SKIP_X: tl.constexpr, BLOCK: tl.constexpr):
    b, d, DH, col, cmask = _program_units(Hd, BLOCK)
    th = tanh_f != 0
    hm = has_mask != 0
    sc = store_c != 0
    rc = record != 0

    bf, br, vf, vr = _unit_params(WC, BIAS, col, DH, cmask, peep)
    c = _state(C0, b, DH, col, cmask, has_c0)

    u_ptr = U + b * sUb + col * K
    x_ptr = X + b * sXb + col
    m_ptr = MASK + b * sMb
    h_ptr = H_OUT + b * sHb + col
    sCt = B * DH  # c, f, r buffers are [T, B, D*H], contiguous
    call_ptr = C_ALL + b * DH + col
    f_ptr = F_REC + b * DH + col
    r_ptr = R_REC + b * DH + col

    z = d * 0  # a runtime zero: step indices stay tensors inside the helpers
    a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19 = _fwd_load4(
        u_ptr, x_ptr, m_ptr, z, T, d, sUt, sXt, sMt, cmask, scale_x, hm, K, SKIP_X)
    b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17, b18, b19 = _fwd_load4(
        u_ptr, x_ptr, m_ptr, z + 4, T, d, sUt, sXt, sMt, cmask, scale_x, hm, K, SKIP_X)
    # two turns of loads in flight: steps s0+8 .. s0+23 while s0 .. s0+7 run
    pa0, pa1, pa2, pa3, pa4, pa5, pa6, pa7, pa8, pa9, pa10, pa11, pa12, pa13, pa14, pa15, pa16, pa17, pa18, pa19 = _fwd_load4(
        u_ptr, x_ptr, m_ptr, z + 8, T, d, sUt, sXt, sMt, cmask, scale_x, hm, K, SKIP_X)
    pb0, pb1, pb2, pb3, pb4, pb5, pb6, pb7, pb8, pb9, pb10, pb11, pb12, pb13, pb14, pb15, pb16, pb17, pb18, pb19 = _fwd_load4(
        u_ptr, x_ptr, m_ptr, z + 12, T, d, sUt, sXt, sMt, cmask, scale_x, hm, K, SKIP_X)
    for s1 in range(0, T, FWD_STEPS_PER_PASS):
        s0 = z + s1
        # the loads of steps s0+16 .. s0+23 go out 2 turns before their recurrence runs
        na0, na1, na2, na3, na4, na5, na6, na7, na8, na9, na10, na11, na12, na13, na14, na15, na16, na17, na18, na19 = _fwd_load4(
            u_ptr, x_ptr, m_ptr, s0 + 16, T, d, sUt, sXt, sMt, cmask, scale_x, hm, K, SKIP_X)
        nb0, nb1, nb2, nb3, nb4, nb5, nb6, nb7, nb8, nb9, nb10, nb11, nb12, nb13, nb14, nb15, nb16, nb17, nb18, nb19 = _fwd_load4(
            u_ptr, x_ptr, m_ptr, s0 + 20, T, d, sUt, sXt, sMt, cmask, scale_x, hm, K, SKIP_X)
        c = _fwd_chunk(c, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19,
                       s0, T, d, vf, vr, bf, br, cmask, h_ptr, sHt, call_ptr, sCt, f_ptr, r_ptr, th, sc, rc)
        c = _fwd_chunk(c, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17, b18, b19,
                       s0 + 4, T, d, vf, vr, bf, br, cmask, h_ptr, sHt, call_ptr, sCt, f_ptr, r_ptr, th, sc, rc)
        a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19 = pa0, pa1, pa2, pa3, pa4, pa5, pa6, pa7, pa8, pa9, pa10, pa11, pa12, pa13, pa14, pa15, pa16, pa17, pa18, pa19
        b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17, b18, b19 = pb0, pb1, pb2, pb3, pb4, pb5, pb6, pb7, pb8, pb9, pb10, pb11, pb12, pb13, pb14, pb15, pb16, pb17, pb18, pb19
        pa0, pa1, pa2, pa3, pa4, pa5, pa6, pa7, pa8, pa9, pa10, pa11, pa12, pa13, pa14, pa15, pa16, pa17, pa18, pa19 = na0, na1, na2, na3, na4, na5, na6, na7, na8, na9, na10, na11, na12, na13, na14, na15, na16, na17, na18, na19
        pb0, pb1, pb2, pb3, pb4, pb5, pb6, pb7, pb8, pb9, pb10, pb11, pb12, pb13, pb14, pb15, pb16, pb17, pb18, pb19 = nb0, nb1, nb2, nb3, nb4, nb5, nb6, nb7, nb8, nb9, nb10, nb11, nb12, nb13, nb14, nb15, nb16, nb17, nb18, nb19
    tl.store(C_N + b * DH + col, c, mask=cmask)


# ---------------------------------------------------------------------------------------
# backward
# ---------------------------------------------------------------------------------------
@triton.jit
def _bwd_load(u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, s, T, d, sUt, sXt, sMt, sCt, sGHt,
              cmask, scale_x, hm, K: tl.constexpr, SKIP_X: tl.constexpr):
    u0, u1, u2, xp, keep = _fwd_load(u_ptr, x_ptr, m_ptr, s, T, d, sUt, sXt, sMt, cmask,
                                     scale_x, hm, K, SKIP_X)
    t, live = _time(s, T, d)
    tp, has_prev = _time(s - 1, T, d)
    cp = tl.load(call_ptr + tp * sCt, mask=tl.where(has_prev, cmask, False), other=0.0)
    cp = tl.where(has_prev, cp, c0)
    gh = tl.load(gh_ptr + t * sGHt, mask=tl.where(live, cmask, False), other=0.0).to(tl.float32)
    return u0, u1, u2, xp, keep, cp, gh


@triton.jit
def _bwd_step(gc, gvf, gvr, gbf, gbr, u0, u1, u2, xp, keep, cp, gh, s, T, d, vf, vr, bf, br, cmask,
              gu_ptr, sGUt, gx_ptr, sGXt, scale_x, th, K: tl.constexpr, SKIP_X: tl.constexpr):
    t, live = _time(s, T, d)
    lm = tl.where(live, cmask, False)
    # recompute the forward step from U and c_{t-1}
    f = tl.sigmoid(u1 + bf + vf * cp)
    r = tl.sigmoid(u2 + br + vr * cp)
    c = u0 + f * (cp - u0)
    g = tl.where(th, _tanh(c), c)
    dg = tl.where(th, 1.0 - g * g, 1.0)
    # a padded step: nothing of U or x reached the output, the gradient of c passes through
    gh = tl.where(keep, gh, 0.0)
    gr = gh * (g - xp)
    gxp = gh * (1.0 - r)
    gct = tl.where(keep, gc, 0.0) + gh * r * dg
    gu0 = gct * (1.0 - f)
    guf = gct * (cp - u0) * f * (1.0 - f)
    gur = gr * r * (1.0 - r)
    gcp = gct * f + guf * vf + gur * vr
    gbf += guf
    gbr += gur
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
def _bwd_load4(u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, s, T, d, sUt, sXt, sMt, sCt, sGHt,
               cmask, scale_x, hm, K: tl.constexpr, SKIP_X: tl.constexpr):
    """The inputs of steps s, s-1, s-2, s-3 (x~, f, r, x', keep, c_prev, dh each)."""
    v0, v1, v2, v3, v4, v5, v6 = _bwd_load(u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, s, T, d, sUt, sXt, sMt, sCt, sGHt, cmask, scale_x, hm, K, SKIP_X)
    v7, v8, v9, v10, v11, v12, v13 = _bwd_load(u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, s - 1, T, d, sUt, sXt, sMt, sCt, sGHt, cmask, scale_x, hm, K, SKIP_X)
    v14, v15, v16, v17, v18, v19, v20 = _bwd_load(u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, s - 2, T, d, sUt, sXt, sMt, sCt, sGHt, cmask, scale_x, hm, K, SKIP_X)
    v21, v22, v23, v24, v25, v26, v27 = _bwd_load(u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, s - 3, T, d, sUt, sXt, sMt, sCt, sGHt, cmask, scale_x, hm, K, SKIP_X)
    return v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16, v17, v18, v19, v20, v21, v22, v23, v24, v25, v26, v27


@triton.jit
def _bwd_chunk(gc, gvf, gvr, gbf, gbr, v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16, v17, v18, v19, v20, v21, v22, v23, v24, v25, v26, v27,
               s, T, d, vf, vr, bf, br, cmask, gu_ptr, sGUt, gx_ptr, sGXt, scale_x, th,
               K: tl.constexpr, SKIP_X: tl.constexpr):
    """Steps s, s-1, s-2, s-3 of the backward recurrence."""
    gc, gvf, gvr, gbf, gbr = _bwd_step(gc, gvf, gvr, gbf, gbr, v0, v1, v2, v3, v4, v5, v6,
                                       s, T, d, vf, vr, bf, br, cmask, gu_ptr, sGUt, gx_ptr, sGXt, scale_x, th, K, SKIP_X)
    gc, gvf, gvr, gbf, gbr = _bwd_step(gc, gvf, gvr, gbf, gbr, v7, v8, v9, v10, v11, v12, v13,
                                       s - 1, T, d, vf, vr, bf, br, cmask, gu_ptr, sGUt, gx_ptr, sGXt, scale_x, th, K, SKIP_X)
    gc, gvf, gvr, gbf, gbr = _bwd_step(gc, gvf, gvr, gbf, gbr, v14, v15, v16, v17, v18, v19, v20,
                                       s - 2, T, d, vf, vr, bf, br, cmask, gu_ptr, sGUt, gx_ptr, sGXt, scale_x, th, K, SKIP_X)
    gc, gvf, gvr, gbf, gbr = _bwd_step(gc, gvf, gvr, gbf, gbr, v21, v22, v23, v24, v25, v26, v27,
                                       s - 3, T, d, vf, vr, bf, br, cmask, gu_ptr, sGUt, gx_ptr, sGXt, scale_x, th, K, SKIP_X)
    return gc, gvf, gvr, gbf, gbr


@triton.jit(do_not_specialize=[n for n in _INTS if n not in ("sHt", "sHb", "store_c", "record")])
def sru_bwd_kernel(U, X, WC, BIAS, C0, MASK, C_ALL, GH, GCN, GU, GX, GC0, GVB,
                   T, B, Hd, sUt, sUb, sXt, sXb, sGHt, sGHb, sMt, sMb, sGUt, sGUb, sGXt, sGXb,
                   scale_x, peep, tanh_f, has_mask, has_c0, has_gcn,
                   K: tl.constexpr, SKIP_X: tl.constexpr, BLOCK: tl.constexpr):
    b, d, DH, col, cmask = _program_units(Hd, BLOCK)
    th = tanh_f != 0
    hm = has_mask != 0

    bf, br, vf, vr = _unit_params(WC, BIAS, col, DH, cmask, peep)
    c0 = _state(C0, b, DH, col, cmask, has_c0)
    gc = _state(GCN, b, DH, col, cmask, has_gcn)
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

    z = d * 0  # a runtime zero: step indices stay tensors inside the helpers
    # direction-local steps s = T-1, T-2, ..., 0
    a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27 = _bwd_load4(
        u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, z + T - 1, T, d, sUt, sXt, sMt, sCt, sGHt, cmask, scale_x, hm, K, SKIP_X)
    b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17, b18, b19, b20, b21, b22, b23, b24, b25, b26, b27 = _bwd_load4(
        u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, z + T - 5, T, d, sUt, sXt, sMt, sCt, sGHt, cmask, scale_x, hm, K, SKIP_X)
    for i1 in range(0, T, BWD_STEPS_PER_PASS):
        s0 = z + T - 1 - i1
        na0, na1, na2, na3, na4, na5, na6, na7, na8, na9, na10, na11, na12, na13, na14, na15, na16, na17, na18, na19, na20, na21, na22, na23, na24, na25, na26, na27 = _bwd_load4(
            u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, s0 - 8, T, d, sUt, sXt, sMt, sCt, sGHt, cmask, scale_x, hm, K, SKIP_X)
        nb0, nb1, nb2, nb3, nb4, nb5, nb6, nb7, nb8, nb9, nb10, nb11, nb12, nb13, nb14, nb15, nb16, nb17, nb18, nb19, nb20, nb21, nb22, nb23, nb24, nb25, nb26, nb27 = _bwd_load4(
            u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0, s0 - 12, T, d, sUt, sXt, sMt, sCt, sGHt, cmask, scale_x, hm, K, SKIP_X)
        gc, gvf, gvr, gbf, gbr = _bwd_chunk(gc, gvf, gvr, gbf, gbr, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27,
                                            s0, T, d, vf, vr, bf, br, cmask, gu_ptr, sGUt, gx_ptr, sGXt, scale_x, th, K, SKIP_X)
        gc, gvf, gvr, gbf, gbr = _bwd_chunk(gc, gvf, gvr, gbf, gbr, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17, b18, b19, b20, b21, b22, b23, b24, b25, b26, b27,
                                            s0 - 4, T, d, vf, vr, bf, br, cmask, gu_ptr, sGUt, gx_ptr, sGXt, scale_x, th, K, SKIP_X)
        a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27 = na0, na1, na2, na3, na4, na5, na6, na7, na8, na9, na10, na11, na12, na13, na14, na15, na16, na17, na18, na19, na20, na21, na22, na23, na24, na25, na26, na27
        b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17, b18, b19, b20, b21, b22, b23, b24, b25, b26, b27 = nb0, nb1, nb2, nb3, nb4, nb5, nb6, nb7, nb8, nb9, nb10, nb11, nb12, nb13, nb14, nb15, nb16, nb17, nb18, nb19, nb20, nb21, nb22, nb23, nb24, nb25, nb26, nb27
    tl.store(GC0 + b * DH + col, gc, mask=cmask)
    # GVB [B, 4, D*H]: (v_f, v_r, b_f, b_r) gradients of this batch row
    tl.store(GVB + b * 4 * DH + col, gvf, mask=cmask)  # zeros without peephole
    tl.store(GVB + b * 4 * DH + DH + col, gvr, mask=cmask)
    tl.store(GVB + b * 4 * DH + 2 * DH + col, gbf, mask=cmask)
    tl.store(GVB + b * 4 * DH + 3 * DH + col, gbr, mask=cmask)


# ---------------------------------------------------------------------------------------
# launchers
# ---------------------------------------------------------------------------------------
_ZERO_BYTE: dict = {}


def _zero_byte(device: torch.device) -> torch.Tensor:
    """A uint8 stand-in for an absent mask (the same pointer type: no extra compile)."""
    key = str(device)
    if key not in _ZERO_BYTE:
        _ZERO_BYTE[key] = torch.zeros(1, dtype=torch.uint8, device=device)
    return _ZERO_BYTE[key]


# launched through their compiled launchers once a key is known (``cached_launch.py``)
_FWD = CachedLaunch(sru_fwd_kernel)
_BWD = CachedLaunch(sru_bwd_kernel)


def _block(H: int) -> tuple[int, int]:
    """BLOCK hidden units per program, one per thread: as many threads as the problem has."""
    block = min(128, max(32, next_pow2(H)))
    return block, block // 32


def _tb_strides(t: torch.Tensor, batch_first: bool) -> tuple[int, int]:
    return (t.stride(1), t.stride(0)) if batch_first else (t.stride(0), t.stride(1))


def sru_fwd(U: torch.Tensor, x: torch.Tensor | None, weight_c: torch.Tensor | None,
            bias: torch.Tensor, c0: torch.Tensor | None, mask_pad: torch.Tensor | None,
            *, D: int, H: int, K: int, scale_x: float, tanh: bool, batch_first: bool,
            store_c: bool, record: bool):
    """Launch the forward kernel. Returns (h, c_n, c_all | None, f | None, r | None).

    U: [T, B, D*H*K] (or [B, T, ...] when batch_first), last dim contiguous. x: the skip
    input [T, B, D*H] (same convention) when K == 3, else None. c0, c_n: [B, D*H];
    c_n, c_all, f, r are float32, the last three [T, B, D*H] (time-major), only when asked.
    mask_pad: uint8 [T, B] (any strides), nonzero at padding.
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
    grid = (cdiv(H, BLOCK), B, D)
    _FWD[grid](
        U, x if x is not None else U, weight_c if weight_c is not None else bias, bias,
        c0 if c0 is not None else dummy, mask_pad if mask_pad is not None else _zero_byte(dev),
        h, c_all, c_n, f, r,
        T, B, H, sUt, sUb, sXt, sXb, sHt, sHb, sMt, sMb, float(scale_x),
        int(weight_c is not None), int(tanh), int(mask_pad is not None), int(c0 is not None),
        int(store_c), int(record),
        K=K, SKIP_X=x is not None, BLOCK=BLOCK, num_warps=warps)
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
    gvb = torch.empty(B, 4 * D * H, device=dev, dtype=torch.float32)
    sUt, sUb = _tb_strides(U, batch_first)
    sXt, sXb = _tb_strides(x, batch_first) if x is not None else (0, 0)
    sGHt, sGHb = _tb_strides(grad_h, batch_first)
    sGUt, sGUb = _tb_strides(gU, batch_first)
    sGXt, sGXb = _tb_strides(gx, batch_first) if gx is not None else (0, 0)
    sMt, sMb = (mask_pad.stride(0), mask_pad.stride(1)) if mask_pad is not None else (0, 0)
    BLOCK, warps = _block(H)
    grid = (cdiv(H, BLOCK), B, D)
    _BWD[grid](
        U, x if x is not None else U, weight_c if peep else bias, bias,
        c0 if c0 is not None else gc0, mask_pad if mask_pad is not None else _zero_byte(dev),
        c_all, grad_h, grad_cn if grad_cn is not None else gc0,
        gU, gx if gx is not None else gU, gc0, gvb,
        T, B, H, sUt, sUb, sXt, sXb, sGHt, sGHb, sMt, sMb, sGUt, sGUb, sGXt, sGXb,
        float(scale_x), int(peep), int(tanh), int(mask_pad is not None), int(c0 is not None),
        int(grad_cn is not None),
        K=K, SKIP_X=x is not None, BLOCK=BLOCK, num_warps=warps)
    gvb = gvb.sum(0)
    return gU, gx, gc0, (gvb[:2 * D * H] if peep else None), gvb[2 * D * H:]
