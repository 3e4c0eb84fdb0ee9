"""The course helpers: measuring here (guards, errors as data) and shipped references."""
from __future__ import annotations

import threading

import torch

from rnnviz.course import measure as M
from rnnviz.course.compare import here_vs_reference
from rnnviz.course.methods import METHODS, build, memory_bytes


def test_every_builtin_method_runs_forward_and_backward_on_a_tiny_size():
    for name in ("lstm-cudnn", "gru-cudnn", "conv1d", "lstmcell-loop", "grucell-loop", "copy"):
        for backward in (False, True):
            build(name, 2, 5, 3, torch.float32, "cpu", backward)()


def test_conv1d_is_causal():
    torch.manual_seed(0)
    f = METHODS["conv1d"].make(1, 6, 2, torch.float32, torch.device("cpu"))
    x = torch.randn(1, 6, 2)
    y = f(x)
    x2 = x.clone()
    x2[:, 4:] += 1.0
    assert y.shape == x.shape and torch.equal(f(x2)[:, :4], y[:, :4])


def test_memory_estimate_grows_with_size_and_backward():
    a = memory_bytes("lstm-cudnn", 2, 100, 8, torch.float32, False)
    assert memory_bytes("lstm-cudnn", 2, 200, 8, torch.float32, False) > a
    assert memory_bytes("lstm-cudnn", 2, 100, 8, torch.float32, True) > a
    assert memory_bytes("lstm-cudnn", 2, 100, 8, torch.bfloat16, False) < a


def test_fits_refuses_with_numbers():
    assert M.fits("copy", 1, 8, 8, "float32", "cpu", False, free=10**9) is None
    msg = M.fits("copy", 1024, 2**20, 1024, "float32", "cpu", False, free=10**9)
    assert "would need about" in msg and "1.00 GB free" in msg


def test_failures_are_rows_not_exceptions(monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("no kernel for this dtype\nsecond line")

    monkeypatch.setattr(M, "build", boom)
    (row,) = M.measure(["copy"], [{"B": 1, "T": 4, "D": 2}])
    assert row["ms"] is None and row["error"] == "RuntimeError: no kernel for this dtype"


def test_stop_event_is_checked_between_measurements():
    stop = threading.Event()
    rows = []
    for row in M.measure_iter(["copy"], [{"B": 1, "T": t, "D": 2} for t in (2, 4, 8)],
                              budget_ms=1, stop=stop):
        rows.append(row)
        stop.set()
    assert len(rows) == 1


def test_sweep_halves_down_to_the_bottom():
    assert M.sweep(1024, 4) == [128, 256, 512, 1024]
    assert M.sweep(4, 5) == [1, 2, 4]


def test_here_vs_reference_keeps_the_two_apart():
    rows = M.measure(["copy", "conv1d"], [{"B": 1, "T": t, "D": 4} for t in (8, 16)], budget_ms=1)
    fig = here_vs_reference(rows, [])
    assert len(fig.data) == 2 and all("your machine" in t.name for t in fig.data)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"


def test_equations_beside_code_finds_lines_in_order_and_notes_missing_ones():
    from rnnviz.course.source import equations_beside_code, find_lines
    from rnnviz.course.measure import sweep as fn

    (n1, l1), (n2, l2) = find_lines(fn, ["def sweep", "return vals"])
    assert n1 < n2 and "def sweep" in l1 and "return vals" in l2
    table = equations_beside_code(fn, [("x", "def sweep"), ("y", "no such line")])
    html = table._repr_html_()
    assert "$$x$$" in html and "not found in the current source" in html


def test_reference_series_skips_partial_rows_and_single_points(tmp_path):
    import json

    from rnnviz.course.reference import series, shipped

    rows = [{"method": "rnnviz-sru", "scope": "recurrence kernel", "pass": "fwd", "dtype": "fp32",
             "B": 4, "T": t, "H": 8, "ms": 1.0} for t in (8, 16)]
    rows += [{"method": "rnnviz-sru", "pass": "fwd", "dtype": "fp32", "B": 4, "T": 8, "D": 8,
              "ms": 2.0}]
    rows += [{"method": "rnnviz-sru", "recurrence": "scan", "peephole": False, "pass": "fwd",
              "dtype": "bf16", "B": b, "T": 64, "D": 8, "ms": 3.0 * b} for b in (1, 4)]
    path = tmp_path / "sru-h100.json"
    path.write_text(json.dumps({"provenance": {"gpu": "NVIDIA H100", "date": "2026-11-23"},
                                "rows": rows}))
    refs = shipped(paths={"sru-h100": path})
    assert series(refs, "rnnviz-sru", "T") is None  # kernel-only rows, and a single point
    xs, ms, fixed, ref = series(refs, "rnnviz-sru-nopeephole-scan", "B", dtype="bfloat16")
    assert xs == [1, 4] and ms == [3.0, 12.0] and fixed["D"] == 8 and ref.label.startswith("H100")


def test_failed_rows_are_named_under_the_figure():
    rows = [{"method": "copy", "pass": "fwd", "dtype": "float32", "B": 1, "T": 8, "D": 2,
             "ms": 0.1, "error": None},
            {"method": "conv1d", "pass": "fwd", "dtype": "float32", "B": 1, "T": 8, "D": 2,
             "ms": None, "error": "RuntimeError: boom"}]
    fig = here_vs_reference(rows)
    assert len(fig.data) == 1 and "conv1d: RuntimeError: boom" in fig.layout.annotations[0].text
