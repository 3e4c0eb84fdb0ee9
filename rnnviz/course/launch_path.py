"""Notebook 7's look at the host's side of a small scan: where a call's microseconds go
before the GPU sees it, layer by layer, through Triton's launch and through the cached one.

At B = 1, T = 1024, D = 64 the kernel takes about 11 µs of GPU time and a call several times
that on the host. ``scripts/launch_host.py`` times the call from the outside in, each layer
as back-to-back calls with one sync at the end (so the time per call is the host's): the op
(checks, backend, autograd), the kernels layer (config, outputs, status buffers), the launch
alone, and the compiled launcher called directly, the floor of any Triton launch. The cached
launch (``rnnviz.kernels.cached_launch``) skips Triton's binding and specialisation on a
repeated key. accelerated-scan's forward, a Triton kernel of four arguments, runs beside it.
"""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from rnnviz.course.compare import style
from rnnviz.course.reference import Reference, shipped_file

__all__ = ["LAUNCH_RUN", "launch_path_rows", "launch_path_figure"]

LAUNCH_RUN = "launch-host-h200"
LAYERS = {("op", "fwd"): "linear_scan (the op)", ("kernels", "fwd"): "scan_fwd (the kernels layer)",
          ("launch", "fwd"): "the launch alone", ("launcher", "fwd"): "compiled launcher (the floor)",
          ("accelerated-scan", "fwd"): "accelerated-scan's forward"}
HOW_COLOURS = {"Triton's launch": "#ff7f0e", "cached launch": "#2ca02c"}


def launch_path_rows(ref: Reference, B: int = 1, T: int = 1024, D: int = 64) -> list[dict[str, Any]]:
    """The forward's layers at one shape: per row its label, how it was launched ("Triton's
    launch", "cached launch", or "-" for what has one way) and µs per call."""
    rows = []
    for r in ref.rows:
        layer = LAYERS.get((r.get("layer"), r.get("pass")))
        if layer and (r["B"], r["T"], r["D"]) == (B, T, D):
            how = r["launch"] if r["launch"] in HOW_COLOURS else "-"
            rows.append({"layer": layer, "how": how, "us": r["us_per_call"]})
    if not rows:
        raise ValueError(f"{ref.name} has no launch-path rows at B={B}, T={T}, D={D}")
    return rows


def launch_path_figure(ref: Reference | None = None, B: int = 1, T: int = 1024,
                       D: int = 64) -> go.Figure:
    """Host µs per forward call at each layer, Triton's launch beside the cached one, with
    the launcher's floor and accelerated-scan's whole call for scale."""
    ref = ref or shipped_file(LAUNCH_RUN)
    rows = launch_path_rows(ref, B, T, D)
    layers = [label for label in LAYERS.values() if any(r["layer"] == label for r in rows)]
    fig = go.Figure()
    for how, colour in [*HOW_COLOURS.items(), ("-", "#7f7f7f")]:
        mine = {r["layer"]: r["us"] for r in rows if r["how"] == how}
        if mine:
            fig.add_trace(go.Bar(
                y=layers, x=[mine.get(label) for label in layers], orientation="h",
                name=how if how != "-" else "one way only", marker_color=colour,
                text=[f"{mine[label]:.1f} µs" if label in mine else "" for label in layers],
                textposition="outside"))
    fig.update_layout(barmode="group", xaxis_title="host µs per call (back to back, one sync)",
                      yaxis_autorange="reversed")
    return style(fig, f"A forward scan's host path, B={B}, T={T}, D={D}, fp32",
                 [f"{ref.label}: {ref.provenance.get('command', '')[:80]}"])
