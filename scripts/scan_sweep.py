"""Block-size sweep of the linear-scan kernels on a GPU (how launch.choose_config was set).

    python scripts/scan_sweep.py [--budget SECONDS] [--out DIR]

For each shape and dtype, times scan_fwd (and scan_bwd) under every candidate config of
both paths, and prints the best beside what choose_config picks. Writes scan-sweep.json.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import time

import torch

from rnnviz.bench.core import copy_bandwidth_gbs, provenance, record_failure, time_ms
from rnnviz.ops.linear_scan import chunked_scan
from rnnviz.kernels.linear_scan import ScanConfig, choose_config, scan_bwd, scan_fwd, tile_config

# in order of importance (the sweep stops when its time budget is spent)
SHAPES = [((16, 4096, 4096), torch.float32), ((1, 65536, 64), torch.float32),
          ((1, 2 ** 20, 16), torch.float32), ((16, 4096, 4096), torch.bfloat16),
          ((1, 65536, 64), torch.bfloat16), ((1, 2 ** 20, 16), torch.bfloat16),
          ((4, 16384, 256), torch.float32), ((64, 4096, 1024), torch.float32),
          ((4, 131072, 256), torch.bfloat16), ((1, 16384, 64), torch.float32)]


def candidates(B, T, D, elem):
    """Tiles whose rows sit in one thread (see kernels/linear_scan/blocks.py)."""
    vec = 16 // elem
    out = set()
    if B * D >= 1024:
        for w, rows in itertools.product([1, 2, 4, 8], [8, 16]):
            if rows * vec <= 128:
                out.add(tile_config("channel", T, D, elem, rows, w, 32 * vec * w))
        for w, rows in itertools.product([2, 4, 8], [8, 16]):
            if rows * vec <= 128:
                out.add(tile_config("sequence", T, D, elem, rows, w, 32 * vec * w))
    if B * D <= 16384:
        for w, bd, rows in itertools.product([4, 8], [16, 32, 64], [4, 8, 16]):
            if bd <= max(triton_pow2(D), 16):
                out.add(tile_config("sequence", T, D, elem, rows, w, bd))
    return sorted(out, key=lambda c: (c.path, c.num_warps, c.block_d, c.block_t))


def triton_pow2(x):
    p = 1
    while p < x:
        p *= 2
    return p


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--budget", type=float, default=150.0)
    p.add_argument("--out", default=os.environ.get("OUT", "."))
    p.add_argument("--bwd", action="store_true", help="also time the backward of the best few")
    args = p.parse_args()
    dev = torch.device("cuda")
    t_start = time.time()
    copy = copy_bandwidth_gbs(dev)
    print(f"copy {copy:.0f} GB/s", flush=True)
    results = {"provenance": provenance("scan-sweep"), "copy_gbs": copy, "rows": []}
    for (B, T, D), dtype in SHAPES:
        if time.time() - t_start > args.budget:
            print("budget spent; stopping", flush=True)
            break
        elem = torch.tensor([], dtype=dtype).element_size()
        if B * T * D * elem * 8 > 60e9:
            continue
        a = (torch.rand(B, T, D, device=dev) * 0.5 + 0.5).to(dtype)
        b = torch.randn(B, T, D, device=dev).to(dtype)
        nbytes = 3 * B * T * D * elem
        ref = chunked_scan(a.double(), b.double()).h.float()  # the torch path, float64
        timed = []
        for cfg in candidates(B, T, D, elem):
            if time.time() - t_start > args.budget:
                break
            st = {}

            def go():
                h = scan_fwd(a, b, config=cfg).h
                err = (h.float() - ref).abs().max().item()
                if err > 1e-2 * (1 + ref.abs().max().item()):
                    raise AssertionError(f"wrong result, err {err}")
                st["ms"] = time_ms(lambda: scan_fwd(a, b, config=cfg), dev, warmup=1,
                                   budget_ms=40)

            e = record_failure(go)
            row = {"B": B, "T": T, "D": D, "dtype": str(dtype)[6:], "pass": "fwd",
                   **cfg.__dict__, "ms": st.get("ms"), "error": e}
            if st.get("ms"):
                row["gbs"] = nbytes / st["ms"] / 1e6
                row["frac_copy"] = row["gbs"] / copy
                timed.append(row)
            results["rows"].append(row)
        auto = choose_config(B, T, D, elem)
        ams = time_ms(lambda: scan_fwd(a, b), dev, warmup=1, budget_ms=40)
        best = sorted(timed, key=lambda r: r["ms"])[:3]
        print(f"B={B} T={T} D={D} {str(dtype)[6:]}: auto {auto} {nbytes / ams / 1e6:.0f} GB/s "
              f"({nbytes / ams / 1e6 / copy:.0%})", flush=True)
        for r in best:
            print(f"   best {r['path']} bt={r['block_t']} bs={r['block_s']} bd={r['block_d']} "
                  f"w={r['num_warps']}: "
                  f"{r['gbs']:.0f} GB/s ({r['frac_copy']:.0%})", flush=True)
        if args.bwd:
            g = torch.randn_like(a)
            h = scan_fwd(a, b).h
            for r in best[:1] + [None]:
                cfg = ScanConfig(r["path"], r["block_t"], r["block_d"], r["num_warps"],
                                 r["block_s"]) if r else None
                ms = time_ms(lambda: scan_bwd(a, h, None, g, config=cfg), dev, warmup=1, budget_ms=40)
                gb = 5 * B * T * D * elem / ms / 1e6
                print(f"   bwd {cfg or 'auto'}: {gb:.0f} GB/s ({gb / copy:.0%})", flush=True)
                results["rows"].append({"B": B, "T": T, "D": D, "dtype": str(dtype)[6:],
                                        "pass": "bwd", **(cfg or auto).__dict__, "ms": ms,
                                        "gbs": gb, "frac_copy": gb / copy, "error": None})
        del a, b, ref
        torch.cuda.empty_cache()
        with open(os.path.join(args.out, "scan-sweep.json"), "w") as f:
            json.dump(results, f, indent=1)
    print(f"sweep done in {time.time() - t_start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
