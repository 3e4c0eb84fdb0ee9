"""A/B of the summary walk's direction, on the GPU: the kernels of 20d1f46 ("base", chunks
read first to last; copied in as rnnviz.kernels.linear_scan_base by
``bash scripts/gpu_next.sh ab``) against the working tree's ("backwards": a part's summary
reads its chunks last to first, so the walk that follows starts on what the summary read
last, the likeliest to be in the L2; on main since 512cf11).

    python scripts/scan_summary_ab.py OUT.json

Every case where parts are summarised and walked again: the few-channel shapes of issue 3
on both layouts (the tuned table's config, and reduce-then-scan forced where the table
takes one part a row), and B=4, D=256. Forward and backward, fp32 and bf16, as CUDA-graph
replays (the kernels alone), base and backwards timed in turns over three rounds; the
branch's results checked against the float64 loop."""
from __future__ import annotations

import json
import os
import statistics
import sys

import torch

from rnnviz.bench.core import copy_bandwidth_gbs, provenance, time_ms
from rnnviz.ops.linear_scan import linear_scan

import rnnviz.kernels.linear_scan as new  # noqa: E402
import rnnviz.kernels.linear_scan_base as base  # noqa: E402

# AB_DEVICE=cpu with TRITON_INTERPRET=1: a dry run of this script on tiny shapes
dev = torch.device(os.environ.get("AB_DEVICE", "cuda"))
copy = copy_bandwidth_gbs(dev)
# (B, T, D, layout, config name): None takes the tuned table's config
CASES = [(1, 300, 3, "time", "reduce"), (1, 300, 3, "btd", None)] if dev.type == "cpu" else [(1, 2 ** 20, 16, "time", None), (1, 2 ** 20, 16, "btd", None),
         (1, 65536, 64, "time", None), (1, 65536, 64, "time", "reduce"),
         (1, 65536, 64, "btd", None), (4, 16384, 256, "btd", None),
         (4, 131072, 256, "btd", None), (1, 131072, 64, "time", None)]
# AB_CASES=1: the first case only (run on the H100, 2026-12-05); AB_FROM=1: the others
CASES = CASES[int(os.environ.get("AB_FROM", 0)):int(os.environ.get("AB_CASES", len(CASES)))]


def config(mod, name):
    if name == "reduce":  # reduce-then-scan over 2112 programs, the sweep's best such config
        return mod.TimeConfig(2048, 1, 4, 1, 2112) if dev.type == "cuda" else \
            mod.TimeConfig(16, 1, 1, 1, 8)
    return None


rows = []
for B, T, D, layout, cname in CASES:
    for dt in (torch.float32, torch.bfloat16):
        g = torch.Generator(device=dev).manual_seed(0)
        shape = (B, D, T) if layout == "time" else (B, T, D)
        a = torch.rand(shape, device=dev, generator=g, dtype=dt).mul_(0.5).add_(0.5)
        b = torch.randn(shape, device=dev, generator=g, dtype=dt)
        gh = torch.randn(shape, device=dev, generator=g, dtype=dt)
        if layout == "time":
            a, b, gh = a.transpose(1, 2), b.transpose(1, 2), gh.transpose(1, 2)
        ref = linear_scan(a.double(), b.double(), backend="torch")
        calls, err = {}, {}
        for name, mod in (("base", base), ("backwards", new)):
            cfg = config(mod, cname)
            h = mod.scan_fwd(a, b, None, config=cfg).h
            err[name] = ((h.double() - ref).abs().max() / ref.abs().max()).item()
            calls[name, "fwd"] = lambda mod=mod, cfg=cfg: mod.scan_fwd(a, b, None, config=cfg)
            calls[name, "bwd"] = lambda mod=mod, cfg=cfg, h=h: mod.scan_bwd(a, h, None, gh,
                                                                            config=cfg)
        times = {k: [] for k in calls}
        for _ in range(3):
            for k, fn in calls.items():
                times[k].append(time_ms(fn, dev, warmup=2, budget_ms=60, mode="graph"))
        n = B * T * D * a.element_size()
        for (name, pss), ts in times.items():
            ms = statistics.median(ts)
            r = dict(method="rnnviz-time" if layout == "time" else "rnnviz-scan", variant=name,
                     B=B, T=T, D=D, layout=layout, config=cname or "tuned", dtype=str(dt)[6:],
                     pass_=pss, ms=ms, ms_rounds=ts, rel_err=err[name],
                     frac_copy=(3 if pss == "fwd" else 5) * n / (ms * 1e-3) / 1e9 / copy)
            rows.append(r)
            print(json.dumps(r), flush=True)
        del a, b, gh, ref, calls
        torch.cuda.empty_cache()
prov = provenance("scan-summary-ab", "scripts/scan_summary_ab.py")
prov.update(copy_gbs=copy, timing="graph")
json.dump({"provenance": prov, "rows": rows}, open(sys.argv[1], "w"), indent=1)
