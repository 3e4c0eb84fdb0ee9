"""Launching the fused minGRU / minLSTM kernels: one direction of one layer per launch.

The tile follows the scan's rule (``linear_scan.launch.tile_config``: the rows of a
sub-chunk in one thread, 16-byte vectors along the channels) with sizes of its own:

- the channel walk with its loads pipelined (3 stages: the next two chunks in flight while
  one is computed) is the fastest measured path from B * H = 8192 channels: fwd+bwd at
  T = 4096, fp32, H200 (benchmarks/mingru-kernels-stages-h200.json, 2026-12-03), 0.39 ms at
  B = 64, H = 128 with 4-row x 32-channel tiles (the sequence-parallel tile: 0.61 ms; the
  unstaged walk: 0.95 ms) and 0.68 ms at B = 16, H = 1024 with 2-row tiles (unstaged:
  1.12 ms);
- below that the grid is too small for a walk and the sequence-parallel path is used:
  one program per (chunk, channel tile), its carry by decoupled look-back. The per-chunk
  cost (ticket, publish, look-back) dominates small chunks, so its tile is 128 steps x 16
  channels (4 rows of fp32 per thread, 2 of 2-byte types; H100: 0.80 ms against 1.06 ms
  for 32 x 32 tiles at B = 64, H = 128). The scan's 8-row, 64-channel sequence tile spills
  here: these kernels keep about three times as many tiles live (pre-activations, gates,
  candidate, their derivatives).

The look-back window is 8 chunks rather than the scan's 32 (fewer registers), in two trips
to the L2 a round (``fewer_trips``, since 2026-12-07: the h and gradients equal to the bit,
forward 7-19% and forward+backward 2-10% faster at (1, 65536, 64), (4, 16384, 256) and
(2, 8192, 1024), fp32 and bf16, on the H100; benchmarks/mingru-trips-ab-h100.json).
"""
from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import torch

from .. import cdiv
from ..cached_launch import CachedLaunch
from ..linear_scan.launch import ScanConfig, tile_config
from ..linear_scan.seqpar import status_buffers
from .fused import min_rnn_bwd_kernel, min_rnn_fwd_kernel

KINDS = {"mingru": 0, "minlstm": 1}
LOOKBACK = 8  # chunks the look-back examines at once (<= the scan's, whose scratch we share)
CHANNEL_MIN_BH = 8192  # B * H from which the channel walk is used (see the module doc)
WALK_STAGES = 3  # chunks in flight in the channel walk
# launched through their compiled launchers once a key is known (``cached_launch.py``)
_FWD = CachedLaunch(min_rnn_fwd_kernel)
_BWD = CachedLaunch(min_rnn_bwd_kernel)


class MinRNNRecord(NamedTuple):
    """What a RECORD forward wrote (float32, contiguous): the input weight w (z for minGRU,
    i' for minLSTM) [B, T, H], a (f' for minLSTM, else None), the chunk-local scans
    [B, T, H], the carries entering each chunk [B, n_chunks, H] (processing order), the
    chunk length and the path."""

    w: torch.Tensor
    a: torch.Tensor | None
    local: torch.Tensor
    carries: torch.Tensor
    chunk: int
    path: str


@functools.lru_cache(maxsize=4096)  # asked on every call: the answer costs nothing twice
def choose_config(B: int, T: int, H: int, elem_size: int = 4) -> ScanConfig:
    """Path and tile of the fused kernels for [B, T, H] pre-activations (see the module doc)."""
    wide = elem_size >= 4  # 4-byte elements: a 16-byte vector is 4 of them, else 8
    if T <= 256 or B * H >= CHANNEL_MIN_BH:
        rows = 4 if B * H < 2 * CHANNEL_MIN_BH else 2  # fewer programs: deeper tiles
        return tile_config("channel", T, H, elem_size, rows=rows if wide else rows // 2,
                           num_warps=4, block_d=32, stages=WALK_STAGES)
    # the look-back in two trips to the L2 a round (``ScanConfig.fewer_trips``): the same
    # bits, faster at every shape timed (benchmarks/mingru-trips-ab-h100.json)
    return dataclasses.replace(tile_config("sequence", T, H, elem_size, rows=4 if wide else 2,
                                           num_warps=4, block_d=16), fewer_trips=True)


def config_for(B: int, T: int, H: int, elem_size: int, config: ScanConfig | None = None) -> ScanConfig:
    return config or choose_config(B, T, H, elem_size)


def _check_views(name: str, x: torch.Tensor) -> None:
    if x.dim() != 3 or x.stride(2) != 1:
        raise ValueError(f"{name} must be a [B, T, H] view with contiguous channels, got shape "
                         f"{list(x.shape)} strides {x.stride()}")


def _grid_args(B: int, T: int, H: int, cfg: ScanConfig, stand_in: torch.Tensor):
    device = stand_in.device
    n_dt = cdiv(H, cfg.block_d)
    n_tiles = B * n_dt
    n_chunks = cdiv(T, cfg.block_t)
    if cfg.path == "sequence":
        status = status_buffers(n_chunks, n_tiles, cfg.block_d, device)
        grid = (n_chunks * n_tiles,)
    else:  # (flags, values, scratch, counter): the channel walk never reads them (SEQPAR
        status = (stand_in,) * 4  # is constexpr), so any tensor stands in, without allocating
        grid = (n_tiles,)
    return grid, n_dt, n_tiles, n_chunks, status


def min_rnn_fwd(g1: torch.Tensor, g2: torch.Tensor | None, c: torch.Tensor, h0: torch.Tensor | None,
                out: torch.Tensor, *, kind: str, positive: bool, reverse: bool,
                record: bool = False, config: ScanConfig | None = None) -> MinRNNRecord | None:
    """Write h of one direction into ``out`` [B, T, H] (any batch/time strides).

    g1, g2, c: the pre-activations [B, T, H] (k, None, hc for minGRU; kf, ki, hc for
    minLSTM), views of one tensor (same strides); h0 [B, H] or None. Returns the recorded
    intermediates when ``record``.
    """
    for name, x in (("g1", g1), ("c", c), ("out", out)):
        _check_views(name, x)
    g2 = g1 if g2 is None else g2
    if g1.stride() != c.stride() or g2.stride() != c.stride():
        raise ValueError("the pre-activation views must share one layout (strides)")
    B, T, H = c.shape
    cfg = config_for(B, T, H, c.element_size(), config)
    grid, n_dt, n_tiles, n_chunks, status = _grid_args(B, T, H, cfg, out)
    rec = None
    if record:
        f32 = dict(device=c.device, dtype=torch.float32)
        rec = MinRNNRecord(torch.empty(B, T, H, **f32),
                           torch.empty(B, T, H, **f32) if kind == "minlstm" else None,
                           torch.empty(B, T, H, **f32), torch.empty(B, n_chunks, H, **f32),
                           cfg.block_t, cfg.path)
    dummy = out
    h0c = h0.contiguous() if h0 is not None else None
    _FWD[grid](
        g1, g2, c, h0c if h0c is not None else dummy, out,
        rec.w if rec else dummy, rec.a if rec is not None and rec.a is not None else dummy,
        rec.local if rec else dummy, rec.carries if rec else dummy, *status,
        T, H, n_dt, n_tiles, c.stride(0), c.stride(1), out.stride(0), out.stride(1),
        KIND=KINDS[kind], POSITIVE=positive, REVERSE=reverse, HAS_H0=h0 is not None,
        RECORD=record, SEQPAR=cfg.path == "sequence", R=cfg.rows, S=cfg.block_s,
        BLOCK_D=cfg.block_d, W=LOOKBACK, STAGES=cfg.stages, FEWER_TRIPS=cfg.fewer_trips,
        num_warps=cfg.num_warps)
    return rec


def min_rnn_bwd(g1: torch.Tensor, g2: torch.Tensor | None, c: torch.Tensor, h0: torch.Tensor | None,
                out: torch.Tensor, grad_out: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor | None,
                dc: torch.Tensor, *, kind: str, positive: bool, reverse: bool,
                grad_bias: torch.Tensor | None = None,
                config: ScanConfig | None = None) -> torch.Tensor | None:
    """Gradients of one direction: writes dL/d(pre-activations) into d1, d2, dc (views of
    one tensor shaped like the pre-activations) from the forward's ``out`` and dL/dout
    ``grad_out``; returns dL/dh0 [B, H] (float32) when h0 is given.

    ``grad_bias`` [3, H] float32: filled with the sums of dL/d(g1, g2, c) over batch and
    time (the gradient of a bias added to the pre-activations; row 1 stays zero for
    minGRU), from per-program parts the kernel writes: no second pass over dP."""
    for name, x in (("g1", g1), ("c", c), ("out", out), ("grad_out", grad_out), ("d1", d1), ("dc", dc)):
        _check_views(name, x)
    g2 = g1 if g2 is None else g2
    d2 = d1 if d2 is None else d2
    B, T, H = c.shape
    cfg = config_for(B, T, H, c.element_size(), config)
    grid, n_dt, n_tiles, _, status = _grid_args(B, T, H, cfg, out)
    dh0 = torch.empty(B, H, device=c.device, dtype=torch.float32) if h0 is not None else None
    h0c = h0.contiguous() if h0 is not None else None
    parts = None
    if grad_bias is not None:
        n_parts = B * (cdiv(T, cfg.block_t) if cfg.path == "sequence" else 1)
        parts = torch.empty(n_parts, 3, H, device=c.device, dtype=torch.float32)  # all written
    _BWD[grid](
        g1, g2, c, h0c if h0c is not None else out, out, grad_out, d1, d2, dc,
        dh0 if dh0 is not None else out, parts if parts is not None else out, *status,
        T, H, n_dt, n_tiles, c.stride(0), c.stride(1), out.stride(0), out.stride(1),
        grad_out.stride(0), grad_out.stride(1), dc.stride(0), dc.stride(1),
        KIND=KINDS[kind], POSITIVE=positive, REVERSE=not reverse, HAS_H0=h0 is not None,
        HAS_DB=parts is not None, SEQPAR=cfg.path == "sequence", R=cfg.rows, S=cfg.block_s,
        BLOCK_D=cfg.block_d, W=LOOKBACK, STAGES=cfg.stages, FEWER_TRIPS=cfg.fewer_trips,
        num_warps=cfg.num_warps)
    if parts is not None:
        torch.sum(parts, 0, out=grad_bias)
    return dh0
