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
few rows and long T the sequence is cut into parts, and their carries found one of two ways:

- reduce-then-scan, as ``reduce_scan.py`` does on the other layout: SUMMARISE each part as
  one affine step, scan the summaries ([n_parts, rows], by the channel kernel), then walk
  each part again from its carry (three launches);
- LOOKBACK, in one launch: a program summarises its part, publishes the summary, takes its
  carry by ``seqpar.lookback_carry`` over the earlier parts of its rows, and walks the part
  again from it. The second walk reads what the first read a moment before, which should
  come from the L2. On the other layout the look-back lost to reduce-then-scan: thousands of
  segments per channel tile waited while inclusive states crept back 32 segments a round.
  Here a row has tens of parts (1056 programs over 16 rows or more: 66 at most), a few
  windows back at most. With one chunk a part (HOLD) the chunk stays in registers over the
  look-back instead: one read, one scan. Measured on the H200 it was correct and never the
  fastest (benchmarks/scan-time-sweep-h200-lookback.json): its best parts were long, read
  twice like reduce-then-scan's, plus the wait (D=16, T=2^20 fp32 forward 110 us against
  97); held chunks need a part per chunk, 256 parts a row there, and took 170 us. It stays
  as the tested alternative that notebook 7 compares; the tuned table does not choose it.

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
from .seqpar import AGGREGATE, INCLUSIVE, LOOKBACK, lookback_carry, publish, release_status

WINDOW = tl.constexpr(LOOKBACK)  # parts examined at once by the look-back


@triton.jit
def _end_of(x, idx, BLOCK_T: tl.constexpr, REVERSE: tl.constexpr):
    """x [BLOCK_R, BLOCK_T] at the chunk's last processed step, as [BLOCK_R]."""
    last = 0 if REVERSE else BLOCK_T - 1
    return tl.sum(tl.where(idx[None, :] == last, x, 0.0), axis=1)


@triton.jit
def _chunk_steps(c, n_chunks, idx, BLOCK_T: tl.constexpr, REVERSE: tl.constexpr):
    """The steps [BLOCK_T] of the c-th chunk processed: chunks are numbered by position along
    T, so going back the first processed is the last."""
    k = n_chunks - 1 - c if REVERSE else c
    return k * BLOCK_T + idx


@triton.jit
def _load_chunk(a_row, b_row, t, live, rmask, T, REVERSE: tl.constexpr, SHIFT_A: tl.constexpr):
    """The (a, b) of steps t [BLOCK_T] of the rows (``a_row``, ``b_row``: [BLOCK_R, 1]
    pointers to each row's step 0), float32, the identity past T. With SHIFT_A a step's
    coefficient is a at the step processed before it (t - 1, or t + 1 when REVERSE; 0
    before the start). That load starts one element off a 16-byte boundary (bf16: 2-byte
    loads). Loading aligned and moving the chunk one step with ``tl.gather`` was slower,
    1.4-4.3x the backward's time on the H200 (benchmarks/scan-time-shift-ab-h200.json)."""
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
def _part_summary(a_row, b_row, c_lo, c_hi, n_chunks, idx, rmask, T, REVERSE: tl.constexpr,
                  SHIFT_A: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_T: tl.constexpr,
                  STAGES: tl.constexpr):
    """Chunks c_lo .. c_hi - 1 (in processing order) of the rows as one affine step
    h -> ca h + cb: a read-only walk, last chunk first (as ``seqpar.segment_aggregate``:
    the walk that follows starts on the chunks read last, the likeliest in the L2). On the
    H100 at B=1, D=16, T=2^20 the forward took 125.0 us this way against 129.5 first chunk
    first (fp32), 67.0 against 72.2 (bf16; benchmarks/scan-summary-ab-d16-h100.json)."""
    ca = tl.zeros([BLOCK_R], dtype=tl.float32) + 1.0
    cb = tl.zeros([BLOCK_R], dtype=tl.float32)
    for i in tl.range(0, c_hi - c_lo, num_stages=STAGES):
        c = c_hi - 1 - i
        t = _chunk_steps(c, n_chunks, idx, BLOCK_T, REVERSE)
        a, b, _ = _load_chunk(a_row, b_row, t, t < T, rmask, T, REVERSE, SHIFT_A)
        ka, kb = tl.associative_scan((a, b), 1, scan_combine, reverse=REVERSE)
        ea = _end_of(ka, idx, BLOCK_T, REVERSE)
        ca, cb = scan_combine(ea, _end_of(kb, idx, BLOCK_T, REVERSE), ca, cb)  # chunk c first
    return ca, cb


@triton.jit
def scan_time_kernel(
    A, Bv, H0, SEGH, H, GA, HF, HF0, CA, CB, FLAGS, VALS, SCRATCH, COUNTER,
    T, n_rows, n_rb, seg,
    HAS_H0: tl.constexpr, HAS_HF0: tl.constexpr, REVERSE: tl.constexpr,
    SHIFT_A: tl.constexpr, GRAD_A: tl.constexpr, SUMMARISE: tl.constexpr,
    CARRIED: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_T: tl.constexpr,
    STAGES: tl.constexpr = 1, LOOKBACK_PARTS: tl.constexpr = False, HOLD: tl.constexpr = False,
    FEWER_TRIPS: tl.constexpr = False,
):
    """One program per (part, block of BLOCK_R rows); every tensor is [rows, T] dense
    (h0, hf0: [rows]).

    SUMMARISE: only the part's summary (ca, cb), stored at CA, CB [n_parts, rows] (parts in
    processing order). Otherwise the states of the part from its carry: h0 for the first
    part, else (CARRIED) SEGH[g - 1] [n_parts, rows], the scan of the summaries, or
    (LOOKBACK_PARTS) the look-back's, through the status buffers FLAGS, VALS, SCRATCH,
    COUNTER (``seqpar.status_buffers``); stored at H (and grad_a at GA). HOLD (with
    LOOKBACK_PARTS, parts of one chunk): the chunk's local scan stays in registers over the
    look-back and takes the carry there, Merrill & Garland's single pass: read once, scanned
    once. FEWER_TRIPS (with LOOKBACK_PARTS): each look-back round waits on the L2 twice, not
    four times (``seqpar.lookback_carry``)."""
    if LOOKBACK_PARTS:
        # parts in the order programs start (an atomic ticket), so a program only ever
        # waits for programs that are running
        ticket = tl.atomic_add(COUNTER, 1)
    else:
        ticket = tl.program_id(0)
    g = ticket // n_rb
    rb = ticket % n_rb
    rows = rb * BLOCK_R + tl.arange(0, BLOCK_R)
    rmask = rows < n_rows
    base = rows.to(tl.int64)[:, None] * T
    idx = tl.arange(0, BLOCK_T)
    n_chunks = tl.cdiv(T, BLOCK_T)
    c_lo = g * seg
    c_hi = tl.minimum(c_lo + seg, n_chunks)
    carry = tl.zeros([BLOCK_R], dtype=tl.float32)
    if HAS_H0:
        carry = tl.load(H0 + rows, mask=rmask, other=0.0).to(tl.float32)
    if HOLD:
        t = _chunk_steps(c_lo, n_chunks, idx, BLOCK_T, REVERSE)
        a, b, m = _load_chunk(A + base, Bv + base, t, t < T, rmask, T, REVERSE, SHIFT_A)
        ka, kb = tl.associative_scan((a, b), 1, scan_combine, reverse=REVERSE)
        ca = _end_of(ka, idx, BLOCK_T, REVERSE)
        cb = _end_of(kb, idx, BLOCK_T, REVERSE)
    elif SUMMARISE or LOOKBACK_PARTS:
        ca, cb = _part_summary(A + base, Bv + base, c_lo, c_hi, n_chunks, idx, rmask, T,
                               REVERSE, SHIFT_A, BLOCK_R, BLOCK_T, STAGES)
    if SUMMARISE:
        tl.store(CA + g * n_rows + rows, ca, mask=rmask)
        tl.store(CB + g * n_rows + rows, cb, mask=rmask)
    else:
        if CARRIED:
            later = (tl.zeros_like(rows) + g) > 0  # (a vector: the interpreter masks no scalars)
            prev = tl.load(SEGH + (g - 1) * n_rows + rows, mask=rmask & later, other=0.0)
            carry = tl.where(later, prev, carry)
        if LOOKBACK_PARTS:
            own = g.to(tl.int64) * n_rb + rb
            lanes = tl.arange(0, BLOCK_R)
            if g > 0:
                publish(FLAGS, VALS, own, ca, cb, lanes, AGGREGATE, BLOCK_R)
            carry, _ = lookback_carry(FLAGS, VALS, SCRATCH + ticket.to(tl.int64) * WINDOW, rb,
                                      n_rb, g, carry, BLOCK_R, WINDOW, FEWER_TRIPS)
            publish(FLAGS, VALS, own, ca * carry + cb, cb, lanes, INCLUSIVE, BLOCK_R)
        hf0 = tl.zeros([BLOCK_R], dtype=tl.float32)
        if HAS_HF0:
            hf0 = tl.load(HF0 + rows, mask=rmask, other=0.0).to(tl.float32)
        if HOLD:
            _store_states(ka * carry[:, None] + kb, t, m, H + base, GA + base, HF + base, hf0,
                          T, REVERSE, GRAD_A)
        else:
            _walk_part(carry, A + base, Bv + base, H + base, GA + base, HF + base, hf0, rmask,
                       c_lo, c_hi, n_chunks, idx, T, REVERSE, SHIFT_A, GRAD_A, BLOCK_T, STAGES)
        if LOOKBACK_PARTS:
            release_status(FLAGS, COUNTER)


@triton.jit
def _walk_part(carry, a_row, b_row, h_row, ga_row, hf_row, hf0, rmask, c_lo, c_hi, n_chunks,
               idx, T, REVERSE: tl.constexpr, SHIFT_A: tl.constexpr, GRAD_A: tl.constexpr,
               BLOCK_T: tl.constexpr, STAGES: tl.constexpr):
    """The states of chunks c_lo .. c_hi - 1 of the rows from ``carry``, stored by
    ``_store_states``."""
    for c in tl.range(c_lo, c_hi, num_stages=STAGES):
        t = _chunk_steps(c, n_chunks, idx, BLOCK_T, REVERSE)
        a, b, m = _load_chunk(a_row, b_row, t, t < T, rmask, T, REVERSE, SHIFT_A)
        first = idx[None, :] == (BLOCK_T - 1 if REVERSE else 0)
        b = tl.where(first, a * carry[:, None] + b, b)  # the carry enters at step one
        _, h = tl.associative_scan((a, b), 1, scan_combine, reverse=REVERSE)
        carry = _end_of(h, idx, BLOCK_T, REVERSE)
        _store_states(h, t, m, h_row, ga_row, hf_row, hf0, T, REVERSE, GRAD_A)


@triton.jit
def _store_states(h, t, m, h_row, ga_row, hf_row, hf0, T, REVERSE: tl.constexpr,
                  GRAD_A: tl.constexpr):
    """h [BLOCK_R, BLOCK_T] of steps t stored at h_row (and, GRAD_A, h times the forward's
    state at the step processed next, hf0 past the end, at ga_row)."""
    tl.store(h_row + t[None, :], h.to(h_row.dtype.element_ty), mask=m)
    if GRAD_A:
        tn = t - 1 if REVERSE else t + 1  # the step processed next
        ln = (tn >= 0) & (tn < T)
        hn = tl.load(hf_row + tn[None, :], mask=m & ln[None, :], other=0.0)
        hn = tl.where(ln[None, :], hn.to(tl.float32), hf0[:, None])
        tl.store(ga_row + t[None, :], (h * hn).to(ga_row.dtype.element_ty), mask=m)
