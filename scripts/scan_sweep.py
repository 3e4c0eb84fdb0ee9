"""Block-size sweep of the linear-scan kernels on a GPU: writes the table choose_config uses.

    python scripts/scan_sweep.py [--budget SECONDS] [--out DIR] [--no-write] [--eager]

For each shape of the scan benchmark (and the targets' B=1, D=64, T=65536), float32 and
bfloat16, times scan_fwd and scan_bwd under candidate configs of both paths (the forward
checked against the float64 torch scan, or against the first candidate where that would
not fit), and keeps, per class of problem (``launch.tuned_key``: the coarse ``bucket``,
fewer than 64 channels a class of their own), the config with the best total fraction of
copy bandwidth over the shapes of that class, forward, and for the backward where another
candidate is best there. Times are taken as RNNVIZ_TIMING says
(graph replays: the kernels alone); with --eager every candidate is also timed back to
back, as the benchmarks time calls, and the choice goes by those (a faster kernel in more
launches can be the slower call). Rewrites kernels/linear_scan/tuned.py with it (merged with the entries of other GPUs) and writes scan-sweep.json to --out.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import pprint
import shutil
import time
from collections import defaultdict
from pathlib import Path

import torch

from rnnviz.bench.core import copy_bandwidth_gbs, provenance, record_failure, time_ms
from rnnviz.kernels.linear_scan import choose_config, scan_bwd, scan_fwd, tile_config
from rnnviz.kernels.linear_scan.launch import gpu_key, segment_for, tuned_key
from rnnviz.ops.linear_scan import chunked_scan

TUNED = Path(__file__).resolve().parents[1] / "kernels" / "linear_scan" / "tuned.py"
# the targets first: the sweep stops when its budget is spent
SHAPES = [(16, 4096, 4096), (1, 65536, 64), (1, 2 ** 20, 16), (16, 16384, 4096),
          (1, 131072, 64), (4, 16384, 256), (4, 131072, 256), (1, 16384, 64),
          (16, 1024, 4096), (4, 1024, 256), (1, 1024, 64),
          (16, 10000, 128), (4, 131072, 256), (64, 4096, 128)]  # medium: DEER quasi, minGRU


def entries(B: int, T: int, D: int, elem: int) -> list[tuple]:
    """Candidate (path, rows, num_warps, block_d cap, stages, vec, programs[, carry]) for
    B * D channels and T steps; programs > 0: the sequence path's segments, about that many
    (``launch.segment_for``), their carries by look-back or, with carry "scan", by
    reduce-then-scan (``reduce_scan.py``)."""
    vec = 16 // elem
    out = []
    if B * D >= 16384:
        # (rows, warps, stages, vec): one chunk in registers (stages 1), or the next chunks'
        # loads staged in shared memory by the pipeliner; half-width vectors (vec // 2) put
        # half the channels in a thread, twice the threads on a row
        for r, w, st, v in [(16, 4, 1, 0), (8, 4, 1, 0), (16, 4, 2, 0), (16, 4, 3, 0),
                            (8, 4, 3, 0), (8, 4, 4, 0), (16, 2, 3, 0), (8, 8, 3, 0),
                            (16, 4, 1, vec // 2), (16, 4, 3, vec // 2), (8, 4, 3, vec // 2),
                            (16, 2, 3, vec // 2), (16, 2, 4, 0), (16, 1, 3, 0), (8, 2, 4, 0)]:
            out.append(("channel", r, w, 32 * (v or vec) * w, st, v, 0))
        out += [("sequence", 8, 4, 32 * vec * 4, 1, 0, 0)]
    else:
        # (bf16 tiles of 16 rows x 8 warps x 32+ channels are left out: at B=1, T=1024, D=64
        # the first of them did not finish in 50 s, twice, compiling or running; not found out)
        out += [("sequence", r, w, bd, 1, 0, 0)
                for r, w, bd in itertools.product([8, 16], [4, 8], [16, 32, 64])
                if bd <= max(16, D) and not (elem == 2 and r == 16 and w == 8 and bd > 16)]
        # segments walked by small programs, many per SM (scripts/seqpar_timeline.py)
        out += [("sequence", r, w, 16, 1, 0, p) for r, w, p in [(4, 1, 2112), (4, 1, 1056),
                                                              (4, 4, 528)]]
        # the same segments by reduce-then-scan, and wider rows (whole 128-byte lines)
        out += [("sequence", r, w, bd, st, 0, p, "scan") for r, w, bd, st, p in
                [(4, 1, 16, 1, 2112), (4, 4, 16, 3, 1056), (8, 4, 32, 3, 1056),
                 (4, 2, 32, 3, 2112)] if bd <= max(16, D)]
        out += [("channel", 8, 4, 32 * vec * 4, 1, 0, 0)]
        # narrow channel walks: B * D / block_d programs, each streaming deep [rows, S,
        # block_d] tiles (rows of 32-64 bytes); no look-back at all. So few programs are
        # latency-bound: staging more chunks in flight (stages 3) is the lever.
        out += [("channel", r, w, bd, st, 0, 0) for r, w, bd, st in
                itertools.product([8, 16], [4, 8], [8, 16], [1, 3]) if B * D // bd >= 64]
        # one-chunk programs of one or two warps: small chunks (32-64 steps), many programs
        # per SM, a look-back of a round or two
        out += [("sequence", r, w, 16, 1, 0, 0) for r, w in [(4, 1), (8, 1), (2, 1), (4, 2)]]
        if T <= 2048:  # a short walk: one 1-warp program per few channels, no look-back
            out += [("channel", r, 1, bd, st, 0, 0) for r, bd, st in
                    itertools.product([4, 8], [4, 8, 16], [1, 3]) if B * D // bd < 64]
            out += short_whole(T)
    return out


def short_whole(T: int) -> list[tuple[str, int, int, int, int, int, int]]:
    """Channel walks whose one chunk is the whole sequence (rows x 32 * warps threads >= T,
    4 or 8 channels a program): one round of loads, one scan, no carry between chunks, as
    accelerated-scan's kernel holds a whole channel."""
    return [("channel", r, w, bd, 1, 0, 0) for r, w, bd in
            itertools.product([4, 8, 16], [4, 8, 16], [4, 8]) if r * 32 * w * 4 // bd >= T]


def parse_entries(text: str) -> list[tuple]:
    """--entries "channel:8:4:4:1:0:0;sequence:4:1:16:1:0:2112:scan" (path:rows:warps:
    block_d:stages:vec:programs[:carry])."""
    out = []
    for item in filter(None, text.split(";")):
        path, *fields = item.split(":")
        out.append((path, *map(int, fields[:6]), *fields[6:7]))
    return out


def entry_config(ent: tuple, B: int, T: int, D: int, elem: int):
    """The ScanConfig of candidate ``ent`` (``parse_entries``' tuple) at [B, T, D] of
    ``elem``-byte elements: its tile capped by T, its segments sized to its count of programs."""
    cfg = tile_config(ent[0], T, D, elem, *ent[1:6], segment=1 if ent[6] else 0,
                      carry=ent[7] if len(ent) > 7 else "lookback")
    return segment_for(B, T, D, cfg, ent[6]) if ent[6] else cfg


def sweep_arguments(budget: float) -> argparse.ArgumentParser:
    """The options every sweep takes: --budget, --out, --no-write, --shapes, --dtypes."""
    p = argparse.ArgumentParser()
    p.add_argument("--budget", type=float, default=budget)
    p.add_argument("--out", default=os.environ.get("OUT", "."))
    p.add_argument("--no-write", action="store_true", help="do not rewrite tuned.py")
    p.add_argument("--shapes", default="", help='only these, e.g. "16x10000x128;4x131072x256"')
    p.add_argument("--dtypes", default="float32,bfloat16")
    return p


def parse_problems(args: argparse.Namespace, default: list) -> tuple[list, list]:
    """(shapes, dtypes) from --shapes (default: ``default``) and --dtypes."""
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(";") if s]
    return shapes or default, [getattr(torch, d) for d in args.dtypes.split(",")]


def start() -> tuple[torch.device, float, float]:
    """The GPU, the sweep's start time and the copy bandwidth measured on it (printed)."""
    dev = torch.device("cuda")
    t0 = time.time()
    copy = copy_bandwidth_gbs(dev)
    print(f"copy {copy:.0f} GB/s", flush=True)
    return dev, t0, copy


def problems(shapes, dtypes, budget: float, t0: float, dev: torch.device):
    """(B, T, D, dtype, element size, B * T * D) of every shape in every dtype, in order, until
    ``budget`` seconds have passed since ``t0``; a shape whose float64 reference would not fit
    in the GPU's free memory is skipped."""
    for (B, T, D), dtype in itertools.product(shapes, dtypes):
        if time.time() - t0 > budget:
            print("budget spent; stopping", flush=True)
            return
        elem = torch.tensor([], dtype=dtype).element_size()
        N = B * T * D
        if 3 * N * 8 <= 0.8 * torch.cuda.mem_get_info(dev)[0]:
            yield B, T, D, dtype, elem, N


def finish(name: str, args: argparse.Namespace, t0: float, table: dict, result: dict) -> None:
    """Write ``<name>.json`` (provenance, the GPU's key, ``table`` and ``result``) to --out,
    merge ``table`` into tuned.py unless --no-write, and say so."""
    gk = gpu_key()
    with open(os.path.join(args.out, f"{name}.json"), "w") as f:
        json.dump({"provenance": provenance(name), "gpu_key": gk, "table": table, **result}, f,
                  indent=1)
    if not args.no_write and table:
        write_tuned(gk, table, args.out)
    print(f"table for {gk}: {json.dumps(table, indent=0)}")
    print(f"sweep done in {time.time() - t0:.0f} s", flush=True)


def write_tuned(gk: str, table: dict, out: str) -> None:
    """Merge ``table`` into kernels/linear_scan/tuned.py's entries for GPU ``gk`` (other
    GPUs' entries and this GPU's other buckets kept); a copy goes to ``out``."""
    from rnnviz.kernels.linear_scan.tuned import TABLE

    merged = dict(TABLE)
    merged[gk] = {**merged.get(gk, {}), **table}
    head = TUNED.read_text().split("\nTABLE: dict")[0] + "\n"
    TUNED.write_text(head + "TABLE: dict = " + pprint.pformat(merged, width=96) + "\n")
    shutil.copy(TUNED, os.path.join(out, "tuned.py"))


def main() -> None:
    p = sweep_arguments(120.0)
    p.add_argument("--eager", action="store_true",
                   help="also time every candidate back to back (the benchmarks' eager mode: "
                   "the host's launch path included) and choose by those times")
    p.add_argument("--entries", default="", help="only these candidates (see parse_entries); "
                   '"+short" adds the whole-sequence walks of short_whole')
    args = p.parse_args()
    shapes, dtypes = parse_problems(args, SHAPES)
    dev, t0, copy = start()
    rows: list[dict] = []
    # per class and candidate: the fractions of copy bandwidth, forward and backward
    score: dict[str, dict[tuple, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    n_shapes: dict[str, int] = defaultdict(int)
    for B, T, D, dtype, elem, N in problems(shapes, dtypes, args.budget, t0, dev):
        a = torch.rand(B, T, D, device=dev, dtype=dtype).mul_(0.5).add_(0.5)
        b = torch.randn(B, T, D, device=dev, dtype=dtype)
        ref = chunked_scan(a.double(), b.double()).h.float() if N <= 2 ** 27 else None
        key = tuned_key(B, T, D, elem)
        n_shapes[key] += 1
        best = None
        first: dict = {}  # without a reference: every config must agree with the first
        given = parse_entries(args.entries.replace("+short", ""))
        cands = given + (short_whole(T) if "+short" in args.entries else []) if args.entries \
            else entries(B, T, D, elem)
        seen = set()  # candidates that come out as the same tile once capped by T
        for ent in cands:
            cfg = entry_config(ent, B, T, D, elem)
            if cfg in seen:
                continue
            seen.add(cfg)
            st: dict = {}

            def go():
                hk = scan_fwd(a, b, config=cfg).h
                h = hk.float()
                want = ref if ref is not None else first.setdefault("h", h)
                err = (h - want).abs().max().item()
                if not err <= 1e-2 * (1 + want.abs().max().item()):
                    raise AssertionError(f"wrong result, max error {err}")
                st["ms"] = time_ms(lambda: scan_fwd(a, b, config=cfg), dev, warmup=1, budget_ms=30)
                # the backward (one reverse scan fused with grad_a) runs on the same config
                st["bwd_ms"] = time_ms(lambda: scan_bwd(a, hk, None, b, config=cfg), dev,
                                       warmup=1, budget_ms=30)
                if args.eager:  # a tile that is faster on the GPU can lose as calls: more
                    # launches, more host work (reduce-then-scan at B=1, D=64: 42 us as a
                    # graph, 57 as calls, against the look-back's 49 and 48;
                    # benchmarks/scan-carry-h200.json)
                    st["eager_ms"] = time_ms(lambda: scan_fwd(a, b, config=cfg), dev,
                                             warmup=1, budget_ms=30, mode="back-to-back")
                    st["eager_bwd_ms"] = time_ms(lambda: scan_bwd(a, hk, None, b, config=cfg),
                                                 dev, warmup=1, budget_ms=30,
                                                 mode="back-to-back")

            t_ent = time.time()
            print(f"  {str(dtype)[6:]} {ent} block_t={cfg.block_t} ...", end=" ", flush=True)
            e = record_failure(go)
            print(f"{st.get('ms', float('nan')) * 1e3:.1f} us, bwd {st.get('bwd_ms', float('nan')) * 1e3:.1f} us"
                  f" ({time.time() - t_ent:.1f} s){' ' + e[:60] if e else ''}", flush=True)
            row = {"B": B, "T": T, "D": D, "dtype": str(dtype)[6:], "bucket": key,
                   "entry": list(ent), **cfg.__dict__, "ms": st.get("ms"), "error": e}
            if st.get("ms") and st.get("bwd_ms"):
                row["gbs"] = 3 * N * elem / st["ms"] / 1e6
                row["frac_copy"] = row["gbs"] / copy
                # backward bytes: read a, grad_h, h; write grad_a, grad_b
                row["bwd_ms"] = st["bwd_ms"]
                row["bwd_frac_copy"] = 5 * N * elem / st["bwd_ms"] / 1e6 / copy
                chosen_by = (row["frac_copy"], row["bwd_frac_copy"])
                if args.eager:
                    row["eager_ms"], row["eager_bwd_ms"] = st["eager_ms"], st["eager_bwd_ms"]
                    row["eager_frac_copy"] = 3 * N * elem / st["eager_ms"] / 1e6 / copy
                    row["eager_bwd_frac_copy"] = 5 * N * elem / st["eager_bwd_ms"] / 1e6 / copy
                    chosen_by = (row["eager_frac_copy"], row["eager_bwd_frac_copy"])
                score[key][ent].append(chosen_by)
                if best is None or row["gbs"] > best["gbs"]:
                    best = row
            rows.append(row)
        if best:
            print(f"B={B} T={T} D={D} {str(dtype)[6:]}: best fwd {best['entry']} "
                  f"{best['gbs']:.0f} GB/s ({best['frac_copy']:.0%}, bwd "
                  f"{best['bwd_frac_copy']:.0%})", flush=True)
        del a, b, ref
        torch.cuda.empty_cache()
        with open(os.path.join(args.out, "scan-sweep.json"), "w") as f:  # so far (a cut-off
            json.dump({"provenance": provenance("scan-sweep"), "copy_gbs": copy,  # run keeps it)
                       "partial": True, "rows": rows}, f, indent=1)
    table = {}
    names = ("path", "rows", "num_warps", "block_d", "stages", "vec", "programs", "carry")
    for key, by_entry in score.items():
        full = {e: v for e, v in by_entry.items() if len(v) == n_shapes[key]}
        if full:  # the forward's best, and the backward's where another candidate wins it
            fwd = max(full, key=lambda e: sum(f for f, _ in full[e]))
            bwd = max(full, key=lambda e: sum(b for _, b in full[e]))
            table[key] = dict(zip(names, fwd))
            if bwd != fwd and bwd[0] == fwd[0]:
                # (carry spelt out: the backward must not inherit the forward's "scan")
                table[key]["bwd"] = {**dict(zip(names[1:], bwd[1:])),
                                     "carry": bwd[7] if len(bwd) > 7 else "lookback"}
    finish("scan-sweep", args, t0, table, {
        "copy_gbs": copy,
        "chosen_by": "back-to-back calls (--eager)" if args.eager else "the timing mode",
        "rows": rows})


if __name__ == "__main__":
    main()
