"""The trace API (rnnviz.trace) and the promise that hooks cost nothing when no trace is on."""
from __future__ import annotations

import collections
import json
import time

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

import rnnviz
from rnnviz.trace import Trace, active, stage, trace

# ---- the API ----------------------------------------------------------------------------


def test_active_nesting_and_exceptions():
    assert active() is None
    with trace() as outer:
        assert active() is outer
        with trace() as inner:
            assert active() is inner
            active().add("op", "kind", {"x": torch.ones(2)})
        assert active() is outer
        with pytest.raises(RuntimeError):
            with trace():
                raise RuntimeError("boom")
        assert active() is outer  # an exception does not leave a trace switched on
    assert active() is None
    # records go to the innermost trace only
    assert len(inner.records) == 1 and outer.records == []
    assert repr(inner) == "Trace(1 records)"


def test_add_moves_to_cpu_detached_and_numbers_records():
    tr = Trace()
    x = torch.randn(3, requires_grad=True)
    r0 = tr.add("sru", "gates", {"f": x * 2, "n": 3}, {"T": 3}, layer=1)
    r1 = tr.add("sru", "stage", {"ms": 1.5}, {"stage": "gemm"})
    assert (r0.index, r1.index) == (0, 1)
    assert not r0.data["f"].requires_grad and r0.data["f"].device.type == "cpu"
    assert r0.data["n"] == 3 and r0.meta == {"T": 3} and r0.layer == 1


def test_filter_by_op_kind_layer():
    tr = Trace()
    for layer in (0, 1):
        tr.add("sru", "gates", {"f": torch.zeros(1)}, layer=layer)
        tr.add("sru", "stage", {"ms": 1.0}, {"stage": "gemm"}, layer=layer)
    tr.add("linear_scan", "chunks", {"h": torch.zeros(1)})
    assert len(tr.filter(op="sru")) == 4
    assert len(tr.filter(kind="stage")) == len(tr.stages()) == 2
    assert [r.index for r in tr.filter(op="sru", layer=1)] == [2, 3]
    assert [r.op for r in tr.filter(kind="chunks")] == ["linear_scan"]
    assert tr.filter(op="deer") == []


def test_what_and_layers_filtering():
    tr = Trace(what={"deer", "stage"}, layers={1})
    assert tr.wants("deer", "iteration") and tr.wants("sru", "stage", layer=1)
    assert not tr.wants("sru", "gates", layer=1)
    assert not tr.wants("sru", "stage", layer=0)  # the layer is not kept
    assert tr.add("sru", "gates", {"f": torch.ones(1)}, layer=1) is None
    assert tr.add("deer", "iteration", {"residual": 1.0}) is not None
    assert len(tr.records) == 1
    assert Trace().wants("anything", "at-all", layer=7)


def test_subsampling_every_and_max_steps():
    tr = Trace(every=3, max_steps=None)
    assert tr.time_index(10).tolist() == [0, 3, 6, 9]
    tr = Trace(every=1, max_steps=5)
    idx = tr.time_index(1_000_000)  # a long run keeps 5 evenly spaced steps
    assert idx.tolist() == [0, 250000, 500000, 749999, 999999]
    x = torch.randn(2, 1000, 4, requires_grad=True)
    tr = Trace(every=10, max_steps=20)
    s = tr.subsample(x)
    assert s.shape == (2, 20, 4) and not s.requires_grad
    assert torch.equal(s[:, 0], x[:, 0].detach()) and torch.equal(s[:, -1], x[:, 990].detach())
    assert Trace(every=2).subsample(torch.randn(5, 4), dim=0).shape == (3, 4)
    with pytest.raises(ValueError, match="every must be >= 1, got 0"):
        Trace(every=0)


def test_a_million_steps_record_a_bounded_sample():
    """A long run keeps max_steps time steps of each per-step tensor, not T."""
    from rnnviz.ops import linear_scan

    T = 1_000_000
    a, b = torch.rand(1, T, 2) * 0.1 + 0.9, torch.randn(1, T, 2)
    with trace(max_steps=1000) as tr:
        h = linear_scan(a, b)
    rec = tr.filter(op="linear_scan", kind="chunks")[0]
    assert rec.meta["T"] == T
    assert rec.data["h"].shape == (1, 1000, 2) and rec.data["local"].shape == (1, 1000, 2)
    idx = tr.time_index(T)
    assert torch.equal(rec.data["h"], h[:, idx])  # the kept steps are the real values
    assert rec.data["carries"].shape[1] == -(-T // rec.meta["chunk"])


def test_summary_and_json():
    tr = Trace()
    tr.add("sru", "gates", {"f": torch.ones(2, 3, 4)}, {"direction": 0}, layer=0)
    tr.add("deer", "iteration", {"residual": 0.125, "h": torch.zeros(1, 2)},
           {"iteration": 0, "method": "newton"})
    text = tr.summary()
    lines = text.splitlines()
    assert len(lines) == 3 and lines[0].split()[:4] == ["#", "op", "kind", "layer"]
    assert "f[2, 3, 4]" in lines[1] and "residual=0.125" in lines[2] and "h[1, 2]" in lines[2]
    data = json.loads(tr.to_json())
    assert [d["op"] for d in data] == ["sru", "deer"]
    assert data[0]["data"]["f"] == torch.ones(2, 3, 4).tolist()
    assert data[1]["meta"] == {"iteration": 0, "method": "newton"}


def test_stages_are_profiler_ranges_and_timed_records():
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        with stage("sru", "gemm"):  # no trace: a profiler range only, no record
            torch.ones(4) + 1
    assert "rnnviz.sru.gemm" in {e.name for e in prof.events()}
    with trace() as tr:
        with stage("sru", "gemm", "cpu", layer=0):
            time.sleep(0.002)
            with stage("linear_scan", "forward", "cpu"):
                time.sleep(0.002)
    outer, inner = tr.stages()[1], tr.stages()[0]  # the inner one ends (is added) first
    assert (outer.meta["stage"], inner.meta["stage"]) == ("gemm", "forward")
    assert (outer.meta["depth"], inner.meta["depth"]) == (0, 1)
    assert outer.layer == 0 and outer.meta["device"] == "cpu"
    assert outer.data["ms"] >= 4 - 0.5 and 2 - 0.5 <= inner.data["ms"] <= outer.data["ms"]
    assert outer.data["host_ms"] == outer.data["ms"]  # on a CPU the host's time is the time
    assert outer.meta["start_ms"] <= inner.meta["start_ms"]
    json.loads(tr.to_json())
    with trace(what={"deer"}) as tr2:  # a trace that does not want stages times none
        with stage("sru", "gemm"):
            pass
    assert tr2.records == []


# ---- hooks are free when off ------------------------------------------------------------


def _profile(fn):
    """(aten op counts, bytes allocated) of one call, from the CPU profiler."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    ops = collections.Counter(e.name for e in prof.events() if e.name.startswith("aten::"))
    ranges = {e.name for e in prof.events() if e.name.startswith("rnnviz.")}
    alloc = sum(k.self_cpu_memory_usage for k in prof.key_averages()
                if k.self_cpu_memory_usage > 0)
    return ops, ranges, alloc


def test_linear_scan_without_a_trace_runs_exactly_the_scan():
    """No trace: the op runs the same torch ops, and allocates the same bytes, as the bare
    chunked scan it wraps. A trace that wants nothing adds only a profiler range. A trace
    that wants the chunks adds the RECORD work (subsampling, copies) and the stage range."""
    from rnnviz.ops import linear_scan
    from rnnviz.ops.linear_scan.torch_impl import chunked_scan

    a, b = torch.rand(2, 300, 8), torch.randn(2, 300, 8)
    linear_scan(a, b)  # warm up once
    bare_ops, bare_ranges, bare_alloc = _profile(lambda: chunked_scan(a, b).h)
    off_ops, off_ranges, off_alloc = _profile(lambda: linear_scan(a, b))
    assert off_ops == bare_ops
    assert off_alloc == bare_alloc
    assert off_ranges == bare_ranges == set()

    def wants_nothing():
        with trace(what={"nothing"}):
            linear_scan(a, b)

    idle_ops, idle_ranges, idle_alloc = _profile(wants_nothing)
    assert idle_ops == bare_ops and idle_alloc == bare_alloc
    assert idle_ranges == {"rnnviz.linear_scan.forward"}

    def recorded():
        with trace() as tr:
            linear_scan(a, b)
        assert len(tr.filter(op="linear_scan", kind="chunks")) == 1

    on_ops, on_ranges, on_alloc = _profile(recorded)
    extra = on_ops - bare_ops
    assert extra["aten::index_select"] >= 2  # subsampling local and h
    assert not (bare_ops - on_ops)  # the scan itself is unchanged
    assert on_alloc > bare_alloc
    assert on_ranges == {"rnnviz.linear_scan.forward"}


def test_sru_model_records_only_inside_a_trace():
    from rnnviz.models import SRU

    sru = SRU(8, 8, batch_first=True)
    x = torch.randn(2, 16, 8)
    with torch.no_grad():
        sru(x)
        off_ops, off_ranges, off_alloc = _profile(lambda: sru(x))

        def wants_nothing():
            with trace(what={"nothing"}):
                sru(x)

        idle_ops, idle_ranges, idle_alloc = _profile(wants_nothing)
        assert idle_ops == off_ops and idle_alloc == off_alloc
        assert idle_ranges == off_ranges  # the stage ranges are there either way
        with trace() as tr:
            sru(x)
    assert {r.kind for r in tr.records} == {"gates", "stage"}
    assert rnnviz.trace is trace


def test_deer_records_only_inside_a_trace():
    from torch import nn

    from rnnviz.deer import evaluate

    cell = nn.GRUCell(3, 4).double()
    x = torch.randn(1, 12, 3, dtype=torch.float64)
    with torch.no_grad():
        evaluate(cell, x)
        off_ops, _, off_alloc = _profile(lambda: evaluate(cell, x))

        def wants_nothing():
            with trace(what={"nothing"}):
                evaluate(cell, x)

        idle_ops, _, idle_alloc = _profile(wants_nothing)
        with trace(what={"deer"}) as tr:
            _, info = evaluate(cell, x)
    assert idle_ops == off_ops and idle_alloc == off_alloc
    assert len(tr.filter(op="deer", kind="iteration")) == info["iterations"] + 1


@pytest.mark.gpu
def test_linear_scan_hooks_free_on_the_gpu(gpu):
    """On CUDA: with no trace the op launches exactly the kernels of the bare Triton scan and
    needs the same memory; recording adds buffers (local, carries) and copies."""
    from rnnviz.kernels.linear_scan import scan_fwd
    from rnnviz.ops import linear_scan

    a = torch.rand(4, 8192, 256, device=gpu) * 0.5 + 0.5
    b = torch.randn(4, 8192, 256, device=gpu)

    def recorded():
        with trace():
            linear_scan(a, b)

    runs = {"bare": lambda: scan_fwd(a, b, None, reverse=False).h,
            "off": lambda: linear_scan(a, b), "on": recorded}
    for fn in runs.values():  # compile every variant first
        fn()
    torch.cuda.synchronize()
    kernels, peak = {}, {}
    for name, fn in runs.items():
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            fn()
            torch.cuda.synchronize()
        kernels[name] = collections.Counter(
            e.name for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA)
        torch.cuda.reset_peak_memory_stats(gpu)
        base = torch.cuda.memory_allocated(gpu)
        fn()
        torch.cuda.synchronize()
        peak[name] = torch.cuda.max_memory_allocated(gpu) - base
    assert kernels["bare"], "the profiler saw no CUDA kernel (is CUPTI available?)"
    assert kernels["off"] == kernels["bare"]
    assert peak["off"] == peak["bare"]
    assert peak["on"] > peak["off"]
    assert sum(kernels["on"].values()) > sum(kernels["off"].values())


def test_timeline_is_kept_only_when_asked_for(monkeypatch):
    """A timeline changes the kernel that runs, so only trace(["timeline"]) asks the Triton
    scan for one (a trace of everything does not); the op records the rows it returns.
    (The kernel's side runs on the GPU: tests/ops/test_linear_scan.py and the test below.)"""
    from types import SimpleNamespace

    from rnnviz.kernels.linear_scan import ScanResult
    from rnnviz.ops.linear_scan import chunked_scan
    from rnnviz.ops.linear_scan import function as F

    asked = []

    def scan_fwd(a, b, h0, *, reverse, record, timeline):
        asked.append(timeline)
        rows = torch.arange(16).view(2, 8) if timeline else None
        parts = chunked_scan(a, b, h0, chunk=4)
        return ScanResult(parts.h, parts.local, parts.carries, 4, "sequence", rows)

    monkeypatch.setattr(F, "_kernels", lambda: SimpleNamespace(scan_fwd=scan_fwd))
    a, b = torch.rand(1, 8, 2), torch.randn(1, 8, 2)
    with trace() as everything:
        F._scan(a, b, None, False, "triton")
    with trace(["timeline"]) as timeline_only:
        h = F._scan(a, b, None, False, "triton")
    assert asked == [False, True]
    assert not everything.filter(kind="timeline")
    (rec,) = timeline_only.filter(op="linear_scan", kind="timeline")
    assert rec.data["rows"].shape == (2, 8) and rec.meta["path"] == "sequence"
    assert len(timeline_only.records) == 1  # nothing else was asked for
    assert torch.allclose(h, chunked_scan(a, b).h)


@pytest.mark.gpu
def test_linear_scan_timeline_on_the_gpu(gpu):
    """trace(["timeline"]) around a few-channel, long scan: the kernel's rows, one per
    program, whose summary accounts for every program."""
    from rnnviz.bench.timeline import TIMELINE_COLUMNS, timeline_summary
    from rnnviz.ops import linear_scan

    a = torch.rand(1, 65536, 64, device=gpu) * 0.1 + 0.9
    b = torch.randn(1, 65536, 64, device=gpu)
    with trace(["timeline"]) as tr:
        h = linear_scan(a, b)
    (rec,) = tr.filter(op="linear_scan", kind="timeline")
    rows = rec.data["rows"]
    assert rows.shape[1] == len(TIMELINE_COLUMNS) and rec.meta["path"] == "sequence"
    assert timeline_summary(rows)["programs"] == rows.shape[0]
    # against float64, not a second run: the look-back adds the carries of whichever
    # predecessors had published, so two runs may round differently
    ref = linear_scan(a.double(), b.double(), backend="torch")
    assert ((h.double() - ref).abs().max() / ref.abs().max()).item() < 2e-5
