"""rnnviz.course.bounds: bytes or instructions, the estimates of notebooks 2 (the SRU step)
and 7 (the scan), from the shipped H200 files."""
from __future__ import annotations

import json

import pytest
import torch

from rnnviz.bench.core import shipped_results
from rnnviz.course import bounds as cb


def test_the_estimates_are_the_arithmetic_of_the_shipped_numbers():
    """Every input is of the timed kernel: its time and copy ceiling, and Nsight Compute's
    instructions per step (133 and 138, the prologue included) and issue rate."""
    bounds = cb.step_bounds()
    kernels = json.loads(shipped_results()[cb.KERNEL_RUN].read_text())
    copy = kernels["provenance"]["copy_gbs"]
    assert [round(b["instructions_per_step"]) for b in bounds] == [133, 138]
    assert [b["ipc_per_scheduler"] for b in bounds] == [0.64, 0.6]
    for b in bounds:
        row = next(r for r in kernels["rows"] if r.get("library_default") and r["pass"] == "fwd"
                   and r["what"].startswith("inference")
                   and r["dtype"] == {"float32": "fp32", "bfloat16": "bf16"}[b["dtype"]])
        warp_steps = 1024 * 32 * 1024 / 32
        assert (b["T"], b["B"], b["H"]) == (1024, 32, 1024)
        assert b["measured_ms"] == row["ms"]
        assert b["bytes_ms"] == pytest.approx(row["bytes"] / copy / 1e6)
        assert b["issue_peak_ms"] == pytest.approx(
            b["instructions_per_step"] * warp_steps / (132 * 4) / 1.98e6)
        assert b["issue_measured_ms"] == pytest.approx(b["issue_peak_ms"] / b["ipc_per_scheduler"])
    fig = cb.bound_figure(bounds)
    assert [t.name for t in fig.data] == [name for _, name, _ in cb.BARS]
    assert all(len(t.y) == 2 for t in fig.data)


def test_a_machine_that_cannot_compile_for_hopper_says_so(monkeypatch, capsys):
    import rnnviz.bench.sass as sass

    def no_ptxas(*a, **k):
        raise RuntimeError("ptxas not found")

    monkeypatch.setattr(sass, "sru_step_mix", no_ptxas)
    assert cb.step_mixes() == {}
    assert "cannot be compiled for sm_90" in capsys.readouterr().out


def test_the_mix_figure_stacks_every_kind():
    mixes = {"float32": {"float arithmetic": 37.0, "special functions (MUFU: exp, rcp, tanh)": 6.0,
                         "loads and stores": 9.0},
             "bfloat16": {"float arithmetic": 37.0, "special functions (MUFU: exp, rcp, tanh)": 6.0,
                          "conversions, byte shuffles": 13.0}}
    fig = cb.step_mix_figure(mixes)
    assert fig.layout.barmode == "stack"
    assert sum(t.x[0] for t in fig.data) == 52 and sum(t.x[1] for t in fig.data) == 56
    assert ("float32: 52 a step, 43 of them the recurrence's math (Nsight Compute on the H200: "
            "133, prologue included)") in fig.layout.title.text


def test_the_scans_bounds_are_the_arithmetic_of_the_shipped_run(monkeypatch):
    """Bytes at the run's copy ceiling, instructions at one a cycle on 132 x 4 schedulers,
    the measured forward of the wide shape (the count itself is stubbed here)."""
    monkeypatch.setattr(cb, "scan_instructions_per_element", lambda dtype: 0.25)
    run = json.loads(shipped_results()[cb.SCAN_RUN].read_text())
    bounds = cb.scan_bounds()
    n = 16 * 16384 * 4096
    for b, size in zip(bounds, (4, 2)):
        row = next(r for r in run["rows"] if r["method"] == "rnnviz-scan" and r["pass"] == "fwd"
                   and r["dtype"] == {4: "fp32", 2: "bf16"}[size]
                   and (r.get("B"), r.get("T"), r.get("D")) == (16, 16384, 4096))
        assert b["measured_ms"] == row["ms"]
        assert b["bytes_ms"] == pytest.approx(3 * n * size / run["provenance"]["copy_gbs"] / 1e6)
        assert b["issue_peak_ms"] == pytest.approx(0.25 * n / (132 * 4) / 1.98e6)
    fig = cb.bound_figure(bounds)
    assert [t.name for t in fig.data] == ["bytes at the copy bandwidth",
                                          "instructions at 1 a cycle per scheduler", "measured"]


def test_the_scans_loop_compiled_here_is_a_few_instructions_an_element():
    """The channel walk with the H200's wide tile: each thread's few instructions per element
    (a multiply-add and a select in the scan, a conversion, its share of the addresses) are
    a few hundredths of a warp instruction each."""
    pytest.importorskip("triton")
    try:
        per = cb.scan_instructions_per_element(torch.float32)
    except Exception as e:  # noqa: BLE001
        if "ptxas" in str(e) and "not found" in str(e).lower():
            pytest.skip(f"this Triton has no ptxas to compile for a GPU: {e}")
        raise
    assert 2 / 32 < per < 20 / 32


def test_the_ab_figure_draws_each_versions_row_of_the_shipped_run():
    """One bar per version, dtype and pass, at the row's fraction of the copy bandwidth; bf16
    "old" from the second call, timed beside "new" (the later row wins)."""
    shipped = json.loads(shipped_results()[cb.AB_RUN].read_text())["rows"]
    rows = cb.ab_rows()
    assert len(rows) == 3 * 2 * 3
    old_bf16 = next(r for r in rows if (r["kernel"], r["dtype"], r["pass"]) == ("old", "bfloat16", "bwd"))
    assert old_bf16["source"] == "second call"
    fig = cb.ab_figure()
    assert [t.name.split()[0] for t in fig.data] == list(cb.AB_VERSIONS)
    last = {}  # the file's last back-to-back row of each version, dtype and pass
    for r in shipped:
        if r.get("kernel") and r["timing"] == "back-to-back":
            last[r["kernel"], r["dtype"], r["pass"]] = 100 * r["frac_copy"]
    for trace in fig.data:
        version = trace.name.split()[0]
        want = [v for (k, _, _), v in last.items() if k == version]
        assert len(trace.y) == 6 and sorted(trace.y) == pytest.approx(sorted(want))


def test_the_two_clocks_are_the_shipped_numbers():
    """The rewritten kernel at Nsight Compute's clock and at the bench's: the times as shipped
    (the median launch of each dtype), the clock-scaled time their arithmetic."""
    rows = cb.clock_rows()
    assert [r["dtype"] for r in rows] == ["float32", "bfloat16"]
    for r in rows:
        assert 1.0 < r["ncu_ghz"] < r["boost_ghz"] <= 1.98
        assert r["if_clock_us"] == pytest.approx(r["ncu_us"] * r["ncu_ghz"] / r["boost_ghz"])
        assert 0 < r["bytes_us"] < r["bench_us"]
    bf16 = rows[1]
    assert bf16["ncu_us"] == pytest.approx(159.04) and bf16["bench_us"] == pytest.approx(155.97, abs=0.01)
    fig = cb.clock_figure(rows)
    assert [t.name for t in fig.data] == [name for _, name, _ in cb.CLOCK_BARS]
    assert all(len(t.y) == 2 for t in fig.data)


def test_the_bf16_tries_are_the_shipped_rows():
    """Each lever's bars are its run's graph-timed bf16 forward rows, as shipped: the third
    turn a little faster than two, two units a thread slower than one, U as planes within
    2% of the official layout, 64 or 256 units a program within 1% of 128, all four short of
    80% of copy; then one tanh a gate past 80% in both passes."""
    rows = cb.bf16_tries_rows()
    assert len(rows) == (2 + 3 + 2 + 3 + 2) * 2
    us = {(r["experiment"], r["kernel"], r["pass"]): r["us"] for r in rows}
    loads, pairs, planes, block, tanh = (experiment for _, experiment, _ in cb.BF16_TRIES)
    for ps in cb.BF16_PASSES:
        for k in ("b256", "b64"):
            assert us[block, k, ps] == pytest.approx(us[block, "new", ps], rel=0.01)
    assert us[loads, "three", "fwd-inference"] < us[loads, "two", "fwd-inference"]
    assert (us[pairs, "new", "fwd-inference"] < us[pairs, "pairs2", "fwd-inference"]
            < us[pairs, "pairs", "fwd-inference"])
    assert us[pairs, "new", "fwd-inference"] == pytest.approx(152.8, abs=0.05)
    assert us[planes, "planes", "fwd-inference"] == pytest.approx(148.7, abs=0.05)
    for ps in cb.BF16_PASSES:
        assert us[planes, "planes", ps] == pytest.approx(us[planes, "new", ps], rel=0.02)
    assert max(r["frac_copy"] for r in rows if r["experiment"] != tanh) < 0.80
    assert min(r["frac_copy"] for r in rows if r["kernel"] == "tanh") >= 0.80
    assert us[tanh, "tanh", "fwd-inference"] == pytest.approx(138.8, abs=0.05)
    fig = cb.bf16_tries_figure()
    names = [label for _, _, kernels in cb.BF16_TRIES for label, _ in kernels.values()]
    assert [t.name for t in fig.data] == names
    for trace in fig.data:
        mine = [r for r in rows if r["label"] == trace.name]
        assert sorted(trace.y) == pytest.approx(sorted(100 * r["frac_copy"] for r in mine))
