"""Sequence-parallel linear scan for few channels and long T, by decoupled look-back: one
chunk per program in one pass (``scan_seqpar_kernel``), or a segment of chunks per program in
two (``scan_segment_kernel``).

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

The look-back examines a window of W = 32 earlier chunks per step (one vectorised load of
their flags, an ordered scan of their aggregates), so a chunk far from the last published
inclusive state is reached in a few steps rather than one chunk per memory round trip.

This is the decoupled look-back of Merrill & Garland ("Single-pass Parallel Prefix Scan
with Decoupled Look-back", 2016) applied to the affine pairs (a, b). Chunks take their
index from an atomic ticket, so a program only waits for programs that have already
started (no deadlock however the hardware schedules them). Values are published before
their flag (a CTA barrier, then an atomic exchange, acq_rel); a reader loads the flags,
makes every thread of the program agree on what it saw (``same_for_all_threads``) and
only then loads the values the flags vouch for. The last program of a launch to finish
zeroes the flags and the counters, leaving them ready for the next launch on the stream
(``release_status``, ``status_buffers``): no memset launch per call.

PACKED (a constexpr, ``launch.ScanConfig.packed``) publishes without flags: each published
float goes out as one 64-bit word, its bits in the low half and the launch's tag in the high
half (``word``), so a reader that sees the tag sees the value stored with it (an aligned
64-bit store is single-copy atomic). Publishing is then plain stores, with no barrier and no
atomic exchange; a look-back round loads the window's words once, all three kinds, and copies
them through the program's scratch so that its threads decide from one view
(``lookback_words``, ``same_for_all_threads``): two round trips where the flags take four (the flags,
their copy, the aggregates, then the inclusive state). The tag is the launch's epoch + 1, read
from the counters at the start; the last program to finish advances it instead of zeroing
flags, so words left by earlier launches never carry the current tag. Measured on the H100
(benchmarks/scan-entry-ab-packed3-*-h100.json) it was slower than the flags at every shape of
a few hundred channels, so no tuned entry takes it; without the copy it was faster in bf16,
and wrong: where a window has fewer words than the program has threads, several threads load
each word, and one can see it written when another does not.

AHEAD (a constexpr, ``launch.ScanConfig.ahead``) has each one-chunk program, once its chunk is
in registers and before it looks back, ask the L2 for the chunk of the program AHEAD tickets on
(``prefetch_chunk``: ``prefetch.global.L2``, no register waits for it), so that the memory works
while the programs that fit wait for their carries. On the H100 it made the bf16 forward of a
few hundred channels 2.6-7.1% faster and every fp32 setting slower
(benchmarks/scan-entry-ab-ahead-*h100.json). Loading ahead into shared memory instead is out of
reach: Triton's software pipeliner leaves a loop alone that has the look-back's polling loop
inside.

FEWER_TRIPS (a constexpr, ``launch.ScanConfig.fewer_trips``) has the flags' look-back wait on
the L2 twice a round instead of four times: the flags' copy is read back by plain loads after the
barrier (``same_for_all_threads``' NEAR), and the inclusive state, which the flags alone decide, is
asked for with the aggregates instead of after their scan. On the H100 every one-chunk entry of a
few hundred to 4096 channels takes it: forward+backward 0.5-8.7% faster in fp32 and 3.1-12.9% in
bf16, the same gradients to the last digit (benchmarks/scan-entry-ab-trips*-h100.json); so do
those of fewer than 64 rows (D=16, T=2^20: 1.9% in fp32, 3.8% in bf16, -tripsfew*-).

The backward and RECORD work as in ``chunk.py`` (same tile loads and stores).

``scan_segment_kernel`` is the same protocol over *segments* of several chunks: a program
walks its segment once to summarise it (reading a and b), looks back, then walks it again
from its carry (reading a and b again, writing h), with the channel kernel's walk and its
pipelined loads. It reads the inputs twice, yet on the H200 it was the faster of the two at
B=1, D=16, T=2^20 (fp32, graph replays: 0.122 ms against 0.158; benchmarks/
seqpar-segments-h200.json and seqpar-timeline-h200.json), and the kernels' own timelines
(below) showed why. A one-chunk program of 16 rows x 8 warps
needs 255 registers, so one runs per SM, and loading and summarising its 128 KB chunk took
18.7 of its 22.7 µs (the look-back 2.8): the SMs wait on their loads, one chunk at a time.
Smaller chunks fit two per SM but multiply the chunks to look back over. Segments of
chunks walked by 1-warp programs keep ~12 programs per SM streaming.

TIMELINE (a constexpr: compiled out unless asked for) has every program write one row of
``TIMELINE_COLUMNS`` to TL, indexed by its ticket: which chunk and channel tile it took,
the SM it ran on, the GPU's global nanosecond clock (%globaltimer, the one clock that SMs
share) when it started, when its aggregate was out, when its inclusive state was out (the
look-back done) and when its last store was issued, and how many look-back rounds it
polled. That is the kernel's own account of where its time goes.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .. import cdiv
from ..stream_cache import stream_cached
from .blocks import (chunk_apply, chunk_maps, chunk_offsets, chunk_summary, last_of_subchunks,
                     load_step_tile, scan_combine, store_step_tile)
from .chunk import walk_chunks

AGGREGATE = tl.constexpr(1)  # flag values: the chunk's aggregate (ca, cb) is published,
INCLUSIVE = tl.constexpr(2)  # ... or its inclusive state (h at its end)


TIMELINE_COLUMNS = ("chunk", "tile", "sm", "start_ns", "aggregate_ns", "inclusive_ns", "end_ns",
                    "rounds")


@triton.jit
def clock_ns():
    """The GPU's global nanosecond timer: the same clock on every SM (clock64 is per SM)."""
    return tl.inline_asm_elementwise("mov.u64 $0, %globaltimer;", "=l", [], dtype=tl.int64,
                                     is_pure=False, pack=1)


@triton.jit
def sm_id():
    """The SM this program runs on."""
    return tl.inline_asm_elementwise("mov.u32 $0, %smid;", "=r", [], dtype=tl.int32,
                                     is_pure=True, pack=1)


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
def same_for_all_threads(x, SCRATCH, offs, NEAR: tl.constexpr = False):
    """x as every thread of the program sees it: a value loaded by several threads (a flag
    or a tagged word being written concurrently) may differ between them; one copy is
    written to this program's scratch (at ``offs``, x's shape) and read back by all, so the
    decisions taken from it agree. (Where a tile has fewer elements than the program has
    threads, several threads load each one: a GPU run of the packed look-back at 4 x 4
    words and 4 warps, without this copy, took a stale carry.)

    NEAR reads the copy back with a plain load, which the SM's L1 may serve, instead of a
    volatile one, which goes to the L2: the barrier already makes every thread's store
    visible to the program's other threads (PTX's memory model: bar.sync orders them at the
    CTA's scope), and the stores and loads of one SM pass through its one L1."""
    tl.store(SCRATCH + offs, x)
    tl.debug_barrier()
    if NEAR:
        y = tl.load(SCRATCH + offs)
    else:
        y = tl.load(SCRATCH + offs, volatile=True)
    tl.debug_barrier()
    return y


@triton.jit
def lookback_carry(FLAGS, VALS, SCRATCH, tile, n_tiles, c, carry0, BLOCK_D: tl.constexpr,
                   W: tl.constexpr, FEWER_TRIPS: tl.constexpr = False):
    """The state entering chunk ``c`` of channel tile ``tile``.

    Looks at the W chunks before the newest one not yet accounted for, all at once. If one
    of them has its inclusive state h_j out, the newest such j ends the walk: the aggregates
    after it are composed in order (an associative scan over the window) and applied to h_j.
    If none has, and all have their aggregates out, the whole window is composed into
    (acc_a, acc_b) and the walk moves W chunks back; if some have nothing out yet, poll
    again. Chunk 0 starts from ``carry0`` (h0) and publishes only its inclusive state.
    Returns (carry, look-back rounds polled).

    A round waits on memory four times: the flags, their copy (``same_for_all_threads``),
    the aggregates, then the inclusive state. FEWER_TRIPS reads the copy through the L1
    (NEAR) and asks for the inclusive state with the aggregates (what it needs is known
    from the flags alone), so two of the four are round trips to the L2.
    """
    offs = tl.arange(0, BLOCK_D)
    w = tl.arange(0, W)
    acc_a = tl.full([BLOCK_D], 1.0, tl.float32)
    acc_b = tl.zeros([BLOCK_D], dtype=tl.float32)
    carry = carry0
    hi = c - 1 + tl.zeros([], tl.int32)  # newest predecessor not yet composed
    pending = (c > 0) + tl.zeros([], tl.int32)
    rounds = tl.zeros([], tl.int32)
    while pending > 0:
        rounds += 1
        j = hi - (W - 1) + w  # the window, oldest first
        idx = j.to(tl.int64) * n_tiles + tile
        f = tl.load(FLAGS + idx, mask=j >= 0, other=AGGREGATE, volatile=True)
        f = same_for_all_threads(f, SCRATCH, w, FEWER_TRIPS)
        newest_inc = tl.max(tl.where(f == INCLUSIVE, w, -1), axis=0)
        after = w > newest_inc
        blocked = tl.max(tl.where(after & (f == 0), 1, 0), axis=0)
        found = newest_inc >= 0
        j_inc = (hi - (W - 1) + newest_inc).to(tl.int64) * n_tiles + tile
        inc_mask = (tl.zeros_like(offs) + found.to(tl.int32) * (1 - blocked)) > 0
        inc_ptr = VALS + j_inc * 3 * BLOCK_D + 2 * BLOCK_D + offs
        if FEWER_TRIPS:  # (in flight with the aggregates)
            inc = tl.load(inc_ptr, mask=inc_mask, other=0.0, volatile=True)
        use = (after & (f == AGGREGATE) & (j >= 0))[:, None] & (offs >= 0)[None, :]
        vp = VALS + idx[:, None] * 3 * BLOCK_D + offs[None, :]
        agg_a = tl.load(vp, mask=use, other=1.0, volatile=True)
        agg_b = tl.load(vp + BLOCK_D, mask=use, other=0.0, volatile=True)
        run_a, run_b = tl.associative_scan((agg_a, agg_b), 0, scan_combine)
        win_a = last_of_subchunks(run_a, W)  # the window after newest_inc, as one step
        win_b = last_of_subchunks(run_b, W)
        if not FEWER_TRIPS:
            inc = tl.load(inc_ptr, mask=inc_mask, other=0.0, volatile=True)
        go = blocked == 0
        new_b = acc_a * win_b + acc_b  # (window, then what was composed before)
        new_a = acc_a * win_a
        carry = tl.where(go & found, new_a * inc + new_b, carry)
        acc_a = tl.where(go, new_a, acc_a)
        acc_b = tl.where(go, new_b, acc_b)
        hi = tl.where(go, hi - W, hi)
        pending = tl.where(go & found, 0, pending)
    return carry, rounds


@triton.jit
def release_status(FLAGS, COUNTER, PACKED: tl.constexpr = False):
    """A program's last act: count itself done; the last program of the launch zeroes the
    flags (PACKED: advances the epoch, so this launch's words are stale to the next) and
    both counters, so the buffers are ready for the next launch on the stream and no memset
    has to run before it (a launch of its own: microseconds of host time for every call of
    a small scan). Every program has finished its look-back when it counts itself, so no
    flag is read after the zeroing starts."""
    tl.debug_barrier()  # every thread of this program is done with the flags
    done = tl.atomic_add(COUNTER + 1, 1)
    n = tl.num_programs(0)  # one chunk slot per program: n flags
    if done == n - 1:
        if PACKED:
            tl.store(COUNTER + EPOCH, tl.load(COUNTER + EPOCH, volatile=True) + 1)
        else:
            for i in range(0, n, 1024):
                offs = i + tl.arange(0, 1024)
                tl.store(FLAGS + offs, 0, mask=offs < n)
        tl.store(COUNTER + tl.arange(0, 2), 0)


EPOCH = tl.constexpr(2)  # PACKED: the counters' third int32 counts the launches finished


@triton.jit
def launch_tag(COUNTER):
    """PACKED: this launch's tag, epoch + 1 (the words start zeroed: tag 0 is never current).
    Read once at a program's start; it changes only after every program has finished."""
    return tl.load(COUNTER + EPOCH, volatile=True) + 1


@triton.jit
def word(x, tag):
    """float32 x and the launch's tag as one int64 word: the tag high, x's bits low."""
    bits = x.to(tl.int32, bitcast=True).to(tl.uint32, bitcast=True).to(tl.int64)
    return (tag.to(tl.int64) << 32) | bits


@triton.jit
def word_value(w, tag):
    """(the float in word w, whether w carries ``tag``: written in this launch)."""
    return w.to(tl.int32).to(tl.float32, bitcast=True), (w >> 32).to(tl.int32) == tag


@triton.jit
def publish_words(VALS, idx, x, y, offs, tag, FLAG: tl.constexpr, BLOCK_D: tl.constexpr):
    """PACKED's ``publish``: the aggregate (x, y) or the inclusive state x of chunk-slot
    ``idx`` as tagged words, [ca | cb | inclusive] a slot. Plain stores: a word is valid
    the moment it is seen, so there is no flag to order them against."""
    base = VALS + idx * 3 * BLOCK_D
    if FLAG == 1:
        tl.store(base + offs, word(x, tag))
        tl.store(base + BLOCK_D + offs, word(y, tag))
    else:
        tl.store(base + 2 * BLOCK_D + offs, word(x, tag))


@triton.jit
def lookback_words(VALS, SCRATCH, tag, tile, n_tiles, c, carry0, BLOCK_D: tl.constexpr,
                   W: tl.constexpr):
    """PACKED's ``lookback_carry``: the state entering chunk ``c``, each channel on its own.

    A round loads the words of the W chunks before each channel's newest chunk not yet
    composed, all three kinds at once, and passes them through this program's SCRATCH
    (3 W BLOCK_D words) so that every thread decides from the same copy. A channel whose
    window holds an inclusive state with every aggregate after it valid takes it (composed
    with them) and is done; one whose window is all aggregates composes them and moves W
    back; one that sees a word not yet written polls again. Two round trips a round (the
    words, the copy) where the flags take four (the flags, their copy, the aggregates, the
    inclusive state). Returns (carry, rounds)."""
    offs = tl.arange(0, BLOCK_D)
    w = tl.arange(0, W)[:, None]
    acc_a = tl.full([BLOCK_D], 1.0, tl.float32)
    acc_b = tl.zeros([BLOCK_D], dtype=tl.float32)
    carry = carry0
    hi = c - 1 + tl.zeros([BLOCK_D], tl.int32)  # each channel's newest chunk not yet composed
    pending = ((c > 0) + tl.zeros([BLOCK_D], tl.int32)) > 0
    rounds = tl.zeros([], tl.int32)
    while tl.max(pending.to(tl.int32), axis=0) > 0:
        rounds += 1
        j = hi[None, :] - (W - 1) + w  # [W, BLOCK_D], oldest first
        live = (j >= 0) & pending[None, :]
        p = VALS + (j.to(tl.int64) * n_tiles + tile) * 3 * BLOCK_D + offs[None, :]
        wa = tl.load(p, mask=live, other=0, volatile=True)
        wb = tl.load(p + BLOCK_D, mask=live, other=0, volatile=True)
        wi = tl.load(p + 2 * BLOCK_D, mask=live, other=0, volatile=True)
        at = w * BLOCK_D + offs[None, :]  # (the window's words in the scratch)
        ga, va = word_value(same_for_all_threads(wa, SCRATCH, at), tag)
        gb, vb = word_value(same_for_all_threads(wb, SCRATCH + W * BLOCK_D, at), tag)
        inc, vi = word_value(same_for_all_threads(wi, SCRATCH + 2 * W * BLOCK_D, at), tag)
        newest_inc = tl.max(tl.where(vi & live, w, -1), axis=0)  # [BLOCK_D]
        after = w > newest_inc[None, :]
        use = after & va & vb & live
        blocked = tl.max((after & (j >= 0) & ~(va & vb)).to(tl.int32), axis=0) > 0
        run_a, run_b = tl.associative_scan((tl.where(use, ga, 1.0), tl.where(use, gb, 0.0)), 0,
                                           scan_combine)
        win_a = last_of_subchunks(run_a, W)  # the window after newest_inc, as one step
        win_b = last_of_subchunks(run_b, W)
        inc = tl.sum(tl.where(w == newest_inc[None, :], inc, 0.0), axis=0)
        go = pending & ~blocked
        found = go & (newest_inc >= 0)
        new_b = acc_a * win_b + acc_b  # (window, then what was composed before)
        new_a = acc_a * win_a
        carry = tl.where(found, new_a * inc + new_b, carry)
        acc_a = tl.where(go, new_a, acc_a)
        acc_b = tl.where(go, new_b, acc_b)
        hi = tl.where(go, hi - W, hi)
        pending = pending & ~found
    return carry, rounds


@triton.jit
def part_carry(FLAGS, VALS, SCRATCH, ticket, tag, own, tile, n_tiles, c, ca, cb, carry0, offs,
               BLOCK_D: tl.constexpr, W: tl.constexpr, PACKED: tl.constexpr,
               TIMELINE: tl.constexpr, FEWER_TRIPS: tl.constexpr = False):
    """The look-back protocol for part ``c`` of a channel tile, summarised as (ca, cb):
    publish its aggregate (part 0 has none: its inclusive state is known at once), take its
    carry from the earlier parts, publish its inclusive state. Returns (carry, look-back
    rounds, the clock when the aggregate was out: TIMELINE's, else 0)."""
    t_aggregate = tl.zeros([], tl.int64)
    if PACKED:
        if c > 0:
            publish_words(VALS, own, ca, cb, offs, tag, AGGREGATE, BLOCK_D)
        if TIMELINE:
            t_aggregate = clock_ns()
        carry, rounds = lookback_words(VALS, SCRATCH + ticket.to(tl.int64) * 3 * W * BLOCK_D,
                                       tag, tile, n_tiles, c, carry0, BLOCK_D, W)
        publish_words(VALS, own, ca * carry + cb, cb, offs, tag, INCLUSIVE, BLOCK_D)
    else:
        if c > 0:
            publish(FLAGS, VALS, own, ca, cb, offs, AGGREGATE, BLOCK_D)
        if TIMELINE:
            t_aggregate = clock_ns()
        carry, rounds = lookback_carry(FLAGS, VALS, SCRATCH + ticket.to(tl.int64) * W, tile,
                                       n_tiles, c, carry0, BLOCK_D, W, FEWER_TRIPS)
        publish(FLAGS, VALS, own, ca * carry + cb, cb, offs, INCLUSIVE, BLOCK_D)
    return carry, rounds, t_aggregate


@triton.jit
def place(i, n_tiles, n_dt, D, BLOCK_D: tl.constexpr, VEC: tl.constexpr):
    """Where program number ``i`` works, in part-major order (part p of every channel tile,
    then p + 1): (part, tile, batch row, lane offsets, channels, which exist). VEC > 0
    narrows the loads to VEC channels a thread (``launch.ScanConfig.vec``)."""
    tile = i % n_tiles
    offs = tl.arange(0, BLOCK_D)
    if VEC > 0:  # (on the range too: with one channel tile the sum below folds to it)
        offs = tl.max_contiguous(offs, VEC)
    d = (tile % n_dt) * BLOCK_D + offs
    if VEC > 0:
        d = tl.max_contiguous(d, VEC)
    return i // n_tiles, tile, (tile // n_dt).to(tl.int64), offs, d, d < D


@triton.jit
def take_ticket(COUNTER, n_tiles, n_dt, D, BLOCK_D: tl.constexpr, VEC: tl.constexpr):
    """This program's place from an atomic ticket, so that it only ever waits for programs
    that started before it: (ticket, part, tile, batch row, lane offsets, channels, which
    exist)."""
    ticket = tl.atomic_add(COUNTER, 1)
    part, tile, pid_b, offs, d, dmask = place(ticket, n_tiles, n_dt, D, BLOCK_D, VEC)
    return ticket, part, tile, pid_b, offs, d, dmask


# ($0: a dummy result, inline asm must return one; $1: the address; $2: whether to ask)
_PREFETCH = "{{ .reg .pred p; setp.ne.b32 p, $2, 0; @p prefetch.global.L2{} [$1]; mov.b32 $0, 0; }}"
PREFETCH_L2 = tl.constexpr(_PREFETCH.format(""))
PREFETCH_L2_KEEP = tl.constexpr(_PREFETCH.format("::evict_last"))


@triton.jit
def prefetch_l2(ptr, ok, EVICT_LAST: tl.constexpr):
    """Ask the L2 for the line holding each pointer where ``ok``: the load is the memory's,
    no register waits for it, nothing is returned (PTX ``prefetch.global.L2``; EVICT_LAST
    asks the L2 to keep the line over lines marked to go first). The GPU's only: Triton's
    interpreter runs no PTX, and the launcher passes AHEAD = 0 there."""
    if EVICT_LAST:
        tl.inline_asm_elementwise(PREFETCH_L2_KEEP, "=r,l,r",
                                  [ptr, ok.to(tl.int32)], dtype=tl.int32, is_pure=False, pack=1)
    else:
        tl.inline_asm_elementwise(PREFETCH_L2, "=r,l,r", [ptr, ok.to(tl.int32)],
                                  dtype=tl.int32, is_pure=False, pack=1)


@triton.jit
def prefetch_chunk(A, Bv, ticket, n_items, n_tiles, n_dt, T, D, s_ab, s_at, s_ad, s_bb, s_bt,
                   s_bd, ROWS: tl.constexpr, BLOCK_D: tl.constexpr, REVERSE: tl.constexpr,
                   EVICT_LAST: tl.constexpr):
    """Bring the a and b of the chunk that ``ticket`` will be into the L2 (``launch.ScanConfig.ahead``):
    ROWS rows of BLOCK_D channels, one prefetch per 128-byte line of a row.

    Why: one program a chunk holds its chunk in registers while it waits for its carry, two
    programs an SM, and the programs that fit start, load and wait together: on the H100 at
    B=4, T=16384, D=256 (fp32) each spent 4.7 us loading and 3.5 us looking back, and while
    they looked back the memory had little to do (benchmarks/seqpar-timeline-medclock-h100.json).
    A program about one wave of programs later (AHEAD tickets) then finds its chunk in the L2.
    With SHIFT_A (the backward) a is read one row off: one row of the chunk is not brought."""
    LINES: tl.constexpr = (BLOCK_D * A.dtype.element_ty.primitive_bitwidth + 1023) // 1024
    part, tile, pid_b, _, _, _ = place(ticket, n_tiles, n_dt, D, BLOCK_D, 0)
    rows = part * ROWS + tl.arange(0, ROWS)[:, None]
    t = (T - 1 - rows) if REVERSE else rows
    ch = tl.minimum((tile % n_dt) * BLOCK_D + tl.arange(0, LINES)[None, :] * (BLOCK_D // LINES),
                    D - 1)
    ok = (rows < T) & (ticket < n_items) & (ch >= 0)  # ([ROWS, LINES], as the pointers)
    t = tl.where(ok, t, 0).to(tl.int64)
    prefetch_l2(A + pid_b * s_ab + t * s_at + ch * s_ad, ok, EVICT_LAST)
    prefetch_l2(Bv + pid_b * s_bb + t * s_bt + ch * s_bd, ok, EVICT_LAST)


@triton.jit
def scan_seqpar_kernel(
    A, Bv, H0, H, GA, HF, HF0, LOC, CAR, FLAGS, VALS, SCRATCH, COUNTER, TL,
    T, D, n_dt, n_tiles, s_ab, s_at, s_ad, s_bb, s_bt, s_bd, s_hfb, s_hft, s_hfd,
    HAS_H0: tl.constexpr, HAS_HF0: tl.constexpr, REVERSE: tl.constexpr,
    SHIFT_A: tl.constexpr, GRAD_A: tl.constexpr, RECORD: tl.constexpr,
    R: tl.constexpr, S: tl.constexpr, BLOCK_D: tl.constexpr, W: tl.constexpr,
    TIMELINE: tl.constexpr = False, VEC: tl.constexpr = 0, PACKED: tl.constexpr = False,
    AHEAD: tl.constexpr = 0, EVICT_LAST: tl.constexpr = False,
    FEWER_TRIPS: tl.constexpr = False,
):
    ticket, c, tile, pid_b, offs, d, dmask = take_ticket(COUNTER, n_tiles, n_dt, D, BLOCK_D,
                                                           VEC)
    tag = tl.zeros([], tl.int32)
    if PACKED:
        tag = launch_tag(COUNTER)
    if TIMELINE:
        t_start = clock_ns()
    n_chunks = tl.cdiv(T, R * S)

    s0 = c * (R * S)
    off = chunk_offsets(R, S)
    a, b, m = load_step_tile(A + pid_b * s_ab + d * s_ad, Bv + pid_b * s_bb + d * s_bd,
                             s0, off, T, s_at, s_bt, dmask, REVERSE, SHIFT_A)
    A_, L, xa, xb, ca, cb = chunk_summary(a, b, R, S)
    if AHEAD > 0:  # (this chunk is in registers now: the bus is free while the look-back waits)
        prefetch_chunk(A, Bv, ticket + AHEAD, n_chunks * n_tiles, n_tiles, n_dt, T, D, s_ab,
                       s_at, s_ad, s_bb, s_bt, s_bd, R * S, BLOCK_D, REVERSE, EVICT_LAST)

    own = c.to(tl.int64) * n_tiles + tile
    if HAS_H0:
        carry0 = tl.load(H0 + pid_b * D + d, mask=dmask, other=0.0).to(tl.float32)
    else:
        carry0 = tl.zeros([BLOCK_D], dtype=tl.float32)
    # (chunk 0 publishes no aggregate: its TIMELINE aggregate_ns is with its loads in flight)
    carry, rounds, t_aggregate = part_carry(FLAGS, VALS, SCRATCH, ticket, tag,
                                            own, tile, n_tiles, c, ca, cb, carry0, offs, BLOCK_D,
                                            W, PACKED, TIMELINE, FEWER_TRIPS)
    if TIMELINE:
        t_inclusive = clock_ns()

    h = chunk_apply(A_, L, xa, xb, carry)
    out_off = pid_b * T * D + d  # H, GA, LOC are contiguous [B, T, D]
    hf0 = tl.zeros([BLOCK_D], dtype=tl.float32)
    if HAS_HF0:
        hf0 = tl.load(HF0 + pid_b * D + d, mask=dmask, other=0.0).to(tl.float32)
    store_step_tile(h, s0, off, m, T, H + out_off, D, GA + out_off,
                    HF + pid_b * s_hfb + d * s_hfd, s_hft, hf0, REVERSE, GRAD_A)
    if RECORD:
        tl.store(CAR + (pid_b * n_chunks + c) * D + d, carry, mask=dmask)
        local = A_ * xb[None, :, :] + L  # the states had the chunk started from 0
        store_step_tile(local, s0, off, m, T, LOC + out_off, D, LOC, LOC, 0, hf0, REVERSE, False)
    if TIMELINE:
        timeline_row(TL + ticket.to(tl.int64) * 8, c, tile, t_start, t_aggregate, t_inclusive,
                     rounds)
    release_status(FLAGS, COUNTER, PACKED)


@triton.jit
def segment_aggregate(a_base, b_base, c_lo, c_hi, off, T, s_at, s_bt, dmask,
                      REVERSE: tl.constexpr, SHIFT_A: tl.constexpr, R: tl.constexpr,
                      S: tl.constexpr, STAGES: tl.constexpr, BLOCK_D: tl.constexpr):
    """Chunks c_lo .. c_hi - 1 of these channels as one step h -> ca h + cb: a read-only
    walk (the first of a segment's two passes).

    It reads the chunks last to first, each one composed in front of those after it. Every
    segment is summarised at about the same time, so what is left in the L2 when the second
    walk starts is the chunks each segment read last: read this way, the first chunks that
    second walk asks for (walking in order from its carry)."""
    acc_a = tl.full([BLOCK_D], 1.0, tl.float32)
    acc_b = tl.zeros([BLOCK_D], dtype=tl.float32)
    for i in tl.range(0, c_hi - c_lo, num_stages=STAGES):
        c = c_hi - 1 - i
        a, b, _ = load_step_tile(a_base, b_base, c * (R * S), off, T, s_at, s_bt, dmask,
                                 REVERSE, SHIFT_A)
        _, _, ca, cb = chunk_maps(a, b, R, S)
        acc_a, acc_b = scan_combine(ca, cb, acc_a, acc_b)  # chunk c, then those after it
    return acc_a, acc_b


@triton.jit
def scan_segment_kernel(
    A, Bv, H0, H, GA, HF, HF0, LOC, CAR, FLAGS, VALS, SCRATCH, COUNTER, TL,
    T, D, n_dt, n_tiles, seg, s_ab, s_at, s_ad, s_bb, s_bt, s_bd, s_hfb, s_hft, s_hfd,
    HAS_H0: tl.constexpr, HAS_HF0: tl.constexpr, REVERSE: tl.constexpr,
    SHIFT_A: tl.constexpr, GRAD_A: tl.constexpr, RECORD: tl.constexpr,
    R: tl.constexpr, S: tl.constexpr, BLOCK_D: tl.constexpr, W: tl.constexpr,
    STAGES: tl.constexpr = 1, TIMELINE: tl.constexpr = False, VEC: tl.constexpr = 0,
    PACKED: tl.constexpr = False, FEWER_TRIPS: tl.constexpr = False,
):
    """The sequence-parallel scan over segments of ``seg`` chunks, in two passes: a program
    walks its segment once to summarise it (reading a and b), takes its carry by look-back
    over the earlier segments' summaries, then walks it again from the carry (reading a
    and b again and writing h) with the channel kernel's walk. A segment
    streams with its loads pipelined (STAGES) instead of holding one chunk in registers
    over the look-back."""
    ticket, g, tile, pid_b, offs, d, dmask = take_ticket(COUNTER, n_tiles, n_dt, D, BLOCK_D,
                                                           VEC)
    tag = tl.zeros([], tl.int32)
    if PACKED:
        tag = launch_tag(COUNTER)
    if TIMELINE:
        t_start = clock_ns()
    n_chunks = tl.cdiv(T, R * S)
    c_lo = g * seg
    c_hi = tl.minimum(c_lo + seg, n_chunks)
    off = chunk_offsets(R, S)
    a_base = A + pid_b * s_ab + d * s_ad
    b_base = Bv + pid_b * s_bb + d * s_bd

    own = g.to(tl.int64) * n_tiles + tile
    if HAS_H0:
        carry0 = tl.load(H0 + pid_b * D + d, mask=dmask, other=0.0).to(tl.float32)
    else:
        carry0 = tl.zeros([BLOCK_D], dtype=tl.float32)
    # (segment 0 summarises itself too: its inclusive state, published at once, is what
    # every later segment's look-back ends on)
    ca, cb = segment_aggregate(a_base, b_base, c_lo, c_hi, off, T, s_at, s_bt, dmask,
                               REVERSE, SHIFT_A, R, S, STAGES, BLOCK_D)
    carry, rounds, t_aggregate = part_carry(FLAGS, VALS, SCRATCH, ticket, tag,
                                            own, tile, n_tiles, g, ca, cb, carry0, offs, BLOCK_D,
                                            W, PACKED, TIMELINE, FEWER_TRIPS)
    if TIMELINE:
        t_inclusive = clock_ns()
    walk_part(carry, c_lo, c_hi, a_base, b_base, off, H, GA, HF, HF0, LOC, CAR, pid_b, d, dmask,
              T, D, s_at, s_bt, s_hfb, s_hft, s_hfd, HAS_HF0, REVERSE, SHIFT_A, GRAD_A, RECORD,
              R, S, STAGES, BLOCK_D)
    if TIMELINE:
        timeline_row(TL + ticket.to(tl.int64) * 8, g, tile, t_start, t_aggregate, t_inclusive,
                     rounds)
    release_status(FLAGS, COUNTER, PACKED)


@triton.jit
def walk_part(carry, c_lo, c_hi, a_base, b_base, off, H, GA, HF, HF0, LOC, CAR, pid_b, d, dmask,
              T, D, s_at, s_bt, s_hfb, s_hft, s_hfd, HAS_HF0: tl.constexpr,
              REVERSE: tl.constexpr, SHIFT_A: tl.constexpr, GRAD_A: tl.constexpr,
              RECORD: tl.constexpr, R: tl.constexpr, S: tl.constexpr, STAGES: tl.constexpr,
              BLOCK_D: tl.constexpr):
    """A part's second walk, from the carry entering it: chunks c_lo .. c_hi - 1 of these
    channels of batch row ``pid_b``, storing h (and grad_a, the records) as ``walk_chunks``
    does."""
    hf0 = tl.zeros([BLOCK_D], dtype=tl.float32)
    if HAS_HF0:
        hf0 = tl.load(HF0 + pid_b * D + d, mask=dmask, other=0.0).to(tl.float32)
    out_off = pid_b * T * D + d  # H, GA, LOC are contiguous [B, T, D]
    walk_chunks(carry, c_lo, c_hi, a_base, b_base, off, T, s_at, s_bt, dmask, H + out_off,
                GA + out_off, HF + pid_b * s_hfb + d * s_hfd, s_hft, hf0, LOC + out_off,
                CAR + pid_b * tl.cdiv(T, R * S) * D + d, D, REVERSE, SHIFT_A, GRAD_A, RECORD,
                R, S, STAGES)


@triton.jit
def timeline_row(row, c, tile, t_start, t_aggregate, t_inclusive, rounds):
    """Write one program's TIMELINE row (``TIMELINE_COLUMNS``), stamping its end now."""
    t_end = clock_ns()
    tl.store(row, c.to(tl.int64))
    tl.store(row + 1, tile.to(tl.int64))
    tl.store(row + 2, sm_id().to(tl.int64))
    tl.store(row + 3, t_start)
    tl.store(row + 4, t_aggregate)
    tl.store(row + 5, t_inclusive)
    tl.store(row + 6, t_end)
    tl.store(row + 7, rounds.to(tl.int64))


LOOKBACK = 32  # chunks examined at once by the look-back


def status_buffers(n_chunks: int, n_tiles: int, block_d: int, device: torch.device,
                   window: int = LOOKBACK, packed: bool = False
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(flags, values, scratch, counters) for a launch of n_chunks * n_tiles programs with a
    look-back of ``window`` chunks at once; counters = [ticket, programs done, epoch].
    ``packed`` (PACKED): the values are int64 words, zeroed once, and there is no scratch
    (the values stand in for it).

    Flags and counters must be zero when a launch starts; the launch leaves them zero
    (``release_status``). So one set of buffers per (device, stream) is kept and reused:
    launches on one stream run one after the other. A CUDA graph being captured gets
    buffers of its own, zeroed inside the graph: its replays may run on any stream, at
    any time. Packed words are kept apart from the flags' values (a float or a scratch
    flag left there could read as a tag)."""
    n = n_chunks * n_tiles
    if packed:  # (the scratch: 3 W BLOCK_D words a program, after the values)
        words, scratch = n * 3 * block_d, n * 3 * window * block_d
        bufs = _stream_buffers(n, 2 * (words + scratch), device, _STATUS_PACKED)
        return bufs.packed_views(n, words, scratch)
    n_vals = n * (3 * block_d + window)
    return _stream_buffers(n, n_vals, device).views(n, block_d, n_vals)


def summary_buffers(B: int, n_parts: int, D: int, device: torch.device, lanes: int = 0
                    ) -> tuple[torch.Tensor, ...]:
    """(ca, cb, carries) [B, n_parts, D] float32 for reduce-then-scan (``reduce_scan.py``),
    and with ``lanes`` its split walk's sub-segment steps (sa, sb) [B, n_parts, lanes, D]:
    views of the stream's status buffers' values, kept as ``status_buffers`` keeps them
    (every element is written before it is read, so they need no zeroing): no allocation
    per call."""
    n_vals = 3 * _padded(B * n_parts * D) + 2 * _padded(B * n_parts * lanes * D)
    return _stream_buffers(0, n_vals, device).summaries(B, n_parts, D, lanes)


def _padded(m: int) -> int:
    """m floats rounded up to 16 bytes: each summary view starts aligned (a cached launch
    needs every tensor 16-byte aligned, ``cached_launch.py``)."""
    return cdiv(m, 4) * 4


def _stream_buffers(n: int, n_vals: int, device: torch.device, cache: dict | None = None
                    ) -> _StatusBuffers:
    """The buffers of the current (device, stream) in ``cache`` (the flags' own by default),
    grown to n flags and n_vals values."""
    cache = _STATUS if cache is None else cache
    zeroed = cache is _STATUS_PACKED

    def grown(old):  # geometrically: a run of growing problems reallocates a few times
        have = (old.flags.numel() - HEADER, old.vals.numel()) if old else (0, 0)
        return _StatusBuffers(max(n, 2 * have[0]), max(n_vals, 2 * have[1]), device, zeroed)

    return stream_cached(cache, STATUS_STREAMS, device,
                         lambda b: b.flags.numel() >= n + HEADER and b.vals.numel() >= n_vals,
                         grown)


HEADER = 4  # int32s before the flags: the 2 counters and the epoch, padded to 16 bytes
# PACKED: launches a set of buffers serves before its words are zeroed again and its epoch
# restarts, well before the int32 tag could come round to a value left in a word
EPOCHS = 2 ** 30


class _StatusBuffers:
    """Zeroed flags (the counters, then one flag per program) and uninitialised values."""

    def __init__(self, n: int, n_vals: int, device: torch.device, zeroed: bool = False):
        self.flags = torch.zeros(n + HEADER, dtype=torch.int32, device=device)
        self.vals = (torch.zeros if zeroed else torch.empty)(n_vals, dtype=torch.float32,
                                                             device=device)
        self._views: dict = {}
        self.launches = 0  # packed: launches since the words were zeroed

    def packed_views(self, n: int, words: int, scratch: int) -> tuple:
        """(flags, words, scratch, counters) of a packed launch of n programs: ``words`` and
        ``scratch`` int64s. Every EPOCHS launches the words and the epoch are zeroed (two
        memsets, host-side)."""
        self.launches += 1
        if self.launches >= EPOCHS:
            self.vals.zero_()
            self.flags.zero_()
            self.launches = 1
        v = self._views.get(("packed", n, words, scratch))
        if v is None:
            vals = self.vals.view(torch.int64)
            v = self._views[("packed", n, words, scratch)] = (
                self.flags[HEADER:HEADER + n], vals[:words], vals[words:words + scratch],
                self.flags[:HEADER])
        return v

    def views(self, n: int, block_d: int, n_vals: int) -> tuple:
        """(flags, values, scratch, counters) of a launch of n programs, made once per
        launch shape: slicing four views costs microseconds of host time per call."""
        v = self._views.get((n, block_d, n_vals))
        if v is None:
            v = self._views[(n, block_d, n_vals)] = (
                self.flags[HEADER:HEADER + n], self.vals[:n * 3 * block_d],
                self.vals[n * 3 * block_d:n_vals].view(torch.int32), self.flags[:2])
        return v

    def summaries(self, B: int, n_parts: int, D: int, lanes: int = 0) -> tuple:
        """(ca, cb, carries): three [B, n_parts, D] views of the values, and with ``lanes``
        two [B, n_parts, lanes, D] after them, made once."""
        v = self._views.get(("summaries", B, n_parts, D, lanes))
        if v is None:
            m, mp = B * n_parts * D, _padded(B * n_parts * D)
            v = tuple(self.vals[i * mp:i * mp + m].view(B, n_parts, D) for i in range(3))
            if lanes:
                ml, mlp = m * lanes, _padded(m * lanes)
                v += tuple(self.vals[3 * mp + i * mlp:3 * mp + i * mlp + ml]
                           .view(B, n_parts, lanes, D) for i in range(2))
            self._views[("summaries", B, n_parts, D, lanes)] = v
        return v


_STATUS: dict = {}  # (device, stream) -> _StatusBuffers, least recently used first
_STATUS_PACKED: dict = {}  # the same for PACKED launches (tagged words)
STATUS_STREAMS = 8
