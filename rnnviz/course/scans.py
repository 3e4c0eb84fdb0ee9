"""Notebook 3's pieces: work and depth of the scan networks, a real run's chunks and carries,
and the scan's bandwidth against the copy bandwidth (measured here, and shipped for the GPU).
What the kernel does with its bytes, launches and carries is notebook 7's (``scan_kernels``)."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import plotly.graph_objects as go
import torch

import rnnviz
from rnnviz.course.compare import colour, notes_for, style, themed
from rnnviz.course.reference import Reference, series
from rnnviz.course.sizes import where
from rnnviz.viz.scans import scan_network

__all__ = ["work_depth_figure", "record_chunks", "tree_trace", "chunks_figure", "scan_gbs",
           "bandwidth_figure"]

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
