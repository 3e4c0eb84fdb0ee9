"""GRU cell value, Jacobian and DEER right-hand side for all time steps in one fused kernel.

After two GEMMs for all rows (b, t) at once, gx = x W_ih^T + b_ih and gh = h_{t-1} W_hh^T +
b_hh (gate order r, z, n as in torch.nn.GRUCell), each program takes BR rows and computes

    r = sigmoid(gx_r + gh_r),  z = sigmoid(gx_z + gh_z),  n = tanh(gx_n + r * gh_n)
    f = (1 - z) n + z h_{t-1}
    J = df/dh_{t-1} = diag(z) + diag(c_z) W_z + diag(c_n) W_n + diag(c_r) W_r
        c_z = (h_{t-1} - n) z (1 - z),  c_n = (1 - z)(1 - n^2) r,
        c_r = (1 - z)(1 - n^2) gh_n r (1 - r)     (gh_n includes b_hn, as in torch.nn.GRUCell)
    b = f - h_t   (the negated residual: the scan solves for the Newton correction
                   delta_t = J_t delta_{t-1} + b_t, so that rounding in the scan is relative
                   to the correction, not to the state)

and the residual max |h_t - f(h_{t-1})| of the current iterate (one atomic max per program,
into the slot ``res`` the caller gives; NaN counts as +inf so divergence is never hidden).
MODE selects what is written: 0 the dense J [R, D, D]; 1 its diagonal a [R, D] (quasi-DEER:
a = z + c_z diag W_z + ...); 2 the dense J scaled by min(1, rho / ||J||_inf) per row (the
damped method's trust region). RECORD also writes f (a trace wants the residual per t).

Compute only: this module imports torch and triton, nothing of rnnviz.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ..activations import tanh as _tanh  # overflow-free float32 tanh, shared
from .common import clip_scale, launch_plan, residual_max, row_tile, square_tile


@triton.jit
def _gru_linearize(gx_ptr, gh_ptr, hp_ptr, h_ptr, w_ptr, wd_ptr,
                   j_ptr, b_ptr, f_ptr, res_ptr, R, rho,
                   S: tl.constexpr, BS: tl.constexpr, BR: tl.constexpr,
                   MODE: tl.constexpr, RECORD: tl.constexpr):
    r64, mr, cols, mc, m2 = row_tile(R, S, BR, BS)
    g_off = r64 * (3 * S) + cols[None, :]
    s_off = r64 * S + cols[None, :]
    gx_r = tl.load(gx_ptr + g_off, mask=m2, other=0.0).to(tl.float32)
    gx_z = tl.load(gx_ptr + g_off + S, mask=m2, other=0.0).to(tl.float32)
    gx_n = tl.load(gx_ptr + g_off + 2 * S, mask=m2, other=0.0).to(tl.float32)
    gh_r = tl.load(gh_ptr + g_off, mask=m2, other=0.0).to(tl.float32)
    gh_z = tl.load(gh_ptr + g_off + S, mask=m2, other=0.0).to(tl.float32)
    gh_n = tl.load(gh_ptr + g_off + 2 * S, mask=m2, other=0.0).to(tl.float32)
    hp = tl.load(hp_ptr + s_off, mask=m2, other=0.0).to(tl.float32)
    h = tl.load(h_ptr + s_off, mask=m2, other=0.0).to(tl.float32)

    r = tl.sigmoid(gx_r + gh_r)
    z = tl.sigmoid(gx_z + gh_z)
    n = _tanh(gx_n + r * gh_n)
    f = (1.0 - z) * n + z * hp
    a_n = (1.0 - z) * (1.0 - n * n)
    c_z = (hp - n) * z * (1.0 - z)
    c_n = a_n * r
    c_r = a_n * gh_n * r * (1.0 - r)
    tl.store(b_ptr + s_off, f - h, mask=m2)

    residual_max(res_ptr, tl.abs(h - f), m2)
    if RECORD:
        tl.store(f_ptr + s_off, f, mask=m2)

    if MODE == 1:
        d_r = tl.load(wd_ptr + cols, mask=mc, other=0.0)[None, :]
        d_z = tl.load(wd_ptr + S + cols, mask=mc, other=0.0)[None, :]
        d_n = tl.load(wd_ptr + 2 * S + cols, mask=mc, other=0.0)[None, :]
        a = z + c_z * d_z + c_n * d_n + c_r * d_r
        tl.store(j_ptr + s_off, a, mask=m2)
    else:
        ii, jj, mw = square_tile(cols, S)
        w_off = ii * S + jj
        W_r = tl.load(w_ptr + w_off, mask=mw, other=0.0).to(tl.float32)
        W_z = tl.load(w_ptr + S * S + w_off, mask=mw, other=0.0).to(tl.float32)
        W_n = tl.load(w_ptr + 2 * S * S + w_off, mask=mw, other=0.0).to(tl.float32)
        eye = (ii == jj).to(tl.float32)
        J = (z[:, :, None] * eye[None, :, :] + c_z[:, :, None] * W_z[None, :, :]
             + c_n[:, :, None] * W_n[None, :, :] + c_r[:, :, None] * W_r[None, :, :])
        if MODE == 2:
            norm = tl.max(tl.sum(tl.abs(J), axis=2), axis=1)  # ||J_t||_inf per row
            J = J * clip_scale(norm, rho)[:, None, None]
        j_off = r64[:, :, None] * (S * S) + ii[None, :, :] * S + jj[None, :, :]
        m3 = mr[:, None, None] & mw[None, :, :]
        tl.store(j_ptr + j_off, J, mask=m3)



def gru_linearize(gx: torch.Tensor, gh: torch.Tensor, hp: torch.Tensor, h: torch.Tensor,
                  W_hh: torch.Tensor, wd: torch.Tensor, res: torch.Tensor, mode: str = "dense",
                  rho: float = 1.0, record: bool = False):
    """(J or a, b, f or None) for rows R = B*T; the residual is max-ed into ``res`` [1]
    (float32, zero beforehand).

    gx, gh: [R, 3D] contiguous (gh includes b_hh); hp (h_{t-1}), h (the iterate h_t): [R, D]
    contiguous; W_hh: [3D, D]; wd: [3, D] the diagonals of W_r, W_z, W_n (float32). J is [R, D, D] (modes "dense",
    "clip"), a is [R, D] ("diag"); b = f - h.
    """
    R, S = hp.shape
    m, BS, BR, out, b, f = launch_plan("GRU", R, S, S, mode, record, hp.device)
    _gru_linearize[(triton.cdiv(R, BR),)](gx, gh, hp, h, W_hh.contiguous(), wd, out, b, f, res,
                                        R, float(rho), S=S, BS=BS, BR=BR, MODE=m, RECORD=record,
                                        num_warps=4)
    return out, b, (f if record else None)
