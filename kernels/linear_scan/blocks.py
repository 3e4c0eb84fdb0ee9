"""Reusable ``@triton.jit`` pieces of the linear scan h_t = a_t h_{t-1} + b_t.

Other kernels build on these: a fused minGRU kernel computes (a, b) in registers in the
tile shape below and calls :func:`scan_chunk` on them; the channel- and sequence-parallel
scan kernels share the tile loads and stores.

The algebra: a step is the affine map h -> a h + b. Doing (a1, b1) then (a2, b2) is
h -> a2 (a1 h + b1) + b2, the pair (a1 a2, a2 b1 + b2): :func:`scan_combine`, associative,
so ``tl.associative_scan`` can run it as a tree.

The tile. A chunk of R * S time steps and BLOCK_D channels is held as a [R, S, BLOCK_D]
tile: sub-chunk s covers the R consecutive steps s*R .. s*R + R - 1. Triton lays the
channels (16-byte vectors) and then the sub-chunks across the lanes and warps, so with
S * BLOCK_D / vec = 32 * num_warps the R steps of a sub-chunk sit in ONE thread: the scan
along them is a plain sequential loop in registers (no shuffles, no shared memory), and
the loads along D are wide and coalesced. Only the S sub-chunk summaries are scanned
across lanes (:func:`chunk_summary`). With few channels (D = 16) S is large; with many
(D = 4096) S = 1 and the tile is simply [R, 1, BLOCK_D].

Padding steps (past T) are the identity (a = 1, b = 0): they carry the state unchanged.

That layout is the compiler's choice, and Triton versions choose differently. After the
channels, which of R and S gets the lanes is a tie-break of Triton's coalescing pass, and
versions break it opposite ways (``scripts/sass_loop.py scan-d64-fwd``, 2026-12-07): Triton 3.9
gives the sub-chunks the lanes, as above; Triton 3.6, the device's, gives the rows the lanes, so
the scan along R becomes shuffles (144 a loop in the D=64 reduce kernel, against 16). Loading
and storing through the [S, R, BLOCK_D] view of the same pointers (``tl.permute``: a
relabelling, nothing moved) turns 3.6's tie-break the right way and 3.9's the wrong way:
``SUBCHUNK_MAJOR`` asks for that view. It is on where Triton is older than 3.7 (3.7, 3.8 and
3.9 compile the tiles as laid out; 3.6 as above), and on the device's H100 under 3.6 it made
the B=1, T=65536, D=64 forward 38.98 -> 33.63 us and every other entry timed faster too
(benchmarks/scan-subchunk-h100.json). The environment's RNNVIZ_SUBCHUNK_MAJOR_LOADS=0 or 1,
read at import, overrides the choice (for A/Bs and for a Triton not yet looked at).

Compute only: imports triton, nothing of rnnviz.
"""
from __future__ import annotations

import os
import re

import triton
import triton.language as tl


def subchunk_major_default(version: str, setting: str | None) -> bool:
    """Whether to load the tiles through their [S, R, BLOCK_D] view under Triton ``version``,
    with RNNVIZ_SUBCHUNK_MAJOR_LOADS = ``setting`` (None: unset)."""
    if setting is not None:
        if setting not in ("0", "1"):
            raise ValueError("RNNVIZ_SUBCHUNK_MAJOR_LOADS must be 0 or 1 (or unset: chosen by "
                             f"the Triton version), got {setting!r}")
        return setting == "1"
    major, minor = (int(part) for part in re.findall(r"\d+", version)[:2])
    return (major, minor) < (3, 7)


SUBCHUNK_MAJOR = tl.constexpr(subchunk_major_default(
    triton.__version__, os.environ.get("RNNVIZ_SUBCHUNK_MAJOR_LOADS")))


@triton.jit
def scan_combine(a_l, b_l, a_r, b_r):
    """(a_l, b_l) then (a_r, b_r): h -> a_r (a_l h + b_l) + b_r."""
    return a_l * a_r, a_r * b_l + b_r


@triton.jit
def segment_combine(xa_l, xb_l, ia_l, ib_l, xa_r, xb_r, ia_r, ib_r):
    """Summaries (all steps but the last, all steps) of two adjacent segments, combined.

    Scanning these from (identity, step) gives at each position both the inclusive prefix
    and the exclusive one (the state entering it): an exclusive scan with no shift."""
    return ia_l * xa_r, xa_r * ib_l + xb_r, ia_l * ia_r, ia_r * ib_l + ib_r


@triton.jit
def last_of_rows(x, N: tl.constexpr):
    """x[N - 1] of a [N, S, BLOCK_D] tile, as [S, BLOCK_D] (in-thread when N is)."""
    idx = tl.arange(0, N)[:, None, None]
    return tl.sum(tl.where(idx == N - 1, x, 0.0), axis=0)


@triton.jit
def last_of_subchunks(x, N: tl.constexpr):
    """x[N - 1] of a [N, BLOCK_D] tile, as [BLOCK_D]."""
    idx = tl.arange(0, N)[:, None]
    return tl.sum(tl.where(idx == N - 1, x, 0.0), axis=0)


@triton.jit
def chunk_steps(c, R: tl.constexpr, S: tl.constexpr):
    """Processing-step indices [R, S, 1] of chunk c (R * S steps; sub-chunk s = steps
    c*R*S + s*R .. + R - 1)."""
    r = tl.arange(0, R)[:, None, None]
    s = tl.arange(0, S)[None, :, None]
    return c * (R * S) + s * R + r


@triton.jit
def subchunk_maps(A, L, R: tl.constexpr, S: tl.constexpr):
    """From the scans within each sub-chunk (A, L: see ``chunk_summary``): (xa, xb)
    [S, BLOCK_D], the map from the chunk's entering state to each sub-chunk's entering
    state, and (ca, cb) [BLOCK_D], the whole chunk as one step h -> ca h + cb (its
    "aggregate")."""
    a_end = last_of_rows(A, R)
    b_end = last_of_rows(L, R)
    one = tl.zeros_like(a_end) + 1.0
    xa, xb, ia, ib = tl.associative_scan((one, tl.zeros_like(b_end), a_end, b_end), 0,
                                         segment_combine)  # along S: across lanes
    return xa, xb, last_of_subchunks(ia, S), last_of_subchunks(ib, S)


@triton.jit
def chunk_summary(a, b, R: tl.constexpr, S: tl.constexpr):
    """Everything about a [R, S, BLOCK_D] chunk that does not depend on its carry.

    Returns (A, L, xa, xb, ca, cb): A, L the scan within each sub-chunk from a zero state
    (A_t = product of a, L_t = state), and ``subchunk_maps``' (xa, xb, ca, cb).
    """
    A, L = tl.associative_scan((a, b), 0, scan_combine)  # along R: inside each thread
    xa, xb, ca, cb = subchunk_maps(A, L, R, S)
    return A, L, xa, xb, ca, cb


@triton.jit
def chunk_maps(a, b, R: tl.constexpr, S: tl.constexpr):
    """``chunk_summary`` without the states: (xa, xb, ca, cb), for a pass that only
    summarises (the segment kernel's first walk)."""
    A, L = tl.associative_scan((a, b), 0, scan_combine)
    return subchunk_maps(A, L, R, S)


@triton.jit
def chunk_apply(A, L, xa, xb, carry):
    """States of the chunk given the state ``carry`` [BLOCK_D] entering it."""
    enter = xa * carry[None, :] + xb  # [S, BLOCK_D]: state entering each sub-chunk
    return A * enter[None, :, :] + L


@triton.jit
def scan_chunk(a, b, carry, R: tl.constexpr, S: tl.constexpr):
    """Scan one [R, S, BLOCK_D] float32 chunk (see the module doc) from state ``carry``.

    Returns (h, carry_out): the states, and the state leaving the chunk.
    """
    A, L, xa, xb, ca, cb = chunk_summary(a, b, R, S)
    return chunk_apply(A, L, xa, xb, carry), ca * carry + cb


@triton.jit
def scan_rows_from(a, b, carry, R: tl.constexpr):
    """Scan a [R, 1, BLOCK_D] chunk (a single sub-chunk: each channel's R steps in one
    thread) from state ``carry``: the carry is folded into the first step
    (b_0 <- a_0 carry + b_0), so one in-thread scan gives the states themselves, with no
    summary or apply pass. Returns (h, carry_out)."""
    first = (tl.arange(0, R) == 0)[:, None, None]
    b = tl.where(first, b + a * carry[None, None, :], b)
    _, h = tl.associative_scan((a, b), 0, scan_combine)
    return h, tl.sum(last_of_rows(h, R), axis=0)


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
def chunk_offsets(R: tl.constexpr, S: tl.constexpr):
    """Offsets [R, S, 1] of a chunk's steps from its first (sub-chunk s = rows s*R .. +R-1).
    Loop-invariant: a kernel computes it once and adds the chunk's first step."""
    r = tl.arange(0, R)[:, None, None]
    s = tl.arange(0, S)[None, :, None]
    return s * R + r


@triton.jit
def step_ptrs(base, s0, off, T, stride, REVERSE: tl.constexpr):
    """Pointers [R, S, BLOCK_D] to processing steps s0 + off (``off`` from chunk_offsets) of
    the channels ``base`` [BLOCK_D] (at t = 0), and which of those steps exist.

    Why this shape: the chunk's first step costs one 64-bit product per chunk, the rows
    only the loop-invariant int32 ``off * stride`` (the launcher keeps it below 2^31), so an
    address is one add. An int64 product per row was most of the kernel's instructions and
    registers, and registers bound how many rows a thread can keep in flight."""
    s = s0 + off
    live = (s >= 0) & (s < T)
    if REVERSE:
        first = base + tl.cast(T - 1 - s0, tl.int64) * stride
        rows = -(off * stride)
    else:
        first = base + tl.cast(s0, tl.int64) * stride
        rows = off * stride
    return first[None, None, :] + rows, live


@triton.jit
def load_rows(ptr, mask, other):
    """tl.load of a [R, S, BLOCK_D] tile, through its [S, R, BLOCK_D] view when
    ``SUBCHUNK_MAJOR`` (see the module doc)."""
    if SUBCHUNK_MAJOR:
        x = tl.load(tl.permute(ptr, (1, 0, 2)), mask=tl.permute(mask, (1, 0, 2)), other=other)
        return tl.permute(x, (1, 0, 2))
    return tl.load(ptr, mask=mask, other=other)


@triton.jit
def store_rows(ptr, x, mask):
    """tl.store of a [R, S, BLOCK_D] tile, as ``load_rows`` loads it."""
    if SUBCHUNK_MAJOR:
        tl.store(tl.permute(ptr, (1, 0, 2)), tl.permute(x, (1, 0, 2)),
                 mask=tl.permute(mask, (1, 0, 2)))
    else:
        tl.store(ptr, x, mask=mask)


@triton.jit
def load_step_tile(a_base, b_base, s0, off, T, s_at, s_bt, dmask, REVERSE: tl.constexpr,
                   SHIFT_A: tl.constexpr):
    """Load the (a, b) chunk of steps ``s0 + off`` [R, S, 1] as float32 (identity where
    the step is past T).

    ``a_base``/``b_base`` are [BLOCK_D] pointers to the channels at t = 0. With SHIFT_A the
    coefficient of step s is a at the previous step s - 1 (0 for s = 0): that is the
    backward scan, g_t = grad_h_t + a_{t+1} g_{t+1}, read without materialising a shifted a.
    Returns (a, b, mask).
    """
    dm = dmask[None, None, :]
    pb, live = step_ptrs(b_base, s0, off, T, s_bt, REVERSE)
    m = live & dm
    if SHIFT_A:
        pa, lp = step_ptrs(a_base, s0 - 1, off, T, s_at, REVERSE)
        a = load_rows(pa, lp & dm, 0.0).to(tl.float32)
        a = tl.where(live, a, 1.0)
    else:
        pa, _ = step_ptrs(a_base, s0, off, T, s_at, REVERSE)
        a = load_rows(pa, m, 1.0).to(tl.float32)
    b = load_rows(pb, m, 0.0).to(tl.float32)
    return a, b, m


@triton.jit
def store_step_tile(h, s0, off, m, T, h_base, s_ht, ga_base, hf_base, s_hft, hf0,
                    REVERSE: tl.constexpr, GRAD_A: tl.constexpr):
    """Store the chunk h of steps ``s0 + off``; with GRAD_A (the backward, where h is
    g = dL/dh in total) also grad_a_t = g_t h_{t-1}, reading the forward's states ``hf`` one
    step the other way (``hf0``, the forward's initial state, where that step is before the
    start)."""
    ph, _ = step_ptrs(h_base, s0, off, T, s_ht, REVERSE)
    store_rows(ph, h.to(h_base.dtype.element_ty), m)
    if GRAD_A:
        pn, ln = step_ptrs(hf_base, s0 + 1, off, T, s_hft, REVERSE)
        hp = load_rows(pn, m & ln, 0.0).to(tl.float32)
        hp = tl.where(s0 + off + 1 == T, hf0[None, None, :], hp)
        pg, _ = step_ptrs(ga_base, s0, off, T, s_ht, REVERSE)
        store_rows(pg, (h * hp).to(ga_base.dtype.element_ty), m)
