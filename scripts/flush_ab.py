"""Does the timer's L2 flush cost the timed call? ``time_ms`` zeroed 64 MB before each
repetition (its default until 2026-12-06, now ``RNNVIZ_FLUSH=dirty``), so the timed call
started with an L2 full of *dirty* lines, which its own misses had to write back to memory
first: for a call that moves ~50 MB (the scan at B=1, D=64, T=65536) that can be tens of MB
of writes its own work did not make. Here each call is
timed as graph replays under both of ``time_ms``'s flushes (``rnnviz.bench.core.flush_mode``:
"dirty", and "clean", which reads 256 MB after the zeros), alternating over rounds in one
process, beside an add that moves the same bytes as the scan and accelerated-scan's warp
kernel where installed:

    python scripts/flush_ab.py OUT.json
"""
from __future__ import annotations

import json
import os
import statistics
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from scan_sweep import entry_config, parse_entries  # noqa: E402

from rnnviz.bench.core import FLUSH_MODES, copy_bandwidth_gbs, provenance, time_ms  # noqa: E402
from rnnviz.kernels.linear_scan.launch import scan_fwd  # noqa: E402

ROUNDS = 5


def calls(a: torch.Tensor, b: torch.Tensor) -> dict:
    """The calls compared at one shape of a, b [1, T, 64] (float32)."""
    B, T, D = a.shape
    h = torch.empty_like(a)
    lookback, scan = (entry_config(e, B, T, D, 4) for e in parse_entries(
        "sequence:4:1:16:1:0:2112;sequence:4:1:16:1:0:2112:scan"))
    out = {
        "add (3 streams, the scan's bytes)": lambda: torch.add(a, b, out=h),
        "scan, auto config": lambda: scan_fwd(a, b),
        "scan, 2112 segments, look-back": lambda: scan_fwd(a, b, config=lookback),
        "scan, 2112 segments, reduce-then-scan": lambda: scan_fwd(a, b, config=scan),
    }
    try:
        from accelerated_scan.warp import scan as warp_scan
    except ImportError as e:
        print("no accelerated-scan:", e)
        return out
    if T <= 65536:  # (its warp kernel's limit)
        at, bt = a.transpose(1, 2).contiguous(), b.transpose(1, 2).contiguous()
        out["accelerated-scan warp ([B, D, T])"] = lambda: warp_scan(at, bt)
    return out


def main() -> None:
    dev = torch.device("cuda")
    copy = copy_bandwidth_gbs(dev)
    rows = []
    for T in (65536, 131072):
        a = torch.rand(1, T, 64, device=dev).mul_(0.5).add_(0.5)
        b = torch.randn(1, T, 64, device=dev)
        fns = calls(a, b)
        us = {(name, f): [] for name in fns for f in FLUSH_MODES}
        for _ in range(ROUNDS):
            for name, fn in fns.items():
                for f in FLUSH_MODES:
                    us[name, f].append(1e3 * time_ms(fn, dev, warmup=2, reps=30, mode="graph",
                                                     flush=f))
        for (name, f), times in us.items():
            med = statistics.median(times)
            row = dict(B=1, T=T, D=64, call=name, flush=f, us=med, rounds_us=times,
                       frac_copy=3 * a.numel() * 4 / med / 1e3 / copy)
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "rounds_us"}), flush=True)
    with open(sys.argv[1], "w") as fh:
        json.dump({"provenance": {**provenance("flush-ab"), "copy_gbs": copy}, "rows": rows}, fh,
                  indent=1)


if __name__ == "__main__":
    main()
