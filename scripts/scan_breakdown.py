"""Where a sequence-parallel scan's time goes, kernel by kernel, on the GPU:

    python scripts/scan_breakdown.py OUT.json [--shapes "1x65536x64"] [--entries "..."]

For each shape (fp32) and candidate (``scan_sweep.parse_entries``' notation), the forward is
run under torch.profiler and each kernel's mean device time is reported: with
reduce-then-scan carries, the reduce, the scan of the segments' summaries (the channel
kernel over [B, segments, D]) and the apply, each apart; with look-back carries, the one
segment kernel. Beside them the whole call as graph replays (what the sweeps time) and the
bytes at the copy bandwidth, so the gap between the kernels' sum and the call is the
launches' own. The D=64, T=65536 target needs the call at 34 us; this says which stage
to shorten."""
from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from scan_sweep import entry_config, parse_entries, parse_problems, start  # noqa: E402

from rnnviz.bench.core import provenance, time_ms  # noqa: E402
from rnnviz.kernels.linear_scan import launch  # noqa: E402
from rnnviz.kernels.linear_scan.launch import scan_fwd  # noqa: E402

DEFAULT_SUMMARY_TILES = (dict(launch.SUMMARY_TILE_FEW), dict(launch.SUMMARY_TILE))

DEFAULT_ENTRIES = ("sequence:4:1:16:1:0:2112;sequence:4:1:16:1:0:2112:scan;"
                   "sequence:4:1:16:1:0:528:scan;sequence:4:1:16:3:0:528:scan;"
                   "sequence:8:1:32:3:0:264:scan;sequence:4:1:16:1:0:8448:scan")


def kernel_times(call, iters: int = 20) -> dict[str, float]:
    """Mean device time (us) of each kernel ``call`` launches, over ``iters`` calls."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(iters):
            call()
        torch.cuda.synchronize()
    out: dict[str, float] = collections.defaultdict(float)
    for ev in prof.key_averages():
        if ev.self_device_time_total > 0:  # (as scripts/profile_host.py reads it)
            out[ev.key] += ev.self_device_time_total / iters
    return dict(out)


def variants(args: argparse.Namespace) -> list[tuple]:
    """(entry, summary tile or None, look-back window or None) of every candidate: each entry
    as it is, each reduce-then-scan entry with each of --summary-tiles, each look-back entry
    with each of --lookbacks."""
    tiles = [dict(zip(("rows", "num_warps", "block_d"), map(int, t.split(":"))))
             for t in args.summary_tiles.split(";") if t]
    windows = [int(w) for w in args.lookbacks.split(";") if w]
    out = []
    for ent in parse_entries(args.entries):
        scan = len(ent) > 7 and ent[7] == "scan"
        out += [(ent, None, None)] + [(ent, t, None) for t in (tiles if scan else [])]
        out += [(ent, None, w) for w in (windows if not scan and ent[0] == "sequence" else [])]
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--shapes", default="1x65536x64;1x131072x64")
    p.add_argument("--entries", default=DEFAULT_ENTRIES)
    p.add_argument("--summary-tiles", default="",
                   help='reduce-then-scan entries again with these tiles for the summaries\' scan '
                        '(launch.summary_tile), "rows:warps:block_d;...", e.g. "8:4:4;8:16:16": '
                        'at 2112 programs 8:4:16 took 6.6 us, 8:4:4 3.5 (H100, T=65536)')
    p.add_argument("--lookbacks", default="",
                   help='look-back entries again with these windows (ScanConfig.lookback, '
                        '"64;128"): the inclusive states travel one window of segments per '
                        'round of polling, 528 segments a channel tile at 2112 programs')
    p.set_defaults(dtypes="float32")  # (parse_problems reads it: float32 only here)
    args = p.parse_args()
    dev, _, copy = start()  # (the GPU and its copy bandwidth, as the sweeps measure it)
    rows = []
    for B, T, D in parse_problems(args, [])[0]:
        a = torch.rand(B, T, D, device=dev).mul_(0.5).add_(0.5)
        b = torch.randn(B, T, D, device=dev)
        bytes_ = 3 * a.numel() * 4
        for ent, tile, window in variants(args):
            launch.SUMMARY_TILE_FEW, launch.SUMMARY_TILE = (tile, tile) if tile else \
                DEFAULT_SUMMARY_TILES
            launch._plan.cache_clear()  # (plans are cached with the summary tile they chose)
            cfg = entry_config(ent, B, T, D, 4)
            cfg = dataclasses.replace(cfg, lookback=window) if window else cfg

            def call():
                return scan_fwd(a, b, config=cfg)

            for _ in range(3):
                call()
            kernels = kernel_times(call)
            graph_us = 1e3 * time_ms(call, dev, warmup=3, mode="graph")
            row = dict(B=B, T=T, D=D, entry=list(ent), segment=cfg.segment, carry=cfg.carry,
                       summary_tile=launch.summary_tile(B * D) if cfg.carry == "scan" else None,
                       lookback=cfg.lookback if cfg.carry == "lookback" else None,
                       kernels_us=kernels, kernels_sum_us=sum(kernels.values()),
                       graph_us=graph_us, frac_copy=bytes_ / graph_us / 1e3 / copy,
                       copy_us=bytes_ / copy / 1e3)
            rows.append(row)
            print(json.dumps(row), flush=True)
    with open(args.out, "w") as f:
        json.dump({"provenance": {**provenance("scan-breakdown"), "copy_gbs": copy}, "rows": rows},
                  f, indent=1)


if __name__ == "__main__":
    main()
