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
