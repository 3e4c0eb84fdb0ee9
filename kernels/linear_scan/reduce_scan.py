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
"""
from __future__ import annotations

import triton
import triton.language as tl

from .blocks import chunk_offsets
from .seqpar import place, segment_aggregate, walk_part


@triton.jit
def scan_reduce_kernel(
    A, Bv, CA, CB, T, D, n_dt, n_tiles, seg, s_ab, s_at, s_ad, s_bb, s_bt, s_bd,
    REVERSE: tl.constexpr, SHIFT_A: tl.constexpr, R: tl.constexpr, S: tl.constexpr,
    BLOCK_D: tl.constexpr, STAGES: tl.constexpr = 1, GDC: tl.constexpr = 0,
):
    """Segment g of a channel tile as one step (ca, cb), stored at [batch row, g, channels]
    of CA, CB (segments numbered in processing order: from the end when REVERSE)."""
    if GDC:  # the summaries' scan may be scheduled once every program here has started; it
        # waits in-kernel for this launch to finish (launch.ScanConfig.pdl)
        tl.extra.cuda.gdc_launch_dependents()
    g, tile, pid_b, offs, d, dmask = place(tl.program_id(0), n_tiles, n_dt, D, BLOCK_D)
    n_chunks = tl.cdiv(T, R * S)
    c_lo = g * seg
    ca, cb = segment_aggregate(A + pid_b * s_ab + d * s_ad, Bv + pid_b * s_bb + d * s_bd, c_lo,
                               tl.minimum(c_lo + seg, n_chunks), chunk_offsets(R, S), T, s_at,
                               s_bt, dmask, REVERSE, SHIFT_A, R, S, STAGES, BLOCK_D)
    out = (pid_b * tl.cdiv(n_chunks, seg) + g) * D + d
    tl.store(CA + out, ca, mask=dmask)
    tl.store(CB + out, cb, mask=dmask)


@triton.jit
def scan_apply_kernel(
    A, Bv, SEGH, H0, H, GA, HF, HF0, LOC, CAR,
    T, D, n_dt, n_tiles, seg, s_ab, s_at, s_ad, s_bb, s_bt, s_bd, s_hfb, s_hft, s_hfd,
    HAS_H0: tl.constexpr, HAS_HF0: tl.constexpr, REVERSE: tl.constexpr,
    SHIFT_A: tl.constexpr, GRAD_A: tl.constexpr, RECORD: tl.constexpr,
    R: tl.constexpr, S: tl.constexpr, BLOCK_D: tl.constexpr, STAGES: tl.constexpr = 1,
    GDC: tl.constexpr = 0,
):
    """Segment g walked from its carry: SEGH[batch row, g - 1] (the scan of the summaries),
    or h0 for the first."""
    if GDC:  # launched to overlap the summaries' scan (pdl): wait for its carries
        tl.extra.cuda.gdc_wait()
    # last segment first: the reduce launch read it last (see the module's docstring)
    g, tile, pid_b, offs, d, dmask = place(tl.num_programs(0) - 1 - tl.program_id(0), n_tiles,
                                           n_dt, D, BLOCK_D)
    n_chunks = tl.cdiv(T, R * S)
    c_lo = g * seg
    later = (tl.zeros_like(d) + g) > 0  # (as a vector: the interpreter masks with no scalars)
    carry = tl.load(SEGH + (pid_b * tl.cdiv(n_chunks, seg) + g - 1) * D + d,
                    mask=dmask & later, other=0.0)
    if HAS_H0:
        h0 = tl.load(H0 + pid_b * D + d, mask=dmask, other=0.0).to(tl.float32)
        carry = tl.where(later, carry, h0)
    walk_part(carry, c_lo, tl.minimum(c_lo + seg, n_chunks), A + pid_b * s_ab + d * s_ad,
              Bv + pid_b * s_bb + d * s_bd, chunk_offsets(R, S), H, GA, HF, HF0, LOC, CAR,
              pid_b, d, dmask, T, D, s_at, s_bt, s_hfb, s_hft, s_hfd, HAS_HF0, REVERSE,
              SHIFT_A, GRAD_A, RECORD, R, S, STAGES, BLOCK_D)
