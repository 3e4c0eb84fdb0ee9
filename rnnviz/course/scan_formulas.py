"""Two ways to write the linear recurrence h_t = a_t h_{t-1} + b_t with cumulative sums and
products (the formulations behind the log-space trick), for notebook 3 to compare with the
scan of pairs.

Unrolled (h_0 = 0):  h_t = sum_{s<=t} (prod_{s<u<=t} a_u) b_s = A_t * sum_{s<=t} b_s / A_s,
with A_t = prod_{u<=t} a_u.

- :func:`cumprod_scan` evaluates that literally with ``cumprod`` and ``cumsum``: A_t
  underflows to 0 after a few hundred steps with a < 1, and b_s / A_s overflows: NaN/inf.
- :func:`log_space_scan` is the minGRU paper's fix (its appendix): work with
  a_star = cumsum(log a) and h = exp(a_star + logcumsumexp(log b - a_star)). No underflow,
  but log b needs b > 0 (hence minGRU's positive g(h~)).

The scan of pairs ((a1, b1), (a2, b2)) -> (a1 a2, a2 b1 + b2) needs neither: it never
divides and never takes a logarithm (``rnnviz.ops.linear_scan``).
"""
from __future__ import annotations

import torch

__all__ = ["cumprod_scan", "log_space_scan"]


def cumprod_scan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """h_t = A_t * cumsum(b / A)_t with A = cumprod(a) along dim 1 (h_0 = 0)."""
    A = torch.cumprod(a, dim=1)
    return A * torch.cumsum(b / A, dim=1)


def log_space_scan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The minGRU paper's log-space scan (needs a > 0, b > 0; h_0 = 0):
    a_star = cumsum(log a), h = exp(a_star + logcumsumexp(log b - a_star))."""
    if (b <= 0).any():
        raise ValueError("log_space_scan needs b > 0 everywhere: log(b) is undefined otherwise "
                         "(the minGRU paper keeps values positive with g(x) = x + 0.5 or sigmoid)")
    from rnnviz.bench.scan import log_space_scan as formula  # the benchmark times the same code

    return formula(a, b)


OVERFLOW = 1e3  # where a NaN/inf result is drawn on the error plot


def accuracy_rows(Ts: list[int], D: int = 16, B: int = 2, dtype: torch.dtype = torch.float32,
                  seed: int = 0) -> list[dict]:
    """Max error against the float64 reference of the three formulations, for each T.

    Inputs: a in (0.45, 0.95) (a forgetting gate), b in (0.1, 1.1) (positive, so the log-space
    version applies). A NaN or inf result is reported as error = inf.
    """
    from rnnviz.ops.linear_scan import linear_scan, linear_scan_reference

    g = torch.Generator().manual_seed(seed)
    rows = []
    for T in Ts:
        a = torch.rand(B, T, D, generator=g) * 0.5 + 0.45
        b = torch.rand(B, T, D, generator=g) + 0.1
        ref = linear_scan_reference(a.double(), b.double())
        for name, fn in (("cumprod / cumsum", cumprod_scan), ("log-space", log_space_scan),
                         ("rnnviz linear_scan", linear_scan)):
            h = fn(a.to(dtype), b.to(dtype)).double()
            err = (h - ref).abs().max().item() if torch.isfinite(h).all() else float("inf")
            rows.append({"method": name, "T": T, "error": err})
    return rows


def accuracy_figure(rows: list[dict]):
    """Max error against T, log-log; NaN/inf drawn as crosses on an "overflow" line."""
    import plotly.graph_objects as go

    from rnnviz.course.compare import colour, themed

    colours = {"cumprod / cumsum": "#6b6b6b", "log-space": colour("log-space"),
               "rnnviz linear_scan": colour("rnnviz-scan")}
    fig = go.Figure()
    for name in dict.fromkeys(r["method"] for r in rows):
        rs = [r for r in rows if r["method"] == name]
        ys = [min(r["error"], OVERFLOW) for r in rs]
        fig.add_trace(go.Scatter(
            x=[r["T"] for r in rs], y=ys, name=name, mode="lines+markers",
            line=dict(color=colours.get(name)),
            marker=dict(size=[14 if r["error"] == float("inf") else 8 for r in rs],
                        symbol=["x" if r["error"] == float("inf") else "circle" for r in rs])))
    fig.add_hline(y=OVERFLOW, line_dash="dot", annotation_text="inf / NaN (overflow)",
                  annotation_position="bottom right")
    fig.update_layout(title="Max error against the float64 answer (float32 inputs)",
                      xaxis_type="log", yaxis_type="log", xaxis_title="T (log scale)",
                      yaxis_title="max |h - h_exact| (log scale)", height=420)
    return themed(fig)
