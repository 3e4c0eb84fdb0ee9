"""Render the README's picture: DEER solving a GRU, from a real trace, as a PNG.

    .venv/bin/python scripts/readme_figure.py   (needs /usr/bin/chromium)

The figure is the course's own `newton_convergence` of a real run on the CPU; Playwright
drives the system Chromium to take the screenshot (no kaleido needed).
"""
import sys
import tempfile
from pathlib import Path

import torch

import rnnviz
from rnnviz.deer import evaluate
from rnnviz.viz import newton_convergence

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "img" / "deer_wave.png"

torch.manual_seed(0)
cell = torch.nn.GRUCell(4, 8)
x = torch.randn(1, 200, 4)
with rnnviz.trace() as tr:
    evaluate(cell, x, method="newton")
fig = newton_convergence(tr)
fig.update_layout(width=1200, height=700)
with tempfile.TemporaryDirectory() as d:
    html = Path(d) / "fig.html"
    html.write_text(fig.to_html(include_plotlyjs=True, full_html=True))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1200, "height": 720})
        page.goto(html.as_uri())
        page.wait_for_selector(".js-plotly-plot .heatmaplayer, .js-plotly-plot image")
        page.wait_for_timeout(1500)  # let plotly finish drawing every subplot
        page.screenshot(path=str(OUT))
        browser.close()
print(OUT, OUT.stat().st_size, "bytes", file=sys.stderr)
