"""A benchmark result as one page of figures: ``python -m rnnviz.bench SUITE --html``, or
``python -m rnnviz.bench.report RESULT.json [...]`` for results already written (the GPU runs
in benchmarks/).

One ``rnnviz.viz.speedup`` figure per (pass, dtype) of the result: time against size and the
speed-up over the suite's baseline, every method's failures named under its figure. The page
carries plotly.js once, so it opens offline, and its provenance at the top.
"""
from __future__ import annotations

import argparse
import html
import os
from pathlib import Path
from typing import Any, Mapping

from rnnviz.viz.speedup import SIZE_KEYS, caption, load_results, speedup

__all__ = ["report_html", "slices"]


def slices(result: Mapping[str, Any]) -> list[tuple[Any, Any]]:
    """The (pass, dtype) pairs of a result's timed rows over sizes, in the order they first
    appear (rows of no size, such as the copy bandwidth measured beside, draw no figure)."""
    return list(dict.fromkeys((r.get("pass"), r.get("dtype")) for r in result["rows"]
                              if isinstance(r, Mapping) and "method" in r
                              and any(k in r for k in SIZE_KEYS)))


def report_html(result: Mapping[str, Any] | str | os.PathLike,
                out: str | os.PathLike | None = None) -> Path:
    """Write the page of ``result`` (a result dict or its JSON's path) to ``out`` (default:
    the JSON's path with .html); returns where it went."""
    if out is None:
        if not isinstance(result, (str, os.PathLike)):
            raise ValueError("out is needed when result is a dict, not the path of its JSON")
        out = Path(result).with_suffix(".html")
    res = load_results(result)
    prov = res.get("provenance", {})
    title = f"rnnviz benchmark: {prov.get('suite') or Path(str(out)).stem}"
    parts = [f"<h1>{html.escape(title)}</h1>", f"<p>{html.escape(caption(prov))}</p>"]
    js = True  # plotly.js inlined with the first figure only
    for pass_, dtype in slices(res):
        try:
            fig = speedup(res, pass_=pass_, dtype=dtype)
        except ValueError as e:  # a slice with nothing to draw says why, the rest still draw
            parts.append(f"<p>{html.escape(f'{pass_} {dtype}: not drawn: {e}')}</p>")
            continue
        parts.append(fig.to_html(full_html=False, include_plotlyjs=js))
        js = False
    if js:
        parts.append("<p>The result has no timed rows to draw.</p>")
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
            f"{html.escape(title)}</title></head><body>" + "\n".join(parts) + "</body></html>")
    out = Path(out)
    out.write_text(page)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m rnnviz.bench.report", description=__doc__)
    p.add_argument("results", nargs="+", help="benchmark JSON files")
    args = p.parse_args(argv)
    for path in args.results:
        print(f"{path} -> {report_html(path)}")


if __name__ == "__main__":
    main()
