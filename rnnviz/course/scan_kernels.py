"""Notebook 7's pieces, from the GPU runs shipped in benchmarks/: the channel walk's bandwidth
by chunks in flight, a call's time split between GPU and host, the sequence-parallel kernel's
own clock of each program, and the two ways a segment gets its carry; and one measured on
the reader's machine: the time of a call against the bytes it moves."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from rnnviz.course.compare import colour, notes_for, style
from rnnviz.course.measure import DTYPES
from rnnviz.course.reference import Reference, shipped_file
from rnnviz.course.sizes import where

__all__ = ["in_flight_rows", "in_flight_figure", "host_share_rows", "host_share_figure",
           "call_bytes", "call_time_figure", "timeline_programs", "lookback_timeline_figure",
           "carry_rows", "carry_figure", "stage_rows", "stage_figure", "flush_rows", "flush_figure",
           "tile_rows", "tile_figure", "entry_ab_rows", "entry_ab_figure", "LANES_AB",
           "lanes_ab_figure", "lane_steps", "lane_walk_figure", "WARP_TILES", "warp_load",
           "CHLANE_AB", "CHLANE_AB_BF16", "chlane_ab_figure",
           "warp_load_figure", "VIEW_AB", "view_ab_figure", "ONE_READ_AB", "one_read_figure",
           "MEDIUM_TIMELINE", "medium_timeline_figure", "medium_wait", "phase_counts",
           "medium_phases_figure", "PACKED_ABS",
           "packed_figure", "PREFETCH_ABS", "prefetch_figure", "TRIPS_ABS",
           "trips_figure"]

# The shipped block-size sweep that measured the channel walk with 1-4 chunks in flight.
STAGES_SWEEP = "scan-sweep-stages-h200"
TIMING_MODES = "timing-modes-h200"  # scripts/timing_modes.py on the H200
# scripts/seqpar_timeline.py on the H200: the sequence kernel's own per-program clock stamps
LOOKBACK_TIMELINE = "seqpar-timeline-h200"
# ... and on the H100 at B=4, T=16384, D=256, fp32: the one-read entry of 257-4096 channels
MEDIUM_TIMELINE = "seqpar-timeline-medclock-h100"
# scripts/scan_carry_ab.py on the H200: look-back against reduce-then-scan, same segments
CARRY_AB = "scan-carry-h200"
CARRY_NAMES = {"lookback": "look-back (1 launch)", "scan": "reduce-then-scan (3 launches)"}
CARRY_COLOURS = {"lookback": "#ff7f0e", "scan": "#2ca02c"}  # (the look-back as in its timeline)
# scripts/scan_breakdown.py on the H100: the D=64 forward kernel by kernel, beside the timed call
STAGE_BREAKDOWN = "scan-breakdown-h100"
# scripts/flush_ab.py on the H100: the same calls after the timer's two L2 flushes
FLUSH_AB = "flush-ab-h100"
FLUSH_NAMES = {"dirty": "after 64 MB of zeros (dirty lines left in the L2)",
               "clean": "after the zeros and a 256 MB read (a clean L2)"}
FLUSH_COLOURS = {"dirty": "#9e9e9e", "clean": "#1f77b4"}
STAGES = {"scan_reduce_kernel": ("reduce: summarise each segment", "#98df8a"),
          "scan_channel_kernel": ("scan the summaries", "#2ca02c"),
          "scan_apply_kernel": ("apply: walk each segment again", "#1b5e20"),
          "scan_segment_kernel": ("look-back: all in one launch", "#ff7f0e")}
# scripts/scan_entry_ab.py on the H100: the D=64 entry's candidates through the op, in rounds
# beside accelerated-scan's warp kernel; two runs, the second from the first's winner
ENTRY_ABS = ("scan-entry-ab-h100", "scan-entry-ab-rts8-h100")
ENTRY_NAMES = {"table": "3 launches<br>one after another",
               "lookback": "backward in<br>1 look-back launch",
               "pdl": "3 launches<br>overlapping (pdl)",
               "rts8": "pdl, backward<br>in 8-row tiles",
               "split": "lanes split,<br>both ways",
               "splitf": "lanes split,<br>forward only",
               "split528": "lanes split,<br>4x longer segments",
               "shipped": "the entry shipped<br>when it ran",
               "ch32": "one channel a lane,<br>both ways",
               "ch64": "one channel a lane,<br>64 over 2 warps",
               "ch32f": "one channel a lane,<br>forward only",
               "ch64h": "two channels a lane,<br>reduce-then-scan",
               "laid_out": "tiles loaded<br>as laid out",
               "view": "through their<br>[S, R, D] view",
               "m1lb": "one chunk a program<br>(8 rows), look-back",
               "m1lbd64": "one chunk a program<br>(8 rows, 64 ch)",
               "m1lbr16": "one chunk a program<br>(16 rows), look-back",
               "warp": "accelerated-scan<br>warp (CUDA C++)",
               "scalar": "accelerated-scan<br>scalar (Triton)"}
# the same script's run of the split walk (reduce_scan.py SPLIT) against the shipped entry
LANES_AB = "scan-entry-ab-lanes-h100"
# ... and of one channel a lane (ScanConfig.vec), fp32, then bf16 (where the shipped entry was the
# one-chunk look-back)
CHLANE_AB = "scan-entry-ab-chlane-h100"
CHLANE_AB_BF16 = "scan-entry-ab-chlane-bf16-h100"
# ... and of the shipped entries with their tiles loaded as laid out and through their
# [S, R, BLOCK_D] view (blocks.SUBCHUNK_MAJOR), a process each, under the device's Triton 3.6
VIEW_AB = "scan-subchunk-h100"
# ... and of a few hundred channels by one-chunk look-back (one read of the inputs) against the
# entry before (look-back segments forward, reduce-then-scan backward: two reads), at B=4,
# T=16384, D=256 among the class's shapes; "shipped" in that run: the one-read forward alone
ONE_READ_AB = "scan-entry-ab-medlb-class-h100"
ONE_READ_NAMES = {"lbseg": "the entry before:<br>both passes read twice",
                  "shipped": "forward reads once,<br>backward twice",
                  "m1lbr16b": "both passes<br>read once",
                  "m1lbr16d16": "read once forward,<br>16 channels",
                  "m1lbr16w8": "read once forward,<br>8 warps"}
ENTRY_PASSES = {"fwd": ("forward", "#9ecae1"), "fwd+bwd": ("forward + backward", "#08519c")}
# The same bf16 tiles of the wide forward swept on both GPUs of one chip (scripts/scan_sweep.py)
TILE_SWEEPS = ("scan-sweep-h100-bf16-wide", "scan-sweep-stages-h200-bf16")
GPU_COLOURS = ("#1f77b4", "#ff7f0e")


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


# tensors a call reads and writes, per method of rnnviz.course.methods: the scan reads a and b
# and writes h; the copy reads x and writes its copy
CALL_TENSORS = {"rnnviz-scan": 3, "copy": 2}


def call_bytes(row: dict[str, Any]) -> int:
    """The bytes one call of a measured row's method must move (``CALL_TENSORS``)."""
    n = CALL_TENSORS.get(row["method"])
    if n is None:
        raise ValueError(f"no byte count for method {row['method']!r}; known: "
                         f"{sorted(CALL_TENSORS)}")
    return n * row["B"] * row["T"] * row["D"] * DTYPES[row["dtype"]].itemsize


def call_time_figure(rows: list[dict[str, Any]]) -> go.Figure:
    """µs per call against the bytes the call moves, log-log, for rows measured here
    (``rnnviz.course.measure``): flat where the call's fixed cost (the host's) dominates,
    rising with the bytes where memory does; a dotted line at each method's smallest call."""
    failed = [r for r in rows if r.get("ms") is None]
    ok = [r for r in rows if r.get("ms") is not None]
    fig = go.Figure()
    span = [min(map(call_bytes, ok)), max(map(call_bytes, ok))] if ok else []
    for m in dict.fromkeys(r["method"] for r in ok):
        rs = sorted((r for r in ok if r["method"] == m), key=call_bytes)
        us = [1e3 * r["ms"] for r in rs]
        fig.add_trace(go.Scatter(x=[call_bytes(r) for r in rs], y=us, mode="lines+markers",
                                 name=f"{m} · your machine", line=dict(color=colour(m), width=2.5),
                                 customdata=[[r["B"], r["T"], r["D"]] for r in rs],
                                 hovertemplate="B=%{customdata[0]}, T=%{customdata[1]}, "
                                 "D=%{customdata[2]}: %{y:.1f} µs<extra>" + m + "</extra>"))
        # a flat line drawn as a trace (add_hline's label misplaces the range of a log axis)
        fig.add_trace(go.Scatter(x=span, y=[min(us)] * 2, mode="lines",
                                 name=f"{m}: its smallest call, {min(us):.0f} µs",
                                 line=dict(color=colour(m), dash="dot", width=1.5)))
    fig.update_layout(xaxis_type="log", yaxis_type="log", xaxis_title="bytes one call moves",
                      yaxis_title="µs per call (log scale)")
    return style(fig, "One call on this machine: a fixed cost, then the bytes",
                 notes_for(fig, where(), failed))


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
    data = _timeline(LOOKBACK_TIMELINE) if data is None else data
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


def medium_timeline_figure() -> go.Figure:
    """The H100's one-read entry at B=4, T=16384, D=256 (fp32), program by program, as its
    kernel clocked it (``lookback_timeline_figure`` of ``MEDIUM_TIMELINE``)."""
    return lookback_timeline_figure(_timeline(MEDIUM_TIMELINE), D=256)


def medium_wait() -> dict[str, Any]:
    """What the medium entry's timeline says in numbers: programs, the most in flight at once
    and per SM, and the median µs of a program's load + summary and of its look-back."""
    import statistics

    data = _timeline(MEDIUM_TIMELINE)
    p = timeline_programs(data, D=256)
    row = next(r for r in data["rows"] if r["D"] == 256 and r["tile"] == "auto")
    load = [b - a for a, b in zip(p["start"], p["aggregate"])]
    wait = [b - a for a, b in zip(p["aggregate"], p["inclusive"])]
    return {"programs": len(p["start"]), "in_flight": row["timeline"]["max_in_flight"],
            "per_sm": row["timeline"]["max_in_flight"] / row["timeline"]["sms_used"],
            "load_us": statistics.median(load), "lookback_us": statistics.median(wait),
            "frac_copy": row["frac_copy"]}


def phase_counts(data: dict[str, Any], D: int = 256, tile: Any = "auto", step_us: float = 0.25
                 ) -> dict[str, Any]:
    """From a timeline (``timeline_programs``): every ``step_us``, how many programs were
    loading and summarising their chunk, waiting in the look-back, and alive at all (started,
    not yet ended); and the most that were ever alive at once (the GPU's room for them)."""
    p = timeline_programs(data, D, tile)
    span = max(p["end"])
    times = [i * step_us for i in range(int(span / step_us) + 1)]

    def count(lo: list[float], hi: list[float]) -> list[int]:
        return [sum(a <= t < b for a, b in zip(lo, hi)) for t in times]

    alive = count(p["start"], p["end"])
    return {"t": times, "loading": count(p["start"], p["aggregate"]),
            "waiting": count(p["aggregate"], p["inclusive"]), "alive": alive,
            "room": max(alive)}


def medium_phases_figure() -> go.Figure:
    """``phase_counts`` of the H100's one-read entry at B=4, T=16384, D=256: the waves of
    loads and look-backs, and the room the programs leave empty."""
    data = _timeline(MEDIUM_TIMELINE)
    c = phase_counts(data)
    fig = go.Figure()
    for key, name, col in (("alive", "alive (started, not ended)", "#7f7f7f"),
                           ("loading", "loading + summarising", "#1f77b4"),
                           ("waiting", "in the look-back", "#ff7f0e")):
        fig.add_scatter(x=c["t"], y=c[key], mode="lines", name=name, line=dict(color=col),
                        hovertemplate="%{x:.2f} µs: %{y} programs<extra>" + name + "</extra>")
    fig.add_scatter(x=[0, c["t"][-1]], y=[c["room"]] * 2, mode="lines",
                    name=f"room: {c['room']} at once", line=dict(color="black", dash="dot"))
    fig.update_layout(xaxis_title="µs from the first program's start",
                      yaxis_title="programs")
    prov = data.get("provenance", {})
    return style(fig, "Where the one read's time goes: programs by phase, B=4, T=16384, D=256",
                 [f"{(prov.get('gpu') or '').replace('NVIDIA ', '')}, measured on "
                  f"{str(prov.get('date', ''))[:10]}: {prov.get('command', '')[:90]}"])


def _timeline(name: str) -> dict[str, Any]:
    import json

    from rnnviz.bench.core import shipped_results

    return json.loads(shipped_results()[name].read_text())


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


def stage_rows(ref: Reference, T: int = 65536) -> list[dict[str, Any]]:
    """Per candidate of ``scripts/scan_breakdown.py`` at ``T`` (B=1, D=64, float32): its
    segments, carry, programs, each kernel's mean device time (µs, ``STAGES``' names), the
    kernels' sum and the whole call as graph replays, and the call's bytes at the copy
    bandwidth, in the order run."""
    out = []
    for r in ref.rows:
        if r["T"] != T:
            continue
        programs, carry = r["entry"][6], r["carry"]
        how = "look-back" if carry == "lookback" else "reduce-then-scan"
        out.append({"case": f"{programs} programs<br>{how}", "carry": carry,
                    "segment": r["segment"], "programs": programs,
                    "kernels_us": r["kernels_us"], "kernels_sum_us": r["kernels_sum_us"],
                    "graph_us": r["graph_us"], "copy_us": r["copy_us"]})
    return out


def stage_figure(ref: Reference | None = None, T: int = 65536) -> go.Figure:
    """Where the few-channel scan's time goes (B=1, D=64, float32): each candidate's kernels
    stacked (reduce, the summaries' scan, apply; or the look-back's one kernel), the whole
    call as graph replays beside them, and the lines of the bytes at the copy bandwidth and
    of the issue's target (half of it)."""
    rows = stage_rows(ref := ref or shipped_file(STAGE_BREAKDOWN), T)
    fig = go.Figure()
    for kernel, (name, col) in STAGES.items():
        have = [r for r in rows if kernel in r["kernels_us"]]
        if have:
            fig.add_bar(x=[r["case"] for r in have], y=[r["kernels_us"][kernel] for r in have],
                        name=name, marker_color=col,
                        hovertemplate="%{x}: %{y:.1f} µs<extra>" + name + "</extra>")
    fig.add_scatter(x=[r["case"] for r in rows], y=[r["graph_us"] for r in rows], mode="markers",
                    marker=dict(symbol="line-ew-open", size=40, line=dict(width=3), color="black"),
                    name="the whole call, timed as graph replays",
                    hovertemplate="%{x}: %{y:.1f} µs<extra>the call</extra>")
    copy_us = rows[0]["copy_us"]
    fig.add_hline(y=copy_us, line_dash="dot",
                  annotation_text=f"its bytes at the copy bandwidth: {copy_us:.1f} µs")
    fig.add_hline(y=2 * copy_us, line_dash="dash",
                  annotation_text="the issue's target: 50% of copy")
    fig.update_layout(barmode="stack", yaxis_title="µs per call")
    return style(fig, f"The scan at B=1, T={T}, D=64 (float32), kernel by kernel", _source(ref))


def flush_rows(ref: Reference, T: int = 65536) -> list[dict[str, Any]]:
    """Per call of ``scripts/flush_ab.py`` at ``T`` (B=1, D=64, float32), in the order run:
    its graph-timed µs and fraction of the copy bandwidth after each flush."""
    calls: dict[str, dict[str, Any]] = {}
    for r in ref.rows:
        if r["T"] == T:
            c = calls.setdefault(r["call"], {"call": r["call"]})
            c[f"{r['flush']}_us"], c[f"{r['flush']}_frac"] = r["us"], r["frac_copy"]
    return [c for c in calls.values() if all(f"{f}_us" in c for f in FLUSH_NAMES)]


def flush_figure(ref: Reference | None = None, T: int = 65536) -> go.Figure:
    """The same calls timed after each of the timer's two ways of emptying the L2: zeros
    alone leave it full of dirty lines that the timed call must first write back."""
    rows = flush_rows(ref := ref or shipped_file(FLUSH_AB), T)
    names = [r["call"].replace(" (", "<br>(") for r in rows]
    fig = go.Figure()
    for flush, name in FLUSH_NAMES.items():
        fig.add_bar(x=names, y=[r[f"{flush}_us"] for r in rows], name=name,
                    marker_color=FLUSH_COLOURS[flush], textposition="outside",
                    text=[f"{100 * r[f'{flush}_frac']:.0f}%" for r in rows],
                    hovertemplate="%{x}: %{y:.1f} µs<extra>" + flush + "</extra>")
    fig.update_layout(barmode="group", yaxis_title="µs per call (graph replays)")
    return style(fig, f"One timer, two flushes: calls of ~50 MB at B=1, T={T}, D=64",
                 _source(ref) + ["labels: % of the copy bandwidth"])


def _source(ref: Reference) -> list[str]:
    """A figure's note: which run it shows."""
    return [f"{ref.label}: {ref.provenance.get('command', '')[:90]}"]


def tile_rows(refs: list[Reference], B: int = 16, T: int = 16384, D: int = 4096,
              dtype: str = "bfloat16") -> list[dict[str, Any]]:
    """The channel-walk tiles that every sweep in ``refs`` timed at one shape: per tile
    (rows per thread, warps, channels, chunks in flight, vector width), each GPU's fraction
    of its own copy bandwidth, the tiles in order of the first GPU's."""
    from rnnviz.kernels.linear_scan.launch import TILE_KEYS  # (Triton's kernels: on use only)

    per: dict[tuple, dict[str, float]] = {}
    for ref in refs:
        for r in ref.rows:
            entry = list(r.get("entry") or [])
            if ((r.get("B"), r.get("T"), r.get("D"), r.get("dtype")) == (B, T, D, dtype)
                    and entry[:1] == ["channel"] and r.get("frac_copy") is not None):
                per.setdefault(tuple(entry[1:6]), {})[ref.gpu] = r["frac_copy"]
    gpus = [ref.gpu for ref in refs]
    rows = [{"tile": dict(zip(TILE_KEYS, t)), **{g: f[g] for g in gpus}}
            for t, f in per.items() if all(g in f for g in gpus)]
    return sorted(rows, key=lambda r: -r[gpus[0]]) if gpus else rows


def _tile_name(tile: dict[str, Any]) -> str:
    vec = f", {tile['vec']}-wide" if tile.get("vec") else ""
    return (f"{tile['rows']} rows × {tile['num_warps']} warps × {tile['block_d']} ch, "
            f"{tile['stages']} in flight{vec}")


def tile_figure(refs: list[Reference] | None = None, B: int = 16, T: int = 16384,
                D: int = 4096, dtype: str = "bfloat16") -> go.Figure:
    """The wide forward's tiles on two GPUs of one chip (H100, H200): each tile's % of its
    GPU's copy bandwidth, side by side, the tile each GPU's tuned table takes marked."""
    from rnnviz.kernels.linear_scan.launch import TILE_KEYS, _tuned_for, tuned_entry

    refs = refs or [shipped_file(name) for name in TILE_SWEEPS]
    rows = tile_rows(refs, B, T, D, dtype)
    fig = go.Figure()
    names = [_tile_name(r["tile"]) for r in rows]
    for i, ref in enumerate(refs):
        chosen = tuned_entry(_tuned_for(ref.gpu.split()[0]), B, T, D, DTYPES[dtype].itemsize) or {}
        mark = [all(chosen.get(k) == r["tile"][k] for k in TILE_KEYS) for r in rows]
        fig.add_trace(go.Bar(
            x=names, y=[100 * r[ref.gpu] for r in rows], name=ref.gpu,
            marker_color=GPU_COLOURS[i % 2], marker_line_color="black",
            marker_line_width=[3 if m else 0 for m in mark], textposition="outside",
            text=[f"{100 * r[ref.gpu]:.0f}%" + (" ◀ its table" if m else "")
                  for r, m in zip(rows, mark)]))
    fig.update_layout(barmode="group", yaxis_title="% of that GPU's copy bandwidth",
                      yaxis_range=[0, 125], xaxis_tickangle=-30)
    return style(fig, f"One chip, two memories: the wide {dtype} forward's tiles",
                 [line for ref in refs for line in _source(ref)], height=520)


def entry_ab_rows(refs: list[Reference], T: int = 65536, timing: str = "graph",
                  dtype: str = "float32", B: int = 1, D: int = 64) -> list[dict[str, Any]]:
    """Per run of ``refs`` and candidate at (``B``, ``T``, ``D``, ``dtype``), in the order run:
    its median µs of each pass (``timing``: graph replays, the GPU alone, or back to back)."""
    out: dict[tuple, dict[str, Any]] = {}
    for i, ref in enumerate(refs):
        for r in ref.rows:
            if ((r["T"], r["timing"], r["dtype"], r.get("B", 1), r.get("D", 64))
                    == (T, timing, dtype, B, D)):
                c = out.setdefault((i, r["variant"]), {"run": i + 1, "variant": r["variant"]})
                c[r["pass"]] = r["us"]
    return [c for c in out.values() if all(p in c for p in ENTRY_PASSES)]


def entry_ab_figure(refs: list[Reference] | None = None, T: int = 65536,
                    title: str = "Three launches, overlapped", dtype: str = "float32",
                    B: int = 1, D: int = 64, names: dict[str, str] | None = None) -> go.Figure:
    """What the scan's launches cost on the GPU: each candidate of an H100 entry (by default
    the few-channel one, B=1, D=64), forward and forward + backward as graph replays, beside
    accelerated-scan's kernels timed in the same rounds, run by run; ``names`` labels the
    candidates over ``ENTRY_NAMES``."""
    refs = refs or [shipped_file(name) for name in ENTRY_ABS]
    labels = {**ENTRY_NAMES, **(names or {})}
    return _entry_bars(entry_ab_rows(refs, T, dtype=dtype, B=B, D=D),
                       lambda r: labels.get(r["variant"], r["variant"]),
                       f"{title}: the scan at B={B}, T={T}, D={D} ({dtype})", refs)


# The look-back with tagged words (``ScanConfig.packed``), bf16 at B * D <= 4096, T > 32768:
# its first run, each thread deciding from the words it loaded (a GPU test then failed), and
# the run after the threads agreed on one copy, each beside the flags (mh32) in its rounds
PACKED_ABS = ("scan-entry-ab-packed-bf16-h100", "scan-entry-ab-packed3-adoptbf16-h100")
PACKED_NAMES = {(1, "shipped"): "the H200's entry<br>(reduce-then-scan)",
                (1, "mh32"): "one read,<br>flags", (2, "mh32"): "one read,<br>flags",
                (1, "mh32pk8"): "one read, words:<br>threads not agreed<br>(wrong)",
                (2, "shipped"): "one read, words:<br>threads agreed",
                (2, "scalar"): ENTRY_NAMES["scalar"]}


def packed_figure(refs: list[Reference] | None = None, T: int = 131072) -> go.Figure:
    """The look-back with tagged words against the flags, bf16 at B=4, D=256, run by run
    (``PACKED_ABS``): the fast bar of the first run is the one that was wrong."""
    refs = refs or [shipped_file(name) for name in PACKED_ABS]
    rows = [r for r in entry_ab_rows(refs, T, dtype="bfloat16", B=4, D=256)
            if (r["run"], r["variant"]) in PACKED_NAMES]
    return _entry_bars(rows, lambda r: PACKED_NAMES[(r["run"], r["variant"])],
                       f"Fewer round trips, one view: the scan at B=4, T={T}, D=256 (bfloat16)",
                       refs)


# The one-read kernel asking the L2 for a later program's chunk while it looks back
# (``ScanConfig.ahead``, "keep": evict_last), H100, one run each dtype: (file, B, T, D)
PREFETCH_ABS = {"bfloat16": ("scan-entry-ab-ahead-bf16-h100", 4, 131072, 256),
                "float32": ("scan-entry-ab-ahead-h100", 4, 16384, 256)}
PREFETCH_NAMES = {"shipped": "no prefetch<br>(shipped then)",
                  **{f"pf{k}{n}": f"{n} tickets on" for n in (132, 264, 528) for k in ("", "h")},
                  **{f"pf{k}264k": "264 on,<br>kept in the L2" for k in ("", "h")},
                  "scalar": ENTRY_NAMES["scalar"]}


def prefetch_figure(dtype: str = "bfloat16", ref: Reference | None = None) -> go.Figure:
    """The one-read kernel with and without the prefetch of the chunk ``n`` tickets on, in
    one run (``PREFETCH_ABS``): bfloat16 at T=131072 (faster with it), float32 at T=16384
    (slower)."""
    name, B, T, D = PREFETCH_ABS[dtype]
    ref = ref or shipped_file(name)
    rows = [r for r in entry_ab_rows([ref], T, dtype=dtype, B=B, D=D)
            if r["variant"] in PREFETCH_NAMES]
    return _entry_bars(rows, lambda r: PREFETCH_NAMES[r["variant"]],
                       f"Asking the L2 ahead while waiting: B={B}, T={T}, D={D} ({dtype})", [ref])


# The look-back in two trips to the L2 a round (``ScanConfig.fewer_trips``) beside four, in one
# run on the H100 at B=3, T=40001, D=300 (the shipped entries of then and the same with it)
TRIPS_ABS = {"bfloat16": "scan-entry-ab-trips-bf16-h100", "float32": "scan-entry-ab-trips-h100"}
TRIPS_NAMES = {"shipped": "four trips a round<br>(shipped then)",
               "ft": "two trips a round", "pfh264kft": "two trips a round",
               "pfh264kf": "four, the backward<br>not prefetching",
               "scalar": ENTRY_NAMES["scalar"]}


def trips_figure(dtype: str = "bfloat16", ref: Reference | None = None,
                 shape: tuple[int, int, int] = (3, 40001, 300)) -> go.Figure:
    """The one-read kernel's look-back waiting on the L2 four times a round and twice
    (``TRIPS_ABS``), forward and forward + backward, beside accelerated-scan in the same rounds."""
    B, T, D = shape
    ref = ref or shipped_file(TRIPS_ABS[dtype])
    rows = [r for r in entry_ab_rows([ref], T, dtype=dtype, B=B, D=D)
            if r["variant"] in TRIPS_NAMES]
    return _entry_bars(rows, lambda r: TRIPS_NAMES[r["variant"]],
                       f"Two trips to the L2 a look-back round: B={B}, T={T}, D={D} ({dtype})",
                       [ref])


# One kernel for graphs, another eagerly: the D=64 entries' candidates at B=1, T=65536, timed
# both ways in one run on the H100 (each file's rounds alternate the candidates)
EAGER_ABS = {"bfloat16": "scan-entry-ab-eager-bf16-h100", "float32": "scan-entry-ab-ft-h100"}
EAGER_NAMES = {"shipped": "reduce-then-scan<br>(3 launches a pass)",
               "f1lbft": "look-back forward,<br>reduce-then-scan back",
               "d64lbft": "one read, look-back<br>(1 launch a pass)",
               "ft": "one read, look-back<br>(1 launch a pass)",
               "scalar": ENTRY_NAMES["scalar"]}
EAGER_TIMINGS = {"graph": "graph replays: the GPU alone",
                 "back-to-back": "back to back: the host paces each call"}


def eager_figure(dtype: str = "bfloat16", ref: Reference | None = None, T: int = 65536
                 ) -> go.Figure:
    """The D=64 entry's candidates (``EAGER_ABS``) as graph replays and back to back, side by
    side: the ranking the tuned table keeps, and the one an eager call meets."""
    from plotly.subplots import make_subplots

    ref = ref or shipped_file(EAGER_ABS[dtype])
    fig = make_subplots(rows=1, cols=2, subplot_titles=list(EAGER_TIMINGS.values()),
                        horizontal_spacing=0.08)
    for col, timing in enumerate(EAGER_TIMINGS, start=1):
        rows = [r for r in entry_ab_rows([ref], T, timing=timing, dtype=dtype)
                if r["variant"] in EAGER_NAMES]
        for pss, (label, colr) in ENTRY_PASSES.items():
            fig.add_bar(x=[EAGER_NAMES[r["variant"]] for r in rows], y=[r[pss] for r in rows],
                        name=label, marker_color=colr, showlegend=col == 1, legendgroup=pss,
                        text=[f"{r[pss]:.0f}" for r in rows], textposition="outside",
                        hovertemplate="%{x}: %{y:.1f} µs<extra>" + label + "</extra>",
                        row=1, col=col)
    fig.update_layout(barmode="group", yaxis_title="µs per call")
    return style(fig, f"Graphs and eager calls rank differently: B=1, T={T}, D=64 ({dtype})",
                 _source(ref), height=520)


def _entry_bars(rows: list[dict[str, Any]], label, title: str, refs: list[Reference]
                ) -> go.Figure:
    """``entry_ab_rows``' rows as grouped bars, forward and forward + backward, each named
    "run N" and ``label(row)``."""
    bars = [f"run {r['run']}<br>{label(r)}" for r in rows]
    fig = go.Figure()
    for pss, (label, col) in ENTRY_PASSES.items():
        fig.add_bar(x=bars, y=[r[pss] for r in rows], name=label, marker_color=col,
                    text=[f"{r[pss]:.1f}" for r in rows], textposition="outside",
                    hovertemplate="%{x}: %{y:.1f} µs<extra>" + label + "</extra>")
    fig.update_layout(barmode="group", yaxis_title="µs per call (graph replays)",
                      xaxis_tickangle=0)
    return style(fig, title, [line for ref in refs for line in _source(ref)], height=520)


def lane_steps(R: int, S: int, seg: int, split: bool) -> list[list[int]]:
    """Which step of a segment (seg chunks of R * S steps) each of the S lane groups holds at
    each row of its walk, as the kernels lay it out (``kernels/linear_scan/reduce_scan.py``):
    row i * R + r of lane group s. Chunked: chunk i's sub-chunk s, step i*R*S + s*R + r, so
    the lanes' runs interleave and must be joined every chunk. Split: step s*seg*R + i*R + r,
    each lane group's own contiguous run, joined once."""
    if min(R, S, seg) < 1:
        raise ValueError(f"R, S and seg must be >= 1, got {R}, {S}, {seg}")
    return [[s * seg * R + i * R + r if split else i * R * S + s * R + r
             for i in range(seg) for r in range(R)] for s in range(S)]


def lane_walk_figure(R: int = 4, S: int = 4, seg: int = 4) -> go.Figure:
    """The two walks of a segment side by side: for each lane group (a row) and each row of
    its walk (a column), the step of the sequence it holds, coloured by that step. Chunked, the
    colours interleave: after every chunk the lanes must pass their states along (a scan
    across lanes, shuffles). Split, each lane group's colours run on: its state stays in its
    registers, and the lanes meet once, at the segment's end."""
    from plotly.subplots import make_subplots

    titles = (f"chunked: the lanes meet after every chunk ({seg} scans across lanes)",
              "split: each lane group walks a run of its own (1 scan across lanes)")
    fig = make_subplots(rows=2, cols=1, subplot_titles=titles, vertical_spacing=0.18)
    for k, split in enumerate((False, True)):
        z = lane_steps(R, S, seg, split)
        fig.add_trace(go.Heatmap(z=z, text=[[str(v) for v in row] for row in z],
                                 texttemplate="%{text}", colorscale="Viridis", showscale=False,
                                 zmin=0, zmax=seg * R * S - 1,
                                 hovertemplate="lane group %{y}, walk row %{x}: step %{z}"
                                               "<extra></extra>"), row=k + 1, col=1)
        fig.update_yaxes(title_text="lane group", autorange="reversed", row=k + 1, col=1)
        fig.update_xaxes(title_text="row of the walk (R per load)", row=k + 1, col=1)
    return style(fig, f"One segment of {seg} chunks of {R} x {S} steps, walked two ways",
                 ["the layout of kernels/linear_scan/reduce_scan.py (SPLIT) and blocks.py"],
                 height=470)


def chlane_ab_figure(dtype: str = "float32", ref: Reference | None = None) -> go.Figure:
    """One channel a lane through the op against the shipped entry (``dtype`` float32 or
    bfloat16), forward and forward + backward as graph replays, accelerated-scan's kernels in
    the same rounds."""
    name = {"float32": CHLANE_AB, "bfloat16": CHLANE_AB_BF16}[dtype]
    return entry_ab_figure([ref or shipped_file(name)], title="Whole lines", dtype=dtype)


def view_ab_figure(dtype: str = "float32", ref: Reference | None = None) -> go.Figure:
    """The shipped entry at B=1, T=65536, D=64 with its tiles loaded as laid out and through
    their [S, R, BLOCK_D] view, under the device's Triton (3.6), forward and forward +
    backward as graph replays, accelerated-scan's scalar kernel beside each."""
    return entry_ab_figure([ref or shipped_file(VIEW_AB)], title="One relabelling",
                           dtype=dtype)


def one_read_figure(ref: Reference | None = None) -> go.Figure:
    """A few hundred channels (B=4, T=16384, D=256): look-back segments forward and
    reduce-then-scan backward (each segment read twice, to summarise it and to apply its
    carry) against one chunk a program held in registers while it looks back (read once),
    forward only and both ways, as graph replays, accelerated-scan's scalar kernel on its own
    [B, D, T] layout beside them."""
    return entry_ab_figure([ref or shipped_file(ONE_READ_AB)], T=16384, B=4, D=256,
                           title="One read, not two", names=ONE_READ_NAMES)


def lanes_ab_figure(ref: Reference | None = None) -> go.Figure:
    """The split walk through the op against the shipped D=64 entry, forward and forward +
    backward as graph replays, accelerated-scan's kernels in the same rounds."""
    return entry_ab_figure([ref or shipped_file(LANES_AB)], title="Lanes that never meet")


# Two tiles of the sequence kernels at B=1, D=64, float32, one warp each: (rows R, sub-chunks
# S, channels) of the shipped entry (16-byte loads, so 4 lanes a row and 8 sub-chunks) and of
# one channel a lane (``ScanConfig.vec`` = 1: 32 lanes a row, S = 1)
WARP_TILES = {"16-byte loads, 8 sub-chunks (shipped)": (4, 8, 16),
              "one channel a lane (vec=1)": (16, 1, 32)}
SECTOR = 32  # bytes: what the memory system moves at least
LINE = 128  # bytes: an L1/L2 cache line, 4 sectors


def warp_load(R: int, S: int, block_d: int, D: int = 64, elem: int = 4
              ) -> tuple[list[list[int]], dict[str, float]]:
    """What one warp's loads of a chunk touch in a [T, D] array (channel tile 0, the chunk's
    R * S steps): for each step and 32-byte sector of a step's D channels, which of the warp's
    R load instructions reads it (instruction r reads row r of every sub-chunk: steps s*R + r,
    ``blocks.chunk_offsets``), -1 where none does; and per instruction the rows it touches, the
    128-byte lines and the bytes it reads from each line."""
    if min(R, S, block_d, D, elem) < 1 or block_d > D:
        raise ValueError(f"R, S, block_d, D and elem must be >= 1, block_d <= D; got {R}, {S}, "
                         f"{block_d}, {D}, {elem}")
    row_bytes = block_d * elem
    sectors = -(-D * elem // SECTOR)
    grid = [[-1] * sectors for _ in range(R * S)]
    for s in range(S):
        for r in range(R):
            for k in range(-(-row_bytes // SECTOR)):
                grid[s * R + r][k] = r
    lines = S * -(-row_bytes // LINE)
    return grid, {"rows": S, "lines": lines, "bytes per line": S * row_bytes / lines}


def warp_load_figure(tiles: dict[str, tuple[int, int, int]] | None = None, D: int = 64
                     ) -> go.Figure:
    """One warp's loads of a chunk, tile by tile (``WARP_TILES``): steps down, a step's bytes
    across in 32-byte sectors, each sector coloured by the load instruction that reads it.
    The shipped tile's every instruction reads a sliver of 8 rows; one channel a lane reads one
    whole line."""
    from plotly.subplots import make_subplots

    tiles = tiles or WARP_TILES
    shapes = {name: warp_load(*tile, D=D) for name, tile in tiles.items()}
    titles = [f"{name}<br>an instruction reads {st['lines']} line{'s' * (st['lines'] > 1)}, "
              f"{st['bytes per line']:.0f} B of each" for name, (_, st) in shapes.items()]
    fig = make_subplots(rows=1, cols=len(tiles), subplot_titles=titles, horizontal_spacing=0.08)
    fig.update_annotations(font_size=13)
    for k, (grid, _) in enumerate(shapes.values()):
        fig.add_trace(go.Heatmap(z=[[v if v >= 0 else None for v in row] for row in grid],
                                 text=[[str(v) if v >= 0 else "" for v in row] for row in grid],
                                 texttemplate="%{text}", colorscale="Turbo", showscale=False,
                                 xgap=1, ygap=1,
                                 hovertemplate="step %{y}, bytes %{x}x32: instruction %{z}"
                                               "<extra></extra>"), row=1, col=k + 1)
        fig.update_yaxes(title_text="time step", autorange="reversed", row=1, col=k + 1)
        fig.update_xaxes(title_text=f"32-byte sector of a step's {D} channels", row=1, col=k + 1,
                         range=[-0.5, len(grid[0]) - 0.5], dtick=1)
    fig = style(fig, f"What one warp's loads read: a chunk of [T, {D}] float32, channel tile 0",
                ["the tiles of kernels/linear_scan/blocks.py (chunk_offsets) and launch.py "
                 "(tile_config)"], height=580)
    return fig.update_layout(margin_t=140)
