"""The speed lab: pick methods and sizes, press Run, watch the times arrive.

One :class:`SpeedLab` object holds the controls (checkboxes for methods, log-spaced sliders
for T, B and D, dtype/device/pass/timing/backward dropdowns: on a GPU, "graph" times each
call's CUDA-graph replay, the GPU's time alone, and "backward on" picks torch's device thread
or the calling thread for the backward), a plotly ``FigureWidget`` updated as each
measurement arrives, a tqdm progress bar, a results table, CSV/JSON export and a toggle that
overlays the GPU results shipped with the package (dashed, labelled with GPU and date).

The kernel never freezes: the Run button measures in a background thread, the Stop button is
checked between two measurements, each measurement is bounded (``budget_ms`` of timing, a
method predicted to need more than ``max_s`` seconds is skipped) and sizes that would not fit
in memory are refused, with a message, before anything is allocated.

Everything the buttons do is a method, so the app can be driven without a browser
(``lab.T.value = 256; lab.run()``): that is how it is tested.
"""
from __future__ import annotations

import csv
import html
import json
import threading
from pathlib import Path
from typing import Any

import ipywidgets as W
import plotly.graph_objects as go
import torch
from tqdm.auto import tqdm

from rnnviz.bench.core import provenance
from rnnviz.course.compare import here_trace, notes_for, reference_trace, style
from rnnviz.course.measure import BACKWARD_ON, DTYPES, fits, measure_iter, sweep
from rnnviz.course.methods import METHODS, available
from rnnviz.course.reference import Reference, shipped
from rnnviz.course.sizes import on_gpu, where
from rnnviz.device import default_device

__all__ = ["SpeedLab", "speed_lab"]

COLUMNS = ["method", "pass", "dtype", "device", "timing", "backward_on", "B", "T", "D", "ms",
           "error"]
DEFAULT_METHODS = ("lstm-cudnn", "conv1d", "grucell-loop", "rnnviz-sru", "rnnviz-mingru")
# log2 ranges of the sliders
RANGES = {"T": (3, 20), "B": (0, 10), "D": (2, 12)}


def _log_slider(name: str, value: int) -> W.FloatLogSlider:
    lo, hi = RANGES[name]
    return W.FloatLogSlider(value=value, base=2, min=lo, max=hi, step=1, description=name,
                            readout_format=".0f", continuous_update=False,
                            style={"description_width": "30px"})


class SpeedLab:
    """The app. ``SpeedLab()`` builds it; display it (or ``lab.widget``) in a notebook.

    Args:
        methods: the methods offered (default: all in ``rnnviz.course.methods.METHODS``).
        refs: shipped GPU results to overlay (default: ``rnnviz.results``).
        budget_ms: timing budget per measurement (``rnnviz.bench.core.time_ms``).
        max_s: skip a method whose next measurement is predicted to take longer.
        free_bytes: pretend this much memory is free (tests); default: ask the device.
    """

    def __init__(self, methods: list[str] | None = None, refs: list[Reference] | None = None,
                 budget_ms: float = 150.0, max_s: float = 8.0, free_bytes: int | None = None):
        self.budget_ms, self.max_s, self.free_bytes = budget_ms, max_s, free_bytes
        self.refs = shipped() if refs is None else refs
        self.rows: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

        self.checkboxes: dict[str, W.Checkbox] = {}
        for name in methods or list(METHODS):
            why = available(name)
            self.checkboxes[name] = W.Checkbox(
                value=why is None and name in DEFAULT_METHODS, disabled=why is not None,
                description=METHODS[name].label + ("" if why is None else " (not here)"),
                tooltip=why or name, indent=False,
                layout=W.Layout(width="290px"))
        gpu = on_gpu()
        self.T = _log_slider("T", 16384 if gpu else 1024)
        self.B = _log_slider("B", 16 if gpu else 4)
        self.D = _log_slider("D", 256 if gpu else 64)
        self.sweep = W.Dropdown(options=["T", "B", "D"], value="T", description="sweep",
                                layout=W.Layout(width="150px"))
        self.points = W.IntSlider(value=5, min=1, max=8, description="points",
                                  continuous_update=False)
        self.dtype = W.Dropdown(options=list(DTYPES)[:3], value="float32", description="dtype",
                                layout=W.Layout(width="190px"))
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        self.device = W.Dropdown(options=devices, value=default_device().type,
                                 description="device", layout=W.Layout(width="190px"))
        self.pass_ = W.Dropdown(options=["fwd", "fwd+bwd"], value="fwd", description="pass",
                                layout=W.Layout(width="190px"))
        # how a GPU call is timed: as a program runs it, or its CUDA graph replayed (the
        # GPU's time alone; the gap is the host's share). Not on a CPU.
        self.timing = W.Dropdown(options=["back-to-back", "graph"], value="back-to-back",
                                 description="timing", layout=W.Layout(width="190px"),
                                 disabled=not gpu)
        # who runs a GPU backward: torch's device thread (its default) or the calling thread;
        # on a slow host the hand-off is a visible part of a short step. Not on a CPU.
        self.backward_on = W.Dropdown(options=list(BACKWARD_ON), value="device thread",
                                      description="backward on", layout=W.Layout(width="190px"),
                                      style={"description_width": "initial"}, disabled=not gpu)
        self.run_button = W.Button(description="Run", button_style="success", icon="play")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop",
                                    disabled=True)
        self.overlay = W.Checkbox(value=False, indent=False,
                                  description="overlay the shipped GPU results (dashed)",
                                  disabled=not self.refs)
        self.message = W.HTML()
        self.progress = W.Output()
        self.table = W.HTML()
        self.export_name = W.Text(value="speed_lab", description="file",
                                  layout=W.Layout(width="220px"))
        self.csv_button = W.Button(description="CSV", icon="download")
        self.json_button = W.Button(description="JSON", icon="download")
        self.fig = go.FigureWidget()
        self.fig.update_layout(xaxis_type="log", yaxis_type="log",
                               yaxis_title="milliseconds (log scale)")
        self._relabel()

        self.run_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.csv_button.on_click(lambda _: self._export("csv"))
        self.json_button.on_click(lambda _: self._export("json"))
        self.overlay.observe(lambda _: self.draw_reference(), names="value")
        for w in (self.sweep, self.T, self.B, self.D, self.pass_, self.dtype):
            w.observe(lambda _: self._relabel(), names="value")
        if not self.refs:
            self.message.value = ("<i>No GPU reference results are shipped with this install; "
                                  "the overlay is off.</i>")
        self.widget = self._layout()

    # -- what the controls say -------------------------------------------------------
    def selected(self) -> list[str]:
        return [n for n, c in self.checkboxes.items() if c.value and not c.disabled]

    def sizes(self) -> list[dict[str, int]]:
        """The sizes the next run measures: the swept size halving down from its slider."""
        top = {k: int(round(getattr(self, k).value)) for k in ("B", "T", "D")}
        x = self.sweep.value
        return [dict(top, **{x: v}) for v in sweep(top[x], self.points.value)]

    def refusals(self) -> list[str]:
        """Why the run cannot go (empty if it can): graph timing off a GPU, or sizes that
        would not fit in memory (checked at the largest size)."""
        big = self.sizes()[-1]
        out = []
        if self.timing.value == "graph" and self.device.value != "cuda":
            out.append("graph timing replays CUDA graphs: pick the cuda device, or "
                       "back-to-back timing")
        for m in self.selected():
            msg = fits(m, big["B"], big["T"], big["D"], self.dtype.value, self.device.value,
                       self.pass_.value == "fwd+bwd", self.free_bytes)
            if msg:
                out.append(msg)
        return out

    # -- running ------------------------------------------------------------------------
    def run(self) -> list[dict[str, Any]]:
        """Measure synchronously (the Run button runs this in a thread). Returns the new rows."""
        self._stop.clear()
        methods, sizes = self.selected(), self.sizes()
        if not methods:
            self._say("Tick at least one method.", "warning")
            return []
        refused = self.refusals()
        if refused:
            self._say("Refused, nothing was run: " + "<br>".join(map(html.escape, refused)),
                      "error")
            return []
        x = self.sweep.value
        self._reset_figure(methods)
        total = len(methods) * len(sizes)
        bar = self._bar(total)
        self._say(f"Measuring {total} points on {self.device.value}...", "info")
        new: list[dict[str, Any]] = []
        try:
            for row in measure_iter(methods, sizes, dtype=self.dtype.value,
                                    device=self.device.value,
                                    backward=self.pass_.value == "fwd+bwd",
                                    budget_ms=self.budget_ms, max_s=self.max_s,
                                    stop=self._stop, free=self.free_bytes,
                                    timing=self.timing.value,
                                    backward_on=self.backward_on.value):
                new.append(row)
                self.rows.append(row)
                if row["ms"] is not None:
                    tr = self._trace_of(row["method"])
                    with self.fig.batch_update():
                        tr.x = tuple(tr.x or ()) + (row[x],)
                        tr.y = tuple(tr.y or ()) + (row["ms"],)
                bar.update(1)
                self._render_table()
        finally:
            bar.close()
        stopped = self._stop.is_set()
        failed = sum(r["error"] is not None for r in new)
        self._say(("Stopped. " if stopped else "Done. ") + f"{len(new)} measurements"
                  + (f", {failed} without a time (see the table)" if failed else "") + ".",
                  "warning" if stopped or failed else "success")
        return new

    def start(self) -> threading.Thread | None:
        """What Run does: measure in a background thread so the notebook stays responsive."""
        if self._thread is not None and self._thread.is_alive():
            self._say("Already running; press Stop first.", "warning")
            return None
        self.run_button.disabled, self.stop_button.disabled = True, False

        def work():
            try:
                self.run()
            except Exception as e:  # noqa: BLE001 - a thread must report, not die silently
                self._say(f"{type(e).__name__}: {html.escape(str(e))}", "error")
            finally:
                self.run_button.disabled, self.stop_button.disabled = False, True

        self._thread = threading.Thread(target=work, name="rnnviz-speed-lab", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """What Stop does: the run ends after the measurement in progress."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the figure ---------------------------------------------------------------------
    def _relabel(self) -> None:
        """Title (what is measured), the notes under it (who measured what, when: see
        ``rnnviz.course.compare.notes_for``) and the x axis, from the controls."""
        x = self.sweep.value
        fixed = ", ".join(f"{k}={int(round(getattr(self, k).value))}" for k in ("B", "T", "D")
                          if k != x)
        title = f"{self.pass_.value} time against {x} ({fixed}, {self.dtype.value})"
        who = where() if self.device.value == default_device().type else self._who()
        style(self.fig, title, notes_for(self.fig, who), height=440)
        # A FigureWidget inside a VBox autosizes to the flex item, which JupyterLab shrinks to
        # a third of the page (seen in the browser test's screenshots): give it a width.
        self.fig.update_layout(xaxis_title=f"{x} (log scale)", width=920)

    def _reset_figure(self, methods: list[str]) -> None:
        with self.fig.batch_update():
            self.fig.data = []
            for m in methods:
                self.fig.add_trace(here_trace(m, who=self._who()))
            self._relabel()
        self.draw_reference()

    def _trace_of(self, method: str):
        for t in self.fig.data:
            if t.meta and t.meta.get("method") == method and t.meta.get("source") == "here":
                return t
        self.fig.add_trace(here_trace(method, who=self._who()))
        return self.fig.data[-1]

    def _who(self) -> str:
        """"your machine", naming the device when it is not the default one."""
        who = "your machine" if self.device.value == default_device().type else \
            f"your machine ({self.device.value})"
        return (who + (", graph replay" if self.timing.value == "graph" else "")
                + (", backward on the calling thread" if self.device.value == "cuda"
                   and self.backward_on.value == "calling thread" else ""))

    def draw_reference(self) -> int:
        """Add (overlay on) or remove (off) the shipped GPU curves; returns how many are shown."""
        keep = [t for t in self.fig.data if not (t.meta and t.meta.get("source") != "here")]
        added = []
        if self.overlay.value and self.refs:
            near = self.sizes()[-1]
            methods = self.selected()
            for m in methods:
                tr = reference_trace(m, self.refs, self.sweep.value, near=near,
                                     pass_=self.pass_.value, dtype=self.dtype.value)
                if tr is not None:
                    added.append(tr)
            if not added:
                self._say("No shipped GPU result matches these methods, pass and dtype.",
                          "warning")
        with self.fig.batch_update():
            self.fig.data = keep
            for tr in added:
                self.fig.add_trace(tr)
            self._relabel()
        return len(added)

    # -- the rest of the display ---------------------------------------------------------
    def _bar(self, total: int):
        self.progress.clear_output()
        with self.progress:
            return tqdm(total=total, desc="measurements", unit="pt", leave=True)

    def _say(self, text: str, kind: str = "info") -> None:
        colour = {"info": "#333", "success": "#2a7a2a", "warning": "#a66a00",
                  "error": "#b00020"}[kind]
        self.message.value = f'<span style="color:{colour}">{text}</span>'

    def _render_table(self, last: int = 60) -> None:
        rows = self.rows[-last:]
        head = "".join(f"<th style='padding:2px 8px'>{c}</th>" for c in COLUMNS)
        body = []
        for r in rows:
            cells = []
            for c in COLUMNS:
                v = r.get(c)
                v = f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))
                cells.append(f"<td style='padding:2px 8px'>{html.escape(v)}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        more = f"<i>(last {last} of {len(self.rows)})</i>" if len(self.rows) > last else ""
        self.table.value = (f"<div style='max-height:260px;overflow:auto;font-size:12px'>{more}"
                            f"<table><tr>{head}</tr>{''.join(body)}</table></div>")

    # -- export -------------------------------------------------------------------------
    def to_csv(self, path: str | Path) -> Path:
        path = Path(path)
        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
            w.writeheader()
            w.writerows(self.rows)
        return path

    def to_json(self, path: str | Path) -> Path:
        """The rows with their provenance, in the format of the benchmark suites."""
        prov = provenance("speed_lab")
        prov["command"] = "rnnviz.widgets.speed_lab.SpeedLab"
        path = Path(path)
        path.write_text(json.dumps({"provenance": prov, "rows": self.rows}, indent=1))
        return path

    def _export(self, kind: str) -> None:
        if not self.rows:
            self._say("Nothing to export yet: press Run first.", "warning")
            return
        name = (self.export_name.value or "speed_lab").strip()
        path = Path(name if name.endswith("." + kind) else f"{name}.{kind}")
        out = self.to_csv(path) if kind == "csv" else self.to_json(path)
        self._say(f"Wrote {len(self.rows)} rows to <code>{html.escape(str(out.resolve()))}</code>",
                  "success")

    def _layout(self) -> W.VBox:
        boxes = list(self.checkboxes.values())
        methods = W.GridBox(boxes, layout=W.Layout(grid_template_columns="repeat(3, 300px)"))
        sizes = W.HBox([W.VBox([self.T, self.B, self.D]),
                        W.VBox([self.sweep, self.points]),
                        W.VBox([self.dtype, self.device, self.pass_, self.timing,
                                self.backward_on])])
        buttons = W.HBox([self.run_button, self.stop_button, self.overlay])
        export = W.HBox([self.export_name, self.csv_button, self.json_button])
        return W.VBox([W.HTML("<b>Methods</b>"), methods, W.HTML("<b>Sizes</b>"), sizes,
                       buttons, self.message, self.progress, self.fig, self.table, export])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def speed_lab(**kw: Any) -> SpeedLab:
    """Build the speed lab (see :class:`SpeedLab`); the notebook displays what it returns."""
    return SpeedLab(**kw)
