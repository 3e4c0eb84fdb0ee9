"""Config sweep of the scan on time-contiguous storage ([B, D, T] memory, ``timelast.py``).

    python scripts/scan_time_sweep.py [--budget SECONDS] [--out DIR] [--no-write]
                                      [--shapes "1x65536x64;..."] [--dtypes float32,bfloat16]
                                      [--join both|reduce|lookback|trips|all] [--baselines]

For each shape and dtype, times ``scan_fwd`` and ``scan_bwd`` on [B, T, D] views of [B, D, T]
memory under candidate TimeConfigs (steps per chunk, rows per program, warps, pipeline
stages, programs to aim for, parts joined by reduce-then-scan or by the look-back, the
latter also in two trips to the L2 a round with --join trips or all), each checked against
the float64 torch scan, as CUDA graph replays (the kernels alone) and back to back (the
calls: reduce-then-scan's three launches cost the host more than one). With --baselines,
alongside, `accelerated-scan`'s scalar kernel on the same memory, the layout it is written
for. Per coarse class of problem (``launch_time.time_bucket``) the candidate with the best
total fraction of copy bandwidth as graph replays, forward and backward, goes into
kernels/linear_scan/tuned.py under ``launch_time.time_bucket`` (merged with the rest);
scan-time-sweep.json goes to --out.
"""
from __future__ import annotations

import itertools
import json
import os
from collections import defaultdict

import torch

from rnnviz.bench.core import provenance, record_failure, time_ms
from rnnviz.kernels.linear_scan import TimeConfig, scan_bwd, scan_fwd
from rnnviz.kernels.linear_scan.launch_time import time_bucket, time_parts
from rnnviz.ops.linear_scan import chunked_scan
from scan_sweep import finish, parse_problems, problems, start, sweep_arguments

# the target shapes first: the sweep stops when its budget is spent
SHAPES = [(1, 65536, 64), (4, 16384, 256), (1, 2 ** 20, 16), (4, 131072, 256),
          (1, 16384, 64), (16, 16384, 4096), (4, 1024, 256), (1, 1024, 64), (1, 131072, 64),
          (16, 1024, 4096), (64, 4096, 128)]
# (steps per chunk, rows per program, warps): 8 or 16 fp32 steps a thread
TILES = [(512, 1, 2), (1024, 1, 4), (2048, 1, 4), (2048, 1, 8), (4096, 1, 8), (1024, 2, 4)]
STAGES = (1, 3)
PROGRAMS = (0, 1056, 2112, 4224)


def candidates(B: int, T: int, D: int, joins=(False, True)) -> list[TimeConfig]:
    """Every (tile, stages, programs, join), less those that come out the same at this
    shape (chunks capped by T; a target of programs that the rows already exceed, where
    there is nothing to join). ``joins``: the joins to try, False (reduce-then-scan), True
    (the look-back) or "trips" (the look-back in two trips to the L2 a round)."""
    out, seen = [], set()
    for (bt, br, w), st, p, join in itertools.product(TILES, STAGES, PROGRAMS, joins):
        bt = min(bt, 1 << max(0, T - 1).bit_length())
        parts, _ = time_parts(TimeConfig(bt, br, w, st, p), B, T, D)
        join = join if parts > 1 else False
        key = (bt, br, w, st, parts, join)
        if key not in seen:
            seen.add(key)
            out.append(TimeConfig(bt, br, w, st, p, lookback=bool(join),
                                  fewer_trips=join == "trips"))
    return out


def _accelerated_rows(at, bt, dev) -> dict:
    """accelerated-scan's scalar kernel on the same memory: forward and forward+backward."""
    try:
        from accelerated_scan.scalar import scan
    except ImportError as e:
        return {"error": f"not installed: {e}"}
    out = {}
    g = torch.full_like(at, 0.01)
    at_, bt_ = at.detach().requires_grad_(), bt.detach().requires_grad_()

    def fwd():
        with torch.no_grad():
            return scan(at, bt)

    def fwd_bwd():
        return torch.autograd.grad(scan(at_, bt_), (at_, bt_), g)

    for name, fn in (("fwd", fwd), ("fwd+bwd", fwd_bwd)):
        for mode in ("graph", "back-to-back"):
            out[f"{name} {mode}"] = time_ms(fn, dev, warmup=2, budget_ms=30, mode=mode)
    return out


def main() -> None:
    p = sweep_arguments(300.0)
    p.add_argument("--baselines", action="store_true",
                   help="also time accelerated-scan's scalar kernel on the same memory")
    p.add_argument("--join", choices=("both", "reduce", "lookback", "trips", "all"),
                   default="both",
                   help="how parts are joined in the candidates: reduce-then-scan, the "
                        "look-back, the look-back in two trips a round; both: the first two "
                        "(the default); all: the three")
    args = p.parse_args()
    joins = {"both": (False, True), "reduce": (False,), "lookback": (True,),
             "trips": (True, "trips"), "all": (False, True, "trips")}[args.join]
    shapes, dtypes = parse_problems(args, SHAPES)
    dev, t0, copy = start()
    rows: list[dict] = []
    baselines: list[dict] = []
    # per class and candidate: (forward, backward) fractions of copy, as graph replays
    score: dict[str, dict[TimeConfig, list]] = defaultdict(lambda: defaultdict(list))
    n_shapes: dict[str, int] = defaultdict(int)
    for B, T, D, dtype, elem, N in problems(shapes, dtypes, args.budget, t0, dev):
        at = torch.rand(B, D, T, device=dev, dtype=dtype).mul_(0.5).add_(0.5)
        bt = torch.randn(B, D, T, device=dev, dtype=dtype)
        a, b = at.transpose(1, 2), bt.transpose(1, 2)
        ref = chunked_scan(a.double(), b.double()).h.float() if N <= 2 ** 27 else None
        key = time_bucket(B, T, D, elem)
        n_shapes[key] += 1
        base = {"B": B, "T": T, "D": D, "dtype": str(dtype)[6:]}
        if args.baselines:  # (its first capture at B=16, T=1024, D=4096 once raised an
            # illegal memory access, which ends the process: off unless asked for)
            base.update(_accelerated_rows(at, bt, dev))
        baselines.append(base)
        print(f"B={B} T={T} D={D} {str(dtype)[6:]}: accelerated-scan {base}", flush=True)
        for cfg in candidates(B, T, D, joins):
            st: dict = {}

            def go():
                h = scan_fwd(a, b, config=cfg).h
                if ref is not None:
                    err = (h.float() - ref).abs().max().item()
                    if not err <= 1e-2 * (1 + ref.abs().max().item()):
                        raise AssertionError(f"wrong result, max error {err}")
                for mode in ("graph", "back-to-back"):
                    st[f"fwd {mode}"] = time_ms(lambda: scan_fwd(a, b, config=cfg), dev,
                                                warmup=1, budget_ms=30, mode=mode)
                    st[f"bwd {mode}"] = time_ms(lambda: scan_bwd(a, h, None, b, config=cfg),
                                                dev, warmup=1, budget_ms=30, mode=mode)

            e = record_failure(go)
            row = {"B": B, "T": T, "D": D, "dtype": str(dtype)[6:], "bucket": key,
                   **cfg.__dict__, **st, "error": e}
            if not e:
                row["frac_copy"] = 3 * N * elem / st["fwd back-to-back"] / 1e6 / copy
                row["bwd_frac_copy"] = 5 * N * elem / st["bwd back-to-back"] / 1e6 / copy
                row["graph_frac_copy"] = 3 * N * elem / st["fwd graph"] / 1e6 / copy
                row["graph_bwd_frac_copy"] = 5 * N * elem / st["bwd graph"] / 1e6 / copy
                # chosen by the kernels' own time: the back-to-back times of this host were
                # too noisy to rank by (benchmarks/scan-time-sweep-h200.json)
                score[key][cfg].append((row["graph_frac_copy"], row["graph_bwd_frac_copy"]))
            print(f"  {cfg}: " + (e[:80] if e else " ".join(f"{k} {v * 1e3:.1f}" for k, v in
                                                              st.items())), flush=True)
            rows.append(row)
        del a, b, at, bt, ref
        torch.cuda.empty_cache()
        with open(os.path.join(args.out, "scan-time-sweep.json"), "w") as f:  # so far
            json.dump({"provenance": provenance("scan-time-sweep"), "copy_gbs": copy,
                       "partial": True, "baselines": baselines, "rows": rows}, f, indent=1)
    table = {}
    for key, by_cfg in score.items():
        full = {c: v for c, v in by_cfg.items() if len(v) == n_shapes[key]}
        if full:
            fwd = max(full, key=lambda c: sum(f for f, _ in full[c]))
            bwd = max(full, key=lambda c: sum(b for _, b in full[c]))
            table[key] = {**fwd.__dict__, "bwd": bwd.__dict__}
    finish("scan-time-sweep", args, t0, table, {"copy_gbs": copy, "chosen_by": "graph replays",
                                                "baselines": baselines, "rows": rows})


if __name__ == "__main__":
    main()
