"""``python -m rnnviz.bench deer``: DEER on a GRU cell against the sequential loop and cuDNN.

For D in {1, 2, 4, 8, 16, 32, 64}, T in {1e3, 1e4, 1e5, 1e6}, batch 1 and 16, and for the
issue's "quasi at D <= 256" target D in {128, 256} at T = 1e4 (forward; quasi, cuDNN and
the sequential loop only), float32, tf32 off for every GEMM (the dense scan's chunk
products use tf32 tensor cores at D >= 32, which only slows Newton's convergence; f is
always exact):

- "deer-newton", "deer-quasi", "deer-damped": ``rnnviz.deer.evaluate`` forward ("fwd") and
  forward + implicit backward of sum(h * w) ("fwd+bwd"), with iterations, converged and the
  max error against the reference solution (cuDNN nn.GRU with the same weights, tf32 off; run
  in time pieces carrying the state where cuDNN refuses the whole length), and whether the
  iterations ran as CUDA graphs ("graph", ``rnnviz.deer.graph``). Every timing follows a
  check run and a warm-up, so it times repeated solves: automatically quasi is graphed
  from its first solve and newton from its second, and both replay the graphs kept from
  the warm-up ("graph_captures" 0 in the last timed solve).
- "deer-newton-nograph", "deer-quasi-nograph": the same forward with ``graph=False`` (the
  eager loop) at T = 1e4: what the graphs save.
- "deer-quasi-exact": quasi's forward at the wide states with ``fast_start=False`` (every
  evaluation exact): what the fast start saves.
- "sequential": a Python loop over nn.GRUCell (autograd through it for fwd+bwd).
- "gru-cudnn": nn.GRU (cuDNN), its failures recorded as they come.

Trimmed, so that the suite fits its time budget (recorded in extra["trimmed"]):
- newton/damped, and every fwd+bwd, where B*T*D^3 > ``DENSE_WORK_CAP`` (dense chunk products
  cost T D^3; the implicit backward solves with the dense Jacobians for every method).
- the sequential loop (launch-bound: about the same time per step at every D and B) is
  measured at T = 1e3 and 1e4 for every (D, B), once (reps = 1) at T = 1e5 for D <= 8 and
  at T = 1e6 for D = 8;
  its fwd+bwd at T = 1e3. Elsewhere a row's "sequential_ms" is None and its
  "speedup_vs_sequential_est" uses the per-step time measured at the largest measured T for
  that (D, B, pass) times T, with "sequential_basis" saying exactly that ("estimated: ...").

``--quick``: a CPU smoke run on small shapes.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable

import torch
import torch.nn as nn

from rnnviz.bench.core import bench_device, record_failure, save_partial, time_ms
from rnnviz.deer.graph import GRAPH_METHODS

DS = [1, 2, 4, 8, 16, 32, 64]
TS = [1_000, 10_000, 100_000, 1_000_000]
BS = [1, 16]
METHODS = ["newton", "quasi", "damped"]
WIDE_DS = [128, 256]         # quasi forward only (the D <= 256 target), at WIDE_TS
WIDE_TS = [10_000]
WIDE_METHODS = ["quasi"]
NOGRAPH_T = [10_000]         # graphed methods' forward also with graph=False at these T
DENSE_WORK_CAP = 3e11        # B*T*D^3 above which newton/damped are not run
SEQ_T = [1_000, 10_000]      # sequential loop measured at every (D, B) for these T
# ... and once (reps=1) at these T for these D: the 1000x target (D <= 8, T >= 1e5)
# against measured loops, the T = 1e6 one checking that the loop's time per step holds
SEQ_ONCE = {100_000: [1, 2, 4, 8], 1_000_000: [8]}
SEQ_BWD_T = [1_000]
QUICK = dict(DS=[2, 8], TS=[256, 1024], BS=[1, 4], SEQ_T=[256, 1024], SEQ_ONCE={},
             SEQ_BWD_T=[256], WIDE_DS=[16], WIDE_TS=[256], NOGRAPH_T=[256])


def _grid_from_env(g: dict[str, Any]) -> None:
    """RNNVIZ_DEER_GRID="DS=2,8;TS=1000,100000;BS=1;WIDE_DS=" narrows the grid (a partial
    run; an empty list, like WIDE_DS= here, drops that part)."""
    spec = os.environ.get("RNNVIZ_DEER_GRID")
    for part in filter(None, (spec or "").split(";")):
        k, v = part.split("=")
        g[k.strip()] = [int(float(a)) for a in v.split(",") if a.strip()]


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _once_ms(fn: Callable[[], Any], dev: torch.device) -> float:
    _sync(dev)
    t0 = time.perf_counter()
    fn()
    _sync(dev)
    return (time.perf_counter() - t0) * 1e3


def _time(fn: Callable[[], Any], dev: torch.device, warm: bool = True) -> tuple[float, int]:
    """(median ms, reps): one warm-up (compiles), then one timed run; if that took over
    50 ms it is the answer (reps=1), else the median of ``time_ms`` (reps 0 means
    "as many as fit in 150 ms, at least 3")."""
    if warm:
        fn()
    first = _once_ms(fn, dev)
    if first > 50:
        return first, 1
    return time_ms(fn, dev, warmup=0, budget_ms=100), 0


def _reference(cell: nn.GRUCell, x: torch.Tensor) -> tuple[torch.Tensor | None, str | None]:
    """cuDNN nn.GRU with the cell's weights (tf32 off); in time pieces carrying the state if
    it refuses the whole length; (None, why) if it refuses every piece size."""
    D = cell.hidden_size
    gru = nn.GRU(cell.input_size, D, batch_first=True).to(x.device)
    with torch.no_grad():
        for a, b in (("weight_ih_l0", "weight_ih"), ("weight_hh_l0", "weight_hh"),
                     ("bias_ih_l0", "bias_ih"), ("bias_hh_l0", "bias_hh")):
            getattr(gru, a).copy_(getattr(cell, b))
    prev = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    notes = []
    try:
        with torch.no_grad():
            for piece in (x.shape[1], 65536, 8192, 1024):
                if piece > x.shape[1]:
                    continue
                try:
                    outs, h = [], None
                    for s in range(0, x.shape[1], piece):
                        o, h = gru(x[:, s:s + piece].contiguous(), h)
                        outs.append(o)
                    note = "gru-cudnn" if piece == x.shape[1] else f"gru-cudnn in pieces of {piece} steps"
                    return torch.cat(outs, 1), "; ".join(notes + [note])
                except RuntimeError as e:
                    notes.append(f"cuDNN refused pieces of {piece} ({str(e).splitlines()[0][:80]})")
        return None, "; ".join(notes)
    finally:
        torch.backends.cudnn.allow_tf32 = prev


def _seq_fwd(cell, x):
    from rnnviz.deer import sequential

    with torch.no_grad():
        return sequential(cell, x)


def _seq_fwd_bwd(cell, x, w):
    from rnnviz.deer import sequential

    (sequential(cell, x) * w).sum().backward()


def _deer_fwd(cell, x, method, **options):
    from rnnviz.deer import evaluate

    with torch.no_grad():
        return evaluate(cell, x, method=method, **options)


def _deer_fwd_bwd(cell, x, w, method):
    from rnnviz.deer import evaluate

    h, info = evaluate(cell, x, method=method)
    (h * w).sum().backward()
    return info


def run(quick: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    dev = bench_device()  # tf32 off: the same precision for every method
    g = dict(DS=DS, TS=TS, BS=BS, SEQ_T=SEQ_T, SEQ_ONCE=SEQ_ONCE, SEQ_BWD_T=SEQ_BWD_T,
             WIDE_DS=WIDE_DS, WIDE_TS=WIDE_TS, NOGRAPH_T=NOGRAPH_T)
    if quick or dev.type != "cuda":
        g.update(QUICK)
    _grid_from_env(g)
    rows: list[dict[str, Any]] = []
    trimmed: list[str] = []
    seq_per_step: dict[tuple, tuple[float, int]] = {}  # (D, B, pass) -> (ms per step, at T)
    t_start = time.perf_counter()
    # (D, its T values, its DEER methods, its passes): the main grid, then the wide states
    cells = ([(D, g["TS"], METHODS, ("fwd", "fwd+bwd")) for D in g["DS"]]
             + [(D, g["WIDE_TS"], WIDE_METHODS, ("fwd",)) for D in g["WIDE_DS"]])
    for D, Ts, methods, passes in cells:
        for B in g["BS"]:
            torch.manual_seed(0)
            cell = nn.GRUCell(D, D).to(dev)
            for T in Ts:
                x = torch.randn(B, T, D, device=dev)
                w = torch.randn(B, T, D, device=dev)
                shape = {"B": B, "T": T, "D": D, "dtype": "fp32"}
                ref, ref_note = _reference(cell, x) if dev.type == "cuda" else (None, None)
                seq_h: dict[str, torch.Tensor] = {}
                # -- baselines -------------------------------------------------------------
                seq_ms: dict[str, float | None] = {"fwd": None, "fwd+bwd": None}
                for pas, Tlist, fn in (("fwd", g["SEQ_T"], lambda: seq_h.update(h=_seq_fwd(cell, x))),
                                       ("fwd+bwd", g["SEQ_BWD_T"], lambda: _seq_fwd_bwd(cell, x, w))):
                    once = T in g["SEQ_ONCE"] and D in g["SEQ_ONCE"][T] and pas == "fwd"
                    if (T not in Tlist and not once) or pas not in passes:
                        continue
                    _seq_fwd(cell, x[:, :100])  # warm-up on a few steps, not the whole T
                    if once:
                        ms, reps = _once_ms(fn, dev), 1
                    else:
                        ms, reps = _time(fn, dev, warm=False)
                    seq_ms[pas] = ms
                    seq_per_step[(D, B, pas)] = (ms / T, T)
                    if ref is None and pas == "fwd":
                        ref, ref_note = seq_h["h"], "the sequential loop"
                    rows.append({"method": "sequential", "pass": pas, **shape, "ms": ms,
                                 "reps": reps, "error": None})
                for pas in passes:
                    if dev.type != "cuda":
                        break
                    gru = nn.GRU(D, D, batch_first=True).to(dev)
                    if pas == "fwd":
                        fn = lambda: gru(x)  # noqa: E731
                    else:
                        xr = x.clone().requires_grad_()
                        fn = lambda: (gru(xr)[0] * w).sum().backward()  # noqa: E731
                    err = record_failure(fn)
                    ms = reps = None
                    if err is None:
                        with torch.no_grad() if pas == "fwd" else torch.enable_grad():
                            ms, reps = _time(fn, dev)
                    rows.append({"method": "gru-cudnn", "pass": pas, **shape, "ms": ms,
                                 "reps": reps, "error": err})
                    del gru
                # -- DEER ------------------------------------------------------------------
                # (method, pass, evaluate's options, row name suffix)
                variants = [(m, pas, {}, "") for m in methods for pas in passes]
                if T in g["NOGRAPH_T"]:
                    variants += [(m, "fwd", {"graph": False}, "-nograph")
                                 for m in methods if m in GRAPH_METHODS]
                if D in g["WIDE_DS"] and "quasi" in methods:
                    variants.append(("quasi", "fwd", {"fast_start": False}, "-exact"))
                for method, pas, opts, suffix in variants:
                    name = f"deer-{method}{suffix}"
                    # dense D x D work: newton/damped, and every method's backward
                    if (method != "quasi" or pas == "fwd+bwd") and B * T * D ** 3 > DENSE_WORK_CAP:
                        trimmed.append(f"{name} {pas} B={B} T={T} D={D}: B*T*D^3 = "
                                       f"{B * T * D ** 3:.2g} > {DENSE_WORK_CAP:.2g}")
                        continue
                    row: dict[str, Any] = {"method": name, "pass": pas, **shape}
                    holder: dict[str, Any] = {}
                    if pas == "fwd":
                        def fn(m=method, o=opts):
                            holder["h"], holder["info"] = _deer_fwd(cell, x, m, **o)
                    else:
                        def fn(m=method):
                            holder["info"] = _deer_fwd_bwd(cell, x, w, m)
                    err = record_failure(fn)
                    row["error"] = err
                    row["ms"] = row["reps"] = None
                    if err is None:
                        row["ms"], row["reps"] = _time(fn, dev)
                        info = holder["info"]
                        row.update(iterations=info["iterations"], converged=info["converged"],
                                   fallback=info["fallback"], chunks=info["chunks"],
                                   graph=info["graph"], fast=info["fast"],
                                   graph_captures=info.get("graph_captures"))
                        if pas == "fwd":
                            row["max_err"] = (None if ref is None else
                                              float((holder["h"] - ref).abs().max()))
                            row["reference"] = ref_note
                            if "h" in seq_h:
                                row["max_err_vs_sequential"] = float(
                                    (holder["h"] - seq_h["h"]).abs().max())
                    _speedups(row, seq_ms[pas], seq_per_step.get((D, B, pas)), rows, T)
                    rows.append(row)
                    holder.clear()
                del x, w, ref
                if dev.type == "cuda":
                    torch.cuda.empty_cache()
                save_partial("deer", rows)
                print(f"deer bench: D={D} B={B} T={T} done at {time.perf_counter() - t_start:.0f} s",
                      flush=True)
    extra = {"trimmed": trimmed, "wall_s": round(time.perf_counter() - t_start, 1),
             "grid": {k: (v if not isinstance(v, dict) else {str(a): b for a, b in v.items()})
                      for k, v in g.items()},
             "dense_work_cap": DENSE_WORK_CAP, "figure2": figure2_data(rows)}
    return rows, extra


def _speedups(row, seq_ms, per_step, rows, T) -> None:
    if row["ms"] is None:
        return
    if seq_ms is not None:
        row["sequential_ms"] = seq_ms
        row["sequential_basis"] = "measured"
        row["speedup_vs_sequential"] = seq_ms / row["ms"]
    elif per_step is not None:
        row["sequential_ms"] = None
        row["sequential_basis"] = (f"estimated: per-step time measured at T={per_step[1]} "
                                   f"times T={T} (the loop runs T identical steps); not measured")
        row["speedup_vs_sequential_est"] = per_step[0] * T / row["ms"]
    cud = [r for r in rows if r["method"] == "gru-cudnn" and r["pass"] == row["pass"]
           and r["B"] == row["B"] and r["T"] == row["T"] and r["D"] == row["D"]]
    if cud and cud[0]["ms"]:
        row["speedup_vs_gru-cudnn"] = cud[0]["ms"] / row["ms"]


def figure2_data(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The paper's figure 2: forward speedup of DEER over the sequential loop by D and T."""
    out = []
    for r in rows:
        if r["method"].startswith("deer-") and r["pass"] == "fwd" and r.get("ms"):
            s = r.get("speedup_vs_sequential", r.get("speedup_vs_sequential_est"))
            if s is not None:
                out.append({"method": r["method"], "B": r["B"], "D": r["D"], "T": r["T"],
                            "speedup": s, "estimated": "speedup_vs_sequential" not in r})
    return out


def figure2(result: dict[str, Any], method: str = "deer-newton", B: int = 1):
    """Plotly figure of ``figure2_data`` from a result JSON (``rnnviz.bench.core.load_result``):
    speedup over the sequential loop against T, one line per D (estimated points hollow)."""
    import plotly.graph_objects as go

    pts = [p for p in figure2_data(result["rows"]) if p["method"] == method and p["B"] == B]
    fig = go.Figure()
    for D in sorted({p["D"] for p in pts}):
        ps = sorted((p for p in pts if p["D"] == D), key=lambda p: p["T"])
        fig.add_trace(go.Scatter(
            x=[p["T"] for p in ps], y=[p["speedup"] for p in ps], mode="lines+markers",
            name=f"D={D}", marker=dict(symbol=["circle-open" if p["estimated"] else "circle"
                                               for p in ps], size=9)))
    fig.update_layout(title=f"{method} forward, batch {B}: speedup over the sequential loop",
                      xaxis=dict(type="log", title="sequence length T (log scale)"),
                      yaxis=dict(type="log", title="speedup (log scale)"))
    return fig


def table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'method':<20}{'pass':<9}{'B':>3}{'T':>9}{'D':>4}{'ms':>11}{'iters':>6}"
             f"{'max_err':>10}{'x seq':>10}{'x cudnn':>9}  note"]
    for r in rows:
        ms = "-" if r.get("ms") is None else f"{r['ms']:.3f}"
        sp = r.get("speedup_vs_sequential")
        est = sp is None and r.get("speedup_vs_sequential_est") is not None
        sp = r.get("speedup_vs_sequential_est") if est else sp
        sps = "-" if sp is None else f"{sp:.0f}{'~' if est else ''}"
        cu = r.get("speedup_vs_gru-cudnn")
        me = r.get("max_err")
        note = r.get("error") or ("not converged" if r.get("converged") is False else "")
        lines.append(f"{r['method']:<20}{r['pass']:<9}{r['B']:>3}{r['T']:>9}{r['D']:>4}{ms:>11}"
                     f"{r.get('iterations', ''):>6}{'' if me is None else f'{me:.1e}':>10}"
                     f"{sps:>10}{'-' if cu is None else f'{cu:.2f}':>9}  {note}")
    lines.append("(~ : speedup against a sequential time estimated from a shorter measured T)")
    return "\n".join(lines)
