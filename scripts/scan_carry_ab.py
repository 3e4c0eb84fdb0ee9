"""The sequence path's two ways of giving a segment its carry, side by side on the GPU:
look-back (one launch) and reduce-then-scan (three launches), same segments, timed every
way a call can be: as a CUDA graph (the GPU's time), back to back (the benchmark's eager
mode), and n calls queued with one sync (the slower of host and GPU).

    python scripts/scan_carry_ab.py [--out DIR]

Forward (scan_fwd) and backward (scan_bwd: the reverse scan fused with grad_a).

Writes scan-carry-<gpu>.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys

import torch

from rnnviz.bench.core import TIMING_PER_ROW, time_ms, write_result
from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd, tile_config
from rnnviz.kernels.linear_scan.launch import segment_for

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from profile_host import _wall_us  # noqa: E402  (calls queued back to back, one sync at the end)

SHAPES = [(1, 65536, 64), (1, 2 ** 20, 16), (4, 16384, 256)]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=os.environ.get("OUT", "."))
    args = p.parse_args()
    dev = torch.device("cuda")
    rows = []
    for B, T, D in SHAPES:
        a = torch.rand(B, T, D, device=dev).mul_(0.5).add_(0.5)
        b = torch.randn(B, T, D, device=dev)
        base = segment_for(B, T, D, tile_config("sequence", T, D, 4, 4, 1, 32 if D > 64 else 16,
                                                segment=1), 2112)
        for carry in ("lookback", "scan"):
            cfg = dataclasses.replace(base, carry=carry)
            h = scan_fwd(a, b, config=cfg).h
            for pss, fn in (("fwd", lambda: scan_fwd(a, b, config=cfg)),
                            ("bwd", lambda: scan_bwd(a, h, None, b, config=cfg))):
                row = {"B": B, "T": T, "D": D, "pass": pss, "carry": carry,
                       "block_t": cfg.block_t, "block_d": cfg.block_d, "segment": cfg.segment}
                row["graph_us"] = time_ms(fn, dev, mode="graph", budget_ms=50) * 1e3
                row["back_to_back_us"] = time_ms(fn, dev, mode="back-to-back", budget_ms=50) * 1e3
                row["queued_us"] = _wall_us(fn, n=200)
                print(row, flush=True)
                rows.append(row)
    write_result("scan-carry", rows, {"timing": TIMING_PER_ROW, "columns":
                 "graph_us (CUDA graph replays), back_to_back_us (the benchmarks' eager mode, "
                 "L2 flushed between calls), queued_us (200 calls queued, one sync, no flush)"},
                 out_dir=args.out)


if __name__ == "__main__":
    sys.exit(main())
