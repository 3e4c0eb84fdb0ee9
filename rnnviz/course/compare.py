""""Your machine" beside "H100, measured on DATE": one figure, two line styles, so that a
number measured now is never mistaken for a shipped GPU number.

Solid lines and filled markers: measured here, now. Dashed lines and open markers: loaded
from ``rnnviz.results``, with the GPU and date in the legend. Same colour per method as in
every figure of the course.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import plotly.graph_objects as go

from rnnviz.course.methods import METHODS
from rnnviz.course.reference import Reference, series
from rnnviz.course.sizes import where

__all__ = ["colour", "label", "here_trace", "reference_trace", "here_vs_reference"]

_FALLBACK = ["#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692",
             "#b6e880", "#ff97ff", "#fecb52", "#1f77b4", "#8c564b", "#7f7f7f"]


def colour(method: str) -> str:
    """The course's colour for ``method`` (rnnviz.viz's theme for the benchmarks' method
    names). The theme gives a variant (``rnnviz-sru-nopeephole-scan``) its method's colour
    and a dash; here dashes mean "shipped GPU result", so a variant gets a colour of its own."""
    try:
        from rnnviz.viz import theme

        if method in theme.METHOD_FAMILY:
            return theme.method_colour(method)
    except Exception:  # noqa: BLE001 - the theme is optional here
        pass
    names = list(METHODS)
    i = names.index(method) if method in names else sum(map(ord, method))
    return _FALLBACK[i % len(_FALLBACK)]


def label(method: str) -> str:
    """The readable name of a benchmark method ("rnnviz-sru" -> its course label)."""
    m = METHODS.get(method)
    return m.label if m else method


def here_trace(method: str, xs: Sequence[float] = (), ms: Sequence[float] = (),
               who: str = "your machine") -> go.Scatter:
    """A "measured here" curve (possibly empty, to be filled as measurements arrive)."""
    return go.Scatter(x=list(xs), y=list(ms), mode="lines+markers",
                      name=f"{label(method)} · {who}",
                      line=dict(color=colour(method), width=2.5),
                      marker=dict(size=8, symbol="circle"),
                      meta={"method": method, "source": "here"})


def _sizes(fixed: dict[str, Any]) -> str:
    """The sizes a shipped curve was measured at, short: "B=32, D=256" (one layer unsaid)."""
    return ", ".join(f"{k}={v}" for k, v in fixed.items()
                     if k in ("B", "T", "D") or (k == "L" and v != 1))


def reference_trace(method: str, refs: Iterable[Reference], x: str = "T", *,
                    near: dict[str, int] | None = None, pass_: str | None = None,
                    dtype: str | None = None) -> go.Scatter | None:
    """The shipped GPU curve of ``method`` closest to ``near`` (None if none is shipped)."""
    s = series(refs, method, x, near=near, pass_=pass_, dtype=dtype)
    if s is None:
        return None
    xs, ms, fixed, ref = s
    gpu = ref.gpu.split()[0]
    return go.Scatter(x=xs, y=ms, mode="lines+markers",
                      name=f"{label(method)} · {gpu}, {ref.date} ({_sizes(fixed)})",
                      line=dict(color=colour(method), dash="dash", width=1.5),
                      marker=dict(size=7, symbol="circle-open"),
                      meta={"method": method, "source": ref.name, "caption": ref.caption,
                            "fixed": fixed})


def themed(fig: go.Figure) -> go.Figure:
    """``fig`` in the course theme (``rnnviz.viz.theme``), returned."""
    try:
        from rnnviz.viz import theme

        theme.apply(fig)
    except Exception:  # noqa: BLE001 - the theme is optional here
        pass
    return fig


def style(fig: go.Figure, title: str, notes: Sequence[str] = (), height: int = 430) -> go.Figure:
    """The course's look for time plots: the theme, the notes under the title (who measured
    what, when), and the legend below the plot so long names do not squeeze it."""
    themed(fig)
    sub = "".join(f"<br><sup>{n}</sup>" for n in notes)
    n = len(fig.data)
    rows = (n + 1) // 2
    fig.update_layout(title=dict(text=title + sub), height=height + 22 * rows + 20 * len(notes),
                      legend=dict(orientation="h", yanchor="top", y=-0.25, xanchor="left", x=0,
                                  font=dict(size=11)),
                      margin=dict(l=70, r=30, t=80 + 20 * len(notes), b=100 + 22 * rows))
    fig.update_xaxes(title_standoff=4)
    return fig


def notes_for(fig: go.Figure, who: str, failed: Sequence[dict[str, Any]] = ()) -> list[str]:
    """The lines under a title: solid = measured here now; dashed = which shipped run;
    which methods have no time and why."""
    captions = sorted({t.meta["caption"] for t in fig.data
                       if t.meta and isinstance(t.meta, dict) and "caption" in t.meta})
    notes = [f"solid: {who}, measured now"] + [f"dashed: {c}" for c in captions]
    why = sorted({f"{r['method']}: {r.get('error')}" for r in failed})
    if why:
        notes.append("not timed: " + "; ".join(why[:2]) + (f" (+{len(why) - 2} more)"
                                                           if len(why) > 2 else ""))
    return notes


def here_vs_reference(rows: Iterable[dict[str, Any]], refs: Iterable[Reference] = (),
                      x: str = "T", *, title: str | None = None,
                      methods: Sequence[str] | None = None, height: int = 430,
                      per_step: bool = False) -> go.Figure:
    """Time against size ``x`` (log-log): rows measured here, solid; shipped results, dashed.
    Rows without a time are named under the title with their reason.

    ``per_step`` divides every time by its T: the cost of one time step, flat for a method
    whose steps cost the same however long the sequence, falling for one that runs the steps
    in parallel."""
    rows = list(rows)
    failed = [r for r in rows if r.get("ms") is None]
    rows = [r for r in rows if r.get("ms") is not None]
    refs = list(refs)
    methods = list(methods or dict.fromkeys(r["method"] for r in rows))
    fig = go.Figure()
    near = {k: rows[-1][k] for k in ("B", "T", "D") if rows and k in rows[-1]}
    for m in methods:
        mine = sorted((r for r in rows if r["method"] == m), key=lambda r: r[x])
        if mine:
            fig.add_trace(here_trace(m, [r[x] for r in mine],
                                     [r["ms"] / (r["T"] if per_step else 1) for r in mine]))
        if refs:
            p, dt = (mine[0]["pass"], mine[0]["dtype"]) if mine else (None, None)
            ref = reference_trace(m, refs, x, near=near, pass_=p, dtype=dt)
            if ref is not None:
                if per_step:
                    ts = ref.x if x == "T" else [ref.meta["fixed"].get("T", 1)] * len(ref.x)
                    ref.y = [y / t for y, t in zip(ref.y, ts)]
                fig.add_trace(ref)
    notes = notes_for(fig, where(), failed)
    if refs and not any(t.meta.get("source") != "here" for t in fig.data):
        notes.append("(no shipped GPU result matches these methods and settings)")
    fig.update_layout(xaxis_title=f"{x} (log scale)", xaxis_type="log", yaxis_type="log",
                      yaxis_title=("milliseconds per time step" if per_step else "milliseconds")
                      + " (log scale)")
    return style(fig, title or f"Time against {x}", notes, height)
