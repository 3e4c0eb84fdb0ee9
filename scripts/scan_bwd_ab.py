"""The H100's fp32 backward at B * D >= 64 (B * D <= 256, T > 32768), two candidates through
the op (``linear_scan`` forward+backward, autograd), in alternating rounds on the GPU:

- "table": the entry as shipped since 326002c, reduce-then-scan (4 rows, 2 warps, 32
  channels, 3 stages, 2112 programs; three launches);
- "lookback": look-back segments of 8 rows, 1 warp, 32 channels, 3 stages, 2112 programs
  (one launch), the best backward of the H100's second sweep of that class
  (benchmarks/scan-sweep64-h100.json: 62.0 us at T=65536 and 98.5 at T=131072, where the
  first sweep, scan-sweep16-h100.json, had "table" at 65.5 and 108.6; the two sweeps agree
  within 1% on the candidates both ran). The sweeps timed ``scan_bwd`` alone, under the
  dirty L2 flush, and did not check the backward's values.

Each candidate's gradients are first checked against the float64 torch scan. Then, per
shape and timing mode (graph replays, back to back), ``ROUNDS`` rounds of the two and of
accelerated-scan's warp kernel where it is installed (T <= 65536), each call as the scan
bench makes it (``rnnviz.bench.scan._step``). Writes scan-bwd-ab-<gpu>.json.

    python scripts/scan_bwd_ab.py [--out DIR]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

import torch

import rnnviz.kernels.linear_scan.launch as launch
from rnnviz.bench.core import TIMING_PER_ROW, time_ms, write_result
from rnnviz.bench.scan import _make, _step
from rnnviz.ops import linear_scan

SHAPES = [(1, 65536, 64), (1, 131072, 64)]
ROUNDS = 5
LOOKBACK_BWD = {"rows": 8, "num_warps": 1, "block_d": 32, "stages": 3, "vec": 0,
                "programs": 2112, "carry": "lookback"}


def use(variant: str, B: int, T: int, D: int) -> None:
    """Make the op choose ``variant``'s backward for fp32 problems of this class."""
    table = dict(launch._tuned_for(launch.gpu_key()))
    key = launch.tuned_key(B, T, D, 4)
    if variant == "lookback":
        table[key] = {**table[key], "bwd": LOOKBACK_BWD}
    launch._tuned_for = (lambda k, table=table: table)
    launch._auto_config.cache_clear()
    launch._auto_plan.cache_clear()  # (the op's plans are kept per shape too)


def kernels_launched(fn) -> list[str]:
    """The Triton kernels one call of ``fn`` launches, in order: which variant really ran."""
    from rnnviz.kernels.cached_launch import CachedLaunch

    names, inner = [], CachedLaunch.launch

    def launch_(self, grid, args, kw, static=None):
        names.append(getattr(self.kernel, "fn", self.kernel).__name__)
        return inner(self, grid, args, kw, static)

    CachedLaunch.launch = launch_
    try:
        fn()
    finally:
        CachedLaunch.launch = inner
    return names


def rel_err(x: torch.Tensor, ref: torch.Tensor) -> float:
    return float((x.double() - ref).norm() / ref.norm().clamp_min(1e-30))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=os.environ.get("OUT", "."))
    args = p.parse_args()
    dev = torch.device("cuda")
    shipped = launch._tuned_for
    rows = []
    for B, T, D in SHAPES:
        a, b = _make(B, T, D, torch.float32, dev, grad=True)  # the bench's inputs and calls
        g = torch.randn(B, T, D, device=dev)
        leaves = [x.detach().double().requires_grad_() for x in (a, b)]
        ref = torch.autograd.grad(linear_scan(*leaves, backend="torch"), leaves, g.double())
        calls = {}
        for variant in ("table", "lookback"):
            launch._tuned_for = shipped
            use(variant, B, T, D)
            grads = torch.autograd.grad(linear_scan(a, b), (a, b), g)
            cfg = launch._auto_config(B, T, D, 4, dev.index, True)
            errs = [rel_err(x, r) for x, r in zip(grads, ref)]
            names = kernels_launched(lambda: torch.autograd.grad(linear_scan(a, b), (a, b), g))
            print(variant, (B, T, D), cfg, "rel err", errs, names, flush=True)
            if max(errs) > 1e-4:
                raise SystemExit(f"{variant}: gradients off by {max(errs):.2e} at {(B, T, D)}")
            # (a plan kept from the other variant would run here unnoticed: 2026-12-06 17:13)
            if ("scan_segment_kernel" in names) != (variant == "lookback"):
                raise SystemExit(f"{variant}: launched {names}, not its own backward")
            calls[variant] = (cfg, _step("rnnviz-scan", "fwd+bwd", a, b, None))
        if T <= 65536:  # (its warp kernel takes T up to 65536)
            try:
                warp = _step("accelerated-scan", "fwd+bwd", a, b, "warp")
                calls["accelerated-scan-warp"] = (None, warp)
            except ImportError:
                pass
        for mode in ("graph", "back-to-back"):
            times: dict = {name: [] for name in calls}
            for _ in range(ROUNDS):
                for name, (cfg, fn) in calls.items():
                    launch._tuned_for = shipped
                    if cfg is not None:
                        use(name, B, T, D)
                    times[name].append(time_ms(fn, dev, mode=mode, budget_ms=60) * 1e3)
            for name, ts in times.items():
                row = {"B": B, "T": T, "D": D, "pass": "fwd+bwd", "dtype": "fp32", "method": name,
                       "timing": mode, "us": statistics.median(ts), "rounds_us": ts,
                       "bwd_config": str(calls[name][0]) if calls[name][0] else None}
                print({k: row[k] for k in ("T", "method", "timing", "us")}, flush=True)
                rows.append(row)
    launch._tuned_for = shipped
    write_result("scan-bwd-ab", rows, {"timing": TIMING_PER_ROW, "candidates": {
        "table": "the shipped entry (reduce-then-scan backward)", "lookback": LOOKBACK_BWD}},
                 out_dir=args.out)


if __name__ == "__main__":
    sys.exit(main())
