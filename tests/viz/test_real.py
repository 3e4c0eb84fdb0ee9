"""Every figure built from a REAL trace (the ops run here on the CPU) or a real benchmark JSON."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from torch import nn

import rnnviz
from rnnviz.viz import gates, newton_convergence, scan_tree, speedup, timeline
from rnnviz.viz.scans import scan_network

from .records import check_serialises


def test_scan_tree_shows_the_real_chunks_and_carries():
    from rnnviz.ops import linear_scan

    T, D = 200, 3  # the CPU path's chunks are 64 steps: 4 chunks, the last one short
    a = torch.rand(1, T, D) * 0.3 + 0.7
    b = torch.randn(1, T, D)
    with rnnviz.trace(max_steps=None) as tr:
        h = linear_scan(a, b)
    rec = tr.filter(op="linear_scan", kind="chunks")[0]
    C = rec.meta["chunk"]
    fig = scan_tree("chunked", trace=tr, channel=1)
    net = scan_network("chunked", T, C)
    assert fig.layout.meta["n"] == T and fig.layout.meta["chunk"] == C
    assert len(fig.frames) == len(net.levels) + 1
    texts = [t for trace_ in fig.data[4:] for t in trace_.text]
    # h at the apply level is the op's output; the carries are the states leaving each chunk
    assert any(f"h_{T - 2} = {float(h[0, T - 2, 1]):.4g}" in t for t in texts)
    n_chunks = -(-T // C)
    for k in range(1, n_chunks):
        v = float(h[0, k * C - 1, 1])
        assert float(rec.data["carries"][0, k, 1]) == pytest.approx(v, rel=1e-5, abs=1e-6)
        assert any(f"carry into chunk {k} = " in t for t in texts)
    check_serialises(fig)


def test_scan_tree_needs_every_step_recorded():
    from rnnviz.ops import linear_scan

    with rnnviz.trace(every=2) as tr:
        linear_scan(torch.rand(1, 40, 2), torch.randn(1, 40, 2))
    with pytest.raises(ValueError, match="every=1"):
        scan_tree("chunked", trace=tr)


def test_gates_and_timeline_from_a_real_sru():
    from rnnviz.models import SRU

    sru = SRU(8, 8, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(2, 24, 8)
    with rnnviz.trace() as tr:
        sru(x)
    recs = tr.filter(op="sru", kind="gates")
    assert len(recs) == 4  # 2 layers x 2 directions
    fig = gates(tr)
    assert len(fig.data) == 4 * 3 and fig.layout.meta["gates"] == ["f", "r", "c"]
    f = recs[0].data["f"]
    assert len(fig.data[0].x) == 24 and len(fig.data[0].z) == 8
    assert fig.data[0].z[3][5] == pytest.approx(float(f[0, 5, 3]))
    assert 0 <= float(f.min()) and float(f.max()) <= 1
    check_serialises(fig)
    stages = tr.stages()
    tl = timeline(tr)
    assert tl.layout.meta["stages"] == len(stages) >= 4 and tl.layout.meta["timed"]
    assert sum(len(d.x) for d in tl.data[:-1]) == len(stages)
    check_serialises(tl)


@pytest.mark.parametrize("name,op,gate_names", [("MinGRU", "mingru", ["z"]),
                                                ("MinLSTM", "minlstm", ["f", "i"])])
def test_gates_scan_and_timeline_from_a_real_mingru(name, op, gate_names):
    models = pytest.importorskip("rnnviz.models.mingru",
                                 reason="rnnviz.models.mingru has not landed yet")
    m = getattr(models, name)(6, 6, batch_first=True, num_layers=2)
    with rnnviz.trace(max_steps=None) as tr:
        m(torch.randn(2, 16, 6))
    recs = tr.filter(op=op, kind="gates")
    assert [r.layer for r in recs] == [0, 1]
    fig = gates(tr, op)
    assert fig.layout.meta["gates"] == gate_names
    assert len(fig.data) == len(recs) * len(gate_names)
    v = recs[1].data[gate_names[0]]
    assert fig.data[len(gate_names)].z[4][9] == pytest.approx(float(v[0, 9, 4]))
    check_serialises(fig)
    # the layers' scans are real linear_scan runs: their chunks draw as a scan tree
    assert len(tr.filter(op="linear_scan", kind="chunks")) == 2
    tree = scan_tree("chunked", trace=tr, record=1)
    assert tree.layout.meta["n"] == 16
    # and the scan's stage sits inside the layer's stage on the timeline
    tl = timeline(tr)
    scan_stage = tr.filter(op="linear_scan", kind="stage")[0]
    assert scan_stage.meta["depth"] >= 1
    assert tl.layout.meta["stages"] == len(tr.stages())


@pytest.mark.parametrize("method", ["newton", "quasi", "damped"])
def test_newton_convergence_from_a_real_deer_run(method):
    from rnnviz.deer import evaluate

    cell = nn.GRUCell(4, 6).double()
    x = torch.randn(2, 40, 4, dtype=torch.float64)
    with rnnviz.trace() as tr:
        h, info = evaluate(cell, x, method=method)
    h = h.detach()
    assert info["converged"]
    fig = newton_convergence(tr)
    n = info["iterations"] + 1  # the first record is the initial guess
    assert len(fig.frames) == n == fig.layout.meta["iterations"]
    assert fig.layout.meta["residual"] == pytest.approx(info["residuals"])
    assert fig.layout.meta["error_source"] == "err_t"
    assert fig.data[-1].name == ("damping" if method == "damped" else "ms per iteration")
    # the last frame's iterate is the answer
    last = fig.frames[-1].data[1].y
    assert max(abs(v - float(h[0, t, 0])) for t, v in enumerate(last)) < 1e-8
    if method == "newton":  # quadratic: the last residual is tiny next to its square root
        r = info["residuals"]
        assert r[-1] < 1e-10 and r[-2] < 1e-3
    check_serialises(fig)


@pytest.fixture(scope="module")
def quick_scan_json(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    subprocess.run([sys.executable, "-m", "rnnviz.bench", "scan", "--quick", "--out", str(out)],
                   check=True, capture_output=True, timeout=300)
    (path,) = out.glob("scan-*.json")
    return path


def test_speedup_from_a_real_quick_benchmark(quick_scan_json):
    res = json.loads(quick_scan_json.read_text())
    fig = speedup(quick_scan_json, baseline="rnnviz-scan")
    meta = fig.layout.meta
    rows = [r for r in res["rows"] if r.get("pass") == meta["pass"]
            and r.get("dtype") == meta["dtype"] and meta["x"] in r]
    times = [d for d in fig.data if d.xaxis in (None, "x")]  # the time panel
    curves = [d for d in times if d.mode == "lines+markers"]
    marks = [d for d in times if d.mode == "markers"]  # the failures
    assert sum(len(d.x) for d in curves) == sum(r["ms"] is not None for r in rows)
    failed = [r for r in rows if r["ms"] is None]
    assert len(meta["failures"]) == len(failed) == sum(len(d.x) for d in marks)
    if failed:  # e.g. accelerated-scan not installed here: said, not hidden
        assert any("failed" in (d.name or "") for d in marks if d.showlegend)
        assert failed[0]["error"].split(":")[0] in fig.layout.annotations[-1].text
    assert res["provenance"]["torch"] in fig.layout.annotations[-1].text
    check_serialises(fig)


@pytest.mark.parametrize("name", ["deer-h100.json", "sru-h100.json", "scan-h100.json",
                                  "mingru-h100.json"])
def test_speedup_from_a_shipped_gpu_result(name):
    """The GPU results in benchmarks/ (measured on the device, with provenance) draw."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / name
    if not path.exists():
        pytest.skip(f"benchmarks/{name} has not been measured yet")
    res = json.loads(path.read_text())
    fig = speedup(path)
    meta = fig.layout.meta
    rows = [r for r in res["rows"] if r.get("pass") == meta["pass"]
            and r.get("dtype") == meta["dtype"] and meta["x"] in r]
    assert len(meta["failures"]) == sum(r.get("ms") is None for r in rows)
    assert res["provenance"]["gpu"].replace("NVIDIA ", "") in fig.layout.annotations[-1].text
    check_serialises(fig)
