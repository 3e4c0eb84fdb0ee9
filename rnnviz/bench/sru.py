"""``python -m rnnviz.bench sru``: SRU forward+backward beside its baselines, and the fused
recurrence kernel alone against the device's copy bandwidth.

Side by side, in one process, same inputs, same precision settings (tf32 off for all):
rnnviz-sru (cuBLAS GEMM + the fused Triton recurrence), lstm-cudnn and gru-cudnn (nn.LSTM,
nn.GRU), conv1d (nn.Conv1d, width 3: the paper's "as fast as a convolution"), sru-loop (the
same SRU as a GEMM + a Python loop over t of torch ops, autograd through it) and sru-pkg
(the official ``sru`` package, where it imports and runs; its failure is recorded where not).

Settings: the paper's figure 1 (batch 32, l in {32, 128}, d in {256, 512}) and l = d = 1024,
with 1 and 4 layers, float32 and bfloat16 autocast. Without peephole, the fused kernel
against the linear-scan route (``recurrence=``) at hidden 256, batch 1, 4 and 32, l from 1024
to 65536, eager and as graph replays. ``--quick``: tiny shapes on the CPU.
"""
from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
from typing import Any, Callable, Sequence

import torch
import torch.nn as nn

from rnnviz.bench.core import (bench_device, copy_bandwidth_gbs, env_lengths, gpu_state, progress,
                               record_failure, record_rounds, save_partial, time_in_rounds,
                               time_ms)

BATCH = 32
SHAPES = [(32, 256), (32, 512), (128, 256), (128, 512), (1024, 1024)]  # (l, d)
LAYERS = [1, 4]
DTYPES = ["fp32", "bf16"]
METHODS = ["rnnviz-sru", "lstm-cudnn", "gru-cudnn", "conv1d", "sru-loop", "sru-pkg"]


class SRULoop(nn.Module):
    """The SRU as one would write it in plain PyTorch: a GEMM per layer, then a Python loop
    over t of elementwise ops, autograd recording every step."""

    def __init__(self, d: int, num_layers: int):
        super().__init__()
        self.weight = nn.ParameterList(nn.Parameter(torch.randn(d, 3 * d) / d ** 0.5) for _ in range(num_layers))
        self.weight_c = nn.ParameterList(nn.Parameter(torch.randn(2, d) * 0.5) for _ in range(num_layers))
        self.bias = nn.ParameterList(nn.Parameter(torch.zeros(2, d)) for _ in range(num_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x [T, B, d]
        for W, v, b in zip(self.weight, self.weight_c, self.bias):
            U = (x @ W).view(x.shape[0], x.shape[1], -1, 3)
            c = torch.zeros(x.shape[1], x.shape[2], device=x.device, dtype=U.dtype)
            hs = []
            for t in range(x.shape[0]):
                f = torch.sigmoid(U[t, ..., 1] + v[0] * c + b[0])
                r = torch.sigmoid(U[t, ..., 2] + v[1] * c + b[1])
                c = f * c + (1 - f) * U[t, ..., 0]
                hs.append(r * torch.tanh(c) + (1 - r) * x[t])
            x = torch.stack(hs)
        return x


class Conv1dStack(nn.Module):
    """num_layers nn.Conv1d(d, d, 3, padding=1) on [T, B, d] (transposed to [B, d, T] once)."""

    def __init__(self, d: int, num_layers: int):
        super().__init__()
        self.convs = nn.Sequential(*[nn.Conv1d(d, d, 3, padding=1) for _ in range(num_layers)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.convs(x.permute(1, 2, 0))


def _first(out: Any) -> torch.Tensor:
    return out[0] if isinstance(out, tuple) else out


def _model(method: str, d: int, layers: int, device: torch.device) -> nn.Module:
    if method == "rnnviz-sru":
        from rnnviz.models import SRU

        return SRU(d, d, layers).to(device)
    if method == "lstm-cudnn":
        return nn.LSTM(d, d, layers).to(device)
    if method == "gru-cudnn":
        return nn.GRU(d, d, layers).to(device)
    if method == "conv1d":
        return Conv1dStack(d, layers).to(device)
    if method == "sru-loop":
        return SRULoop(d, layers).to(device)
    if method == "sru-pkg":
        import sru  # noqa: PLC0415 - optional baseline

        return sru.SRU(d, d, num_layers=layers).to(device)
    raise ValueError(method)


def _fwd_bwd(model: nn.Module, x: torch.Tensor, dtype: str) -> Callable[[], Any]:
    params = [p for p in model.parameters() if p.requires_grad]
    ctx = (torch.autocast(x.device.type, dtype=torch.bfloat16) if dtype == "bf16"
           else torch.autocast(x.device.type, enabled=False))
    grad = {}

    def fn():
        with ctx:
            out = _first(model(x))
        if "g" not in grad:  # the output gradient: random, made once
            grad["g"] = torch.randn_like(out)
        return torch.autograd.grad(out, params + [x], grad["g"])

    return fn


def start_sru_pkg_probe(device: torch.device) -> subprocess.Popen | str:
    """Start importing the official ``sru`` package and running one forward+backward in a
    subprocess (its import JIT-compiles C++/CUDA extensions: slow, and it may fail). Returns
    the process, or the error when the package is not installed."""
    import importlib.util

    if importlib.util.find_spec("sru") is None:
        return "ModuleNotFoundError: No module named 'sru'"
    code = ("import torch, sru; d=torch.device(%r); m=sru.SRU(64, 64, num_layers=1).to(d); "
            "x=torch.randn(8, 2, 64, device=d, requires_grad=True); m(x)[0].sum().backward(); "
            "print('ok')" % str(device))
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish_sru_pkg_probe(probe: subprocess.Popen | str, timeout_s: float) -> str | None:
    """None if the package worked, else its error in one line."""
    if isinstance(probe, str):
        return probe
    try:
        out, err = probe.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        probe.kill()
        probe.communicate()
        return "TimeoutExpired: import + one forward/backward took too long (JIT compilation)"
    if probe.returncode == 0 and "ok" in out:
        return None
    return summarise_failure(err + out, probe.returncode)


def summarise_failure(text: str, returncode: int | None) -> str:
    """One line from a failed run's output: the compiler's own complaint (nvcc/gcc
    "error:"), then the exception that surfaced; warnings (the package's JIT notice) are
    not the failure."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and "Warning:" not in ln]
    compiler = [ln for ln in lines if re.search(r"\berror:", ln)]  # nvcc's and gcc's own
    raised = [ln for ln in lines if re.match(r"^[\w.]+(Error|Exception|Interrupt)\b", ln)]
    picked = compiler[:1] + raised[-1:]
    if not picked:
        picked = lines[-1:] or [f"exit status {returncode}, no output"]
    return " | ".join(dict.fromkeys(picked))[:800]


def model_rows(quick: bool, device: torch.device, pkg_error: str | None,
               before: Sequence[dict] = ()) -> list[dict]:
    """The models' forward+backward groups; ``before`` (the rows measured earlier in the
    run) goes into the partial file with them, so a run cut off keeps those too."""
    shapes, layers, dtypes, batch = SHAPES, LAYERS, DTYPES, BATCH
    if os.environ.get("RNNVIZ_BENCH_LAYERS"):  # "1": a shorter GPU run
        layers = [int(v) for v in os.environ["RNNVIZ_BENCH_LAYERS"].split(",")]
    shapes = [(T, d) for T, d in shapes if T in env_lengths([T])]  # RNNVIZ_BENCH_T="128"
    if quick:
        shapes, layers, dtypes, batch = [(16, 32)], [1], ["fp32"], 4
    rows = []
    groups = [(s, l, t) for t in dtypes for l in layers for s in shapes]
    for (T, d), L, dt in progress(groups, "sru model groups"):
        x = torch.randn(T, batch, d, device=device, requires_grad=True)
        base = {"pass": "fwd+bwd", "dtype": dt, "B": batch, "T": T, "D": d, "L": L}
        group, fns = [], {}
        for method in METHODS:
            row = dict(base, method=method, ms=None, error=None)
            if method == "sru-pkg" and pkg_error is not None:
                row["error"] = pkg_error
            elif method == "sru-loop" and T * L > 1024 and not quick:
                # 4 layers x 1024 steps of a Python loop: seconds per call; timed at 1 layer
                row["error"] = "skipped: Python loop over 4096 steps (see the 1-layer row)"
            else:
                fn = {}
                row["error"] = record_failure(
                    lambda: fn.setdefault("f", _fwd_bwd(_model(method, d, L, device), x, dt))())
                if row["error"] is None:
                    fns[method] = fn["f"]
            group.append(row)
        # the methods in turns (time_in_rounds): their ratios come from the same moments
        record_rounds(group, time_in_rounds(fns, device))
        for row in group:
            if row["method"] in fns and row["ms"] < 50:  # (a Python loop is host-bound anyway)
                row["host_ms"] = host_ms(fns[row["method"]], device)
        fns.clear()
        _derive(group)
        rows += group
        save_partial("sru", [*before, *rows])
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def host_ms(fn: Callable[[], Any], device: torch.device, reps: int = 5) -> float:
    """Median host-side milliseconds to issue one call (the GPU work is queued, not waited
    for): where it is close to ``ms``, the method is bound by launches, not by the GPU."""
    import time

    times = []
    for _ in range(reps):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return float(statistics.median(times))


def _derive(group: list[dict]) -> None:
    ms = {r["method"]: r["ms"] for r in group}
    for r in group:
        for other in ("lstm-cudnn", "conv1d"):
            if r["ms"] and ms.get(other):
                r[f"speedup_vs_{other}"] = ms[other] / r["ms"]


def kernel_rows(quick: bool, device: torch.device, copy_gbs: float) -> list[dict]:
    """The recurrence alone at l = d = 1024 (B = 32): bytes it must move / time, vs copy."""
    T, B, H = (64, 4, 64) if quick else (1024, BATCH, 1024)
    if not quick and T not in env_lengths([T]):  # RNNVIZ_BENCH_T="128": the l = 128 settings alone
        return []
    rows = []
    if device.type == "cuda":
        from rnnviz.kernels.sru import sru_bwd, sru_fwd

        fwd, bwd, backend = sru_fwd, sru_bwd, "triton"
    else:
        from rnnviz.ops.sru.recurrent import sru_bwd_torch, sru_fwd_torch

        fwd, bwd, backend = sru_fwd_torch, sru_bwd_torch, "torch"
    for dt in (["fp32"] if quick else ["fp32", "bf16"]):
        tdt = torch.float32 if dt == "fp32" else torch.bfloat16
        U = torch.randn(T, B, 3 * H, device=device, dtype=tdt)
        x = torch.randn(T, B, H, device=device, dtype=tdt)
        wc = torch.randn(2 * H, device=device) * 0.5
        bias = torch.randn(2 * H, device=device)
        kw = dict(D=1, H=H, K=3, scale_x=1.0, tanh=True, batch_first=False)
        e, n = torch.tensor([], dtype=tdt).element_size(), T * B * H
        _, _, c_all, _, _ = fwd(U, x, wc, bias, None, None, store_c=True, record=False, **kw)
        gh = torch.randn(T, B, H, device=device, dtype=tdt)
        gcn = torch.randn(B, H, device=device)
        cases = [  # (pass, what, call, bytes moved)
            ("fwd", "inference (reads U, x; writes h)",
             lambda: fwd(U, x, wc, bias, None, None, store_c=False, record=False, **kw), n * (4 * e + e)),
            ("fwd", "training (reads U, x; writes h, c)",
             lambda: fwd(U, x, wc, bias, None, None, store_c=True, record=False, **kw), n * (5 * e + 4)),
            ("bwd", "reads U, x, c, dh; writes dU, dx",
             lambda: bwd(U, x, wc, bias, None, None, c_all, gh, gcn, **kw), n * (5 * e + 4 + 4 * e)),
        ]
        for ps, what, call, nbytes in cases:
            ms = time_ms(call, device, warmup=2, budget_ms=150.0)
            gbs = nbytes / (ms * 1e-3) / 1e9
            rows.append({"method": "rnnviz-sru", "scope": "recurrence kernel", "what": what,
                         "backend": backend, "pass": ps, "dtype": dt, "B": B, "T": T, "H": H,
                         "ms": ms, "error": None, "bytes": nbytes, "gbs": gbs,
                         "frac_copy": gbs / copy_gbs, "gpu_state": gpu_state(device)})
    rows.append({"method": "copy", "pass": "fwd", "dtype": "fp32", "ms": None, "error": None,
                 "gbs": copy_gbs, "frac_copy": 1.0})
    return rows


def scan_rows(quick: bool, device: torch.device) -> list[dict]:
    """Without peephole: the fused kernel vs the linear-scan route, small batch x hidden,
    over sequence lengths: the kernel's time grows with T step by step, the scan route's
    mostly with its launches (host) until its bytes take over. On a GPU each row also
    carries ``graph_ms``, the GPU's time alone (a CUDA-graph replay), since which route
    wins eagerly depends on the host (H100, 2026-12-05, T=4096: the kernel won eagerly at
    B = 1 and 4, where ``recurrence="auto"`` takes the scan)."""
    from rnnviz.models import SRU

    H = 16 if quick else 256
    rows = []
    for T in ([64] if quick else env_lengths([1024, 4096, 16384, 65536])):
        for B in ([1, 4] if quick else [1, 4, 32]):
            x = torch.randn(T, B, H, device=device, requires_grad=True)
            for rec in ("kernel", "scan"):
                row = {"method": "rnnviz-sru", "recurrence": rec, "peephole": False,
                       "pass": "fwd+bwd", "dtype": "fp32", "B": B, "T": T, "D": H, "L": 1,
                       "ms": None, "error": None}
                fn = {}
                err = record_failure(lambda: fn.setdefault("f", _fwd_bwd(
                    SRU(H, H, peephole=False, recurrence=rec).to(device), x, "fp32"))())
                if err is None:
                    row["ms"] = time_ms(fn["f"], device, warmup=2, budget_ms=150.0)
                    if device.type == "cuda":
                        err = record_failure(lambda: row.__setitem__("graph_ms", time_ms(
                            fn["f"], device, warmup=2, budget_ms=150.0, mode="graph")))
                        if err is not None:
                            row["graph_error"] = err
                else:
                    row["error"] = err
                rows.append(row)
    return rows


def run(quick: bool) -> tuple[list[dict], dict]:
    device = bench_device()  # tf32 off: the same precision for every method
    # the sru package compiles its extensions on the CPU while the GPU-bound kernel rows run
    probe = start_sru_pkg_probe(device)
    copy_gbs = copy_bandwidth_gbs(device)
    rows = kernel_rows(quick, device, copy_gbs)
    pkg_error = finish_sru_pkg_probe(probe, timeout_s=30 if quick else 90)
    rows += model_rows(quick, device, pkg_error, before=rows)
    rows += scan_rows(quick, device)
    extra = {"tf32": False if device.type == "cuda" else None, "copy_gbs": copy_gbs,
             "sru_pkg_error": pkg_error, "targets": targets(rows)}
    return rows, extra


def targets(rows: list[dict]) -> dict:
    """The issue's targets, read off the rows (l = 128 settings; the kernel at l = d = 1024)."""
    out: dict[str, Any] = {}
    paper = [r for r in rows if r["method"] == "rnnviz-sru" and r.get("T") == 128 and r.get("pass") == "fwd+bwd"]
    for key in ("speedup_vs_lstm-cudnn", "speedup_vs_conv1d"):
        vals = {f"{r['dtype']} d={r['D']} L={r['L']}": round(r[key], 3) for r in paper if key in r}
        if vals:
            out[key + " (l=128)"] = vals
    k = [r for r in rows if r.get("scope") == "recurrence kernel"]
    if k:
        out["kernel_frac_copy"] = {f"{r['pass']} {r['dtype']} {r['what'].split(' (')[0]}": round(r["frac_copy"], 3) for r in k}
    return out


def table(rows: list[dict]) -> str:
    lines = [f"{'method':<12} {'pass':<8} {'dtype':<5} {'B':>3} {'T':>5} {'D/H':>5} {'L':>2} {'ms':>9}  notes"]
    for r in rows:
        ms = "-" if r["ms"] is None else f"{r['ms']:.3f}"
        notes = []
        if r.get("scope"):
            notes.append(f"{r['what']}: {r['gbs']:.0f} GB/s = {r['frac_copy']:.0%} of copy")
        elif r["method"] == "copy":
            notes.append(f"copy {r['gbs']:.0f} GB/s")
        if r.get("host_ms") is not None and r["method"] == "rnnviz-sru":
            notes.append(f"host {r['host_ms']:.2f} ms")
        if r.get("recurrence"):
            notes.append(f"recurrence={r['recurrence']}, no peephole")
            if r.get("graph_ms") is not None:
                notes.append(f"GPU alone {r['graph_ms']:.3f} ms")
        for k in ("speedup_vs_lstm-cudnn", "speedup_vs_conv1d"):
            if k in r and r["method"] == "rnnviz-sru":
                notes.append(f"{k[11:]} x{r[k]:.2f}")
        if r["error"]:
            notes.append(f"error: {r['error'][:90]}")
        d = r.get("D", r.get("H", ""))
        lines.append(f"{r['method']:<12} {r['pass']:<8} {r['dtype']:<5} {r.get('B', ''):>3} {r.get('T', ''):>5} "
                     f"{d:>5} {r.get('L', ''):>2} {ms:>9}  {'; '.join(notes)}")
    return "\n".join(lines)
