"""Host or GPU? The same calls timed three ways in one process (``rnnviz.bench.core``'s
modes): "isolated" (one call alone, launch path included), "back-to-back" (queued, as
do_bench does) and "graph" (a CUDA-graph replay: the kernels' own time).

    python scripts/timing_modes.py [--out DIR] [--shapes "16x16384x4096;1x65536x64"]

For the linear scan (``rnnviz.ops.linear_scan``) and its log-space baseline, forward and
forward+backward, float32 and bfloat16, at the scan benchmark's target shapes (the closures
are the benchmark's own). Writes timing-modes.json (rows: ms per mode and the fraction of
the copy bandwidth each gives) after every shape.
"""
from __future__ import annotations

import argparse
import json
import os

import torch

from rnnviz.bench import scan as sb
from rnnviz.bench.core import (
    TIMING_MODES,
    TIMING_PER_ROW,
    copy_bandwidth_gbs,
    provenance,
    record_failure,
    time_ms,
)

SHAPES = "16x16384x4096;1x65536x64;1x1048576x16;4x16384x256;1x1024x64"


def time_case(method: str, pss: str, B: int, T: int, D: int, dname: str, dev, copy: float) -> dict:
    """One (method, pass, shape, dtype name of the scan bench) timed in every mode: ms and
    fraction of copy per mode."""
    dtype = sb.DTYPES[dname]
    row = {"method": method, "pass": pss, "dtype": dname, "B": B, "T": T, "D": D}
    nbytes = sb._bytes(B, T, D, dtype.itemsize, pss)
    state: dict = {}

    def setup():
        a, b = sb._make(B, T, D, dtype, dev, grad=pss != "fwd")
        state["step"] = sb._step(method, pss, a, b, None)
        state["step"]()

    row["error"] = record_failure(setup)
    for mode in TIMING_MODES if not row["error"] else ():
        out: dict = {}
        err = record_failure(lambda mode=mode, out=out: out.setdefault(
            "ms", time_ms(state["step"], dev, warmup=2, budget_ms=60, mode=mode)))
        row[f"{mode}_ms"] = out.get("ms")
        row[f"{mode}_frac_copy"] = nbytes / out["ms"] / 1e6 / copy if out.get("ms") else None
        if err:
            row[f"{mode}_error"] = err
    return row


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=os.environ.get("OUT", "."))
    p.add_argument("--shapes", default=SHAPES)
    p.add_argument("--methods", default="rnnviz-scan,log-space")
    args = p.parse_args()
    dev = torch.device("cuda")
    copy = copy_bandwidth_gbs(dev)
    rows = []
    for spec in args.shapes.split(";"):
        B, T, D = (int(v) for v in spec.split("x"))
        for dname in sb.DTYPES:
            for pss in sb.PASSES:
                for method in args.methods.split(","):
                    row = time_case(method, pss, B, T, D, dname, dev, copy)
                    torch.cuda.empty_cache()
                    print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()},
                          flush=True)
                    rows.append(row)
        with open(os.path.join(args.out, "timing-modes.json"), "w") as f:
            prov = provenance("timing-modes")
            prov["timing"] = TIMING_PER_ROW
            json.dump({"provenance": {**prov, "copy_gbs": copy}, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
