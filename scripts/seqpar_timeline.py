"""Where the sequence-parallel scan's time goes: the kernel's own timeline, per tile.

    python scripts/seqpar_timeline.py [--out DIR] [--shapes "1x65536x64;1x1048576x16"]

For each shape (few channels, long T: the sequence path's job), dtype and candidate tile
(rows, warps, block_d, look-back window), times the forward as a CUDA-graph replay (the
GPU's time, no host), checks it against the float64 scan, then runs it once more with
TIMELINE on (``scan_fwd(..., timeline=True)``): every program reports when it started, when
its aggregate and its inclusive state were out and when it finished, on the GPU's global
clock. ``rnnviz.bench.timeline.timeline_summary`` turns that into phase times (load + summarise, look-back,
apply + store), look-back rounds and how many programs ran at once. Writes
seqpar-timeline.json (the summaries, and the raw timeline of the first tile of each shape,
for the course) after every shape.
"""
from __future__ import annotations

import argparse
import json
import os

import torch

from rnnviz.bench.core import copy_bandwidth_gbs, provenance, record_failure, time_ms
from rnnviz.bench.timeline import TIMELINE_COLUMNS, timeline_summary
from rnnviz.kernels.linear_scan import choose_config, scan_fwd, tile_config
from rnnviz.kernels.linear_scan.launch import segment_for
from rnnviz.ops.linear_scan import chunked_scan

SHAPES = "1x65536x64;1x1048576x16"
# (rows, num_warps, block_d, look-back window, programs, stages). programs 0: the one-chunk
# kernel (scan_seqpar_kernel, one program per chunk); else the segment kernel with segments
# of as many chunks as give about that many programs, loads pipelined over ``stages``.
TILES = [(16, 8, 16, 32, 0, 1), (8, 4, 16, 32, 0, 1),
         (2, 4, 16, 32, 264, 3), (2, 4, 16, 32, 528, 3), (2, 4, 16, 32, 1056, 3),
         (2, 2, 16, 32, 528, 3), (2, 2, 16, 32, 1056, 3), (4, 1, 16, 32, 1056, 1),
         (4, 1, 16, 32, 2112, 1), (2, 4, 16, 32, 528, 1), (4, 4, 16, 32, 264, 1),
         (4, 4, 16, 32, 528, 1)]


def candidate(B: int, T: int, D: int, elem: int, tile: tuple):
    rows, warps, block_d, lookback, programs, stages = tile
    cfg = tile_config("sequence", T, D, elem, rows, warps, block_d, stages, lookback=lookback,
                      segment=1 if programs else 0)
    return segment_for(B, T, D, cfg, programs) if programs else cfg


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=os.environ.get("OUT", "."))
    p.add_argument("--shapes", default=SHAPES)
    p.add_argument("--dtypes", default="float32,bfloat16")
    args = p.parse_args()
    dev = torch.device("cuda")
    copy = copy_bandwidth_gbs(dev)
    print(f"copy {copy:.0f} GB/s", flush=True)
    result = {"provenance": provenance("seqpar-timeline"), "copy_gbs": copy,
              "columns": list(TIMELINE_COLUMNS), "rows": [], "timelines": []}
    for shape in args.shapes.split(";"):
        B, T, D = (int(v) for v in shape.split("x"))
        for dname in args.dtypes.split(","):
            dtype = getattr(torch, dname)
            elem = dtype.itemsize
            a = torch.rand(B, T, D, device=dev).mul_(0.1).add_(0.9).to(dtype)
            b = torch.randn(B, T, D, device=dev).to(dtype)
            ref = chunked_scan(a.double(), b.double()).h
            auto = choose_config(B, T, D, elem)
            cands = [("auto", auto)] + [(list(t), candidate(B, T, D, elem, t)) for t in TILES]
            for i, (name, cfg) in enumerate(cands):
                row = {"B": B, "T": T, "D": D, "dtype": dname, "tile": name, **cfg.__dict__}
                st: dict = {}

                def go(cfg=cfg, st=st):
                    h = scan_fwd(a, b, config=cfg).h.double()
                    st["max_err"] = (h - ref).abs().max().item() / (1 + ref.abs().max().item())
                    if not st["max_err"] < (1e-4 if elem == 4 else 3e-2):
                        raise AssertionError(f"wrong result: relative error {st['max_err']:.2e}")
                    st["ms"] = time_ms(lambda: scan_fwd(a, b, config=cfg), dev, warmup=2,
                                       budget_ms=40, mode="graph")
                    if cfg.path == "sequence":
                        tl_rows = scan_fwd(a, b, config=cfg, timeline=True).timeline.cpu()
                        st["timeline"] = timeline_summary(tl_rows)
                        if i <= 1:
                            result["timelines"].append({"B": B, "T": T, "D": D, "dtype": dname,
                                                        "tile": name, **cfg.__dict__,
                                                        "rows": tl_rows.tolist()})

                row["error"] = record_failure(go)
                row.update(st)
                if st.get("ms"):
                    row["frac_copy"] = 3 * B * T * D * elem / st["ms"] / 1e6 / copy
                print(json.dumps({k: row.get(k) for k in ("B", "T", "D", "dtype", "tile", "ms",
                                                          "frac_copy", "error")}),
                      json.dumps(st.get("timeline")), flush=True)
                result["rows"].append(row)
            with open(os.path.join(args.out, "seqpar-timeline.json"), "w") as f:
                json.dump(result, f)
            del a, b, ref
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
