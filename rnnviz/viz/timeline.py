"""Where the time went: the stages the ops timed (GEMM, recurrence kernel, scan, Jacobians).

Stage records (kind "stage", data {"ms"}, meta {"stage", "start_ms", "depth"}) come from
``with rnnviz.trace.stage(op, name, device):`` inside the ops: CUDA events on a GPU,
``time.perf_counter`` on a CPU. Left: the timeline, one bar per stage from its start, stages
inside stages drawn one row further down. Right: the total time per (op, stage).
Records made without a start time (older traces) are laid end to end in record order.
"""
from __future__ import annotations

from collections import defaultdict

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.viz import theme
from rnnviz.viz.records import TraceLike, select

__all__ = ["timeline"]


def timeline(trace: TraceLike) -> go.Figure:
    """A timeline and a total per stage of the "stage" records in ``trace``."""
    recs = select(trace, None, "stage", "run an rnnviz op inside rnnviz.trace() (every op "
                  "times its stages)")
    for r in recs:
        if not isinstance(r.data.get("ms"), (int, float)):
            raise ValueError(f"stage record {r.index} has no time in milliseconds "
                             f"(data['ms'] = {r.data.get('ms')!r}); read the trace after "
                             f"its `with` block has closed")
    starts: list[float] = []
    clock = 0.0
    timed = all(isinstance(r.meta.get("start_ms"), (int, float)) for r in recs)
    for r in recs:
        if timed:
            starts.append(float(r.meta["start_ms"]))
        else:  # end to end, in the order the stages finished
            starts.append(clock)
            clock += float(r.data["ms"])
    t0 = min(starts)
    labels = [f"{r.op}.{r.meta.get('stage', '?')}"
              + ("" if r.layer is None else f" (layer {r.layer})") for r in recs]
    rows = ["\u2514 " * int(r.meta.get("depth", 0)) + r.op for r in recs]

    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.16,
                        subplot_titles=("timeline" + ("" if timed else " (stages end to end)"),
                                        "total per stage"))
    ops = sorted({r.op for r in recs})
    for op in ops:
        idx = [i for i, r in enumerate(recs) if r.op == op]
        fig.add_trace(go.Bar(
            base=[starts[i] - t0 for i in idx], x=[float(recs[i].data["ms"]) for i in idx],
            y=[rows[i] for i in idx], orientation="h", name=op,
            marker=dict(color=theme.op_colour(op), line=dict(color="white", width=1)),
            text=[labels[i] for i in idx], textposition="inside", insidetextanchor="middle",
            hovertemplate="%{text}: %{x:.3f} ms from %{base:.3f} ms<extra></extra>"),
            row=1, col=1)
    totals: dict[str, float] = defaultdict(float)
    for r, lab in zip(recs, labels):
        totals[lab] += float(r.data["ms"])
    order = sorted(totals, key=totals.get)
    fig.add_trace(go.Bar(
        x=[totals[k] for k in order], y=order, orientation="h", showlegend=False,
        marker_color=[theme.op_colour(k.split(".")[0]) for k in order],
        hovertemplate="%{y}: %{x:.3f} ms<extra></extra>"), row=1, col=2)
    device = sorted({str(r.meta.get("device")) for r in recs})
    fig.update_xaxes(title_text="ms since the first stage", row=1, col=1)
    fig.update_xaxes(title_text="ms (total)", row=1, col=2)
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    fig.update_layout(
        barmode="overlay",
        title_text=f"Stage times ({len(recs)} stages, device {', '.join(device)})"
                   "<br><sup>CUDA events on a GPU, wall clock on a CPU</sup>",
        height=max(360, 40 * len(set(rows)) + 220),
        meta={"stages": len(recs), "timed": timed, "total_ms": sum(totals.values())},
    )
    return theme.apply(fig)
