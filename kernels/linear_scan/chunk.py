"""Channel-parallel linear scan: each program owns BLOCK_D channels of one batch row and
walks T in chunks of R * S steps, carrying the state from chunk to chunk.

    for chunk c = 0, 1, ...:   summary of the chunk (A, L, sub-chunk maps, aggregate)
                               h = states from carry;   carry = ca * carry + cb

With one sub-chunk per chunk (S = 1, many channels) and nothing to record, the chunk is
scanned straight from the carry instead (``blocks.scan_rows_from``). PREFETCH issues the
loads of chunk c + 1 before the arithmetic of chunk c, for more bytes in flight.

Each element of a and b is read once and h written once, so with enough channels (B * D in
the tens of thousands) the kernel runs at the copy bandwidth. With few channels the grid
cannot fill the GPU: that is the sequence-parallel kernel's job (``seqpar.py``).

The same kernel runs the backward (REVERSE flipped, SHIFT_A, GRAD_A; see ``blocks.py``) and,
with RECORD, also writes the chunk-local scans and the carry entering each chunk.
"""
from __future__ import annotations

import triton
import triton.language as tl

from .blocks import (chunk_apply, chunk_steps, chunk_summary, load_step_tile, scan_rows_from,
                     store_step_tile)


@triton.jit
def scan_channel_kernel(
    A, Bv, H0, H, GA, HF, HF0, LOC, CAR,
    T, D, s_ab, s_at, s_ad, s_bb, s_bt, s_bd, s_hfb, s_hft, s_hfd,
    HAS_H0: tl.constexpr, HAS_HF0: tl.constexpr, REVERSE: tl.constexpr,
    SHIFT_A: tl.constexpr, GRAD_A: tl.constexpr, RECORD: tl.constexpr,
    R: tl.constexpr, S: tl.constexpr, BLOCK_D: tl.constexpr, PREFETCH: tl.constexpr = False,
):
    pid_d = tl.program_id(0)
    pid_b = tl.program_id(1).to(tl.int64)
    d = pid_d * BLOCK_D + tl.arange(0, BLOCK_D)
    dmask = d < D
    a_base = A + pid_b * s_ab + d * s_ad
    b_base = Bv + pid_b * s_bb + d * s_bd
    out_off = pid_b * T * D + d  # H, GA, LOC are contiguous [B, T, D]
    if HAS_H0:
        carry = tl.load(H0 + pid_b * D + d, mask=dmask, other=0.0).to(tl.float32)
    else:
        carry = tl.zeros([BLOCK_D], dtype=tl.float32)
    hf0 = tl.zeros([BLOCK_D], dtype=tl.float32)
    if HAS_HF0:
        hf0 = tl.load(HF0 + pid_b * D + d, mask=dmask, other=0.0).to(tl.float32)
    hf_base = HF + pid_b * s_hfb + d * s_hfd
    n_chunks = tl.cdiv(T, R * S)
    s = chunk_steps(0, R, S)
    a, b, t, m = load_step_tile(a_base, b_base, s, T, s_at, s_bt, dmask, REVERSE, SHIFT_A)
    for c in range(0, n_chunks):
        if PREFETCH:  # issue the next chunk's loads before this chunk's arithmetic
            s_n = chunk_steps(c + 1, R, S)
            a_n, b_n, t_n, m_n = load_step_tile(a_base, b_base, s_n, T, s_at, s_bt, dmask,
                                                REVERSE, SHIFT_A)
        if S == 1 and not RECORD:
            h, carry = scan_rows_from(a, b, carry, R)  # fewer instructions and registers
        else:
            A_, L, xa, xb, ca, cb = chunk_summary(a, b, R, S)
            h = chunk_apply(A_, L, xa, xb, carry)
            if RECORD:
                tl.store(CAR + (pid_b * n_chunks + c) * D + d, carry, mask=dmask)
                local = A_ * xb[None, :, :] + L  # the states had the chunk started from 0
                tl.store(LOC + out_off[None, None, :] + t * D, local, mask=m)
            carry = ca * carry + cb
        store_step_tile(h, s, t, m, T, H + out_off, D, GA + out_off, hf_base, s_hft, hf0,
                        REVERSE, GRAD_A)
        if PREFETCH:
            s, a, b, t, m = s_n, a_n, b_n, t_n, m_n
        else:
            s = chunk_steps(c + 1, R, S)
            a, b, t, m = load_step_tile(a_base, b_base, s, T, s_at, s_bt, dmask, REVERSE,
                                        SHIFT_A)
