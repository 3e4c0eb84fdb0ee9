"""Newton-DEER's two kernels for a small GRU on a GPU: where its iteration spends its time.

    python scripts/deer_newton_sweep.py [--out DIR] [--quick] [--what both|linearize|scan]

- The linearisation (dense J [B, T, D, D]): "unfused" is the shifted iterate (torch.cat),
  gh = h_{t-1} W_hh^T + b_hh (cuBLAS, tf32 off) and ``gru_linearize``; "gemm-in-kernel" is
  ``gru_gemm_linearize`` (mode "dense"), which reads h_{t-1} in place and does the h GEMM
  itself. Max error of J and b against the float64 torch linearisation.
- The dense scan ``dense_scan_fwd`` for each chunk length C (a power of two): the chunk
  walks run B * ceil(T / C) programs, the carry walk ceil(T / C) steps per batch row
  (sequential below ``RECURSE_CHUNKS`` chunks, a scan of its own from there), so the best C
  depends on B and T. ``default_chunk``'s choice is marked. For D <= 8 both chunk walks:
  a chunk per thread ("lanes", the default there) and a chunk per program. "ms" is the
  eager scan (host and GPU), "graph_ms" the scan replayed as a CUDA graph (its GPU time,
  what a graphed DEER iteration pays).
- ``--what solve``: whole Newton solves (``rnnviz.deer.evaluate``) of a GRU cell, with the
  chunk-per-thread walks on and off (``LANE_MAX_BD``), iterations and error against the loop.

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
from rnnviz.kernels.deer import dense_scan as dense_scan_module
from rnnviz.kernels.deer import default_chunk, dense_scan_fwd, gru_gemm_linearize, gru_linearize

LINEARIZE = [(16, 100000, 4), (16, 100000, 8), (16, 10000, 16), (1, 100000, 8)]  # (B, T, D)
SCANS = [(16, 100000, 8), (1, 100000, 8), (16, 100000, 4), (16, 1000000, 8), (1, 1000000, 8),
         (16, 10000, 8), (1, 10000, 8), (16, 10000, 16), (16, 10000, 32), (16, 100000, 1)]


def linearize_rows(dev: torch.device, shapes, tiles: bool = False) -> list[dict]:
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

            variants = [("unfused", unfused), ("gemm-in-kernel", fused)]
            if D <= 8 and tiles:  # the registers variant's tile: rows per program, warps
                for BR in (8, 16, 32, 64, 128):
                    for warps in (1, 2, 4, 8):
                        variants.append((f"gemm-in-kernel BR={BR} warps={warps}",
                                         lambda BR=BR, warps=warps: gru_gemm_linearize(
                                             gx.view(R, -1), h, h0, cell.weight_hh,
                                             cell.bias_hh, wd, res, "dense",
                                             tiles=(BR, max(2, D), max(2, D)),
                                             num_warps=warps)))
            for name, fn in variants:
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


def graph_ms(fn, dev: torch.device) -> float | None:
    """fn's GPU time alone: fn captured in a CUDA graph, the replay timed (no host cost)."""
    if dev.type != "cuda":
        return None
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        fn()
    torch.cuda.current_stream().wait_stream(side)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    return time_ms(g.replay, dev, budget_ms=150.0)


def scan_rows(dev: torch.device, shapes) -> list[dict]:
    rows = []
    for B, T, D in shapes:
        J = torch.rand(B, T, D, D, device=dev) * (1.6 / D)  # row sums < 1: a stable recurrence
        b = torch.randn(B, T, D, device=dev)
        walks = (True, False) if D <= dense_scan_module.LANE_MAX_BD else (False,)
        ref = dense_scan_fwd(J, b, lanes=False)
        for lanes in walks:
            chosen = default_chunk(T, B, lanes)
            C = 8 if lanes else 16
            while C <= min(T, 1024 if lanes else 8192):
                fn = lambda C=C, lanes=lanes: dense_scan_fwd(J, b, chunk=C, lanes=lanes)  # noqa: E731
                err = ((fn() - ref).abs().max() / ref.abs().max()).item()
                ms = time_ms(fn, dev, budget_ms=150.0)
                rows.append({"what": "dense_scan", "B": B, "T": T, "D": D, "chunk": C, "ms": ms,
                             "lanes": lanes, "default": C == chosen, "rel_err_vs_warps": err,
                             "graph_ms": graph_ms(fn, dev)})
                print(rows[-1], flush=True)
                C *= 2
        del J, b
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def solve_rows(dev: torch.device, shapes, graphs: bool = False) -> list[dict]:
    """Newton solves with the chunk-per-thread walks on (the default) and off (and, with
    ``graphs``, graphed: ``evaluate(graph=True)``)."""
    from rnnviz.deer import evaluate, sequential

    rows = []
    for B, T, D in shapes:
        torch.manual_seed(0)
        cell = nn.GRUCell(D, D).to(dev)
        x = torch.randn(B, T, D, device=dev)
        with torch.no_grad():
            ref = sequential(cell, x[:, :min(T, 20000)])
        keep = dense_scan_module.LANE_MAX_BD
        for lanes, graph in ((True, False), (False, False)) + (((True, True),) if graphs else ()):
            dense_scan_module.LANE_MAX_BD = keep if lanes else 0
            with torch.no_grad():
                h, info = evaluate(cell, x, method="newton", graph=graph)
                ms = time_ms(lambda: evaluate(cell, x, method="newton", graph=graph), dev,
                             budget_ms=300.0)
            rows.append({"what": "solve", "B": B, "T": T, "D": D, "lanes": lanes,
                         "graph": info["graph"], "ms": ms,
                         "iterations": info["iterations"], "converged": info["converged"],
                         "max_err_first_20000": (h[:, :ref.shape[1]] - ref).abs().max().item()})
            print(rows[-1], flush=True)
        dense_scan_module.LANE_MAX_BD = keep
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=".")
    ap.add_argument("--quick", action="store_true", help="tiny shapes (a check of the script)")
    ap.add_argument("--what", choices=["both", "linearize", "scan", "solve"], default="both")
    ap.add_argument("--tiles", action="store_true",
                    help="linearize: also sweep the gemm-in-kernel tile at D <= 8")
    ap.add_argument("--linearize", default="", help='linearize shapes BxTxD')
    ap.add_argument("--graphs", action="store_true", help="solve: also a graphed solve")
    ap.add_argument("--solves", default="16x100000x8;1x100000x8;16x100000x4",
                    help="--what solve shapes BxTxD")
    ap.add_argument("--scans", default="", help='dense-scan shapes BxTxD, e.g. "16x100000x8;1x10000x8"')
    args = ap.parse_args()
    scans = [tuple(int(v) for v in x.split("x")) for x in args.scans.split(";") if x] or SCANS
    dev = bench_device()
    quick = [(2, 40, 8)]
    rows = []
    if args.what in ("both", "linearize"):
        lin = [tuple(int(v) for v in x.split("x")) for x in args.linearize.split(";") if x]
        rows += linearize_rows(dev, quick if args.quick else (lin or LINEARIZE), args.tiles)
    if args.what in ("both", "scan"):
        rows += scan_rows(dev, quick if args.quick else scans)
    if args.what == "solve":
        solves = [tuple(int(v) for v in x.split("x")) for x in args.solves.split(";") if x]
        rows += solve_rows(dev, quick if args.quick else solves, args.graphs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    doc = {"provenance": provenance("deer-newton-sweep"), "rows": rows}
    (out / "deer-newton-sweep.json").write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
