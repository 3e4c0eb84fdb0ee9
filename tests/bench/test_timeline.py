"""The reading of the sequence kernel's timeline (rnnviz.bench.timeline), on constructed
rows: the GPU writes them (tests/ops/test_linear_scan.py checks that it does)."""
from __future__ import annotations

import torch

from rnnviz.bench.timeline import TIMELINE_COLUMNS, timeline_summary

EPOCH = 1_765_000_000_000_000_000  # the global timer counts from far away: ns since 1970


def rows(progs):
    """[chunk, tile, sm, start, aggregate, inclusive, end, rounds] rows, times in ns."""
    return torch.tensor([[c, 0, sm, EPOCH + s, EPOCH + a, EPOCH + i, EPOCH + e, r]
                         for c, sm, s, a, i, e, r in progs], dtype=torch.int64)


def test_phases_rounds_and_overlap():
    # three programs: two at once on two SMs, the third starts when the first ends
    t = rows([(0, 0, 0, 1000, 1000, 3000, 0),
              (1, 1, 500, 1500, 4500, 6500, 3),
              (2, 0, 3000, 3500, 4000, 5000, 1)])
    s = timeline_summary(t)
    assert len(TIMELINE_COLUMNS) == t.shape[1]
    assert s["load_summarise_us"][0] == 1.0  # medians of (1000, 1000, 500) ns
    assert s["lookback_us"][0] == 0.5  # (0, 3000, 500)
    assert s["apply_store_us"][0] == 2.0  # (2000, 2000, 1000)
    assert s["span_us"] == 6.5 and s["last_start_us"] == 3.0
    assert s["rounds"] == {"median": 1.0, "max": 3.0, "mean": 4 / 3}
    assert s["max_in_flight"] == 2  # program 2 starts at 3000, as program 0 ends
    assert s["sms_used"] == 2 and s["programs"] == 3


def test_nanoseconds_survive_the_epoch():
    """Times a few ns apart, ~1.8e18 ns from the epoch: a double would round them away."""
    t = rows([(0, 0, 0, 3, 5, 7, 0), (1, 0, 1, 4, 6, 9, 1)])
    s = timeline_summary(t)
    assert s["span_us"] == 0.009
    assert s["max_in_flight"] == 2
