"""GRU cell value, Jacobian and DEER right-hand side for all time steps in one fused kernel.

After two GEMMs for all rows (b, t) at once, gx = x W_ih^T + b_ih and gh = h_{t-1} W_hh^T +
b_hh (gate order r, z, n as in torch.nn.GRUCell), each program takes BR rows and computes

    r = sigmoid(gx_r + gh_r),  z = sigmoid(gx_z + gh_z),  n = tanh(gx_n + r * gh_n)
    f = (1 - z) n + z h_{t-1}
    J = df/dh_{t-1} = diag(z) + diag(c_z) W_z + diag(c_n) W_n + diag(c_r) W_r
        c_z = (h_{t-1} - n) z (1 - z),  c_n = (1 - z)(1 - n^2) r,
        c_r = (1 - z)(1 - n^2) gh_n r (1 - r)     (gh_n includes b_hn, as in torch.nn.GRUCell)
    b = f - h_t   (the negated residual: the scan solves for the Newton correction
                   delta_t = J_t delta_{t-1} + b_t, so that rounding in the scan is relative
                   to the correction, not to the state)

and the residual max |h_t - f(h_{t-1})| of the current iterate (one atomic max per program,
into the slot ``res`` the caller gives; NaN counts as +inf so divergence is never hidden).
MODE selects what is written: 0 the dense J [R, D, D]; 1 its diagonal a [R, D] (quasi-DEER:
a = z + c_z diag W_z + ...); 2 the dense J scaled by min(1, rho / ||J||_inf) per row (the
damped method's trust region). RECORD also writes f (a trace wants the residual per t).

``gru_gemm_linearize`` does the same with the h GEMM inside: it reads the iterate h itself
(h_{t-1} is the row before, h0 at t = 0) and accumulates gh with tl.dot, so per iteration
neither the shifted iterate nor gh = h_{t-1} W_hh^T (3 D floats per row) goes through
memory. It writes quasi-DEER's diagonal at any D (with, on request, b = f - a h_{t-1}: the
right-hand side whose scan from h0 is the next iterate itself), the dense modes up to D = 16. On the H200
at B = 16, T = 1e4 this took quasi's linearisation from 0.73 to 0.56 ms at D = 128 and
from 1.98 to 1.53 ms at D = 256 (benchmarks/deer-quasi-sweep-h200-run1.json).

Compute only: this module imports torch and triton, nothing of rnnviz.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .. import cdiv, next_pow2
from ..activations import tanh as _tanh  # overflow-free float32 tanh, shared
from .common import clip_scale, launch_plan, residual_max, row_tile, square_tile


@triton.jit
def _gru_terms(gx_r, gx_z, gx_n, gh_r, gh_z, gh_n, hp):
    """f and the coefficients of J = diag(z) + diag(c_z) W_z + diag(c_n) W_n + diag(c_r) W_r."""
    r = tl.sigmoid(gx_r + gh_r)
    z = tl.sigmoid(gx_z + gh_z)
    n = _tanh(gx_n + r * gh_n)
    f = (1.0 - z) * n + z * hp
    a_n = (1.0 - z) * (1.0 - n * n)
    c_z = (hp - n) * z * (1.0 - z)
    c_n = a_n * r
    c_r = a_n * gh_n * r * (1.0 - r)
    return f, z, c_z, c_n, c_r


@triton.jit
def _gru_diagonal(wd_ptr, cols, mc, S: tl.constexpr, z, c_z, c_n, c_r):
    """diag(J) = z + c_z diag(W_z) + c_n diag(W_n) + c_r diag(W_r) (quasi-DEER's a)."""
    d_r = tl.load(wd_ptr + cols, mask=mc, other=0.0)[None, :]
    d_z = tl.load(wd_ptr + S + cols, mask=mc, other=0.0)[None, :]
    d_n = tl.load(wd_ptr + 2 * S + cols, mask=mc, other=0.0)[None, :]
    return z + c_z * d_z + c_n * d_n + c_r * d_r


@triton.jit
def _store_value(b_ptr, f_ptr, res_ptr, off, b, f, h, m2, RECORD: tl.constexpr):
    """The right-hand side b, the residual max of |h - f|, and f when recorded."""
    tl.store(b_ptr + off, b, mask=m2)
    residual_max(res_ptr, tl.abs(h - f), m2)
    if RECORD:
        tl.store(f_ptr + off, f, mask=m2)


@triton.jit
def _store_jacobian(j_ptr, w_ptr, wd_ptr, r64, mr, cols, mc, m2, s_off, S: tl.constexpr,
                    z, c_z, c_n, c_r, rho, MODE: tl.constexpr):
    """Write what MODE asks of J for the tile's rows (r64 [BR, 1] int64, all S columns in
    ``cols`` unless MODE == 1): the diagonal a [R, S] (1), J [R, S, S] (0), or J scaled to
    the trust region rho (2)."""
    if MODE == 1:
        tl.store(j_ptr + s_off, _gru_diagonal(wd_ptr, cols, mc, S, z, c_z, c_n, c_r), mask=m2)
    else:
        ii, jj, mw = square_tile(cols, S)
        w_off = ii * S + jj
        W_r = tl.load(w_ptr + w_off, mask=mw, other=0.0).to(tl.float32)
        W_z = tl.load(w_ptr + S * S + w_off, mask=mw, other=0.0).to(tl.float32)
        W_n = tl.load(w_ptr + 2 * S * S + w_off, mask=mw, other=0.0).to(tl.float32)
        eye = (ii == jj).to(tl.float32)
        J = (z[:, :, None] * eye[None, :, :] + c_z[:, :, None] * W_z[None, :, :]
             + c_n[:, :, None] * W_n[None, :, :] + c_r[:, :, None] * W_r[None, :, :])
        if MODE == 2:
            norm = tl.max(tl.sum(tl.abs(J), axis=2), axis=1)  # ||J_t||_inf per row
            J = J * clip_scale(norm, rho)[:, None, None]
        j_off = r64[:, :, None] * (S * S) + ii[None, :, :] * S + jj[None, :, :]
        m3 = mr[:, None, None] & mw[None, :, :]
        tl.store(j_ptr + j_off, J, mask=m3)


@triton.jit
def _gru_linearize(gx_ptr, gh_ptr, hp_ptr, h_ptr, w_ptr, wd_ptr,
                   j_ptr, b_ptr, f_ptr, res_ptr, R, rho,
                   S: tl.constexpr, BS: tl.constexpr, BR: tl.constexpr,
                   MODE: tl.constexpr, RECORD: tl.constexpr):
    r64, mr, cols, mc, m2 = row_tile(R, S, BR, BS)
    g_off = r64 * (3 * S) + cols[None, :]
    s_off = r64 * S + cols[None, :]
    gx_r = tl.load(gx_ptr + g_off, mask=m2, other=0.0).to(tl.float32)
    gx_z = tl.load(gx_ptr + g_off + S, mask=m2, other=0.0).to(tl.float32)
    gx_n = tl.load(gx_ptr + g_off + 2 * S, mask=m2, other=0.0).to(tl.float32)
    gh_r = tl.load(gh_ptr + g_off, mask=m2, other=0.0).to(tl.float32)
    gh_z = tl.load(gh_ptr + g_off + S, mask=m2, other=0.0).to(tl.float32)
    gh_n = tl.load(gh_ptr + g_off + 2 * S, mask=m2, other=0.0).to(tl.float32)
    hp = tl.load(hp_ptr + s_off, mask=m2, other=0.0).to(tl.float32)
    h = tl.load(h_ptr + s_off, mask=m2, other=0.0).to(tl.float32)

    f, z, c_z, c_n, c_r = _gru_terms(gx_r, gx_z, gx_n, gh_r, gh_z, gh_n, hp)
    _store_value(b_ptr, f_ptr, res_ptr, s_off, f - h, f, h, m2, RECORD)
    _store_jacobian(j_ptr, w_ptr, wd_ptr, r64, mr, cols, mc, m2, s_off, S, z, c_z, c_n, c_r,
                    rho, MODE)


def gru_linearize(gx: torch.Tensor, gh: torch.Tensor, hp: torch.Tensor, h: torch.Tensor,
                  W_hh: torch.Tensor, wd: torch.Tensor, res: torch.Tensor, mode: str = "dense",
                  rho: float = 1.0, record: bool = False):
    """(J or a, b, f or None) for rows R = B*T; the residual is max-ed into ``res`` [1]
    (float32, zero beforehand).

    gx, gh: [R, 3D] contiguous (gh includes b_hh); hp (h_{t-1}), h (the iterate h_t): [R, D]
    contiguous; W_hh: [3D, D]; wd: [3, D] the diagonals of W_r, W_z, W_n (float32). J is [R, D, D] (modes "dense",
    "clip"), a is [R, D] ("diag"); b = f - h.
    """
    R, S = hp.shape
    m, BS, BR, out, b, f = launch_plan("GRU", R, S, S, mode, record, hp.device)
    _gru_linearize[(cdiv(R, BR),)](gx, gh, hp, h, W_hh.contiguous(), wd, out, b, f, res,
                                        R, float(rho), S=S, BS=BS, BR=BR, MODE=m, RECORD=record,
                                        num_warps=4)
    return out, b, (f if record else None)


@triton.jit
def _shifted_rows(h_ptr, h0_ptr, rows, mr, T, ks, mk, S: tl.constexpr):
    """h_{t-1} for the rows (b, t) = b * T + t and the state columns ks: the iterate's row
    before, or h0[b] where t = 0 (no shifted copy of the iterate is ever made)."""
    first = (rows % T) == 0
    r64 = rows.to(tl.int64)
    prev = tl.load(h_ptr + (r64 - 1)[:, None] * S + ks[None, :],
                   mask=(mr & ~first)[:, None] & mk[None, :], other=0.0)
    init = tl.load(h0_ptr + (r64 // T)[:, None] * S + ks[None, :],
                   mask=(mr & first)[:, None] & mk[None, :], other=0.0)
    return (prev + init).to(tl.float32)


@triton.jit
def _gemm_step(a, b, acc, PREC: tl.constexpr):
    """acc + a @ b: tl.dot under PREC, or with PREC "registers" a broadcast-and-sum (tiles
    below tl.dot's 16 x 16, where padding to 16 would quadruple a small state's work)."""
    if PREC == "registers":
        return acc + tl.sum(a[:, :, None] * b[None, :, :], axis=1)
    else:
        return tl.dot(a, b, acc, input_precision=PREC)


@triton.jit
def _gru_gemm(gx_ptr, h_ptr, h0_ptr, w_ptr, bh_ptr, wd_ptr, j_ptr, b_ptr, f_ptr, res_ptr,
              R, T, rho, S: tl.constexpr, BR: tl.constexpr, BS: tl.constexpr,
              BK: tl.constexpr, PREC: tl.constexpr, MODE: tl.constexpr, RECORD: tl.constexpr,
              ZERO_ITERATE: tl.constexpr, STATE_RHS: tl.constexpr):
    """The linearisation with the h GEMM inside: the program's BR rows x BS state columns
    of gh = h_{t-1} W_hh^T + b_hh are accumulated over K = S in blocks of BK with tl.dot
    (three [BR, BS] accumulators, one per gate), then used at once: gh never goes to
    memory, and neither does the shifted iterate h_{t-1}. MODE as ``_gru_linearize``; the
    dense modes need all S columns in one program (BS >= S).

    ZERO_ITERATE: the iterate is all zeros (the solver's first, without ``init``), so
    h_{t-1} W_hh^T vanishes except at t = 0 (h0): only programs holding a t = 0 row run
    the GEMM. STATE_RHS (diagonal mode only): b = f - a h_{t-1}, the right-hand side of the
    recurrence for the next iterate itself, h'_t = a_t h'_{t-1} + b_t."""
    rows = tl.program_id(0) * BR + tl.arange(0, BR)
    mr = rows < R
    cols = tl.program_id(1) * BS + tl.arange(0, BS)
    mc = cols < S
    acc_r = tl.zeros([BR, BS], dtype=tl.float32)
    acc_z = tl.zeros([BR, BS], dtype=tl.float32)
    acc_n = tl.zeros([BR, BS], dtype=tl.float32)
    run_gemm = True
    if ZERO_ITERATE:
        run_gemm = tl.sum((((rows % T) == 0) & mr).to(tl.int32), axis=0) > 0
    if run_gemm:
        for k0 in range(0, S, BK):
            ks = k0 + tl.arange(0, BK)
            mk = ks < S
            hp_k = _shifted_rows(h_ptr, h0_ptr, rows, mr, T, ks, mk, S)
            w_off = cols[None, :] * S + ks[:, None]  # W_g^T [BK, BS]: W_hh[g * S + col, k]
            mw = mk[:, None] & mc[None, :]
            w_r = tl.load(w_ptr + w_off, mask=mw, other=0.0).to(tl.float32)
            w_z = tl.load(w_ptr + S * S + w_off, mask=mw, other=0.0).to(tl.float32)
            w_n = tl.load(w_ptr + 2 * S * S + w_off, mask=mw, other=0.0).to(tl.float32)
            acc_r = _gemm_step(hp_k, w_r, acc_r, PREC)
            acc_z = _gemm_step(hp_k, w_z, acc_z, PREC)
            acc_n = _gemm_step(hp_k, w_n, acc_n, PREC)
    gh_r = acc_r + tl.load(bh_ptr + cols, mask=mc, other=0.0).to(tl.float32)[None, :]
    gh_z = acc_z + tl.load(bh_ptr + S + cols, mask=mc, other=0.0).to(tl.float32)[None, :]
    gh_n = acc_n + tl.load(bh_ptr + 2 * S + cols, mask=mc, other=0.0).to(tl.float32)[None, :]
    # the epilogue's operands, after the GEMM: loaded before it (to overlap their latency)
    # they spilled registers, 0.56 -> 0.70 ms at B = 16, T = 1e4, S = 128 on the H200
    r64 = rows.to(tl.int64)[:, None]
    m2 = mr[:, None] & mc[None, :]
    g_off = r64 * (3 * S) + cols[None, :]
    s_off = r64 * S + cols[None, :]
    gx_r = tl.load(gx_ptr + g_off, mask=m2, other=0.0).to(tl.float32)
    gx_z = tl.load(gx_ptr + g_off + S, mask=m2, other=0.0).to(tl.float32)
    gx_n = tl.load(gx_ptr + g_off + 2 * S, mask=m2, other=0.0).to(tl.float32)
    hp = _shifted_rows(h_ptr, h0_ptr, rows, mr, T, cols, mc, S)
    h = tl.load(h_ptr + s_off, mask=m2, other=0.0).to(tl.float32)
    f, z, c_z, c_n, c_r = _gru_terms(gx_r, gx_z, gx_n, gh_r, gh_z, gh_n, hp)
    if STATE_RHS:
        a = _gru_diagonal(wd_ptr, cols, mc, S, z, c_z, c_n, c_r)
        tl.store(j_ptr + s_off, a, mask=m2)
        _store_value(b_ptr, f_ptr, res_ptr, s_off, f - a * hp, f, h, m2, RECORD)
    else:
        _store_value(b_ptr, f_ptr, res_ptr, s_off, f - h, f, h, m2, RECORD)
        _store_jacobian(j_ptr, w_ptr, wd_ptr, r64, mr, cols, mc, m2, s_off, S, z, c_z, c_n,
                        c_r, rho, MODE)


DENSE_GEMM_MAX_S = 16  # the dense modes hold [BR, S, S] with BR >= 16 rows (tl.dot's minimum)


def dense_gemm_pays(S: int) -> bool:
    """Whether newton's / damped's GRU linearisation takes ``gru_gemm_linearize`` at state
    size S (else the shifted iterate, cuBLAS for gh and ``gru_linearize``): at every S it
    can hold. Measured on the H200 (benchmarks/deer-newton-sweep-h200-tiles.json, T = 1e5):
    0.28 against 0.45 ms at S = 8, B = 16 (one warp per 32 rows; with four warps, the former
    plan, it took 0.98 ms), 0.061 against 0.112 ms at S = 8, B = 1, 0.15 against 0.23 ms at
    S = 4, B = 16; at S = 16, B = 16, T = 1e4 0.20 against 0.24 ms
    (benchmarks/deer-newton-sweep-h200.json)."""
    return S <= DENSE_GEMM_MAX_S


def gemm_plan(S: int, mode: str = "diag") -> tuple[tuple[int, int, int], str]:
    """((BR, BS, BK), tl.dot precision) of ``gru_gemm_linearize``.

    "diag", from sweeps on an H200 (benchmarks/deer-quasi-sweep-h200*.json, B in {1, 16},
    T = 1e4): tl.dot wants every side >= 16; 32 rows x 64 state columns (three
    accumulators) over K blocks of 32 from S = 64; up to S = 32 plain float32 FMAs ("ieee",
    exact) beat the three tf32 products of "tf32x3", which keep float32's accuracy where
    the GEMM is larger. Dense modes: one program holds all S columns and its rows' Jacobians
    [BR, S, S] (S <= ``DENSE_GEMM_MAX_S``): up to S = 8 about 2048 values with the h GEMM
    as a broadcast-and-sum ("registers"; padded to tl.dot's 16 x 16, S = 4 and 8 took 2-4x
    the unfused kernel's time on the H200), at S = 16 16 rows and tl.dot.

    The registers variant runs 32 rows per program on one warp (``plan_warps``)."""
    side = max(16, min(64, next_pow2(S)))
    precision = "ieee" if S <= 32 else "tf32x3"
    if mode != "diag":
        if S > DENSE_GEMM_MAX_S:
            raise ValueError(f"the GEMM-in-kernel GRU linearisation holds [rows, S, S] Jacobians "
                             f"in registers: S <= {DENSE_GEMM_MAX_S} in mode {mode!r}, got {S}")
        if S <= 8:  # a [32, 8, 8] tile in registers, no padding to tl.dot's 16
            side = max(2, next_pow2(S))
            return (32, side, side), "registers"
        return (16, side, side), precision
    return (32 if S >= 64 else 64, side, min(side, 32)), precision


def plan_warps(BR: int, BS: int, precision: str) -> int:
    """Warps of a ``gru_gemm_linearize`` program: one for the registers variant (its
    [BR, S, S] broadcast-and-sum GEMM and Jacobian tile spread over more warps took 3.5x the
    time at S = 8 on the H200, benchmarks/deer-newton-sweep-h200-tiles.json), 8 for three
    accumulators of 8192 values or more, else 4."""
    if precision == "registers":
        return 1
    return 8 if BR * BS >= 8192 else 4


def gru_gemm_linearize(gx: torch.Tensor, h: torch.Tensor, h0: torch.Tensor, W_hh: torch.Tensor,
                       b_hh: torch.Tensor | None, wd: torch.Tensor, res: torch.Tensor,
                       mode: str = "diag", rho: float = 1.0, record: bool = False,
                       precision: str | None = None, tiles: tuple[int, int, int] | None = None,
                       zero_iterate: bool = False, num_warps: int | None = None,
                       rhs: str = "correction"):
    """(J or a, b, f or None) for the iterate h [B, T, D] from the iterate itself, as
    ``gru_linearize`` in the same ``mode``, but h_{t-1} (h0 [B, D] at t = 0) and
    gh = h_{t-1} W_hh^T + b_hh are formed inside the kernel. gx [B*T, 3D] contiguous
    (x W_ih^T + b_ih); wd [3, D] the diagonals of W_hh's blocks; the residual is max-ed into
    ``res`` [1] (float32, zero beforehand). Modes "dense" and "clip" need D <=
    ``DENSE_GEMM_MAX_S``.

    ``precision``: tl.dot's input precision for the h GEMM: "tf32x3" splits each float32
    operand into two tf32 parts on the tensor cores and keeps float32's accuracy (errors
    about 1e-7), "ieee" is plain float32 FMAs, "tf32" torch's allow_tf32 (about 1e-3; not
    used by rnnviz); "registers" no tl.dot (tiles below 16). None: ``gemm_plan``'s choice,
    as are the tiles. ``zero_iterate``: h is
    known to be all zeros (the GEMM then runs only where t = 0). ``num_warps``: None for
    ``plan_warps``'s choice.

    ``rhs``: "correction", b = f - h (the scan then gives the Newton correction, as
    ``gru_linearize``), or, in mode "diag" only, "state": b = f - a h_{t-1}, so that the scan
    h'_t = a_t h'_{t-1} + b_t from h'_{-1} = h0 gives the next iterate itself and the solver
    skips its pass h + delta over memory (0.06 of about 0.9 ms per quasi iteration at
    D = 128, B = 16, T = 1e4 on the H200).
    """
    if rhs not in ("correction", "state"):
        raise ValueError(f"rhs must be 'correction' or 'state', got {rhs!r}")
    if rhs == "state" and mode != "diag":
        raise ValueError(f"rhs='state' is quasi-DEER's diagonal recurrence: mode 'diag', got {mode!r}")
    h = h.contiguous()
    B, T, S = h.shape
    R = B * T
    plan_tiles, plan_precision = gemm_plan(S, mode)
    BR, BS, BK = tiles or plan_tiles
    precision = precision or plan_precision
    m, _, _, out, b, f = launch_plan("GRU", R, S, S, mode, record, h.device)
    bias = b_hh if b_hh is not None else torch.zeros(3 * S, device=h.device, dtype=torch.float32)
    grid = (cdiv(R, BR), cdiv(S, BS))
    _gru_gemm[grid](gx, h, h0.contiguous(), W_hh.contiguous(), bias, wd, out, b, f, res,
                    R, T, float(rho), S=S, BR=BR, BS=BS, BK=BK, PREC=precision, MODE=m,
                    RECORD=record, ZERO_ITERATE=zero_iterate, STATE_RHS=rhs == "state",
                    num_warps=num_warps or plan_warps(BR, BS, precision))
    return out, b, (f if record else None)
