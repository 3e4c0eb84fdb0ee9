"""Reusable ``@triton.jit`` pieces of the linear scan h_t = a_t h_{t-1} + b_t.

Other kernels build on these: a fused minGRU kernel computes (a, b) in registers and calls
:func:`scan_chunk` on them; the channel- and sequence-parallel scan kernels share the tile
loads and stores below.

The algebra: a step is the affine map h -> a h + b. Doing (a1, b1) then (a2, b2) is
h -> a2 (a1 h + b1) + b2, the pair (a1 a2, a2 b1 + b2): :func:`scan_combine`, associative,
so ``tl.associative_scan`` runs it as a tree. Scanning a tile of BLOCK_T steps gives, for each
step, A_t = a_0 ... a_t and the local scan L_t (h_t from a zero state); the state the tile
hands on is then h_t = A_t carry + L_t.

Tiles are [BLOCK_T, BLOCK_D]: time down the rows, channels along the columns, so each row
is a contiguous run of channels and the loads are wide and coalesced along D. Padding
steps (past T) are the identity (a = 1, b = 0): they carry the state through unchanged.

Compute only: imports triton, nothing of rnnviz.
"""
from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def scan_combine(a_l, b_l, a_r, b_r):
    """(a_l, b_l) then (a_r, b_r): h -> a_r (a_l h + b_l) + b_r."""
    return a_l * a_r, a_r * b_l + b_r


@triton.jit
def last_row(x, BLOCK_T: tl.constexpr):
    """Row BLOCK_T - 1 of a [BLOCK_T, BLOCK_D] tile, as a [BLOCK_D] vector."""
    rows = tl.arange(0, BLOCK_T)[:, None]
    return tl.sum(tl.where(rows == BLOCK_T - 1, x, 0.0), axis=0)


@triton.jit
def chunk_local_scan(a, b):
    """(A, L): the inclusive scan of a tile's steps along axis 0 from a zero state."""
    return tl.associative_scan((a, b), 0, scan_combine)


@triton.jit
def scan_chunk(a, b, carry, BLOCK_T: tl.constexpr):
    """Scan one [BLOCK_T, BLOCK_D] float32 tile that starts from state ``carry`` [BLOCK_D].

    Returns (h, L, carry_out): the states h_t = A_t carry + L_t, the chunk-local scan L
    (what a trace shows as "local") and the state leaving the tile (its last row of h).
    """
    A, L = chunk_local_scan(a, b)
    h = A * carry[None, :] + L
    return h, L, last_row(h, BLOCK_T)


@triton.jit
def step_time(s, T, REVERSE: tl.constexpr):
    """Physical time index (int64) of processing step s and whether the step exists:
    steps run t = 0 .. T-1, or t = T-1 .. 0 when REVERSE."""
    live = (s >= 0) & (s < T)
    if REVERSE:
        t = T - 1 - s
    else:
        t = s
    t = tl.where(live, t, 0)
    return t.to(tl.int64), live


@triton.jit
def load_step_tile(a_base, b_base, s, T, s_at, s_bt, dmask, REVERSE: tl.constexpr,
                   SHIFT_A: tl.constexpr):
    """Load the (a, b) tile of steps ``s`` [BLOCK_T] as float32 (identity where s >= T).

    ``a_base``/``b_base`` are [BLOCK_D] pointers to the channels at t = 0. With SHIFT_A the
    coefficient of step s is a at the previous step s - 1 (0 for s = 0): that is the
    backward scan, g_t = grad_h_t + a_{t+1} g_{t+1}, read without materialising a shifted a.
    Returns (a, b, t, mask).
    """
    t, live = step_time(s, T, REVERSE)
    m = live[:, None] & dmask[None, :]
    if SHIFT_A:
        tp, lp = step_time(s - 1, T, REVERSE)
        a = tl.load(a_base[None, :] + tp[:, None] * s_at, mask=lp[:, None] & dmask[None, :],
                    other=0.0).to(tl.float32)
        a = tl.where(live[:, None], a, 1.0)
    else:
        a = tl.load(a_base[None, :] + t[:, None] * s_at, mask=m, other=1.0).to(tl.float32)
    b = tl.load(b_base[None, :] + t[:, None] * s_bt, mask=m, other=0.0).to(tl.float32)
    return a, b, t, m


@triton.jit
def store_step_tile(h, s, t, m, T, h_base, s_ht, ga_base, hf_base, s_hft, hf0,
                    REVERSE: tl.constexpr, GRAD_A: tl.constexpr):
    """Store the tile h; with GRAD_A (the backward, where h is g = dL/dh in total) also
    grad_a_t = g_t h_{t-1}, reading the forward's states ``hf`` one step the other way
    (``hf0``, the forward's initial state, where that step is before the start)."""
    tl.store(h_base[None, :] + t[:, None] * s_ht, h.to(h_base.dtype.element_ty), mask=m)
    if GRAD_A:
        tn, ln = step_time(s + 1, T, REVERSE)
        hp = tl.load(hf_base[None, :] + tn[:, None] * s_hft, mask=m & ln[:, None],
                     other=0.0).to(tl.float32)
        hp = tl.where((s + 1 == T)[:, None], hf0[None, :], hp)
        tl.store(ga_base[None, :] + t[:, None] * s_ht, (h * hp).to(ga_base.dtype.element_ty),
                 mask=m)
