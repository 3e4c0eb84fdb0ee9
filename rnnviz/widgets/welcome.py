"""The first notebook's two pieces: a setup check and a one-slider taste of the course."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnnviz.device import backend_report


def setup_table() -> str:
    """What this machine will run, as a few readable lines."""
    r = backend_report()
    where = (f"GPU: {r['gpu']} -> the Triton kernels run" if r["gpu"]
             else "no GPU -> the vectorised PyTorch path runs (the same algorithms, on the CPU)")
    return "\n".join([
        f"torch   {r['torch']}",
        f"triton  {r['triton'] or 'not installed (only needed for the GPU kernels)'}",
        f"device  {r['device']}",
        where,
        f"backend='auto' picks: {r['auto_backend']}",
    ])


def memory_curve(a: float, T: int = 60) -> np.ndarray:
    """|h_t| for h_t = a * h_{t-1}, h_0 = 1: how much of the first input survives t steps."""
    return np.abs(a) ** np.arange(T)


def memory_figure(a: float = 0.9, T: int = 60) -> go.Figure:
    """The fading memory of a linear recurrence h_t = a h_{t-1} + b_t, on a log axis."""
    fig = go.Figure(go.Scatter(x=np.arange(T), y=memory_curve(a, T), mode="lines+markers",
                               name=f"a = {a:.2f}"))
    fig.update_layout(title=f"How long does h_t = a·h_(t-1) + b_t remember b_0? (a = {a:.2f})",
                      xaxis_title="time step t", yaxis_title="|a|^t (log scale)",
                      yaxis_type="log", yaxis_range=[-6, 0.5], height=360,
                      margin=dict(l=60, r=20, t=60, b=50))
    return fig


def memory_explorer(a: float = 0.9, T: int = 60):
    """A FigureWidget driven by a slider for a: the whole notebook stack in one cell."""
    import ipywidgets as widgets

    fig = go.FigureWidget(memory_figure(a, T))
    slider = widgets.FloatSlider(value=a, min=0.0, max=1.0, step=0.01, description="a",
                                 continuous_update=True, readout_format=".2f")

    def update(change):
        with fig.batch_update():
            fig.data[0].y = memory_curve(change["new"], T)
            fig.data[0].name = f"a = {change['new']:.2f}"
            fig.layout.title.text = (f"How long does h_t = a·h_(t-1) + b_t remember b_0? "
                                     f"(a = {change['new']:.2f})")

    slider.observe(update, names="value")
    return widgets.VBox([slider, fig])
