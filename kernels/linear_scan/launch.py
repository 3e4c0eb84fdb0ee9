"""Choosing and launching the scan kernels: path and block sizes from (B * D, T).

Two paths (see ``chunk.py`` and ``seqpar.py``):
- "channel": one program per (batch row, BLOCK_D channels), walking T. Right when B * D is
  large enough to fill the GPU with programs and loads in flight.
- "sequence": one program per (chunk of BLOCK_T steps, channel tile), or per segment of
  chunks, chained by decoupled look-back (``seqpar.py``); or, with carry="scan", segments
  summarised, the summaries scanned and the segments walked again in three launches
  (``reduce_scan.py``). Right for few channels and long T.

The choice is a formula, not an autotuner, so small problems pay no tuning launches and
the first call is as fast as the next; the constants come from a block-size sweep on an
H100 (``scripts/scan_sweep.py``).
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import NamedTuple

import torch

from .. import cdiv, interpreting, next_pow2
from ..cached_launch import CachedLaunch, LaunchPlan
from .chunk import scan_channel_kernel
from .launch_time import FEW_ROWS, TimeConfig, as_time_dense, launch_time, time_dense
from .reduce_scan import scan_apply_kernel, scan_reduce_kernel
from .seqpar import (LOOKBACK, TIMELINE_COLUMNS, scan_segment_kernel, scan_seqpar_kernel,
                     status_buffers, summary_buffers)

# Below this many channels (B * D) the channel grid leaves the GPU idle and long sequences
# go sequence-parallel.
CHANNEL_MIN_BD = 16384
# A tuned channel-walk entry is used only where it gives at least this many programs (the
# sweep measured its candidates there; a bucket also holds narrower problems).
MIN_PROGRAMS = 64


@dataclass(frozen=True)
class ScanConfig:
    """A chunk is ``block_t`` steps x ``block_d`` channels, held as a [R, S, block_d] tile
    with S = ``block_s`` sub-chunks of R = block_t / block_s steps (see ``blocks.py``)."""

    path: str  # "channel" | "sequence"
    block_t: int
    block_d: int
    num_warps: int = 4
    block_s: int = 1
    # channel path and the sequence path's segments (both walk chunks): chunks in flight,
    # staged in shared memory by Triton's software pipeliner (cp.async): the loads of
    # chunks c+1 .. c+stages-1 overlap chunk c's arithmetic
    stages: int = 1
    # elements per vector load (0: Triton's choice, 16 bytes). Narrower vectors put fewer
    # channels in a thread, so a thread can hold more rows; on the sequence path, with one
    # channel a lane (vec=1) and block_d = 32 * num_warps, a row of the tile is one load
    # across the lanes and each lane walks its rows alone: S = 1, no exchange between lanes
    vec: int = 0
    # sequence path: earlier chunks the look-back examines per round (one load of their
    # flags, one scan of their aggregates)
    lookback: int = LOOKBACK
    # sequence path: chunks per program. 0: one chunk, held in registers over the look-back
    # (``scan_seqpar_kernel``); n >= 1: a segment of n chunks walked twice, summarised, then
    # scanned from its carry (``scan_segment_kernel``), its loads pipelined by ``stages``
    segment: int = 0
    # sequence path with segments: how a segment gets its carry. "lookback": from the
    # earlier segments' published summaries, in the same launch (``seqpar.py``); "scan":
    # from a scan of all the summaries, between a reduce launch and an apply launch
    # (``reduce_scan.py``)
    carry: str = "lookback"
    # carry="scan": the summaries' scan and the apply launch start while the launch before
    # each is finishing (Hopper's programmatic dependent launch), each waiting in-kernel
    # (``griddepcontrol.wait``) before it reads what that launch wrote: the gaps between the
    # three launches overlap. sm_90 and later; chosen by a tuned entry's "pdl"
    pdl: bool = False
    # carry="scan": each lane group walks a contiguous sub-segment of its own, so a walk
    # exchanges nothing between lanes (``reduce_scan.py``, SPLIT); the lanes meet once a
    # segment. Chosen by a tuned entry's "split"
    split: bool = False
    # carry="lookback": the states published as tagged 64-bit words, no flags (``seqpar.py``,
    # PACKED): a look-back round is two round trips to memory, not four. Chosen by a tuned
    # entry's "packed" (none takes it: slower than the flags on the H100, 2026-12-07)
    packed: bool = False
    # sequence path, one chunk a program (segment=0): > 0 has each program, once its chunk is
    # in registers and before it looks back, ask the L2 for the chunk of the program this many
    # tickets later (about the programs that fit at once: the next wave), so that the memory
    # works while the programs that fit wait for their carries (``seqpar.prefetch_chunk``).
    # ``keep`` marks those lines to stay in the L2 over others (evict_last). GPU only: 0 under
    # Triton's interpreter. Chosen by a tuned entry's "ahead" (and "keep"): the H100's bf16
    # entry for B * D <= 4096, T > 32768 (2.6-7.1% faster forward); slower in fp32
    ahead: int = 0
    keep: bool = False
    # carry="lookback", flags (not packed): a look-back round reads its flags' copy back
    # through the L1 and asks for the inclusive state with the aggregates, so it waits on
    # the L2 twice, not four times (``seqpar.lookback_carry``, FEWER_TRIPS). Chosen by a
    # tuned entry's "fewer_trips"
    fewer_trips: bool = False

    def __post_init__(self):
        if self.path not in ("channel", "sequence"):
            raise ValueError(f"path must be 'channel' or 'sequence', got {self.path!r}")
        for name in ("block_t", "block_d", "block_s", "num_warps", "lookback"):
            v = getattr(self, name)
            if v < 1 or v & (v - 1):
                raise ValueError(f"{name} must be a power of two, got {v}")
        if self.stages < 1:
            raise ValueError(f"stages must be >= 1, got {self.stages}")
        if self.segment < 0 or (self.segment and self.path != "sequence"):
            raise ValueError(f"segment must be 0, or >= 1 on the sequence path, got {self.segment}")
        if self.pdl and self.carry != "scan":
            raise ValueError("pdl (overlapping launches) needs carry='scan': the one-launch "
                             f"paths have no launch to overlap, got carry={self.carry!r}")
        if self.split and self.carry != "scan":
            raise ValueError("split (lanes walking sub-segments) needs carry='scan', got "
                             f"carry={self.carry!r}")
        if self.packed and (self.path != "sequence" or self.carry != "lookback"):
            raise ValueError("packed (tagged look-back words) needs the sequence path with "
                             f"carry='lookback', got path={self.path!r}, carry={self.carry!r}")
        if self.ahead < 0 or (self.ahead and (self.path != "sequence" or self.segment)):
            raise ValueError("ahead (prefetching a later chunk) needs the sequence path with one "
                             f"chunk a program (segment=0), got ahead={self.ahead}, "
                             f"path={self.path!r}, segment={self.segment}")
        if self.carry not in ("lookback", "scan"):
            raise ValueError(f"carry must be 'lookback' or 'scan', got {self.carry!r}")
        if self.fewer_trips and (self.path != "sequence" or self.carry != "lookback"
                                 or self.packed):
            raise ValueError("fewer_trips (the flags' look-back in two trips to the L2) needs the "
                             "sequence path with carry='lookback' and packed=False, got "
                             f"path={self.path!r}, carry={self.carry!r}, packed={self.packed}")
        if self.carry == "scan" and not self.segment:
            raise ValueError("carry='scan' works on segments: it needs segment >= 1")
        if self.vec and (self.vec & (self.vec - 1) or self.vec > self.block_d):
            raise ValueError(f"vec must be 0 or a power of two <= block_d, got {self.vec}")
        if self.block_s > self.block_t:
            raise ValueError(f"block_s ({self.block_s}) must be <= block_t ({self.block_t})")

    @property
    def rows(self) -> int:
        return self.block_t // self.block_s


class ScanResult(NamedTuple):
    """h, and (with record=True) the chunk-local scans [B, T, D], the carries entering each
    chunk [B, n_chunks, D] (processing order), the chunk length and the path; with
    timeline=True on the sequence path, the kernel's own timeline: one int64 row of
    ``seqpar.TIMELINE_COLUMNS`` per program, in ticket order."""

    h: torch.Tensor
    local: torch.Tensor | None
    carries: torch.Tensor | None
    chunk: int
    path: str
    timeline: torch.Tensor | None = None


def _pow2_at_most(x: int, cap: int) -> int:
    return min(next_pow2(max(1, x)), cap)


def tile_config(path: str, T: int, D: int, elem_size: int, rows: int, num_warps: int,
                block_d: int, stages: int = 1, vec: int = 0,
                lookback: int = LOOKBACK, segment: int = 0, carry: str = "lookback"
                ) -> ScanConfig:
    """The config whose [rows, S, block_d] tile puts each sub-chunk's rows in one thread:
    S = (32 * num_warps lanes) / (lanes one row of block_d channels takes), capped by T."""
    block_d = _pow2_at_most(D, block_d)
    wide_vec = max(1, 16 // elem_size)  # elements in a 16-byte load: Triton's own choice
    vec = min(vec or wide_vec, block_d)
    lanes_per_row = max(1, block_d // vec)
    S = max(1, 32 * num_warps // lanes_per_row)
    R = rows
    cap = next_pow2(T)
    while R * S > cap and R > 1:
        R //= 2
    while R * S > cap and S > 1:
        S //= 2
    channel = path == "channel"
    return ScanConfig(path, block_t=R * S, block_d=block_d, num_warps=num_warps, block_s=S,
                      stages=stages if channel or segment else 1,
                      vec=vec if vec != wide_vec else 0,
                      lookback=LOOKBACK if channel else lookback,
                      segment=0 if channel else segment,
                      carry=carry if segment and not channel else "lookback")


def segment_for(B: int, T: int, D: int, cfg: ScanConfig, programs: int) -> ScanConfig:
    """``cfg`` with segments of as many chunks as give about ``programs`` programs (the
    segment kernel's size is a count of programs that fills the GPU, whatever T is)."""
    tiles = B * cdiv(D, cfg.block_d)
    segment = max(1, cdiv(cdiv(T, cfg.block_t), max(1, programs // tiles)))
    return dataclasses.replace(cfg, segment=segment)


# launched through their compiled launchers once a key is known (``cached_launch.py``)
_CHANNEL = CachedLaunch(scan_channel_kernel)
_SEGMENT = CachedLaunch(scan_segment_kernel)
_SEQPAR = CachedLaunch(scan_seqpar_kernel)
_REDUCE = CachedLaunch(scan_reduce_kernel)
_APPLY = CachedLaunch(scan_apply_kernel)

SMALL_BD = 256  # the smallest class of B * D
SHORT_T = 256  # up to this many steps a channel walk (no look-back) is taken whatever B * D


def bucket(B: int, T: int, D: int, elem_size: int) -> str:
    """The coarse class of a problem that a tuned config is chosen for."""
    bd = B * D
    b = "bd<=256" if bd <= SMALL_BD else "bd<=4096" if bd <= 4096 else \
        "bd<32768" if bd < 32768 else "bd>=32768"
    t = "T<=2048" if T <= 2048 else "T<=32768" if T <= 32768 else "T>32768"
    return f"{elem_size}|{b}|{t}"


def tuned_key(B: int, T: int, D: int, elem_size: int) -> str:
    """The finest key of the tuned table a problem can take: its ``bucket``, with "|few" for
    fewer than ``FEW_ROWS`` channels (B * D), a class a GPU's table splits off where one tile
    does not serve both (the H100's fp32 backward at T > 32768: reduce-then-scan at D=64, the
    one-chunk look-back at D=16)."""
    key = bucket(B, T, D, elem_size)
    return key + "|few" if B * D < FEW_ROWS else key


def tuned_entry(table: dict, B: int, T: int, D: int, elem_size: int) -> dict | None:
    """The entry of ``table`` for a problem: its "|few" class where the table has one
    (``tuned_key``), else its coarse class (``bucket``)."""
    entry = table.get(tuned_key(B, T, D, elem_size))
    return entry if entry is not None else table.get(bucket(B, T, D, elem_size))


@functools.lru_cache(maxsize=None)
def gpu_key(device_index: int | None = None) -> str | None:
    """"H100" for an "NVIDIA H100 80GB HBM3": the key of the tuned table."""
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name(device_index)
    return name.replace("NVIDIA ", "").split()[0]


# GPUs that share a tuned table: the H200 is the H100's chip (132 SMs) with faster memory,
# so a class one has not measured takes the other's entry. Its own entries win: the same
# tile need not be the best of both (wide bf16: the H200's 16 x 4 warps x 1024 channels
# moved 89% of the H100's copy bandwidth, where 8 x 2 x 512 moved 98%).
SAME_CHIP = {"H200": "H100", "H100": "H200"}


@functools.lru_cache(maxsize=None)
def _tuned_for(key: str | None) -> dict:
    """The tuned table of GPU ``key``: its own entries over its twin's (``SAME_CHIP``)."""
    from .tuned import TABLE

    if not key:
        return {}
    return {**TABLE.get(SAME_CHIP.get(key, ""), {}), **TABLE.get(key, {})}


# A channel-walk tile: its fields in a tuned entry, in the order of WIDE's tuples
TILE_KEYS = ("rows", "num_warps", "block_d", "stages", "vec")


# Wide problems (B * D >= CHANNEL_MIN_BD), by element size: (rows, num_warps, block_d,
# stages, vec) of the forward and of the backward, the best of the H200 sweep
# (benchmarks/scan-sweep-stages-h200*.json). bf16 wants more chunks in flight than fp32 (half
# the bytes per row); the backward streams three inputs, so it takes shallower rows.
WIDE = {4: {"fwd": (16, 4, 512, 2, 0), "bwd": (8, 4, 512, 3, 0)},
        2: {"fwd": (16, 4, 1024, 3, 0), "bwd": (8, 4, 512, 3, 4)}}


def pass_entry(entry: dict, backward: bool = False, eager: bool = False) -> dict:
    """What ``entry`` asks of one pass: its keys, then for the backward its "bwd" part's; for
    an ``eager`` call (no CUDA graph capturing it) then its "eager" part's keys, and for the
    backward that part's own "bwd". So an eager part's keys hold for both passes, over the
    entry's backward too."""
    eager_part = entry.get("eager", {}) if eager else {}
    parts = (entry.get("bwd", {}), eager_part, eager_part.get("bwd", {})) if backward \
        else (eager_part,)
    out = dict(entry)
    for part in parts:
        out.update(part)
    return out


def choose_config(B: int, T: int, D: int, elem_size: int = 4,
                  backward: bool = False, eager: bool = False) -> ScanConfig:
    """Path and block sizes for a [B, T, D] scan of ``elem_size``-byte elements, forward or
    (``backward``) the gradient's reverse scan.

    A table measured on the GPU (``tuned.py``, written by scripts/scan_sweep.py) gives, per
    coarse class of (element size, B * D, T) (``tuned_entry``: a "|few" class first, where
    the table has one), the path, rows per thread, warps, channel tile, pipeline stages and
    vector width (an entry's "bwd" overrides them for the backward); ``tile_config`` fits it
    to D. No table entry (another GPU, the interpreter): a formula. No tuning runs at call
    time, so small problems pay no extra launches.

    ``eager``: the call is not being captured into a CUDA graph, so the host paces it where
    the GPU's work is short: an entry's "eager" part (``pass_entry``) then applies. The
    table ranks entries by graph replays; where one that makes more launches wins there, an
    "eager" part can ask for fewer when the host's time per launch is the cost.
    """
    entry = None if interpreting() else tuned_entry(_tuned_for(gpu_key()), B, T, D, elem_size)
    return entry_config(entry, B, T, D, elem_size, backward, eager)


def entry_config(entry: dict | None, B: int, T: int, D: int, elem_size: int = 4,
                 backward: bool = False, eager: bool = False) -> ScanConfig:
    """The config a tuned ``entry`` (``tuned.py``'s form; None: the formula) gives a [B, T, D]
    scan, forward or (``backward``) the gradient's, eager or captured (``choose_config``)."""
    if entry:
        entry = pass_entry(entry, backward, eager)
    if entry and entry["path"] == "sequence" and T <= SHORT_T:
        entry = None  # its class was measured at longer T; this short a walk needs no look-back
    if (entry and entry["path"] == "channel" and B * D > SMALL_BD
            and B * cdiv(D, entry["block_d"]) < MIN_PROGRAMS):
        # measured on wider problems of its class: here too few programs (in the smallest
        # class every problem has few, and the sweep measured exactly that)
        entry = None
    if entry:
        cfg = tile_config(entry["path"], T, D, elem_size, entry["rows"], entry["num_warps"],
                          entry["block_d"], entry.get("stages", 1), entry.get("vec", 0),
                          entry.get("lookback", LOOKBACK), 1 if entry.get("programs") else 0,
                          entry.get("carry", "lookback"))
        if entry.get("programs"):
            cfg = segment_for(B, T, D, cfg, entry["programs"])
        scan = cfg.carry == "scan"  # (a backward's one-launch carry takes neither)
        one_chunk = cfg.path == "sequence" and not cfg.segment
        return dataclasses.replace(cfg, pdl=bool(entry.get("pdl")) and scan,
                                   split=bool(entry.get("split")) and scan,
                                   packed=bool(entry.get("packed")) and not scan
                                   and cfg.path == "sequence",
                                   ahead=entry.get("ahead", 0) if one_chunk else 0,
                                   keep=bool(entry.get("keep")) and one_chunk,
                                   fewer_trips=bool(entry.get("fewer_trips")) and not scan
                                   and cfg.path == "sequence" and not entry.get("packed"))
    # The formula. Channel path: the sweep's best tile for wide problems, narrowed (fewer
    # warps, fewer channels) while it gives fewer programs than the table asks for.
    if B * D >= CHANNEL_MIN_BD or T <= SHORT_T:
        wide = WIDE.get(elem_size, WIDE[4])["bwd" if backward else "fwd"]
        rows, w, block_d, stages, vec = wide
        while B * cdiv(D, block_d) < MIN_PROGRAMS and w > 1:
            w, block_d = w // 2, block_d // 2
        return tile_config("channel", T, D, elem_size, rows, w, block_d, stages, vec)
    return tile_config("sequence", T, D, elem_size, rows=8, num_warps=8, block_d=16)


def _rows_fit(block_t: int, *time_strides: int) -> bool:
    """Whether a chunk's row offsets (block_t * the time stride) fit in int32 for every
    [B, T, D] operand, given their time strides."""
    return block_t * max(map(abs, time_strides)) < 2 ** 31


class _Plan(LaunchPlan):
    """A scan's launch, the same for every call of one shape, layout, config and set of
    flags: made once (``_plan``), so a small scan's call does not redo it."""

    __slots__ = ("cfg", "fits", "n_chunks", "status", "before", "graph_ready")

    def __init__(self, cfg: ScanConfig, kernel: CachedLaunch, grid: tuple, scalars: tuple,
                 constexprs: dict, fits: bool, n_chunks: int, status: tuple | None,
                 before: tuple | None = None):
        super().__init__(kernel, grid, scalars, constexprs)
        self.cfg = cfg
        self.fits = fits  # a chunk's row offsets fit in int32 (_rows_fit)
        self.n_chunks = n_chunks
        # sequence path: (n_parts, n_tiles, block_d, window, packed) for status_buffers
        self.status = status
        # carry="scan": (the reduce launch's plan, the summary scan's plan, n_parts), the
        # launches before this (apply) one
        self.before = before
        # an eager part's plan: whether the plan a CUDA graph of the same call takes has run
        # (``_launch``)
        self.graph_ready = False


# The scan of the segments' summaries (carry="scan"): a channel walk of a few thousand steps,
# latency-bound. With few channels (B * D <= SMALL_BD) 4-channel programs walk more of them at
# once: at B=1, D=64, T=65536 and 2112 segments that scan took 3.5 us against 6.6 with
# 16-channel programs (H100, torch.profiler; benchmarks/scan-breakdown-tiles-h100.json), 10.2
# against 22.9 at 8448 segments. Wider problems keep the 16 channels they were measured with.
SUMMARY_TILE = dict(rows=8, num_warps=4, block_d=16)
SUMMARY_TILE_FEW = dict(rows=8, num_warps=4, block_d=4)


def summary_tile(n_rows: int) -> dict:
    """The channel kernel's tile for the summaries' scan of ``n_rows`` (B * D) channels."""
    return SUMMARY_TILE_FEW if n_rows <= SMALL_BD else SUMMARY_TILE


@functools.lru_cache(maxsize=1024)
def _plan(cfg: ScanConfig, shape: tuple, s_a: tuple, s_b: tuple, s_hf: tuple, flags: tuple,
          timeline: bool) -> _Plan:
    B, T, D = shape
    has_h0, has_hf0, reverse, shift_a, grad_a, record = flags
    kw = dict(HAS_H0=has_h0, HAS_HF0=has_hf0, REVERSE=reverse, SHIFT_A=shift_a, GRAD_A=grad_a,
              RECORD=record, R=cfg.rows, S=cfg.block_s, BLOCK_D=cfg.block_d,
              num_warps=cfg.num_warps)
    fits = _rows_fit(cfg.block_t, s_a[1], s_b[1], s_hf[1], D)  # (D: the output's)
    n_chunks = cdiv(T, cfg.block_t)
    n_dt = cdiv(D, cfg.block_d)
    strides = (*s_a, *s_b, *s_hf)
    if cfg.path == "channel":
        return _Plan(cfg, _CHANNEL, (n_dt, B), (T, D, *strides),
                     dict(kw, STAGES=cfg.stages, VEC=cfg.vec), fits, n_chunks, None)
    n_parts = cdiv(n_chunks, cfg.segment) if cfg.segment else n_chunks
    if cfg.split and (record or not _rows_fit(cfg.block_t * cfg.segment, s_a[1], s_b[1], s_hf[1],
                                               D)):
        # the records are by chunk, which the split walk has none of; its row offsets span a
        # segment, in int32
        return _plan(dataclasses.replace(cfg, split=False), shape, s_a, s_b, s_hf, flags,
                     timeline)
    vec = {"VEC": cfg.vec} if cfg.vec else {}  # (a constexpr left at its default otherwise)
    if cfg.carry == "scan":
        grid = (n_parts * B * n_dt,)
        common = (T, D, n_dt, B * n_dt, cfg.segment, *s_a, *s_b)
        # with pdl: the reduce launch lets the next launch start (GDC), which is launched to
        # overlap it (launch_pdl) and waits for it in-kernel (GDC); so is the apply launch
        gdc = {"GDC": 1} if cfg.pdl else {}
        pdl = dict(gdc, launch_pdl=True) if cfg.pdl else {}
        split = {"SPLIT": True} if cfg.split else {}
        reduce = _Plan(cfg, _REDUCE, grid, common,
                       dict(REVERSE=reverse, SHIFT_A=shift_a, R=cfg.rows, S=cfg.block_s,
                            BLOCK_D=cfg.block_d, STAGES=cfg.stages, num_warps=cfg.num_warps,
                            **gdc, **split, **vec),
                       fits, n_chunks, None)
        # the summaries [B, n_parts, D] (contiguous), scanned forward from h0
        s_sum = (n_parts * D, D, 1)
        summary = _plan(tile_config("channel", n_parts, D, 4, **summary_tile(B * D)),
                        (B, n_parts, D), s_sum, s_sum, s_sum,
                        (has_h0, False, False, False, False, False), False)
        if pdl:  # (a plan of its own: the cached one serves launches without pdl)
            summary = _Plan(summary.cfg, summary.kernel, summary.grid, summary.scalars,
                            dict(summary.constexprs, **pdl), summary.fits, summary.n_chunks, None)
        return _Plan(cfg, _APPLY, grid, common + tuple(s_hf),
                     dict(kw, STAGES=cfg.stages, **pdl, **split, **vec), fits, n_chunks, None,
                     (reduce, summary, n_parts))
    status = (n_parts, B * n_dt, cfg.block_d, cfg.lookback, cfg.packed)
    packed = {"PACKED": True} if cfg.packed else {}
    trips = {"FEWER_TRIPS": True} if cfg.fewer_trips else {}
    kw = dict(kw, W=cfg.lookback, TIMELINE=timeline, **vec, **packed, **trips)
    if cfg.segment:
        return _Plan(cfg, _SEGMENT, (n_parts * B * n_dt,),
                     (T, D, n_dt, B * n_dt, cfg.segment, *strides), dict(kw, STAGES=cfg.stages),
                     fits, n_chunks, status)
    if cfg.ahead and not interpreting():  # (the prefetch is PTX, which the interpreter has not)
        kw = dict(kw, AHEAD=cfg.ahead, **({"EVICT_LAST": True} if cfg.keep else {}))
    return _Plan(cfg, _SEQPAR, (n_parts * B * n_dt,), (T, D, n_dt, B * n_dt, *strides), kw, fits,
                 n_chunks, status)


@functools.lru_cache(maxsize=1024)
def _auto_plan(shape: tuple, s_a: tuple, s_b: tuple, s_hf: tuple, flags: tuple, timeline: bool,
               elem_size: int, device_index: int | None, backward: bool,
               eager: bool = False) -> _Plan:
    """The plan under the automatic config: one lookup per call for both."""
    B, T, D = shape
    cfg = _auto_config(B, T, D, elem_size, device_index, backward, eager)
    if timeline and cfg.carry == "scan":  # the timeline is the look-back kernels' own clock
        cfg = dataclasses.replace(cfg, carry="lookback")
    return _plan(cfg, shape, s_a, s_b, s_hf, flags, timeline)


def _launch(a, b, h0, out, *, reverse, shift_a, grad_a_out, hf, hf0, record, config, backward,
            timeline=False):
    """Run the scan of (a, b) into ``out`` (and grad_a into ``grad_a_out``) under ``config``
    (None: the automatic one); returns (config, local, carries, timeline): the chunk-local
    scans and carries when recording, the sequence kernel's timeline when asked."""
    hf_ = hf if hf is not None else out  # (absent tensors: ``out`` stands in, never touched)
    flags = (h0 is not None, hf0 is not None, reverse, shift_a, grad_a_out is not None, record)
    if config is None:
        index = a.device.index if a.is_cuda else None
        where = (a.shape, a.stride(), b.stride(), hf_.stride(), flags, timeline,
                 a.element_size(), index, backward)
        eager = _eager(index)
        plan = _auto_plan(*where, eager)
        if eager and not plan.graph_ready:
            plan.graph_ready = True
            graph = _auto_plan(*where, False)
            if graph.cfg != plan.cfg:
                # Run once what a CUDA graph of this call will launch: a kernel's first launch
                # loads its module, which a stream capture forbids ("operation would make the
                # legacy stream depend on a capturing blocking stream"), and the usual capture
                # (torch.cuda.graphs' recipe, torch.compile's cudagraphs) warms up eagerly
                # first, which runs the eager part. The eager plan then writes the results.
                _launch(a, b, h0, out, reverse=reverse, shift_a=shift_a, grad_a_out=grad_a_out,
                        hf=hf, hf0=hf0, record=record, config=graph.cfg, backward=backward,
                        timeline=timeline)
    else:
        plan = _plan(config, a.shape, a.stride(), b.stride(), hf_.stride(), flags, timeline)
    cfg = plan.cfg
    if not plan.fits:  # the kernels' in-chunk offsets are int32
        a, b = a.contiguous(), b.contiguous()
        hf = hf.contiguous() if hf is not None else None
        if not _rows_fit(cfg.block_t, a.stride(1), b.stride(1), out.stride(1),
                         hf.stride(1) if hf is not None else 0):
            raise ValueError(f"the scan kernels need D * {cfg.block_t} (steps per chunk) < 2^31, "
                             f"got D = {a.shape[2]}")
        return _launch(a, b, h0, out, reverse=reverse, shift_a=shift_a, grad_a_out=grad_a_out,
                       hf=hf, hf0=hf0, record=record, config=cfg, backward=backward,
                       timeline=timeline)
    loc = car = None
    if record:
        B, T, D = a.shape
        loc = torch.empty(B, T, D, device=a.device, dtype=torch.float32)
        car = torch.empty(B, plan.n_chunks, D, device=a.device, dtype=torch.float32)
    args = (a, b, h0 if h0 is not None else out, out,
            grad_a_out if grad_a_out is not None else out, hf_,
            hf0 if hf0 is not None else out, loc if record else out, car if record else out)
    if plan.before is not None:
        _reduce_then_scan(plan, a, b, args)
        return cfg, loc, car, None
    if plan.status is None:
        plan.launch(args)
        return cfg, loc, car, None
    n_parts, n_tiles, block_d, window, packed = plan.status
    status = status_buffers(n_parts, n_tiles, block_d, a.device, window, packed)
    tl_buf = (torch.zeros(plan.grid[0], len(TIMELINE_COLUMNS), dtype=torch.int64,
                          device=a.device) if timeline else None)
    plan.launch((*args, *status, tl_buf if timeline else out))
    return cfg, loc, car, tl_buf


def _reduce_then_scan(plan: _Plan, a, b, args: tuple) -> None:
    """carry="scan" (``reduce_scan.py``): summarise the segments, scan the summaries from h0,
    walk the segments again from their carries. ``args`` as for the other kernels (h0, or
    a stand-in, third). Three launches where the look-back makes one: more host time per
    call (benchmarks/scan-carry-h200.json)."""
    red, summary, n_parts = plan.before
    lanes = plan.cfg.block_s if plan.cfg.split else 0  # (split: the sub-segments' steps too)
    ca, cb, seg_h, *sub = summary_buffers(a.shape[0], n_parts, a.shape[2], a.device, lanes)
    sa, sb = sub or (ca, cb)  # (without split: stand-ins, never touched)
    red.launch((a, b, ca, cb, sa, sb))
    h0 = args[2] if summary.constexprs["HAS_H0"] else seg_h
    summary.launch((ca, cb, h0) + (seg_h,) * 6)
    plan.launch((a, b, seg_h, sa, sb) + args[2:])


def forget_choices() -> None:
    """Forget the automatic configs and plans chosen so far, kept per shape: after a change to
    the tuned table or to ``gpu_key``, the next call of each shape chooses again. (A plan
    outlives its config's cache: clearing one alone leaves the old choice running.)"""
    from .launch_time import _auto_time_config

    for cached in (_auto_plan, _auto_config, _auto_time_config, _has_eager_entries):
        cached.cache_clear()


@functools.lru_cache(maxsize=4096)
def _auto_config(B: int, T: int, D: int, elem_size: int, device_index: int | None,
                 backward: bool, eager: bool = False) -> ScanConfig:
    with torch.cuda.device(device_index) if device_index is not None else _no_device():
        return choose_config(B, T, D, elem_size, backward, eager)


@functools.lru_cache(maxsize=None)
def _has_eager_entries(device_index: int) -> bool:
    """Whether the tuned table of this GPU has an entry with an "eager" part."""
    return any("eager" in e for e in _tuned_for(gpu_key(device_index)).values())


def _eager(device_index: int | None) -> bool:
    """Whether a scan on this device now takes its entry's eager part (``choose_config``):
    on a GPU whose table has any (else the question costs nothing), outside graph capture.
    (The capture check is a call into the CUDA runtime, about a microsecond.)"""
    return (device_index is not None and _has_eager_entries(device_index)
            and not torch.cuda.is_current_stream_capturing())


class _no_device:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _config(a: torch.Tensor, config: ScanConfig | None, backward: bool = False) -> ScanConfig:
    """The given config, or the automatic one (remembered per shape class and device: the
    choice costs nothing on the second call)."""
    if config is not None:
        return config
    B, T, D = a.shape
    return _auto_config(B, T, D, a.element_size(), a.device.index if a.is_cuda else None,
                        backward)


def _time_path(config, record: bool, timeline: bool, *xs: torch.Tensor) -> bool:
    """Whether a scan runs on time-contiguous storage (``launch_time.py``): asked for with
    a TimeConfig, or chosen when every [B, T, D] operand is a view of dense [B, D, T] memory
    and no config, record or timeline asks for the other kernels (they record chunks and
    keep timelines; the time kernel does neither)."""
    if isinstance(config, TimeConfig):
        if record or timeline:
            raise ValueError("a TimeConfig's kernel keeps no record or timeline: pass "
                             "config=None or a ScanConfig")
        return True
    return config is None and not record and not timeline and all(map(time_dense, xs))


def scan_fwd(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None, *,
             reverse: bool = False, record: bool = False,
             config: ScanConfig | TimeConfig | None = None, timeline: bool = False
             ) -> ScanResult:
    """h_t = a_t h_{t-1} + b_t over dim 1 of [B, T, D] (reverse: from t = T-1 down).

    a, b any strides; h0 [B, D] contiguous or None; h is contiguous, in a's dtype, or, when
    a and b are views of dense [B, D, T] memory (or ``config`` is a TimeConfig), laid out
    as they are (``launch_time.py``; path "time").
    ``timeline``: the sequence kernel reports when each program started, published and
    finished (a GPU clock: not under the interpreter).
    """
    if timeline and interpreting():
        raise ValueError("timeline=True reads the GPU's clock: it needs a GPU, not the interpreter")
    if _time_path(config, record, timeline, a, b):
        if config is not None:  # (chosen by itself only for inputs already so laid out)
            a, b = as_time_dense(a), as_time_dense(b)
        h = torch.empty_like(a)  # (a's layout: empty_like keeps a dense tensor's strides)
        h0c = h0.contiguous() if h0 is not None else None
        cfg = launch_time(a, b, h0c, h, reverse=reverse, config=config)
        return ScanResult(h, None, None, cfg.block_t, "time")
    h = torch.empty_like(a, memory_format=torch.contiguous_format)  # (half empty()'s host time)
    if a.numel() == 0:
        cfg = _config(a, config)
        return ScanResult(h, None, None, cfg.block_t, cfg.path)
    h0c = h0.contiguous() if h0 is not None else None
    cfg, loc, car, tl_rows = _launch(a, b, h0c, h, reverse=reverse, shift_a=False,
                                     grad_a_out=None, hf=None, hf0=None, record=record,
                                     config=config, backward=False, timeline=timeline)
    return ScanResult(h, loc, car, cfg.block_t, cfg.path, tl_rows)


def scan_bwd(a: torch.Tensor, h: torch.Tensor, h0: torch.Tensor | None, grad_h: torch.Tensor, *,
             reverse: bool = False, config: ScanConfig | TimeConfig | None = None
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Gradients of h = scan(a, b, h0): one scan the other way, fused with grad_a.

        g_t = grad_h_t + a_{t+1} g_{t+1}   (a read shifted by one step inside the kernel)
        grad_b = g,  grad_a_t = g_t h_{t-1},  grad_h0 = a_0 g_0
    (for reverse=True, t+1 and t-1 swap and h_T = h0). Returns (grad_a, grad_b, grad_h0).
    When a and h are views of dense [B, D, T] memory (the time path's forward made h so), the
    backward runs on that layout too, with grad_h copied to it if it is not already.
    """
    h0c = h0.contiguous() if h0 is not None else None
    if _time_path(config, False, False, a, h):
        if config is not None:
            a, h = as_time_dense(a), as_time_dense(h)
        grad_h = as_time_dense(grad_h)
        grad_b, grad_a = torch.empty_like(a), torch.empty_like(a)
        launch_time(a, grad_h, None, grad_b, reverse=not reverse, shift_a=True,
                    grad_a_out=grad_a, hf=h, hf0=h0c, config=config, backward=True)
    else:
        grad_b = torch.empty_like(a, memory_format=torch.contiguous_format)
        grad_a = torch.empty_like(grad_b)
        if a.numel() == 0:
            return grad_a, grad_b, None if h0 is None else torch.zeros_like(h0)
        _launch(a, grad_h, None, grad_b, reverse=not reverse, shift_a=True, grad_a_out=grad_a,
                hf=h, hf0=h0c, record=False, config=config, backward=True)
    grad_h0 = None
    if h0 is not None:
        first = 0 if not reverse else a.shape[1] - 1
        grad_h0 = (a[:, first].float() * grad_b[:, first].float()).to(h0.dtype)
    return grad_a, grad_b, grad_h0
