"""Bytes or instructions: what paces a kernel (the SRU recurrence in notebook 2, section 3;
the scan's channel walk in notebook 7, section 1).

A kernel that reads and writes each value once is "memory-bound" if its bytes take longer
than its instructions. The SRU recurrence has one thread per hidden unit walking t: at
B = 32, H = 1024 that is 32768 threads, two warps per scheduler on an H200, and a step's
instructions depend on the step before. Three estimates of the inference forward's time at
T = 1024, each from numbers measured apart from the time itself, set beside the time:

- **bytes**: what it reads and writes (U, x in; h out) at the copy bandwidth measured in the
  same run (``benchmarks/sru-kernels-prefetch3-h200.json``);
- **instructions at the peak issue rate**: the instructions per step Nsight Compute counted
  in the timed kernel x warps x steps, over the GPU's schedulers (SMs x 4) issuing one
  instruction a cycle each at the maximum SM clock;
- **instructions at the measured issue rate**: the same, at the instructions per cycle
  per scheduler Nsight Compute measured for this kernel (``benchmarks/sru-ncu-h200.json``:
  about 0.6 with two warps a scheduler, each waiting on its last result).

The measured time sat on the instruction estimate in both dtypes, and bf16, which halves
the bytes, halved nothing else: the lesson of ``benchmarks/sru-ncu-h200.txt``, about the
kernel as it was then (e5143ef). What the instructions are, ``step_mixes`` counts in the
kernel installed here (its loop compiled for sm_90 on this machine,
``rnnviz.bench.sass.sru_step_mix``); its figure sets that count beside Nsight Compute's, so
the kernel's rewrite since (130 to 54 instructions a step in fp32) shows as a difference.
``ab_figure`` draws what the rewrite bought: the three versions timed in one process on an
H100 (``benchmarks/sru-kernel-ab-h100.json``); ``bf16_tries_figure`` the two levers tried on
the bf16 forward after it (a third turn of loads in flight, kept; two units a thread, slower).

The scan's channel walk is the other case (``scan_bounds``): at B x D = 65536 channels each
thread scans a chunk of 16 steps of its channels from registers, with tens of thousands of
threads in flight, and its instructions, counted the same way, take a fraction of the time
its bytes take. That kernel runs at the copy bandwidth.
"""
from __future__ import annotations

import functools
from typing import Any

import torch

from rnnviz.viz.theme import FAMILIES, apply

from .reference import shipped_file

KERNEL_RUN = "sru-kernels-prefetch3-h200"  # the measured times (library default rows)
NCU_RUN = "sru-ncu-h200"                   # the issue rate, from Nsight Compute
# The H100's and H200's maximum SM clock (SXM; nvidia-smi -q, "Max Clocks", SM 1980 MHz):
# a specification, not a measurement, and the benchmarks ran at the GPU's own boost clock.
MAX_SM_GHZ = 1.98
SCHEDULERS_PER_SM = 4  # Hopper: four warp schedulers an SM, each issuing one instruction a cycle
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@functools.lru_cache(maxsize=None)
def _shipped(name: str):
    """A shipped result, read once (the estimates look into the same files many times)."""
    return shipped_file(name)


def _measured(dtype: str) -> dict[str, Any]:
    ref = _shipped(KERNEL_RUN)
    row = next(r for r in ref.rows if r.get("library_default") and r["dtype"] == dtype
               and r["pass"] == "fwd" and r["what"].startswith("inference"))
    return {**row, "copy_gbs": ref.provenance["copy_gbs"], "label": ref.label}


def _ncu_per_step(dtype: str) -> float:
    """Instructions per warp per step that Nsight Compute counted in the timed kernel."""
    run = _measured(dtype)
    return _ncu(dtype)["executed"] / (run["T"] * run["B"] * run["D"] / 32)


def _ncu(dtype: str) -> dict[str, Any]:
    ref = _shipped(NCU_RUN)
    row = next(r for r in ref.rows if r["dtype"] == dtype)
    m = {k: v["value"] for k, v in row["metrics"].items()}
    return {"ipc": m["Issued Warp Per Scheduler"], "sms": m["# SMs"],
            "warps_per_scheduler": m["Active Warps Per Scheduler"],
            "executed": m["Executed Instructions"]}


MATH = ("float arithmetic", "special functions (MUFU: exp, rcp, tanh)")  # the recurrence's own work


def step_mixes() -> dict[str, dict[str, float]]:
    """Instructions per step of the inference forward by kind, per dtype, counted now from
    the kernel compiled for sm_90 (``rnnviz.bench.sass.sru_step_mix``, a few seconds each
    on a CPU). Empty, with the reason printed, where Triton cannot compile for sm_90 here
    (no Triton on this platform, or a wheel without ptxas)."""
    import subprocess

    from rnnviz.bench.sass import sru_step_mix

    try:
        return {dtype: sru_step_mix(tdt) for dtype, tdt in DTYPES.items()}
    except (ImportError, OSError, RuntimeError, subprocess.SubprocessError) as e:
        print(f"The kernel cannot be compiled for sm_90 on this machine ({type(e).__name__}: "
              f"{str(e).splitlines()[0][:200] if str(e) else ''}); the counts below are "
              "Nsight Compute's, from the H200.")
        return {}


def step_mix_figure(mixes: dict[str, dict[str, float]]):
    """Stacked bars: a step's instructions by kind, per dtype (``step_mixes``)."""
    import plotly.graph_objects as go

    from rnnviz.bench.sass import KINDS

    fig = go.Figure()
    shades = (FAMILIES["sru"] + FAMILIES["copy"] + FAMILIES["log-space"][:1]
              + FAMILIES["sequential"][:3])
    for kind, colour in zip(KINDS, shades):
        fig.add_bar(y=list(mixes), x=[m.get(kind, 0.0) for m in mixes.values()], name=kind,
                    orientation="h", marker_color=colour)
    parts = [f"{dt}: {sum(m.values()):.0f} a step, {sum(m.get(k, 0) for k in MATH):.0f} of "
             f"them the recurrence's math (Nsight Compute on the H200: "
             f"{_ncu_per_step(dt):.0f}, prologue included)" for dt, m in mixes.items()]
    return apply(fig, barmode="stack", xaxis_title="SASS instructions per step (one warp)",
                 height=450, legend=dict(orientation="h", y=-0.45, traceorder="normal"),
                 margin=dict(t=130),
                 title="A step of the SRU forward, compiled for sm_90 here<br><sup>"
                       + "<br>".join(parts) + "</sup>")


AB_RUN = "sru-kernel-ab-h100"  # three versions of the kernel timed in one process on the H100
AB_VERSIONS = {
    "old": "e5143ef: as Nsight Compute saw it",
    "mid": "942b2ce: pointer streams, switches as constexprs, fast exp and 1/x",
    "new": "installed: mid + three turns a pass",
}
AB_PASSES = {"fwd-inference": "forward, inference", "fwd-training": "forward, training",
             "bwd": "backward"}


def ab_rows(timing: str = "back-to-back") -> list[dict[str, Any]]:
    """The A/B of the kernel's versions (``AB_RUN``): one row per version, dtype and pass,
    with its time and fraction of the copy bandwidth. Where a version was timed in both of
    the run's calls (bf16 "old"), the second call's row, timed beside "new"."""
    ref = _shipped(AB_RUN)
    rows = {}
    for r in ref.rows:  # later rows (the second call) replace earlier ones
        if r.get("kernel") and r["timing"] == timing:
            rows[r["kernel"], r["dtype"], r["pass"]] = r
    return list(rows.values())


def ab_figure(timing: str = "back-to-back"):
    """Grouped bars: each version's fraction of the copy bandwidth per pass and dtype, on
    the H100 (``ab_rows``)."""
    import plotly.graph_objects as go

    rows = ab_rows(timing)
    groups = [(dt, ps) for dt in DTYPES for ps in AB_PASSES]  # (the loaded rows' dtype names)
    fig = go.Figure()
    colours = (FAMILIES["sequential"][1], FAMILIES["sru"][1], FAMILIES["sru"][0])  # old grey
    for (version, name), colour in zip(AB_VERSIONS.items(), colours, strict=True):
        by = {(r["dtype"], r["pass"]): r for r in rows if r["kernel"] == version}
        have = [g for g in groups if g in by]
        fig.add_bar(x=[[dt for dt, _ in have], [AB_PASSES[ps] for _, ps in have]],
                    y=[100 * by[g]["frac_copy"] for g in have], name=f"{version} ({name})",
                    marker_color=colour, text=[f"{by[g]['us']:.0f} us" for g in have],
                    textposition="outside")
    ref = _shipped(AB_RUN)
    return apply(fig, barmode="group", yaxis_title="% of the copy bandwidth",
                 yaxis_range=[0, 110], legend=dict(orientation="h", y=-0.3), margin=dict(t=100),
                 title="The SRU kernel, three versions, T=1024, B=32, H=1024<br><sup>"
                       f"{ref.label}, {timing}; fp32: the three in one process, bf16: old and "
                       "new in a second (mid from the first); new's outputs and gradients "
                       "equal old's</sup>")


# The levers tried on the bf16 forward after the clock experiment, each timed in one process
# against the kernel it would replace (graph replays, T = 1024, B = 32, H = 1024): (run, the
# experiment, its kernels as the run names them -> (what each is, its colour: the kept kernel
# in the SRU's blue, the rest lighter or grey))
BF16_TRIES = [
    ("sru-ahead-ab-h100", "loads in flight",
     {"two": ("2 turns ahead (one unit a thread)", FAMILIES["sru"][1]),
      "three": ("3 turns ahead (kept)", FAMILIES["sru"][0])}),
    ("sru-pairs-ab-h100", "two units a thread",
     {"new": ("one unit a thread, 3 turns (kept)", FAMILIES["sru"][0]),
      "pairs": ("two units, 3 turns", FAMILIES["sequential"][1]),
      "pairs2": ("two units, 2 turns", FAMILIES["sequential"][3])}),
    ("sru-planes-ab-h100", "U as K planes",
     {"new": ("U as [.., H, K], the official layout (kept)", FAMILIES["sru"][0]),
      "planes": ("U as K planes of H units", FAMILIES["sequential"][0])}),
    ("sru-block-ab-h100", "units a program",
     {"new": ("128 units a program (kept)", FAMILIES["sru"][0]),
      "b256": ("256 units a program", FAMILIES["sequential"][1]),
      "b64": ("64 units a program", FAMILIES["sequential"][3])}),
    ("sru-tanh-ab-h100", "one tanh a gate",
     {"new": ("exp and reciprocal a sigmoid", FAMILIES["sequential"][1]),
      "tanh": ("tanh.approx.f32 a sigmoid or tanh (kept)", FAMILIES["sru"][0])}),
]
BF16_PASSES = {"fwd-inference": "inference", "fwd-training": "training"}


def bf16_tries_rows(mode: str = "graph") -> list[dict[str, Any]]:
    """The rows of ``BF16_TRIES``: one per experiment, kernel and forward pass (bf16), with
    its time and fraction of the copy bandwidth as shipped. Where a run timed a kernel in two
    calls, the later call's row: the one timed beside the other kernels."""
    out = {}
    for run, experiment, kernels in BF16_TRIES:
        for r in _shipped(run).rows:
            if (r.get("kernel") in kernels and r.get("dtype") == "bfloat16"
                    and r.get("mode") == mode and r.get("pass_") in BF16_PASSES):
                out[experiment, r["kernel"], r["pass_"]] = {
                    "experiment": experiment, "kernel": r["kernel"],
                    "label": kernels[r["kernel"]][0], "pass": r["pass_"], "us": r["us"],
                    "frac_copy": r["frac_copy"]}
    return list(out.values())


def bf16_tries_figure(mode: str = "graph"):
    """Grouped bars: the bf16 forward's fraction of the copy bandwidth under each lever tried
    (``bf16_tries_rows``), the issue's 80% as a line."""
    import plotly.graph_objects as go

    rows = bf16_tries_rows(mode)
    fig = go.Figure()
    for _, experiment, kernels in BF16_TRIES:
        for kernel, (label, colour) in kernels.items():
            mine = [r for r in rows if r["experiment"] == experiment and r["kernel"] == kernel]
            fig.add_bar(x=[[experiment] * len(mine), [BF16_PASSES[r["pass"]] for r in mine]],
                        y=[100 * r["frac_copy"] for r in mine], name=label, marker_color=colour,
                        text=[f"{r['us']:.0f} us" for r in mine], textposition="outside")
    fig.add_hline(y=80, line_dash="dash", line_color=FAMILIES["copy"][0],
                  annotation_text="the issue's target: 80% of copy")
    return apply(fig, barmode="group", yaxis_title="% of the copy bandwidth",
                 yaxis_range=[0, 100], legend=dict(orientation="h", y=-0.3), margin=dict(t=100),
                 title=f"The bf16 SRU forward, {len(BF16_TRIES)} levers tried, T=1024, B=32, "
                       "H=1024<br><sup>"
                       f"{_shipped(BF16_TRIES[0][0]).label}, {mode}; each experiment in one "
                       "process, outputs identical (the tanh's: within 2 bf16 ulps)</sup>")


CLOCK_NCU_RUN = "sru-ncu-h100"      # the rewritten kernel under Nsight Compute (SMs at its clock)
CLOCK_RUN = "sru-h100-20261205b"    # the same kernel in the bench, the same session (boost clock)
CLOCK_BARS = [("ncu_us", "Nsight Compute, its SM clock", FAMILIES["sru"][1]),
              ("bench_us", "benchmark, the boost clock", FAMILIES["sru"][0]),
              ("if_clock_us", "if the SMs set the pace: Nsight's time x its clock / boost",
               FAMILIES["sequential"][2]),
              ("bytes_us", "its bytes at the copy bandwidth", FAMILIES["copy"][0])]


def clock_rows() -> list[dict[str, Any]]:
    """The rewritten kernel's inference forward (``scripts/sru_ncu.py``: T=1024, B=32,
    H=1024) timed at two SM clocks on the H100: by Nsight Compute, which fixes the
    clock (the median of its launches of that dtype), and by the bench at the boost clock.
    If instructions set the pace, the time would scale with the clock (``if_clock_us``)."""
    ncu, bench = _shipped(CLOCK_NCU_RUN), _shipped(CLOCK_RUN)
    out = []
    for dtype in DTYPES:  # (the loaded rows' dtype names)
        launches = [{k: v["value"] for k, v in r["metrics"].items()}
                    for r in ncu.rows if r["dtype"] == dtype]
        launches.sort(key=lambda m: m["Duration"])
        m = launches[len(launches) // 2]
        row = next(r for r in bench.rows if r.get("method") == "rnnviz-sru" and r["pass"] == "fwd"
                   and r["dtype"] == dtype and r["what"].startswith("inference"))
        boost = row["gpu_state"]["sm_mhz"] / 1e3
        us = row["ms"] * 1e3
        out.append({"dtype": dtype, "ncu_ghz": m["SM Frequency"], "boost_ghz": boost,
                    "ncu_us": m["Duration"], "bench_us": us,
                    "if_clock_us": m["Duration"] * m["SM Frequency"] / boost,
                    "bytes_us": us * row["frac_copy"], "dram_pct": m["DRAM Throughput"]})
    return out


def clock_figure(rows: list[dict[str, Any]] | None = None):
    """Grouped bars per dtype of ``CLOCK_BARS`` (``clock_rows``), in us."""
    import plotly.graph_objects as go

    rows = clock_rows() if rows is None else rows
    fig = go.Figure()
    for key, name, colour in CLOCK_BARS:
        fig.add_bar(x=[r["dtype"] for r in rows], y=[r[key] for r in rows], name=name,
                    marker_color=colour, text=[f"{r[key]:.0f}" for r in rows],
                    textposition="outside")
    r0 = rows[0]
    return apply(fig, barmode="group", yaxis_title="us", legend=dict(orientation="h", y=-0.25),
                 margin=dict(t=100),
                 title=f"The SRU forward at two SM clocks (about {r0['ncu_ghz']:.2f} and "
                       f"{r0['boost_ghz']:.2f} GHz), T=1024, B=32, H=1024<br><sup>"
                       f"{_shipped(CLOCK_RUN).label}, the bench and Nsight Compute in one "
                       "session: a faster clock bought nothing, so the SMs do not set the "
                       "pace</sup>")


def _ms(bytes_: float, copy_gbs: float, warp_instructions: float, sms: int) -> dict[str, float]:
    """The two estimates every bound has: the bytes at the copy bandwidth, and the warp
    instructions at one a cycle on each of the GPU's schedulers at the maximum clock."""
    return {"bytes_ms": bytes_ / (copy_gbs * 1e9) * 1e3,
            "issue_peak_ms": warp_instructions / (sms * SCHEDULERS_PER_SM)
            / (MAX_SM_GHZ * 1e9) * 1e3}


def step_bounds() -> list[dict[str, Any]]:
    """For the inference forward in float32 and bfloat16 at the shipped run's shape: the
    measured time and the three estimates of the module doc, in ms, with what went in.

    The instructions per step are those Nsight Compute counted on the H200 (executed
    instructions over warp steps, the prologue included), so that every number is of the
    kernel that was timed; ``step_mixes`` counts the kernel installed here."""
    out = []
    for dtype in DTYPES:
        run, ncu = _measured(dtype), _ncu(dtype)
        warp_steps = run["T"] * run["B"] * run["D"] / 32  # one thread per unit, 32 a warp
        instr = _ncu_per_step(dtype)
        ms = _ms(run["bytes"], run["copy_gbs"], instr * warp_steps, ncu["sms"])
        out.append({
            "dtype": dtype, "T": run["T"], "B": run["B"], "H": run["D"],
            "bytes": run["bytes"], "copy_gbs": run["copy_gbs"],
            "instructions_per_step": instr, "ipc_per_scheduler": ncu["ipc"],
            "warps_per_scheduler": ncu["warps_per_scheduler"],
            **ms, "issue_measured_ms": ms["issue_peak_ms"] / ncu["ipc"],
            "measured_ms": run["ms"], "measured_on": run["label"],
            "label": f"{dtype}<br>{instr:.0f} instructions, "
                     f"{run['bytes'] / (run['T'] * run['B'] * run['D']):.0f} bytes a step",
            "title": f"SRU recurrence, T={run['T']}, B={run['B']}, H={run['D']}, inference "
                     f"forward: what paces a step<br><sup>{run['label']}</sup>",
        })
    return out


BARS = [("bytes_ms", "bytes at the copy bandwidth", FAMILIES["copy"][0]),
        ("issue_peak_ms", "instructions at 1 a cycle per scheduler", FAMILIES["sru"][1]),
        ("issue_measured_ms", "instructions at the issue rate ncu measured", FAMILIES["sru"][0]),
        ("measured_ms", "measured", FAMILIES["sequential"][2])]


def bound_figure(bounds: list[dict[str, Any]]):
    """Grouped bars per dtype of each of ``BARS`` the bounds have (``step_bounds``,
    ``scan_bounds``), in ms."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for key, name, colour in BARS:
        if key in bounds[0]:
            fig.add_bar(x=[b["label"] for b in bounds], y=[b[key] for b in bounds], name=name,
                        marker_color=colour, text=[f"{b[key]:.3f}" for b in bounds],
                        textposition="outside")
    return apply(fig, barmode="group", yaxis_title="ms", legend=dict(orientation="h", y=-0.25),
                 margin=dict(t=100), title=bounds[0]["title"])


SCAN_RUN = "scan-h200"  # the full bench run: the wide forward's times and copy ceiling
SCAN_SHAPE = (16, 16384, 4096)  # B, T, D: issue 3's wide target shape
# A shape of the same tuned class (B*D >= 32768, 2048 < T <= 32768) and the same 16-byte
# divisibility, so the same compiled kernel, with a tenth of the (unwritten) memory
_SCAN_COMPILE_SHAPE = (8, 2112, 4096)


def scan_instructions_per_element(dtype: torch.dtype) -> float:
    """Warp instructions per element of the scan's forward at ``SCAN_SHAPE`` (the channel
    walk, with the H200's tuned tile), as compiled for sm_90 here: the loop's count times the
    program's warps, over the elements one pass of the loop covers (R x S x BLOCK_D)."""
    from rnnviz.bench.sass import loop_counts, tuned_for
    from rnnviz.kernels.linear_scan import scan_fwd

    a = torch.empty(_SCAN_COMPILE_SHAPE, dtype=dtype)
    with tuned_for("H200"):
        (name, kw, bodies), = loop_counts(lambda: scan_fwd(a, a))
    if name != "scan_channel_kernel" or len(bodies) != 1:
        raise RuntimeError(f"expected the channel walk's one loop, got {name} with "
                           f"{len(bodies)} loops")
    return sum(bodies[0].values()) * kw["num_warps"] / (kw["R"] * kw["S"] * kw["BLOCK_D"])


def scan_bounds() -> list[dict[str, Any]]:
    """For the scan's forward at ``SCAN_SHAPE`` in float32 and bfloat16: the time its bytes
    take at the copy bandwidth of the shipped bench run, the time its instructions (counted
    here, ``scan_instructions_per_element``) take at one a cycle per scheduler, and the time
    measured in that run. Compiles two kernels: seconds on a CPU."""
    ref = _shipped(SCAN_RUN)
    copy = ref.provenance["copy_gbs"]
    B, T, D = SCAN_SHAPE
    sms = _ncu("float32")["sms"]
    out = []
    for dtype, tdt in DTYPES.items():
        row = next(r for r in ref.rows if r["method"] == "rnnviz-scan" and r["pass"] == "fwd"
                   and r["dtype"] == dtype and (r.get("B"), r.get("T"), r.get("D")) == SCAN_SHAPE)
        per_element = scan_instructions_per_element(tdt)
        n = B * T * D
        nbytes = 3 * n * tdt.itemsize  # a and b read, h written
        out.append({"dtype": dtype, "B": B, "T": T, "D": D, "bytes": nbytes, "copy_gbs": copy,
                    "instructions_per_element": per_element,
                    **_ms(nbytes, copy, per_element * n, sms),
                    "measured_ms": row["ms"], "measured_on": ref.label,
                    "label": f"{dtype}<br>{32 * per_element:.1f} instructions, "
                             f"{3 * tdt.itemsize} bytes an element",
                    "title": f"The scan, B={B}, T={T}, D={D}, forward: bytes or instructions?"
                             f"<br><sup>{ref.label}</sup>"})
    return out
