"""The linear scan on time-contiguous storage: [B, T, D] views of [B, D, T] memory.

Conv1d, and every model built on it, keeps a sequence as [B, C, T]: each channel's T steps
side by side in memory. The other kernels want the channels side by side (a time step's
D values in one row), and read a [B, D, T] tensor's time steps D * T bytes apart: one
element per cache line. Copying it to [B, T, D] first costs a read and a write of every
input. Here the layout works for the scan instead: a channel's steps are one contiguous
row, so a chunk of BLOCK_T steps is one wide, coalesced load along the row, and the scan
along it runs across the lanes of the program (``tl.associative_scan`` along axis 1).

    rows r = b * D + d,  each a contiguous sequence of T steps
    program = (part g, block of BLOCK_R rows); a part is ``seg`` chunks of BLOCK_T steps

    for each chunk of the part, in processing order:
        fold the carry into the chunk's first step (b <- a carry + b),
        scan the chunk along T: the states themselves; carry = the last state

With enough rows (B * D in the hundreds) one part per row fills the GPU: one launch. With
few rows and long T the sequence is cut into parts and their carries found by
reduce-then-scan, as ``reduce_scan.py`` does on the other layout: SUMMARISE each part as
one affine step, scan the summaries ([n_parts, rows], by the channel kernel), then walk each
part again from its carry.

Chunks are numbered by position (chunk k = steps k * BLOCK_T ..), whatever the direction,
so every load starts on a 16-byte boundary when T allows it; REVERSE walks them from the
last, scanning each one from its end (``reverse=True`` of ``tl.associative_scan``). Steps
past T are the identity. The backward is the same kernel with SHIFT_A and GRAD_A, as in
``blocks.py``: the coefficient of a step is a at the step processed before it, and grad_a
multiplies by the forward's state at the step processed after it (h0 at the end).

Compute only: imports triton, nothing of rnnviz.
"""
from __future__ import annotations

import triton
import triton.language as tl

from .blocks import scan_combine


@triton.jit
def _end_of(x, idx, BLOCK_T: tl.constexpr, REVERSE: tl.constexpr):
    """x [BLOCK_R, BLOCK_T] at the chunk's last processed step, as [BLOCK_R]."""
    last = 0 if REVERSE else BLOCK_T - 1
    return tl.sum(tl.where(idx[None, :] == last, x, 0.0), axis=1)


@triton.jit
def _load_chunk(a_row, b_row, t, live, rmask, T, REVERSE: tl.constexpr, SHIFT_A: tl.constexpr):
    """The (a, b) of steps t [BLOCK_T] of the rows (``a_row``, ``b_row``: [BLOCK_R, 1]
    pointers to each row's step 0), float32, the identity past T. With SHIFT_A a step's
    coefficient is a at the step processed before it (t - 1, or t + 1 when REVERSE; 0
    before the start)."""
    m = rmask[:, None] & live[None, :]
    if SHIFT_A:
        tp = t + 1 if REVERSE else t - 1
        lp = (tp >= 0) & (tp < T)
        a = tl.load(a_row + tp[None, :], mask=rmask[:, None] & lp[None, :], other=0.0)
        a = tl.where(live[None, :], a.to(tl.float32), 1.0)
    else:
        a = tl.load(a_row + t[None, :], mask=m, other=1.0).to(tl.float32)
    b = tl.load(b_row + t[None, :], mask=m, other=0.0).to(tl.float32)
    return a, b, m


@triton.jit
def scan_time_kernel(
    A, Bv, H0, SEGH, H, GA, HF, HF0, CA, CB,
    T, n_rows, n_rb, seg,
    HAS_H0: tl.constexpr, HAS_HF0: tl.constexpr, REVERSE: tl.constexpr,
    SHIFT_A: tl.constexpr, GRAD_A: tl.constexpr, SUMMARISE: tl.constexpr,
    CARRIED: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_T: tl.constexpr,
    STAGES: tl.constexpr = 1,
):
    """One program per (part, block of BLOCK_R rows); every tensor is [rows, T] dense
    (h0, hf0: [rows]).

    SUMMARISE: only the part's summary (ca, cb), stored at CA, CB [n_parts, rows] (parts in
    processing order). Otherwise the states of the part from its carry: h0 for the first
    part, else (CARRIED) SEGH[g - 1] [n_parts, rows], the scan of the summaries; stored at
    H (and grad_a at GA)."""
    pid = tl.program_id(0)
    g = pid // n_rb
    rows = (pid % n_rb) * BLOCK_R + tl.arange(0, BLOCK_R)
    rmask = rows < n_rows
    base = rows.to(tl.int64)[:, None] * T
    idx = tl.arange(0, BLOCK_T)
    n_chunks = tl.cdiv(T, BLOCK_T)
    c_lo = g * seg
    c_hi = tl.minimum(c_lo + seg, n_chunks)
    carry = tl.zeros([BLOCK_R], dtype=tl.float32)
    if HAS_H0:
        carry = tl.load(H0 + rows, mask=rmask, other=0.0).to(tl.float32)
    if CARRIED:
        later = (tl.zeros_like(rows) + g) > 0  # (a vector: the interpreter masks no scalars)
        prev = tl.load(SEGH + (g - 1) * n_rows + rows, mask=rmask & later, other=0.0)
        carry = tl.where(later, prev, carry)
    hf0 = tl.zeros([BLOCK_R], dtype=tl.float32)
    if HAS_HF0:
        hf0 = tl.load(HF0 + rows, mask=rmask, other=0.0).to(tl.float32)
    ca = tl.zeros([BLOCK_R], dtype=tl.float32) + 1.0
    cb = tl.zeros([BLOCK_R], dtype=tl.float32)
    for c in tl.range(c_lo, c_hi, num_stages=STAGES):
        k = n_chunks - 1 - c if REVERSE else c  # the chunk's position along T
        t = k * BLOCK_T + idx
        live = t < T
        a, b, m = _load_chunk(A + base, Bv + base, t, live, rmask, T, REVERSE, SHIFT_A)
        if SUMMARISE:
            ka, kb = tl.associative_scan((a, b), 1, scan_combine, reverse=REVERSE)
            ea = _end_of(ka, idx, BLOCK_T, REVERSE)
            ca, cb = ca * ea, ea * cb + _end_of(kb, idx, BLOCK_T, REVERSE)
        else:
            first = idx[None, :] == (BLOCK_T - 1 if REVERSE else 0)
            b = tl.where(first, a * carry[:, None] + b, b)  # the carry enters at step one
            _, h = tl.associative_scan((a, b), 1, scan_combine, reverse=REVERSE)
            carry = _end_of(h, idx, BLOCK_T, REVERSE)
            tl.store(H + base + t[None, :], h.to(H.dtype.element_ty), mask=m)
            if GRAD_A:
                tn = t - 1 if REVERSE else t + 1  # the step processed next
                ln = (tn >= 0) & (tn < T)
                hn = tl.load(HF + base + tn[None, :], mask=m & ln[None, :], other=0.0)
                hn = tl.where(ln[None, :], hn.to(tl.float32), hf0[:, None])
                tl.store(GA + base + t[None, :], (h * hn).to(GA.dtype.element_ty), mask=m)
    if SUMMARISE:
        tl.store(CA + g * n_rows + rows, ca, mask=rmask)
        tl.store(CB + g * n_rows + rows, cb, mask=rmask)
