"""Nsight Compute's text report (``ncu --section ...`` printed to a terminal) as data.

``ncu`` prints each profiled launch as a header line (kernel, grid x block, device, compute
capability) followed by sections of metric tables::

      sru_fwd_kernel (8, 32, 1)x(128, 1, 1), Context 1, Stream 7, Device 0, CC 9.0
        Section: Scheduler Statistics
        ---------------------------- ----------- ------------
        Metric Name                  Metric Unit Metric Value
        ---------------------------- ----------- ------------
        Issued Warp Per Scheduler                        0.64

Each table's dashed rule gives its column widths, so a name with spaces and a value with
thousands separators are read whole. ``scripts/ncu_to_json.py`` turns a report shipped in
``benchmarks/`` into JSON with provenance, which notebook 2 reads.
"""
from __future__ import annotations

import re
from typing import Any

_LAUNCH = re.compile(r"^\s+(\w+) \((\d+), (\d+), (\d+)\)x\((\d+), (\d+), (\d+)\), "
                     r"Context \d+, Stream \d+, Device (\d+), CC ([\d.]+)")
_RULE = re.compile(r"^(\s+)(-+) (-+) (-+)\s*$")


def _number(text: str) -> Any:
    """"139,468,800" -> 139468800, "0.64" -> 0.64; anything else stays a string."""
    plain = text.replace(",", "")
    try:
        return int(plain)
    except ValueError:
        pass
    try:
        return float(plain)
    except ValueError:
        return text


def parse_ncu(text: str) -> list[dict[str, Any]]:
    """Each profiled launch in ``text``, in order: {"kernel", "grid", "block", "device",
    "cc", "metrics": {name: {"value", "unit"}}} (a metric named in two sections keeps its
    first value; ncu prints "SM Frequency" in one section only)."""
    launches: list[dict[str, Any]] = []
    cols = None  # (indent, name width, unit width) of the table being read
    for line in text.splitlines():
        m = _LAUNCH.match(line)
        if m:
            g = [int(v) for v in m.groups()[1:7]]
            launches.append({"kernel": m.group(1), "grid": g[:3], "block": g[3:],
                             "device": int(m.group(8)), "cc": m.group(9), "metrics": {}})
            cols = None
            continue
        r = _RULE.match(line)
        if r:
            cols = (len(r.group(1)), len(r.group(2)), len(r.group(3)))
            continue
        if cols is None or not launches or not line.strip():
            cols = None if not line.strip() else cols
            continue
        indent, wn, wu = cols
        name = line[indent:indent + wn].strip()
        unit = line[indent + wn + 1:indent + wn + 1 + wu].strip()
        value = line[indent + wn + 1 + wu + 1:].strip()
        if not name or name == "Metric Name" or not value:
            continue
        launches[-1]["metrics"].setdefault(name, {"value": _number(value), "unit": unit})
    return launches


def metric(launch: dict[str, Any], name: str) -> Any:
    """The value of metric ``name`` of a parsed launch; a KeyError names the ones there are."""
    try:
        return launch["metrics"][name]["value"]
    except KeyError:
        raise KeyError(f"no metric {name!r} in this launch of {launch.get('kernel')} "
                       f"(it has: {sorted(launch['metrics'])})") from None
