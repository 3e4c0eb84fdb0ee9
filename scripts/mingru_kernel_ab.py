"""The fused minGRU kernel alone, as the bench's kernel section times it, in one process.

    RNNVIZ_SUBCHUNK_MAJOR_LOADS=0 python scripts/mingru_kernel_ab.py --out DIR --name off
    python scripts/mingru_kernel_ab.py --out DIR --name default

Run once per setting, a process each (``linear_scan.blocks.SUBCHUNK_MAJOR`` is read at import),
with the fused kernels loading through ``blocks.load_rows`` (fb85298; set aside in 6bdd79b, back
since 4db5e66, after the 2026-12-07 'view' call ran them):
the tiles loaded as laid out against through their [S, R, BLOCK_D] view, the view Triton 3.6
needs (scripts/sass_loop.py mingru-fwd: 36 shuffles a loop against 4 under 3.6). The rows are
``rnnviz.bench.mingru.kernel_rows`` (fwd, bwd and the unfused forward at T = 4096, (B, H) =
(64, 128) and (16, 1024), fp32), ROUNDS times in alternation, median kept. Writes
mingru-kernel-ab-<gpu>.json under --out with the setting in its provenance.
"""
from __future__ import annotations

import argparse
import statistics
import sys

from rnnviz.bench.core import bench_device, copy_bandwidth_gbs, write_result
from rnnviz.bench.mingru import kernel_rows
from rnnviz.kernels.linear_scan import blocks

ROUNDS = 5


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=".")
    p.add_argument("--name", default="default", help="what this run's setting is called")
    args = p.parse_args()
    device = bench_device()
    if device.type != "cuda":
        raise SystemExit("mingru_kernel_ab.py times the Triton kernel: it needs a CUDA GPU")
    copy = copy_bandwidth_gbs(device)
    runs = [kernel_rows(True, device, copy) for _ in range(ROUNDS)]
    rows = []
    for parts in zip(*runs):  # the same row of each round
        row = dict(parts[0])
        if row.get("ms") is not None and row["method"] != "copy":
            times = [r["ms"] for r in parts]
            row.update(ms=statistics.median(times), rounds_ms=times,
                       gbs=statistics.median(r["gbs"] for r in parts),
                       frac_copy=statistics.median(r["frac_copy"] for r in parts))
        row["setting"] = args.name
        rows.append(row)
        print({k: row.get(k) for k in ("B", "H", "pass", "what", "ms", "frac_copy")}, flush=True)
    write_result("mingru-kernel-ab", rows,
                 {"setting": args.name, "subchunk_major": bool(blocks.SUBCHUNK_MAJOR),
                  "copy_gbs": copy, "rounds": ROUNDS},
                 out_dir=args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
