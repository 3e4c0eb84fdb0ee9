"""``python -m rnnviz.bench scan``: the linear scan h_t = a_t h_{t-1} + b_t against its
baselines and the device's copy bandwidth, in one process.

Methods (same inputs: a in (0.5, 1), b in (0, 1), positive so that the log-space baseline
applies; [B, T, D], accelerated-scan gets its own [B, D, T] layout made beforehand):
- rnnviz-scan: ``rnnviz.ops.linear_scan`` (Triton on a GPU, the chunked torch scan on a CPU);
- rnnviz-time: the same op on [B, T, D] views of the [B, D, T] memory accelerated-scan gets
  (its gradient too): the time-contiguous kernel (``kernels/linear_scan/timelast.py``), the
  like-for-like comparison with accelerated-scan;
- log-space: cumsum + logcumsumexp, the minGRU paper's appendix (Feng et al. 2024);
- doubling: a Hillis-Steele scan in torch (log2 T passes over the data);
- accelerated-scan: the PyPI package's Triton ("scalar") and CUDA ("warp") kernels, where
  they import and accept the shape (the failure is recorded otherwise);
- copy: ``dst.copy_(src)`` of 1 GiB, the bandwidth ceiling, measured in the same run: once
  at the start (``frac_copy``), and again before each shape and dtype (``copy_gbs_here``,
  ``frac_copy_here``), with the GPU's clocks, temperature, power and slowdown reasons
  recorded after each rnnviz row (``gpu_state``). A full run heats the GPU for many minutes;
  the second ceiling and the clocks tell a slower kernel from a GPU clocked down.

Bytes: forward reads a and b and writes h (3 N elements); the backward reads a, dL/dh and h
and writes dL/da and dL/db (5 N), so forward+backward counts 8 N. GB/s is that count over
the measured time for every method (its own traffic may be larger), and ``frac_copy`` is
GB/s over the copy bandwidth.

Shapes: B * D in {64, 1024, 65536} (B, D = (1, 64), (4, 256), (16, 4096)) x T in {1024,
16384, 131072}, plus B = 1, D = 16, T = 2^20 and B = 1, D = 64, T = 65536 (the issue's
targets); float32 and bfloat16; forward and
forward+backward. A run that would not fit in the GPU's free memory is recorded as skipped.
``--quick``: tiny shapes (a CPU smoke run).
"""
from __future__ import annotations

import os
from typing import Any, Callable

import torch

from rnnviz.bench.core import (LAST_PACE, LAST_TIMES, bench_device, copy_bandwidth_gbs,
                               gpu_state, progress, record_failure, save_partial, time_in_rounds,
                               time_ms)

FULL_SHAPES = [(B, T, D) for (B, D) in [(16, 4096), (1, 64), (4, 256)]
               for T in (1024, 16384, 131072)] + [(1, 2 ** 20, 16), (1, 65536, 64)]
QUICK_SHAPES = [(1, 256, 16), (2, 512, 32)]
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
METHODS = ["rnnviz-scan", "rnnviz-time", "log-space", "doubling", "accelerated-scan"]
OURS = ("rnnviz-scan", "rnnviz-time")
PASSES = ["fwd", "fwd+bwd"]
# At most this many elements (B*T*D), accelerated-scan's child process also times rnnviz's
# two kernels on the same case, in rounds (``time_in_rounds``): where a call takes tens of us
# the host sets its time, and a shared VM's host speed drifts between moments minutes apart
# (the parent's rows are timed minutes before the child's). Those ratios, from the same
# moments, are ``speedup_vs_<baseline>_same_moments``.
BESIDE_MAX_ELEMENTS = 1 << 24
# Peak memory of each method in units of N = B*T*D input-dtype elements (measured shapes of
# the autograd graphs: the doubling scan keeps log2 T levels for its backward).
MEMORY_UNITS = {("rnnviz-scan", "fwd"): 3, ("rnnviz-scan", "fwd+bwd"): 7,
                ("rnnviz-time", "fwd"): 5, ("rnnviz-time", "fwd+bwd"): 9,
                ("log-space", "fwd"): 8, ("log-space", "fwd+bwd"): 16,
                ("doubling", "fwd"): 8, ("accelerated-scan", "fwd"): 5,
                ("accelerated-scan", "fwd+bwd"): 9}


def log_space_scan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """h_t = a_t h_{t-1} + b_t for a, b > 0 in log space (minGRU, appendix B):
    log h_t = a*_t + logcumsumexp_s(log b_s - a*_s), a*_t = sum_{s<=t} log a_s."""
    a_star = torch.cumsum(torch.log(a), dim=1)
    return torch.exp(a_star + torch.logcumsumexp(torch.log(b) - a_star, dim=1))


def doubling(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    from rnnviz.ops.linear_scan import doubling_scan

    return doubling_scan(a, b, dim=1)[1]


def _accelerated(variant: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if variant == "warp":
        from accelerated_scan.warp import scan
    else:
        from accelerated_scan.scalar import scan
    return scan


def _bytes(B: int, T: int, D: int, elem: int, pss: str) -> int:
    return (3 if pss == "fwd" else 8) * B * T * D * elem


def _timed(fn: Callable[[], Any], device: torch.device, quick: bool) -> float:
    if device.type == "cuda":
        return time_ms(fn, device, warmup=1, budget_ms=80.0)
    return time_ms(fn, device, warmup=1, budget_ms=40.0 if quick else 200.0)


def _make(B: int, T: int, D: int, dtype: torch.dtype, device: torch.device, grad: bool):
    a = torch.rand(B, T, D, device=device, dtype=dtype).mul_(0.5).add_(0.5).requires_grad_(grad)
    b = torch.rand(B, T, D, device=device, dtype=dtype).clamp_min_(1e-3).requires_grad_(grad)
    return a, b


def _bdt(x: torch.Tensor) -> torch.Tensor:
    """[B, T, D] ``x`` copied to a [B, D, T] leaf (the layout accelerated-scan reads)."""
    return x.detach().transpose(1, 2).contiguous().requires_grad_(x.requires_grad)


def _step(method: str, pss: str, a: torch.Tensor, b: torch.Tensor, variant: str | None
          ) -> Callable[[], Any]:
    """A closure running one method once (forward, or forward + backward with autograd)."""
    g = torch.ones_like(a) * 0.01
    if method == "rnnviz-scan":
        from rnnviz.ops import linear_scan

        f = lambda: linear_scan(a, b)  # noqa: E731
    elif method == "rnnviz-time":  # [B, D, T] memory, made here, outside the timing
        from rnnviz.ops import linear_scan

        at, bt = _bdt(a), _bdt(b)
        a, b, g = at, bt, g.transpose(1, 2).contiguous().transpose(1, 2)
        f = lambda: linear_scan(at.transpose(1, 2), bt.transpose(1, 2))  # noqa: E731
    elif method == "log-space":
        f = lambda: log_space_scan(a, b)  # noqa: E731
    elif method == "doubling":
        f = lambda: doubling(a, b)  # noqa: E731
    else:  # accelerated-scan wants [B, D, T], contiguous: made here, outside the timing
        scan = _accelerated(variant or "scalar")
        at, bt = _bdt(a), _bdt(b)
        a, b, g = at, bt, g.transpose(1, 2).contiguous()
        f = lambda: scan(at, bt)  # noqa: E731
    if pss == "fwd":
        def run():
            with torch.no_grad():
                return f()
        return run

    def run_bwd():
        return torch.autograd.grad(f(), (a, b), g)
    return run_bwd


def _fits(method: str, pss: str, n_bytes: int, device: torch.device) -> str | None:
    """None if the run should fit in the free GPU memory, else why it is skipped."""
    if device.type != "cuda":
        return None
    units = MEMORY_UNITS.get((method, pss), 40)  # doubling fwd+bwd keeps every level
    free, _ = torch.cuda.mem_get_info(device)
    need = units * n_bytes
    if need > 0.85 * free:
        return f"skipped: needs about {need / 2**30:.0f} GiB, {free / 2**30:.0f} GiB free"
    return None


def run(quick: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from rnnviz.kernels.linear_scan import choose_config, choose_time_config

    device = bench_device()
    copy_gbs = copy_bandwidth_gbs(device)
    rows: list[dict[str, Any]] = [{"method": "copy", "pass": "copy", "dtype": "fp32", "ms": None,
                                   "gbs": copy_gbs, "frac_copy": 1.0, "error": None}]
    shapes = QUICK_SHAPES if quick else _shapes_from_env() or FULL_SHAPES
    methods = _narrowed("RNNVIZ_SCAN_METHODS", METHODS)
    dtypes = _narrowed("RNNVIZ_SCAN_DTYPES", DTYPES)
    # RNNVIZ_SCAN_ACCEL="scalar" leaves its warp kernel out (a short GPU call can spare its
    # build, over a minute on a fresh machine, less easily than its rows)
    variants = {"accelerated-scan": _narrowed("RNNVIZ_SCAN_ACCEL", ["scalar", "warp"])}
    crashes: dict[str, int] = {}  # accelerated-scan variant -> child processes it killed
    for (B, T, D) in progress(shapes, "scan shapes"):
        deferred: list[dict[str, Any]] = []
        for dname, dtype in ((d, DTYPES[d]) for d in dtypes):
            elem = torch.tensor([], dtype=dtype).element_size()
            n_bytes = B * T * D * elem
            copy_here = copy_bandwidth_gbs(device) if device.type == "cuda" else None
            for pss in PASSES:
                for method in methods:
                    for variant in variants.get(method, [None]):
                        row: dict[str, Any] = {"method": method, "pass": pss, "dtype": dname,
                                               "B": B, "T": T, "D": D, "ms": None, "error": None,
                                               "copy_gbs_here": copy_here}
                        if variant:
                            row["variant"] = variant
                        if method == "rnnviz-scan" and device.type == "cuda":
                            cfg = choose_config(B, T, D, elem)
                            row.update(path=cfg.path, block_t=cfg.block_t, block_d=cfg.block_d)
                        if method == "rnnviz-time" and device.type == "cuda":
                            tc = choose_time_config(B, T, D, elem)
                            row.update(path="time", block_t=tc.block_t, programs=tc.programs)
                        row["error"] = _fits(method, pss, n_bytes, device)
                        rows.append(row)
                        if row["error"] is not None:
                            continue
                        if method == "accelerated-scan" and device.type == "cuda":
                            deferred.append(row)  # measured in a process of its own, below
                            continue
                        row["error"] = _measure(row, method, pss, B, T, D, dtype, device,
                                                quick, variant)
                        if method in OURS:
                            row["gpu_state"] = gpu_state(device)
                        if device.type == "cuda":
                            torch.cuda.empty_cache()
        # per shape, so that a run cut off by a time limit keeps its comparisons too
        _measure_in_child(deferred, crashes)
        save_partial("scan", rows, {"copy_gbs": copy_gbs})
    _derive(rows, copy_gbs)
    extra = {"copy_gbs": copy_gbs, "bytes": "fwd: 3 N elements (read a, b; write h); "
             "fwd+bwd: 8 N (+ read a, dh, h; write da, db)"}
    return rows, extra


def _shapes_from_env(env: str = "RNNVIZ_SCAN_SHAPES") -> list[tuple[int, int, int]]:
    """RNNVIZ_SCAN_SHAPES="16x16384x4096;1x65536x64" (B x T x D) narrows the shapes (a
    partial run inside a device's time limit); ``env``: another variable of that form."""
    spec = os.environ.get(env, "")
    return [tuple(int(v) for v in part.split("x")) for part in spec.split(";") if part.strip()]


def _narrowed(env: str, names) -> list[str]:
    """Those of ``names`` (``METHODS``, ``DTYPES``' keys, or a script's own) that ``env``
    lists, comma-separated ("" or unset: all), in their own order: a partial run that skips
    what takes minutes (log-space at T=2^20)."""
    wanted = [n.strip() for n in os.environ.get(env, "").split(",") if n.strip()]
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise ValueError(f"{env}: expected some of {list(names)}, got {unknown}")
    return [n for n in names if n in wanted] if wanted else list(names)


def _measure(row, method, pss, B, T, D, dtype, device, quick, variant) -> str | None:
    """Time one method into row["ms"]; the error as a line if it fails."""
    state: dict[str, Any] = {}

    def go():
        a, b = _make(B, T, D, dtype, device, grad=pss != "fwd")
        step = _step(method, pss, a, b, variant)
        step()  # compile / check once before timing
        state["ms"] = _timed(step, device, quick)
        state["spread"] = (min(LAST_TIMES), max(LAST_TIMES), len(LAST_TIMES))
        if LAST_PACE:
            state["pace"] = LAST_PACE[0]

    err = record_failure(go)
    row["ms"] = state.get("ms")
    if "spread" in state:  # the fastest and slowest repetitions beside the median
        row["ms_min"], row["ms_max"], row["reps"] = state["spread"]
    if "pace" in state:  # the host's pace: where it is ms, the call was host-bound
        row["host_pace_ms"] = state["pace"]
    return err


def _derive(rows: list[dict[str, Any]], copy_gbs: float) -> None:
    """GB/s, fraction of copy, and rnnviz's speedup over each baseline on the same case."""
    groups: dict[tuple, dict[str, float]] = {}
    for r in rows:
        if r["method"] == "copy" or not r.get("ms"):
            continue
        elem = DTYPES[r["dtype"]].itemsize
        r["gbs"] = _bytes(r["B"], r["T"], r["D"], elem, r["pass"]) / (r["ms"] * 1e-3) / 1e9
        r["frac_copy"] = r["gbs"] / copy_gbs
        if r.get("copy_gbs_here"):
            r["frac_copy_here"] = r["gbs"] / r["copy_gbs_here"]
        key = r["method"] + (f"-{r['variant']}" if r.get("variant") else "")
        groups.setdefault((r["pass"], r["dtype"], r["B"], r["T"], r["D"]), {})[key] = r["ms"]
    beside = {(r["pass"], r["dtype"], r["B"], r["T"], r["D"], f"{r['method']}-{r['variant']}"):
              r["beside_ms"] for r in rows if r.get("beside_ms")}
    for r in rows:
        if r["method"] in OURS and r.get("ms"):
            key = (r["pass"], r["dtype"], r["B"], r["T"], r["D"])
            for k, ms in groups[key].items():
                if k not in OURS:
                    r[f"speedup_vs_{k}"] = ms / r["ms"]
                same = beside.get(key + (k,), {})
                if same.get(r["method"]):
                    r[f"speedup_vs_{k}_same_moments"] = same["accelerated-scan"] / same[r["method"]]


def _child_main() -> None:
    """``python -m rnnviz.bench.scan --child``: time the cases given as JSON on stdin, one
    JSON line each on stdout. A kernel that corrupts the CUDA context (accelerated-scan's
    warp kernel did) takes only this process down, not the benchmark."""
    import json
    import sys

    cases = json.loads(sys.stdin.read())
    device = torch.device(os.environ.get("RNNVIZ_BENCH_CHILD_DEVICE", "cuda"))
    for i, c in enumerate(cases):
        row: dict[str, Any] = {}
        err = _measure(row, "accelerated-scan", c["pass"], c["B"], c["T"], c["D"],
                       DTYPES[c["dtype"]], device, False, c["variant"])
        if err is None and c["B"] * c["T"] * c["D"] <= BESIDE_MAX_ELEMENTS:
            beside_err = record_failure(lambda: row.update(beside_ms=_time_beside(c, device)))
            if beside_err is not None:
                row["beside_error"] = beside_err
        if device.type == "cuda":
            torch.cuda.synchronize()
        print(json.dumps({"i": i, **row, "error": err}), flush=True)
        if device.type == "cuda":
            torch.cuda.empty_cache()


def _time_beside(c: dict[str, Any], device: torch.device) -> dict[str, float]:
    """accelerated-scan's ``c["variant"]`` and rnnviz's two kernels on case ``c``, timed in
    rounds: the median ms of each, from the same moments."""
    import statistics

    fns = {}
    for method in ("accelerated-scan", *OURS):
        a, b = _make(c["B"], c["T"], c["D"], DTYPES[c["dtype"]], device, grad=c["pass"] != "fwd")
        fns[method] = _step(method, c["pass"], a, b,
                            c["variant"] if method == "accelerated-scan" else None)
        fns[method]()  # compiled and checked before the rounds
    times = time_in_rounds(fns, device, budget_ms=80.0)
    return {m: statistics.median(t) for m, t in times.items()}


def _measure_in_child(rows: list[dict[str, Any]], crashes: dict[str, int]) -> None:
    """Fill ``rows`` (accelerated-scan cases) from child processes; a case whose process
    dies is recorded as such, and a variant that killed two processes in one dtype (counted
    in ``crashes``, across calls) is not run again in that dtype (its kernels crashed on
    bf16 only, so its fp32 rows still run)."""
    import json
    import subprocess
    import sys

    todo = list(rows)
    while todo:
        todo = [r for r in todo if crashes.get((r["variant"], r["dtype"]), 0) < 2 or
                r.update(error=f"not run: accelerated-scan {r['variant']} crashed twice "
                               f"before on this GPU in {r['dtype']}")]
        if not todo:
            break
        cases = [{k: r[k] for k in ("B", "T", "D", "dtype", "pass", "variant")} for r in todo]
        proc = subprocess.run([sys.executable, "-m", "rnnviz.bench.scan", "--child"],
                              input=json.dumps(cases), capture_output=True, text=True)
        done = 0
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                out = json.loads(line)
                todo[out["i"]].update({k: v for k, v in out.items() if k != "i"})
                done = out["i"] + 1
        if done < len(todo):
            why = (proc.stderr.strip().splitlines() or ["no message"])[-1][:200]
            todo[done]["error"] = f"crashed its process (exit {proc.returncode}): {why}"
            key = (todo[done]["variant"], todo[done]["dtype"])
            crashes[key] = crashes.get(key, 0) + 1
            todo = todo[done + 1:]
        else:
            todo = []


def table(rows: list[dict[str, Any]]) -> str:
    head = f"{'method':<24} {'pass':<8} {'dtype':<5} {'B':>3} {'T':>8} {'D':>5} {'ms':>9} " \
           f"{'GB/s':>8} {'copy%':>6} {'here%':>6}  note"
    lines = [head]
    for r in rows:
        name = r["method"] + (f"-{r['variant']}" if r.get("variant") else "")
        ms = f"{r['ms']:.4f}" if r.get("ms") else "-"
        gbs = f"{r['gbs']:.0f}" if r.get("gbs") else "-"
        frac, here = (f"{100 * r[k]:.0f}" if r.get(k) else "-"
                      for k in ("frac_copy", "frac_copy_here"))
        note = r.get("error") or (f"{r['path']} bt={r['block_t']} bd={r['block_d']}"
                                  if r.get("block_d") else f"time bt={r['block_t']} "
                                  f"programs={r['programs']}" if r.get("path") else "")
        if r.get("beside_ms"):  # rnnviz timed in the same rounds as this baseline
            note += " | in its rounds: " + ", ".join(
                f"{k} {v * 1e3:.1f} us" for k, v in r["beside_ms"].items())
        state = r.get("gpu_state") or {}
        if state.get("sm_mhz") and not r.get("error"):
            note += f" sm {state['sm_mhz']:.0f} MHz"
        lines.append(f"{name:<24} {r['pass']:<8} {r['dtype']:<5} {r.get('B', ''):>3} "
                     f"{r.get('T', ''):>8} {r.get('D', ''):>5} {ms:>9} {gbs:>8} {frac:>6} "
                     f"{here:>6}  {(note or '')[:80]}")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    if "--child" in sys.argv:
        _child_main()
