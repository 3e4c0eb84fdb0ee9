"""Build the course notebooks (notebooks/NN_name.ipynb) from their sources here (NN_name.py).

A source is a Python file in the "percent" format: ``# %%`` starts a code cell,
``# %% [markdown]`` a markdown cell whose lines are comments (``# `` is stripped). Outputs
are never stored: the notebooks are built empty and run by the reader (or nbmake).

    python scripts/notebooks/build.py            # all
    python scripts/notebooks/build.py 03_scans   # one
    python scripts/notebooks/build.py --check    # fail if a notebook differs from its source
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
OUT = HERE.parents[1] / "notebooks"


def parse(text: str) -> list:
    cells, kind, lines = [], None, []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(l[2:] if l.startswith("# ") else l.lstrip("#") for l in body.split("\n"))
            cells.append(new_markdown_cell(body))
        elif body:
            cells.append(new_code_cell(body))

    for line in text.split("\n"):
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def build(src: Path) -> nbformat.NotebookNode:
    nb = new_notebook(cells=parse(src.read_text()))
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    for i, c in enumerate(nb.cells):
        c.id = f"{src.stem[:2]}-{i:02d}"  # stable ids: rebuilding does not churn the diff
    return nb


def main(argv: list[str]) -> int:
    check = "--check" in argv
    names = [a for a in argv if not a.startswith("--")]
    sources = sorted(p for p in HERE.glob("[0-9][0-9]_*.py") if not names or p.stem in names)
    bad = 0
    for src in sources:
        out = OUT / f"{src.stem}.ipynb"
        text = nbformat.writes(build(src)) + "\n"
        if check:
            if not out.exists() or out.read_text() != text:
                print(f"{out} is out of date: run python {Path(__file__).name}")
                bad += 1
        else:
            out.write_text(text)
            print(f"wrote {out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
