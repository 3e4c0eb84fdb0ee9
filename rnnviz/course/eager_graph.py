"""One call (a training step, a scan) timed two ways, from two shipped runs of the same
suite on the GPU.

- **eager**: as a program runs it, call after call (``RNNVIZ_TIMING=back-to-back``): the GPU
  waits whenever Python, the kernel launchers and the autograd engine are slower than it;
- **graph**: the step captured once as a CUDA graph and replayed (``RNNVIZ_TIMING=graph``):
  the GPU's own time, with no host in the way.

The gap between the two is the host's share. For SRU at the paper's sizes it decides the
speed-up over cuDNN's LSTM: the GPU does a tenth of the LSTM's work, but on a slow host an
eager step costs as much host time as GPU time. For a small scan it decides the race with
``accelerated-scan``, whose launch passes a handful of arguments.

A third way to see the host: the same eager step with its backward on torch's CUDA device
thread (the default) or on the calling thread (``RNNVIZ_AUTOGRAD_THREADS=0``, for every
method of the run alike). On the H200's VM the hand-off cost a minGRU training step about
0.6 ms of host time, more than the GPU's whole bf16 step (:func:`backward_thread_figure`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import plotly.graph_objects as go

from rnnviz.course.compare import colour, label, style
from rnnviz.course.reference import Reference, shipped_file

__all__ = ["Pair", "PAIRS", "eager_graph_rows", "eager_graph_figure", "THREAD_RUNS",
           "ThreadCase", "THREAD_CASES", "backward_thread_rows", "backward_thread_figure"]


@dataclass(frozen=True)
class Pair:
    """Two shipped runs of one suite (benchmarks/, same commit), eager and graph-timed, and
    what to show of them by default."""

    eager: str
    graph: str
    setting: dict[str, Any]  # the rows' keys to match: B, T, D, L, dtype, pass
    baseline: str
    what: str


PAIRS = {
    # (H100, 2026-12-06: minutes apart on one machine, the same commit, the paced timer)
    "sru": Pair("sru-l128-h100-step-threads1", "sru-l128-h100-graph",
                {"B": 32, "T": 128, "D": 512, "L": 1, "dtype": "float32", "pass": "fwd+bwd"},
                "lstm-cudnn", "One training step"),
    "scan": Pair("scan-small-bypass-h200", "scan-small-graph-h200",
                 {"B": 1, "T": 16384, "D": 64, "dtype": "float32", "pass": "fwd"},
                 "accelerated-scan-scalar", "One scan"),
}


def _name(row: dict[str, Any]) -> str:
    """A row's method, with its variant where a package has several ("accelerated-scan-warp")."""
    return f"{row['method']}-{row['variant']}" if row.get("variant") else row["method"]


def _step_ms(ref: Reference, setting: dict[str, Any]) -> dict[str, float]:
    """method -> ms of its whole-call rows (no ``scope``, no extra options) at ``setting``."""
    out = {}
    for r in ref.rows:
        if (r.get("ms") and "scope" not in r and "recurrence" not in r
                and all(r.get(k) == v for k, v in setting.items())):
            out[_name(r)] = r["ms"]
    return out


def _timed_in_both(first: Reference, second: Reference, setting: dict[str, Any],
                   methods: Iterable[str] | None = None):
    """(ms of ``first``, ms of ``second``, the methods timed in both) at ``setting``."""
    a, b = _step_ms(first, setting), _step_ms(second, setting)
    both = [m for m in a if m in b and (methods is None or m in methods)]
    if not both:
        raise ValueError(f"no method was timed in both runs at {setting}")
    return a, b, both


def eager_graph_rows(eager: Reference, graph: Reference, setting: dict[str, Any],
                     baseline: str) -> list[dict[str, Any]]:
    """Per method timed in both runs at one ``setting`` (the rows' keys: B, T, D, L, dtype,
    pass): eager and graph ms, the host's share of the eager call and each run's speed-up
    over ``baseline``, fastest (graph) first."""
    if eager.provenance.get("timing") == "graph" or graph.provenance.get("timing") != "graph":
        raise ValueError(f"expected an eager run and a graph-timed run, got timings "
                         f"{eager.provenance.get('timing')!r} and {graph.provenance.get('timing')!r}")
    e, g, both = _timed_in_both(eager, graph, setting)
    rows = []
    for m in both:
        rows.append({"method": m, "eager_ms": e[m], "graph_ms": g[m],
                     "host_share": max(0.0, 1.0 - g[m] / e[m]),
                     "speedup_eager": e[baseline] / e[m] if baseline in e else None,
                     "speedup_graph": g[baseline] / g[m] if baseline in g else None})
    return sorted(rows, key=lambda r: r["graph_ms"])


def eager_graph_figure(pair: str = "sru", *, eager: Reference | None = None,
                       graph: Reference | None = None, **setting: Any) -> go.Figure:
    """Two bars per method: the call as a program runs it, and the GPU's time alone; the
    labels give the speed-up over the pair's baseline each way. ``pair``: a key of ``PAIRS``
    ("sru": the training step, "scan": one linear scan); ``setting`` overrides its sizes
    (``T=1024``, ``dtype="bfloat16"``, ...); ``eager``/``graph`` replace its files."""
    if pair not in PAIRS:
        raise ValueError(f"pair must be one of {sorted(PAIRS)}, got {pair!r}")
    p = PAIRS[pair]
    eager = eager or shipped_file(p.eager)
    graph = graph or shipped_file(p.graph)
    setting = {**p.setting, **setting}
    baseline = p.baseline
    rows = eager_graph_rows(eager, graph, setting, baseline)
    series = (("eager_ms", "speedup_eager", "eager (as a program calls it)", 1.0),
              ("graph_ms", "speedup_graph", "graph replay (the GPU alone)", 0.45))
    return _bars(rows, series, baseline, setting, f"{p.what} ({{sizes}}, {{dtype}}): eager or the GPU alone",
                 (eager, graph), "timing")


def _bars(rows: list[dict[str, Any]], series, baseline: str, setting: dict[str, Any],
          title: str, refs: tuple[Reference, Reference], noted: str) -> go.Figure:
    """Two bars per method (``series``: (ms key, speed-up key, legend, opacity) each), the
    labels giving each one's speed-up over ``baseline``; the notes name both files."""
    names = [label(r["method"]) for r in rows]
    fig = go.Figure()
    for key, sp, kind, opacity in series:
        fig.add_trace(go.Bar(
            y=names, x=[r[key] for r in rows], orientation="h", name=kind, opacity=opacity,
            marker_color=[colour(r["method"]) for r in rows], textposition="outside",
            text=[f"{r[key]:.2f} ms" + (f" · {r[sp]:.1f}x {label(baseline)}"
                                        if r[sp] and r["method"] != baseline else "")
                  for r in rows]))
    fig.update_layout(barmode="group", xaxis_type="log", xaxis_title="ms per call (log)",
                      yaxis_autorange="reversed", legend_traceorder="normal")
    notes = [f"{ref.label}, {noted} {ref.provenance.get(noted)}: "
             f"{ref.provenance.get('command', '')[:80]}" for ref in refs]
    sizes = ", ".join(f"{k}={setting[k]}" for k in ("B", "T", "D") if k in setting)
    dtype = {"float32": "fp32", "bfloat16": "bf16"}.get(setting.get("dtype"), setting.get("dtype"))
    return style(fig, title.format(sizes=sizes, dtype=dtype), notes)


# the minGRU suite at T = 4096 run twice with the same code: the backward on torch's device
# thread (RNNVIZ_AUTOGRAD_THREADS=1), then on the calling thread (=0)
THREAD_RUNS = ("mingru-t4096-threads1-h200", "mingru-t4096-threads0-h200")
THREAD_SETTING = {"B": 64, "T": 4096, "D": 128, "dtype": "bfloat16", "pass": "fwd+bwd"}
THREAD_METHODS = ("rnnviz-mingru", "mingru-log", "gru-cudnn", "grucell-loop")  # the GRU family


@dataclass(frozen=True)
class ThreadCase:
    """Two shipped runs of one suite, the backward on torch's device thread and on the
    calling thread, and what to show of them by default."""

    runs: tuple[str, str]
    setting: dict[str, Any]
    methods: tuple[str, ...]
    baseline: str


THREAD_CASES = {
    "mingru": ThreadCase(THREAD_RUNS, THREAD_SETTING, THREAD_METHODS, "grucell-loop"),
    # the SRU step at the paper's sizes (H100, 2026-12-06, one machine): the hand-off cost
    # its Python backward 0.19 ms at d=256, the Conv1d's C++ node 0.02 ms
    "sru": ThreadCase(("sru-l128-h100-step-threads1", "sru-l128-h100-step-threads0"),
                      {"B": 32, "T": 128, "D": 256, "L": 1, "dtype": "float32", "pass": "fwd+bwd"},
                      ("rnnviz-sru", "conv1d", "gru-cudnn", "lstm-cudnn"), "lstm-cudnn"),
}


def backward_thread_rows(on: Reference, off: Reference, setting: dict[str, Any],
                         baseline: str, methods: tuple[str, ...] = THREAD_METHODS) -> list[dict[str, Any]]:
    """Per method of ``methods`` timed in both runs at ``setting``: ms with the backward on
    torch's device thread (``on``) and on the calling thread (``off``), and each run's
    speed-up over ``baseline``, fastest first."""
    flags = (on.provenance.get("autograd_multithreading"), off.provenance.get("autograd_multithreading"))
    if flags != (True, False):
        raise ValueError(f"expected a run with autograd_multithreading on, then one with it off, "
                         f"got {flags}")
    a, b, both = _timed_in_both(on, off, setting, methods)
    rows = [{"method": m, "thread_ms": a[m], "caller_ms": b[m],
             "speedup_thread": a[baseline] / a[m] if baseline in a else None,
             "speedup_caller": b[baseline] / b[m] if baseline in b else None} for m in both]
    return sorted(rows, key=lambda r: r["caller_ms"])


def backward_thread_figure(case: str = "mingru", *, on: Reference | None = None,
                           off: Reference | None = None, **setting: Any) -> go.Figure:
    """Two bars per method: the eager training step with its backward on torch's CUDA device
    thread, and on the calling thread; labels give the speed-up over the case's baseline each
    way. ``case``: a key of ``THREAD_CASES`` ("mingru", "sru"); ``setting`` overrides its
    sizes (``dtype="float32"``, ``B=16, D=1024``); ``on``/``off`` replace its shipped runs."""
    if case not in THREAD_CASES:
        raise ValueError(f"case must be one of {sorted(THREAD_CASES)}, got {case!r}")
    c = THREAD_CASES[case]
    on = on or shipped_file(c.runs[0])
    off = off or shipped_file(c.runs[1])
    setting = {**c.setting, **setting}
    baseline = c.baseline
    rows = backward_thread_rows(on, off, setting, baseline, c.methods)
    series = (("thread_ms", "speedup_thread", "backward on torch's device thread (default)", 0.45),
              ("caller_ms", "speedup_caller", "backward on the calling thread", 1.0))
    return _bars(rows, series, baseline, setting,
                 "One training step ({sizes}, {dtype}): who runs the backward", (on, off),
                 "autograd_multithreading")
