"""Notebook 7's section on memory layout: where each (t, d) of a sequence lives in memory, what
one load of each scan kernel covers, and the race on the same memory with accelerated-scan:
its kernels on the GPU alone (the time kernel's sweep, graph replays) and its calls eagerly
(the scan benchmark, back to back); and, for few rows, the two ways the time kernel joins
the parts a row is cut into, timed side by side."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.bench.core import load_result, shipped_results
from rnnviz.course.compare import colour, style
from rnnviz.course.reference import Reference, shipped_file

__all__ = ["LAYOUTS", "address", "layout_figure", "layout_race_rows", "layout_race_figure",
           "kernel_race_rows", "kernel_race_figure", "JOINS", "join_rows", "join_figure"]

# name -> (what it is, the kernel that reads it, the load it makes: steps x channels)
LAYOUTS = {
    "[B, T, D]": ("a time step's D channels side by side (nn.LSTM, batch_first)",
                  "the channel walk (chunk.py)"),
    "[B, D, T]": ("a channel's T steps side by side (nn.Conv1d)",
                  "the time kernel (timelast.py)"),
}
# the race's methods: (bench method, variant) -> label
RACE = {("rnnviz-scan", None): "rnnviz on [B, T, D]", ("rnnviz-time", None): "rnnviz on [B, D, T]",
        ("accelerated-scan", "scalar"): "accelerated-scan (scalar) on [B, D, T]",
        ("accelerated-scan", "warp"): "accelerated-scan (warp) on [B, D, T]"}
SCAN_BENCH = "scan-h200-time"  # the bench run with rnnviz-time beside accelerated-scan
# scripts/scan_time_sweep.py --baselines on the H200: every candidate config of the time kernel
# and accelerated-scan's scalar kernel on the same memory, as graph replays
TIME_SWEEP = "scan-time-sweep-h200"
# the same sweep at few rows, both joins of a row's parts among the candidates
JOIN_SWEEP = "scan-time-sweep-h200-lookback"
# how a config's rows are walked (``launch_time.time_parts``) -> (label, colour, marker)
JOINS = {"one": ("one part per row, one launch", "#7f7f7f", "diamond"),
         "reduce": ("parts joined by reduce-then-scan, three launches", "#1f77b4", "circle"),
         "lookback": ("parts joined by the look-back, one launch, each part read twice",
                      "#ff7f0e", "square"),
         "held": ("parts of one chunk joined by the look-back, the chunk held: one read",
                  "#d62728", "x")}
ELEM = {"float32": 4, "bfloat16": 2}


def address(layout: str, t: int, d: int, T: int, D: int) -> int:
    """Element offset of step t, channel d of one sequence (batch row 0) in ``layout``."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {list(LAYOUTS)}, got {layout!r}")
    return t * D + d if layout == "[B, T, D]" else d * T + t


def layout_figure(T: int = 16, D: int = 6, load_steps: int = 4, load_channels: int = 4
                  ) -> go.Figure:
    """Each (t, d) cell coloured and labelled by its memory offset, in both layouts, with the
    cells of one wide load outlined: ``load_steps`` x ``load_channels`` of the channel walk's
    chunk (contiguous along d) on [B, T, D]; one channel's ``load_steps * load_channels``
    steps on [B, D, T], what the time kernel reads in one go."""
    if not (1 <= load_steps <= T and 1 <= load_channels <= D and load_steps * load_channels <= T):
        raise ValueError(f"the loads must fit the grid: load_steps <= T, load_channels <= D and "
                         f"load_steps * load_channels <= T, got {load_steps}, {load_channels} "
                         f"for T={T}, D={D}")
    fig = make_subplots(1, 2, horizontal_spacing=0.08,
                        subplot_titles=[f"{k}: {v[0]}" for k, v in LAYOUTS.items()])
    loads = {"[B, T, D]": (load_steps, load_channels), "[B, D, T]": (load_steps * load_channels, 1)}
    for col, layout in enumerate(LAYOUTS, start=1):
        z = [[address(layout, t, d, T, D) for t in range(T)] for d in range(D)]
        fig.add_trace(go.Heatmap(z=z, x=list(range(T)), y=list(range(D)), text=z,
                                 texttemplate="%{text}", colorscale="Greens", showscale=False,
                                 hovertemplate="t=%{x}, d=%{y}: offset %{z}<extra>" + layout
                                 + "</extra>"), 1, col)
        steps, chans = loads[layout]
        fig.add_shape(type="rect", x0=-0.5, x1=steps - 0.5, y0=-0.5, y1=chans - 0.5,
                      line=dict(color=colour("rnnviz-scan") or "#2ca02c", width=4),
                      row=1, col=col)
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", showlegend=True,
                                 line=dict(color="#2ca02c", width=4),
                                 name=f"{layout}: one load of {LAYOUTS[layout][1]}, "
                                 f"{steps} steps x {chans} channel{'s' * (chans > 1)}"), 1, col)
    fig.update_xaxes(title_text="time step t")
    fig.update_yaxes(title_text="channel d", autorange="reversed")
    return style(fig, "Where (t, d) lives in memory, and what one load reads",
                 ["offsets of one sequence; a load is wide when its offsets are consecutive"],
                 height=380)


def layout_race_rows(ref: Reference) -> list[dict[str, Any]]:
    """Per (dtype, pass, shape) of a scan bench file with ``rnnviz-time`` rows: ms of each
    method of ``RACE`` that ran."""
    cases: dict[tuple, dict[str, Any]] = {}
    for r in ref.rows:
        label = RACE.get((r.get("method"), r.get("variant")))
        if label is None or not r.get("ms") or "B" not in r:
            continue
        key = (r["dtype"], r["pass"], r["B"], r["T"], r["D"])
        c = cases.setdefault(key, {"dtype": r["dtype"], "pass": r["pass"], "B": r["B"],
                                   "T": r["T"], "D": r["D"]})
        c[label] = r["ms"]
    return [c for c in cases.values() if RACE[("rnnviz-time", None)] in c]


def layout_race_figure(ref: Reference | None = None, dtype: str = "float32",
                       pass_: str = "fwd") -> go.Figure:
    """Time of one call of each method, per shape, on the layout each reads: rnnviz on both,
    accelerated-scan on its own [B, D, T] (the same memory as rnnviz-time's)."""
    ref = ref or shipped_file(SCAN_BENCH)
    rows = [r for r in layout_race_rows(ref) if r["dtype"] == dtype and r["pass"] == pass_]
    rows.sort(key=lambda r: (r["B"] * r["D"], r["T"]))
    x = [f"B={r['B']}, D={r['D']}<br>T={r['T']}" for r in rows]
    fig = go.Figure()
    for (method, variant), label in RACE.items():
        ys = [1e3 * r[label] if label in r else None for r in rows]
        if any(y is not None for y in ys):
            fig.add_bar(x=x, y=ys, name=label, marker_color=colour(method),
                        marker_pattern_shape="/" if variant == "warp" else "",
                        hovertemplate="%{x}: %{y:.1f} µs<extra>" + label + "</extra>")
    fig.update_layout(barmode="group", yaxis_type="log", yaxis_title="µs per call (log scale)")
    prov = ref.provenance
    return style(fig, f"Calls back to back, the op and its autograd included: "
                 f"{'forward' if pass_ == 'fwd' else pass_}, {dtype}",
                 [f"{ref.gpu}, {ref.date}: {prov.get('command', '')[:90]}"])


def kernel_race_rows(data: dict[str, Any], gpu: str = "H200") -> list[dict[str, Any]]:
    """Per shape and dtype of a time-kernel sweep (``scripts/scan_time_sweep.py``, its
    "baselines" measured): the GPU's time (graph replays, µs) of the configs ``gpu``'s tuned
    table picks, forward and forward + backward, beside accelerated-scan's scalar kernel's."""
    from rnnviz.kernels.linear_scan.launch import _tuned_for
    from rnnviz.kernels.linear_scan.launch_time import tuned_time_config

    table = _tuned_for(gpu)
    fields = ("block_t", "block_r", "num_warps", "stages", "programs")
    out = []
    for base in data.get("baselines", []):
        if "fwd graph" not in base:
            continue
        B, T, D, dtype = base["B"], base["T"], base["D"], base["dtype"]
        mine = [r for r in data["rows"] if (r["B"], r["T"], r["D"], r["dtype"]) == (B, T, D, dtype)
                and not r.get("error")]

        def timed(backward: bool) -> float | None:
            cfg = tuned_time_config(table, B, T, D, ELEM[dtype], backward)
            want = {k: getattr(cfg, k) for k in fields} if cfg else None
            hit = [r for r in mine if want and all(r[k] == v for k, v in want.items())]
            return hit[0]["bwd graph" if backward else "fwd graph"] if hit else None

        fwd, bwd = timed(False), timed(True)
        if fwd is None or bwd is None:
            continue
        out.append({"B": B, "T": T, "D": D, "dtype": dtype, "rnnviz fwd": 1e3 * fwd,
                    "rnnviz fwd+bwd": 1e3 * (fwd + bwd),
                    "accelerated-scan fwd": 1e3 * base["fwd graph"],
                    "accelerated-scan fwd+bwd": 1e3 * base["fwd+bwd graph"]})
    return out


def kernel_race_figure(data: dict[str, Any] | None = None, dtype: str = "float32") -> go.Figure:
    """accelerated-scan's time over rnnviz's, the kernels alone on the same [B, D, T] memory,
    per shape, forward and forward + backward: above 1, rnnviz's kernels are faster."""
    data = data or load_result(shipped_results()[TIME_SWEEP])
    rows = [r for r in kernel_race_rows(data) if r["dtype"] == dtype]
    rows.sort(key=lambda r: (r["B"] * r["D"], r["T"]))
    x = [f"B={r['B']}, D={r['D']}<br>T={r['T']}" for r in rows]
    fig = go.Figure()
    for pss, pattern in (("fwd", ""), ("fwd+bwd", "/")):
        ratio = [r[f"accelerated-scan {pss}"] / r[f"rnnviz {pss}"] for r in rows]
        fig.add_bar(x=x, y=ratio, name={"fwd": "forward", "fwd+bwd": "forward + backward"}[pss],
                    marker_color=colour("rnnviz-time"), marker_pattern_shape=pattern,
                    text=[f"{v:.1f}x" for v in ratio], textposition="outside",
                    customdata=[[r[f"rnnviz {pss}"], r[f"accelerated-scan {pss}"]] for r in rows],
                    hovertemplate="%{x}: rnnviz %{customdata[0]:.1f} µs, accelerated-scan "
                    "%{customdata[1]:.1f} µs<extra></extra>")
    fig.add_hline(y=1, line=dict(color="#888", dash="dot"))
    fig.update_layout(barmode="group", yaxis_title="accelerated-scan's time / rnnviz's",
                      yaxis_type="log")
    prov = data.get("provenance", {})
    return style(fig, f"The kernels alone on [B, D, T] memory, {dtype}: how many times faster "
                 "rnnviz's are", [f"{(prov.get('gpu') or '').replace('NVIDIA ', '')}, "
                                  f"{str(prov.get('date', ''))[:10]}, CUDA-graph replays: "
                                  f"{prov.get('command', '')[:80]}"])


def _join(row: dict[str, Any]) -> tuple[str, int]:
    """(key of ``JOINS``, parts per row) of one sweep row's config at its shape."""
    from rnnviz.kernels.linear_scan import TimeConfig
    from rnnviz.kernels.linear_scan.launch_time import time_parts

    cfg = TimeConfig(row["block_t"], row["block_r"], row["num_warps"], row["stages"],
                     row["programs"], row.get("lookback", False))
    parts, seg = time_parts(cfg, row["B"], row["T"], row["D"])
    if parts == 1:
        return "one", 1
    if not cfg.lookback:
        return "reduce", parts
    return ("held" if seg == 1 else "lookback"), parts


def join_rows(data: dict[str, Any], dtype: str = "float32", pass_: str = "fwd"
              ) -> dict[tuple[int, int, int], dict[str, dict[int, float]]]:
    """Per shape (B, T, D) of a time-kernel sweep: per join (``JOINS``) and parts per row,
    the fastest candidate's GPU time (graph replays, µs) of ``pass_`` ("fwd" or "bwd")."""
    if pass_ not in ("fwd", "bwd"):
        raise ValueError(f"pass_ must be 'fwd' or 'bwd', got {pass_!r}")
    out: dict[tuple[int, int, int], dict[str, dict[int, float]]] = {}
    for r in data["rows"]:
        if r.get("error") or r["dtype"] != dtype or f"{pass_} graph" not in r:
            continue
        join, parts = _join(r)
        best = out.setdefault((r["B"], r["T"], r["D"]), {}).setdefault(join, {})
        us = 1e3 * r[f"{pass_} graph"]
        best[parts] = min(us, best.get(parts, us))
    return out


def join_figure(data: dict[str, Any] | None = None, dtype: str = "float32", pass_: str = "fwd"
                ) -> go.Figure:
    """Per shape, the GPU's time against the parts a row is cut into, for each way of joining
    them: where the single read of held chunks would pay, and what it costs in waiting."""
    data = data or load_result(shipped_results()[JOIN_SWEEP])
    shapes = join_rows(data, dtype, pass_)
    if not shapes:
        raise ValueError(f"no {dtype} rows in this sweep")
    keys = sorted(shapes, key=lambda k: (k[0] * k[2], k[1]))
    fig = make_subplots(1, len(keys), horizontal_spacing=0.06,
                        subplot_titles=[f"B={B}, D={D}, T={T}" for B, T, D in keys])
    for col, key in enumerate(keys, start=1):
        for join, (label, col_, marker) in JOINS.items():
            pts = sorted(shapes[key].get(join, {}).items())
            if not pts:
                continue
            fig.add_scatter(x=[p for p, _ in pts], y=[us for _, us in pts], name=label,
                            legendgroup=join, showlegend=col == 1, mode="lines+markers",
                            line=dict(color=col_), marker=dict(symbol=marker, size=9),
                            hovertemplate="%{x} parts a row: %{y:.1f} µs<extra>" + label
                            + "</extra>", row=1, col=col)
    fig.update_xaxes(type="log", title_text="parts a row is cut into")
    fig.update_yaxes(rangemode="tozero")
    fig.update_yaxes(title_text="µs, the fastest config", row=1, col=1)
    prov = data.get("provenance", {})
    return style(fig, f"Joining a row's parts on [B, D, T] memory: "
                 f"{'forward' if pass_ == 'fwd' else 'backward'}, {dtype}",
                 [f"{(prov.get('gpu') or '').replace('NVIDIA ', '')}, "
                  f"{str(prov.get('date', ''))[:10]}, CUDA-graph replays, the fastest "
                  f"candidate at each point: {prov.get('command', '')[:60]}"], height=420)
