"""Gate values over time as heatmaps: what SRU's forget/reset gates and minGRU's update gate did.

Records (op "sru", "mingru" or "minlstm", kind "gates") hold the gates the kernel computed,
each [B, T', H]: SRU's f (forget), r (reset/highway) and state c; minGRU's z; minLSTM's f, i.
One row of heatmaps per record (layer, direction), one column per gate; time along x,
channel along y. Gates share one colour scale on [0, 1]; states get a signed one.
"""
from __future__ import annotations

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from rnnviz.viz import theme
from rnnviz.viz.records import TraceLike, select, time_axis

__all__ = ["gates", "GATE_OPS"]

GATE_OPS = ("sru", "mingru", "minlstm")
_GATE_NAMES = {"f": "forget f", "r": "reset r", "z": "update z", "i": "input i",
               "c": "state c", "o": "output o"}
_BOUNDED = {"f", "r", "z", "i", "o"}  # sigmoid outputs, in [0, 1]


def gates(trace: TraceLike, op: str | None = None, *, batch: int = 0,
          max_channels: int = 64, layer: int | None = None) -> go.Figure:
    """Heatmaps (time x channel) of the gate records in ``trace``.

    Args:
        op: "sru", "mingru" or "minlstm" (default: every one present).
        batch: the batch element shown.
        max_channels: show at most this many channels (the first ones), so a wide layer
            still draws quickly.
        layer: only this layer's records.
    """
    if op is not None and op not in GATE_OPS:
        raise ValueError(f"op must be one of {GATE_OPS} or None, got {op!r}")
    recs = select(trace, op or GATE_OPS, "gates",
                  "run an rnnviz SRU/MinGRU/MinLSTM model inside rnnviz.trace()")
    if layer is not None:
        recs = [r for r in recs if r.layer == layer]
        if not recs:
            raise ValueError(f"no gate records for layer={layer}")
    names = []
    for r in recs:
        names += [k for k in r.data if isinstance(r.data[k], torch.Tensor) and k not in names]
    rows = [f"{r.op} layer {r.layer if r.layer is not None else 0}"
            + (f" dir {r.meta['direction']}" if "direction" in r.meta else "") for r in recs]
    fig = make_subplots(rows=len(recs), cols=len(names), shared_xaxes=True,
                        horizontal_spacing=0.04, vertical_spacing=min(0.08, 0.3 / len(recs)),
                        subplot_titles=[f"{rows[i]}: {_GATE_NAMES.get(n, n)}"
                                        for i in range(len(recs)) for n in names])
    for i, r in enumerate(recs, start=1):
        for j, name in enumerate(names, start=1):
            v = r.data.get(name)
            if not isinstance(v, torch.Tensor):
                continue
            if v.dim() != 3:
                raise ValueError(f"expected {r.op} gate {name!r} of shape [B, T, H], "
                                 f"got {list(v.shape)}")
            z = v[batch, :, :max_channels].double().T  # [H, T']: channel down, time across
            t = time_axis(trace, r, v.shape[1])
            fig.add_trace(go.Heatmap(
                x=t, y=list(range(z.shape[0])), z=z.tolist(),
                coloraxis="coloraxis" if name in _BOUNDED else "coloraxis2",
                name=f"{rows[i - 1]} {name}",
                hovertemplate=f"{name}: t=%{{x}}, channel %{{y}}: %{{z:.3f}}<extra></extra>"),
                row=i, col=j)
            fig.update_xaxes(title_text="time step t" if i == len(recs) else None, row=i, col=j)
            fig.update_yaxes(title_text="channel" if j == 1 else None, row=i, col=j)
    fig.update_layout(
        title_text=f"Gates over time ({', '.join(sorted({r.op for r in recs}))}, batch {batch})"
                   "<br><sup>near 1: remember / pass through; near 0: forget / overwrite</sup>",
        coloraxis=dict(colorscale=theme.GATE_SCALE, cmin=0, cmax=1,
                       colorbar=dict(title="gate", x=1.02, len=0.45, y=0.75)),
        coloraxis2=dict(colorscale=theme.STATE_SCALE, cmid=0,
                        colorbar=dict(title="state", x=1.1, len=0.45, y=0.25)),
        height=max(360, 260 * len(recs) + 120),
        meta={"records": len(recs), "gates": names},
    )
    return theme.apply(fig)
