"""Newton-DEER's two kernels for a small GRU on a GPU: where its iteration spends its time.

    python scripts/deer_newton_sweep.py [--out DIR] [--quick] [--what both|linearize|scan]

- The linearisation (dense J [B, T, D, D]): "unfused" is the shifted iterate (torch.cat),
  gh = h_{t-1} W_hh^T + b_hh (cuBLAS, tf32 off) and ``gru_linearize``; "gemm-in-kernel" is
  ``gru_gemm_linearize`` (mode "dense"), which reads h_{t-1} in place and does the h GEMM
  itself. Max error of J and b against the float64 torch linearisation.
- The dense scan ``dense_scan_fwd`` for each chunk length C (a power of two): the chunk
  walks run B * ceil(T / C) programs, the carry walk ceil(T / C) steps per batch row
  (sequential below ``RECURSE_CHUNKS`` chunks, a scan of its own from there), so the best C
  depends on B and T. ``default_chunk``'s choice is marked.

Writes deer-newton-sweep.json (provenance, rows) to --out.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from rnnviz.bench.core import bench_device, provenance, time_ms
from rnnviz.deer.cells import GRUSpec
from rnnviz.kernels.deer import default_chunk, dense_scan_fwd, gru_gemm_linearize, gru_linearize

LINEARIZE = [(16, 100000, 4), (16, 100000, 8), (16, 10000, 16), (1, 100000, 8)]  # (B, T, D)
SCANS = [(16, 100000, 8), (1, 100000, 8), (16, 100000, 4), (16, 1000000, 8), (1, 1000000, 8),
         (16, 10000, 8), (1, 10000, 8), (16, 10000, 16), (16, 10000, 32), (16, 100000, 1)]


def linearize_rows(dev: torch.device, shapes) -> list[dict]:
    rows = []
    for B, T, D in shapes:
        cell = nn.GRUCell(D, D).to(dev)
        spec = GRUSpec(cell)
        x = torch.randn(B, T, D, device=dev)
        h = torch.tanh(torch.randn(B, T, D, device=dev))
        h0 = torch.tanh(torch.randn(B, D, device=dev))
        R = B * T
        with torch.no_grad():
            gx, wd = spec.prepare(x)
            res = torch.zeros(1, device=dev)
            c64 = GRUSpec(nn.GRUCell(D, D).to(dev).double())
            c64.module.load_state_dict(cell.state_dict())
            hp64 = torch.cat([h0[:, None], h[:, :-1]], 1).double()
            ref = c64.linearize(c64.prepare(x.double()), hp64, h.double(), "dense")

            def unfused():
                hp = torch.cat([h0[:, None], h[:, :-1]], 1)
                gh = F.linear(hp, cell.weight_hh, cell.bias_hh)
                return gru_linearize(gx.view(R, -1), gh.view(R, -1), hp.view(R, D), h.view(R, D),
                                     cell.weight_hh, wd, res, "dense")

            def fused():
                return gru_gemm_linearize(gx.view(R, -1), h, h0, cell.weight_hh, cell.bias_hh,
                                          wd, res, "dense")

            for name, fn in (("unfused", unfused), ("gemm-in-kernel", fused)):
                J, b, _ = fn()
                rows.append({"what": "linearize", "B": B, "T": T, "D": D, "variant": name,
                             "ms": time_ms(fn, dev),
                             "err_J": (J.view_as(ref.J) - ref.J).abs().max().item(),
                             "err_b": (b.view_as(ref.b) - ref.b).abs().max().item()})
                print(rows[-1], flush=True)
        del cell, x, h, gx, ref
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def scan_rows(dev: torch.device, shapes) -> list[dict]:
    rows = []
    for B, T, D in shapes:
        J = torch.rand(B, T, D, D, device=dev) * (1.6 / D)  # row sums < 1: a stable recurrence
        b = torch.randn(B, T, D, device=dev)
        chosen = default_chunk(T, B)
        C = 16
        while C <= min(T, 8192):
            ms = time_ms(lambda C=C: dense_scan_fwd(J, b, chunk=C), dev, budget_ms=150.0)
            rows.append({"what": "dense_scan", "B": B, "T": T, "D": D, "chunk": C, "ms": ms,
                         "default": C == chosen})
            print(rows[-1], flush=True)
            C *= 2
        del J, b
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=".")
    ap.add_argument("--quick", action="store_true", help="tiny shapes (a check of the script)")
    ap.add_argument("--what", choices=["both", "linearize", "scan"], default="both")
    ap.add_argument("--scans", default="", help='dense-scan shapes BxTxD, e.g. "16x100000x8;1x10000x8"')
    args = ap.parse_args()
    scans = [tuple(int(v) for v in x.split("x")) for x in args.scans.split(";") if x] or SCANS
    dev = bench_device()
    quick = [(2, 40, 8)]
    rows = []
    if args.what != "scan":
        rows += linearize_rows(dev, quick if args.quick else LINEARIZE)
    if args.what != "linearize":
        rows += scan_rows(dev, quick if args.quick else scans)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    doc = {"provenance": provenance("deer-newton-sweep"), "rows": rows}
    (out / "deer-newton-sweep.json").write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
