"""An Nsight Compute text report shipped in benchmarks/ as JSON with provenance, one row per
profiled launch (``rnnviz.bench.ncu.parse_ncu``):

    python scripts/ncu_to_json.py benchmarks/sru-ncu-h200.txt --labels fp32,bf16,bf16,bf16 \\
        --gpu "NVIDIA H200" --date 2026-12-05 --torch 2.11.0+cu130 --triton 3.6.0 \\
        --commit e5143ef --command "ncu ... python3 scripts/sru_ncu.py"

The report itself does not say which dtype each launch ran, nor where and when: the
options do, copied from the run that made it (its header comment)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rnnviz.bench.ncu import parse_ncu


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("report", type=Path)
    p.add_argument("--labels", required=True, help="the dtype of each launch, comma-separated")
    for name in ("gpu", "date", "torch", "triton", "commit", "command"):
        p.add_argument(f"--{name}", required=True)
    args = p.parse_args()
    launches = parse_ncu(args.report.read_text())
    labels = args.labels.split(",")
    if len(labels) != len(launches):
        raise SystemExit(f"{len(launches)} launches in {args.report}, {len(labels)} labels")
    rows = [{"kernel": la["kernel"], "dtype": dt, "grid": la["grid"], "block": la["block"],
             "metrics": la["metrics"]} for la, dt in zip(launches, labels)]
    prov = {"suite": "ncu", "gpu": args.gpu, "date": args.date, "torch": args.torch,
            "triton": args.triton, "commit": args.commit, "command": args.command,
            "timing": "isolated", "source": args.report.name,
            "note": "Nsight Compute replays each launch alone, its SM clock locked (SM "
                    "Frequency); times are longer than the benchmarks' at the boost clock"}
    out = args.report.with_suffix(".json")
    out.write_text(json.dumps({"provenance": prov, "rows": rows}, indent=1))
    print(f"{len(rows)} launches -> {out}")


if __name__ == "__main__":
    main()
