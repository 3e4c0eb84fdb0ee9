"""Every notebook, run in JupyterLab in headless Chromium: no errors, every figure and widget drawn.

The notebooks run once, in the session fixture ``course`` (conftest.py); these tests read what it
saw. Screenshots of each notebook land in .out/screenshots/ (with summary.json: times and the
browser console's errors).
"""
from __future__ import annotations

import json
import re

import pytest

from .conftest import notebook_names
from .notebook_checks import SPEED_LAB, errors, unexecuted, widget_outputs

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAMES = notebook_names()


@pytest.mark.parametrize("name", NAMES or [pytest.param(None, marks=pytest.mark.skip(
    reason="notebooks/ holds no notebook yet"))])
def test_notebook_runs_and_renders_in_jupyterlab(course, name):
    run = course[name]
    assert run.failure is None, f"{name}: {run.failure} (screenshot: {run.screenshot})"
    assert run.saved is not None, f"{name}: JupyterLab did not save the notebook"
    nb = run.saved
    assert not errors(nb), f"{name} raised: {errors(nb)}"
    assert not unexecuted(nb), f"{name}: cells {unexecuted(nb)} did not run"
    assert len(run.dom) == len(nb["cells"]), "the page and the saved notebook disagree on the cells"

    for i, (want, seen) in enumerate(zip(run.expected, run.dom)):
        assert "Error displaying widget" not in seen["text"], (
            f"{name}, cell {i}: a widget failed to display (console: {run.console[-5:]})")
        assert seen["drawn"] >= want, (
            f"{name}, cell {i}: {want} plotly figure(s) expected, {seen['plots']} on the page, "
            f"{seen['drawn']} drawn (screenshot: {run.screenshot}; console: {run.console[-5:]})")
    for i in widget_outputs(nb):
        assert run.dom[i]["widgets"] > 0, f"{name}, cell {i}: the widget output shows no widget"
    assert run.screenshot is not None and run.screenshot.stat().st_size > 10_000


_TRACES = """(gd => JSON.stringify((gd.data || []).map(t => [t.name, (t.meta || {}).source || null,
    Array.from(t.x || []), Array.from(t.y || [])])))"""


def _speed_lab_figure(page, cell):
    """[name, source, x, y] of every trace the speed lab's figure draws now (source "here":
    measured in this kernel; otherwise a shipped GPU result overlaid)."""
    return cell.locator(".js-plotly-plot").first.evaluate(_TRACES)


def test_speed_lab_slider_and_run_change_the_figure(course):
    if SPEED_LAB not in NAMES:
        pytest.skip(f"notebooks/{SPEED_LAB} does not exist yet (the speed lab comes later)")
    run = course[SPEED_LAB]
    assert run.failure is None and run.page is not None, f"{SPEED_LAB}: {run.failure}"
    page = run.page
    # the cell whose output holds the app: the one with a Run button
    cell = page.locator(".jp-CodeCell").filter(
        has=page.locator("button.widget-button", has_text=re.compile(r"^\s*Run\s*$"))).first
    cell.scroll_into_view_if_needed()
    before = _speed_lab_figure(page, cell)

    # drag the T slider about two octaves left with the mouse (smaller sizes: a quick run;
    # right instead if it already sits at the left end)
    slider = cell.locator(".widget-slider").filter(
        has=page.locator(".widget-label", has_text=re.compile(r"^T$"))).first
    readout = slider.locator(".widget-readout")
    old_value = readout.inner_text()
    handle = slider.locator(".noUi-handle").first
    track = slider.locator(".noUi-base, .noUi-target").first.bounding_box()
    box = handle.bounding_box()
    x0, y0 = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    frac = (x0 - track["x"]) / track["width"]
    target = frac - 0.12 if frac > 0.15 else frac + 0.12
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(track["x"] + target * track["width"], y0, steps=8)
    page.mouse.up()
    page.wait_for_function("([el, old]) => el.innerText !== old",
                           arg=[readout.element_handle(), old_value], timeout=10_000)
    new_value = readout.inner_text()

    run_button = cell.locator("button.widget-button", has_text=re.compile(r"^\s*Run\s*$")).first
    run_button.click()
    # done when the figure differs, has points again, and Run is enabled again
    page.wait_for_function(
        """([plot, button, before]) => {
            const now = """ + _TRACES + """(plot);
            const drawn = (plot.data || []).some(t => (t.x || []).length > 0);
            return now !== before && drawn && !button.disabled;
        }""",
        arg=[cell.locator(".js-plotly-plot").first.element_handle(), run_button.element_handle(), before],
        timeout=180_000, polling=500)
    after = _speed_lab_figure(page, cell)
    assert after != before

    xs = sorted({x for _, source, tx, _ in json.loads(after) if source == "here" for x in tx})
    assert xs and max(xs) == pytest.approx(float(new_value.replace(",", "")), rel=0.01), (
        f"after moving T from {old_value} to {new_value} and pressing Run, the figure's "
        f"largest T is {max(xs) if xs else None}")
    from .conftest import SCREENSHOTS, screenshot

    screenshot(page, SCREENSHOTS / "06_speed_lab_after_run.png")
