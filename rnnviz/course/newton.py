"""Notebook 5's small pieces: Newton on one scalar, residual curves side by side, and the
gradients DEER returns against those of the sequential loop.

The scalar problem: the steady state of a one-unit RNN with a constant input,
h* = f(h*) with f(h) = tanh(w h + u). Two ways to find it:

- fixed-point (Picard) iteration h <- f(h): the error shrinks by about |f'(h*)| each step
  (linear convergence: a fixed number of digits per iteration);
- Newton on g(h) = h - f(h): h <- h - g(h) / g'(h), with g'(h) = 1 - f'(h): near the root
  the error is squared each step (quadratic convergence: the digits double).
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import plotly.graph_objects as go
import torch

from rnnviz.course.compare import colour, themed

__all__ = ["scalar_errors", "scalar_figure", "residuals_figure", "gradient_figure"]


def _f(h: float, w: float, u: float) -> tuple[float, float]:
    y = math.tanh(w * h + u)
    return y, w * (1 - y * y)  # f(h), f'(h)


def scalar_errors(w: float = 0.9, u: float = 0.5, h0: float = -2.0, iters: int = 12
                  ) -> dict[str, list[float]]:
    """|h^(i) - h*| for fixed-point iteration and for Newton, h* found to machine precision."""
    star = h0
    for _ in range(200):  # Newton to convergence gives the reference h*
        y, d = _f(star, w, u)
        star -= (star - y) / (1 - d)
    out: dict[str, list[float]] = {"fixed-point iteration h <- f(h)": [], "Newton": []}
    h = h0
    for _ in range(iters + 1):
        out["fixed-point iteration h <- f(h)"].append(abs(h - star))
        h = _f(h, w, u)[0]
    h = h0
    for _ in range(iters + 1):
        out["Newton"].append(abs(h - star))
        y, d = _f(h, w, u)
        h -= (h - y) / (1 - d)
    return out


def scalar_figure(w: float = 0.9, u: float = 0.5, h0: float = -2.0, iters: int = 12) -> go.Figure:
    """Error against iteration (log y) for the two methods on the scalar steady state."""
    errs = scalar_errors(w, u, h0, iters)
    fig = residuals_figure(errs, floor=1e-17)
    fig.update_layout(title=f"Solving h = tanh({w:g} h + {u:g}) from h = {h0:g}"
                            "<br><sup>error |h - h*| after each iteration</sup>",
                      yaxis_title="|h - h*| (log scale)")
    return fig


_COLOURS = {"newton": colour("deer-newton"), "quasi": colour("deer-quasi"),
            "damped": colour("deer-damped")}


def residuals_figure(curves: Mapping[str, Sequence[float]], floor: float = 1e-16) -> go.Figure:
    """Several convergence curves on one log axis; a non-finite value (divergence) is drawn
    as a cross at the top and named in the legend."""
    fig = go.Figure()
    finite = [v for c in curves.values() for v in c if math.isfinite(v) and v > 0]
    top = max(finite, default=1.0) * 10
    for name, vals in curves.items():
        bad = [not math.isfinite(v) for v in vals]
        ys = [top if b else max(v, floor) for v, b in zip(vals, bad)]
        key = next((k for k in _COLOURS if k in name.lower()), None)
        fig.add_trace(go.Scatter(
            x=list(range(len(vals))), y=ys, mode="lines+markers",
            name=name + (" (non-finite: diverged)" if any(bad) else ""),
            line=dict(color=_COLOURS.get(key) if key else None),
            marker=dict(symbol=["x" if b else "circle" for b in bad],
                        size=[13 if b else 7 for b in bad])))
    fig.update_layout(xaxis_title="iteration", yaxis_type="log", height=400,
                      yaxis_title="residual (log scale)",
                      title="Convergence<br><sup>residual = max over t of "
                            "|h_t - f(h_(t-1), x_t)|; a cross: not a finite number</sup>")
    return themed(fig)


def gradient_figure(deer: Sequence[torch.Tensor], loop: Sequence[torch.Tensor],
                    names: Sequence[str]) -> go.Figure:
    """Every gradient entry from DEER's implicit backward against the same entry from
    autograd through the loop: on the diagonal when they agree."""
    fig = go.Figure()
    lo, hi = math.inf, -math.inf
    for g1, g2, name in zip(deer, loop, names):
        a, b = g2.detach().flatten().double(), g1.detach().flatten().double()
        lo, hi = min(lo, a.min().item(), b.min().item()), max(hi, a.max().item(), b.max().item())
        err = (a - b).abs().max().item()
        fig.add_trace(go.Scatter(x=a.tolist(), y=b.tolist(), mode="markers", marker=dict(size=5),
                                 name=f"{name} (max difference {err:.1e})"))
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="equal",
                             line=dict(color="#999", dash="dot")))
    fig.update_layout(title="Gradients: DEER's implicit backward vs autograd through the loop",
                      xaxis_title="autograd through the sequential loop",
                      yaxis_title="DEER (one reverse scan at the solution)", height=430)
    return themed(fig)
