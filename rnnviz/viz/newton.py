"""DEER's Newton iterations, seen from the trace: how fast, and how, the guess becomes the answer.

Each record (op "deer", kind "iteration") holds the iterate h^(i) of one iteration and its
residual r^(i)_t = |h^(i)_t - f(h^(i)_{t-1}, x_t)| (max over batch and channel). Newton's
method converges quadratically near the solution (the number of correct digits doubles each
iteration), visible as a residual curve bending down on a log axis. The error is also
exact at t = 0 after the first iteration and correct steps spread forward in time: after
iteration i at least the first i steps are exact, a wave across the (t, iteration) heatmap.
"""
from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from rnnviz.trace import Record
from rnnviz.viz import theme
from rnnviz.viz.records import TraceLike, select, time_axis

__all__ = ["newton_runs", "newton_convergence"]

_FLOOR = 1e-16  # log10 of an exact zero is drawn at -16


def newton_runs(trace: TraceLike, method: str | None = None) -> list[list[Record]]:
    """The DEER runs in ``trace`` (of ``method`` if given): a run is the sequence of
    iteration records whose ``meta["iteration"]`` increases."""
    recs = select(trace, "deer", "iteration",
                  "run rnnviz.deer.evaluate(cell, x) inside rnnviz.trace()")
    if method is not None:
        recs = [r for r in recs if r.meta.get("method") == method]
        if not recs:
            raise ValueError(f"no DEER iteration records with method={method!r}")
    runs: list[list[Record]] = []
    for r in recs:
        it = r.meta.get("iteration", 0)
        if (not runs or it <= runs[-1][-1].meta.get("iteration", 0)
                or r.meta.get("method") != runs[-1][-1].meta.get("method")):
            runs.append([])
        runs[-1].append(r)
    return runs


def _iterate(rec: Record, batch: int, channel: int) -> torch.Tensor:
    h = rec.data["h"]
    if not isinstance(h, torch.Tensor) or h.dim() not in (2, 3):
        raise ValueError(f"expected data['h'] of shape [B, T, D] or [T, D], got "
                         f"{getattr(h, 'shape', type(h).__name__)}")
    h = h if h.dim() == 2 else h[batch]
    return h.double()


def _log10(x: torch.Tensor) -> list[float]:
    return torch.log10(x.double().abs().clamp_min(_FLOOR)).tolist()


def newton_convergence(trace: TraceLike, method: str | None = None, *, run: int = 0,
                       batch: int = 0, channel: int = 0) -> go.Figure:
    """Four panels for one DEER run: residual vs iteration (log y); the iterate h^(i)_t of one
    channel approaching the final trajectory (a slider steps through the iterations); the
    log10 error over (t, iteration), the wave; the damping per iteration (damped Newton) or,
    without damping, the time per iteration.

    The error is ``err_t`` where the op recorded it (against the sequential solution), else
    the distance to the last iterate (max over channels), and is labelled as such.
    """
    runs = newton_runs(trace, method)
    if not 0 <= run < len(runs):
        raise ValueError(f"run must be in [0, {len(runs)}), got {run}")
    recs = runs[run]
    meth = str(recs[0].meta.get("method", "newton"))
    its = [int(r.meta.get("iteration", i)) for i, r in enumerate(recs)]
    hs = [_iterate(r, batch, channel) for r in recs]
    final = hs[-1]
    t = time_axis(trace, recs[0], final.shape[0])
    has_err = all("err_t" in r.data for r in recs)
    if has_err:
        err = [torch.as_tensor(r.data["err_t"]).reshape(-1) for r in recs]
        err_title = "log10 error vs the sequential solution"
    else:
        err = [(h - final).abs().amax(dim=-1) for h in hs]
        err_title = "log10 |h^(i) - h^(last)| (max over channels)"
    damping = [r.data.get("damping") for r in recs]
    has_damping = any(d is not None for d in damping)
    colour = theme.method_colour(f"deer-{meth}") or theme.family_colour("deer")

    fig = make_subplots(rows=2, cols=2, horizontal_spacing=0.14, vertical_spacing=0.22,
                        subplot_titles=("residual max_t |h_t - f(h_(t-1), x_t)|",
                                        f"iterate h^(i)_t, channel {channel}",
                                        err_title,
                                        "damping per iteration" if has_damping
                                        else "time per iteration"))
    residual = [float(r.data["residual"]) for r in recs]
    fig.add_trace(go.Scatter(x=its, y=[max(v, _FLOOR) for v in residual], mode="lines+markers",
                             name=f"residual ({meth})", line=dict(color=colour, width=2.5)),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=[its[-1]], y=[max(residual[-1], _FLOOR)], mode="markers",
                             name="this iteration", showlegend=False,
                             marker=dict(size=16, color=theme.CRITICAL, symbol="circle-open",
                                         line=dict(width=3))), row=1, col=1)
    fig.add_trace(go.Scatter(x=t, y=final[:, channel].tolist(), mode="lines",
                             name=f"last iterate (iteration {its[-1]})",
                             line=dict(color="#222", width=2, dash="dash")), row=1, col=2)
    fig.add_trace(go.Scatter(x=t, y=hs[-1][:, channel].tolist(), mode="lines+markers",
                             name="iterate h^(i)", line=dict(color=colour, width=2),
                             marker=dict(size=4)), row=1, col=2)
    fig.add_trace(go.Heatmap(x=t, y=its, z=[_log10(e) for e in err],
                             colorscale=theme.ERROR_SCALE, zmax=0, zmin=-16,
                             colorbar=dict(title="log10", len=0.38, y=0.19, x=0.435,
                                           thickness=12),
                             hovertemplate="t=%{x}, iteration %{y}: 10^%{z:.1f}<extra></extra>"),
                  row=2, col=1)
    if has_damping:
        fig.add_trace(go.Bar(x=its, y=[float("nan") if d is None else float(d) for d in damping],
                             name="damping", marker_color=colour), row=2, col=2)
    else:
        ms = [r.data.get("ms") for r in recs]
        fig.add_trace(go.Bar(x=its, y=[float("nan") if m is None else float(m) for m in ms],
                             name="ms per iteration", marker_color=colour), row=2, col=2)

    # frames: the iterate and the residual marker move; traces 1 and 3 are the moving ones
    frames = []
    for k, (i, h) in enumerate(zip(its, hs)):
        frames.append(go.Frame(
            name=str(i), traces=[1, 3],
            data=[go.Scatter(x=[i], y=[max(residual[k], _FLOOR)]),
                  go.Scatter(x=t, y=h[:, channel].tolist())],
            layout=dict(title_text=_title(meth, recs, k, residual))))
    fig.frames = frames
    fig.update_layout(
        **theme.animation_controls([str(i) for i in its], len(its) - 1, "iteration ", 600),
        title_text=_title(meth, recs, len(recs) - 1, residual), height=860,
        margin=dict(b=130),
        meta={"method": meth, "iterations": len(recs), "residual": residual,
              "error_source": "err_t" if has_err else "last iterate"},
    )
    fig.update_yaxes(type="log", title_text="residual (log scale)", exponentformat="power",
                     row=1, col=1)
    fig.update_xaxes(title_text="Newton iteration i", dtick=1, row=1, col=1)
    fig.update_xaxes(title_text="time step t", row=1, col=2)
    fig.update_xaxes(title_text="time step t", row=2, col=1)
    fig.update_yaxes(title_text="iteration i", dtick=1, row=2, col=1)
    fig.update_xaxes(title_text="iteration i", dtick=1, row=2, col=2)
    fig.update_yaxes(title_text="damping" if has_damping else "ms", row=2, col=2)
    return theme.apply(fig)


def _title(meth: str, recs: list[Record], k: int, residual: list[float]) -> str:
    digits: Any = "-"
    if k > 0 and residual[k] > 0 and residual[k - 1] > 0:
        digits = f"{-math.log10(residual[k]):.1f} digits (was {-math.log10(residual[k - 1]):.1f})"
    last = recs[-1].meta.get("iteration", len(recs) - 1)
    return (f"DEER ({meth}): iteration {recs[k].meta.get('iteration', k)} / {last}, "
            f"residual {residual[k]:.2e}<br><sup>correct digits: {digits}</sup>")
