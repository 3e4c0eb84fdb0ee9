"""Build the course as a static web site: every notebook executed, one HTML page each.

    python scripts/build_site.py [--out _site] [--jobs 2] [NOTEBOOK ...]     (or: make site)

Why nbconvert (and not jupyter-book or MyST): it is already installed with JupyterLab, it
executes a notebook exactly as the course runs it (nbclient, a real kernel), and one notebook
becomes one self-contained page, which is all this course needs. jupyter-book would bring a
Sphinx toolchain for cross-references and a table of contents we do not use, and its widget and
plotly handling would need the same post-processing as below anyway.

What a page needs, and how it gets it:
- plotly figures stay interactive without a kernel: each ``application/vnd.plotly.v1+json``
  output becomes a ``Plotly.newPlot`` div (frames and sliders included), drawn by one local
  ``plotly.min.js`` (copied from the installed plotly, so pages also work offline).
- a widget cannot run without a kernel. Each widget output is replaced by what it showed when
  the notebook finished: its ``FigureWidget``s' figures (asked of the kernel after the last
  cell), its text and progress bars (from the widget state nbclient saves), and, where it had
  controls, a note saying they need JupyterLab or Binder.
- ``index.html`` lists the pages; each page links to its neighbours and to its executed
  ``.ipynb``. ``manifest.json`` says what each page holds (the site test reads it).

A cell that raises fails the build, naming the notebook.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import html
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
NOTE = ("This was an interactive widget: its controls run new computation, so they need a "
        "kernel. Open the notebook in JupyterLab or on Binder to use them.")


# --- widgets and figures ---------------------------------------------------------------------

def widget_state(nb: dict) -> dict[str, dict]:
    """model id -> that model's state, from the widget state saved in the notebook's metadata."""
    saved = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {})
    return {mid: m for mid, m in saved.get("state", {}).items()}


def is_figure_widget(model: dict) -> bool:
    """plotly's FigureWidget (an anywidget since plotly 6)."""
    s = model.get("state", {})
    return "_widget_data" in s or "FigureWidget" in str(s.get("_anywidget_id", ""))


def _children(value: Any) -> list[str]:
    """Model ids referenced in a state value ("IPY_MODEL_<id>", possibly in lists)."""
    if isinstance(value, str):
        return [value[len("IPY_MODEL_"):]] if value.startswith("IPY_MODEL_") else []
    if isinstance(value, (list, tuple)):
        return [c for v in value for c in _children(v)]
    return []


def shown_inside(model: dict) -> list[str]:
    """The models a widget displays inside itself, in order: a container's children, or the
    widgets an Output widget captured (tqdm's bar in the speed lab, for instance)."""
    s = model.get("state", {})
    inside = _children(s.get("children", []))
    for out in s.get("outputs", []) if isinstance(s.get("outputs"), list) else []:
        view = out.get("data", {}).get(WIDGET_MIME) if isinstance(out, dict) else None
        if view:
            inside.append(view["model_id"])
    return inside


def figure_widgets(state: dict[str, dict], model_id: str) -> list[str]:
    """The FigureWidgets displayed by a widget: itself, or found inside it, in display order."""
    found, seen, stack = [], set(), [model_id]
    while stack:
        mid = stack.pop(0)
        if mid in seen or mid not in state:
            continue
        seen.add(mid)
        if is_figure_widget(state[mid]):
            found.append(mid)
        else:
            stack[0:0] = shown_inside(state[mid])
    return found




def figures_per_cell(nb: dict) -> list[int]:
    """How many plotly figures each cell shows: plotly outputs plus FigureWidgets in widgets."""
    state = widget_state(nb)
    counts = []
    for cell in nb["cells"]:
        n = 0
        for out in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            data = out.get("data", {})
            if PLOTLY_MIME in data:
                n += 1
            elif WIDGET_MIME in data:
                n += len(figure_widgets(state, data[WIDGET_MIME]["model_id"]))
        counts.append(n)
    return counts


# --- executing -------------------------------------------------------------------------------

FIGURES_MIME = "application/x-rnnviz-figure-widgets+json"
# Run after the notebook's last cell, in its kernel: every FigureWidget's figure as Python holds
# it now. The saved widget state is not enough: it keeps a FigureWidget's data as constructed,
# while later changes (traces added as measurements arrive) travel as messages.
FIGURES_CELL = f"""
import json as _json, IPython.display as _display
from ipywidgets.widgets.widget import _instances as _widgets
from plotly.basewidget import BaseFigureWidget as _FigureWidget
_display.display({{"{FIGURES_MIME}": {{mid: _json.loads(w.to_json()) for mid, w in dict(_widgets).items()
                                  if isinstance(w, _FigureWidget)}}}}, raw=True)
"""


def execute(path: str, timeout: int = 600) -> str:
    """Run a notebook top to bottom in its own kernel; returns the executed notebook (JSON),
    with the final figure of every FigureWidget in its metadata (see FIGURES_CELL)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(FIGURES_CELL))
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                            store_widget_state=True,
                            resources={"metadata": {"path": str(Path(path).parent)}})
    client.execute()
    extra = nb.cells.pop()
    figures = {}
    for out in extra.get("outputs", []):
        figures.update(out.get("data", {}).get(FIGURES_MIME, {}))
    nb.metadata["rnnviz_figure_widgets"] = figures
    return nbformat.writes(nb)


# --- turning outputs into static HTML ----------------------------------------------------------

def plotly_html(fig: dict, div_id: str) -> str:
    import plotly.io as pio

    # auto_play=False: an animated figure waits at its first frame for the reader's slider/play.
    return pio.to_html(fig, include_plotlyjs=False, full_html=False, validate=False,
                       auto_play=False, div_id=div_id, default_height="525px",
                       config={"responsive": True, **(fig.get("config") or {})})


def staticize(nb: dict, page: str) -> dict[str, int]:
    """Rewrite nb's outputs in place for a page without a kernel; returns what it did."""
    state = widget_state(nb)
    figures_by_id = nb.get("metadata", {}).pop("rnnviz_figure_widgets", {})
    stats = {"figures": 0, "widgets": 0, "widget_figures": 0, "widget_notes": 0}
    for ci, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        for oi, out in enumerate(cell.get("outputs", [])):
            data = out.get("data", {})
            div = f"{page}-c{ci}-o{oi}"
            if PLOTLY_MIME in data:
                fig = data[PLOTLY_MIME]
                out["data"] = {"text/html": plotly_html(fig, div)}
                stats["figures"] += 1
            elif WIDGET_MIME in data:
                static = StaticWidget(state, figures_by_id, div)
                body = static.render(data[WIDGET_MIME]["model_id"])
                note = (f'<p class="rnnviz-widget-note"><em>{html.escape(NOTE)}</em></p>'
                        if static.controls else "")
                out["data"] = {"text/html": note + body}
                stats["widgets"] += 1
                stats["widget_notes"] += bool(note)
                stats["widget_figures"] += static.figures
    # without widget state the page loads no widget manager from a CDN
    nb.get("metadata", {}).pop("widgets", None)
    return stats


# Widgets that only show something; any other widget is a control (slider, button, dropdown...).
DISPLAY_ONLY = {"HTMLModel", "HTMLMathModel", "LabelModel", "FloatProgressModel",
                "IntProgressModel", "OutputModel", "BoxModel", "HBoxModel", "VBoxModel",
                "GridBoxModel", "LayoutModel", "ProgressStyleModel", "DescriptionStyleModel"}


class StaticWidget:
    """A widget as static HTML, from its saved state: figures drawn, text and progress bars as
    they ended, controls left out (``controls`` says whether there were any)."""

    def __init__(self, state: dict[str, dict], figures_by_id: dict[str, dict], div: str):
        self.state, self.figures_by_id, self.div = state, figures_by_id, div
        self.controls = False
        self.figures = 0

    def render(self, mid: str) -> str:
        model = self.state.get(mid)
        if model is None:
            return ""
        if is_figure_widget(model):
            fig = self.figures_by_id.get(mid)
            if fig is None:
                self.controls = True  # nothing to draw: at least say where it lives
                return ""
            self.figures += 1
            return plotly_html(fig, f"{self.div}-w{self.figures}")
        name, s = model.get("model_name") or model.get("state", {}).get("_model_name"), model.get("state", {})
        if name not in DISPLAY_ONLY:
            self.controls = True
            return ""
        if name in ("HTMLModel", "HTMLMathModel"):
            return f"<span>{s.get('value', '')}</span>"
        if name == "LabelModel":
            return f"<span>{html.escape(str(s.get('value', '')))}</span>"
        if name in ("FloatProgressModel", "IntProgressModel"):
            return f'<progress value="{s.get("value", 0)}" max="{s.get("max", 100)}"></progress>'
        if name == "OutputModel":
            parts = []
            for out in s.get("outputs", []):
                data = out.get("data", {})
                if WIDGET_MIME in data:
                    parts.append(self.render(data[WIDGET_MIME]["model_id"]))
                elif "text/html" in data:
                    parts.append(data["text/html"] if isinstance(data["text/html"], str)
                                 else "".join(data["text/html"]))
                elif out.get("output_type") == "stream" or "text/plain" in data:
                    text = out.get("text") or data.get("text/plain", "")
                    parts.append(f"<pre>{html.escape(text if isinstance(text, str) else ''.join(text))}</pre>")
            return "".join(parts)
        direction = "row" if name == "HBoxModel" else "column"
        inner = "".join(self.render(c) for c in shown_inside(model))
        return (f'<div style="display:flex;flex-direction:{direction};gap:6px;'
                f'align-items:{"center" if direction == "row" else "stretch"}">{inner}</div>')



def title_of(nb: dict, fallback: str) -> str:
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            m = re.search(r"^#\s+(.+)$", "".join(cell["source"]), re.M)
            if m:
                return m.group(1).strip()
    return fallback


NAV_STYLE = ("<style>.rnnviz-nav{font:14px sans-serif;padding:8px 16px;border-bottom:1px solid "
             "#ddd;display:flex;gap:16px}.rnnviz-widget-note{color:#555}</style>")


def nav_html(pages: list[dict], i: int) -> str:
    links = ['<a href="index.html">the course</a>']
    if i > 0:
        links.append(f'<a href="{pages[i - 1]["html"]}">&larr; {html.escape(pages[i - 1]["title"])}</a>')
    if i + 1 < len(pages):
        links.append(f'<a href="{pages[i + 1]["html"]}">{html.escape(pages[i + 1]["title"])} &rarr;</a>')
    links.append(f'<a href="{pages[i]["ipynb"]}" download>download the notebook</a>')
    return f'<nav class="rnnviz-nav">{" ".join(links)}</nav>'


def render(nb, nav: str) -> str:
    """nbconvert's lab template, with the local plotly.js in place of require.js."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nb)
    # require.js would make plotly.js register as an AMD module instead of window.Plotly, and
    # nothing else on the page needs it: load plotly.js in its place.
    requirejs = f'<script src="{exporter.require_js_url}"></script>'
    if requirejs not in body:
        raise RuntimeError("nbconvert's lab template changed: no require.js tag to replace")
    body = body.replace(requirejs, '<script src="plotly.min.js"></script>' + NAV_STYLE, 1)
    body, n = re.subn(r"(<body[^>]*>)", lambda m: m.group(1) + nav, body, count=1)
    if n != 1:
        raise RuntimeError("no <body> in nbconvert's output")
    return body


def index_html(pages: list[dict]) -> str:
    items = "\n".join(f'<li><a href="{p["html"]}">{html.escape(p["title"])}</a> '
                      f'<small>({p["figures_total"]} figures)</small></li>' for p in pages)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>rnnviz: the course</title>"
            f"{NAV_STYLE}</head><body style='font-family:sans-serif;max-width:50em;margin:2em auto'>"
            f"<h1>rnnviz: how recurrent networks were made parallel</h1>"
            f"<p>The course, executed on a CPU when this site was built. The figures are "
            f"interactive (zoom, hover, sliders); the widgets need a kernel: open the notebooks "
            f"in JupyterLab or on Binder to run them.</p><ol>{items}</ol></body></html>")


# --- the whole site ----------------------------------------------------------------------------

def build(notebooks: list[Path], out: Path, jobs: int = 2, timeout: int = 600) -> list[dict]:
    import plotly.offline

    # Figures come out as plotly's own JSON mimetype (not HTML with a CDN script), the one
    # output this builder turns into a page's figure.
    os.environ["PLOTLY_RENDERER"] = "plotly_mimetype"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "plotly.min.js").write_text(plotly.offline.get_plotlyjs())
    t0 = time.time()
    executed: dict[Path, str] = {}
    with cf.ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(execute, str(p), timeout): p for p in notebooks}
        for fut in cf.as_completed(futures):
            p = futures[fut]
            try:
                executed[p] = fut.result()
            except Exception as e:  # noqa: BLE001 - say which notebook, then stop
                for f in futures:
                    f.cancel()
                raise SystemExit(f"{p.name} failed while executing:\n{e}") from None
            print(f"executed {p.name} ({time.time() - t0:.0f} s)", flush=True)
    import nbformat

    pages = []
    for p in notebooks:
        nb = nbformat.reads(executed[p], as_version=4)
        # the executed notebook, to download: without the widget state (plotly's widget
        # bundle alone is 5 MB of it, and a reader's kernel makes new widgets anyway)
        download = nbformat.reads(executed[p], as_version=4)
        download.metadata.pop("widgets", None)
        download.metadata.pop("rnnviz_figure_widgets", None)
        (out / p.name).write_text(nbformat.writes(download))
        pages.append({"notebook": p.name, "html": p.stem + ".html", "ipynb": p.name,
                      "title": title_of(nb, p.stem), "nb": nb})
    for i, page in enumerate(pages):
        nb = page.pop("nb")
        page["expected_per_cell"] = figures_per_cell(nb)
        page.update(staticize(nb, Path(page["notebook"]).stem))
        (out / page["html"]).write_text(render(nb, nav_html(pages, i)))
    for page in pages:
        page["figures_total"] = page["figures"] + page["widget_figures"]
    (out / "index.html").write_text(index_html(pages))
    (out / "manifest.json").write_text(json.dumps(
        {"pages": pages, "seconds": round(time.time() - t0, 1)}, indent=1))
    return pages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", type=Path,
                    help="notebooks to build (default: notebooks/NN_*.ipynb)")
    ap.add_argument("--out", type=Path, default=ROOT / "_site")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("RNNVIZ_SITE_JOBS", "2")),
                    help="notebooks executed at once (default 2)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds a cell may take")
    args = ap.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        print("no notebooks to build", file=sys.stderr)
        return 1
    pages = build([p.resolve() for p in notebooks], args.out, args.jobs, args.timeout)
    for p in pages:
        print(f"{p['html']}: {p['figures']} figures, {p['widgets']} widgets "
              f"({p['widget_figures']} figures kept from them, {p['widget_notes']} with controls)")
    print(f"site in {args.out}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
