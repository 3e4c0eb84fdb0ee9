"""rnnviz.bench.ncu: Nsight Compute's text report read as data, and the shipped JSON made
from the shipped report."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnviz.bench.ncu import metric, parse_ncu

ROOT = Path(__file__).resolve().parents[2]
REPORT = """==PROF== Connected to process 1
  my_kernel (8, 32, 1)x(128, 1, 1), Context 1, Stream 7, Device 0, CC 9.0
    Section: Launch Statistics
    -------------------------------- --------------- ---------------
    Metric Name                          Metric Unit    Metric Value
    -------------------------------- --------------- ---------------
    Registers Per Thread             register/thread             158
    Threads                                   thread          32,768
    Function Cache Configuration                     CachePreferNone
    -------------------------------- --------------- ---------------

    OPT   advice that is not a table
          Memory Throughput                 2.0

    Section: Scheduler Statistics
    ---------------------------- ----------- ------------
    Metric Name                  Metric Unit Metric Value
    ---------------------------- ----------- ------------
    Issued Warp Per Scheduler                        0.64
    ---------------------------- ----------- ------------
  my_kernel (1, 1, 1)x(32, 1, 1), Context 1, Stream 7, Device 0, CC 9.0
"""


def test_tables_are_read_by_their_columns():
    first, second = parse_ncu(REPORT)
    assert first["kernel"] == "my_kernel" and first["grid"] == [8, 32, 1]
    assert first["block"] == [128, 1, 1] and first["cc"] == "9.0"
    assert first["metrics"]["Registers Per Thread"] == {"value": 158, "unit": "register/thread"}
    assert metric(first, "Threads") == 32768
    assert metric(first, "Function Cache Configuration") == "CachePreferNone"
    assert metric(first, "Issued Warp Per Scheduler") == 0.64
    assert "Memory Throughput" not in first["metrics"]  # advice prose is not a table
    assert second["grid"] == [1, 1, 1] and second["metrics"] == {}
    with pytest.raises(KeyError, match="no metric 'Duration'.*Threads"):
        metric(first, "Duration")


def test_the_shipped_json_is_the_shipped_report():
    """benchmarks/sru-ncu-h200.json holds what parse_ncu reads from the report beside it,
    each launch labelled with its dtype (the fp32 launch, then three bf16)."""
    launches = parse_ncu((ROOT / "benchmarks" / "sru-ncu-h200.txt").read_text())
    shipped = json.loads((ROOT / "benchmarks" / "sru-ncu-h200.json").read_text())
    assert [r["metrics"] for r in shipped["rows"]] == [la["metrics"] for la in launches]
    assert [r["dtype"] for r in shipped["rows"]] == ["fp32", "bf16", "bf16", "bf16"]
    fp32 = launches[0]
    assert metric(fp32, "Executed Instructions") == 139_468_800
    assert metric(fp32, "Issued Warp Per Scheduler") == 0.64
    assert metric(fp32, "# SMs") == 132
