"""Notebook 2's look inside the SRU kernel: how far ahead of the recurrence its loads run.

One thread owns one hidden unit and walks t. Its loads (U's three parts and x at step t) do
not depend on c, so they can be issued long before step t's arithmetic needs them; what a
thread waits for is then the memory's latency, once per loop turn. The bandwidth a
latency-bound walk reaches is roughly (bytes in flight) / latency (Little's law), and the
kernel has few threads (batch x hidden = 32768 at B = 32, d = 1024: about 8 warps per SM),
so the bytes in flight must come from depth: loads issued one, two or three 8-step turns
ahead. The shipped run on the H200 timed the three side by side
(``benchmarks/sru-kernels-prefetch3-h200.json``); two turns is the kernel rnnviz ships.
"""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from rnnviz.course.compare import style
from rnnviz.course.reference import Reference, shipped_file

__all__ = ["PREFETCH_RUN", "prefetch_rows", "prefetch_figure"]

PREFETCH_RUN = "sru-kernels-prefetch3-h200"
DEPTH_COLOURS = {1: "#9ecae1", 2: "#08519c", 3: "#6baed6"}


def prefetch_rows(ref: Reference) -> list[dict[str, Any]]:
    """The forward kernel's rows of a run that timed several load depths: one per (dtype,
    inference/training, depth) with its ms and fraction of the copy bandwidth."""
    rows = []
    for r in ref.rows:
        if r.get("scope") == "recurrence kernel" and r.get("pass") == "fwd" and r.get("prefetch"):
            rows.append({"case": f"{'fp32' if r['dtype'] == 'float32' else 'bf16'} "
                                 f"{r['what'].split(' (')[0]}",
                         "prefetch": r["prefetch"], "ms": r["ms"], "frac_copy": r["frac_copy"]})
    if not rows:
        raise ValueError(f"{ref.name} has no forward-kernel rows timed at several load depths")
    return rows


def prefetch_figure(ref: Reference | None = None) -> go.Figure:
    """Per case (fp32/bf16, inference/training forward): the fraction of the copy bandwidth
    at each depth of loads in flight, labelled with the kernel's time."""
    ref = ref or shipped_file(PREFETCH_RUN)
    rows = prefetch_rows(ref)
    cases = list(dict.fromkeys(r["case"] for r in rows))
    fig = go.Figure()
    for depth in sorted({r["prefetch"] for r in rows}):
        mine = {r["case"]: r for r in rows if r["prefetch"] == depth}
        fig.add_trace(go.Bar(
            x=cases, y=[100 * mine[c]["frac_copy"] if c in mine else None for c in cases],
            name=f"loads {depth} turn{'s' if depth > 1 else ''} ({8 * depth} steps) ahead",
            marker_color=DEPTH_COLOURS.get(depth, "#999999"), textposition="outside",
            text=[f"{mine[c]['ms']:.3f} ms" if c in mine else "" for c in cases]))
    fig.add_hline(y=80, line_dash="dot", annotation_text="the issue's target: 80% of copy")
    fig.update_layout(barmode="group", yaxis_title="% of the copy bandwidth", yaxis_range=[0, 100])
    return style(fig, "SRU recurrence kernel, forward, B=32, T=1024, d=1024: loads in flight",
                 [f"{ref.label}: {ref.provenance.get('command', '')[:80]}"])
