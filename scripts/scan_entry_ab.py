"""The H100's fp32 entry for B * D in 64..256, T > 32768 (B=1, D=64), candidates through the
op (``linear_scan``, forward and forward+backward, autograd), in alternating rounds:

- "table": the entry as shipped from 326002c until 3312873, reduce-then-scan both
  ways (three launches, one after the other), its backward in tiles of 4 rows x 2 warps;
- "lookback": its backward by look-back segments of 8 rows, 1 warp, 32 channels, 3 stages,
  2112 programs (one launch), the best backward of the H100's second sweep of that class
  (benchmarks/scan-sweep64-h100.json: 62.0 us at T=65536 and 98.5 at T=131072, where the
  first sweep, scan-sweep16-h100.json, had the 4-row tile at 65.5 and 108.6; the two sweeps
  agree within 1% on the candidates both ran). The sweeps timed ``scan_bwd`` alone, under
  the dirty L2 flush, and did not check the backward's values;
- "pdl": "table" with its three launches overlapping (``ScanConfig.pdl``: Hopper's
  programmatic dependent launch; the calls were 7.6-8.5 us longer than their three kernels,
  benchmarks/scan-breakdown-h100.json and flush-ab-h100.json), shipped from 3312873;
- "rts8": "pdl" with the backward's tile of "lookback" but its carries by reduce-then-scan
  (63.1 us in the second sweep), shipped since ec97756; "rts8w2", "rts16", "rts8s2",
  "rts8s4": its neighbours (2 warps, 16 rows, 2 or 4 stages);
- "ch32" and its neighbours: one channel a lane (``CH``).

Each candidate's gradients are first checked against the float64 torch scan, and the kernels
it launched against what it asks for (a plan kept from another candidate would run unnoticed:
the first run of this script, 2026-12-06 17:13, was void so). Then, per shape, pass and timing
mode (graph replays, back to back), ``ROUNDS`` rounds of every candidate and of
accelerated-scan's warp kernel where it is installed (T <= 65536), each call as the scan
bench makes it (``rnnviz.bench.scan._step``). Writes scan-entry-ab-<gpu>.json.
RNNVIZ_AB_SHAPES ("1x1048576x16"), RNNVIZ_AB_VARIANTS ("table,pdl") and RNNVIZ_AB_MODES
("graph") narrow the run; RNNVIZ_AB_DTYPE=bf16 runs it in bfloat16 (the table's bf16 class).

    python scripts/scan_entry_ab.py [--out DIR]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

import torch

import rnnviz.kernels.linear_scan.launch as launch
from rnnviz.bench.core import TIMING_PER_ROW, copy_bandwidth_gbs, time_ms, write_result
from rnnviz.bench.scan import _bytes, _make, _narrowed, _shapes_from_env, _step
from rnnviz.ops import linear_scan
from rnnviz.kernels.linear_scan.tuned import TABLE

SHAPES = [(1, 65536, 64), (1, 131072, 64)]
ROUNDS = 5
# The backward tiles tried (each candidate names its own, and its "pdl", so that a candidate
# means the same whatever the shipped table holds): the one shipped from 326002c to ec97756
# (4 rows x 2 warps, reduce-then-scan), the look-back segments that won the second sweep, and
# its runner-up by reduce-then-scan (63.1 us against 65.5 in the first sweep; shipped since
# ec97756), with its neighbours
FOUR_ROW_BWD = {"rows": 4, "num_warps": 2, "block_d": 32, "stages": 3, "vec": 0,
                "programs": 2112, "carry": "scan"}
LOOKBACK_BWD = {"rows": 8, "num_warps": 1, "block_d": 32, "stages": 3, "vec": 0,
                "programs": 2112, "carry": "lookback"}
RTS8_BWD = {**LOOKBACK_BWD, "carry": "scan"}
# Reduce-then-scan with lanes walking sub-segments of their own ("split", reduce_scan.py):
# the shipped D=64 entry so, both ways or its forward alone, and with segments four times
# longer (the split walk exchanges nothing inside a segment, so fewer segments cost the walk
# nothing and leave the summaries' scan less to do). At B=4, D=256 (the H200's entries: a
# look-back forward) reduce-then-scan both ways, chunked and split: "medium" names them
MEDIUM_SCAN = {"path": "sequence", "rows": 4, "num_warps": 1, "block_d": 32, "stages": 1,
               "vec": 0, "programs": 2112, "carry": "scan", "pdl": True, "split": False,
               "bwd": {"path": "sequence", "rows": 4, "num_warps": 2, "block_d": 32,
                       "stages": 3, "vec": 0, "programs": 2112, "carry": "scan",
                       "split": False}}
# At B=4, D=256 the forward by one-chunk look-back: one read of a and b (reduce-then-scan and
# the look-back segments read them twice, 5 N elements moved for 3 N counted); each program
# holds one chunk (rows x sub-chunks x channels) in registers while it waits for its carry
MEDIUM_LOOKBACK = {"m1lb": {"rows": 8, "num_warps": 4, "block_d": 32},
                   "m1lbd64": {"rows": 8, "num_warps": 4, "block_d": 64},
                   "m1lbr16": {"rows": 16, "num_warps": 4, "block_d": 32},
                   # m1lbr16's neighbours (it won the first run, 2026-12-07 05:36: 90.9 us
                   # against the shipped 120.9)
                   "m1lbr32": {"rows": 32, "num_warps": 4, "block_d": 32},
                   "m1lbr16w8": {"rows": 16, "num_warps": 8, "block_d": 32},
                   "m1lbr32w8": {"rows": 32, "num_warps": 8, "block_d": 32},
                   "m1lbr16d16": {"rows": 16, "num_warps": 4, "block_d": 16}}
MEDIUM_LOOKBACK_BF16 = {"mh16": {"rows": 16, "num_warps": 4, "block_d": 64, "vec": 2},
                        "mh8": {"rows": 8, "num_warps": 4, "block_d": 64, "vec": 2},
                        "mh32": {"rows": 32, "num_warps": 4, "block_d": 64, "vec": 2},
                        "mh16v1": {"rows": 16, "num_warps": 4, "block_d": 32, "vec": 1}}
# Reduce-then-scan with one channel a lane ("ch": vec=1, so S = 1): a row of the tile is one
# 128-byte load across a warp's lanes (the shipped tile's loads each touch 8 rows, 64 bytes
# of each), and each lane walks its rows alone, exchanging nothing. 16 rows x 1 warp x 32
# channels; "r8": 8 rows; "s3": three chunks in flight (cp.async); "64": 64 channels over 2
# warps; "f"/"b": the forward or the backward alone so (the other as "rts8")
CH = {"path": "sequence", "rows": 16, "num_warps": 1, "block_d": 32, "stages": 1, "vec": 1,
      "programs": 2112, "carry": "scan", "pdl": True, "split": False}


# The H100's D=64 forward as shipped (reduce-then-scan, 4 rows x 16 channels x 1 warp), for
# the variants of its tile below
FWD64 = {"path": "sequence", "rows": 4, "num_warps": 1, "block_d": 16, "stages": 1, "vec": 0,
         "programs": 2112, "carry": "scan", "split": False}
FWD64_TILES = {"f8": {"rows": 8}, "f16": {"rows": 16}, "fw2": {"num_warps": 2},
               "f4d32": {"block_d": 32}, "f8d32": {"rows": 8, "block_d": 32},
               "f8s2": {"rows": 8, "stages": 2}, "fp1056": {"programs": 1056},
               "fp4224": {"programs": 4224},
               # one launch: the same segments carried by look-back, or one chunk a program
               # (256 rows x 16 channels, 4 warps) carried by decoupled look-back
               "flb": {"carry": "lookback"},
               "f1lb": {"carry": "lookback", "programs": 0, "rows": 8, "num_warps": 4}}


def _read_once(tile: dict) -> dict:
    """The medium class by one-chunk look-back both ways, in ``tile``: one launch a pass, each
    program holding its chunk while it waits for its carry, so the inputs are read once."""
    one = {"packed": False, "lookback": 32, "ahead": 0, "keep": False, "fewer_trips": False, **tile,
           "carry": "lookback", "programs": 0}
    return {**MEDIUM_SCAN, **one, "pdl": True, "bwd": {**MEDIUM_SCAN["bwd"], **one}}


def _both(**tile) -> dict:
    return {**CH, **tile, "bwd": {**CH, **tile}}


# ... and its fp32 "|few" entry (D=16) until the one-chunk look-back took its forward too
# (ftfew32r16, 2026-12-07 21:25) and then 16-row chunks its backward (ftfew32r16b, 22:05):
# reduce-then-scan with pdl forward, the one-chunk look-back in 8-row chunks backward, which the
# D=16 candidates below ("split16", "ch32", "ftfew") change a key or two of. Each candidate
# names its own backward, so that it means what it meant when it was timed
FEW16_BWD8 = {"block_d": 16, "fewer_trips": True, "num_warps": 4, "programs": 0, "rows": 8,
              "stages": 1, "vec": 0}
FEW16_BEFORE = {"block_d": 16, "bwd": FEW16_BWD8, "carry": "scan", "num_warps": 1,
                "path": "sequence", "pdl": True, "programs": 2112, "rows": 4, "stages": 1, "vec": 0}


def _few_lookback(rows: int, bwd_rows: int = 8) -> dict:
    """The "|few" class (either dtype) by the one-chunk look-back both ways in two trips a
    round, ``rows`` rows forward and ``bwd_rows`` backward, 4 warps x 16 channels."""
    return {**FEW16_BWD8, "carry": "lookback", "rows": rows, "pdl": False,
            "bwd": {**FEW16_BWD8, "rows": bwd_rows}}


VARIANTS = {"shipped": {},  # the table as it is, whatever it holds
            "table": {"bwd": FOUR_ROW_BWD, "pdl": False},
            "lookback": {"bwd": LOOKBACK_BWD, "pdl": False},
            "pdl": {"bwd": FOUR_ROW_BWD, "pdl": True},
            "rts8": {"bwd": RTS8_BWD, "pdl": True},
            "rts8w2": {"bwd": {**RTS8_BWD, "num_warps": 2}, "pdl": True},
            "rts16": {"bwd": {**RTS8_BWD, "rows": 16}, "pdl": True},
            "rts8s2": {"bwd": {**RTS8_BWD, "stages": 2}, "pdl": True},
            "rts8s4": {"bwd": {**RTS8_BWD, "stages": 4}, "pdl": True},
            "split": {"split": True, "bwd": {**RTS8_BWD, "split": True}, "pdl": True},
            "splitf": {"split": True, "bwd": RTS8_BWD, "pdl": True},
            "split528": {"split": True, "programs": 528,
                         "bwd": {**RTS8_BWD, "split": True, "programs": 528}, "pdl": True},
            "split16": {"split": True, "pdl": True},  # D=16's "|few" forward (its backward
            # is the one-chunk look-back)
            "ch32": _both(), "ch32r8": _both(rows=8), "ch32s3": _both(stages=3),
            "ch64": _both(block_d=64, num_warps=2),
            "ch32f": {**CH, "bwd": RTS8_BWD}, "ch32b": {"bwd": CH, "pdl": True},
            # bf16 (RNNVIZ_AB_DTYPE=bf16): two channels a lane, so a row is still 128 bytes
            "ch64h": _both(block_d=64, vec=2), "ch64hr8": _both(block_d=64, vec=2, rows=8),
            "ch64hr32": _both(block_d=64, vec=2, rows=32),
            # ... and reduce-then-scan with 16-byte loads, the fp32 D=64 entry's tiles: which of
            # ch64h's two changes (the carry, the lanes) paid
            "rtsh": {**CH, "rows": 4, "block_d": 16, "vec": 0, "bwd": RTS8_BWD},
            # the D=64 forward's tile under the [S, R, BLOCK_D] view (blocks.SUBCHUNK_MAJOR,
            # Triton 3.6's default since 2026-12-07): the shipped 4 rows x 16 channels x 1 warp
            # was chosen when 3.6 gave its rows the lanes. More rows, wider rows, two warps,
            # longer or shorter segments, look-back; the backward the shipped one, named here
            # because an entry's backward takes the forward's carry where it names none
            **{name: {**FWD64, **tile, "pdl": True, "bwd": {**RTS8_BWD, "carry": "scan"}}
               for name, tile in FWD64_TILES.items()},
            # bf16 at D=64 (34.6% of copy forward, about 15 us of it a fixed cost): the one-chunk
            # look-back forward, 30.8 us against 24.1 in four trips a round (2026-12-07 05:38),
            # now in two; and the one-read look-back both ways at bf16's medium tile, in two
            "f1lbft": {**FWD64, **FWD64_TILES["f1lb"], "fewer_trips": True, "pdl": True,
                       "bwd": {**RTS8_BWD, "carry": "scan"}},
            "d64lbft": _read_once({**MEDIUM_LOOKBACK_BF16["mh32"], "fewer_trips": True}),
            **{name: {**MEDIUM_SCAN, **tile, "carry": "lookback", "programs": 0, "pdl": True}
               for name, tile in MEDIUM_LOOKBACK.items()},
            # ... and the backward so too (one read of its inputs; the H100's fp32 entry since
            # 2026-12-07)
            "m1lbr16b": _read_once(MEDIUM_LOOKBACK["m1lbr16"]),
            # bf16 (RNNVIZ_AB_DTYPE=bf16) at B * D <= 4096, where m1lbr16b was slower than the
            # H200's entries (2026-12-07 06:40): the one-read kernel both ways with tiles of their
            # own for 2-byte elements, two channels a lane (a row of 64 channels is one 128-byte
            # load, as in the bf16 D=64 entry), or one
            **{name: _read_once(tile) for name, tile in MEDIUM_LOOKBACK_BF16.items()},
            # the look-back's states as tagged 64-bit words (ScanConfig.packed): two round trips
            # a look-back round where the flags take four; with a window of 4, 8 or 16 chunks
            # (the words of a 32-chunk window took 255 registers and spilled): the shipped
            # fp32 entry so, and mh32 (the best bf16 backward of 2026-12-07 08:27). Slower than
            # the flags (benchmarks/scan-entry-ab-packed3-*-h100.json)
            **{f"mediumpk{w}": {"packed": True, "lookback": w} for w in (4, 8, 16)},
            **{f"mh32pk{w}": _read_once({**MEDIUM_LOOKBACK_BF16["mh32"], "packed": True,
                                          "lookback": w}) for w in (8, 16)},
            # ... the backward alone so (packed backwards were faster at every shape of
            # 2026-12-07 08:38, before the threads agreed on one copy of the words; the forwards
            # slower at T <= 32768), each entry's forward kept
            "mediumpk8b": {"bwd": {**_read_once(MEDIUM_LOOKBACK["m1lbr16"])["bwd"],
                                   "packed": True, "lookback": 8}},
            "mh32pk8b": {"bwd": {**_read_once(MEDIUM_LOOKBACK_BF16["mh32"])["bwd"],
                                 "packed": True, "lookback": 8}},
            # bf16, T > 32768: the H200's entry, the H100's until mh32 took the class
            "h200long": {**TABLE["H200"]["2|bd<=4096|T>32768"], "packed": False},
            # the one-read kernel with a look-back window of 8 or 4 chunks instead of 32: fewer
            # registers (compiled for sm_90 under 3.6, forward: 16 rows 254 -> 219, 8 rows 167 ->
            # 128, so four programs an SM; bf16 mh16 168 -> 124 at 4, mh32 255 -> 234 at 8), more
            # programs an SM to cover each other's waits (2 an SM as shipped, medclock)
            **{f"m1lbr{r}lb{w}": _read_once({**MEDIUM_LOOKBACK["m1lb"], "rows": r, "lookback": w})
               for r, w in ((8, 8), (8, 4), (16, 8))},
            "mh16lb4": _read_once({**MEDIUM_LOOKBACK_BF16["mh16"], "lookback": 4}),
            "mh32lb8": _read_once({**MEDIUM_LOOKBACK_BF16["mh32"], "lookback": 8}),
            # the one-read kernel asking the L2, once its chunk is in registers, for the chunk
            # of the program this many tickets on (ScanConfig.ahead: 264 = the programs that fit
            # at once, two an SM; "k": kept over other lines, evict_last): the memory works
            # while the programs that fit wait for their carries (medclock: 3.5 us a program)
            **{f"pf{n}": _read_once({**MEDIUM_LOOKBACK["m1lbr16"], "ahead": n})
               for n in (132, 264, 528)},
            "pf264k": _read_once({**MEDIUM_LOOKBACK["m1lbr16"], "ahead": 264, "keep": True}),
            **{f"pfh{n}": _read_once({**MEDIUM_LOOKBACK_BF16["mh32"], "ahead": n})
               for n in (264, 528)},
            "pfh264k": _read_once({**MEDIUM_LOOKBACK_BF16["mh32"], "ahead": 264, "keep": True}),
            # ... its forward alone so (the backward's prefetch lost 1% at D=300, 2026-12-07
            # 10:55, and gained 3% at T=131072 and 65536)
            "pfh264kf": {**_read_once({**MEDIUM_LOOKBACK_BF16["mh32"], "ahead": 264,
                                       "keep": True}),
                         "bwd": _read_once(MEDIUM_LOOKBACK_BF16["mh32"])["bwd"]},
            # bf16 at T <= 32768 (the H200's entries): their forward, mh32's prefetched backward
            # (pfh264k both ways gave 76.7 / 166.5 us against 64.9 / 185.7 at B=4, T=16384,
            # D=256: the backward faster, the forward slower)
            "pfh264kb": {"bwd": _read_once({**MEDIUM_LOOKBACK_BF16["mh32"], "ahead": 264,
                                            "keep": True})["bwd"]},
            # the look-back in two trips to the L2 a round, not four (ScanConfig.fewer_trips: the
            # flags' copy read back through the L1, the inclusive state asked with the
            # aggregates): fp32's shipped entry so (m1lbr16 both ways), bf16's at T > 32768
            # (pfh264k), at T <= 32768 pfh264kb's backward so, and the few-channel look-back
            # (D=16's "|few" entries: fp32's backward, bf16's both ways) so
            "ft": _read_once({**MEDIUM_LOOKBACK["m1lbr16"], "fewer_trips": True}),
            "pfh264kft": _read_once({**MEDIUM_LOOKBACK_BF16["mh32"], "ahead": 264, "keep": True,
                                     "fewer_trips": True}),
            "pfh264kbft": {"bwd": _read_once({**MEDIUM_LOOKBACK_BF16["mh32"], "ahead": 264,
                                              "keep": True, "fewer_trips": True})["bwd"]},
            "ftfew": {"pdl": True, "bwd": FEW16_BWD8},
            "ftfewh": _few_lookback(8, bwd_rows=8),
            # fp32's "|few" forward (D=16) by the one-chunk look-back in two trips, the tile
            # of bf16's entry and of fp32's own backward (8 rows x 4 warps x 16 channels), or
            # 16 or 32 rows: one read of the inputs where reduce-then-scan reads them twice
            **{f"ftfew32r{r}": _few_lookback(r) for r in (8, 16, 32)},
            # ... ftfew32r16 (fp32's "|few" forward since 2026-12-07 21:25) with its backward in
            # 16 rows too (the entry since 22:05); bf16's "|few" entry as it was (8 rows both
            # ways) in 16 (the entry since 22:05) or 32 rows
            "rtsfew": FEW16_BEFORE,  # (the entry before, for the class's other shapes)
            "ftfew32r16b": _few_lookback(16, bwd_rows=16),
            **{f"ftfewh{r}": _few_lookback(r, bwd_rows=r) for r in (16, 32)},
            # the H100's B * D <= 4096 entry before m1lbr16 took its forward (look-back segments)
            "lbseg": {**MEDIUM_SCAN, "carry": "lookback"},
            "mediumscan": MEDIUM_SCAN,
            "mediumsplit": {**MEDIUM_SCAN, "split": True,
                            "bwd": {**MEDIUM_SCAN["bwd"], "split": True}}}
MODES = ("graph", "back-to-back")


def from_env() -> tuple[list[tuple[int, int, int]], dict, list[str]]:
    """``SHAPES``, ``VARIANTS`` and ``MODES``, or those RNNVIZ_AB_SHAPES ("1x1048576x16;..."),
    RNNVIZ_AB_VARIANTS ("table,pdl") and RNNVIZ_AB_MODES ("graph") name (as the scan bench
    reads its own narrowing variables)."""
    shapes = _shapes_from_env("RNNVIZ_AB_SHAPES") or SHAPES
    names = _narrowed("RNNVIZ_AB_VARIANTS", VARIANTS)
    return shapes, {n: VARIANTS[n] for n in names}, _narrowed("RNNVIZ_AB_MODES", MODES)


# RNNVIZ_AB_DTYPE: "fp32" (the default) or "bf16": the inputs' dtype, and the table's class
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
# gradients against float64 from the same (rounded) inputs: how far each dtype may be off
GRAD_TOL = {"fp32": 1e-4, "bf16": 3e-2}


# The H100's fp32 entry for B * D in 64..256, T > 32768 from 2026-12-06 until 2026-12-07 19:33
# (reduce-then-scan with pdl both ways), which the D=64 candidates above change a key or two of:
# each still means what it meant when it was timed, now that the one-read look-back ("ft") is
# that entry
D64_BEFORE = {"path": "sequence", "rows": 4, "num_warps": 1, "block_d": 16, "stages": 1,
              "vec": 0, "programs": 2112, "carry": "scan", "pdl": True,
              "bwd": {"rows": 8, "num_warps": 1, "block_d": 32, "stages": 3, "vec": 0,
                      "programs": 2112}}


def use(variant: str, B: int, T: int, D: int, elem: int = 4) -> None:
    """Make the op choose ``variant``'s entry (``VARIANTS``: the shipped one, updated; at fp32's
    D=64 and D=16 classes ``D64_BEFORE`` and ``FEW16_BEFORE``, updated) for problems of this
    class of ``elem``-byte elements."""
    table = dict(launch._tuned_for(launch.gpu_key()))
    key = launch.tuned_key(B, T, D, elem)
    asked = VARIANTS[variant]
    before = {launch.bucket(1, 65536, 64, 4): D64_BEFORE,
              launch.tuned_key(1, 2 ** 20, 16, 4): FEW16_BEFORE}
    base = before.get(key, table[key]) if asked else table[key]
    entry = {**base, **asked}
    if asked and "fewer_trips" not in asked:
        # (a candidate that does not ask for the two-trip look-back runs as it was first timed,
        # before the shipped entries took it, 2026-12-07 13:22)
        entry["fewer_trips"] = False
        if "bwd" in entry and "bwd" not in asked:
            entry["bwd"] = {**entry["bwd"], "fewer_trips": False}
    if asked and "eager" not in asked:
        entry.pop("eager", None)  # (a candidate runs as itself back to back too)
    table[key] = entry
    launch._tuned_for = (lambda k, table=table: table)
    launch.forget_choices()


LOOKBACK_KERNELS = ("scan_seqpar_kernel", "scan_segment_kernel")  # (those that take FEWER_TRIPS)


def kernels_launched(fn) -> list[tuple[str, bool]]:
    """The Triton kernels one call of ``fn`` launches, in order, each with whether it was
    launched to overlap the one before (pdl) and whether its lanes walk sub-segments (split):
    which variant really ran."""
    from rnnviz.kernels.cached_launch import CachedLaunch

    made, inner = [], CachedLaunch.launch

    def launch_(self, grid, args, kw, static=None):
        name = getattr(self.kernel, "fn", self.kernel).__name__
        made.append((name, bool(kw.get("launch_pdl")), bool(kw.get("SPLIT")), kw.get("VEC", 0),
                     bool(kw.get("PACKED")), (kw.get("AHEAD", 0), bool(kw.get("EVICT_LAST"))),
                     bool(kw.get("FEWER_TRIPS"))))
        return inner(self, grid, args, kw, static)

    CachedLaunch.launch = launch_
    try:
        fn()
    finally:
        CachedLaunch.launch = inner
    return made


def ran_as_asked(variant: str, made: list[tuple[str, bool]]) -> bool:
    """Whether the launches of one forward+backward are ``variant``'s: look-back segments
    in either pass or not, its launches overlapping or not (only a pass of three launches,
    reduce-then-scan, has any to overlap), its lanes walking sub-segments or not ("shipped"
    asks for nothing)."""
    asked = VARIANTS[variant]
    if not asked:
        return True
    names = [name for name, *_ in made]
    segment, overlapped = "scan_segment_kernel" in names, any(p for _, p, *_ in made)
    split = any(s for _, _, s, *_ in made)
    # the sequence kernels' vector widths, forward then backward (1 kernel in 3 is the
    # summaries' channel scan, whose tile is its own)
    vecs = {v for name, _, _, v, *_ in made if name != "scan_channel_kernel"}
    packed = any(launch[4] for launch in made)
    ahead = {launch[5] for launch in made}  # (prefetch distance, evict_last) of each launch
    trips = {launch[6] for launch in made if launch[0] in LOOKBACK_KERNELS}
    bwd = asked.get("bwd", {})
    passes = (asked, {**asked, **bwd})  # the backward takes what its "bwd" does not name

    def segments(cfg: dict) -> bool:
        return cfg.get("carry") == "lookback" and cfg.get("programs", 1) > 0

    def three_launches(cfg: dict) -> bool:
        return cfg.get("carry") != "lookback" and cfg.get("programs", 1) > 0

    def packs(cfg: dict) -> bool:  # (a variant that names no carry keeps the look-back)
        return cfg.get("packed", False) and not (cfg.get("carry") == "scan"
                                                 and cfg.get("programs", 1) > 0)

    def prefetches(cfg: dict) -> tuple[int, bool]:  # (one chunk a program only)
        one = cfg.get("programs", 1) == 0
        return (cfg.get("ahead", 0) if one else 0, bool(cfg.get("keep")) and one)

    # (reduce-then-scan's middle launch, the summaries' channel scan, never prefetches)
    three = any(map(three_launches, passes))
    # (a pass the variant leaves to its class's entry may still look back: D=16's backward)
    asked_trips = {bool(cfg.get("fewer_trips")) for cfg in passes if not three_launches(cfg)}
    if not asked_trips:
        trips, asked_trips = {any(trips)}, {False}
    return ((segment, overlapped, split, vecs, packed, ahead, trips)
            == (any(map(segments, passes)), asked.get("pdl", False) and three,
                bool(asked.get("split") or bwd.get("split")),
                {asked.get("vec", 0), bwd.get("vec", 0)}, any(map(packs, passes)),
                set(map(prefetches, passes)) | ({(0, False)} if three else set()),
                asked_trips))


def rel_err(x: torch.Tensor, ref: torch.Tensor) -> float:
    return float((x.double() - ref).norm() / ref.norm().clamp_min(1e-30))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=os.environ.get("OUT", "."))
    args = p.parse_args()
    dev = torch.device("cuda")
    shipped = launch._tuned_for
    shapes, variants, modes = from_env()
    dtype_name = os.environ.get("RNNVIZ_AB_DTYPE", "fp32")
    if dtype_name not in DTYPES:
        raise SystemExit(f"RNNVIZ_AB_DTYPE must be one of {sorted(DTYPES)}, got {dtype_name!r}")
    dtype = DTYPES[dtype_name]
    elem = torch.tensor([], dtype=dtype).element_size()
    copy = copy_bandwidth_gbs(dev)  # (each row's share of it: the bench's byte counts)
    rows = []
    for B, T, D in shapes:
        a, b = _make(B, T, D, dtype, dev, grad=True)  # the bench's inputs and calls
        g = torch.randn(B, T, D, device=dev, dtype=dtype)
        leaves = [x.detach().double().requires_grad_() for x in (a, b)]
        ref = torch.autograd.grad(linear_scan(*leaves, backend="torch"), leaves, g.double())
        calls = {}
        for variant in variants:
            launch._tuned_for = shipped
            use(variant, B, T, D, elem)
            grads = torch.autograd.grad(linear_scan(a, b), (a, b), g)
            errs = [rel_err(x, r) for x, r in zip(grads, ref)]
            made = kernels_launched(lambda: torch.autograd.grad(linear_scan(a, b), (a, b), g))
            print(variant, (B, T, D), dtype_name, "rel err", errs, made, flush=True)
            if max(errs) > GRAD_TOL[dtype_name]:
                raise SystemExit(f"{variant}: gradients off by {max(errs):.2e} at {(B, T, D)}")
            if not ran_as_asked(variant, made):
                raise SystemExit(f"{variant}: launched {made}, not its own kernels")
            for pss in ("fwd", "fwd+bwd"):
                calls[(variant, pss)] = (variant, _step("rnnviz-scan", pss, a, b, None))
        # accelerated-scan's kernels beside them, on [B, D, T] copies (its warp kernel takes
        # T up to 65536, and in bf16 it faulted at B=4, D=256, T=16384: an illegal memory
        # access, 2026-12-07, as it crashed the scan bench's process there, scan-h100.json;
        # a fault ends every later call of the process, so in bf16 only the scalar kernel)
        # (RNNVIZ_AB_BESIDE names which: "warp,scalar" by default; the warp kernel's build
        # takes a fresh machine over a minute, which a short A/B of rnnviz alone can spare)
        beside = _narrowed("RNNVIZ_AB_BESIDE", ["warp", "scalar"])
        for kind in ("warp", "scalar") if T <= 65536 and elem == 4 else ("scalar",):
            if kind not in beside:
                continue
            try:
                for pss in ("fwd", "fwd+bwd"):
                    calls[(f"accelerated-scan-{kind}", pss)] = (
                        None, _step("accelerated-scan", pss, a, b, kind))
            except ImportError:
                pass
        for mode in modes:
            times: dict = {name: [] for name in calls}
            for _ in range(ROUNDS):
                for name, (variant, fn) in calls.items():
                    launch._tuned_for = shipped
                    if variant is not None:
                        use(variant, B, T, D, elem)
                    times[name].append(time_ms(fn, dev, mode=mode, budget_ms=60) * 1e3)
            for (name, pss), ts in times.items():
                method, variant = (("rnnviz-scan", name) if calls[(name, pss)][0] is not None
                                   else ("accelerated-scan", name.rsplit("-", 1)[1]))
                us = statistics.median(ts)
                row = {"B": B, "T": T, "D": D, "pass": pss, "dtype": dtype_name,
                       "method": method, "variant": variant, "timing": mode, "us": us,
                       "rounds_us": ts,
                       "frac_copy": _bytes(B, T, D, elem, pss) / (us * 1e-6) / 1e9 / copy}
                print({"T": T, "D": D, "pass": pss, "variant": variant, "us": round(us, 2),
                       "frac_copy": round(row["frac_copy"], 3)}, flush=True)
                rows.append(row)
    launch._tuned_for = shipped
    write_result("scan-entry-ab", rows, {"timing": TIMING_PER_ROW, "copy_gbs": copy,
                                         "bytes": "fwd: 3 N elements; fwd+bwd: 8 N (the bench's)",
                                         "candidates": {
        k: "the tuned entry, " + repr(v) for k, v in variants.items()}},
                 out_dir=args.out)


if __name__ == "__main__":
    sys.exit(main())
