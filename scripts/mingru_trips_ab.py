"""minGRU's fused look-back with and without its rounds in two trips to the L2, in one process.

    python scripts/mingru_trips_ab.py [--out DIR]

The fused kernels (``kernels/mingru/fused.py``) walk few channels by the sequence-parallel
look-back (B * H < ``CHANNEL_MIN_BH``, T > 256: shapes the mingru bench does not time) and
pass ``ScanConfig.fewer_trips`` to ``seqpar.lookback_carry``, which the scan's H100 entries
took on 2026-12-07 (benchmarks/scan-entry-ab-trips*-h100.json). Here, per shape and dtype
(RNNVIZ_AB_SHAPES "BxTxH;...", RNNVIZ_AB_DTYPES "fp32,bf16"), the kernels' own config
(``choose_config``) against the same with fewer_trips: first each one's h and gradients,
which must be equal to the bit (the same arithmetic in the same order), then ``ROUNDS``
alternating rounds of the forward and of forward then backward, as CUDA graph replays
(``rnnviz.bench.core.time_ms``), median kept. Bytes as the mingru bench counts them
(forward: reads k, hc, writes h; backward: reads k, hc, h, dh, writes dk, dhc). Writes
mingru-trips-ab-<gpu>.json under --out.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys

import torch

from rnnviz.bench.core import bench_device, copy_bandwidth_gbs, time_ms, write_result
from rnnviz.bench.mingru import fused_calls
from rnnviz.bench.scan import _narrowed, _shapes_from_env
from rnnviz.kernels.mingru import choose_config

SHAPES = [(1, 65536, 64), (4, 16384, 256), (2, 8192, 1024)]  # (B, T, H): B * H < 8192
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
ROUNDS = 5


def shapes_from_env() -> list[tuple[int, int, int]]:
    return _shapes_from_env("RNNVIZ_AB_SHAPES") or SHAPES


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.environ.get("OUT", "."))
    args = p.parse_args()
    device = bench_device()
    if device.type != "cuda":
        raise SystemExit("mingru_trips_ab.py times the Triton kernels: it needs a CUDA GPU")
    names = _narrowed("RNNVIZ_AB_DTYPES", DTYPES)
    copy = copy_bandwidth_gbs(device)
    rows = []
    for B, T, H in shapes_from_env():
        for name in names:
            dtype = DTYPES[name]
            shipped = choose_config(B, T, H, dtype.itemsize)
            if shipped.path != "sequence":
                raise SystemExit(f"{(B, T, H)} takes the channel walk: no look-back to time")
            configs = {"shipped": shipped,
                       "fewer_trips": dataclasses.replace(shipped, fewer_trips=True)}
            fwd, bwd, _, _, out, dP = fused_calls(B, T, H, device, dtype)

            def both(cfg):
                fwd(cfg)
                bwd(cfg)

            made = {}
            for variant, cfg in configs.items():
                both(cfg)
                made[variant] = (out.clone(), dP.clone())
            same = all(torch.equal(x, y) for x, y in zip(*made.values()))
            print((B, T, H), name, shipped, "equal to the bit:", same, flush=True)
            if not same:
                raise SystemExit(f"fewer_trips changed h or the gradients at {(B, T, H)} {name}")
            n, e = B * T * H, dtype.itemsize
            for pss, fn, nbytes in (("fwd", fwd, 3 * n * e), ("fwd+bwd", both, 9 * n * e)):
                times: dict = {v: [] for v in configs}
                for _ in range(ROUNDS):
                    for variant, cfg in configs.items():
                        times[variant].append(
                            time_ms(lambda: fn(cfg), device, mode="graph", budget_ms=60) * 1e3)
                for variant, ts in times.items():
                    us = statistics.median(ts)
                    row = {"B": B, "T": T, "H": H, "dtype": name, "pass": pss,
                           "method": "rnnviz-mingru", "variant": variant, "us": us,
                           "rounds_us": ts, "frac_copy": nbytes / (us * 1e-6) / 1e9 / copy,
                           "config": dataclasses.asdict(configs[variant])}
                    rows.append(row)
                    print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()
                           if k in ("T", "H", "dtype", "pass", "variant", "us", "frac_copy")},
                          flush=True)
    write_result("mingru-trips-ab", rows,
                 {"timing": "graph", "copy_gbs": copy, "rounds": ROUNDS,
                  "bytes": "fwd: 3 N elements (k, hc, h); fwd+bwd: 9 N (and k, hc, h, dh, dk, dhc)"},
                 out_dir=args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
