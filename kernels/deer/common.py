"""What the fused DEER linearization kernels (``gru.py``, ``rnn_lstm.py``) share: the row tile,
the residual, the trust-region scale, and the host-side outputs.

Compute only: this module imports torch and triton, nothing of rnnviz.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .. import next_pow2

MODES = {"dense": 0, "diag": 1, "clip": 2}  # what a kernel writes: J, its diagonal, clipped J


@triton.jit
def row_tile(R, S: tl.constexpr, BR: tl.constexpr, BS: tl.constexpr):
    """This program's BR rows (b, t) x BS state columns: (rows as int64 [BR, 1], row mask
    [BR], columns [BS], column mask [BS], the [BR, BS] mask)."""
    rows = tl.program_id(0) * BR + tl.arange(0, BR)
    mr = rows < R
    cols = tl.arange(0, BS)
    mc = cols < S
    return rows.to(tl.int64)[:, None], mr, cols, mc, mr[:, None] & mc[None, :]


@triton.jit
def square_tile(cols, S: tl.constexpr):
    """Row and column indices [BS, 1], [1, BS] of an S x S matrix block, and its mask."""
    ii = cols[:, None]
    jj = cols[None, :]
    return ii, jj, (ii < S) & (jj < S)


@triton.jit
def residual_max(res_ptr, d, m2):
    """Max-in |h_t - f(h_{t-1})| (``d``) of this program's rows into ``res``; NaN counts as
    +inf, so a diverged iterate always shows."""
    d = tl.where(d == d, d, float("inf"))
    d = tl.where(m2, d, 0.0)
    tl.atomic_max(res_ptr, tl.max(tl.max(d, axis=1), axis=0))


@triton.jit
def clip_scale(norm, rho):
    """The damped method's trust region: scale J_t by min(1, rho / ||J_t||_inf)."""
    return tl.minimum(1.0, rho / tl.maximum(norm, 1e-30))


def launch_plan(what: str, R: int, S: int, block_of: int, mode: str, record: bool,
                dev: torch.device, dense_elems: int = 4096):
    """Everything a linearization launcher needs but its kernel's arguments:
    (mode number, block size, rows per program, J or a, b, f).

    The state is one block of ``block_of`` columns per program (S, or H for the LSTM's two
    halves; S <= 64 in the dense modes, whose S x S Jacobian is held in registers); a
    program takes enough rows that its [rows, block] tile (diag) or its Jacobian (dense
    modes, about ``dense_elems`` values) fills the registers. Outputs are
    float32: J [R, S, S] or its diagonal a [R, S], b [R, S], and f [R, S] (b as a stand-in
    when not recorded)."""
    if S > 64 and mode != "diag":
        raise ValueError(f"the fused {what} kernel holds the {S} x {S} Jacobian in registers: "
                         f"the state size must be <= 64, got {S}")
    m = MODES[mode]
    block = max(2, next_pow2(block_of))
    rows = max(1, min(512, 2048 // block)) if m == 1 else max(1, dense_elems // (block * block))
    out = torch.empty((R, S) if m == 1 else (R, S, S), device=dev, dtype=torch.float32)
    b = torch.empty(R, S, device=dev, dtype=torch.float32)
    f = torch.empty(R, S, device=dev, dtype=torch.float32) if record else b
    return m, block, rows, out, b, f
