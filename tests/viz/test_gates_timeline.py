"""gates and timeline from gate and stage records."""
from __future__ import annotations

import time

import pytest
import torch

from rnnviz.trace import Trace, stage, trace
from rnnviz.viz import gates, timeline

from .records import check_serialises, gate_trace


def test_gates_one_heatmap_per_gate_and_record():
    tr = gate_trace(T=20, H=5)
    fig = gates(tr)
    # 4 SRU records x (f, r, c) + 1 minGRU record x z
    assert len(fig.data) == 4 * 3 + 1
    assert fig.layout.meta["records"] == 5 and fig.layout.meta["gates"] == ["f", "r", "c", "z"]
    f0 = fig.data[0]
    assert len(f0.x) == 20 and len(f0.z) == 5  # channels down, time across
    rec = tr.filter(op="sru", layer=0)[0]
    assert f0.z[2][7] == pytest.approx(float(rec.data["f"][0, 7, 2]))
    assert {d.coloraxis for d in fig.data} == {"coloraxis", "coloraxis2"}
    assert fig.layout.coloraxis.cmin == 0 and fig.layout.coloraxis.cmax == 1
    check_serialises(fig)
    only = gates(tr, "mingru")
    assert len(only.data) == 1 and only.layout.meta["gates"] == ["z"]
    assert len(gates(tr, "sru", layer=1).data) == 6


def test_gates_time_axis_follows_the_trace_subsampling():
    tr = Trace(every=3)
    T = 30
    tr.add("mingru", "gates", {"z": tr.subsample(torch.rand(1, T, 4))}, {"T": T}, layer=0)
    fig = gates(tr)
    assert list(fig.data[0].x) == list(range(0, T, 3))


def test_gates_errors():
    with pytest.raises(ValueError, match="no 'gates' records"):
        gates(Trace())
    with pytest.raises(ValueError, match="op must be one of"):
        gates(gate_trace(), "lstm")


def test_timeline_real_stages_nested():
    with trace() as tr:
        with stage("sru", "gemm"):
            time.sleep(0.002)
        with stage("sru", "recurrence"):
            with stage("linear_scan", "forward"):
                time.sleep(0.003)
    recs = tr.stages()
    assert [r.meta["depth"] for r in recs] == [0, 1, 0]
    fig = timeline(tr)
    assert fig.layout.meta["stages"] == 3 and fig.layout.meta["timed"]
    by_op = {d.name: d for d in fig.data if d.name}
    scan = by_op["linear_scan"]
    sru = by_op["sru"]
    # the inner stage starts after the gemm and lies inside the recurrence
    rec_start, rec_len = sru.base[1], sru.x[1]
    assert sru.base[0] == 0 and scan.base[0] >= sru.x[0]
    assert rec_start <= scan.base[0] and scan.base[0] + scan.x[0] <= rec_start + rec_len + 1e-6
    assert scan.y[0].startswith("\u2514")
    totals = fig.data[-1]
    assert sorted(totals.y) == ["linear_scan.forward", "sru.gemm", "sru.recurrence"]
    check_serialises(fig)


def test_timeline_records_without_start_are_end_to_end():
    tr = Trace()
    for name, ms in [("gemm", 1.0), ("recurrence", 2.0), ("gemm", 0.5)]:
        tr.add("sru", "stage", {"ms": ms}, {"stage": name}, layer=0)
    fig = timeline(tr)
    assert not fig.layout.meta["timed"]
    assert list(fig.data[0].base) == [0.0, 1.0, 3.0]
    totals = dict(zip(fig.data[-1].y, fig.data[-1].x))
    assert totals == {"sru.gemm (layer 0)": 1.5, "sru.recurrence (layer 0)": 2.0}
    with pytest.raises(ValueError, match="no 'stage' records"):
        timeline(Trace())
