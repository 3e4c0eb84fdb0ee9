"""Notebook 3's pieces: work and depth of the scan networks, a real run's chunks and carries,
and the scan's bandwidth against the copy bandwidth (measured here, and shipped for the GPU)."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import plotly.graph_objects as go
import torch

import rnnviz
from rnnviz.course.compare import colour, notes_for, style, themed
from rnnviz.course.reference import Reference, series, shipped_file
from rnnviz.course.sizes import where
from rnnviz.viz.scans import scan_network

__all__ = ["work_depth_figure", "record_chunks", "tree_trace", "chunks_figure", "scan_gbs",
           "bandwidth_figure", "in_flight_rows", "in_flight_figure", "host_share_rows",
           "host_share_figure", "timeline_programs", "lookback_timeline_figure", "carry_rows",
           "carry_figure"]

# The shipped block-size sweep that measured the channel walk with 1-4 chunks in flight.
STAGES_SWEEP = "scan-sweep-stages-h200"
TIMING_MODES = "timing-modes-h200"  # scripts/timing_modes.py on the H200
# scripts/seqpar_timeline.py on the H200: the sequence kernel's own per-program clock stamps
LOOKBACK_TIMELINE = "seqpar-timeline-h200"
# scripts/scan_carry_ab.py on the H200: look-back against reduce-then-scan, same segments
CARRY_AB = "scan-carry-h200"
CARRY_NAMES = {"lookback": "look-back (1 launch)", "scan": "reduce-then-scan (3 launches)"}
CARRY_COLOURS = {"lookback": "#ff7f0e", "scan": "#2ca02c"}  # (the look-back as in its timeline)

KIND_NAMES = {"hillis_steele": "Hillis-Steele", "blelloch": "Blelloch", "brent_kung": "Brent-Kung",
              "sklansky": "Sklansky", "chunked": "chunked (the kernel's)"}


def work_depth_figure(kinds: Sequence[str] = ("hillis_steele", "blelloch", "brent_kung"),
                      ns: Sequence[int] = tuple(2 ** k for k in range(1, 13)),
                      chunk: int = 64) -> go.Figure:
    """Work (combines) and depth (levels) of each network for n elements, counted from the
    networks themselves (``rnnviz.viz.scans.scan_network``), beside the sequential loop."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("work: combines in total",
                                                        "depth: levels one after another"))
    ns = list(ns)
    for i, kind in enumerate(kinds):
        nets = [scan_network(kind, n, chunk) for n in ns]
        c = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"][i % 5]
        for col, vals in ((1, [net.work for net in nets]), (2, [net.depth for net in nets])):
            fig.add_trace(go.Scatter(x=ns, y=vals, name=KIND_NAMES.get(kind, kind),
                                     legendgroup=kind, showlegend=col == 1, mode="lines+markers",
                                     line=dict(color=c)), row=1, col=col)
    for col in (1, 2):  # the loop: n - 1 combines, n - 1 levels
        fig.add_trace(go.Scatter(x=ns, y=[n - 1 for n in ns], name="sequential loop",
                                 legendgroup="seq", showlegend=col == 1, mode="lines",
                                 line=dict(color=colour("sequential"), dash="dot")), row=1, col=col)
    fig.update_xaxes(type="log", title_text="n elements (log scale)")
    fig.update_yaxes(type="log", title_text="count (log scale)")
    fig.update_layout(title="Work and depth of parallel scans", height=420)
    return themed(fig)


def record_chunks(T: int = 256, D: int = 4, B: int = 1, *, min_chunks: int = 4,
                  max_T: int = 1 << 16, device: torch.device | str | None = None,
                  backend: str = "auto", seed: int = 0
                  ) -> tuple[rnnviz.Trace, torch.Tensor, torch.Tensor]:
    """Run ``linear_scan`` once inside a trace, with T long enough for ``min_chunks`` chunks
    of whatever chunk size the backend picks here (it is read from the first run's record;
    the GPU kernel picks longer chunks for longer sequences, up to its tile size).
    Returns (trace, a, b)."""
    from rnnviz.ops import linear_scan

    device = torch.device(device or rnnviz.default_device())
    g = torch.Generator().manual_seed(seed)
    while True:
        a = (torch.rand(B, T, D, generator=g) * 0.3 + 0.65).to(device)
        b = torch.randn(B, T, D, generator=g).to(device)
        with rnnviz.trace(what={"chunks"}) as tr:
            linear_scan(a, b, backend=backend)
        rec = tr.filter(kind="chunks")[0]
        n = rec.data["carries"].shape[1]
        if n >= min_chunks or T * 2 > max_T:
            return tr, a, b
        T = min(max(T * 2, rec.meta["chunk"] * min_chunks), max_T)


def tree_trace(trace: rnnviz.Trace, max_n: int = 256) -> tuple[rnnviz.Trace, str]:
    """A trace small enough to draw as a tree (at most ``max_n`` elements): ``trace`` itself
    if its run is that short, else a run of the same chunked algorithm on the CPU path
    (chunks of 64). Returns (trace, a sentence saying which it is)."""
    rec = trace.filter(op="linear_scan", kind="chunks")[0]
    if int(rec.meta["T"]) <= max_n:
        return trace, (f"the run above: {rec.meta['backend']} backend, chunks of "
                       f"{rec.meta['chunk']}")
    small, _, _ = record_chunks(T=max_n, D=4, device="cpu", backend="torch", min_chunks=1)
    c = small.filter(kind="chunks")[0].meta["chunk"]
    return small, (f"the run above (T = {rec.meta['T']} in chunks of {rec.meta['chunk']}, "
                   f"{rec.meta['backend']} backend) has too many nodes to draw; this tree is the "
                   f"same algorithm on the CPU path, T = {max_n} in chunks of {c}")


def chunks_figure(trace: rnnviz.Trace, channel: int = 0, batch: int = 0) -> go.Figure:
    """One channel of a real scan: each chunk's local scan (started from 0), the carry that
    enters it, and h = (product of a within the chunk) x carry + local."""
    rec = trace.filter(op="linear_scan", kind="chunks")[0]
    local = rec.data["local"][batch, :, channel].double()
    h = rec.data["h"][batch, :, channel].double()
    carries = rec.data["carries"][batch, :, channel].double()
    C, T = int(rec.meta["chunk"]), int(rec.meta["T"])
    t = torch.arange(T) if local.shape[0] == T else torch.linspace(0, T - 1, local.shape[0]).round()
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=t.tolist(), y=h.tolist(), name="h (the scan's output)",
                             line=dict(color=colour("rnnviz-scan"), width=2.5)))
    # break the local curve at chunk starts so each chunk is drawn on its own
    xs, ys = [], []
    for ti, v in zip(t.tolist(), local.tolist()):
        if ti > 0 and int(ti) % C == 0:
            xs.append(None)
            ys.append(None)
        xs.append(ti)
        ys.append(v)
    fig.add_trace(go.Scatter(x=xs, y=ys, name="chunk-local scan (from 0)",
                             line=dict(color="#888", dash="dot")))
    fig.add_trace(go.Scatter(x=[k * C for k in range(len(carries))], y=carries.tolist(),
                             mode="markers", name="carry entering the chunk",
                             marker=dict(size=11, symbol="diamond", color="#e6550d")))
    for k in range(1, len(carries)):
        fig.add_vline(x=k * C - 0.5, line=dict(color="#ccc", width=1))
    fig.update_layout(title=f"A real run: T = {T} in chunks of {C} ({rec.meta['backend']} backend, "
                            f"{rec.meta['path']} path)",
                      xaxis_title="time step t", yaxis_title=f"channel {channel}", height=400)
    return themed(fig)


def scan_gbs(row: dict[str, Any]) -> float | None:
    """Effective bandwidth of a forward scan row: it must read a and b and write h
    (3 x B x T x D elements) in ``ms``."""
    if row.get("ms") is None:
        return None
    elem = torch.empty((), dtype=getattr(torch, row["dtype"])).element_size()
    return 3 * row["B"] * row["T"] * row["D"] * elem / (row["ms"] * 1e-3) / 1e9


def bandwidth_figure(rows: Iterable[dict[str, Any]], copy_gbs: float,
                     refs: Iterable[Reference] = (), x: str = "T", *,
                     ref_sizes: Sequence[dict[str, int]] | None = None,
                     ref_methods: Sequence[str] | None = None) -> go.Figure:
    """Effective GB/s of forward scans against ``x``, with the copy bandwidth measured here as
    the ceiling; shipped GPU rows (their ``gbs`` and their own copy bandwidth) dashed, for each
    of ``ref_sizes`` (default: the sizes closest to the rows here) and ``ref_methods``
    (default: the methods measured here)."""
    rows = list(rows)
    failed = [r for r in rows if r.get("ms") is None]
    rows = [r for r in rows if r.get("ms") is not None]
    fig = go.Figure()
    xs_all = sorted({r[x] for r in rows}) or [1]

    def ceiling(gbs: float, name: str, dash: str) -> None:
        # a flat line drawn as a trace (add_hline's label misplaces the range of a log axis)
        fig.add_trace(go.Scatter(x=[xs_all[0], xs_all[-1]], y=[gbs, gbs], mode="lines",
                                 name=name, line=dict(color=colour("copy"), dash=dash)))

    for m in dict.fromkeys(r["method"] for r in rows):
        rs = sorted((r for r in rows if r["method"] == m), key=lambda r: r[x])
        fig.add_trace(go.Scatter(x=[r[x] for r in rs], y=[scan_gbs(r) for r in rs],
                                 name=f"{m} · your machine", mode="lines+markers",
                                 line=dict(color=colour(m), width=2.5)))
    ceiling(copy_gbs, f"copy · your machine: {copy_gbs:.0f} GB/s", "solid")
    refs = list(refs)
    gpu_copies: dict[str, tuple[float, str]] = {}
    sizes = ref_sizes or ([{k: rows[-1][k] for k in ("B", "D")}] if rows else [])
    dtype = rows[0]["dtype"] if rows else "float32"
    for near, m in ((nr, m) for nr in sizes
                    for m in (ref_methods or dict.fromkeys(r["method"] for r in rows))):
        s = series(refs, m, x, near=near, pass_="fwd", dtype=dtype, y="gbs")
        if s is None:
            continue
        xs, gbs, fixed, ref = s
        xs_all = sorted(set(xs_all) | set(xs))
        fig.add_trace(go.Scatter(x=xs, y=gbs, mode="lines+markers",
                                 name=f"{m} · {ref.gpu.split()[0]}, {ref.date} (B={fixed.get('B')}, D={fixed.get('D')})",
                                 meta={"caption": ref.caption},
                                 line=dict(color=colour(m), dash="dash", width=1.5),
                                 marker=dict(symbol="circle-open")))
        if ref.provenance.get("copy_gbs"):
            gpu_copies[ref.name] = (ref.provenance["copy_gbs"], f"{ref.gpu.split()[0]}, {ref.date}")
    for gbs, who in gpu_copies.values():  # drawn last: across every shipped T
        ceiling(gbs, f"copy · {who}: {gbs:.0f} GB/s", "dash")
    fig.update_layout(xaxis_type="log", yaxis_type="log", xaxis_title=f"{x} (log scale)",
                      yaxis_title="GB/s (log scale)")
    return style(fig, "Effective bandwidth of the scan: 3·B·T·D elements / time",
                 notes_for(fig, where(), failed))


def in_flight_rows(ref: Reference, B: int = 16, T: int = 16384, D: int = 4096,
                   rows_per_thread: int = 16, warps: int = 4) -> list[dict[str, Any]]:
    """The sweep's forward rows of one tile (``rows_per_thread`` x one 16-byte vector of
    channels per thread, ``warps`` warps) at each number of chunks in flight (``stages``),
    float32 and bfloat16."""
    out = []
    for r in ref.rows:
        path, rows, w, _, stages, vec = (list(r.get("entry") or []) + [None] * 6)[:6]
        if ((r.get("B"), r.get("T"), r.get("D")) == (B, T, D) and path == "channel"
                and rows == rows_per_thread and w == warps and not vec
                and r.get("frac_copy") is not None):
            out.append({"dtype": r["dtype"], "stages": stages or 1,
                        "frac_copy": r["frac_copy"], "ms": r["ms"]})
    return sorted(out, key=lambda r: (r["dtype"], r["stages"]))


def in_flight_figure(ref: Reference | None = None, **shape: int) -> go.Figure:
    """Fraction of the copy bandwidth against the number of chunks each thread has in flight
    (1: the chunk in registers; more: the next ones staged in shared memory by Triton's
    pipeliner), float32 beside bfloat16, from the shipped GPU sweep."""
    ref = ref or shipped_file(STAGES_SWEEP)
    rows = in_flight_rows(ref, **shape)
    fig = go.Figure()
    for dtype, c in (("float32", "#1f77b4"), ("bfloat16", "#d62728")):
        rs = [r for r in rows if r["dtype"] == dtype]
        fig.add_trace(go.Bar(x=[f"{r['stages']} in flight" for r in rs],
                             y=[100 * r["frac_copy"] for r in rs], name=dtype, marker_color=c,
                             text=[f"{100 * r['frac_copy']:.0f}%" for r in rs],
                             textposition="outside"))
    fig.update_layout(barmode="group", yaxis_title="% of the copy bandwidth",
                      yaxis_range=[0, 110], xaxis_title="chunks in flight per thread")
    return style(fig, "The channel walk's forward, by chunks in flight", _source(ref))


def host_share_rows(ref: Reference, method: str = "rnnviz-scan") -> list[dict[str, Any]]:
    """Per timed case of ``scripts/timing_modes.py``: the call timed alone ("isolated"), the
    GPU's own time (a CUDA-graph replay) and the host's share, 1 - graph / isolated."""
    out = []
    for r in ref.rows:
        iso, gpu = r.get("isolated_ms"), r.get("graph_ms")
        if r.get("method") == method and iso and gpu:
            out.append({"case": f"{r['pass']} {r['dtype']} B={r['B']} T={r['T']} D={r['D']}",
                        "isolated_ms": iso, "graph_ms": gpu,
                        "host_share": max(0.0, 1.0 - gpu / iso)})
    return out


def host_share_figure(ref: Reference | None = None, method: str = "rnnviz-scan") -> go.Figure:
    """One call of the scan split into the GPU's time (its graph replay) and the rest of the
    call timed alone (Python, the Triton launcher, the autograd engine), as % of the call."""
    rows = host_share_rows(ref := ref or shipped_file(TIMING_MODES), method)
    parts = [("GPU: the kernels (graph replay)", "#1f77b4",
              [1 - r["host_share"] for r in rows], [r["graph_ms"] for r in rows]),
             ("host: launch path", "#ff7f0e", [r["host_share"] for r in rows],
              [r["isolated_ms"] - r["graph_ms"] for r in rows])]
    fig = go.Figure([go.Bar(y=[r["case"] for r in rows], x=[100 * f for f in share],
                            orientation="h", name=name, marker_color=c, textposition="inside",
                            text=[f"{ms:.3f} ms" for ms in ms_]) for name, c, share, ms_ in parts])
    fig.update_layout(barmode="stack", xaxis_title="% of one call timed alone",
                      xaxis_range=[0, 100], yaxis_autorange="reversed")
    return style(fig, "Where one call of the scan goes: GPU or host", _source(ref))


def timeline_programs(data: dict[str, Any], D: int = 64, tile: Any = "auto") -> dict[str, Any]:
    """One raw timeline of a ``scripts/seqpar_timeline.py`` result (``data``: the JSON), the
    programs in ticket order: their chunk, SM, look-back rounds and the start and end of
    each phase in µs from the first program's start (the GPU clock counts from an arbitrary
    epoch). Also the shape and tile it ran."""
    run = next((t for t in data["timelines"] if t["D"] == D and t["tile"] == tile), None)
    if run is None:
        have = [(t["D"], t["tile"]) for t in data["timelines"]]
        raise ValueError(f"no timeline of D={D}, tile={tile!r} in this result; it has {have}")
    col = {c: [row[i] for row in run["rows"]] for i, c in enumerate(data["columns"])}
    t0 = min(col["start_ns"])
    us = {c: [(v - t0) / 1e3 for v in col[c]] for c in ("start_ns", "aggregate_ns",
                                                        "inclusive_ns", "end_ns")}
    return {"B": run["B"], "T": run["T"], "D": run["D"], "dtype": run["dtype"],
            "block_t": run["block_t"], "block_d": run["block_d"], "num_warps": run["num_warps"],
            "chunk": col["chunk"], "sm": col["sm"], "rounds": col["rounds"],
            "start": us["start_ns"], "aggregate": us["aggregate_ns"],
            "inclusive": us["inclusive_ns"], "end": us["end_ns"]}


def lookback_timeline_figure(data: dict[str, Any] | None = None, D: int = 64,
                             tile: Any = "auto") -> go.Figure:
    """The sequence-parallel scan, program by program, as the kernel itself clocked it: one
    row per program (one chunk of channels), a bar per phase: loading and summarising its
    chunk, the look-back for its carry, applying the carry and storing."""
    if data is None:
        import json

        from rnnviz.bench.core import shipped_results

        data = json.loads(shipped_results()[LOOKBACK_TIMELINE].read_text())
    p = timeline_programs(data, D, tile)
    n = len(p["start"])
    phases = [("load + summarise", "#1f77b4", p["start"], p["aggregate"]),
              ("look-back", "#ff7f0e", p["aggregate"], p["inclusive"]),
              ("apply + store", "#2ca02c", p["inclusive"], p["end"])]
    fig = go.Figure([go.Bar(y=list(range(n)), x=[b - a for a, b in zip(lo, hi)], base=lo,
                            orientation="h", name=name, marker_color=c, marker_line_width=0,
                            customdata=list(zip(p["chunk"], p["sm"], p["rounds"])),
                            hovertemplate=("program %{y}: chunk %{customdata[0]}, SM "
                                           "%{customdata[1]}, %{customdata[2]} look-back "
                                           "rounds<br>" + name + ": %{x:.2f} µs<extra></extra>"))
                     for name, c, lo, hi in phases])
    fig.update_layout(barmode="overlay", bargap=0, xaxis_title="µs from the first program's start",
                      yaxis_title="program (ticket order)", yaxis_autorange="reversed")
    prov = data.get("provenance", {})
    note = [f"{(prov.get('gpu') or '').replace('NVIDIA ', '')}, measured on "
            f"{str(prov.get('date', ''))[:10]}: {prov.get('command', '')[:90]}"]
    title = (f"The look-back scan, program by program: B={p['B']}, T={p['T']}, D={p['D']}, "
             f"{p['dtype']}, chunks of {p['block_t']} steps x {p['block_d']} channels")
    return style(fig, title, note)


def carry_rows(ref: Reference) -> list[dict[str, Any]]:
    """Per case (pass and shape) of ``scripts/scan_carry_ab.py``: each carry's GPU time (a
    graph replay) and eager time (calls back to back), in µs."""
    cases: dict[str, dict[str, Any]] = {}
    for r in ref.rows:
        pss = {"fwd": "forward", "bwd": "backward"}.get(r["pass"], r["pass"])
        case = f"{pss}<br>B={r['B']}, T={r['T']}, D={r['D']}"  # (two lines: no slanted labels)
        c = cases.setdefault(case, {"case": case})
        c[f"{r['carry']}_gpu_us"], c[f"{r['carry']}_eager_us"] = (r["graph_us"],
                                                                    r["back_to_back_us"])
    return [c for c in cases.values() if all(f"{k}_gpu_us" in c for k in CARRY_NAMES)]


def carry_figure(ref: Reference | None = None) -> go.Figure:
    """The two ways a segment gets its carry, side by side on the same segments: the GPU's
    time (solid) and a program's eager calls (hatched), forward and backward."""
    rows = carry_rows(ref := ref or shipped_file(CARRY_AB))
    fig = go.Figure()
    for carry, name in CARRY_NAMES.items():
        for kind, label, pattern in (("gpu", "GPU (graph replay)", ""),
                                     ("eager", "eager (back to back)", "/")):
            fig.add_bar(x=[r["case"] for r in rows], y=[r[f"{carry}_{kind}_us"] for r in rows],
                        name=f"{name}: {label}", marker_color=CARRY_COLOURS[carry],
                        marker_pattern_shape=pattern,
                        hovertemplate="%{x}: %{y:.1f} µs<extra>" + name + "</extra>")
    fig.update_layout(barmode="group", yaxis_title="µs per call")
    return style(fig, "A segment's carry: look-back or reduce-then-scan", _source(ref))


def _source(ref: Reference) -> list[str]:
    """A figure's note: which run it shows."""
    return [f"{ref.label}: {ref.provenance.get('command', '')[:90]}"]
