"""The course notebooks are built from scripts/notebooks/*.py and stored without outputs."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]


def test_notebooks_match_their_sources():
    p = subprocess.run([sys.executable, "scripts/notebooks/build.py", "--check"], cwd=ROOT,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_no_outputs_are_stored():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


def test_every_notebook_opens_with_what_you_will_see_and_ends_with_checked_exercises():
    for src in sorted((ROOT / "scripts" / "notebooks").glob("[0-9][0-9]_*.py")):
        text = src.read_text()
        assert "What you will see" in text or "what you will see" in text, src.name
        assert "## Summary" in text and "from rnnviz.exercises import check_" in text, src.name
