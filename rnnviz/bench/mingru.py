"""``python -m rnnviz.bench mingru``: a minGRU / minLSTM training step against the baselines.

One training step = forward + backward of one layer (input_size = hidden_size = H) on
x [T, B, H], the gradients of every parameter and of x. Side by side, in one process:

- "rnnviz-mingru", "rnnviz-minlstm": ``MinGRU`` / ``MinLSTM`` (mode "parallel": one GEMM,
  then the fused gates + scan kernel; its backward recomputes the gates);
- "mingru-log", "minlstm-log": the same models in the paper's log-space mode (cumsum and
  logcumsumexp in torch; positive=True, as that mode needs);
- "mingru-pytorch", "minlstm-pytorch": the ``mingru-pytorch`` package (log-space, where
  importable; its failure is recorded otherwise);
- "gru-cudnn", "lstm-cudnn": ``nn.GRU`` / ``nn.LSTM`` (cuDNN);
- "grucell-loop", "lstmcell-loop": a Python loop over ``nn.GRUCell`` / ``nn.LSTMCell``,
  the paper's "traditional" baseline. Seconds per call at long T, all of it host time: one
  warm-up call, then one call in each of the rounds the other methods are timed in, at the
  T of ``LOOP_TS`` (the other rows say so).

T in {512, 1024, 2048, 4096, 16384}; (B, H) in {(64, 128) (the paper's), (16, 1024)};
fp32 (tf32 off) and bf16 autocast. A kernel section times the fused kernel alone against
the copy bandwidth and against the unfused route (gates in torch, then the scan kernel),
and sweeps its block sizes at the paper's shape.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable, NamedTuple

import torch
import torch.nn as nn

from rnnviz.bench.core import (bench_device, copy_bandwidth_gbs, env_lengths, record_failure,
                               record_rounds, save_partial, time_in_rounds, time_ms)

TS = [512, 1024, 2048, 4096, 16384]
SHAPES = [(64, 128), (16, 1024)]  # (B, H)
DTYPES = ["fp32", "bf16"]
FAST = ["rnnviz-mingru", "rnnviz-minlstm", "mingru-log", "minlstm-log", "mingru-pytorch",
        "minlstm-pytorch", "gru-cudnn", "lstm-cudnn"]
LOOPS = ["grucell-loop", "lstmcell-loop"]
# the Python loops take seconds per call: timed at these T only (T = 16384 took 14.3 s
# (GRUCell) and 14.0 s (LSTMCell) per call at B=64, H=128 fp32 in benchmarks/mingru-h100-run1.log)
LOOP_TS = {(64, 128): [512, 1024, 2048, 4096], (16, 1024): [512, 4096]}
LOOP_BUDGET_S = 300.0  # stop timing loops once they have taken this long in all (3 rounds each)
SWEEP = {  # (path, rows, num_warps, block_d, stages) tried for the fused kernel at T = 4096
    # (launch.tile_config fits each to H); stages > 1: loads of the next chunks in flight
    (64, 128): [("sequence", 4, 4, 16, 1), ("channel", 2, 4, 32, 1), ("channel", 2, 4, 32, 3),
                ("channel", 4, 4, 32, 3), ("channel", 4, 4, 16, 3), ("channel", 2, 4, 16, 4),
                ("channel", 8, 4, 16, 3)],
    (16, 1024): [("channel", 2, 4, 32, 1), ("channel", 2, 4, 32, 3), ("channel", 4, 4, 32, 3),
                 ("channel", 2, 4, 64, 3), ("channel", 4, 4, 64, 2), ("channel", 2, 4, 32, 4)],
}
BASELINES = {  # speedups each rnnviz row reports
    "rnnviz-mingru": ["grucell-loop", "gru-cudnn", "mingru-log", "mingru-pytorch"],
    "rnnviz-minlstm": ["lstmcell-loop", "lstm-cudnn", "minlstm-log", "minlstm-pytorch"],
}


class CellLoop(nn.Module):
    """x [T, B, H] -> the stacked h_t of a Python loop over an nn.GRUCell / nn.LSTMCell."""

    def __init__(self, cell: nn.Module):
        super().__init__()
        self.cell = cell

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.new_zeros(x.shape[1], self.cell.hidden_size)
        state: Any = (h, h) if isinstance(self.cell, nn.LSTMCell) else h
        outs = []
        for t in range(x.shape[0]):
            state = self.cell(x[t], state)
            outs.append(state[0] if isinstance(state, tuple) else state)
        return torch.stack(outs)


class BatchFirst(nn.Module):
    """Runs a batch-first module on time-major x (the transpose is part of the step)."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.transpose(0, 1)).transpose(0, 1)


def _model(method: str, H: int, device: torch.device) -> nn.Module:
    from rnnviz.models import MinGRU, MinLSTM

    if method == "rnnviz-mingru":
        return MinGRU(H, H).to(device)
    if method == "rnnviz-minlstm":
        return MinLSTM(H, H).to(device)
    if method == "mingru-log":
        return MinGRU(H, H, mode="log", positive=True).to(device)
    if method == "minlstm-log":
        return MinLSTM(H, H, mode="log", positive=True).to(device)
    if method == "mingru-pytorch":
        from minGRU_pytorch import minGRU  # noqa: PLC0415 - optional baseline

        return BatchFirst(minGRU(H)).to(device)
    if method == "minlstm-pytorch":
        from minGRU_pytorch.minLSTM import minLSTM  # noqa: PLC0415 - optional baseline

        return BatchFirst(minLSTM(H)).to(device)
    if method == "gru-cudnn":
        return nn.GRU(H, H).to(device)
    if method == "lstm-cudnn":
        return nn.LSTM(H, H).to(device)
    if method == "grucell-loop":
        return CellLoop(nn.GRUCell(H, H)).to(device)
    if method == "lstmcell-loop":
        return CellLoop(nn.LSTMCell(H, H)).to(device)
    raise ValueError(method)


def _first(out: Any) -> torch.Tensor:
    return out[0] if isinstance(out, tuple) else out


def _autocast(device: torch.device, dtype: str):
    if dtype == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return torch.autocast(device.type, enabled=False)


def train_step(model: nn.Module, x: torch.Tensor, dtype: str) -> Callable[[], Any]:
    """forward + backward: the gradients of every parameter and of x."""
    params = [p for p in model.parameters() if p.requires_grad]
    grad: dict[str, torch.Tensor] = {}

    def fn():
        with _autocast(x.device, dtype):
            out = _first(model(x))
        if "g" not in grad:  # the output gradient: random, made once
            grad["g"] = torch.randn_like(out)
        return torch.autograd.grad(out, params + [x], grad["g"])

    return fn


def probe_pkg() -> str | None:
    """None if ``mingru-pytorch`` imports, else why not."""
    def imp():
        from minGRU_pytorch import minGRU  # noqa: F401, PLC0415
        from minGRU_pytorch.minLSTM import minLSTM  # noqa: F401, PLC0415

    return record_failure(imp)


def _loop_skip(T: int, B: int, H: int, quick: bool, spent: float) -> str | None:
    if quick:
        return None
    if T not in LOOP_TS.get((B, H), []):
        return (f"skipped: a Python loop over {T} steps at B={B}, H={H} takes seconds per call; "
                f"timed at T in {LOOP_TS.get((B, H), [])}")
    if spent > LOOP_BUDGET_S:
        return f"skipped: the loops had used their {LOOP_BUDGET_S:.0f} s time budget"
    return None


def model_rows(quick: bool, device: torch.device, pkg_error: str | None) -> list[dict]:
    ts, shapes, dtypes = (env_lengths(TS), SHAPES, DTYPES) if not quick else ([64], [(4, 32)], ["fp32"])
    rows: list[dict] = []
    loop_spent = 0.0
    for dt in dtypes:
        for B, H in shapes:
            for T in ts:
                x = torch.randn(T, B, H, device=device, requires_grad=True)
                group, fns = [], {}
                for method in FAST + LOOPS:
                    row = {"method": method, "pass": "fwd+bwd", "dtype": dt, "B": B, "T": T,
                           "H": H, "ms": None, "error": None}
                    loop = method in LOOPS
                    skip = _loop_skip(T, B, H, quick, loop_spent) if loop else None
                    if method.endswith("-pytorch") and pkg_error is not None:
                        row["error"] = pkg_error
                    elif skip:
                        row["error"] = skip
                    else:
                        t0 = time.perf_counter()
                        fn: dict[str, Callable] = {}
                        row["error"] = record_failure(
                            lambda: fn.setdefault("f", train_step(_model(method, H, device), x, dt))())
                        if row["error"] is None:
                            fns[method] = fn["f"]  # timed below, in turns with the others
                        if loop:
                            loop_spent += time.perf_counter() - t0
                    group.append(row)
                # every method in turns (time_in_rounds), the loops too (one call a round: the
                # probe warmed them): each ratio comes from the same moments of the host
                t0 = time.perf_counter()
                record_rounds(group, time_in_rounds(fns, device, warmup=1, budget_ms=100.0,
                                                    each_round=LOOPS))
                if any(m in fns for m in LOOPS):
                    loop_spent += time.perf_counter() - t0
                fns.clear()
                for row in group:
                    _progress(row)
                _derive(group)
                rows += group
                save_partial("mingru", rows)
                del x
                if device.type == "cuda":
                    torch.cuda.empty_cache()
    return rows


def _progress(row: dict) -> None:
    """One line per measurement as it lands."""
    ms = "-" if row["ms"] is None else f"{row['ms']:.3f} ms"
    print(f"  {row['method']} {row['dtype']} B={row.get('B')} T={row.get('T')} H={row.get('H')}: "
          f"{ms}{'  ' + row['error'][:80] if row['error'] else ''}", flush=True)


def _derive(group: list[dict]) -> None:
    ms = {r["method"]: r["ms"] for r in group}
    for r in group:
        for other in BASELINES.get(r["method"], []):
            if r["ms"] and ms.get(other):
                r[f"speedup_vs_{other}"] = ms[other] / r["ms"]


class FusedCalls(NamedTuple):
    """minGRU's fused kernels on one problem's tensors: ``fwd(cfg=None)`` writes ``out`` (h)
    from the pre-activations (k, hc), ``bwd(cfg=None)`` writes their gradients into ``dP``."""

    fwd: Callable[..., Any]
    bwd: Callable[..., Any]
    k: torch.Tensor
    hc: torch.Tensor
    out: torch.Tensor
    dP: torch.Tensor


def fused_calls(B: int, T: int, H: int, device: torch.device,
                dtype: torch.dtype = torch.float32) -> FusedCalls:
    """The fused kernels' calls on random time-major pre-activations [B, T, 2H] (as the
    model lays them out) and a random output gradient, each call taking a ``ScanConfig``."""
    from rnnviz.kernels.mingru import min_rnn_bwd, min_rnn_fwd

    P = torch.randn(T, B, 2 * H, device=device, dtype=dtype).transpose(0, 1)
    k, hc = P[..., :H], P[..., H:]
    out = torch.empty(T, B, H, device=device, dtype=dtype).transpose(0, 1)
    go = torch.randn_like(out)
    dP = torch.empty_like(P)

    def fwd(cfg=None):
        min_rnn_fwd(k, None, hc, None, out, kind="mingru", positive=False, reverse=False,
                    config=cfg)

    def bwd(cfg=None):
        min_rnn_bwd(k, None, hc, None, out, go, dP[..., :H], None, dP[..., H:], kind="mingru",
                    positive=False, reverse=False, config=cfg)

    return FusedCalls(fwd, bwd, k, hc, out, dP)


def kernel_rows(quick: bool, device: torch.device, copy_gbs: float) -> list[dict]:
    """The fused recurrence alone (fp32), in GB/s against the copy bandwidth, beside the
    unfused route (gates in torch, then ``linear_scan``'s kernel) and a block-size sweep."""
    if device.type != "cuda":
        return [{"method": "rnnviz-mingru", "scope": "kernel", "pass": "fwd", "dtype": "fp32",
                 "ms": None, "error": "skipped: the Triton kernels need a CUDA GPU"}]
    from rnnviz.kernels.linear_scan import tile_config
    from rnnviz.ops.linear_scan import linear_scan
    from rnnviz.ops.mingru.gates import coefficients

    rows = []
    for B, H in SHAPES:
        T = 4096
        fwd, bwd, k, hc, _, _ = fused_calls(B, T, H, device)
        n, e = B * T * H, 4

        def unfused():
            a, w = coefficients("mingru", k, None)
            return linear_scan(a, w * hc)

        cases = [("fwd", "fused: reads k, hc; writes h", fwd, 3 * n * e),
                 ("bwd", "fused: reads k, hc, h, dh; writes dk, dhc", bwd, 6 * n * e),
                 ("fwd", "unfused: torch gates, then the scan kernel", unfused, 3 * n * e)]
        for ps, what, call, nbytes in cases:
            row = {"method": "rnnviz-mingru", "scope": "kernel", "what": what, "pass": ps,
                   "dtype": "fp32", "B": B, "T": T, "H": H, "ms": None, "error": None}
            err = record_failure(call)
            if err is None:
                row["ms"] = time_ms(call, device, warmup=2, budget_ms=150.0)
                row["gbs"] = nbytes / (row["ms"] * 1e-3) / 1e9
                row["frac_copy"] = row["gbs"] / copy_gbs
            else:
                row["error"] = err
            rows.append(row)
            _progress(row)
        if not quick and os.environ.get("RNNVIZ_BENCH_SWEEP", "1") != "0":  # block sizes
            for path, rows_, w, bd, st in SWEEP[(B, H)]:
                cfg = tile_config(path, T, H, 4, rows_, w, bd, st)
                row = {"method": "rnnviz-mingru", "scope": "sweep", "pass": "fwd+bwd",
                       "dtype": "fp32", "B": B, "T": T, "H": H, "path": path,
                       "block_t": cfg.block_t, "block_d": cfg.block_d, "block_s": cfg.block_s,
                       "num_warps": w, "stages": cfg.stages, "ms": None, "error": None}
                both = lambda cfg=cfg: (fwd(cfg), bwd(cfg))  # noqa: E731
                err = record_failure(both)
                if err is None:
                    row["ms"] = time_ms(both, device, warmup=2, budget_ms=100.0)
                else:
                    row["error"] = err
                rows.append(row)
                _progress(row)
    rows.append({"method": "copy", "pass": "fwd", "dtype": "fp32", "ms": None, "error": None,
                 "gbs": copy_gbs, "frac_copy": 1.0})
    return rows


def run(quick: bool) -> tuple[list[dict], dict]:
    device = bench_device()  # tf32 off: the same precision for every method
    pkg_error = probe_pkg()
    copy_gbs = copy_bandwidth_gbs(device)
    rows = kernel_rows(quick, device, copy_gbs)
    rows += model_rows(quick, device, pkg_error)
    extra = {"tf32": False if device.type == "cuda" else None, "copy_gbs": copy_gbs,
             "mingru_pytorch_error": pkg_error, "targets": targets(rows)}
    return rows, extra


def targets(rows: list[dict]) -> dict:
    """The issue's targets read off the rows: rnnviz-mingru at T = 4096, B = 64, H = 128."""
    out: dict[str, Any] = {}
    for r in rows:
        if (r["method"] in BASELINES and r.get("scope") is None and r.get("T") == 4096
                and r.get("B") == 64 and r.get("H") == 128):
            for k, v in r.items():
                if k.startswith("speedup_vs_"):
                    out[f"{r['method']} {r['dtype']} {k}"] = round(v, 2)
    return out


def table(rows: list[dict]) -> str:
    lines = [f"{'method':<16} {'pass':<7} {'dtype':<5} {'B':>3} {'T':>6} {'H':>5} {'ms':>10}  notes"]
    for r in rows:
        ms = "-" if r["ms"] is None else f"{r['ms']:.3f}"
        notes = []
        if r.get("scope") == "kernel" and r.get("gbs"):
            notes.append(f"{r['what']}: {r['gbs']:.0f} GB/s = {r['frac_copy']:.0%} of copy")
        elif r.get("scope") == "sweep":
            notes.append(f"{r['path']} block_t={r['block_t']} block_d={r['block_d']} "
                         f"block_s={r['block_s']} warps={r['num_warps']} "
                         f"stages={r.get('stages', 1)}")
        elif r["method"] == "copy":
            notes.append(f"copy {r['gbs']:.0f} GB/s")
        for k, v in r.items():
            if k.startswith("speedup_vs_"):
                notes.append(f"x{v:.1f} vs {k[11:]}")
        if r["error"]:
            notes.append(f"error: {r['error'][:90]}")
        lines.append(f"{r['method']:<16} {r['pass']:<7} {r['dtype']:<5} {r.get('B', ''):>3} "
                     f"{r.get('T', ''):>6} {r.get('H', ''):>5} {ms:>10}  {'; '.join(notes)}")
    return "\n".join(lines)
