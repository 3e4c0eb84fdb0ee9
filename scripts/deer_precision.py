"""Newton-DEER end to end with each precision of the dense scan's chunk products, on a GPU:

    python scripts/deer_precision.py [--B 16 --T 100000 --D 8] [--out DIR]

time (forward, no grad), iterations, residuals and the largest difference from the exact
("ieee") solution, per precision. Writes deer-precision-<gpu>.json with provenance.
"""
from __future__ import annotations

import argparse

import torch

from rnnviz.bench.core import bench_device, time_ms, write_result
from rnnviz.deer import evaluate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--B", type=int, default=16)
    ap.add_argument("--T", type=int, default=100000)
    ap.add_argument("--D", type=int, default=8)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    dev = bench_device()
    cell = torch.nn.GRUCell(args.D, args.D).to(dev)
    x = torch.randn(args.B, args.T, args.D, device=dev)
    rows, exact = [], None
    with torch.no_grad():
        for prec in ("ieee", "tf32x3", "tf32"):
            run = lambda p=prec: evaluate(cell, x, method="newton", precision=p)  # noqa: E731
            h, info = run()
            exact = h if exact is None else exact
            ms = time_ms(run, dev, warmup=1, budget_ms=300.0)
            rows.append({"method": "deer-newton", "pass": "fwd", "dtype": "fp32", "B": args.B,
                         "T": args.T, "D": args.D, "precision": prec, "ms": ms,
                         "iterations": info["iterations"], "converged": info["converged"],
                         "residuals": info["residuals"],
                         "max_diff_vs_ieee": (h - exact).abs().max().item(), "error": None})
            print(rows[-1], flush=True)
    cmd = f"python3 scripts/deer_precision.py --B {args.B} --T {args.T} --D {args.D}"
    print(write_result("deer-precision", rows, {"command": cmd}, args.out))


if __name__ == "__main__":
    main()
