"""Choosing and launching the scan on time-contiguous storage (``timelast.py``).

``scan_fwd`` and ``scan_bwd`` come here when a and b are [B, T, D] views of dense [B, D, T]
memory (``time_dense``): the result keeps that layout, so a Conv1d-shaped model never pays
a transpose. A config is (steps per chunk, rows per program, warps, pipeline stages, and a
number of programs to aim for, and how parts are joined): with fewer row blocks than
that, each row is cut into parts and their carries found by reduce-then-scan (three launches
instead of one) or, ``lookback``, by the look-back in one launch.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from .. import cdiv, interpreting, next_pow2
from ..cached_launch import CachedLaunch, LaunchPlan
from .seqpar import status_buffers, summary_buffers
from .timelast import scan_time_kernel

_TIME = CachedLaunch(scan_time_kernel)


@dataclass(frozen=True)
class TimeConfig:
    """Chunks of ``block_t`` steps of ``block_r`` rows per program; ``programs`` > 0: cut
    the rows into parts until about that many programs run (0: one part per row), joined
    by reduce-then-scan, or by the look-back when ``lookback`` (in two trips to the L2 a
    round when ``fewer_trips``: ``seqpar.lookback_carry``'s FEWER_TRIPS)."""

    block_t: int
    block_r: int = 1
    num_warps: int = 4
    stages: int = 1
    programs: int = 0
    lookback: bool = False
    fewer_trips: bool = False

    def __post_init__(self):
        for name in ("block_t", "block_r", "num_warps"):
            v = getattr(self, name)
            if v < 1 or v & (v - 1):
                raise ValueError(f"{name} must be a power of two, got {v}")
        if self.stages < 1 or self.programs < 0:
            raise ValueError(f"stages must be >= 1 and programs >= 0, got {self.stages} and "
                             f"{self.programs}")
        if self.fewer_trips and not self.lookback:
            raise ValueError("fewer_trips (the look-back in two trips to the L2) needs "
                             "lookback=True, got lookback=False")


def time_dense(x: torch.Tensor) -> bool:
    """Whether [B, T, D] ``x`` is a view of dense [B, D, T] memory (each channel's T steps
    contiguous) and not also the usual layout (D = 1 or T = 1 is both: the other kernels
    keep it)."""
    if x.stride(1) != 1:  # (first: the usual [B, T, D] layout answers here, in one call)
        return False
    B, T, D = x.shape
    return (B > 0 and T > 1 and D > 1 and x.stride(2) == T
            and (B == 1 or x.stride(0) == D * T))


def as_time_dense(x: torch.Tensor) -> torch.Tensor:
    """``x`` as a [B, T, D] view of dense [B, D, T] memory (a copy unless it is one)."""
    return x if time_dense(x) else x.transpose(1, 2).contiguous().transpose(1, 2)


# Programs to aim for when rows are few: enough to keep every SM's loads in flight
# (132 SMs x 8). Rows beyond that are one part each.
TIME_PROGRAMS = 1056
# Fewer rows than this are a class of their own in the tuned table ("|few"): with 64 rows (one
# sequence of 64 channels) one part per row was the fastest forward on the H200 even so
# (its 64 programs stream 4096-step chunks), with 16 it leaves most of the GPU idle. The
# [B, T, D] layout's table takes the same split where a GPU has one (launch.tuned_key).
FEW_ROWS = 64


def time_bucket(B: int, T: int, D: int, elem_size: int) -> str:
    """The tuned table's key of a scan on time-contiguous storage."""
    from .launch import tuned_key

    return "time|" + tuned_key(B, T, D, elem_size)


def _vector_warps(block_t: int, num_warps: int, elem_size: int) -> int:
    """``num_warps``, fewer where a chunk (capped by a short T) would leave a thread less
    than one 16-byte vector of steps: narrower loads cost instructions, not bytes."""
    return max(1, min(num_warps, block_t * elem_size // (32 * 16)))


def choose_time_config(B: int, T: int, D: int, elem_size: int = 4,
                       backward: bool = False) -> TimeConfig:
    """The config of a [B, T, D] scan on time-contiguous storage: the tuned table's entry
    for the GPU (``tuned.py``, key ``time_bucket``) or a formula."""
    from .launch import _tuned_for, gpu_key

    cfg = None if interpreting() else tuned_time_config(_tuned_for(gpu_key()), B, T, D,
                                                        elem_size, backward)
    if cfg is not None:
        return cfg
    # the H200 sweep's most common winner below the widest class (its parts only where the
    # rows are few)
    block_t = min(1024, next_pow2(T))
    return TimeConfig(block_t, 1, _vector_warps(block_t, 4, elem_size), 1, TIME_PROGRAMS)


def tuned_time_config(table: dict, B: int, T: int, D: int, elem_size: int = 4,
                      backward: bool = False) -> TimeConfig | None:
    """The config one GPU's tuned ``table`` gives this problem, or None: its entry (the
    backward's overrides applied), fitted to T."""
    entry = table.get(time_bucket(B, T, D, elem_size))
    if not entry:
        return None
    if backward:
        entry = {**entry, **entry.get("bwd", {})}
    block_t = min(entry["block_t"], next_pow2(T))
    return TimeConfig(block_t, entry["block_r"],
                      _vector_warps(block_t, entry["num_warps"], elem_size), entry["stages"],
                      entry["programs"], entry.get("lookback", False),
                      entry.get("fewer_trips", False))


class _TimePlan(LaunchPlan):
    """The launches of one (config, shape, flags), made once: the time kernel's, and where
    parts are joined by reduce-then-scan the reduce's and the summaries' scan before it."""

    __slots__ = ("cfg", "reduce", "summary", "n_parts")

    def __init__(self, cfg, grid, scalars, constexprs, reduce=None, summary=None, n_parts=1):
        super().__init__(_TIME, grid, scalars, constexprs)
        self.cfg = cfg
        self.reduce, self.summary, self.n_parts = reduce, summary, n_parts


def time_parts(cfg: TimeConfig, B: int, T: int, D: int) -> tuple[int, int]:
    """How ``cfg`` cuts each row of a [B, T, D] scan: (parts, chunks a part walks). Rows
    are cut only where their blocks are fewer than ``cfg.programs``, into parts of whole
    chunks."""
    n_rb = cdiv(B * D, cfg.block_r)
    n_chunks = cdiv(T, cfg.block_t)
    parts = min(n_chunks, max(1, cfg.programs // n_rb)) if cfg.programs else 1
    seg = cdiv(n_chunks, parts)
    return cdiv(n_chunks, seg), seg


@functools.lru_cache(maxsize=1024)
def _time_plan(cfg: TimeConfig, shape: tuple, flags: tuple) -> _TimePlan:
    from .launch import _plan, summary_tile, tile_config

    B, T, D = shape
    has_h0, has_hf0, reverse, shift_a, grad_a = flags
    n_rows = B * D
    n_rb = cdiv(n_rows, cfg.block_r)
    n_parts, seg = time_parts(cfg, B, T, D)
    kw = dict(HAS_H0=has_h0, HAS_HF0=has_hf0, REVERSE=reverse, SHIFT_A=shift_a, GRAD_A=grad_a,
              SUMMARISE=False, CARRIED=n_parts > 1 and not cfg.lookback, BLOCK_R=cfg.block_r,
              BLOCK_T=cfg.block_t, STAGES=cfg.stages, LOOKBACK_PARTS=n_parts > 1 and cfg.lookback,
              HOLD=n_parts > 1 and cfg.lookback and seg == 1, num_warps=cfg.num_warps)
    if n_parts > 1 and cfg.fewer_trips:  # (named only when on: the plans of before, unchanged)
        kw["FEWER_TRIPS"] = True
    grid = (n_parts * n_rb,)
    scalars = (T, n_rows, n_rb, seg)
    if n_parts == 1 or cfg.lookback:
        return _TimePlan(cfg, grid, scalars, kw, n_parts=n_parts)
    reduce = _TimePlan(cfg, grid, scalars, dict(kw, HAS_H0=False, HAS_HF0=False, GRAD_A=False,
                                                SUMMARISE=True, CARRIED=False))
    # the summaries [n_parts, rows]: a [1, n_parts, rows] scan from h0 ([rows]), forward
    s_sum = (n_parts * n_rows, n_rows, 1)
    summary = _plan(tile_config("channel", n_parts, n_rows, 4, **summary_tile(n_rows)),
                    (1, n_parts, n_rows), s_sum, s_sum, s_sum,
                    (has_h0, False, False, False, False, False), False)
    return _TimePlan(cfg, grid, scalars, kw, reduce, summary, n_parts)


@functools.lru_cache(maxsize=4096)
def _auto_time_config(B, T, D, elem_size, device_index, backward) -> TimeConfig:
    from .launch import _no_device

    with torch.cuda.device(device_index) if device_index is not None else _no_device():
        return choose_time_config(B, T, D, elem_size, backward)


def launch_time(a, b, h0, out, *, reverse, shift_a=False, grad_a_out=None, hf=None, hf0=None,
                config: TimeConfig | None = None, backward=False) -> TimeConfig:
    """The scan of time-dense (a, b) into time-dense ``out`` (and grad_a into
    ``grad_a_out``, reading the forward's states ``hf``); returns the config used."""
    B, T, D = a.shape
    if config is None:
        config = _auto_time_config(B, T, D, a.element_size(),
                                   a.device.index if a.is_cuda else None, backward)
    flags = (h0 is not None, hf0 is not None, reverse, shift_a, grad_a_out is not None)
    plan = _time_plan(config, (B, T, D), flags)
    h0_ = h0 if h0 is not None else out  # (absent tensors: ``out`` stands in, never touched)
    segh = ca = cb = out
    status = (out,) * 4  # (flags, values, scratch, counters) of a look-back
    if plan.constexprs["LOOKBACK_PARTS"]:
        status = status_buffers(plan.n_parts, cdiv(B * D, config.block_r), config.block_r,
                                a.device)
    elif plan.n_parts > 1:
        ca, cb, segh = summary_buffers(1, plan.n_parts, B * D, a.device)
        red = plan.reduce
        plan.reduce.launch((a, b, out, out, out, out, out, out, ca, cb) + status)
        plan.summary.launch((ca, cb, h0_) + (segh,) * 6)
    plan.launch((a, b, h0_, segh, out, grad_a_out if grad_a_out is not None else out,
                 hf if hf is not None else out, hf0 if hf0 is not None else out, ca, cb) + status)
    return config
