"""The course helpers: measuring here (guards, errors as data) and shipped references."""
from __future__ import annotations

import threading

import pytest

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


def test_reference_series_ties_go_to_the_later_run():
    """Two runs of the same settings: the later one is the curve, whichever file sorts first."""
    from rnnviz.course.reference import Reference, series

    def ref(name, date, ms):
        rows = [{"method": "rnnviz-scan", "pass": "fwd", "dtype": "float32", "B": 1, "T": t,
                 "D": 64, "ms": ms * t} for t in (1024, 4096)]
        return Reference(name, {"gpu": "NVIDIA H100", "date": date}, rows)

    old = ref("scan-h100", "2026-11-23T11:30:56", 2.0)
    new = ref("scan-h100-b", "2026-12-05T14:16:01", 1.0)
    for refs in ([old, new], [new, old]):
        xs, ms, _, chosen = series(refs, "rnnviz-scan", "T", near={"B": 1, "D": 64})
        assert chosen is new and ms == [1024.0, 4096.0]
    longer = ref("scan-h100-c", "2026-01-01", 3.0)
    longer.rows.append({**longer.rows[0], "T": 16384, "ms": 1.0})
    assert series([new, longer], "rnnviz-scan", "T", near={"B": 1, "D": 64})[3] is longer


def test_failed_rows_are_named_under_the_figure():
    rows = [{"method": "copy", "pass": "fwd", "dtype": "float32", "B": 1, "T": 8, "D": 2,
             "ms": 0.1, "error": None},
            {"method": "conv1d", "pass": "fwd", "dtype": "float32", "B": 1, "T": 8, "D": 2,
             "ms": None, "error": "RuntimeError: boom"}]
    fig = here_vs_reference(rows)
    assert len(fig.data) == 1 and "conv1d: RuntimeError: boom" in fig.layout.title.text


def test_scan_helpers_draw_real_runs():
    from rnnviz.course import scans
    from rnnviz.course.scan_formulas import accuracy_figure, accuracy_rows

    tr, a, b = scans.record_chunks(T=32, D=2, device="cpu", min_chunks=4)
    rec = tr.filter(kind="chunks")[0]
    assert rec.data["carries"].shape[1] >= 4 and a.shape[1] == rec.meta["T"]
    fig = scans.chunks_figure(tr)
    assert len(fig.data[0].x) == rec.meta["T"] and len(fig.data[2].x) == rec.data["carries"].shape[1]
    small, which = scans.tree_trace(tr, max_n=64)
    assert small.filter(kind="chunks")[0].meta["T"] <= 64 and "CPU path" in which

    fig = scans.work_depth_figure(ns=[4, 16])
    hs_work = fig.data[0].y
    assert list(hs_work) == [5, 49]  # n log2 n - n + 1

    rows = accuracy_rows([8, 1024], D=2, B=1)
    err = {(r["method"], r["T"]): r["error"] for r in rows}
    assert err[("cumprod / cumsum", 1024)] == float("inf")
    assert err[("rnnviz linear_scan", 1024)] < 1e-5 < err[("log-space", 1024)]
    assert len(accuracy_figure(rows).data) == 3

    rows = M.measure(["rnnviz-scan"], [{"B": 1, "T": 64, "D": 4}], budget_ms=1)
    fig = scans.bandwidth_figure(rows, copy_gbs=10.0)
    assert fig.data[0].y[0] == scans.scan_gbs(rows[0]) > 0


def test_in_flight_figure_reads_the_sweep_by_tile_and_stages():
    from rnnviz.course import scan_kernels
    from rnnviz.course.reference import Reference

    def row(dtype, stages, frac, rows=16, vec=0, T=16384):
        return {"B": 16, "T": T, "D": 4096, "dtype": dtype, "frac_copy": frac, "ms": 1.0,
                "entry": ["channel", rows, 4, 512, stages, vec]}

    ref = Reference("scan-sweep-x", {"gpu": "NVIDIA H200", "command": "sweep"},
                    [row("bfloat16", 3, 0.9), row("bfloat16", 1, 0.4), row("float32", 1, 0.8),
                     row("bfloat16", 2, 0.5, rows=8), row("bfloat16", 2, 0.6, vec=4),
                     row("bfloat16", 2, 0.7, T=4096)])
    rows = scan_kernels.in_flight_rows(ref)
    assert [(r["dtype"], r["stages"]) for r in rows] == [("bfloat16", 1), ("bfloat16", 3),
                                                         ("float32", 1)]
    fig = scan_kernels.in_flight_figure(ref)
    assert list(fig.data[1].x) == ["1 in flight", "3 in flight"]
    assert [round(y) for y in fig.data[1].y] == [40, 90]
    shipped = scan_kernels.in_flight_figure()  # the H200 sweep in benchmarks/
    assert all(len(t.x) >= 3 for t in shipped.data)


def test_tile_figure_pairs_the_tiles_both_gpus_timed():
    """Only tiles every sweep timed at the shape, in order of the first GPU's fraction; each
    GPU's bar of the tile its tuned table takes is marked."""
    from rnnviz.course import scan_kernels
    from rnnviz.course.reference import Reference

    def row(tile, frac, T=16384, dtype="bfloat16", path="channel"):
        return {"B": 16, "T": T, "D": 4096, "dtype": dtype, "frac_copy": frac, "ms": 1.0,
                "entry": [path, *tile]}

    a, b, c = (16, 4, 1024, 3, 0), (8, 2, 512, 4, 0), (16, 2, 512, 3, 0)
    h100 = Reference("s1", {"gpu": "NVIDIA H100 80GB HBM3", "command": "x"},
                     [row(a, 0.89), row(b, 0.98), row(c, 0.5), row(a, 0.1, T=4096),
                      row(b, 0.2, dtype="float32"), row(b, 0.3, path="sequence")])
    h200 = Reference("s2", {"gpu": "NVIDIA H200", "command": "y"}, [row(a, 0.96), row(b, 0.95)])
    rows = scan_kernels.tile_rows([h100, h200])
    assert [tuple(r["tile"].values()) for r in rows] == [b, a]  # c: the H200 did not time it
    assert rows[0]["H100 80GB HBM3"] == 0.98 and rows[1]["H200"] == 0.96
    fig = scan_kernels.tile_figure([h100, h200])
    assert [t.name for t in fig.data] == ["H100 80GB HBM3", "H200"]
    assert [round(y) for y in fig.data[1].y] == [95, 96]
    # the shipped table: the H100 takes b, the H200 a (kernels/linear_scan/tuned.py)
    assert [("its table" in t) for t in fig.data[0].text] == [True, False]
    assert [("its table" in t) for t in fig.data[1].text] == [False, True]
    shipped = scan_kernels.tile_figure()  # the two sweeps in benchmarks/
    assert len(shipped.data[0].x) >= 10
    assert sum("its table" in t for tr in shipped.data for t in tr.text) == 2


def test_host_share_figure_splits_a_call_into_gpu_and_host():
    from rnnviz.course import scan_kernels
    from rnnviz.course.reference import Reference

    def row(method, iso, graph, B=1):
        return {"method": method, "pass": "fwd", "dtype": "fp32", "B": B, "T": 64, "D": 4,
                "isolated_ms": iso, "back-to-back_ms": iso, "graph_ms": graph}

    ref = Reference("timing-modes-x", {"gpu": "NVIDIA H200", "command": "timing"},
                    [row("rnnviz-scan", 0.2, 0.05), row("log-space", 9.0, 8.0),
                     row("rnnviz-scan", 3.0, 3.0, B=16), row("rnnviz-scan", 1.0, None, B=2)])
    rows = scan_kernels.host_share_rows(ref)
    assert [round(r["host_share"], 2) for r in rows] == [0.75, 0.0]  # no graph time: left out
    fig = scan_kernels.host_share_figure(ref)
    assert [round(x) for x in fig.data[0].x] == [25, 100]
    assert [round(x) for x in fig.data[1].x] == [75, 0]
    shipped = scan_kernels.host_share_figure()  # the H200 run in benchmarks/
    assert len(shipped.data[0].x) >= 8 and min(shipped.data[1].x) >= 0


def test_carry_figure_pairs_the_two_carries_per_case():
    from rnnviz.course import scan_kernels
    from rnnviz.course.reference import Reference

    def row(pss, carry, graph, eager, T=64):
        return {"B": 1, "T": T, "D": 4, "pass": pss, "carry": carry, "graph_us": graph,
                "back_to_back_us": eager}

    ref = Reference("scan-carry-x", {"gpu": "NVIDIA H200", "command": "ab"},
                    [row("fwd", "lookback", 50, 48), row("fwd", "scan", 42, 56),
                     row("bwd", "lookback", 68, 67), row("bwd", "scan", 62, 64),
                     row("fwd", "lookback", 9, 9, T=8)])  # no reduce-then-scan row: left out
    rows = scan_kernels.carry_rows(ref)
    assert [r["case"] for r in rows] == ["forward<br>B=1, T=64, D=4", "backward<br>B=1, T=64, D=4"]
    fig = scan_kernels.carry_figure(ref)
    assert [list(t.y) for t in fig.data] == [[50, 68], [48, 67], [42, 62], [56, 64]]
    shipped = scan_kernels.carry_figure()  # the H200 run in benchmarks/
    assert len(shipped.data) == 4 and all(len(t.y) == 6 for t in shipped.data)


def test_stage_figure_stacks_each_candidates_kernels():
    import pytest

    from rnnviz.course import scan_kernels
    from rnnviz.course.reference import Reference

    def row(programs, carry, kernels, graph, T=64):
        return {"B": 1, "T": T, "D": 64, "entry": ["sequence", 4, 1, 16, 1, 0, programs, carry],
                "segment": 2, "carry": carry, "kernels_us": kernels,
                "kernels_sum_us": sum(kernels.values()), "graph_us": graph, "copy_us": 10.0}

    ref = Reference("scan-breakdown-x", {"gpu": "NVIDIA H100", "command": "breakdown"},
                    [row(8, "lookback", {"scan_segment_kernel": 30.0}, 40.0),
                     row(8, "scan", {"scan_reduce_kernel": 9.0, "scan_channel_kernel": 3.0,
                                     "scan_apply_kernel": 11.0}, 33.0),
                     row(8, "scan", {"scan_reduce_kernel": 1.0}, 2.0, T=32)])  # another T: left out
    rows = scan_kernels.stage_rows(ref, T=64)
    assert [r["carry"] for r in rows] == ["lookback", "scan"]
    fig = scan_kernels.stage_figure(ref, T=64)
    bars = {t.name: list(t.y) for t in fig.data if t.type == "bar"}
    assert bars == {"reduce: summarise each segment": [9.0], "scan the summaries": [3.0],
                    "apply: walk each segment again": [11.0], "look-back: all in one launch": [30.0]}
    (call,) = [t for t in fig.data if t.type == "scatter"]
    assert list(call.y) == [40.0, 33.0]
    assert sorted(s["y0"] for s in fig.layout.shapes) == [10.0, 20.0]
    shipped_ref = scan_kernels.shipped_file("scan-breakdown-h100")
    shipped = scan_kernels.stage_rows(shipped_ref)
    assert len(shipped) == 6 and shipped_ref.provenance["gpu"] == "NVIDIA H100 80GB HBM3"
    for r in shipped:  # the call is never shorter than its kernels
        assert r["graph_us"] > r["kernels_sum_us"] == pytest.approx(sum(r["kernels_us"].values()))
    assert len(scan_kernels.stage_figure().data) == 5


def test_flush_rows_pair_each_call_under_both_flushes():
    from rnnviz.course import scan_kernels
    from rnnviz.course.reference import Reference

    def row(call, flush, us, T=64):
        return {"B": 1, "T": T, "D": 64, "call": call, "flush": flush, "us": us,
                "frac_copy": 10.0 / us}

    ref = Reference("flush-x", {"gpu": "NVIDIA H100 80GB HBM3"},
                    [row("add (3 streams)", "dirty", 20.0), row("add (3 streams)", "clean", 16.0),
                     row("scan", "dirty", 50.0), row("scan", "clean", 40.0),
                     row("only dirty", "dirty", 9.0),  # one flush only: left out
                     row("scan", "dirty", 90.0, T=128)])  # another T: left out
    rows = scan_kernels.flush_rows(ref, T=64)
    assert [(r["call"], r["dirty_us"], r["clean_us"]) for r in rows] == [
        ("add (3 streams)", 20.0, 16.0), ("scan", 50.0, 40.0)]
    fig = scan_kernels.flush_figure(ref, T=64)
    assert [list(t.y) for t in fig.data] == [[20.0, 50.0], [16.0, 40.0]]
    assert list(fig.data[1].text) == ["62%", "25%"]
    shipped = scan_kernels.flush_rows(scan_kernels.shipped_file("flush-ab-h100"))
    assert len(shipped) == 5  # the add, three scans, accelerated-scan's warp kernel
    assert all(r["clean_us"] < r["dirty_us"] for r in shipped)  # as measured on the H100


def test_entry_ab_rows_keep_each_run_and_candidate_with_both_passes():
    from rnnviz.course import scan_kernels
    from rnnviz.course.reference import Reference

    def row(variant, pss, us, T=64, timing="graph"):
        return {"B": 1, "T": T, "D": 64, "pass": pss, "dtype": "float32", "variant": variant,
                "timing": timing, "us": us}

    first = Reference("ab-1", {"gpu": "NVIDIA H100 80GB HBM3"},
                      [row("table", "fwd", 40.0), row("table", "fwd+bwd", 92.0),
                       row("warp", "fwd", 42.0), row("warp", "fwd+bwd", 91.0),
                       row("pdl", "fwd", 39.0),  # one pass only: left out
                       row("table", "fwd", 50.0, timing="back-to-back"),  # another timing
                       row("table", "fwd", 70.0, T=128)])  # another T
    second = Reference("ab-2", {"gpu": "NVIDIA H100 80GB HBM3"},
                       [row("rts8", "fwd", 39.0), row("rts8", "fwd+bwd", 88.0)])
    rows = scan_kernels.entry_ab_rows([first, second], T=64)
    assert [(r["run"], r["variant"], r["fwd"], r["fwd+bwd"]) for r in rows] == [
        (1, "table", 40.0, 92.0), (1, "warp", 42.0, 91.0), (2, "rts8", 39.0, 88.0)]
    fig = scan_kernels.entry_ab_figure([first, second], T=64)
    assert [list(t.y) for t in fig.data] == [[40.0, 42.0, 39.0], [92.0, 91.0, 88.0]]
    assert fig.data[0].x[2].startswith("run 2<br>pdl, backward")
    # as shipped: the 8-row backward ahead of the warp kernel in its run, on the GPU alone
    shipped = scan_kernels.entry_ab_rows([scan_kernels.shipped_file(n)
                                          for n in scan_kernels.ENTRY_ABS])
    second_run = {r["variant"]: r["fwd+bwd"] for r in shipped if r["run"] == 2}
    assert second_run["rts8"] < second_run["warp"]


def test_eager_graph_rows_pair_two_runs_of_one_step():
    import pytest

    from rnnviz.course import eager_graph as eg
    from rnnviz.course.reference import Reference

    def run(timing, ms):
        rows = [{"method": m, "pass": "fwd+bwd", "dtype": "float32", "B": 32, "T": 128, "D": 512,
                 "L": 1, "ms": v} for m, v in ms.items()]
        rows.append({"method": "rnnviz-sru", "scope": "recurrence kernel", "pass": "fwd",
                     "dtype": "float32", "B": 32, "T": 128, "D": 512, "ms": 0.01})
        rows.append({"method": "rnnviz-sru", "recurrence": "scan", "pass": "fwd+bwd",
                     "dtype": "float32", "B": 32, "T": 128, "D": 512, "L": 1, "ms": 9.0})
        return Reference(f"sru-{timing}", {"gpu": "NVIDIA H200", "timing": timing}, rows)

    eager = run("back-to-back", {"rnnviz-sru": 1.0, "lstm-cudnn": 8.0, "conv1d": 0.5,
                                 "sru-pkg": None})
    graph = run("graph", {"rnnviz-sru": 0.5, "lstm-cudnn": 6.0, "conv1d": 0.5})
    step = eg.PAIRS["sru"].setting
    rows = eg.eager_graph_rows(eager, graph, step, "lstm-cudnn")
    assert [r["method"] for r in rows] == ["rnnviz-sru", "conv1d", "lstm-cudnn"]
    sru = rows[0]
    assert (sru["eager_ms"], sru["graph_ms"], sru["host_share"]) == (1.0, 0.5, 0.5)
    assert (sru["speedup_eager"], sru["speedup_graph"]) == (8.0, 12.0)
    fig = eg.eager_graph_figure(eager=eager, graph=graph)
    assert [list(t.x) for t in fig.data] == [[1.0, 0.5, 8.0], [0.5, 0.5, 6.0]]
    assert "8.0x" in fig.data[0].text[0] and "12.0x" in fig.data[1].text[0]
    with pytest.raises(ValueError, match="eager run and a graph-timed run"):
        eg.eager_graph_rows(graph, eager, step, "lstm-cudnn")
    with pytest.raises(ValueError, match="no method was timed in both"):
        eg.eager_graph_figure(eager=eager, graph=graph, D=1024)
    with pytest.raises(ValueError, match="pair must be one of"):
        eg.eager_graph_figure("lstm")
    for pair in eg.PAIRS:  # the shipped H200 runs
        shipped = eg.eager_graph_figure(pair)
        names = set(shipped.data[0].y)
        assert len(names) >= 3 and all(x > 0 for x in shipped.data[1].x)
    scan = eg.eager_graph_figure("scan", T=65536)
    assert "T=65536" in scan.layout.title.text and "accelerated-scan-warp" in scan.data[0].y


def test_newton_helpers():
    from rnnviz.course import newton

    errs = newton.scalar_errors(iters=8)
    fp, nt = errs["fixed-point iteration h <- f(h)"], errs["Newton"]
    assert nt[-1] < 1e-14 and fp[-1] > 1e-6  # quadratic beats linear
    fig = newton.residuals_figure({"newton": [1.0, float("nan")], "damped": [1.0, 0.1]})
    assert "diverged" in fig.data[0].name and fig.data[0].marker.symbol[1] == "x"
    g = [torch.ones(3), torch.zeros(2)]
    fig = newton.gradient_figure(g, g, ["a", "b"])
    assert "max difference 0.0e+00" in fig.data[0].name


def test_a_slow_first_size_is_probed_and_skipped_before_it_runs():
    (row,) = M.measure(["grucell-loop"], [{"B": 1, "T": 4096, "D": 4}], max_s=1e-3)
    assert row["ms"] is None and row["error"].startswith("skipped: one call at T=64")
    (row,) = M.measure(["copy"], [{"B": 1, "T": 4096, "D": 4}], budget_ms=5)
    assert row["ms"] is not None  # a fast method passes its probes and is measured


def test_shipped_keeps_benchmark_suites_and_result_filters_rows(tmp_path):
    import json

    from rnnviz.course.reference import shipped

    gpu = {"gpu": "NVIDIA H100", "date": "2026-11-23"}
    rows = [{"method": m, "pass": "fwd", "dtype": "fp32", "B": b, "T": 8, "H": 4, "ms": 1.0}
            for m in ("gru-cudnn", "copy") for b in (1, 64)]
    rows.append({"method": "gru-cudnn", "scope": "sweep", "B": 64, "T": 8, "H": 4, "ms": 2.0})
    files = {}
    for stem, suite, timing in (("mingru-h100", "mingru", "back-to-back"),
                                ("scan-sweep-h100", "scan-sweep", "back-to-back"),
                                ("mingru-graph-h100", "mingru", "graph")):
        files[stem] = tmp_path / f"{stem}.json"
        files[stem].write_text(json.dumps({"provenance": dict(gpu, suite=suite, timing=timing),
                                           "rows": rows}))
    # a side file (a sweep) and a graph-timed run (the GPU alone) are not reference curves
    assert [r.name for r in shipped(paths=files)] == ["mingru-h100"]
    (ref,) = shipped(["mingru"], paths=files)
    res = ref.result(["gru-cudnn"], B=64, D=4, dtype="float32")
    assert res["provenance"]["gpu"] == "NVIDIA H100"
    assert [(r["method"], r["B"], r["ms"]) for r in res["rows"]] == [("gru-cudnn", 64, 1.0)]


def test_lookback_timeline_figure_draws_each_program_phase():
    from rnnviz.course import scan_kernels

    epoch = 1_765_000_000_000_000_000  # the GPU clock's epoch is far away: µs must survive it
    cols = ["chunk", "tile", "sm", "start_ns", "aggregate_ns", "inclusive_ns", "end_ns", "rounds"]
    data = {"columns": cols, "provenance": {"gpu": "NVIDIA H200", "date": "2026-12-03",
                                            "command": "seqpar_timeline"},
            "timelines": [{"B": 1, "T": 64, "D": 16, "dtype": "float32", "tile": "auto",
                           "block_t": 32, "block_d": 16, "num_warps": 4,
                           "rows": [[0, 0, 3, epoch, epoch + 2000, epoch + 2500, epoch + 3000, 0],
                                    [1, 0, 5, epoch + 1000, epoch + 4000, epoch + 7000,
                                     epoch + 7500, 2]]}]}
    p = scan_kernels.timeline_programs(data, D=16)
    assert p["start"] == [0.0, 1.0] and p["end"] == [3.0, 7.5] and p["rounds"] == [0, 2]
    fig = scan_kernels.lookback_timeline_figure(data, D=16)
    assert [t.name for t in fig.data] == ["load + summarise", "look-back", "apply + store"]
    assert list(fig.data[1].base) == [2.0, 4.0] and list(fig.data[1].x) == [0.5, 3.0]
    with pytest.raises(ValueError, match="no timeline of D=64"):
        scan_kernels.timeline_programs(data, D=64)
    shipped = scan_kernels.lookback_timeline_figure()  # the H200 run in benchmarks/
    assert len(shipped.data[0].x) == 256  # 64 chunks x 4 channel tiles
    assert all(x >= 0 for t in shipped.data for x in t.x)


def test_task_runs_figure_draws_each_run_and_the_guess_line():
    import math

    import pytest

    from rnnviz.course.mingru import task_runs_figure

    def run(task, cell, **extra):
        return {"task": task, "cell": cell, "seq_len": 64, "batch_size": 8, "d_model": 16,
                "num_layers": 2, "loss_every": 2, "losses": [3.0, 2.0, 1.5], "ms_per_step": 1.0,
                **extra}

    data = {"provenance": {"gpu": "NVIDIA H200", "date": "2026-12-04", "command": "tasks"},
            "rows": [run("selective-copying", "mingru", vocab_size=16, accuracy=0.1),
                     run("char-lm", "mingru", val_loss=5.0), run("char-lm", "minlstm", val_loss=4.9)]}
    fig = task_runs_figure(data)
    curves = [t for t in fig.data if t.mode == "lines"]
    assert [list(t.x) for t in curves] == [[1, 3, 5]] * 3
    assert [t.y[0] for t in fig.data if t.mode == "markers"] == [5.0, 4.9]
    assert [round(sh.y0, 4) for sh in fig.layout.shapes] == [round(math.log(14), 4)]
    assert "H200" in fig.layout.title.text
    shipped = task_runs_figure()  # the H200 run in benchmarks/
    assert len([t for t in shipped.data if t.mode == "lines"]) >= 2
    with pytest.raises(ValueError, match="no training runs"):
        task_runs_figure({"rows": []})


def test_paper_speedup_figure_takes_the_run_with_the_most_lengths():
    from rnnviz.course.mingru import paper_speedup_figure
    from rnnviz.course.reference import Reference

    def ref(name, Ts):
        rows = [{"method": m, "pass": "fwd+bwd", "dtype": "float32", "B": 64, "T": T, "D": 128,
                 "ms": ms * T} for T in Ts for m, ms in (("rnnviz-mingru", 0.001), ("grucell-loop", 1.0))]
        return Reference(name, {"gpu": "NVIDIA H200", "date": "2026-12-04"}, rows)

    fig = paper_speedup_figure([ref("mingru-check-h200", [4096]), ref("mingru-h100", [512, 1024, 2048])])
    xs = {tuple(t.x) for t in fig.data if t.name == "rnnviz-mingru"}
    assert (512, 1024, 2048) in xs
    assert paper_speedup_figure([]) is None
    assert paper_speedup_figure([ref("mingru-x", [])]) is None
    assert paper_speedup_figure() is not None  # the shipped runs


def test_backward_thread_rows_pair_the_two_runs():
    """The same step with the backward on torch's device thread and on the calling thread:
    ms and speed-ups per method, the runs' settings checked, the shipped pair drawn."""
    import pytest

    from rnnviz.course import eager_graph as eg
    from rnnviz.course.reference import Reference, shipped_file

    def run(threads, ms):
        rows = [{"method": m, "pass": "fwd+bwd", "dtype": "bfloat16", "B": 64, "T": 4096,
                 "D": 128, "ms": v} for m, v in ms.items()]
        return Reference(f"mingru-{threads}", {"gpu": "NVIDIA H200", "timing": "back-to-back",
                                               "autograd_multithreading": threads}, rows)

    on = run(True, {"rnnviz-mingru": 1.5, "grucell-loop": 1500.0, "gru-cudnn": 20.0, "lstm-cudnn": 19.0})
    off = run(False, {"rnnviz-mingru": 0.75, "grucell-loop": 1050.0, "gru-cudnn": 20.0})
    rows = eg.backward_thread_rows(on, off, eg.THREAD_SETTING, "grucell-loop")
    assert [r["method"] for r in rows] == ["rnnviz-mingru", "gru-cudnn", "grucell-loop"]
    assert (rows[0]["thread_ms"], rows[0]["caller_ms"]) == (1.5, 0.75)
    assert (rows[0]["speedup_thread"], rows[0]["speedup_caller"]) == (1000.0, 1400.0)
    fig = eg.backward_thread_figure(on=on, off=off)
    assert [list(t.x) for t in fig.data] == [[1.5, 20.0, 1500.0], [0.75, 20.0, 1050.0]]
    assert "1400.0x" in fig.data[1].text[0]
    with pytest.raises(ValueError, match="autograd_multithreading on, then one with it off"):
        eg.backward_thread_rows(off, on, eg.THREAD_SETTING, "grucell-loop")
    with pytest.raises(ValueError, match="no method was timed in both"):
        eg.backward_thread_figure(on=on, off=off, B=16)
    shipped = eg.backward_thread_figure()  # the H200 pair in benchmarks/
    assert len(shipped.data[0].y) == 4 and all(x > 0 for t in shipped.data for x in t.x)
    # the SRU's pair (H100): its step pays the hand-off, the Conv1d's hardly
    sru = {r["method"]: r for r in eg.backward_thread_rows(
        *(shipped_file(n) for n in eg.THREAD_CASES["sru"].runs), eg.THREAD_CASES["sru"].setting,
        "lstm-cudnn", eg.THREAD_CASES["sru"].methods)}
    assert set(sru) == {"rnnviz-sru", "conv1d", "gru-cudnn", "lstm-cudnn"}
    hand_off = {m: r["thread_ms"] - r["caller_ms"] for m, r in sru.items()}
    assert hand_off["rnnviz-sru"] > 0.1 > hand_off["conv1d"]
    assert len(eg.backward_thread_figure("sru").data[0].y) == 4
    with pytest.raises(ValueError, match="case must be one of"):
        eg.backward_thread_figure("lstm")


def test_prefetch_figure_reads_the_depths():
    """One bar group per forward case, one bar per load depth, from a run's kernel rows."""
    import pytest

    from rnnviz.course import in_flight
    from rnnviz.course.reference import Reference

    rows = [{"method": "rnnviz-sru", "scope": "recurrence kernel", "pass": "fwd", "dtype": dt,
             "what": f"{w} (reads U, x)", "prefetch": p, "ms": 0.3 / p, "frac_copy": 0.3 * p}
            for dt in ("float32", "bfloat16") for w in ("inference", "training") for p in (1, 2)]
    rows.append({"method": "rnnviz-sru", "scope": "recurrence kernel", "pass": "bwd",
                 "dtype": "float32", "what": "reads", "ms": 0.4, "frac_copy": 0.8})
    ref = Reference("sru-kernels-x", {"gpu": "NVIDIA H200"}, rows)
    fig = in_flight.prefetch_figure(ref)
    assert [t.name for t in fig.data] == ["loads 1 turn (8 steps) ahead", "loads 2 turns (16 steps) ahead"]
    assert list(fig.data[1].x) == ["fp32 inference", "fp32 training", "bf16 inference", "bf16 training"]
    assert list(fig.data[1].y) == pytest.approx([60.0] * 4) and fig.data[0].text[0] == "0.300 ms"
    with pytest.raises(ValueError, match="several load depths"):
        in_flight.prefetch_rows(Reference("sru-kernels-y", {}, rows[-1:]))
    shipped = in_flight.prefetch_figure()  # the H200 run in benchmarks/
    assert len(shipped.data) == 3 and max(shipped.data[1].y) > 80


def test_launch_path_figure_reads_the_layers():
    """One bar per layer and launch path at the asked shape, the one-way rows apart."""
    import pytest

    from rnnviz.course import launch_path
    from rnnviz.course.reference import Reference

    def row(layer, how, us, T=1024):
        return {"method": "rnnviz-scan", "layer": layer, "launch": how, "pass": "fwd",
                "B": 1, "T": T, "D": 64, "us_per_call": us}

    rows = [row("op", "Triton's launch", 45.0), row("op", "cached launch", 26.0),
            row("launcher", "compiled launcher", 8.0), row("op", "cached launch", 99.0, T=256),
            {**row("accelerated-scan", "scalar", 24.0), "method": "accelerated-scan"},
            {**row("op", "cached launch", 200.0), "pass": "fwd+bwd"}]
    ref = Reference("launch-host-x", {"gpu": "NVIDIA H200"}, rows)
    fig = launch_path.launch_path_figure(ref)
    assert [t.name for t in fig.data] == ["Triton's launch", "cached launch", "one way only"]
    assert list(fig.data[0].y) == ["linear_scan (the op)", "compiled launcher (the floor)",
                                   "accelerated-scan's forward"]
    assert list(fig.data[1].x) == [26.0, None, None] and list(fig.data[2].x) == [None, 8.0, 24.0]
    with pytest.raises(ValueError, match="no launch-path rows at B=1, T=7, D=64"):
        launch_path.launch_path_rows(ref, T=7)
    shipped = launch_path.launch_path_figure()  # the H200 run in benchmarks/
    triton, cached = ({y: x for y, x in zip(t.y, t.x)} for t in shipped.data[:2])
    assert all(cached[k] < triton[k] for k in cached if cached[k] is not None)


def test_layout_figure_labels_every_offset_and_outlines_one_load():
    import pytest

    from rnnviz.course import scan_layouts as L

    assert L.address("[B, T, D]", 2, 1, T=16, D=6) == 13
    assert L.address("[B, D, T]", 2, 1, T=16, D=6) == 18
    with pytest.raises(ValueError, match="layout must be one of"):
        L.address("[T, B, D]", 0, 0, 4, 4)
    fig = L.layout_figure(T=16, D=6, load_steps=4, load_channels=4)
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert len(heat) == 2
    for t in heat:  # every offset of the sequence once
        assert sorted(v for row in t.z for v in row) == list(range(96))
    # the outlined loads: 4 steps x 4 channels, and one channel's 16 steps
    rects = [(s.x1 - s.x0, s.y1 - s.y0) for s in fig.layout.shapes]
    assert rects == [(4, 4), (16, 1)]
    with pytest.raises(ValueError, match="must fit the grid"):
        L.layout_figure(T=8, D=6, load_steps=4, load_channels=4)


def test_layout_race_pairs_the_methods_on_each_shape():
    from rnnviz.course import scan_layouts as L
    from rnnviz.course.reference import Reference

    def row(method, ms, variant=None, T=1024, pss="fwd"):
        r = {"method": method, "pass": pss, "dtype": "float32", "B": 4, "T": T, "D": 256,
             "ms": ms}
        return {**r, "variant": variant} if variant else r

    ref = Reference("scan-x", {"gpu": "NVIDIA H200", "command": "bench"},
                    [{"method": "copy", "pass": "copy", "dtype": "fp32", "ms": None},
                     row("rnnviz-scan", 0.2), row("rnnviz-time", 0.05),
                     row("accelerated-scan", 0.06, "scalar"),
                     row("accelerated-scan", None, "warp"),  # failed: left out
                     row("rnnviz-scan", 0.3, T=2048)])  # no rnnviz-time row: left out
    rows = L.layout_race_rows(ref)
    assert rows == [{"dtype": "float32", "pass": "fwd", "B": 4, "T": 1024, "D": 256,
                     "rnnviz on [B, T, D]": 0.2, "rnnviz on [B, D, T]": 0.05,
                     "accelerated-scan (scalar) on [B, D, T]": 0.06}]
    fig = L.layout_race_figure(ref)
    assert [t.name for t in fig.data] == ["rnnviz on [B, T, D]", "rnnviz on [B, D, T]",
                                          "accelerated-scan (scalar) on [B, D, T]"]
    assert [list(t.y) for t in fig.data] == [[200.0], [50.0], [60.0]]


def test_kernel_race_takes_the_tables_configs_from_the_sweep(monkeypatch):
    from rnnviz.course import scan_layouts as L
    from rnnviz.kernels.linear_scan import launch

    monkeypatch.setattr(launch, "_tuned_for", lambda gpu: {
        "time|4|bd<=256|T<=32768": {"block_t": 4096, "block_r": 1, "num_warps": 8, "stages": 3,
                                    "programs": 0, "bwd": {"programs": 1056}}})

    def row(programs, fwd, bwd, **kw):
        return {"B": 1, "T": 16384, "D": 64, "dtype": "float32", "block_t": 4096, "block_r": 1,
                "num_warps": 8, "stages": 3, "programs": programs, "fwd graph": fwd,
                "bwd graph": bwd, "error": None, **kw}

    data = {"provenance": {"gpu": "NVIDIA H200", "date": "2026-12-04", "command": "sweep"},
            "baselines": [{"B": 1, "T": 16384, "D": 64, "dtype": "float32", "fwd graph": 0.018,
                           "fwd+bwd graph": 0.041},
                          {"B": 1, "T": 64, "D": 64, "dtype": "float32"}],  # not timed: left out
            "rows": [row(0, 0.012, 0.030), row(1056, 0.010, 0.020),
                     row(2112, 0.001, 0.001, error="wrong result")]}
    (r,) = L.kernel_race_rows(data)
    # the table's forward (one part per row) and backward (parts for 1056 programs)
    assert r["rnnviz fwd"] == 12.0 and abs(r["rnnviz fwd+bwd"] - 32.0) < 1e-9
    assert r["accelerated-scan fwd"] == 18.0 and r["accelerated-scan fwd+bwd"] == 41.0
    fig = L.kernel_race_figure(data)
    assert [round(v, 3) for t in fig.data for v in t.y] == [1.5, round(41 / 32, 3)]
    monkeypatch.undo()
    shipped = L.kernel_race_figure()  # the H200 sweep in benchmarks/, every shape it timed
    assert len(shipped.data[0].y) >= 8


def test_join_rows_sorts_each_config_by_how_it_joins_a_rows_parts():
    import pytest

    from rnnviz.course import scan_layouts as L

    def row(block_t, programs, lookback, fwd, **kw):
        # B=1, D=16: 16 rows; T=4096 in chunks of block_t
        return {"B": 1, "T": 4096, "D": 16, "dtype": "float32", "block_t": block_t, "block_r": 1,
                "num_warps": 4, "stages": 1, "programs": programs, "lookback": lookback,
                "fwd graph": fwd, "bwd graph": 2 * fwd, "error": None, **kw}

    data = {"provenance": {"gpu": "NVIDIA H200", "date": "2026-12-05", "command": "sweep"},
            "rows": [row(1024, 0, False, 0.050),  # one part per row (4 chunks)
                     row(1024, 0, True, 0.060),  # lookback asked, nothing to join: one part
                     row(256, 64, False, 0.030), row(256, 64, False, 0.020),  # 4 parts of 4
                     row(256, 64, True, 0.025),  # the look-back over parts of 4 chunks
                     row(256, 256, True, 0.040),  # 16 parts of one chunk: held
                     row(256, 256, True, 0.001, error="wrong result"),  # left out
                     row(256, 256, True, 0.001, dtype="bfloat16")]}  # another dtype
    (shape,) = L.join_rows(data)
    got = L.join_rows(data)[shape]
    assert shape == (1, 4096, 16)
    assert got == {"one": {1: 50.0}, "reduce": {4: 20.0}, "lookback": {4: 25.0},
                   "held": {16: 40.0}}
    assert L.join_rows(data, pass_="bwd")[shape]["reduce"] == {4: 40.0}
    with pytest.raises(ValueError, match="'fwd' or 'bwd'"):
        L.join_rows(data, pass_="both")
    fig = L.join_figure(data)
    assert {t.name for t in fig.data} == {v[0] for v in L.JOINS.values()}
    with pytest.raises(ValueError, match="no float16 rows"):
        L.join_figure(data, dtype="float16")
    shipped = L.join_figure()  # the H200 sweep with both joins, in benchmarks/
    assert len({t.xaxis for t in shipped.data}) == 3 and len(shipped.data) >= 10


def test_call_time_figure_draws_each_method_and_its_floor():
    import pytest

    from rnnviz.course import scan_kernels

    def row(method, T, ms, dtype="float32"):
        return {"method": method, "pass": "fwd", "dtype": dtype, "B": 1, "T": T, "D": 64,
                "ms": ms, "error": None if ms else "skipped: too big"}

    rows = [row("rnnviz-scan", 16, 0.09), row("rnnviz-scan", 1024, 0.4), row("copy", 16, 0.003),
            row("copy", 1024, 0.01), row("copy", 2048, None)]
    assert scan_kernels.call_bytes(rows[0]) == 3 * 16 * 64 * 4  # reads a, b; writes h
    assert scan_kernels.call_bytes(row("copy", 16, 1.0, "bfloat16")) == 2 * 16 * 64 * 2
    fig = scan_kernels.call_time_figure(rows)
    names = [t.name for t in fig.data]
    assert names == ["rnnviz-scan · your machine", "rnnviz-scan: its smallest call, 90 µs",
                     "copy · your machine", "copy: its smallest call, 3 µs"]
    assert list(fig.data[0].y) == pytest.approx([90.0, 400.0])
    assert list(fig.data[1].x) == [16 * 64 * 8, 3 * 1024 * 64 * 4]  # across every size drawn
    assert "copy: skipped: too big" in fig.layout.title.text  # the row with no time is named
    with pytest.raises(ValueError, match="no byte count for method 'lstm-cudnn'"):
        scan_kernels.call_bytes(row("lstm-cudnn", 16, 1.0))


def test_lane_steps_cover_a_segment_once_either_way():
    """Both walks of notebook 7's diagram hand every step of the segment to exactly one lane
    group and walk row; split, each lane group's steps are one contiguous run, chunked they
    are runs of R interleaved with the other lanes'."""
    from rnnviz.course import scan_kernels

    R, S, seg = 4, 4, 3
    for split in (False, True):
        z = scan_kernels.lane_steps(R, S, seg, split)
        assert len(z) == S and all(len(row) == seg * R for row in z)
        assert sorted(v for row in z for v in row) == list(range(seg * R * S))
    split = scan_kernels.lane_steps(R, S, seg, True)
    assert all(row == list(range(row[0], row[0] + seg * R)) for row in split)
    chunked = scan_kernels.lane_steps(R, S, seg, False)
    assert chunked[1][:R + 1] == [4, 5, 6, 7, 20]  # R of its own, then the next chunk's
    with pytest.raises(ValueError, match="must be >= 1"):
        scan_kernels.lane_steps(0, S, seg, True)
    fig = scan_kernels.lane_walk_figure(R, S, seg)
    assert [t.type for t in fig.data] == ["heatmap", "heatmap"]
    assert list(fig.data[1].z[0][:3]) == [0, 1, 2]  # the split walk below the chunked


def test_warp_load_reads_every_step_of_a_chunk_once_as_the_kernels_tile_it():
    """Notebook 7's picture of one warp's loads: its tiles are the ones ``tile_config`` makes
    (16-byte loads: 8 sub-chunks; one channel a lane: 1), every step of the chunk has its
    tile's bytes read by exactly one instruction, and the per-instruction counts follow: 8
    lines of 64 bytes against 1 line of 128."""
    from rnnviz.course import scan_kernels
    from rnnviz.kernels.linear_scan import tile_config

    for (R, S, block_d), vec in zip(scan_kernels.WARP_TILES.values(), (0, 1)):
        cfg = tile_config("sequence", 65536, 64, 4, R, 1, block_d, vec=vec, segment=1,
                          carry="scan")
        assert (cfg.rows, cfg.block_s, cfg.block_d) == (R, S, block_d)
        grid, _ = scan_kernels.warp_load(R, S, block_d)
        assert len(grid) == R * S and all(len(row) == 8 for row in grid)
        for row in grid:
            read = [v for v in row if v >= 0]
            assert len(read) == block_d * 4 // 32 and len(set(read)) == 1
        assert sorted({row[0] for row in grid}) == list(range(R))
    assert scan_kernels.warp_load(4, 8, 16)[1] == {"rows": 8, "lines": 8, "bytes per line": 64}
    assert scan_kernels.warp_load(16, 1, 32)[1] == {"rows": 1, "lines": 1, "bytes per line": 128}
    with pytest.raises(ValueError, match="block_d <= D"):
        scan_kernels.warp_load(4, 8, 128)
    fig = scan_kernels.warp_load_figure()
    assert [t.type for t in fig.data] == ["heatmap", "heatmap"]
    assert "8 lines, 64 B" in fig.layout.annotations[0].text


def test_lanes_ab_figure_shows_the_shipped_split_run():
    """Notebook 7's run of the split walk: the shipped entry and each split candidate, both
    passes, as measured (the split walk slower than the shipped entry, forward and backward)."""
    from rnnviz.course import scan_kernels
    from rnnviz.course.reference import shipped_file

    rows = {r["variant"]: r for r in scan_kernels.entry_ab_rows(
        [shipped_file(scan_kernels.LANES_AB)])}
    assert {"rts8", "split", "splitf", "split528"} <= set(rows)
    assert all(rows["split"][p] > rows["rts8"][p] for p in ("fwd", "fwd+bwd"))
    fig = scan_kernels.lanes_ab_figure()
    assert "Lanes that never meet" in fig.layout.title.text and len(fig.data) == 2


def test_view_ab_figure_shows_what_notebook_7_says():
    """Notebook 7's run of the [S, R, BLOCK_D] view: at B=1, T=65536, D=64 fp32 39.0 -> 33.6 us
    forward and 88.7 -> 78.9 forward + backward; bf16 faster too, both passes."""
    from rnnviz.course import scan_kernels
    from rnnviz.course.reference import shipped_file

    runs = {dtype: {r["variant"]: r for r in scan_kernels.entry_ab_rows(
        [shipped_file(scan_kernels.VIEW_AB)], dtype=dtype)} for dtype in ("float32", "bfloat16")}
    fp32 = runs["float32"]
    assert [round(fp32[v]["fwd"], 1) for v in ("laid_out", "view")] == [39.0, 33.6]
    assert [round(fp32[v]["fwd+bwd"], 1) for v in ("laid_out", "view")] == [88.7, 78.9]
    assert all(runs["bfloat16"]["view"][p] < runs["bfloat16"]["laid_out"][p]
               for p in ("fwd", "fwd+bwd"))
    fig = scan_kernels.view_ab_figure()
    assert "One relabelling" in fig.layout.title.text and len(fig.data) == 2


def test_one_read_figure_shows_what_notebook_7_says():
    """Notebook 7's run of the one-chunk look-back at B=4, T=16384, D=256, fp32: the entry
    before 125.2 us forward and 300.9 forward + backward; reading once forward 91.9 and
    265.0; both ways 218.6, accelerated-scan's scalar kernel 69.4 and 217.4 beside them; no row
    of another shape."""
    from rnnviz.course import scan_kernels
    from rnnviz.course.reference import shipped_file

    ref = shipped_file(scan_kernels.ONE_READ_AB)
    rows = {r["variant"]: r for r in scan_kernels.entry_ab_rows([ref], T=16384, B=4, D=256)}
    assert [round(rows[v]["fwd"], 1) for v in ("lbseg", "shipped", "scalar")] == [125.2, 91.9, 69.4]
    assert [round(rows[v]["fwd+bwd"], 1) for v in ("lbseg", "shipped", "m1lbr16b", "scalar")] == [
        300.9, 265.0, 218.6, 217.4]
    assert scan_kernels.entry_ab_rows([ref], T=16384) == []  # (B=1, D=64 by default)
    fig = scan_kernels.one_read_figure()
    assert "One read, not two" in fig.layout.title.text and "B=4, T=16384, D=256" in fig.layout.title.text
    assert len(fig.data) == 2 and any("both passes<br>read once" in x for x in fig.data[0].x)


def test_medium_timeline_shows_what_notebook_7_says():
    """Notebook 7's clock of the one-read entry at B=4, T=16384, D=256 on the H100: 2048
    programs, at most 264 at once (two an SM), about 4.7 µs loading and 3.5 µs in the
    look-back (medians)."""
    from rnnviz.course import scan_kernels

    w = scan_kernels.medium_wait()
    assert (w["programs"], w["in_flight"], w["per_sm"]) == (2048, 264, 2.0)
    assert round(w["load_us"], 1) == 4.7 and round(w["lookback_us"], 1) == 3.5
    fig = scan_kernels.medium_timeline_figure()
    assert "B=4, T=16384, D=256" in fig.layout.title.text and len(fig.data[0].x) == 2048


def test_medium_phases_show_what_notebook_7_says():
    """Notebook 7's count of the one-read entry's programs by phase: room for 264, all 264 of
    the first wave loading at once, 200 alive on average; and phase_counts on a made-up
    timeline of two programs."""
    import statistics

    from rnnviz.course import scan_kernels

    c = scan_kernels.phase_counts(scan_kernels._timeline(scan_kernels.MEDIUM_TIMELINE))
    assert c["room"] == 264 and max(c["loading"]) == 264
    assert round(statistics.mean(c["alive"])) == 200
    cols = ["chunk", "tile", "sm", "start_ns", "aggregate_ns", "inclusive_ns", "end_ns", "rounds"]
    data = {"columns": cols, "timelines": [{
        "B": 1, "T": 64, "D": 16, "dtype": "float32", "tile": "auto", "block_t": 32,
        "block_d": 16, "num_warps": 4, "rows": [[0, 0, 0, 0, 1000, 1500, 2000, 0],
                                                [1, 0, 1, 500, 1500, 2500, 3000, 1]]}]}
    c = scan_kernels.phase_counts(data, D=16, step_us=0.5)
    assert c["t"] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert c["loading"] == [1, 2, 1, 0, 0, 0, 0] and c["waiting"] == [0, 0, 1, 1, 1, 0, 0]
    assert c["alive"] == [1, 2, 2, 2, 1, 1, 0] and c["room"] == 2
    fig = scan_kernels.medium_phases_figure()
    assert [t.name for t in fig.data][:3] == ["alive (started, not ended)", "loading + summarising",
                                              "in the look-back"]


def test_packed_figure_shows_what_notebook_7_says():
    """Notebook 7's two runs of the look-back with tagged words, bf16 at B=4, T=131072, D=256:
    the words before the threads agreed 503.6 us forward against the flags' 536.4; after,
    614.9 against 535.6."""
    from rnnviz.course import scan_kernels

    fig = scan_kernels.packed_figure()
    fwd = dict(zip(fig.data[0].x, fig.data[0].y))
    got = {k.split("<br>", 1)[0] + " " + k.split("<br>", 1)[1].replace("<br>", " "): round(v, 1)
           for k, v in fwd.items()}
    assert got["run 1 one read, words: threads not agreed (wrong)"] == 503.6
    assert got["run 1 one read, flags"] == 536.4
    assert got["run 2 one read, words: threads agreed"] == 614.9
    assert got["run 2 one read, flags"] == 535.6
    assert "bfloat16" in fig.layout.title.text and len(fig.data) == 2


def test_prefetch_figures_show_what_notebook_7_says():
    """Notebook 7's prefetch runs as its text reads them: bf16 at B=4, T=131072, D=256 535.0 us
    forward without, 520.5 with 264 tickets on (2.7% faster), slower at 528; fp32 at T=16384
    slower at every distance."""
    from rnnviz.course import scan_kernels

    def fwd(dtype):
        fig = scan_kernels.prefetch_figure(dtype)
        return {k.split("<br>", 1)[1].replace("<br>", " "): round(v, 1)
                for k, v in zip(fig.data[0].x, fig.data[0].y)}

    bf16 = fwd("bfloat16")
    assert bf16["no prefetch (shipped then)"] == 535.0 and bf16["264 tickets on"] == 520.5
    assert round(1 - 520.5 / 535.0, 3) == 0.027 and bf16["528 tickets on"] > 535.0
    fp32 = fwd("float32")
    base = fp32.pop("no prefetch (shipped then)")
    fp32.pop("accelerated-scan scalar (Triton)")
    assert len(fp32) == 4 and min(fp32.values()) > base


def test_trips_figures_show_what_notebook_7_says():
    """Notebook 7's two-trip look-back as its text reads it: at B=3, T=40001, D=300 forward +
    backward 13% faster in bf16 (538.2 -> 468.6 us) and 9% in fp32 (628.1 -> 573.8), both
    ahead of accelerated-scan both ways; the backward without its prefetch 1% faster there."""
    from rnnviz.course import scan_kernels

    def passes(dtype):
        fig = scan_kernels.trips_figure(dtype)
        return {trace.name: {k.split("<br>", 1)[1].replace("<br>", " "): round(v, 1)
                             for k, v in zip(trace.x, trace.y)} for trace in fig.data}

    for dtype, (before, after, gain) in {"bfloat16": (538.2, 468.6, 0.13),
                                         "float32": (628.1, 573.8, 0.09)}.items():
        got = passes(dtype)
        fwd, both = got[scan_kernels.ENTRY_PASSES["fwd"][0]], got[scan_kernels.ENTRY_PASSES["fwd+bwd"][0]]
        assert both["four trips a round (shipped then)"] == before
        assert both["two trips a round"] == after and round(1 - after / before, 2) == gain
        theirs = "accelerated-scan scalar (Triton)"
        assert fwd["two trips a round"] < fwd[theirs] and both["two trips a round"] < both[theirs]
        if dtype == "bfloat16":
            assert both["four, the backward not prefetching"] == 533.3


def test_eager_figures_show_what_notebook_7_says():
    """Notebook 7's graph-or-eager passage as its text reads it: bf16 at B=1, T=65536, D=64,
    reduce-then-scan fastest as graphs (24 against 34 us forward) and the one-launch look-back
    1.8x faster forward and 1.6x forward + backward back to back; fp32's one-read look-back
    faster both ways (69.5 against 77.7 us forward + backward as graphs)."""
    from rnnviz.course import scan_kernels

    def panels(dtype):
        fig = scan_kernels.eager_figure(dtype)
        got = {}
        for trace in fig.data:
            timing = "graph" if trace.xaxis == "x" else "back-to-back"
            for k, v in zip(trace.x, trace.y):
                got[(timing, trace.name, k)] = v
        return got

    fwd, both = (scan_kernels.ENTRY_PASSES[p][0] for p in ("fwd", "fwd+bwd"))
    rts, one = scan_kernels.EAGER_NAMES["shipped"], scan_kernels.EAGER_NAMES["d64lbft"]
    h = panels("bfloat16")
    assert (round(h[("graph", fwd, rts)]), round(h[("graph", fwd, one)])) == (24, 34)
    assert round(h[("back-to-back", fwd, rts)] / h[("back-to-back", fwd, one)], 1) == 1.8
    assert round(h[("back-to-back", both, rts)] / h[("back-to-back", both, one)], 1) == 1.6
    f = panels("float32")
    assert (round(f[("graph", both, one)], 1), round(f[("graph", both, rts)], 1)) == (69.5, 77.7)
    assert all(f[(t, p, one)] < f[(t, p, rts)] for t in ("graph", "back-to-back")
               for p in (fwd, both))


def test_tripsfew_runs_read_as_notebook_7_says():
    """Notebook 7's sentence on the two-trip look-back at B=1, T=2^20, D=16: bf16 4% faster
    both ways, fp32 2% faster forward + backward (its forward, without a look-back, within
    1%)."""
    from rnnviz.course import scan_kernels
    from rnnviz.course.reference import shipped_file

    def gain(name, dtype, variant, pss):
        us = {r["variant"]: r[pss] for r in scan_kernels.entry_ab_rows(
            [shipped_file(name)], 2 ** 20, dtype=dtype, B=1, D=16)}
        return round(1 - us[variant] / us["shipped"], 2)

    bf16, fp32 = "scan-entry-ab-tripsfew-bf16-h100", "scan-entry-ab-tripsfew-h100"
    assert gain(bf16, "bfloat16", "ftfewh", "fwd") == 0.04
    assert gain(bf16, "bfloat16", "ftfewh", "fwd+bwd") == 0.04
    assert gain(fp32, "float32", "ftfew", "fwd+bwd") == 0.02
    assert abs(gain(fp32, "float32", "ftfew", "fwd")) <= 0.01
    # ... and the look-back forward in 16 rows that followed (102 against 117 us, 66% of copy;
    # 254 against 273 forward + backward)
    rows = {r["variant"]: r for r in scan_kernels.entry_ab_rows(
        [shipped_file("scan-entry-ab-few32-h100")], 2 ** 20, dtype="float32", B=1, D=16)}
    assert [round(rows[v]["fwd"]) for v in ("ftfew32r16", "shipped")] == [102, 117]
    assert [round(rows[v]["fwd+bwd"]) for v in ("ftfew32r16", "shipped")] == [254, 273]
    copy = shipped_file("scan-entry-ab-few32-h100").rows
    assert [round(r["frac_copy"], 2) for r in copy if r["variant"] == "ftfew32r16"
            and r["pass"] == "fwd" and r["timing"] == "graph"] == [0.66]
    # ... then the backward in 16-row chunks too (233 us, 77% of copy), and bf16's both ways
    # (79 / 185 against 92 / 200)
    rows = shipped_file("scan-entry-ab-fewrows-h100").rows
    [b16] = [r for r in rows if (r["variant"], r["pass"], r["timing"], r["T"]) ==
             ("ftfew32r16b", "fwd+bwd", "graph", 2 ** 20)]
    assert (round(b16["us"]), round(b16["frac_copy"], 2)) == (233, 0.77)
    h = {(r["variant"], r["pass"]): round(r["us"]) for r in shipped_file(
        "scan-entry-ab-fewrows-bf16-h100").rows if r["timing"] == "graph"}
    assert [h[("ftfewh16", p)] for p in ("fwd", "fwd+bwd")] == [79, 185]
    assert [h[("shipped", p)] for p in ("fwd", "fwd+bwd")] == [92, 200]


def test_medium_bf16_eager_run_reads_as_notebook_7_says():
    """Notebook 7's sentence on bf16 at B=2, T=8192, D=512: forward 34 us by reduce-then-scan
    against 44 by the one-read look-back as graphs, 99 against 57 back to back."""
    from rnnviz.course import scan_kernels
    from rnnviz.course.reference import shipped_file

    ref = [shipped_file("scan-entry-ab-medeager-bf16-h100")]
    for timing, want in (("graph", [34, 44]), ("back-to-back", [99, 57])):
        rows = {r["variant"]: r for r in scan_kernels.entry_ab_rows(
            ref, 8192, timing=timing, dtype="bfloat16", B=2, D=512)}
        assert [round(rows[v]["fwd"]) for v in ("shipped", "pfh264kft")] == want, timing


def test_chlane_ab_figures_show_what_notebook_7_says():
    """Notebook 7's runs of one channel a lane, as its text reads them: in fp32 about 2.2x
    slower than the shipped entry, forward; in bf16 about 1.5x faster than the entry shipped
    then, both passes, and faster than accelerated-scan's warp kernel in the same rounds."""
    from rnnviz.course import scan_kernels
    from rnnviz.course.reference import shipped_file

    fp32 = {r["variant"]: r for r in scan_kernels.entry_ab_rows(
        [shipped_file(scan_kernels.CHLANE_AB)])}
    assert 2.1 < fp32["ch32"]["fwd"] / fp32["shipped"]["fwd"] < 2.3
    assert all(fp32[v][p] > fp32["shipped"][p] for v in ("ch32", "ch64", "ch32f")
               for p in ("fwd", "fwd+bwd"))
    bf16 = {r["variant"]: r for r in scan_kernels.entry_ab_rows(
        [shipped_file(scan_kernels.CHLANE_AB_BF16)], dtype="bfloat16")}
    for p in ("fwd", "fwd+bwd"):
        assert 1.4 < bf16["shipped"][p] / bf16["ch64h"][p] < 1.6
        assert bf16["ch64h"][p] < bf16["warp"][p]
    for dtype in ("float32", "bfloat16"):
        fig = scan_kernels.chlane_ab_figure(dtype)
        assert f"({dtype})" in fig.layout.title.text and len(fig.data) == 2
