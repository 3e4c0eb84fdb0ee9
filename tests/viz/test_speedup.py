"""speedup from a benchmark result (a hand-made one here; a real --quick one in test_real.py)."""
from __future__ import annotations

import json

import pytest

from rnnviz.viz import speedup, theme

from .records import check_serialises

PROV = {"suite": "scan", "date": "2026-11-23T08:00:00+00:00", "gpu": "NVIDIA H100 80GB HBM3",
        "torch": "2.11.0", "triton": "3.6.0", "driver": "570.1",
        "command": "python -m rnnviz.bench scan"}


def result():
    rows = []
    for T in (256, 1024, 4096):
        for method, ms in [("sequential", T * 0.01), ("rnnviz-scan", T * 1e-4 + 0.01),
                           ("copy", T * 5e-5)]:
            rows.append({"method": method, "pass": "fwd", "dtype": "float32", "B": 8, "T": T,
                         "D": 256, "ms": ms, "error": None})
        rows.append({"method": "rnnviz-scan", "pass": "fwd+bwd", "dtype": "float32", "B": 8,
                     "T": T, "D": 256, "ms": 1.0, "error": None})
    rows.append({"method": "accelerated-scan", "pass": "fwd", "dtype": "float32", "B": 8,
                 "T": 4096, "D": 256, "ms": None, "error": "ImportError: no accelerated_scan"})
    return {"provenance": PROV, "rows": rows}


def test_time_and_speedup_panels(tmp_path):
    path = tmp_path / "scan-h100.json"
    path.write_text(json.dumps(result()))
    fig = speedup(path)  # a path works as well as the dict
    meta = fig.layout.meta
    assert meta["x"] == "T" and meta["baseline"] == "sequential" and meta["pass"] == "fwd"
    # one time trace and one speedup trace per method (fwd rows only)
    names = [d.name for d in fig.data if d.showlegend is not False]
    assert names[:3] == ["sequential", "rnnviz-scan", "copy"]
    time_scan, speed_scan = fig.data[2], fig.data[3]
    assert list(time_scan.x) == [256, 1024, 4096]
    assert speed_scan.y[-1] == pytest.approx(40.96 / (0.4096 + 0.01))
    assert list(fig.data[1].y) == [1.0, 1.0, 1.0]  # the baseline against itself
    assert time_scan.line.color == theme.method_colour("rnnviz-scan")
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    check_serialises(fig)


def test_failures_are_shown_and_provenance_captioned():
    fig = speedup(result(), baseline="copy")
    failed = [d for d in fig.data if d.name and "failed" in d.name]
    assert [d.name for d in failed if d.showlegend] == ["accelerated-scan · failed at T=4096"]
    mark = [d for d in failed if d.mode == "markers"][0]  # an x where the time would be
    assert list(mark.x) == [4096] and mark.marker.symbol == "x-thin-open"
    assert mark.y[0] > max(r["ms"] for r in result()["rows"] if r["ms"] is not None)
    assert "ImportError: no accelerated_scan" in mark.text[0]
    note = fig.layout.annotations[-1].text
    assert "H100" in note and "2026-11-23" in note and "torch 2.11.0" in note
    assert "triton 3.6.0" in note and "ImportError: no accelerated_scan" in note
    assert fig.layout.meta["failures"] == ["accelerated-scan at T=4096: ImportError: no "
                                           "accelerated_scan"]


def test_variants_share_a_legend_entry_per_label_and_sizes_go_to_the_hover():
    rows = [{"method": "accelerated-scan", "variant": v, "pass": "fwd", "dtype": "fp32",
             "B": B, "T": T, "D": 16, "ms": None if v == "warp" else T / 1e3,
             "error": "ImportError: x" if v == "warp" else None}
            for v in ("scalar", "warp") for B, T in ((1, 256), (2, 512))]
    fig = speedup({"provenance": {}, "rows": rows})
    legend = [d.name for d in fig.data if d.showlegend is not False]
    assert legend == ["accelerated-scan (variant=scalar)",
                      "accelerated-scan (variant=warp) · failed at T=256,512"]
    scalar = [d for d in fig.data if d.legendgroup == "accelerated-scan (variant=scalar)"]
    assert len(scalar) == 4  # two shapes (B=1 / B=2) x two panels
    assert "B=2" in scalar[2].hovertemplate
    assert scalar[0].line.dash != fig.data[-1].line.dash  # the other variant: another dash


def test_pass_and_x_choices():
    fig = speedup(result(), "rnnviz-scan", pass_="fwd+bwd")
    assert fig.layout.meta["methods"] == ["rnnviz-scan"]
    rows = [{"method": "lstm-cudnn", "pass": "fwd", "dtype": "bf16", "T": 1024, "D": D, "ms": D / 10}
            for D in (64, 128, 256)] + [
            {"method": "rnnviz-sru", "pass": "fwd", "dtype": "bf16", "T": 1024, "D": D, "ms": 1.0}
            for D in (64, 128, 256)]
    fig = speedup({"provenance": {}, "rows": rows})
    assert fig.layout.meta["x"] == "D" and fig.layout.meta["baseline"] == "lstm-cudnn"
    assert "CPU" in fig.layout.annotations[-1].text  # no gpu in the provenance: said so


def test_errors():
    with pytest.raises(ValueError, match="baseline must be one of"):
        speedup(result(), baseline="lstm-cudnn")
    with pytest.raises(ValueError, match="results must be a benchmark result"):
        speedup({"rows": "nope"})
    with pytest.raises(ValueError, match="x='Q' is not a key"):
        speedup(result(), x="Q")


def test_numbers_recorded_beside_the_time_do_not_split_series():
    rows = [{"method": m, "pass": "fwd", "dtype": "fp32", "B": 1, "T": T, "D": 8,
             "ms": T / k, "iterations": T // 64 + k, "max_err": 1e-6 * k, "reps": k % 2}
            for m, k in (("sequential", 1), ("deer-newton", 10)) for T in (256, 512, 1024)]
    fig = speedup({"provenance": {}, "rows": rows})
    curves = [d for d in fig.data if d.showlegend is not False]
    assert [(d.name, len(d.x)) for d in curves] == [("sequential", 3), ("deer-newton", 3)]
    assert list(fig.data[-1].y) == pytest.approx([10.0] * 3)  # deer-newton vs sequential


def test_where_keeps_one_slice_of_a_sweep():
    rows = [{"method": m, "pass": "fwd", "dtype": "fp32", "B": B, "T": T, "D": D, "ms": T * D / k}
            for m, k in (("sequential", 1), ("deer-newton", 50)) for B in (1, 16)
            for D in (4, 16) for T in (1000, 10000, 100000)]
    everything = speedup({"provenance": {}, "rows": rows})
    assert len([d for d in everything.data if d.xaxis in (None, "x")]) == 2 * 4
    fig = speedup({"provenance": {}, "rows": rows}, where={"B": 1, "D": 16})
    curves = [d for d in fig.data if d.xaxis in (None, "x")]
    assert [(d.name, list(d.x)) for d in curves] == [("sequential", [1000, 10000, 100000]),
                                                     ("deer-newton", [1000, 10000, 100000])]
    assert "B=1" in fig.layout.title.text and "D=16" in fig.layout.title.text
    with pytest.raises(ValueError, match=r"where=\{'D': 3\} keeps no rows; D takes the values"):
        speedup({"provenance": {}, "rows": rows}, where={"D": 3})
