"""The kernel sections of benchmark suites alone: the fused kernels against the copy
bandwidth (and their block-size sweeps), without the model rows and their Python-loop
baselines, which take minutes. For checking a kernel change on the GPU:

    python scripts/kernel_rows.py sru mingru [--out DIR]

writes ``<suite>-kernels-<gpu>.json`` per suite, with provenance, and prints its table.
``--set kernels.mingru.launch.WALK_STAGES=2`` overrides a module constant for the run
(recorded in the provenance): a kernel parameter measured without editing the source.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from rnnviz.bench.core import bench_device, copy_bandwidth_gbs, write_result


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("suites", nargs="+", help="suites with a kernel_rows() section: sru, mingru")
    p.add_argument("--out", default=None)
    p.add_argument("--set", action="append", default=[], metavar="MODULE.NAME=INT",
                   help="override an integer module constant, e.g. kernels.mingru.launch.WALK_STAGES=2")
    p.add_argument("--tag", default="", help="appended to the result's file name")
    args = p.parse_args(argv)
    for spec in args.set:
        target, value = spec.split("=")
        module, name = target.rsplit(".", 1)
        mod = importlib.import_module(module if not module.startswith("kernels.") else "rnnviz." + module)
        if not hasattr(mod, name):
            raise SystemExit(f"--set: {module} has no {name}")
        setattr(mod, name, int(value))
    device = bench_device()
    copy_gbs = copy_bandwidth_gbs(device)
    for name in args.suites:
        mod = importlib.import_module(f"rnnviz.bench.{name}")
        rows = mod.kernel_rows(False, device, copy_gbs)
        command = "python3 scripts/kernel_rows.py " + " ".join(argv)
        path = write_result(f"{name}-kernels{args.tag}", rows,
                            {"copy_gbs": copy_gbs, "command": command, "set": args.set}, args.out)
        print(f"{name}: {len(rows)} rows -> {path}")
        print(mod.table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
