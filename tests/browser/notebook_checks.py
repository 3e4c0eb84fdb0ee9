"""What a notebook should show, read from the notebook JupyterLab saved after running it.

The counting is the site builder's (scripts/build_site.py), so the browser test and the static
site agree on what "every figure" means: each plotly output, plus each FigureWidget found in a
displayed widget's tree (through the widget state ipywidgets saves into the notebook).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEED_LAB = "06_speed_lab.ipynb"


def _site_builder():
    spec = importlib.util.spec_from_file_location("rnnviz_build_site", ROOT / "scripts" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


site = _site_builder()


def expected_figures(nb: dict) -> list[int]:
    """Plotly figures each cell should show (markdown cells: 0)."""
    return site.figures_per_cell(nb)


def widget_outputs(nb: dict) -> list[int]:
    """Indices of the cells that display a widget."""
    return [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
            and any(site.WIDGET_MIME in o.get("data", {}) for o in c.get("outputs", []))]


def errors(nb: dict) -> list[str]:
    """Every error output, as 'cell N: Ename: evalue'."""
    return [f"cell {i}: {o.get('ename')}: {o.get('evalue')}"
            for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def unexecuted(nb: dict) -> list[int]:
    return [i for i, c in enumerate(nb["cells"])
            if c["cell_type"] == "code" and c["source"] and c.get("execution_count") is None]
