"""The speed lab, driven headless: sliders + run change the figure; big sizes are refused;
export round-trips; the shipped-results overlay is labelled; Stop and the time guard work."""
from __future__ import annotations

import csv
import json

import pytest

from rnnviz.widgets.speed_lab import SpeedLab

FAST = ("conv1d", "copy", "gru-cudnn")


def small_lab(methods=FAST, **kw) -> SpeedLab:
    lab = SpeedLab(budget_ms=5.0, refs=kw.pop("refs", []), **kw)
    for name, box in lab.checkboxes.items():
        box.value = name in methods
    lab.T.value, lab.B.value, lab.D.value, lab.points.value = 32, 2, 8, 3
    return lab


def here(lab):
    return {t.meta["method"]: t for t in lab.fig.data if t.meta["source"] == "here"}


def test_run_fills_the_figure_and_moving_a_slider_changes_it():
    lab = small_lab()
    rows = lab.run()
    assert len(rows) == len(FAST) * 3 and all(r["ms"] > 0 and r["error"] is None for r in rows)
    assert set(here(lab)) == set(FAST)
    assert tuple(here(lab)["conv1d"].x) == (8, 16, 32)
    assert len(here(lab)["copy"].y) == 3

    lab.T.value = 128
    lab.sweep.value = "D"
    lab.points.value = 2
    lab.run()
    trace = here(lab)["conv1d"]
    assert tuple(trace.x) == (4, 8)  # the D sweep, halving down from the D slider
    assert "against D" in lab.fig.layout.title.text and "T=128" in lab.fig.layout.title.text
    assert all(r["T"] == 128 for r in lab.rows[-len(FAST) * 2:])
    assert "conv1d" in lab.table.value and lab.table.value.count("<tr>") == len(lab.rows) + 1


def test_unticking_a_method_removes_its_curve():
    lab = small_lab()
    lab.run()
    lab.checkboxes["copy"].value = False
    lab.run()
    assert set(here(lab)) == {"conv1d", "gru-cudnn"}


def test_sizes_that_do_not_fit_are_refused_with_a_message():
    lab = small_lab(free_bytes=10 * 2**20)  # pretend 10 MB are free
    lab.T.value, lab.B.value, lab.D.value = 2**16, 64, 1024
    before = len(lab.fig.data)
    assert lab.run() == [] and lab.rows == []
    assert "Refused" in lab.message.value and "Lower T, B or D" in lab.message.value
    assert len(lab.fig.data) == before
    lab.T.value, lab.B.value, lab.D.value = 32, 2, 8  # small again: runs
    assert len(lab.run()) == len(FAST) * 3


def test_graph_timing_needs_the_gpu_and_reaches_the_timer(monkeypatch):
    """On a CPU the timing control is off and a graph run is refused by name; asked for on
    a GPU device, the mode reaches time_ms and each row records it."""
    import torch

    from rnnviz.course import measure

    lab = small_lab()
    assert lab.timing.disabled == (not torch.cuda.is_available())
    lab.timing.value = "graph"
    lab.device.value = "cpu"
    assert lab.run() == [] and "graph timing replays CUDA graphs" in lab.message.value
    with pytest.raises(ValueError, match="needs a CUDA device"):
        list(measure.measure_iter(["copy"], [dict(B=1, T=8, D=4)], timing="graph"))
    with pytest.raises(ValueError, match="timing must be"):
        list(measure.measure_iter(["copy"], [dict(B=1, T=8, D=4)], timing="eager"))

    seen = []
    monkeypatch.setattr(measure, "time_ms", lambda fn, device, **kw: seen.append(kw["mode"]) or 1.0)
    monkeypatch.setattr(measure.torch, "device", lambda d: type("Dev", (), {"type": "cuda"})())
    monkeypatch.setattr(measure, "build", lambda *a: (lambda: None))
    monkeypatch.setattr(measure, "fits", lambda *a: None)
    (row,) = measure.measure_iter(["copy"], [dict(B=1, T=8, D=4)], device="cuda", timing="graph")
    assert seen == ["graph"] and row["timing"] == "graph" and row["ms"] == 1.0


def test_no_method_ticked_says_so():
    lab = small_lab(methods=())
    assert lab.run() == [] and "at least one method" in lab.message.value


def test_export_csv_and_json(tmp_path, monkeypatch):
    lab = small_lab()
    lab.run()
    rows = list(csv.DictReader(lab.to_csv(tmp_path / "r.csv").open()))
    assert len(rows) == len(lab.rows) and rows[0]["method"] == lab.rows[0]["method"]
    assert float(rows[0]["ms"]) == pytest.approx(lab.rows[0]["ms"])
    data = json.loads(lab.to_json(tmp_path / "r.json").read_text())
    assert data["rows"] == lab.rows and data["provenance"]["suite"] == "speed_lab"
    monkeypatch.chdir(tmp_path)
    lab.export_name.value = "mine"
    lab.csv_button.click()
    lab.json_button.click()
    assert (tmp_path / "mine.csv").exists() and (tmp_path / "mine.json").exists()
    assert "Wrote" in lab.message.value


def _reference(tmp_path):
    rows = [{"method": "conv1d", "pass": "fwd", "dtype": "float32", "B": 2, "T": t,
             "D": 8, "ms": 0.01 * t, "error": None} for t in (8, 16, 32)]
    rows += [{"method": "conv1d", "pass": "fwd", "dtype": "float32", "B": 64, "T": t,
              "D": 1024, "ms": 1.0 * t, "error": None} for t in (8, 16)]
    prov = {"suite": "sru", "gpu": "NVIDIA H100 80GB HBM3", "date": "2026-11-23T08:00:00+00:00",
            "torch": "2.11", "triton": "3.6", "driver": "570", "command": "python -m rnnviz.bench sru"}
    path = tmp_path / "sru-h100.json"
    path.write_text(json.dumps({"provenance": prov, "rows": rows}))
    from rnnviz.course.reference import shipped

    return shipped(paths={"sru-h100": path})


def test_overlay_shows_the_closest_shipped_curve_labelled_with_gpu_and_date(tmp_path):
    lab = small_lab(refs=_reference(tmp_path))
    lab.run()
    lab.overlay.value = True
    refs = [t for t in lab.fig.data if t.meta["source"] != "here"]
    assert len(refs) == 1  # only conv1d is shipped
    assert "H100, 2026-11-23 (B=2, D=8)" in refs[0].name
    assert "dashed: H100 80GB HBM3, measured on 2026-11-23" in lab.fig.layout.title.text
    assert tuple(refs[0].x) == (8, 16, 32)  # the B=2, D=8 curve, nearest to the sliders
    assert refs[0].line.dash == "dash"
    lab.overlay.value = False
    assert all(t.meta["source"] == "here" for t in lab.fig.data)
    assert "dashed" not in lab.fig.layout.title.text


def test_overlay_is_disabled_when_nothing_is_shipped():
    lab = small_lab(refs=[])
    assert lab.overlay.disabled and "No GPU reference" in lab.message.value


def test_stop_ends_a_background_run_between_measurements():
    lab = small_lab(methods=("grucell-loop",))
    lab.T.value, lab.points.value = 1024, 8
    thread = lab.start()
    assert lab.start() is None  # a second Run while running is refused
    lab.stop()
    thread.join(60)
    assert not thread.is_alive() and len(lab.rows) < 8
    assert "Stopped" in lab.message.value
    assert not lab.run_button.disabled and lab.stop_button.disabled


def test_a_method_predicted_too_slow_is_skipped_not_run():
    lab = small_lab(methods=("grucell-loop",), max_s=1e-4)
    lab.T.value, lab.points.value = 256, 3
    rows = lab.run()
    assert rows[0]["ms"] is not None
    assert all(r["ms"] is None and "predicted" in r["error"] for r in rows[1:])


def test_methods_missing_here_are_disabled_with_the_reason(monkeypatch):
    import rnnviz.widgets.speed_lab as sl

    monkeypatch.setattr(sl, "available", lambda name: "not here" if name == "copy" else None)
    lab = SpeedLab(refs=[])
    assert lab.checkboxes["copy"].disabled and "copy" not in lab.selected()
    assert lab.checkboxes["copy"].tooltip == "not here"


def test_every_control_every_method_every_dtype_runs_without_raising():
    """What a new user does: tick everything, try every dropdown value, press Run."""
    lab = small_lab(methods=())
    for box in lab.checkboxes.values():
        box.value = not box.disabled
    lab.T.value, lab.B.value, lab.D.value, lab.points.value = 8, 1, 4, 1
    for sweep, dtype, pss in [("T", "float32", "fwd"), ("B", "float32", "fwd+bwd"),
                              ("D", "bfloat16", "fwd"), ("T", "float16", "fwd+bwd")]:
        lab.sweep.value, lab.dtype.value, lab.pass_.value = sweep, dtype, pss
        lab.overlay.value = not lab.overlay.value if not lab.overlay.disabled else False
        rows = lab.run()
        assert len(rows) == len(lab.selected())
        for r in rows:  # a time, or the reason there is none
            assert (r["ms"] is None) != (r["error"] is None), r
    float32 = [r for r in lab.rows if r["dtype"] == "float32"]
    assert all(r["ms"] is not None for r in float32), [r for r in float32 if r["ms"] is None]


def test_backward_on_reaches_the_engine_and_the_rows(monkeypatch):
    """"backward on": off on a CPU; on a GPU device the calling-thread choice turns torch's
    multithreaded backward off while the call is timed (and back on after), and each
    backward row records the choice; a wrong value is refused by name."""
    import torch

    from rnnviz.course import measure

    lab = small_lab()
    assert lab.backward_on.disabled == (not torch.cuda.is_available())
    with pytest.raises(ValueError, match="backward_on must be one of"):
        list(measure.measure_iter(["copy"], [dict(B=1, T=8, D=4)], backward_on="gpu"))

    seen = []
    monkeypatch.setattr(measure, "time_ms", lambda fn, device, **kw: seen.append(
        torch.autograd.is_multithreading_enabled()) or 1.0)
    monkeypatch.setattr(measure.torch, "device", lambda d: type("Dev", (), {"type": "cuda"})())
    monkeypatch.setattr(measure, "build", lambda *a: (lambda: None))
    monkeypatch.setattr(measure, "fits", lambda *a: None)
    rows = [next(iter(measure.measure_iter(["copy"], [dict(B=1, T=8, D=4)], device="cuda",
                                           backward=True, backward_on=where)))
            for where in measure.BACKWARD_ON]
    assert seen == [True, False] and torch.autograd.is_multithreading_enabled()
    assert [r["backward_on"] for r in rows] == ["device thread", "calling thread"]
    (fwd,) = measure.measure_iter(["copy"], [dict(B=1, T=8, D=4)], device="cuda")
    assert "backward_on" not in fwd
