"""The moving figures work as static HTML in a real browser: no kernel, no network.

Each figure is written as a standalone page (plotly.js inlined), opened in headless Chromium
from a file:// URL, and its slider steps are executed the way plotly's slider executes them;
the page must show the frame's data and title, and raise no error.
"""
from __future__ import annotations

import json

import pytest

from rnnviz.viz import newton_convergence, scan_network, scan_tree

from .records import deer_trace

pytestmark = pytest.mark.browser

STEP = """(k) => {
  const gd = document.querySelector('.plotly-graph-div');
  const step = gd.layout.sliders[0].steps[k];
  // what the slider runs on a step: Plotly[method](gd, ...args)
  return Plotly[step.method](gd, ...step.args).then(() => ({
    title: gd.layout.title.text, data: gd.data.map(t => ({x: t.x, y: t.y})),
    frames: gd._transitionData._frames.length}));
}"""


@pytest.fixture(scope="module")
def page():
    chromium = pytest.importorskip("browser.chromium")
    exe = chromium.chromium_or_skip()
    sync_playwright = chromium.sync_playwright_or_skip()
    with sync_playwright() as p:
        browser = chromium.launch(p, exe)
        pg = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.errors = errors
        yield pg
        browser.close()


def _open(page, fig, path, auto_play=False):
    fig.write_html(path, include_plotlyjs=True, full_html=True, auto_play=auto_play)
    page.errors.clear()
    page.goto(path.as_uri())
    page.wait_for_function("(() => { const gd = document.querySelector('.plotly-graph-div');"
                           " return gd && gd._fullLayout && gd._transitionData; })()")


def test_scan_tree_slider_steps_through_the_levels(page, tmp_path):
    net = scan_network("brent_kung", 16)
    fig = scan_tree("brent_kung", 16)
    _open(page, fig, tmp_path / "tree.html")
    for k in (0, 3, len(net.levels)):
        shown = page.evaluate(STEP, k)
        assert shown["frames"] == len(net.levels) + 1
        assert fig.frames[k].layout.title.text == shown["title"]
        now = 0 if k == 0 else len(net.levels[k - 1].ops)
        assert len(shown["data"][6]["x"]) == (16 if k == 0 else now)
    assert page.errors == []


def test_newton_slider_moves_the_iterate(page, tmp_path):
    fig = newton_convergence(deer_trace("newton", iterations=5))
    _open(page, fig, tmp_path / "newton.html")
    for k in (0, 2, 4):
        shown = page.evaluate(STEP, k)
        assert shown["data"][3]["y"] == pytest.approx(list(fig.frames[k].data[1].y))
        assert shown["data"][1]["x"] == [k]
        assert f"iteration {k} / 4" in shown["title"]
    assert page.errors == []


def test_autoplay_on_load_runs_without_errors(page, tmp_path):
    fig = scan_tree("sklansky", 8)
    _open(page, fig, tmp_path / "auto.html", auto_play=True)
    page.wait_for_timeout(2500)  # 4 levels, animated one after the other
    title = page.evaluate("document.querySelector('.plotly-graph-div').layout.title.text")
    assert title == fig.frames[-1].layout.title.text
    assert page.errors == []
    json.loads(fig.to_json())
