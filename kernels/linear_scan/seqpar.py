"""Sequence-parallel linear scan for few channels and long T: one pass, decoupled look-back.

With B * D small (one sequence of 16 channels, say) the channel-parallel kernel has a handful
of programs and the GPU idles. Here T is cut into chunks of BLOCK_T steps and every
(chunk, channel tile) is a program of its own, so a T = 2^20 scan has thousands of them.
Each program, in a single pass over its data (read a and b once, write h once):

1. loads its chunk and scans it locally: (A_t, L_t), the chunk summary (A_last, L_last);
2. publishes the summary ("aggregate") for later chunks to use;
3. looks back over earlier chunks of the same channel tile until it finds one that has
   published its *inclusive* state (h at its end), composing the aggregates it passes on
   the way: that gives the carry entering this chunk (chunk 0 starts from h0);
4. writes h_t = A_t carry + L_t, then publishes its own inclusive state h_last.

This is the decoupled look-back of Merrill & Garland ("Single-pass Parallel Prefix Scan
with Decoupled Look-back", 2016) applied to the affine pairs (a, b). Chunks take their
index from an atomic ticket, so a program only ever waits for programs that have already
started (no deadlock however the hardware schedules them). Each published value is one
64-bit word holding the float32 bits and a "written" mark, so a reader never sees a flag
without its value and no memory fence is needed. The status words are zeroed before each
launch.

The backward and RECORD work as in ``chunk.py`` (same tile loads and stores).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .blocks import chunk_local_scan, last_row, load_step_tile, store_step_tile

_MARK = tl.constexpr(8589934592)  # 2^33: added to the sign-extended float bits, so a written word != 0


@triton.jit
def pack_status(x):
    """A float32 vector as 64-bit status words (never 0 once written)."""
    return x.to(tl.int32, bitcast=True).to(tl.int64) + _MARK


@triton.jit
def unpack_status(w):
    """(value, written) of status words."""
    return w.to(tl.int32).to(tl.float32, bitcast=True), w != 0


@triton.jit
def lookback_carry(st_tile, c, chunk_stride, offs, carry0, BLOCK_D: tl.constexpr):
    """The state entering chunk ``c`` of one channel tile, from the published status.

    ``st_tile`` points at this tile's words of chunk 0; each chunk has 3 * BLOCK_D words:
    aggregate A, aggregate L, inclusive h. Walks back from chunk c - 1, composing aggregates
    (acc_A, acc_L) until an inclusive state h_j is found: carry = acc_A h_j + acc_L.
    """
    acc_a = tl.full([BLOCK_D], 1.0, tl.float32)
    acc_l = tl.zeros([BLOCK_D], dtype=tl.float32)
    carry = carry0
    j = c - 1
    pending = (c > 0).to(tl.int32)
    while pending > 0:
        base = st_tile + j.to(tl.int64) * chunk_stride
        inc, inc_w = unpack_status(tl.load(base + 2 * BLOCK_D + offs, volatile=True))
        agg_a, agg_a_w = unpack_status(tl.load(base + offs, volatile=True))
        agg_l, agg_l_w = unpack_status(tl.load(base + BLOCK_D + offs, volatile=True))
        inc_ok = tl.min(inc_w.to(tl.int32), axis=0)
        agg_ok = tl.min((agg_a_w & agg_l_w).to(tl.int32), axis=0)
        carry = tl.where(inc_ok > 0, acc_a * inc + acc_l, carry)
        take = (inc_ok == 0) & (agg_ok > 0)  # compose (agg_j then acc)
        acc_l = tl.where(take, acc_a * agg_l + acc_l, acc_l)
        acc_a = tl.where(take, acc_a * agg_a, acc_a)
        j = j - take.to(tl.int32)
        pending = 1 - inc_ok
    return carry


@triton.jit
def scan_seqpar_kernel(
    A, Bv, H0, H, GA, HF, HF0, LOC, CAR, STATUS, COUNTER,
    T, D, n_dt, n_tiles, s_ab, s_at, s_ad, s_bb, s_bt, s_bd, s_hfb, s_hft, s_hfd,
    HAS_H0: tl.constexpr, HAS_HF0: tl.constexpr, REVERSE: tl.constexpr,
    SHIFT_A: tl.constexpr, GRAD_A: tl.constexpr, RECORD: tl.constexpr,
    BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr,
):
    ticket = tl.atomic_add(COUNTER, 1)  # chunk-major order: chunk c of every tile, then c+1
    c = ticket // n_tiles
    tile = ticket % n_tiles
    pid_b = (tile // n_dt).to(tl.int64)
    offs = tl.arange(0, BLOCK_D)
    d = (tile % n_dt) * BLOCK_D + offs
    dmask = d < D
    n_chunks = tl.cdiv(T, BLOCK_T)

    s = c * BLOCK_T + tl.arange(0, BLOCK_T)
    a, b, t, m = load_step_tile(A + pid_b * s_ab + d * s_ad, Bv + pid_b * s_bb + d * s_bd,
                                s, T, s_at, s_bt, dmask, REVERSE, SHIFT_A)
    a_cum, L = chunk_local_scan(a, b)
    a_tot = last_row(a_cum, BLOCK_T)
    l_tot = last_row(L, BLOCK_T)

    chunk_stride = n_tiles * 3 * BLOCK_D
    st_tile = STATUS + tile.to(tl.int64) * 3 * BLOCK_D
    st_own = st_tile + c.to(tl.int64) * chunk_stride
    if c > 0:
        tl.store(st_own + offs, pack_status(a_tot))
        tl.store(st_own + BLOCK_D + offs, pack_status(l_tot))
    if HAS_H0:
        carry0 = tl.load(H0 + pid_b * D + d, mask=dmask, other=0.0).to(tl.float32)
    else:
        carry0 = tl.zeros([BLOCK_D], dtype=tl.float32)
    carry = lookback_carry(st_tile, c, chunk_stride, offs, carry0, BLOCK_D)
    tl.store(st_own + 2 * BLOCK_D + offs, pack_status(a_tot * carry + l_tot))

    h = a_cum * carry[None, :] + L
    out_off = pid_b * T * D + d  # H, GA, LOC are contiguous [B, T, D]
    hf0 = tl.zeros([BLOCK_D], dtype=tl.float32)
    if HAS_HF0:
        hf0 = tl.load(HF0 + pid_b * D + d, mask=dmask, other=0.0).to(tl.float32)
    store_step_tile(h, s, t, m, T, H + out_off, D, GA + out_off,
                    HF + pid_b * s_hfb + d * s_hfd, s_hft, hf0, REVERSE, GRAD_A)
    if RECORD:
        tl.store(CAR + (pid_b * n_chunks + c) * D + d, carry, mask=dmask)
        tl.store(LOC + out_off[None, :] + t[:, None] * D, L, mask=m)


def status_buffers(n_chunks: int, n_tiles: int, block_d: int, device: torch.device
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Zeroed (status words, ticket counter): one allocation, one memset."""
    buf = torch.zeros(2 + n_chunks * n_tiles * 3 * block_d, dtype=torch.int64, device=device)
    return buf[2:], buf[:1].view(torch.int32)
