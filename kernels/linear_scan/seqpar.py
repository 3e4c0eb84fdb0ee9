"""Sequence-parallel linear scan for few channels and long T: one pass, decoupled look-back.

With B * D small (one sequence of 16 channels, say) the channel-parallel kernel has a handful
of programs and the GPU idles. Here T is cut into chunks of R * S steps and every
(chunk, channel tile) is a program of its own, so a T = 2^20 scan has thousands of them.
Each program, in a single pass over its data (read a and b once, write h once):

1. loads its chunk and summarises it (``blocks.chunk_summary``): the local scans and the
   chunk as one affine step h -> ca h + cb (its "aggregate");
2. publishes the aggregate for later chunks to use;
3. looks back over earlier chunks of the same channel tile until it finds one that has
   published its *inclusive* state (h at its end), composing the aggregates it passes on
   the way: that gives the carry entering this chunk (chunk 0 starts from h0);
4. publishes its own inclusive state ca * carry + cb, then writes h.

This is the decoupled look-back of Merrill & Garland ("Single-pass Parallel Prefix Scan
with Decoupled Look-back", 2016) applied to the affine pairs (a, b). Chunks take their
index from an atomic ticket, so a program only waits for programs that have already
started (no deadlock however the hardware schedules them). Values are published before
their flag (a CTA barrier, then an atomic exchange, acq_rel); a reader takes the flag with
an atomic (one thread, broadcast: every thread of the program sees the same state) and
only then loads the values. The flags and the ticket counter are zeroed before each launch.

The backward and RECORD work as in ``chunk.py`` (same tile loads and stores).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .blocks import chunk_apply, chunk_steps, chunk_summary, load_step_tile, store_step_tile

AGGREGATE = tl.constexpr(1)  # flag values: the chunk's aggregate (ca, cb) is published,
INCLUSIVE = tl.constexpr(2)  # ... or its inclusive state (h at its end)


@triton.jit
def publish(FLAGS, VALS, idx, x, y, offs, FLAG: tl.constexpr, BLOCK_D: tl.constexpr):
    """Write the values of chunk-slot ``idx`` (x, y: [BLOCK_D]), then raise its flag."""
    base = VALS + idx * 3 * BLOCK_D
    if FLAG == 1:
        tl.store(base + offs, x)
        tl.store(base + BLOCK_D + offs, y)
    else:
        tl.store(base + 2 * BLOCK_D + offs, x)
    tl.debug_barrier()  # every thread's values are written before the flag goes up
    tl.atomic_xchg(FLAGS + idx, FLAG)


@triton.jit
def lookback_carry(FLAGS, VALS, tile, n_tiles, c, offs, carry0, BLOCK_D: tl.constexpr):
    """The state entering chunk ``c`` of channel tile ``tile``.

    Walks back from chunk c - 1: an inclusive state h_j ends the walk (carry = acc_a h_j +
    acc_b); an aggregate (a_j, b_j) is composed into (acc_a, acc_b) and the walk goes on;
    nothing yet: poll again. Chunk 0 starts from ``carry0`` (h0).
    """
    acc_a = tl.full([BLOCK_D], 1.0, tl.float32)
    acc_b = tl.zeros([BLOCK_D], dtype=tl.float32)
    carry = carry0
    j = c - 1
    pending = (c > 0).to(tl.int32)
    while pending > 0:
        idx = j.to(tl.int64) * n_tiles + tile
        flag = tl.atomic_add(FLAGS + idx, 0)  # one thread reads, all threads see it
        base = VALS + idx * 3 * BLOCK_D
        inc_ready = flag == INCLUSIVE
        agg_ready = flag == AGGREGATE
        flags = tl.zeros_like(offs) + flag  # the flag as a [BLOCK_D] mask
        inc = tl.load(base + 2 * BLOCK_D + offs, mask=flags == INCLUSIVE, other=0.0,
                      volatile=True)
        agg_a = tl.load(base + offs, mask=flags == AGGREGATE, other=1.0, volatile=True)
        agg_b = tl.load(base + BLOCK_D + offs, mask=flags == AGGREGATE, other=0.0,
                        volatile=True)
        carry = tl.where(inc_ready, acc_a * inc + acc_b, carry)
        acc_b = tl.where(agg_ready, acc_a * agg_b + acc_b, acc_b)  # (agg_j, then acc)
        acc_a = tl.where(agg_ready, acc_a * agg_a, acc_a)
        j = j - agg_ready.to(tl.int32)
        pending = (flag != INCLUSIVE).to(tl.int32)
    return carry


@triton.jit
def scan_seqpar_kernel(
    A, Bv, H0, H, GA, HF, HF0, LOC, CAR, FLAGS, VALS, COUNTER,
    T, D, n_dt, n_tiles, s_ab, s_at, s_ad, s_bb, s_bt, s_bd, s_hfb, s_hft, s_hfd,
    HAS_H0: tl.constexpr, HAS_HF0: tl.constexpr, REVERSE: tl.constexpr,
    SHIFT_A: tl.constexpr, GRAD_A: tl.constexpr, RECORD: tl.constexpr,
    R: tl.constexpr, S: tl.constexpr, BLOCK_D: tl.constexpr,
):
    ticket = tl.atomic_add(COUNTER, 1)  # chunk-major order: chunk c of every tile, then c+1
    c = ticket // n_tiles
    tile = ticket % n_tiles
    pid_b = (tile // n_dt).to(tl.int64)
    offs = tl.arange(0, BLOCK_D)
    d = (tile % n_dt) * BLOCK_D + offs
    dmask = d < D
    n_chunks = tl.cdiv(T, R * S)

    s = chunk_steps(c, R, S)
    a, b, t, m = load_step_tile(A + pid_b * s_ab + d * s_ad, Bv + pid_b * s_bb + d * s_bd,
                                s, T, s_at, s_bt, dmask, REVERSE, SHIFT_A)
    A_, L, xa, xb, ca, cb = chunk_summary(a, b, R, S)

    own = c.to(tl.int64) * n_tiles + tile
    if HAS_H0:
        carry0 = tl.load(H0 + pid_b * D + d, mask=dmask, other=0.0).to(tl.float32)
    else:
        carry0 = tl.zeros([BLOCK_D], dtype=tl.float32)
    if c > 0:
        publish(FLAGS, VALS, own, ca, cb, offs, AGGREGATE, BLOCK_D)
    carry = lookback_carry(FLAGS, VALS, tile, n_tiles, c, offs, carry0, BLOCK_D)
    publish(FLAGS, VALS, own, ca * carry + cb, cb, offs, INCLUSIVE, BLOCK_D)

    h = chunk_apply(A_, L, xa, xb, carry)
    out_off = pid_b * T * D + d  # H, GA, LOC are contiguous [B, T, D]
    hf0 = tl.zeros([BLOCK_D], dtype=tl.float32)
    if HAS_HF0:
        hf0 = tl.load(HF0 + pid_b * D + d, mask=dmask, other=0.0).to(tl.float32)
    store_step_tile(h, s, t, m, T, H + out_off, D, GA + out_off,
                    HF + pid_b * s_hfb + d * s_hfd, s_hft, hf0, REVERSE, GRAD_A)
    if RECORD:
        tl.store(CAR + (pid_b * n_chunks + c) * D + d, carry, mask=dmask)
        local = A_ * xb[None, :, :] + L  # the states had the chunk started from 0
        tl.store(LOC + out_off[None, None, :] + t * D, local, mask=m)


def status_buffers(n_chunks: int, n_tiles: int, block_d: int, device: torch.device
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(flags, values, ticket counter). Only flags and counter need zeros (one memset)."""
    flags = torch.zeros(1 + n_chunks * n_tiles, dtype=torch.int32, device=device)
    vals = torch.empty(n_chunks * n_tiles * 3 * block_d, dtype=torch.float32, device=device)
    return flags[1:], vals, flags[:1]
