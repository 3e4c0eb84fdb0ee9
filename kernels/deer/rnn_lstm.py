"""RNN and LSTM cell value, Jacobian and DEER right-hand side in one fused kernel each.

Same contract as ``gru.py`` (after the GEMMs gx = x W_ih^T + b_ih and gh = h_{t-1} W_hh^T +
b_hh for all rows; b = f - h_t; the residual max |h_t - f| maxed into a slot, NaN as +inf;
MODE 0 dense J, 1 its diagonal, 2 dense J scaled by min(1, rho / ||J_t||_inf); RECORD
writes f).

RNN (torch.nn.RNNCell): p = gx + gh, f = tanh(p) (or relu(p)),
    J = diag(1 - f^2) W_hh  (relu: diag(p > 0) W_hh).

LSTM (torch.nn.LSTMCell, gates i, f, g, o), state s = [h, c] (S = 2H):
    c' = s_f c + s_i t_g,  h' = s_o tanh(c'),  k = s_o (1 - tanh^2 c')
    q_i = t_g s_i (1 - s_i),  q_f = c s_f (1 - s_f),  q_g = s_i (1 - t_g^2)
    J = [[ sum_k p_k W_k , diag(k s_f) ],      p_{i,f,g} = k q_{i,f,g},
         [ sum_k q_k W_k , diag(s_f)   ]]      p_o = tanh(c') s_o (1 - s_o), q_o = 0

Compute only: this module imports torch and triton, nothing of rnnviz.
"""
from __future__ import annotations

import triton
import triton.language as tl

from .. import cdiv
from ..activations import tanh as _tanh  # overflow-free float32 tanh, shared
from .common import clip_scale, launch_plan, residual_max, row_tile, square_tile


@triton.jit
def _rnn_linearize(gx_ptr, gh_ptr, h_ptr, w_ptr, wd_ptr, j_ptr, b_ptr, f_ptr, res_ptr, R, rho,
                   S: tl.constexpr, BS: tl.constexpr, BR: tl.constexpr, RELU: tl.constexpr,
                   MODE: tl.constexpr, RECORD: tl.constexpr):
    r64, mr, cols, mc, m2 = row_tile(R, S, BR, BS)
    off = r64 * S + cols[None, :]
    p = (tl.load(gx_ptr + off, mask=m2, other=0.0).to(tl.float32)
         + tl.load(gh_ptr + off, mask=m2, other=0.0).to(tl.float32))
    h = tl.load(h_ptr + off, mask=m2, other=0.0).to(tl.float32)
    if RELU:
        f = tl.maximum(p, 0.0)
        slope = (p > 0).to(tl.float32)
    else:
        f = _tanh(p)
        slope = 1.0 - f * f
    residual_max(res_ptr, tl.abs(h - f), m2)
    tl.store(b_ptr + off, f - h, mask=m2)
    if RECORD:
        tl.store(f_ptr + off, f, mask=m2)
    if MODE == 1:
        wd = tl.load(wd_ptr + cols, mask=mc, other=0.0)[None, :]
        tl.store(j_ptr + off, slope * wd, mask=m2)
    else:
        ii, jj, mw = square_tile(cols, S)
        W = tl.load(w_ptr + ii * S + jj, mask=mw, other=0.0).to(tl.float32)
        J = slope[:, :, None] * W[None, :, :]
        if MODE == 2:
            norm = tl.max(tl.sum(tl.abs(J), axis=2), axis=1)
            J = J * clip_scale(norm, rho)[:, None, None]
        j_off = r64[:, :, None] * (S * S) + ii[None, :, :] * S + jj[None, :, :]
        tl.store(j_ptr + j_off, J, mask=mr[:, None, None] & mw[None, :, :])


@triton.jit
def _lstm_linearize(gx_ptr, gh_ptr, hp_ptr, h_ptr, w_ptr, wd_ptr, j_ptr, b_ptr, f_ptr, res_ptr,
                    R, rho, H: tl.constexpr, BH: tl.constexpr, BR: tl.constexpr,
                    MODE: tl.constexpr, RECORD: tl.constexpr):
    r64, mr, cols, mc, m2 = row_tile(R, H, BR, BH)
    g_off = r64 * (4 * H) + cols[None, :]
    s_off = r64 * (2 * H) + cols[None, :]  # h half; the c half is at + H
    gi = tl.load(gx_ptr + g_off, mask=m2, other=0.0).to(tl.float32) + tl.load(
        gh_ptr + g_off, mask=m2, other=0.0).to(tl.float32)
    gf = tl.load(gx_ptr + g_off + H, mask=m2, other=0.0).to(tl.float32) + tl.load(
        gh_ptr + g_off + H, mask=m2, other=0.0).to(tl.float32)
    gg = tl.load(gx_ptr + g_off + 2 * H, mask=m2, other=0.0).to(tl.float32) + tl.load(
        gh_ptr + g_off + 2 * H, mask=m2, other=0.0).to(tl.float32)
    go = tl.load(gx_ptr + g_off + 3 * H, mask=m2, other=0.0).to(tl.float32) + tl.load(
        gh_ptr + g_off + 3 * H, mask=m2, other=0.0).to(tl.float32)
    c_prev = tl.load(hp_ptr + s_off + H, mask=m2, other=0.0).to(tl.float32)
    h_cur = tl.load(h_ptr + s_off, mask=m2, other=0.0).to(tl.float32)
    c_cur = tl.load(h_ptr + s_off + H, mask=m2, other=0.0).to(tl.float32)
    si = tl.sigmoid(gi)
    sf = tl.sigmoid(gf)
    tg = _tanh(gg)
    so = tl.sigmoid(go)
    c_new = sf * c_prev + si * tg
    tc = _tanh(c_new)
    h_new = so * tc
    # residual over both halves of the state
    residual_max(res_ptr, tl.maximum(tl.abs(h_cur - h_new), tl.abs(c_cur - c_new)), m2)
    tl.store(b_ptr + s_off, h_new - h_cur, mask=m2)
    tl.store(b_ptr + s_off + H, c_new - c_cur, mask=m2)
    if RECORD:
        tl.store(f_ptr + s_off, h_new, mask=m2)
        tl.store(f_ptr + s_off + H, c_new, mask=m2)
    k = so * (1.0 - tc * tc)
    q_i = tg * si * (1.0 - si)
    q_f = c_prev * sf * (1.0 - sf)
    q_g = si * (1.0 - tg * tg)
    p_o = tc * so * (1.0 - so)
    u = k * sf
    if MODE == 1:
        d_i = tl.load(wd_ptr + cols, mask=mc, other=0.0)[None, :]
        d_f = tl.load(wd_ptr + H + cols, mask=mc, other=0.0)[None, :]
        d_g = tl.load(wd_ptr + 2 * H + cols, mask=mc, other=0.0)[None, :]
        d_o = tl.load(wd_ptr + 3 * H + cols, mask=mc, other=0.0)[None, :]
        tl.store(j_ptr + s_off, k * (q_i * d_i + q_f * d_f + q_g * d_g) + p_o * d_o, mask=m2)
        tl.store(j_ptr + s_off + H, sf, mask=m2)
    else:
        ii, jj, mw = square_tile(cols, H)
        w_off = ii * H + jj
        W_i = tl.load(w_ptr + w_off, mask=mw, other=0.0).to(tl.float32)[None, :, :]
        W_f = tl.load(w_ptr + H * H + w_off, mask=mw, other=0.0).to(tl.float32)[None, :, :]
        W_g = tl.load(w_ptr + 2 * H * H + w_off, mask=mw, other=0.0).to(tl.float32)[None, :, :]
        W_o = tl.load(w_ptr + 3 * H * H + w_off, mask=mw, other=0.0).to(tl.float32)[None, :, :]
        eye = (ii == jj).to(tl.float32)[None, :, :]
        J_ch = q_i[:, :, None] * W_i + q_f[:, :, None] * W_f + q_g[:, :, None] * W_g
        J_hh = k[:, :, None] * J_ch + p_o[:, :, None] * W_o
        J_hc = u[:, :, None] * eye
        J_cc = sf[:, :, None] * eye
        if MODE == 2:
            norm_h = tl.sum(tl.abs(J_hh), axis=2) + tl.abs(u)
            norm_c = tl.sum(tl.abs(J_ch), axis=2) + tl.abs(sf)
            norm = tl.max(tl.maximum(norm_h, norm_c), axis=1)
            scale = clip_scale(norm, rho)[:, None, None]
            J_hh = J_hh * scale
            J_hc = J_hc * scale
            J_ch = J_ch * scale
            J_cc = J_cc * scale
        S2 = 2 * H
        base = r64[:, :, None] * (S2 * S2) + ii[None, :, :] * S2 + jj[None, :, :]
        m3 = mr[:, None, None] & mw[None, :, :]
        tl.store(j_ptr + base, J_hh, mask=m3)
        tl.store(j_ptr + base + H, J_hc, mask=m3)
        tl.store(j_ptr + base + H * S2, J_ch, mask=m3)
        tl.store(j_ptr + base + H * S2 + H, J_cc, mask=m3)


def rnn_linearize(gx, gh, h, W_hh, wd, res, mode="dense", rho=1.0, record=False, relu=False):
    """RNNCell: gx, gh, h [R, D] contiguous, W_hh [D, D], wd [1, D] (or [D]) its diagonal
    (float32)."""
    R, S = h.shape
    m, BS, BR, out, b, f = launch_plan("RNN", R, S, S, mode, record, h.device)
    _rnn_linearize[(cdiv(R, BR),)](gx, gh, h, W_hh.contiguous(), wd, out, b, f, res, R,
                                        float(rho), S=S, BS=BS, BR=BR, RELU=relu, MODE=m,
                                        RECORD=record, num_warps=4)
    return out, b, (f if record else None)


def lstm_linearize(gx, gh, hp, h, W_hh, wd, res, mode="dense", rho=1.0, record=False):
    """LSTMCell: gx, gh [R, 4H], hp (s_{t-1}), h (s_t) [R, 2H] contiguous, W_hh [4H, H],
    wd [4, H] the diagonals of its gate blocks (float32). J is [R, 2H, 2H] or a [R, 2H]."""
    R, S = h.shape
    H = S // 2  # four H x H blocks per row: half the dense budget of one S x S block
    m, BH, BR, out, b, f = launch_plan("LSTM", R, S, H, mode, record, h.device, dense_elems=2048)
    _lstm_linearize[(cdiv(R, BR),)](gx, gh, hp, h, W_hh.contiguous(), wd, out, b, f, res,
                                         R, float(rho), H=H, BH=BH, BR=BR, MODE=m,
                                         RECORD=record, num_warps=4)
    return out, b, (f if record else None)
