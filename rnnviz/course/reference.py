"""The GPU results shipped with the package (``rnnviz.results``), ready to sit beside what
this machine measures, labelled so the two cannot be confused: "H100, measured on DATE".

Nothing here is measured or extrapolated: these are the JSON files the benchmark suites
wrote on the GPU, with their provenance.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from rnnviz.bench.core import shipped_results

__all__ = ["Reference", "shipped", "series"]

SIZE_KEYS = ("B", "T", "D")
# Suites name the hidden size H or D; the course calls it D.
_ALIASES = {"H": "D", "L": "T"}


@dataclass
class Reference:
    """One shipped result file: its stem (``sru-h100``), provenance and rows."""

    name: str
    provenance: dict[str, Any]
    rows: list[dict[str, Any]]

    @property
    def gpu(self) -> str:
        return (self.provenance.get("gpu") or "CPU").replace("NVIDIA ", "")

    @property
    def date(self) -> str:
        return str(self.provenance.get("date", "date unknown"))[:10]

    @property
    def label(self) -> str:
        """"H100 80GB HBM3, measured on 2026-11-23"."""
        return f"{self.gpu}, measured on {self.date}"

    @property
    def caption(self) -> str:
        p = self.provenance
        return (f"{self.label} (torch {p.get('torch', '?')}, triton {p.get('triton', '?')}, "
                f"driver {p.get('driver', '?')}; `{p.get('command', '?')}`)")


def _normalise(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for k, v in _ALIASES.items():
        if k in row and v not in row:
            out[v] = row[k]
    return out


def load(path: str | os.PathLike) -> Reference:
    data = json.loads(Path(path).read_text())
    return Reference(Path(path).stem, data.get("provenance", {}),
                     [_normalise(r) for r in data.get("rows", [])])


def shipped(suites: Iterable[str] | None = None,
            paths: dict[str, Path] | None = None) -> list[Reference]:
    """The shipped GPU results, optionally only those of some suites ("scan", "sru", ...).

    ``paths`` replaces the installed files (a test passes its own)."""
    paths = shipped_results() if paths is None else paths
    want = None if suites is None else set(suites)
    refs = []
    for stem, path in sorted(paths.items()):
        if want is not None and stem.split("-")[0] not in want:
            continue
        ref = load(path)
        if ref.provenance.get("gpu"):  # only GPU results are "reference"; never a CPU file
            refs.append(ref)
    return refs


def series(refs: Iterable[Reference], method: str, x: str = "T", *,
           near: dict[str, int] | None = None, pass_: str | None = None,
           dtype: str | None = None) -> tuple[list[float], list[float], dict[str, Any], Reference] | None:
    """One curve of shipped results: ``ms`` against size ``x`` for ``method``.

    Rows are grouped by everything except ``x``; the group whose other sizes are closest
    (in log scale) to ``near`` wins, ties to the longer curve. Returns (xs, ms, the fixed
    sizes of that curve, its Reference), or None when nothing matches.
    """
    best = None
    for ref in refs:
        groups: dict[tuple, list[dict[str, Any]]] = {}
        for r in ref.rows:
            if r.get("method") != method or r.get("ms") is None or x not in r:
                continue
            if pass_ is not None and r.get("pass") != pass_:
                continue
            if dtype is not None and r.get("dtype") != dtype:
                continue
            fixed = tuple((k, r.get(k)) for k in SIZE_KEYS + ("pass", "dtype", "layers")
                          if k != x and k in r)
            groups.setdefault(fixed, []).append(r)
        for fixed, rows in groups.items():
            dist = sum(abs(math.log2(max(v, 1)) - math.log2(max(near[k], 1)))
                       for k, v in fixed if near and k in near and isinstance(v, (int, float)))
            key = (dist, -len(rows))
            if best is None or key < best[0]:
                rows = sorted(rows, key=lambda r: r[x])
                best = (key, [r[x] for r in rows], [r["ms"] for r in rows], dict(fixed), ref)
    return None if best is None else best[1:]
