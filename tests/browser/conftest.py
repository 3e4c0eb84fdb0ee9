"""JupyterLab in a real browser: a headless lab server, Chromium, and one run of the course.

``lab``: ``jupyter lab`` on a free loopback port with a token, serving a *copy* of notebooks/
(running and saving must not write outputs into the git tree), with settings that make the
page testable: widget state saved into the notebook (so the test knows which FigureWidgets a
cell displayed), every cell attached to the DOM (no windowing), no news pop-up.

``course``: runs every notebook once (two at a time: most of a notebook's time is measurement
with a fixed time budget, so two kernels on two cores finish in about half the time) and keeps,
for each, what the checks need: the saved notebook, what the DOM shows per cell, a screenshot.
The tests in test_notebooks.py only read it, so each notebook runs exactly once.

The fixtures are module-scoped: Playwright's sync API allows one running instance per thread,
so this one stops when test_notebooks.py is done, before other browser tests start theirs.
"""
from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .chromium import chromium_or_skip, launch, sync_playwright_or_skip
from .processes import free_port, stop_group
from .notebook_checks import expected_figures

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SCREENSHOTS = ROOT / ".out" / "screenshots"
TOKEN = "rnnviz-browser-test"
# Two notebooks at a time (RNNVIZ_BROWSER_PARALLEL overrides); per-notebook limit in seconds.
PARALLEL = int(os.environ.get("RNNVIZ_BROWSER_PARALLEL", "2"))
NOTEBOOK_TIMEOUT_S = float(os.environ.get("RNNVIZ_BROWSER_TIMEOUT", "420"))

SETTINGS = {
    # ipywidgets saves the state of every widget model into the notebook on save.
    "@jupyter-widgets/jupyterlab-manager/plugin": {"saveState": True},
    # attach every cell to the DOM, so off-screen outputs render and are counted.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # no "would you like news?" toast over the page (and no request for it: we are offline).
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def notebook_names() -> list[str]:
    """The course's notebooks; RNNVIZ_NOTEBOOKS (comma-separated globs) picks some, for working on one."""
    pick = [g.strip() for g in os.environ.get("RNNVIZ_NOTEBOOKS", "").split(",") if g.strip()]
    found = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    return [n for n in found if not pick or any(fnmatch.fnmatch(n, g) for g in pick)]


@dataclass
class Lab:
    url: str
    root: Path

    def notebook_url(self, name: str) -> str:
        # A workspace of its own, reset: otherwise a new page restores the tabs other pages
        # left open (their notebooks, their kernels) and the test drives the wrong one.
        return f"{self.url}/lab/workspaces/{Path(name).stem}/tree/{name}?reset&token={TOKEN}"


@pytest.fixture(scope="session")
def chromium() -> str:
    return chromium_or_skip()


@pytest.fixture(scope="module")
def lab(tmp_path_factory, chromium) -> Lab:
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = tmp / "settings"
    for plugin, values in SETTINGS.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port = free_port()
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTER_CONFIG_DIR=str(tmp / "config"))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={TOKEN}", "--ServerApp.port_retries=0",
           f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
           # window.jupyterapp: the test drives the lab's own commands (run all, save).
           "--LabApp.expose_app_in_browser=True"]
    if hasattr(os, "getuid") and os.getuid() == 0:
        cmd.append("--allow-root")
    log_path = tmp / "lab.log"
    log = open(log_path, "w+")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=5) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            stop_group(proc)
            pytest.fail(f"jupyter lab did not come up:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.5)
    try:
        yield Lab(url=url, root=root)
    finally:
        stop_group(proc)
        log.close()


@pytest.fixture(scope="module")
def browser(chromium):
    sync_playwright = sync_playwright_or_skip()
    with sync_playwright() as pw:
        b = launch(pw, chromium)
        try:
            yield b
        finally:
            b.close()


# --- driving one notebook ------------------------------------------------------------------

# The notebook panel, its kernel, and whether every code cell has run (no "[*]" left).
_PANEL = "window.jupyterapp && window.jupyterapp.shell.currentWidget"
_KERNEL_IDLE = f"""(path) => {{
    const w = {_PANEL};
    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return !!(k && k.status === 'idle' && k.connectionStatus === 'connected'
              && w.context && w.context.path === path
              && w.content && w.content.widgets.length);
}}"""
# Only this page's notebook is open (a reset workspace of its own).
_OPEN_PATHS = """() => Array.from(window.jupyterapp.shell.widgets('main'))
    .filter(w => w.context).map(w => w.context.path)"""
_START = """() => {
    window.__rnnvizDone = null;
    window.jupyterapp.commands.execute('notebook:run-all-cells').then(
        ok => { window.__rnnvizDone = {ok: ok}; },
        err => { window.__rnnvizDone = {error: String(err)}; });
}"""
# "running", "done", or "retry": run-all came back with every cell idle but some never ran
# (seen once under load: the command resolved before the kernel took the cells), so ask again.
_FINISHED = f"""() => {{
    if (!window.__rnnvizDone) return 'running';
    const w = {_PANEL};
    const k = w.sessionContext.session.kernel;
    const code = w.content.widgets.filter(c => c.model.type === 'code');
    const busy = code.some(c =>
        (c.node.querySelector('.jp-InputPrompt') || {{}}).textContent.includes('*'));
    if (k.status !== 'idle' || busy) return 'running';
    const unrun = code.some(c => c.model.executionCount === null);
    return unrun && window.__rnnvizDone.ok !== true ? 'retry' : 'done';
}}"""
_SAVE = "() => window.jupyterapp.commands.execute('docmanager:save')"
# What the DOM shows, cell by cell (cells in notebook order, markdown included).
_DOM = """() => window.jupyterapp.shell.currentWidget.content.widgets.map(c => ({
    plots: c.node.querySelectorAll('.js-plotly-plot').length,
    drawn: Array.from(c.node.querySelectorAll('.js-plotly-plot'))
                .filter(p => p.querySelector('svg.main-svg') && p.getBoundingClientRect().height > 0).length,
    widgets: c.node.querySelectorAll('.jupyter-widgets').length,
    text: (c.node.querySelector('.jp-Cell-outputWrapper') || {innerText: ''}).innerText,
}))"""
_FIGURES_DRAWN = """(expected) => {
    const cells = window.jupyterapp.shell.currentWidget.content.widgets;
    return expected.every((n, i) => !n || Array.from(cells[i].node.querySelectorAll('.js-plotly-plot'))
        .filter(p => p.querySelector('svg.main-svg')).length >= n);
}"""
_SCROLL_HEIGHT = """() => {
    // the notebook scrolls inside its windowed panel, not the page: take the tallest of them
    const n = window.jupyterapp.shell.currentWidget.content.node;
    const inner = Array.from(n.querySelectorAll('.jp-WindowedPanel-outer, .jp-WindowedPanel-inner'));
    return Math.max(n.scrollHeight, ...inner.map(e => e.scrollHeight)) + 150;
}"""

_SCROLL_TOP = """() => {
    const n = window.jupyterapp.shell.currentWidget.content.node;
    for (const e of [n, ...n.querySelectorAll('.jp-WindowedPanel-outer')]) e.scrollTop = 0;
}"""


@dataclass
class Run:
    """One notebook, run in the browser."""
    name: str
    seconds: float = 0.0
    finished: bool = False
    failure: str | None = None          # the driver itself failed (timeout, crash)
    saved: dict[str, Any] | None = None  # the notebook as JupyterLab saved it
    dom: list[dict[str, Any]] = field(default_factory=list)
    expected: list[int] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    page: Any = None                     # kept open for the speed lab's interaction test
    retries: int = 0                     # run-all asked again (see _FINISHED)


def _open(browser, lab: Lab, name: str) -> tuple[Any, Run]:
    run = Run(name)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("console", lambda m: run.console.append(f"{m.type}: {m.text[:300]}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: run.console.append(f"pageerror: {str(e)[:300]}"))
    page.goto(lab.notebook_url(name))
    page.wait_for_function(_KERNEL_IDLE, arg=name, timeout=120_000, polling=250)
    open_paths = page.evaluate(_OPEN_PATHS)
    if open_paths != [name]:
        raise RuntimeError(f"expected only {name} open in its page, found {open_paths}")
    page.evaluate(_START)
    return page, run


def _finish(page, run: Run, lab: Lab, keep_page: bool) -> None:
    run.finished = True
    page.evaluate(_SAVE)
    saved_path = lab.root / run.name
    # the save is done when the file on disk carries the outputs; give it a moment
    for _ in range(40):
        try:
            run.saved = json.loads(saved_path.read_text())
            if any(c.get("execution_count") for c in run.saved["cells"] if c["cell_type"] == "code"):
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.25)
    run.expected = expected_figures(run.saved) if run.saved else []
    try:  # figures draw asynchronously after the kernel is done
        page.wait_for_function(_FIGURES_DRAWN, arg=run.expected, timeout=30_000, polling=250)
    except Exception:  # noqa: BLE001 - the test reports the counts it finds
        pass
    run.dom = page.evaluate(_DOM)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    run.screenshot = SCREENSHOTS / (Path(run.name).stem + ".png")
    screenshot(page, run.screenshot)
    if keep_page:
        run.page = page
    else:
        # free the kernel's memory (closing the tab would leave it running on the server)
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
        page.close()


def screenshot(page, path: Path) -> None:
    """The whole notebook in one picture: grow the viewport to the notebook's height."""
    height = min(int(page.evaluate(_SCROLL_HEIGHT)) + 200, 16_000)
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": max(height, 1000)})
    page.evaluate(_SCROLL_TOP)
    page.wait_for_timeout(500)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def run_course(browser, lab: Lab, names: list[str], keep: set[str]) -> dict[str, Run]:
    """Run the notebooks, PARALLEL at a time; each is checked as soon as it is done."""
    pending, active, done = list(names), {}, {}
    while pending or active:
        while pending and len(active) < PARALLEL:
            name = pending.pop(0)
            t0 = time.time()
            try:
                page, run = _open(browser, lab, name)
            except Exception as e:  # noqa: BLE001 - reported by the notebook's own test
                done[name] = Run(name, failure=f"could not open and start: {e}")
                continue
            active[name] = (page, run, t0)
        for name, (page, run, t0) in list(active.items()):
            try:
                over = time.time() - t0 > NOTEBOOK_TIMEOUT_S
                state = page.evaluate(_FINISHED)
                if state == "retry" and run.retries < 2 and not over:
                    run.retries += 1
                    page.evaluate(_START)
                    continue
                if state != "running" or over:
                    if over:
                        run.failure = f"did not finish within {NOTEBOOK_TIMEOUT_S:.0f} s"
                    run.seconds = time.time() - t0
                    _finish(page, run, lab, keep_page=name in keep)
                    done[name] = run
                    del active[name]
            except Exception as e:  # noqa: BLE001
                run.failure = f"{type(e).__name__}: {e}"
                done[name] = run
                del active[name]
                page.close()
        time.sleep(0.5)
    return done


@pytest.fixture(scope="module")
def course(browser, lab) -> dict[str, Run]:
    from .notebook_checks import SPEED_LAB

    t0 = time.time()
    runs = run_course(browser, lab, notebook_names(), keep={SPEED_LAB})
    summary = {n: {"seconds": round(r.seconds, 1), "failure": r.failure, "retries": r.retries,
                   "screenshot": str(r.screenshot) if r.screenshot else None,
                   "console_errors": r.console}
               for n, r in runs.items()}
    summary["_total_seconds"] = round(time.time() - t0, 1)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "summary.json").write_text(json.dumps(summary, indent=1))
    yield runs
    for r in runs.values():
        if r.page is not None:
            r.page.close()
