"""The GPU results shipped with the package (``rnnviz.results``), ready to sit beside what
this machine measures, labelled so the two cannot be confused: "H100, measured on DATE".

Nothing here is measured or extrapolated: these are the JSON files the benchmark suites
wrote on the GPU, with their provenance.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from rnnviz.bench.core import shipped_results

__all__ = ["Reference", "shipped", "shipped_file", "series"]

SIZE_KEYS = ("B", "T", "D", "L")  # L: layers
# Suites name the hidden size H or D; the course calls it D.
_ALIASES = {"H": "D"}
_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "fp64": "float64"}
# what a row measured, not how it was set up: never a reason to draw two curves
# course method -> (the suites' method, the settings its rows carry)
VARIANTS = {
    "rnnviz-sru-nopeephole-kernel": ("rnnviz-sru", {"recurrence": "kernel", "peephole": False}),
    "rnnviz-sru-nopeephole-scan": ("rnnviz-sru", {"recurrence": "scan", "peephole": False}),
}
# rows that measured a part of a method (e.g. "scope": "recurrence kernel"), not the whole
_PARTIAL = ("scope",)
# Besides the sizes, pass and dtype, the only keys that make two rows different settings of a
# method (so two curves). Everything else in a row was recorded beside the time (iterations,
# errors, reps, notes) and never splits a curve.
SETTINGS = ("recurrence", "peephole", "variant", "layers")
# another suite's name for the same baseline: the DEER suite's "sequential" is the loop over
# nn.GRUCell (rnnviz.deer.sequential)
ALIASES = {"grucell-loop": ("sequential",)}


@dataclass
class Reference:
    """One shipped result file: its stem (``sru-h100``), provenance and rows."""

    name: str
    provenance: dict[str, Any] = field(repr=False)
    rows: list[dict[str, Any]] = field(repr=False)

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

    def result(self, methods: Iterable[str] | None = None, **equal: Any) -> dict[str, Any]:
        """This file as a benchmark result ``{"provenance", "rows"}`` (for ``rnnviz.viz``),
        keeping whole-method rows (no ``scope``) of ``methods`` whose keys equal ``equal``
        (e.g. ``B=64, D=128, dtype="float32"``)."""
        keep = None if methods is None else set(methods)
        rows = [r for r in self.rows if not any(k in r for k in _PARTIAL)
                and (keep is None or r.get("method") in keep)
                and all(r.get(k) == v for k, v in equal.items())]
        return {"provenance": self.provenance, "rows": rows}

    @property
    def caption(self) -> str:
        p = self.provenance
        return (f"{self.label} (torch {p.get('torch', '?')}, triton {p.get('triton', '?')}, "
                f"driver {p.get('driver', '?')}; `{p.get('command', '?')}`)")


def _normalise(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for k, v in _ALIASES.items():
        if k in row and v not in row:
            out[v] = out.pop(k)
    if isinstance(out.get("dtype"), str):
        out["dtype"] = _DTYPES.get(out["dtype"], out["dtype"])
    return out


def load(path: str | os.PathLike) -> Reference:
    data = json.loads(Path(path).read_text())
    return Reference(Path(path).stem, data.get("provenance", {}),
                     [_normalise(r) for r in data.get("rows", [])])


def shipped_file(name: str) -> Reference:
    """One GPU result shipped with the package (benchmarks/), by file stem ("sru-graph-h200")."""
    return load(shipped_results()[name])


def shipped(suites: Iterable[str] | None = None,
            paths: dict[str, Path] | None = None) -> list[Reference]:
    """The shipped GPU results of the benchmark suites ("scan", "sru", ...; default: every
    suite of ``python -m rnnviz.bench``, not side files such as a block-size sweep), timed
    as a program runs them: a file timed as CUDA-graph replays (the GPU alone) is left out.

    ``paths`` replaces the installed files (a test passes its own)."""
    paths = shipped_results() if paths is None else paths
    if suites is None:
        from rnnviz.bench.__main__ import suites as bench_suites

        suites = bench_suites()
    want = set(suites)
    refs = []
    for stem, path in sorted(paths.items()):
        ref = load(path)
        suite = ref.provenance.get("suite") or stem.rsplit("-", 1)[0]  # "scan-sweep-h100"
        if want is not None and suite not in want:
            continue
        if ref.provenance.get("timing") == "graph":
            continue  # the GPU's time alone: not what a step costs in a program (eager)
        if ref.provenance.get("gpu"):  # only GPU results are "reference"; never a CPU file
            refs.append(ref)
    return refs


def _when(ref: Reference) -> str:
    """When a run was measured, as its provenance's ISO date ("" if it does not say)."""
    return str(ref.provenance.get("date") or "")


def series(refs: Iterable[Reference], method: str, x: str = "T", *,
           near: dict[str, int] | None = None, pass_: str | None = None,
           dtype: str | None = None, y: str = "ms", min_points: int = 2) -> tuple[list[float], list[float], dict[str, Any], Reference] | None:
    """One curve of shipped results: ``y`` (``ms``, or ``gbs``...) against size ``x`` for ``method``.

    Rows are grouped by what they were set up with except ``x`` (sizes, pass, dtype and the
    ``SETTINGS``); the group whose sizes are closest (in log scale) to ``near`` wins (one layer
    unless ``near`` says otherwise; at least ``min_points`` points; rows that timed only a
    part of the method (a ``scope``) are left out; a group with extra options such as a different
    ``recurrence`` only when nothing plainer is as close), ties to the longer curve, then to the
    later run. Returns
    (xs, ms, the fixed settings of that curve, its Reference), or None when nothing matches.
    """
    near = {"L": 1, **(near or {})}
    course_name = method
    method, required = VARIANTS.get(method, (method, {}))
    best = None
    for ref in refs:
        names = [method] + list(ALIASES.get(course_name, ()))
        name = next((n for n in names if any(r.get("method") == n for r in ref.rows)), method)
        groups: dict[tuple, list[dict[str, Any]]] = {}
        for r in ref.rows:
            if r.get("method") != name or r.get(y) is None or x not in r:
                continue
            if any(r.get(k) != v for k, v in required.items()):
                continue
            if any(k in r and k not in required for k in _PARTIAL):
                continue
            if pass_ is not None and r.get("pass") != pass_:
                continue
            if dtype is not None and r.get("dtype") != dtype:
                continue
            fixed = tuple(sorted((k, v) for k, v in r.items() if k != x and (
                k in SIZE_KEYS + ("pass", "dtype") + SETTINGS or k in required)))
            groups.setdefault(fixed, []).append(r)
        for fixed, rows in groups.items():
            rows = list({r[x]: r for r in reversed(rows)}.values())  # one point per x: the first
            if len(rows) < min_points:
                continue
            dist = sum(abs(math.log2(max(v, 1)) - math.log2(max(near[k], 1)))
                       for k, v in fixed if k in SIZE_KEYS and k in near
                       and isinstance(v, (int, float)))
            dist += 0.5 * sum(k not in SIZE_KEYS + ("pass", "dtype") and k not in required
                              for k, _ in fixed)
            # ties to the longer curve, then to the later run (a file shipped before a
            # kernel's rewrite must not speak for it)
            key = (dist, -len(rows))
            if best is None or key < best[0] or (
                    key == best[0] and _when(ref) > _when(best[4])):
                rows = sorted(rows, key=lambda r: r[x])
                best = (key, [r[x] for r in rows], [r[y] for r in rows], dict(fixed), ref)
    return None if best is None else best[1:]
