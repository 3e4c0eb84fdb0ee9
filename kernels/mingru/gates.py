"""The gates of minGRU and minLSTM as ``@triton.jit`` pieces: pre-activations in, the scan's
coefficients out, computed in registers (float32) and never written to memory.

Feng et al. 2024, "Were RNNs All We Needed?". Both cells are the linear recurrence
h_t = a_t h_{t-1} + b_t with b_t = w_t h~_t, h~_t = g(hc_t) (g = identity, or the paper's
positive g when POSITIVE), and

    minGRU   z_t = sigmoid(k_t):           a_t = 1 - z_t = sigmoid(-k_t),   w_t = z_t
    minLSTM  f_t = sigmoid(kf_t), i_t = sigmoid(ki_t):
             a_t = f'_t = f_t / (f_t + i_t),   w_t = i'_t = i_t / (f_t + i_t)

minLSTM's ratio is computed as the paper's log-space code does, without dividing small
numbers: diff = softplus(-kf) - softplus(-ki) = log(i / f), so f' = sigmoid(-diff) and
i' = sigmoid(diff), finite for any kf, ki (f + i never underflows to 0).

Derivatives (the backward recomputes all of this from the pre-activations), with G_t the
total gradient of h_t and q_t = G_t (h~_t - h_{t-1}) a_t w_t:
    minGRU   dL/dk_t  = q_t
    minLSTM  dL/dkf_t = -q_t sigmoid(-kf_t),   dL/dki_t = q_t sigmoid(-ki_t)
    both     dL/dhc_t = G_t w_t g'(hc_t)

Compute only: imports triton and the scan's tile loads (``linear_scan.blocks``), nothing of rnnviz.
"""
from __future__ import annotations

import triton
import triton.language as tl

from ..linear_scan.blocks import load_rows

MINGRU = tl.constexpr(0)
MINLSTM = tl.constexpr(1)


@triton.jit
def sigmoid(x):
    return 1.0 / (1.0 + tl.exp(-x))


@triton.jit
def softplus(x):
    """log(1 + e^x) without overflow."""
    return tl.maximum(x, 0.0) + tl.log(1.0 + tl.exp(-tl.abs(x)))


@triton.jit
def candidate(hc, POSITIVE: tl.constexpr):
    """(h~, dh~/dhc): g(x) = x + 0.5 for x >= 0, sigmoid(x) below (POSITIVE), else x."""
    if POSITIVE:
        s = sigmoid(hc)
        return tl.where(hc >= 0, hc + 0.5, s), tl.where(hc >= 0, 1.0, s * (1.0 - s))
    else:
        return hc, tl.full(hc.shape, 1.0, tl.float32)


@triton.jit
def load_preacts(g1_ptr, g2_ptr, c_ptr, off, m, KIND: tl.constexpr):
    """The pre-activations at element offsets ``off`` (a [R, S, BLOCK_D] scan tile, loaded
    as ``linear_scan.blocks.load_rows`` loads it), float32: (k1, k2, hc) = (k, unused, hc) for
    minGRU, (kf, ki, hc) for minLSTM."""
    k1 = load_rows(g1_ptr + off, m, 0.0).to(tl.float32)
    hc = load_rows(c_ptr + off, m, 0.0).to(tl.float32)
    if KIND == 1:
        k2 = load_rows(g2_ptr + off, m, 0.0).to(tl.float32)
    else:
        k2 = k1
    return k1, k2, hc


@triton.jit
def coefficients(k1, k2, KIND: tl.constexpr):
    """(a, w, s1, s2): the scan coefficient a_t, the input weight w_t (b_t = w_t h~_t), and
    what the gate derivatives need: (unused, unused) for minGRU, (sigmoid(-kf),
    sigmoid(-ki)) for minLSTM."""
    if KIND == 1:
        diff = softplus(-k1) - softplus(-k2)
        a = sigmoid(-diff)
        w = sigmoid(diff)
        s1 = sigmoid(-k1)
        s2 = sigmoid(-k2)
    else:
        a = sigmoid(-k1)
        w = sigmoid(k1)
        s1 = a
        s2 = a
    return a, w, s1, s2


@triton.jit
def gate_grads(G, hp, ht, dht, a, w, s1, s2, KIND: tl.constexpr):
    """(dk1, dk2, dhc): the gradients of the pre-activations (see the module docstring)."""
    q = G * (ht - hp) * a * w
    if KIND == 1:
        dk1 = -q * s1
        dk2 = q * s2
    else:
        dk1 = q
        dk2 = q
    return dk1, dk2, G * w * dht
