"""Experiment, not yet run on a GPU: the SRU recurrence with its loads staged by Triton's
pipeliner, against the kernels in kernels/sru/fused_recurrent.py.

Why: the linear scan's channel walk went from 75% to 93-97% of the copy bandwidth in bf16
once Triton's software pipeliner (``tl.range(..., num_stages=N)``, cp.async into shared
memory) kept more chunks in flight than registers hold. The SRU kernels keep 8 steps in
flight by hand (two register sets of 4 unrolled steps) and measured 52-72% of copy at
l = d = 1024 (issue #4 asks 80%). Here each loop turn is one step, written once, and the
pipeliner issues the loads of the next N - 1 steps while this one is computed: deeper, and
far shorter to read.

    python scripts/sru_stages_experiment.py [--out DIR] [--stages 4,8,12,16]

For B=32, T=1024, H=1024 (and H=512), float32 and bfloat16: the current kernels and the
staged ones forward and backward, the max difference between them, and each one's GB/s
on its own bytes against the copy bandwidth measured in the same run. Writes
sru-stages.json. A kernel here replaces the library's only after this has run on the GPU.

Compiled for sm_90 here (no GPU, Triton 3.9): float32 loads are staged (cp.async); the
bfloat16 forward's are not (2-byte loads, below cp.async's 4), so expect bf16 to lose
until U is read as [BLOCK, K] rows. tests/ops/test_sru.py runs these kernels under the
interpreter against the reference, as it does the library's.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os

import torch
import triton
import triton.language as tl

from rnnviz.bench.core import copy_bandwidth_gbs, provenance, record_failure, time_ms
from rnnviz.kernels.sru import fused_recurrent as fr


# The kernels' preamble and epilogue, as helpers (the library kernels write them inline).
@triton.jit
def _program_units(Hd, BLOCK: tl.constexpr):
    """This program's BLOCK hidden units: (batch row b, direction d, D*H, their columns in
    [D*H], which exist)."""
    b = tl.program_id(1).to(tl.int64)
    d = tl.program_id(2)
    j = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    return b, d, tl.num_programs(2) * Hd, d * Hd + j, j < Hd


@triton.jit
def _unit_params(WC, BIAS, col, DH, cmask, peep):
    """(b_f, b_r, v_f, v_r) of the units ``col``, float32; v = 0 without peephole."""
    bf = tl.load(BIAS + col, mask=cmask, other=0.0).to(tl.float32)
    br = tl.load(BIAS + DH + col, mask=cmask, other=0.0).to(tl.float32)
    pm = tl.where(peep != 0, cmask, False)
    vf = tl.load(WC + col, mask=pm, other=0.0).to(tl.float32)
    vr = tl.load(WC + DH + col, mask=pm, other=0.0).to(tl.float32)
    return bf, br, vf, vr


@triton.jit
def _state(P, b, DH, col, cmask, flag):
    """The float32 [B, D*H] state ``P`` of these units (zeros where ``flag`` is 0)."""
    return tl.load(P + b * DH + col, mask=tl.where(flag != 0, cmask, False),
                   other=0.0).to(tl.float32)


@triton.jit
def _bwd_ptrs(U, X, MASK, C_ALL, GH, GU, GX, b, col, DH, sUb, sXb, sMb, sGHb, sGUb, sGXb,
              K: tl.constexpr):
    """Batch row b's pointers, at t = 0, for these units: U, x, mask, c, dh, dU, dx."""
    return (U + b * sUb + col * K, X + b * sXb + col, MASK + b * sMb, C_ALL + b * DH + col,
            GH + b * sGHb + col, GU + b * sGUb + col * K, GX + b * sGXb + col)


@triton.jit
def _bwd_store_sums(GC0, GVB, b, DH, col, cmask, gc, gvf, gvr, gbf, gbr):
    """dc0, and GVB [B, 4, D*H]: the (v_f, v_r, b_f, b_r) gradients of this batch row
    (v's are zeros without peephole), summed over batch by the launcher."""
    tl.store(GC0 + b * DH + col, gc, mask=cmask)
    tl.store(GVB + b * 4 * DH + col, gvf, mask=cmask)
    tl.store(GVB + b * 4 * DH + DH + col, gvr, mask=cmask)
    tl.store(GVB + b * 4 * DH + 2 * DH + col, gbf, mask=cmask)
    tl.store(GVB + b * 4 * DH + 3 * DH + col, gbr, mask=cmask)


@triton.jit(do_not_specialize=["T", "B", "Hd", "sUt", "sUb", "sXt", "sXb", "sHt", "sHb", "sMt",
                               "sMb", "scale_x", "peep", "tanh_f", "has_mask", "has_c0",
                               "store_c", "record"])
def sru_fwd_staged_kernel(U, X, WC, BIAS, C0, MASK, H_OUT, C_ALL, C_N, F_REC, R_REC,
                          T, B, Hd, sUt, sUb, sXt, sXb, sHt, sHb, sMt, sMb, scale_x,
                          peep, tanh_f, has_mask, has_c0, store_c, record,
                          K: tl.constexpr, SKIP_X: tl.constexpr, BLOCK: tl.constexpr,
                          STAGES: tl.constexpr):
    b, d, DH, col, cmask = _program_units(Hd, BLOCK)
    th = tanh_f != 0
    hm = has_mask != 0
    bf, br, vf, vr = _unit_params(WC, BIAS, col, DH, cmask, peep)
    c = _state(C0, b, DH, col, cmask, has_c0)
    u_ptr = U + b * sUb + col * K
    x_ptr = X + b * sXb + col
    m_ptr = MASK + b * sMb
    h_ptr = H_OUT + b * sHb + col
    sCt = B * DH
    call_ptr = C_ALL + b * DH + col
    z = d * 0
    for s1 in tl.range(0, T, num_stages=STAGES):
        s = z + s1
        u0, u1, u2, xp, keep = fr._fwd_load(u_ptr, x_ptr, m_ptr, s, T, d, sUt, sXt, sMt, cmask,
                                            scale_x, hm, K, SKIP_X)
        c = fr._fwd_step(c, u0, u1, u2, xp, keep, s, T, d, vf, vr, bf, br, cmask, h_ptr, sHt,
                         call_ptr, sCt, F_REC + b * DH + col, R_REC + b * DH + col, th,
                         store_c != 0, record != 0)
    tl.store(C_N + b * DH + col, c, mask=cmask)


@triton.jit(do_not_specialize=["T", "B", "Hd", "sUt", "sUb", "sXt", "sXb", "sGHt", "sGHb",
                               "sMt", "sMb", "sGUt", "sGUb", "sGXt", "sGXb", "scale_x", "peep",
                               "tanh_f", "has_mask", "has_c0", "has_gcn"])
def sru_bwd_staged_kernel(U, X, WC, BIAS, C0, MASK, C_ALL, GH, GCN, GU, GX, GC0, GVB,
                          T, B, Hd, sUt, sUb, sXt, sXb, sGHt, sGHb, sMt, sMb, sGUt, sGUb, sGXt,
                          sGXb, scale_x, peep, tanh_f, has_mask, has_c0, has_gcn,
                          K: tl.constexpr, SKIP_X: tl.constexpr, BLOCK: tl.constexpr,
                          STAGES: tl.constexpr):
    b, d, DH, col, cmask = _program_units(Hd, BLOCK)
    th = tanh_f != 0
    hm = has_mask != 0
    bf, br, vf, vr = _unit_params(WC, BIAS, col, DH, cmask, peep)
    c0 = _state(C0, b, DH, col, cmask, has_c0)
    gc = _state(GCN, b, DH, col, cmask, has_gcn)
    gvf, gvr, gbf, gbr = bf * 0.0, bf * 0.0, bf * 0.0, bf * 0.0  # sums over t of this row
    u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, gu_ptr, gx_ptr = _bwd_ptrs(
        U, X, MASK, C_ALL, GH, GU, GX, b, col, DH, sUb, sXb, sMb, sGHb, sGUb, sGXb, K)
    sCt = B * DH
    z = d * 0
    for i in tl.range(0, T, num_stages=STAGES):  # direction-local steps T-1 .. 0
        s = z + T - 1 - i
        u0, u1, u2, xp, keep, cp, gh = fr._bwd_load(u_ptr, x_ptr, m_ptr, call_ptr, gh_ptr, c0,
                                                    s, T, d, sUt, sXt, sMt, sCt, sGHt, cmask,
                                                    scale_x, hm, K, SKIP_X)
        gc, gvf, gvr, gbf, gbr = fr._bwd_step(gc, gvf, gvr, gbf, gbr, u0, u1, u2, xp, keep, cp,
                                              gh, s, T, d, vf, vr, bf, br, cmask, gu_ptr, sGUt,
                                              gx_ptr, sGXt, scale_x, th, K, SKIP_X)
    _bwd_store_sums(GC0, GVB, b, DH, col, cmask, gc, gvf, gvr, gbf, gbr)


@contextlib.contextmanager
def staged(stages: int):
    """Within: fr.sru_fwd / fr.sru_bwd (the library's launchers, same arguments) launch the
    staged kernels with ``stages`` steps in flight."""
    class _Staged:
        def __init__(self, k):
            self.k = k

        def __getitem__(self, grid):
            return lambda *a, **kw: self.k[grid](*a, STAGES=stages, **kw)

    saved = fr.sru_fwd_kernel, fr.sru_bwd_kernel
    fr.sru_fwd_kernel = _Staged(sru_fwd_staged_kernel)
    fr.sru_bwd_kernel = _Staged(sru_bwd_staged_kernel)
    try:
        yield
    finally:
        fr.sru_fwd_kernel, fr.sru_bwd_kernel = saved


def run_case(B, T, H, dtype, stages_list, dev, copy):
    K = 3
    U = torch.randn(T, B, H * K, device=dev, dtype=dtype)
    x = torch.randn(T, B, H, device=dev, dtype=dtype)
    wc = torch.randn(2 * H, device=dev) * 0.5
    bias = torch.randn(2 * H, device=dev) * 0.5
    gh = torch.randn(T, B, H, device=dev, dtype=dtype)
    kw = dict(D=1, H=H, K=K, scale_x=1.0, tanh=True, batch_first=False)
    elem = U.element_size()
    fwd_bytes = T * B * H * (K * elem + elem + elem + 4)  # U, x; h, c (float32)
    bwd_bytes = T * B * H * (K * elem + elem + 4 + elem + K * elem + elem)  # U, x, c, dh; dU, dx
    rows = []

    def case():
        h, cn, c_all, _, _ = fr.sru_fwd(U, x, wc, bias, None, None, store_c=True, record=False, **kw)
        gU = fr.sru_bwd(U, x, wc, bias, None, None, c_all, gh, None, **kw)[0]
        f_ms = time_ms(lambda: fr.sru_fwd(U, x, wc, bias, None, None, store_c=True, record=False,
                                          **kw), dev, warmup=1, budget_ms=60)
        b_ms = time_ms(lambda: fr.sru_bwd(U, x, wc, bias, None, None, c_all, gh, None, **kw),
                       dev, warmup=1, budget_ms=60)
        return h.float(), gU.float(), f_ms, b_ms

    h_ref, g_ref, f_ms, b_ms = case()
    rows.append(dict(kernel="current", stages=None, fwd_ms=f_ms, bwd_ms=b_ms))
    for st in stages_list:
        out = {}
        with staged(st):
            err = record_failure(lambda: out.update(zip(("h", "g", "f", "b"), case())))
        row = dict(kernel="staged", stages=st, error=err)
        if not err:
            row.update(fwd_ms=out["f"], bwd_ms=out["b"],
                       max_diff_h=(out["h"] - h_ref).abs().max().item(),
                       max_diff_gU=(out["g"] - g_ref).abs().max().item())
        rows.append(row)
    for r in rows:
        r.update(B=B, T=T, H=H, dtype=str(dtype)[6:])
        if r.get("fwd_ms"):
            r["fwd_frac_copy"] = fwd_bytes / r["fwd_ms"] / 1e6 / copy
            r["bwd_frac_copy"] = bwd_bytes / r["bwd_ms"] / 1e6 / copy
        print(r, flush=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=os.environ.get("OUT", "."))
    p.add_argument("--stages", default="4,8,12,16")
    args = p.parse_args()
    dev = torch.device("cuda")
    copy = copy_bandwidth_gbs(dev)
    stages = [int(s) for s in args.stages.split(",")]
    rows = []
    for (B, T, H), dtype in [((32, 1024, 1024), torch.float32), ((32, 1024, 1024), torch.bfloat16),
                             ((32, 128, 512), torch.float32)]:
        rows += run_case(B, T, H, dtype, stages, dev, copy)
        with open(os.path.join(args.out, "sru-stages.json"), "w") as f:
            json.dump({"provenance": {**provenance("sru-stages"), "copy_gbs": copy},
                       "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
