"""Measured speed, from a benchmark JSON: time against sequence length (or width), and speedup.

A result file is ``{"provenance": {gpu, date, torch, triton, command, ...}, "rows": [...]}``
with one row per (method, shape, pass, dtype): ``{"method", "ms", "T" or "D"/"H"/"L", "B",
"pass", "dtype", "error", ...}``. Left: ms against the size on log-log axes. Right: the
speedup over ``baseline`` at the same size (baseline ms / method ms; above 1 is faster).
A method that failed (``ms`` None) is said so in the legend and in a note under the figure,
never dropped in silence. The caption says where and when it was measured.
"""
from __future__ import annotations

import json
import math
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Mapping

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.viz import theme

__all__ = ["speedup", "load_results", "caption"]

SIZE_KEYS = ("T", "D", "H", "L", "B")
X_ORDER = ("T", "D", "H", "B", "L")  # which size goes along x when none is asked for
BASELINE_ORDER = ("sequential", "lstmcell-loop", "grucell-loop", "sru-loop", "lstm-cudnn",
                  "gru-cudnn")


def load_results(results: Mapping[str, Any] | str | os.PathLike) -> dict[str, Any]:
    """A result dict, from itself or from the path of its JSON file."""
    if isinstance(results, (str, os.PathLike)):
        results = json.loads(Path(results).read_text())
    if not isinstance(results, Mapping) or not isinstance(results.get("rows"), list):
        raise ValueError("results must be a benchmark result {'provenance': ..., 'rows': [...]} "
                         "or the path of its JSON file")
    return dict(results)


def caption(prov: Mapping[str, Any]) -> str:
    """One line of provenance: where, when, with what."""
    where = prov.get("gpu") or f"CPU ({prov.get('cpu', '?')}, {prov.get('cpu_threads', '?')} threads)"
    return (f"Measured on {where}, {str(prov.get('date', 'date unknown'))[:19]} · "
            f"torch {prov.get('torch', '?')} · triton {prov.get('triton', '?')}"
            + (f" · driver {prov['driver']}" if prov.get("driver") else "")
            + f" · {prov.get('command', '')}")


def _most_common(rows: list[dict[str, Any]], key: str) -> Any:
    vals = [r.get(key) for r in rows if key in r]
    return Counter(vals).most_common(1)[0][0] if vals else None


MEASURED = {"ms", "error", "gbs", "frac_copy", "bytes", "what", "note", "pass", "dtype",
            "copy_gbs_here", "frac_copy_here", "gpu_state", "ms_min", "ms_max", "reps"}


SHAPE_KEYS = set(SIZE_KEYS) | {"layers", "K", "chunk"}


def _categorical(rows: list[Mapping[str, Any]], k: str) -> bool:
    """A key that names a setting (a flag, a short name such as "warp" or "scan"), not a
    number measured with the time (iterations, errors, repetitions) nor a note in prose."""
    return all(v is None or isinstance(v, bool) or (isinstance(v, str) and len(v) <= 32)
               for v in (r.get(k) for r in rows))


def _group_keys(rows: list[Mapping[str, Any]], x: str) -> list[str]:
    """The keys that tell series apart: the other sizes, and settings such as a "scope", a
    "variant" or a "recurrence", where they are not the same in all rows. Numbers recorded
    beside the time (``iterations``, ``max_err``, ``reps``) never split a series."""
    keys = {k for r in rows for k in r} - MEASURED - {x, "method"}
    keys = {k for k in keys if not k.startswith("speedup_vs_")
            and (k in SHAPE_KEYS or _categorical(rows, k))}
    return sorted(k for k in keys if len({repr(r.get(k)) for r in rows}) > 1)


def _pick_x(rows: list[Mapping[str, Any]], x: str | None) -> str:
    """x as asked; else the first of T, D, H, B, L along which some series has 3 points or
    more (time against sequence length first: the course's question); else the size key
    whose series have the most points."""
    if x is not None:
        if not any(x in r for r in rows):
            raise ValueError(f"x={x!r} is not a key of the rows (keys: "
                             f"{sorted({k for r in rows for k in r})})")
        return x
    stats = {}
    for k in X_ORDER:
        have = [r for r in rows if k in r]
        if not have:
            continue
        gk = _group_keys(have, k)
        groups = Counter((r["method"],) + tuple(repr(r.get(g)) for g in gk) for r in have)
        stats[k] = (max(groups.values()), len(have) / len(groups))
    if not stats:
        raise ValueError(f"the rows have none of the size keys {SIZE_KEYS}")
    for k, (longest, _) in stats.items():
        if longest >= 3:
            return k
    return max(stats, key=lambda k: (stats[k][1], -X_ORDER.index(k)))


def _log_ticks(values: list[float]) -> dict[str, Any]:
    """Ticks at the powers of ten where the values span more than a decade and a half
    (plotly would also label 2 and 5 in every decade); plotly's own ticks otherwise."""
    vals = [v for v in values if v and v > 0]
    if vals and math.log10(max(vals) / min(vals)) > 1.5:
        return {"dtick": 1, "exponentformat": "power"}
    return {}


def _fallback_colour(method: str) -> str:
    way = list(theme.TEMPLATE.layout.colorway)
    return way[sum(map(ord, method)) % len(way)]


def speedup(results: Mapping[str, Any] | str | os.PathLike, baseline: str | None = None, *,
            x: str | None = None, pass_: str | None = None, dtype: str | None = None,
            where: Mapping[str, Any] | None = None) -> go.Figure:
    """Time vs size (log-log) and speedup vs ``baseline``, from a benchmark result.

    Args:
        results: the result dict or the path of its JSON.
        baseline: the method the speedups are relative to (default: the first of
            ``BASELINE_ORDER`` present, else the first method of the rows).
        x: the size along x ("T", "D", ...; default: the one that varies most).
        pass_, dtype: which rows ("fwd" / "fwd+bwd", "float32", ...); default: the most
            common value in the file.
        where: keep only the rows with these values, e.g. ``{"B": 1, "D": 16}``: one slice
            of a sweep over several sizes.
    """
    res = load_results(results)
    prov = res.get("provenance", {})
    rows = [r for r in res["rows"] if isinstance(r, Mapping) and "method" in r]
    if not rows:
        raise ValueError("results has no rows with a 'method'")
    for k, v in (where or {}).items():
        kept = [r for r in rows if r.get(k) == v]
        if not kept:
            raise ValueError(f"where={{{k!r}: {v!r}}} keeps no rows; {k} takes the values "
                             f"{sorted({repr(r.get(k)) for r in rows})}")
        rows = kept
    pass_ = pass_ if pass_ is not None else _most_common(rows, "pass")
    dtype = dtype if dtype is not None else _most_common(rows, "dtype")
    rows = [r for r in rows if r.get("pass", pass_) == pass_ and r.get("dtype", dtype) == dtype]
    if not rows:
        raise ValueError(f"no rows with pass={pass_!r} and dtype={dtype!r}")
    x = _pick_x(rows, x)
    rows = [r for r in rows if x in r]
    methods = list(dict.fromkeys(r["method"] for r in rows))
    if baseline is None:
        baseline = next((m for m in BASELINE_ORDER if m in methods), methods[0])
    elif baseline not in methods:
        raise ValueError(f"baseline must be one of the methods in the results {methods}, "
                         f"got {baseline!r}")
    fixed_keys = _group_keys(rows, x)

    def fixed(r: Mapping[str, Any]) -> tuple:
        return tuple(r.get(k) for k in fixed_keys)

    groups: dict[tuple[str, tuple], list[Mapping[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["method"], fixed(r))].append(r)
    # A series' legend name: its method and the non-size keys that tell that method's series
    # apart ("variant=warp", "recurrence=scan"); series that differ only in their other sizes
    # (B, D, ...) share the entry and colour, their sizes are in the hover.
    def label(method: str, fx: tuple) -> str:
        keys = [i for i, k in enumerate(fixed_keys) if k not in SIZE_KEYS and fx[i] is not None
                and len({f[i] for m, f in groups if m == method}) > 1]
        return method + (" (" + ", ".join(f"{fixed_keys[i]}={fx[i]}" for i in keys) + ")"
                         if keys else "")

    variants: dict[str, list[str]] = defaultdict(list)  # each method's labels, in order
    for method, fx in groups:
        if label(method, fx) not in variants[method]:
            variants[method].append(label(method, fx))
    failed_at: dict[str, list[Any]] = defaultdict(list)
    for (method, fx), grp in groups.items():
        failed_at[label(method, fx)] += sorted(r[x] for r in grp if r.get("ms") is None)

    def sizes(r: Mapping[str, Any]) -> tuple:
        return tuple(r.get(k) for k in SIZE_KEYS if k != x) + (r[x],)

    base_ms: dict[tuple, float] = {}
    for r in rows:  # the baseline at each size (its first series where it has several)
        if r["method"] == baseline and r.get("ms") is not None:
            base_ms.setdefault(sizes(r), r["ms"])

    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=(f"time vs {x} (log-log)", f"speedup over {baseline}"))
    failures: list[str] = []
    failed_rows: dict[tuple[str, str], list[Any]] = defaultdict(list)  # (label, error) -> xs
    shown: set[str] = set()
    ok_ms = [r["ms"] for r in rows if r.get("ms") is not None]
    y_fail = 2 * max(ok_ms) if ok_ms else 1.0  # failures are marked above every time
    for (method, fx), grp in groups.items():
        grp = sorted(grp, key=lambda r: r[x])
        ok = [r for r in grp if r.get("ms") is not None]
        bad = [r for r in grp if r.get("ms") is None]
        key = label(method, fx)
        for r in bad:
            err = r.get("error") or "no time recorded"
            failures.append(f"{method} at {x}={r[x]}: {err}")
            failed_rows[(key, err)].append(r[x])
        name = key + (f" · failed at {x}=" + ",".join(map(str, sorted(set(failed_at[key]))))
                      if failed_at[key] else "")
        colour = theme.method_colour(method) or _fallback_colour(method)
        line = dict(color=colour, width=3 if method == baseline else 2,
                    dash=theme.variant_dash(method, variants[method].index(key)))
        where = ", ".join(f"{k}={v}" for k, v in zip(fixed_keys, fx) if v is not None)
        fig.add_trace(go.Scatter(
            x=[r[x] for r in ok], y=[r["ms"] for r in ok], mode="lines+markers", name=name,
            legendgroup=key, showlegend=bool(ok) and key not in shown, line=line,
            meta={"method": method, "failed": len(bad)},
            hovertemplate=f"{method} ({where}): {x}=%{{x}}, %{{y:.4g}} ms<extra></extra>"),
            row=1, col=1)
        if ok:
            shown.add(key)
        if bad:  # an x above the curves where the method has no time: said, not hidden
            fig.add_trace(go.Scatter(
                x=[r[x] for r in bad], y=[y_fail] * len(bad), mode="markers", name=name,
                legendgroup=key, showlegend=key not in shown,
                marker=dict(symbol="x-thin-open", size=13, color=colour, line=dict(width=2)),
                text=[(r.get("error") or "no time recorded")[:200] for r in bad],
                meta={"method": method, "failed": len(bad)},
                hovertemplate=f"{method} ({where}) failed at {x}=%{{x}}: %{{text}}<extra></extra>"),
                row=1, col=1)
            shown.add(key)
        pts = [(r[x], base_ms[sizes(r)] / r["ms"]) for r in ok
               if sizes(r) in base_ms and r["ms"] > 0]
        fig.add_trace(go.Scatter(
            x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers", name=name,
            legendgroup=key, showlegend=False, line=line,
            hovertemplate=f"{method} ({where}): {x}=%{{x}}, %{{y:.3g}}x<extra></extra>"),
            row=1, col=2)
    fig.add_hline(y=1, line=dict(color="#888", dash="dot", width=1), row=1, col=2)
    notes = [caption(prov)]
    lines = [f"✗ {key}: {err[:140]} ({x} = {', '.join(map(str, sorted(set(xs))))})"
             for (key, err), xs in failed_rows.items()]
    notes += lines[:6] + ([f"... and {len(lines) - 6} more failures"] if len(lines) > 6 else [])
    fig.add_annotation(text="<br>".join(notes), xref="paper", yref="paper", x=0, y=-0.22,
                       xanchor="left", yanchor="top", showarrow=False, align="left",
                       font=dict(size=11, color="#555"))
    unit = {"T": "sequence length T", "D": "hidden size D", "H": "hidden size H",
            "L": "layers L", "B": "batch B"}.get(x, x)
    fig.update_xaxes(type="log", title_text=f"{unit} (log scale)")
    speedups = [v for d in fig.data if d.xaxis == "x2" for v in d.y if v]
    fig.update_yaxes(type="log", title_text="ms (log scale)", row=1, col=1,
                     **_log_ticks(ok_ms + ([y_fail] if failures else [])))
    fig.update_yaxes(type="log", title_text=f"x faster than {baseline} (log scale)", row=1, col=2,
                     **_log_ticks(speedups + [1.0]))
    same = {k: rows[0][k] for k in SIZE_KEYS if k != x and k in rows[0]
            and all(r.get(k) == rows[0][k] for r in rows)}
    fig.update_layout(
        title_text=f"{prov.get('suite', 'benchmark')}: {pass_}, {dtype}"
                   + "".join(f", {k}={v}" for k, v in same.items()),
        height=560 + 16 * len(notes), margin=dict(b=130 + 16 * len(notes)),
        meta={"x": x, "baseline": baseline, "pass": pass_, "dtype": dtype,
              "methods": methods, "failures": failures, "provenance": dict(prov)},
    )
    return theme.apply(fig)
