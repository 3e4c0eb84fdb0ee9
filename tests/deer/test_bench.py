"""The deer benchmark's figure 2 data: measured and estimated speedups kept apart."""
from __future__ import annotations

from rnnviz.bench.deer import figure2, figure2_data, table


def test_figure2_marks_estimates():
    rows = [
        {"method": "deer-newton", "pass": "fwd", "B": 1, "T": 1000, "D": 4, "dtype": "fp32",
         "ms": 2.0, "error": None, "speedup_vs_sequential": 30.0},
        {"method": "deer-newton", "pass": "fwd", "B": 1, "T": 10**6, "D": 4, "dtype": "fp32",
         "ms": 5.0, "error": None, "speedup_vs_sequential_est": 9000.0},
        {"method": "deer-newton", "pass": "fwd+bwd", "B": 1, "T": 1000, "D": 4, "dtype": "fp32",
         "ms": 4.0, "error": None, "speedup_vs_sequential": 12.0},
        {"method": "gru-cudnn", "pass": "fwd", "B": 1, "T": 10**6, "D": 4, "dtype": "fp32",
         "ms": None, "error": "RuntimeError: cuDNN error: CUDNN_STATUS_NOT_SUPPORTED"},
    ]
    pts = figure2_data(rows)
    assert [(p["T"], p["estimated"]) for p in pts] == [(1000, False), (10**6, True)]
    fig = figure2({"rows": rows})
    assert len(fig.data) == 1 and list(fig.data[0].y) == [30.0, 9000.0]
    text = table(rows)
    assert "9000~" in text and "NOT_SUPPORTED" in text
