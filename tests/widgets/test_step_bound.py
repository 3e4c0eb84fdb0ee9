"""rnnviz.course.step_bound: notebook 2's bytes-or-instructions estimates, from the shipped
H200 files."""
from __future__ import annotations

import json

import pytest

from rnnviz.bench.core import shipped_results
from rnnviz.course import step_bound


def test_the_estimates_are_the_arithmetic_of_the_shipped_numbers():
    """Every input is of the timed kernel: its time and copy ceiling, and Nsight Compute's
    instructions per step (133 and 138, the prologue included) and issue rate."""
    bounds = step_bound.step_bounds()
    kernels = json.loads(shipped_results()[step_bound.KERNEL_RUN].read_text())
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
    fig = step_bound.step_bound_figure(bounds)
    assert [t.name for t in fig.data] == [name for _, name, _ in step_bound.BARS]
    assert all(len(t.y) == 2 for t in fig.data)


def test_a_machine_that_cannot_compile_for_hopper_says_so(monkeypatch, capsys):
    import rnnviz.bench.sass as sass

    def no_ptxas(*a, **k):
        raise RuntimeError("ptxas not found")

    monkeypatch.setattr(sass, "sru_step_mix", no_ptxas)
    assert step_bound.step_mixes() == {}
    assert "cannot be compiled for sm_90" in capsys.readouterr().out


def test_the_mix_figure_stacks_every_kind():
    mixes = {"float32": {"float arithmetic": 37.0, "exp and reciprocal (MUFU)": 6.0,
                         "loads and stores": 9.0},
             "bfloat16": {"float arithmetic": 37.0, "exp and reciprocal (MUFU)": 6.0,
                          "conversions, byte shuffles": 13.0}}
    fig = step_bound.step_mix_figure(mixes)
    assert fig.layout.barmode == "stack"
    assert sum(t.x[0] for t in fig.data) == 52 and sum(t.x[1] for t in fig.data) == 56
    assert ("float32: 52 a step, 43 of them the recurrence's math (Nsight Compute on the H200: "
            "133, prologue included)") in fig.layout.title.text
