"""newton_convergence from DEER iteration records (a real small Newton solve, see records.py)."""
from __future__ import annotations

import math

import pytest

from rnnviz.trace import Trace
from rnnviz.viz import newton_convergence
from rnnviz.viz.newton import newton_runs

from .records import check_serialises, deer_trace, newton_solve


def test_oracle_converges_quadratically():
    """The records feeding these tests really are a Newton solve: digits roughly double."""
    res = [r["residual"] for r in newton_solve(iterations=6)]
    assert res[-1] < 1e-12
    d = [-math.log10(r) for r in res[2:5]]
    assert d[1] > 1.7 * d[0] and d[2] > 1.7 * d[1]
    # after iteration i (from 0) the first i+1 steps are exact: the wave
    for i, r in enumerate(newton_solve(iterations=5)):
        assert float(r["err_t"][: i + 1].max()) < 1e-12


def test_panels_frames_and_wave():
    tr = deer_trace("newton", iterations=6)
    fig = newton_convergence(tr)
    assert len(fig.frames) == 6 and len(fig.layout.sliders[0].steps) == 6
    assert fig.layout.meta["iterations"] == 6
    assert fig.layout.meta["error_source"] == "err_t"
    assert fig.layout.yaxis.type == "log"
    residual, marker, final, iterate, heat, bars = fig.data
    assert list(residual.x) == list(range(6))
    assert residual.y[-1] < 1e-12 < residual.y[0]
    assert len(final.x) == 24 and len(iterate.y) == 24
    assert heat.type == "heatmap" and len(heat.z) == 6 and len(heat.z[0]) == 24
    # the wave: row i (iteration i) is at the floor for t <= i
    for i, row in enumerate(heat.z[:5]):
        assert max(row[: i + 1]) < -11
    # the frames move the iterate towards the final trajectory
    first, last = fig.frames[0].data[1].y, fig.frames[-1].data[1].y
    gap = lambda ys: max(abs(a - b) for a, b in zip(ys, final.y))  # noqa: E731
    assert gap(last) < 1e-12 < gap(first)
    assert bars.name == "ms per iteration"
    check_serialises(fig)


def test_damped_shows_damping_and_picks_the_method():
    tr = deer_trace("newton", iterations=4)
    for i, data in enumerate(newton_solve(iterations=5, damping=0.5)):
        tr.add("deer", "iteration", data, {"iteration": i, "method": "damped"})
    assert [len(r) for r in newton_runs(tr)] == [4, 5]
    fig = newton_convergence(tr, "damped")
    assert fig.layout.meta["method"] == "damped" and len(fig.frames) == 5
    assert fig.data[-1].name == "damping" and list(fig.data[-1].y) == [0.5] * 5
    assert "damping per iteration" in [a.text for a in fig.layout.annotations]
    check_serialises(fig)


def test_two_runs_and_error_without_err_t():
    tr = Trace()
    for _ in range(2):
        for i, data in enumerate(newton_solve(iterations=4)):
            data.pop("err_t")
            data["h"] = data["h"][0]  # [T, D] is accepted too
            tr.add("deer", "iteration", data, {"iteration": i, "method": "quasi"})
    assert len(newton_runs(tr)) == 2
    fig = newton_convergence(tr, run=1)
    assert fig.layout.meta["error_source"] == "last iterate"
    assert max(fig.data[4].z[-1]) == -16  # the last iterate against itself
    with pytest.raises(ValueError, match=r"run must be in \[0, 2\)"):
        newton_convergence(tr, run=2)


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match="rnnviz.deer.evaluate"):
        newton_convergence(Trace())
    with pytest.raises(TypeError, match="trace must be"):
        newton_convergence("trace.json")
    with pytest.raises(ValueError, match="method='newton'"):
        newton_convergence(deer_trace("quasi"), "newton")
