"""Channel-parallel linear scan: each program owns BLOCK_D channels of one batch row and
walks T in chunks of R * S steps, carrying the state from chunk to chunk.

    for chunk c = 0, 1, ...:   summary of the chunk (A, L, sub-chunk maps, aggregate)
                               h = states from carry;   carry = ca * carry + cb

With one sub-chunk per chunk (S = 1, many channels) and nothing to record, the chunk is
scanned straight from the carry instead (``blocks.scan_rows_from``).

Bytes in flight are what a walk needs: each thread holds one chunk's rows, so with few
threads (bf16: 8 channels a thread) one chunk in registers is not enough to cover the
memory latency. STAGES > 1 lets Triton's pipeliner stage the next chunks' loads in shared
memory (cp.async) while this chunk is computed; VEC narrows the loads (fewer channels, so
more threads, per row).

Each element of a and b is read once and h written once, so with enough channels (B * D in
the tens of thousands) the kernel runs at the copy bandwidth. With few channels the grid
cannot fill the GPU: that is the sequence-parallel kernel's job (``seqpar.py``).

The same kernel runs the backward (REVERSE flipped, SHIFT_A, GRAD_A; see ``blocks.py``) and,
with RECORD, also writes the chunk-local scans and the carry entering each chunk.

The walk itself is ``walk_chunks``, over any range of chunks: the sequence path's segment
kernel (``seqpar.py``) walks its segment with it once it knows the segment's carry.
"""
from __future__ import annotations

import triton
import triton.language as tl

from .blocks import (chunk_apply, chunk_offsets, chunk_summary, load_step_tile, scan_rows_from,
                     store_step_tile)


@triton.jit
def walk_chunks(carry, c_lo, c_hi, a_base, b_base, off, T, s_at, s_bt, dmask, h_base, ga_base,
                hf_base, s_hft, hf0, loc_base, car_base, D, REVERSE: tl.constexpr,
                SHIFT_A: tl.constexpr, GRAD_A: tl.constexpr, RECORD: tl.constexpr,
                R: tl.constexpr, S: tl.constexpr, STAGES: tl.constexpr):
    """Scan chunks c_lo .. c_hi - 1 of these channels from state ``carry``, storing h (and
    grad_a; with RECORD the chunk-local scans at ``loc_base`` and the carry entering chunk c
    at ``car_base + c * D``). Returns the state leaving chunk c_hi - 1.

    The ``*_base`` pointers are [BLOCK_D] channel pointers at t = 0; h, grad_a and the local
    scans are contiguous [T, D] per batch row."""
    for c in tl.range(c_lo, c_hi, num_stages=STAGES):
        s0 = c * (R * S)
        a, b, m = load_step_tile(a_base, b_base, s0, off, T, s_at, s_bt, dmask, REVERSE, SHIFT_A)
        if S == 1 and not RECORD:
            h, carry = scan_rows_from(a, b, carry, R)  # fewer instructions and registers
        else:
            A_, L, xa, xb, ca, cb = chunk_summary(a, b, R, S)
            h = chunk_apply(A_, L, xa, xb, carry)
            if RECORD:
                tl.store(car_base + c * D, carry, mask=dmask)
                local = A_ * xb[None, :, :] + L  # the states had the chunk started from 0
                store_step_tile(local, s0, off, m, T, loc_base, D, loc_base, loc_base, 0, hf0,
                                REVERSE, False)
            carry = ca * carry + cb
        store_step_tile(h, s0, off, m, T, h_base, D, ga_base, hf_base, s_hft, hf0, REVERSE,
                        GRAD_A)
    return carry


@triton.jit
def scan_channel_kernel(
    A, Bv, H0, H, GA, HF, HF0, LOC, CAR,
    T, D, s_ab, s_at, s_ad, s_bb, s_bt, s_bd, s_hfb, s_hft, s_hfd,
    HAS_H0: tl.constexpr, HAS_HF0: tl.constexpr, REVERSE: tl.constexpr,
    SHIFT_A: tl.constexpr, GRAD_A: tl.constexpr, RECORD: tl.constexpr,
    R: tl.constexpr, S: tl.constexpr, BLOCK_D: tl.constexpr,
    VEC: tl.constexpr = 0, STAGES: tl.constexpr = 1, GDC: tl.constexpr = 0,
):
    if GDC:  # launched to overlap the launch before (reduce-then-scan's summaries, pdl):
        # wait until that launch has finished and its writes are visible, then let the
        # launch after this one start
        tl.extra.cuda.gdc_wait()
        tl.extra.cuda.gdc_launch_dependents()
    pid_d = tl.program_id(0)
    pid_b = tl.program_id(1).to(tl.int64)
    d = pid_d * BLOCK_D + tl.arange(0, BLOCK_D)
    if VEC > 0:
        d = tl.max_contiguous(d, VEC)
    dmask = d < D
    out_off = pid_b * T * D + d  # H, GA, LOC are contiguous [B, T, D]
    if HAS_H0:
        carry = tl.load(H0 + pid_b * D + d, mask=dmask, other=0.0).to(tl.float32)
    else:
        carry = tl.zeros([BLOCK_D], dtype=tl.float32)
    hf0 = tl.zeros([BLOCK_D], dtype=tl.float32)
    if HAS_HF0:
        hf0 = tl.load(HF0 + pid_b * D + d, mask=dmask, other=0.0).to(tl.float32)
    n_chunks = tl.cdiv(T, R * S)
    walk_chunks(carry, 0, n_chunks, A + pid_b * s_ab + d * s_ad, Bv + pid_b * s_bb + d * s_bd,
                chunk_offsets(R, S), T, s_at, s_bt, dmask, H + out_off, GA + out_off,
                HF + pid_b * s_hfb + d * s_hfd, s_hft, hf0, LOC + out_off,
                CAR + pid_b * n_chunks * D + d, D, REVERSE, SHIFT_A, GRAD_A, RECORD, R, S, STAGES)
