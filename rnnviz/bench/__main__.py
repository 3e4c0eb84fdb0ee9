"""``python -m rnnviz.bench SUITE [--quick] [--out DIR] [--html]``: run a benchmark suite.

Each suite is a module ``rnnviz.bench.<SUITE>`` with ``run(quick: bool) -> (rows, extra)``.
Results go to benchmarks/<suite>-<gpu|cpu>.json with their provenance; with --html also a
page of figures beside it (``rnnviz.bench.report``).
RNNVIZ_TIMING picks how calls are timed, RNNVIZ_AUTOGRAD_THREADS=0 runs every backward on the
calling thread (``rnnviz.bench.core``); both are the same for every method and recorded.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil

import rnnviz.bench as bench_pkg
from rnnviz.bench.core import apply_autograd_threads, write_result

NOT_SUITES = {"core", "timeline", "report", "ncu", "sass", "__main__"}  # shared pieces, not suites


def suites() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(bench_pkg.__path__) if m.name not in NOT_SUITES)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m rnnviz.bench", description=__doc__)
    p.add_argument("suite", choices=suites() + ["all"])
    p.add_argument("--quick", action="store_true", help="small shapes (a CPU smoke run)")
    p.add_argument("--out", default=None, help="directory for the JSON (default: benchmarks/)")
    p.add_argument("--html", action="store_true",
                   help="also write the result as a page of figures (<suite>-<gpu|cpu>.html)")
    args = p.parse_args(argv)
    apply_autograd_threads()
    for name in suites() if args.suite == "all" else [args.suite]:
        mod = importlib.import_module(f"rnnviz.bench.{name}")
        rows, extra = mod.run(quick=args.quick)
        path = write_result(name, rows, extra, args.out)
        print(f"{name}: {len(rows)} rows -> {path}")
        if hasattr(mod, "table"):
            print(mod.table(rows))
        if args.html:
            from rnnviz.bench.report import report_html

            print(f"{name}: figures -> {report_html(path)}")


if __name__ == "__main__":
    main()
