"""One training step timed two ways, from two shipped runs of the same suite on the GPU.

- **eager**: as a program runs it, call after call (``RNNVIZ_TIMING=back-to-back``): the GPU
  waits whenever Python, the kernel launchers and the autograd engine are slower than it;
- **graph**: the step captured once as a CUDA graph and replayed (``RNNVIZ_TIMING=graph``):
  the GPU's own time, with no host in the way.

The gap between the two is the host's share. For SRU at the paper's sizes it decides the
speed-up over cuDNN's LSTM: the GPU does a tenth of the LSTM's work, but on a slow host an
eager step costs as much host time as GPU time.
"""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from rnnviz.course.compare import _label, colour, style
from rnnviz.course.reference import Reference, load

__all__ = ["EAGER", "GRAPH", "eager_graph_rows", "eager_graph_figure"]

EAGER, GRAPH = "sru-eager-h200", "sru-graph-h200"  # benchmarks/, one run each, same commit


def _step_ms(ref: Reference, setting: dict[str, Any]) -> dict[str, float]:
    """method -> ms of its whole-step rows (no ``scope``, no extra options) at ``setting``."""
    out = {}
    for r in ref.rows:
        if (r.get("ms") and "scope" not in r and "recurrence" not in r
                and all(r.get(k) == v for k, v in setting.items())):
            out[r["method"]] = r["ms"]
    return out


def eager_graph_rows(eager: Reference, graph: Reference, *, T: int = 128, D: int = 512,
                     B: int = 32, L: int = 1, dtype: str = "float32",
                     baseline: str = "lstm-cudnn") -> list[dict[str, Any]]:
    """Per method timed in both runs at one setting: eager and graph ms, the host's share of
    the eager step and each run's speed-up over ``baseline``, fastest (graph) first."""
    if eager.provenance.get("timing") == "graph" or graph.provenance.get("timing") != "graph":
        raise ValueError(f"expected an eager run and a graph-timed run, got timings "
                         f"{eager.provenance.get('timing')!r} and {graph.provenance.get('timing')!r}")
    setting = {"B": B, "T": T, "D": D, "L": L, "dtype": dtype, "pass": "fwd+bwd"}
    e, g = _step_ms(eager, setting), _step_ms(graph, setting)
    both = [m for m in e if m in g]
    if not both:
        raise ValueError(f"no method was timed in both runs at {setting}")
    rows = []
    for m in both:
        rows.append({"method": m, "eager_ms": e[m], "graph_ms": g[m],
                     "host_share": max(0.0, 1.0 - g[m] / e[m]),
                     "speedup_eager": e[baseline] / e[m] if baseline in e else None,
                     "speedup_graph": g[baseline] / g[m] if baseline in g else None})
    return sorted(rows, key=lambda r: r["graph_ms"])


def eager_graph_figure(eager: Reference | None = None, graph: Reference | None = None, *,
                       T: int = 128, D: int = 512, dtype: str = "float32",
                       baseline: str = "lstm-cudnn") -> go.Figure:
    """Two bars per method: the step as a program runs it, and the GPU's time alone; the
    labels give the speed-up over ``baseline`` each way."""
    eager = eager or _shipped(EAGER)
    graph = graph or _shipped(GRAPH)
    rows = eager_graph_rows(eager, graph, T=T, D=D, dtype=dtype, baseline=baseline)
    names = [_label(r["method"]) for r in rows]
    fig = go.Figure()
    for key, kind, opacity in (("eager_ms", "eager (a program's step)", 1.0),
                               ("graph_ms", "graph replay (the GPU alone)", 0.45)):
        sp = "speedup_" + key.split("_")[0]
        fig.add_trace(go.Bar(
            y=names, x=[r[key] for r in rows], orientation="h", name=kind, opacity=opacity,
            marker_color=[colour(r["method"]) for r in rows], textposition="outside",
            text=[f"{r[key]:.2f} ms" + (f" · {r[sp]:.1f}x {_label(baseline)}"
                                        if r[sp] and r["method"] != baseline else "")
                  for r in rows]))
    fig.update_layout(barmode="group", xaxis_type="log", xaxis_title="ms per training step (log)",
                      yaxis_autorange="reversed", legend_traceorder="normal")
    notes = [f"{ref.label}, {ref.provenance.get('timing')}: "
             f"{ref.provenance.get('command', '')[:80]}" for ref in (eager, graph)]
    short = {"float32": "fp32", "bfloat16": "bf16 autocast"}.get(dtype, dtype)
    return style(fig, f"One training step (B=32, T={T}, D={D}, {short}): eager or the GPU alone",
                 notes)


def _shipped(name: str) -> Reference:
    from rnnviz.bench.core import shipped_results

    return load(shipped_results()[name])
