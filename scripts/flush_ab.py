"""Does the timer's L2 flush cost the timed call? ``time_ms`` zeroes 64 MB before each
repetition, so the timed call starts with an L2 full of *dirty* lines, which its own misses
must write back to DRAM first: for a call that moves ~50 MB (the scan at B=1, D=64,
T=65536) that can be tens of MB of writes no workload of its own made. Here each call is
timed as graph replays after either flush, alternating over rounds in one process:

  dirty: flush.zero_() (as time_ms does)
  clean: flush.zero_(), then a 256 MB read, which writes the dirty lines back before the
         timed call starts and leaves the L2 holding clean lines of another buffer

    python scripts/flush_ab.py OUT.json
"""
from __future__ import annotations

import dataclasses
import json
import statistics
import sys

import torch

from rnnviz.bench.core import _captured, copy_bandwidth_gbs, provenance
from rnnviz.kernels.linear_scan.launch import scan_fwd, segment_for, tile_config


def timed(replay, flush, clean, reps: int = 50) -> float:
    """Median us of ``replay()`` over ``reps``, each after the flush (and the clean read)."""
    times = []
    for _ in range(reps):
        flush.zero_()
        if clean is not None:
            clean.max()
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        replay()
        e.record()
        e.synchronize()
        times.append(1e3 * s.elapsed_time(e))
    return statistics.median(times)


def main() -> None:
    dev = torch.device("cuda")
    copy = copy_bandwidth_gbs(dev)
    flush = torch.empty(64 * 1024 * 1024, dtype=torch.int8, device=dev)
    clean = torch.ones(64 * 1024 * 1024, dtype=torch.float32, device=dev)  # 256 MB
    rows = []
    for T in (65536, 131072):
        B, D = 1, 64
        a = torch.rand(B, T, D, device=dev).mul_(0.5).add_(0.5)
        b = torch.randn(B, T, D, device=dev)
        h = torch.empty_like(a)
        base = tile_config("sequence", T, D, 4, 4, 1, 16, 1, 0, segment=1)
        calls = {
            "add (3 streams, the copy's pattern)": lambda: torch.add(a, b, out=h),
            "scan, auto config": lambda: scan_fwd(a, b),
            "scan, 2112 segments, look-back": lambda: scan_fwd(
                a, b, config=segment_for(B, T, D, base, 2112)),
            "scan, 2112 segments, reduce-then-scan": lambda: scan_fwd(
                a, b, config=segment_for(B, T, D, dataclasses.replace(base, carry="scan"), 2112)),
        }
        try:
            from accelerated_scan.warp import scan as warp_scan
            at, bt = a.transpose(1, 2).contiguous(), b.transpose(1, 2).contiguous()
            if T <= 65536:
                calls["accelerated-scan warp ([B, D, T])"] = lambda: warp_scan(at, bt)
        except ImportError as e:
            print("no accelerated-scan:", e)
        replays = {name: _captured(fn, 3) for name, fn in calls.items()}
        res = {(name, m): [] for name in calls for m in ("dirty", "clean")}
        for _ in range(5):
            for name, rp in replays.items():
                for m in ("dirty", "clean"):
                    res[name, m].append(timed(rp, flush, clean if m == "clean" else None))
        nbytes = 3 * a.numel() * 4
        for (name, m), us in res.items():
            row = dict(B=B, T=T, D=D, call=name, flush=m, us=statistics.median(us), rounds_us=us,
                       frac_copy=nbytes / statistics.median(us) / 1e3 / copy)
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "rounds_us"}), flush=True)
    json.dump({"provenance": {**provenance("flush-ab"), "copy_gbs": copy}, "rows": rows},
              open(sys.argv[1], "w"), indent=1)


if __name__ == "__main__":
    main()
