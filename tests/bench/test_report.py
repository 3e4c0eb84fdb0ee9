"""``--html``: a benchmark result as a page of figures, one per (pass, dtype)."""
from __future__ import annotations

import json

import pytest


def result(rows):
    return {"provenance": {"suite": "scan", "gpu": "NVIDIA H200", "date": "2026-12-04",
                           "torch": "2.11", "triton": "3.6", "command": "bench"}, "rows": rows}


def row(method, T, ms, pass_="fwd", dtype="fp32", **kw):
    return {"method": method, "B": 1, "D": 64, "T": T, "ms": ms, "pass": pass_, "dtype": dtype,
            "error": None if ms is not None else "RuntimeError: boom", **kw}


def test_a_figure_per_pass_and_dtype_with_plotly_once(tmp_path):
    from rnnviz.bench.report import report_html, slices

    rows = [row(m, T, ms, p, d) for p in ("fwd", "fwd+bwd") for d in ("fp32", "bf16")
            for m, ms in (("rnnviz-scan", 1.0), ("log-space", 9.0)) for T in (1024, 4096)]
    rows.append({"method": "copy", "pass": "copy", "dtype": "fp32", "ms": 0.1})  # no size
    rows.append(row("accelerated-scan", 4096, None))  # a failure, named on its figure
    path = tmp_path / "scan-h200.json"
    path.write_text(json.dumps(result(rows)))
    assert slices(result(rows)) == [("fwd", "fp32"), ("fwd", "bf16"), ("fwd+bwd", "fp32"),
                                    ("fwd+bwd", "bf16")]
    out = report_html(path)
    page = out.read_text()
    assert out == tmp_path / "scan-h200.html"
    assert page.count('class="plotly-graph-div"') == 4
    assert page.count("plotly.js v") == 1  # the library inlined once: the page opens offline
    assert "RuntimeError: boom" in page and "NVIDIA H200" in page


def test_a_slice_that_cannot_be_drawn_says_why(tmp_path, monkeypatch):
    import rnnviz.bench.report as report

    real = report.speedup

    def speedup(res, pass_, dtype):
        if dtype == "bf16":
            raise ValueError("nothing to compare")
        return real(res, pass_=pass_, dtype=dtype)

    monkeypatch.setattr(report, "speedup", speedup)
    rows = [row("rnnviz-scan", 1024, 1.0), row("rnnviz-scan", 2048, 2.0, dtype="bf16")]
    page = report.report_html(result(rows), tmp_path / "r.html").read_text()
    assert page.count('class="plotly-graph-div"') == 1  # the other slice still draws
    assert "fwd bf16: not drawn: nothing to compare" in page
    with pytest.raises(ValueError, match="out is needed"):
        report.report_html(result(rows))


def test_the_bench_command_writes_the_page_beside_the_json(tmp_path, monkeypatch, capsys):
    import rnnviz.bench.scan as scan
    from rnnviz.bench.__main__ import main, suites

    assert "report" not in suites()
    monkeypatch.setattr(scan, "run", lambda quick: ([row("rnnviz-scan", 64, 0.5),
                                                     row("rnnviz-scan", 128, 0.9)], {}))
    main(["scan", "--out", str(tmp_path), "--html"])
    pages = list(tmp_path.glob("scan-*.html"))
    assert len(pages) == 1 and pages[0].with_suffix(".json").is_file()
    assert "figures ->" in capsys.readouterr().out
