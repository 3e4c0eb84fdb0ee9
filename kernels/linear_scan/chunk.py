"""Channel-parallel linear scan: each program owns BLOCK_D channels of one batch row and
walks T in chunks of BLOCK_T steps, carrying the state from chunk to chunk.

    for chunk c = 0, 1, ...:   (A, L) = scan of the chunk's pairs   (tl.associative_scan)
                               h = A * carry + L;   carry = h[last]

Each element of a and b is read once and h written once, so with enough channels (B * D in
the tens of thousands) the kernel runs at the copy bandwidth. With few channels the grid
cannot fill the GPU: that is the sequence-parallel kernel's job (``seqpar.py``).

The same kernel runs the backward (REVERSE flipped, SHIFT_A, GRAD_A; see ``blocks.py``) and,
with RECORD, also writes the chunk-local scans L and the carry entering each chunk.
"""
from __future__ import annotations

import triton
import triton.language as tl

from .blocks import load_step_tile, scan_chunk, store_step_tile


@triton.jit
def scan_channel_kernel(
    A, Bv, H0, H, GA, HF, HF0, LOC, CAR,
    T, D, s_ab, s_at, s_ad, s_bb, s_bt, s_bd, s_hfb, s_hft, s_hfd,
    HAS_H0: tl.constexpr, HAS_HF0: tl.constexpr, REVERSE: tl.constexpr,
    SHIFT_A: tl.constexpr, GRAD_A: tl.constexpr, RECORD: tl.constexpr,
    BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr,
):
    pid_d = tl.program_id(0)
    pid_b = tl.program_id(1).to(tl.int64)
    d = pid_d * BLOCK_D + tl.arange(0, BLOCK_D)
    dmask = d < D
    a_base = A + pid_b * s_ab + d * s_ad
    b_base = Bv + pid_b * s_bb + d * s_bd
    out_off = pid_b * T * D + d  # H, GA, LOC are contiguous [B, T, D]
    h_base = H + out_off
    if HAS_H0:
        carry = tl.load(H0 + pid_b * D + d, mask=dmask, other=0.0).to(tl.float32)
    else:
        carry = tl.zeros([BLOCK_D], dtype=tl.float32)
    hf0 = tl.zeros([BLOCK_D], dtype=tl.float32)
    if HAS_HF0:
        hf0 = tl.load(HF0 + pid_b * D + d, mask=dmask, other=0.0).to(tl.float32)
    ga_base = GA + out_off
    hf_base = HF + pid_b * s_hfb + d * s_hfd
    n_chunks = tl.cdiv(T, BLOCK_T)
    for c in range(0, n_chunks):
        s = c * BLOCK_T + tl.arange(0, BLOCK_T)
        a, b, t, m = load_step_tile(a_base, b_base, s, T, s_at, s_bt, dmask, REVERSE, SHIFT_A)
        if RECORD:
            tl.store(CAR + (pid_b * n_chunks + c) * D + d, carry, mask=dmask)
        h, L, carry = scan_chunk(a, b, carry, BLOCK_T)
        store_step_tile(h, s, t, m, T, h_base, D, ga_base, hf_base, s_hft, hf0, REVERSE, GRAD_A)
        if RECORD:
            tl.store(LOC + out_off[None, :] + t[:, None] * D, L, mask=m)


def grid(B: int, D: int, block_d: int) -> tuple[int, int]:
    return (triton.cdiv(D, block_d), B)
