"""Sequence-parallel linear scan by reduce-then-scan: three launches, no look-back.

The decoupled look-back (``seqpar.py``) gets each part's carry in one launch, but a part
waits for it: with thousands of segments all summarised at about the same moment, the
inclusive states travel from segment 0 onwards a look-back window (32 segments) per round
of polling, and the kernels' own timelines showed programs idling 7-18 us in it
(benchmarks/seqpar-segments-h200.json). Here nothing waits on another program:

1. ``scan_reduce_kernel``: every (segment, channel tile) is summarised as one affine step
   h -> ca h + cb (``seqpar.segment_aggregate``, a read-only walk), written to CA, CB
   [B, n_segments, D];
2. the summaries are themselves a linear recurrence over the segments, s_g = ca_g s_{g-1}
   + cb_g from h0: a scan of [B, n_segments, D], a few thousand steps, done by the channel
   kernel (``chunk.py``); s_{g-1} is the carry entering segment g;
3. ``scan_apply_kernel``: every segment walks its chunks again from its carry, writing h
   (``seqpar.walk_part``, the segment kernel's second walk).

The inputs are read twice, as by the segment kernel (Merrill & Garland's "reduce-then-scan",
against their single-pass look-back). The apply launch takes the segments in the reverse
of the reduce launch's order: the last segments summarised are the likeliest to be still
in the L2 when they are read again.

The backward and RECORD work as in the other paths (same walks); the kernels keep no
timeline (they have no look-back to time).

SPLIT: the lanes walk sub-segments. In a [R, S, BLOCK_D] tile the S sub-chunks sit on
different lanes, so summarising a chunk scans across lanes (shuffles of four values, then a
reduction to read the last), once per chunk. Nsight Compute on the D=64 forward
(benchmarks/scan-ncu-h100.txt) found the reduce kernel there at 82% of its L1 throughput with
DRAM at a third and a third of its stalls on MIO, which pointed at those exchanges. With
SPLIT a segment of ``seg`` chunks is cut into S contiguous sub-segments of
seg * R steps instead, one per lane group; at walk step i the lanes load rows i*R .. i*R+R-1
of their own sub-segment (the same [R, S, BLOCK_D] tile, rows seg * R apart instead of R),
and each folds them into its own running state in registers: no exchange at all inside the
walk. The lanes meet once per segment: the reduce composes its S sub-segment summaries (one
scan across lanes) and also stores them (SA, SB: [B, n_parts, S, D]); the apply scans them
once, exclusively, to give each lane the state entering its sub-segment, then each lane walks
its rows as ``blocks.scan_rows_from`` walks one sub-chunk. Same result, same order of
composition within a lane; RECORD (the chunk-local scans by chunk) is not offered (the plan
falls back to the chunked walk). Measured on the H100 through the op it was slower
(benchmarks/scan-entry-ab-lanes-h100.json: forward 41.2 us against 38.8 at B=1, D=64,
T=65536; no faster at B=4, D=256): a load's lane groups read rows a sub-segment apart, which
costs more than the shuffles saved. The tuned tables do not take it; it stays as the tested
alternative notebook 7 draws and times.

VEC (``launch.ScanConfig.vec``, ``seqpar.place``): one channel a lane (vec=1; bf16: 2), so a
row of the [R, 1, BLOCK_D] tile is one 128-byte load across the lanes and each lane folds its
rows alone. In fp32 at B=1, D=64, T=65536 that was 2.2x slower than the 16-byte tile (forward
85.4 against 38.4 us; benchmarks/scan-entry-ab-chlane-h100.json: the device's Triton 3.6 gave
that tile's rows the lanes, see ``blocks.SUBCHUNK_MAJOR``); in bf16, where the shipped
entry was the one-chunk look-back, reduce-then-scan so was 1.5x faster (26.8 against 39.7 us;
scan-entry-ab-chlane-bf16-h100.json), and the H100's bf16 entry takes it.
"""
from __future__ import annotations

import triton
import triton.language as tl

from .blocks import (chunk_offsets, last_of_rows, last_of_subchunks, load_step_tile, scan_combine,
                     segment_combine, store_step_tile)
from .seqpar import place, segment_aggregate, walk_part


@triton.jit
def split_offsets(seg, R: tl.constexpr, S: tl.constexpr):
    """Offsets [R, S, 1] of walk step 0's rows from the segment's first step under SPLIT:
    lane group s walks steps s * seg * R .. (s + 1) * seg * R - 1 of the segment (step i
    adds i * R)."""
    r = tl.arange(0, R)[:, None, None]
    s = tl.arange(0, S)[None, :, None]
    return s * (seg * R) + r


@triton.jit
def _lane_index(pid_b, g, n_parts, d, D, S: tl.constexpr):
    """Offsets [S, BLOCK_D] of segment g's sub-segment summaries in SA, SB [B, n_parts, S, D]."""
    lane = tl.arange(0, S)[:, None]
    return ((pid_b * n_parts + g) * S + lane) * D + d[None, :]


@triton.jit
def split_aggregate(a_base, b_base, s_lo, seg, off, T, s_at, s_bt, dmask, REVERSE: tl.constexpr,
                    SHIFT_A: tl.constexpr, R: tl.constexpr, S: tl.constexpr,
                    STAGES: tl.constexpr, BLOCK_D: tl.constexpr):
    """Each lane group's sub-segment as one step (ca, cb) [S, BLOCK_D] (SPLIT): the walk
    steps last to first (as ``seqpar.segment_aggregate``), each folded in front of the
    ones after it, in registers."""
    acc_a = tl.full([S, BLOCK_D], 1.0, tl.float32)
    acc_b = tl.zeros([S, BLOCK_D], dtype=tl.float32)
    for i in tl.range(0, seg, num_stages=STAGES):
        a, b, _ = load_step_tile(a_base, b_base, s_lo + (seg - 1 - i) * R, off, T, s_at, s_bt,
                                 dmask, REVERSE, SHIFT_A)
        A_, L = tl.associative_scan((a, b), 0, scan_combine)  # along R: inside each thread
        acc_a, acc_b = scan_combine(last_of_rows(A_, R), last_of_rows(L, R), acc_a, acc_b)
    return acc_a, acc_b


@triton.jit
def split_walk(enter, a_base, b_base, s_lo, seg, off, T, s_at, s_bt, dmask, h_base, ga_base,
               hf_base, s_hft, hf0, D, REVERSE: tl.constexpr, SHIFT_A: tl.constexpr,
               GRAD_A: tl.constexpr, R: tl.constexpr, STAGES: tl.constexpr):
    """The states of a segment under SPLIT, each lane group from ``enter`` [S, BLOCK_D], the
    state entering its sub-segment: its rows scanned in its own registers (the carry folded
    into the first row, as ``blocks.scan_rows_from``), stored as ``walk_chunks`` stores."""
    first = (tl.arange(0, R) == 0)[:, None, None]
    for i in tl.range(0, seg, num_stages=STAGES):
        s0 = s_lo + i * R
        a, b, m = load_step_tile(a_base, b_base, s0, off, T, s_at, s_bt, dmask, REVERSE, SHIFT_A)
        b = tl.where(first, b + a * enter[None, :, :], b)
        _, h = tl.associative_scan((a, b), 0, scan_combine)
        enter = last_of_rows(h, R)
        store_step_tile(h, s0, off, m, T, h_base, D, ga_base, hf_base, s_hft, hf0, REVERSE,
                        GRAD_A)


@triton.jit
def scan_reduce_kernel(
    A, Bv, CA, CB, SA, SB, T, D, n_dt, n_tiles, seg, s_ab, s_at, s_ad, s_bb, s_bt, s_bd,
    REVERSE: tl.constexpr, SHIFT_A: tl.constexpr, R: tl.constexpr, S: tl.constexpr,
    BLOCK_D: tl.constexpr, STAGES: tl.constexpr = 1, GDC: tl.constexpr = 0,
    SPLIT: tl.constexpr = False, VEC: tl.constexpr = 0,
):
    """Segment g of a channel tile as one step (ca, cb), stored at [batch row, g, channels]
    of CA, CB (segments numbered in processing order: from the end when REVERSE); with SPLIT
    also its S sub-segments' steps, at [batch row, g, lane, channels] of SA, SB."""
    if GDC:  # the summaries' scan may be scheduled once every program here has started; it
        # waits in-kernel for this launch to finish (launch.ScanConfig.pdl)
        tl.extra.cuda.gdc_launch_dependents()
    g, tile, pid_b, offs, d, dmask = place(tl.program_id(0), n_tiles, n_dt, D, BLOCK_D,
                                            VEC)
    n_chunks = tl.cdiv(T, R * S)
    c_lo = g * seg
    a_base = A + pid_b * s_ab + d * s_ad
    b_base = Bv + pid_b * s_bb + d * s_bd
    if SPLIT:
        la, lb = split_aggregate(a_base, b_base, c_lo * (R * S), seg, split_offsets(seg, R, S),
                                 T, s_at, s_bt, dmask, REVERSE, SHIFT_A, R, S, STAGES, BLOCK_D)
        lanes = _lane_index(pid_b, g, tl.cdiv(n_chunks, seg), d, D, S)
        tl.store(SA + lanes, la, mask=dmask[None, :])
        tl.store(SB + lanes, lb, mask=dmask[None, :])
        ia, ib = tl.associative_scan((la, lb), 0, scan_combine)  # the lanes, in order: once
        ca = last_of_subchunks(ia, S)
        cb = last_of_subchunks(ib, S)
    else:
        ca, cb = segment_aggregate(a_base, b_base, c_lo, tl.minimum(c_lo + seg, n_chunks),
                                   chunk_offsets(R, S), T, s_at, s_bt, dmask, REVERSE, SHIFT_A,
                                   R, S, STAGES, BLOCK_D)
    out = (pid_b * tl.cdiv(n_chunks, seg) + g) * D + d
    tl.store(CA + out, ca, mask=dmask)
    tl.store(CB + out, cb, mask=dmask)


@triton.jit
def scan_apply_kernel(
    A, Bv, SEGH, SA, SB, H0, H, GA, HF, HF0, LOC, CAR,
    T, D, n_dt, n_tiles, seg, s_ab, s_at, s_ad, s_bb, s_bt, s_bd, s_hfb, s_hft, s_hfd,
    HAS_H0: tl.constexpr, HAS_HF0: tl.constexpr, REVERSE: tl.constexpr,
    SHIFT_A: tl.constexpr, GRAD_A: tl.constexpr, RECORD: tl.constexpr,
    R: tl.constexpr, S: tl.constexpr, BLOCK_D: tl.constexpr, STAGES: tl.constexpr = 1,
    GDC: tl.constexpr = 0, SPLIT: tl.constexpr = False, VEC: tl.constexpr = 0,
):
    """Segment g walked from its carry: SEGH[batch row, g - 1] (the scan of the summaries),
    or h0 for the first; with SPLIT, each lane group from that carry taken through the
    sub-segments before its own (SA, SB)."""
    if GDC:  # launched to overlap the summaries' scan (pdl): wait for its carries
        tl.extra.cuda.gdc_wait()
    # last segment first: the reduce launch read it last (see the module's docstring)
    g, tile, pid_b, offs, d, dmask = place(tl.num_programs(0) - 1 - tl.program_id(0), n_tiles,
                                           n_dt, D, BLOCK_D, VEC)
    n_chunks = tl.cdiv(T, R * S)
    c_lo = g * seg
    later = (tl.zeros_like(d) + g) > 0  # (as a vector: the interpreter masks with no scalars)
    carry = tl.load(SEGH + (pid_b * tl.cdiv(n_chunks, seg) + g - 1) * D + d,
                    mask=dmask & later, other=0.0)
    if HAS_H0:
        h0 = tl.load(H0 + pid_b * D + d, mask=dmask, other=0.0).to(tl.float32)
        carry = tl.where(later, carry, h0)
    a_base = A + pid_b * s_ab + d * s_ad
    b_base = Bv + pid_b * s_bb + d * s_bd
    if SPLIT:
        lanes = _lane_index(pid_b, g, tl.cdiv(n_chunks, seg), d, D, S)
        la = tl.load(SA + lanes, mask=dmask[None, :], other=1.0)
        lb = tl.load(SB + lanes, mask=dmask[None, :], other=0.0)
        one = tl.zeros_like(la) + 1.0
        # the maps from the segment's entering state to each sub-segment's (exclusive scan)
        xa, xb, _, _ = tl.associative_scan((one, tl.zeros_like(lb), la, lb), 0,
                                           segment_combine)
        hf0 = tl.zeros([BLOCK_D], dtype=tl.float32)
        if HAS_HF0:
            hf0 = tl.load(HF0 + pid_b * D + d, mask=dmask, other=0.0).to(tl.float32)
        out_off = pid_b * T * D + d  # H, GA are contiguous [B, T, D]
        split_walk(xa * carry[None, :] + xb, a_base, b_base, c_lo * (R * S), seg,
                   split_offsets(seg, R, S), T, s_at, s_bt, dmask, H + out_off, GA + out_off,
                   HF + pid_b * s_hfb + d * s_hfd, s_hft, hf0, D, REVERSE, SHIFT_A, GRAD_A, R,
                   STAGES)
    else:
        walk_part(carry, c_lo, tl.minimum(c_lo + seg, n_chunks), a_base, b_base,
                  chunk_offsets(R, S), H, GA, HF, HF0, LOC, CAR, pid_b, d, dmask, T, D, s_at,
                  s_bt, s_hfb, s_hft, s_hfd, HAS_HF0, REVERSE, SHIFT_A, GRAD_A, RECORD, R, S,
                  STAGES, BLOCK_D)
