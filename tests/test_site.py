"""`make site`: the executed course as static HTML; every page has its figures, drawn with no kernel.

One build (every notebook executed, two at a time) serves all the checks: about 3 minutes on 2 cores.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from browser.chromium import chromium_or_skip, launch, sync_playwright_or_skip

ROOT = Path(__file__).resolve().parents[1]
PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        pytest.skip("notebooks/ holds no notebook yet")
    if os.environ.get("RNNVIZ_SITE_DIR"):  # check a site built before (working on these checks)
        return Path(os.environ["RNNVIZ_SITE_DIR"])
    out = tmp_path_factory.mktemp("site") / "_site"
    r = subprocess.run(["make", "-s", "site", f"SITE_OUT={out}"], cwd=ROOT, capture_output=True,
                       text=True, env=dict(os.environ, MAKEFLAGS=""))
    assert r.returncode == 0, f"make site failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return out


def _manifest(site: Path) -> dict:
    return json.loads((site / "manifest.json").read_text())


def _outputs(nb: dict, mime: str) -> list[dict]:
    return [o["data"][mime] for c in nb["cells"] if c["cell_type"] == "code"
            for o in c.get("outputs", []) if mime in o.get("data", {})]


def test_every_notebook_has_a_page_linked_from_the_index(site):
    names = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    pages = _manifest(site)["pages"]
    assert [p["notebook"] for p in pages] == names
    index = (site / "index.html").read_text()
    for p in pages:
        assert (site / p["html"]).is_file() and (site / p["ipynb"]).is_file()
        assert f'href="{p["html"]}"' in index, f"index.html does not link {p['html']}"
    assert (site / "plotly.min.js").stat().st_size > 1_000_000


def test_every_page_has_its_figures_and_no_live_widgets(site):
    for p in _manifest(site)["pages"]:
        page = (site / p["html"]).read_text()
        executed = json.loads((site / p["ipynb"]).read_text())
        figures = _outputs(executed, PLOTLY_MIME)
        widgets = _outputs(executed, WIDGET_MIME)
        # counted from the executed notebook, not from the builder's own numbers
        assert p["figures"] == len(figures), p["html"]
        assert p["widgets"] == len(widgets), p["html"]
        divs = [re.search(r'\bid="([^"]+)"', tag).group(1)
                for tag in re.findall(r'<div\b[^>]*\bclass="plotly-graph-div"[^>]*>', page)]
        assert len(divs) == len(figures) + p["widget_figures"], (
            f"{p['html']}: {len(divs)} figure divs, expected {len(figures)} figures + "
            f"{p['widget_figures']} from widgets")
        for d in divs:
            assert re.search(r'Plotly\.newPlot\(\s*"' + re.escape(d) + '"', page), f"{p['html']}: {d} is never drawn"
        assert '<script src="plotly.min.js"></script>' in page
        # no live widget is left on the page: each became its figures, text and progress bars,
        # plus a note where it had controls that need a kernel
        assert WIDGET_MIME not in page and "html-manager" not in page, p["html"]
        assert page.count('class="rnnviz-widget-note"') == p["widget_notes"] <= len(widgets), p["html"]


def test_a_notebook_that_raises_fails_the_build(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    bad = tmp_path / "99_broken.ipynb"
    nbformat.write(nb, bad)
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_site.py"), "--out",
                        str(tmp_path / "out"), str(bad)], capture_output=True, text=True)
    assert r.returncode != 0
    assert "99_broken.ipynb failed" in r.stderr and "ZeroDivisionError" in r.stderr


def test_the_welcome_pages_widget_keeps_its_figure(site):
    """00_welcome's explorer is a slider + FigureWidget: the page shows that figure (from the
    widget state saved at execution) and a note about the slider."""
    pages = {p["notebook"]: p for p in _manifest(site)["pages"]}
    if "00_welcome.ipynb" not in pages:
        pytest.skip("notebooks/00_welcome.ipynb does not exist")
    assert pages["00_welcome.ipynb"]["widget_figures"] >= 1
    assert pages["00_welcome.ipynb"]["widget_notes"] >= 1  # its slider needs a kernel: say so


def test_pages_draw_their_figures_in_a_browser_without_a_kernel(site):
    """Offline, from file://: every figure is drawn, and animated figures step through frames."""
    executable = chromium_or_skip()
    sync_playwright = sync_playwright_or_skip()
    with sync_playwright() as pw:
        browser = launch(pw, executable)
        try:
            for p in _manifest(site)["pages"]:
                page = browser.new_page(viewport={"width": 1300, "height": 900})
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)[:300]))
                page.goto((site / p["html"]).as_uri())
                want = p["figures_total"]
                page.wait_for_function(
                    "n => Array.from(document.querySelectorAll('.js-plotly-plot'))"
                    ".filter(g => g.querySelector('svg.main-svg')).length >= n",
                    arg=want, timeout=60_000)
                drawn = page.evaluate("document.querySelectorAll('.js-plotly-plot').length")
                assert drawn == want, f"{p['html']}: {drawn} figures drawn, {want} expected"
                assert not errors, f"{p['html']}: JavaScript errors: {errors}"
                animated = page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot'))
                    .filter(g => g._transitionData && g._transitionData._frames.length > 1)
                    .map(g => g.id)""")
                executed = json.loads((site / p["ipynb"]).read_text())
                with_frames = [f for f in _outputs(executed, PLOTLY_MIME) if len(f.get("frames") or []) > 1]
                assert len(animated) == len(with_frames), f"{p['html']}: frames lost"
                for gid in animated:  # step through the frames with no kernel: the data changes
                    states = page.evaluate("""async id => {
                        const g = document.getElementById(id);
                        const seen = new Set();
                        const all = g._transitionData._frames;  // first, middle and last
                        for (const f of [all[0], all[Math.floor(all.length / 2)], all[all.length - 1]]) {
                            await Plotly.animate(g, [f.name], {frame: {duration: 0, redraw: true},
                                                               transition: {duration: 0}, mode: 'immediate'});
                            seen.add(JSON.stringify(g.data));
                        }
                        return seen.size;
                    }""", gid)
                    assert states > 1, f"{p['html']}: stepping through the frames of {gid} changed nothing"
                page.close()
        finally:
            browser.close()
