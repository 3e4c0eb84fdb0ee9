"""Reading a kernel's own timeline: the sequence-parallel scan's programs report, on the
GPU's global clock, when they started, published and finished (``scan_fwd(...,
timeline=True)``; the columns are ``seqpar.TIMELINE_COLUMNS``). This turns those rows into
what the benchmark and the course show: how long each phase took, how many look-back
rounds were polled, and how many programs ran at once.
"""
from __future__ import annotations

import torch

from rnnviz.kernels.linear_scan.seqpar import TIMELINE_COLUMNS

__all__ = ["TIMELINE_COLUMNS", "timeline_summary"]


def timeline_summary(rows: torch.Tensor) -> dict:
    """Phase times (µs, median and 90th percentile over programs), rounds, span and the
    most programs running at once, from a [programs, len(TIMELINE_COLUMNS)] timeline."""
    rows = rows.to(torch.int64).clone()
    clocks = [TIMELINE_COLUMNS.index(c) for c in ("start_ns", "aggregate_ns", "inclusive_ns",
                                                 "end_ns")]
    # the clock counts from an arbitrary epoch (~1e18 ns): from the first start, in int64,
    # before anything becomes a double
    rows[:, clocks] -= rows[:, clocks[0]].min()
    t = {name: rows[:, i].double() for i, name in enumerate(TIMELINE_COLUMNS)}
    phases = {"load_summarise": t["aggregate_ns"] - t["start_ns"],
              "lookback": t["inclusive_ns"] - t["aggregate_ns"],
              "apply_store": t["end_ns"] - t["inclusive_ns"],
              "program": t["end_ns"] - t["start_ns"]}
    out = {f"{k}_us": [round(v.median().item() / 1e3, 3), round(v.quantile(0.9).item() / 1e3, 3)]
           for k, v in phases.items()}
    out["span_us"] = t["end_ns"].max().item() / 1e3
    out["last_start_us"] = t["start_ns"].max().item() / 1e3
    r = t["rounds"]
    out["rounds"] = {"median": r.median().item(), "max": r.max().item(), "mean": r.mean().item()}
    # programs in flight: +1 at each start, -1 at each end, in time order
    at = torch.cat([rows[:, clocks[0]] * 2 + 1, rows[:, clocks[3]] * 2])  # an end sorts first
    step = torch.cat([torch.ones(len(rows)), -torch.ones(len(rows))])
    out["max_in_flight"] = int(step[torch.argsort(at)].cumsum(0).max().item())
    out["sms_used"] = int(t["sm"].unique().numel())
    out["programs"] = int(rows.shape[0])
    return out
