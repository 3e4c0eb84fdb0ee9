"""Reading records for the figures: from a ``Trace`` or a plain list of ``Record``s."""
from __future__ import annotations

from typing import Sequence

from rnnviz.trace import Record, Trace

__all__ = ["TraceLike", "select", "time_axis"]

TraceLike = Trace | Sequence[Record]


def select(trace: TraceLike, op: str | Sequence[str] | None, kind: str,
           hint: str) -> list[Record]:
    """The records of ``op`` (one name or several) and ``kind``; a ValueError naming what
    to run (``hint``) when there are none."""
    if not isinstance(trace, (Trace, list, tuple)):
        raise TypeError(f"trace must be an rnnviz.Trace or a list of Records, "
                        f"got {type(trace).__name__}")
    recs = trace.records if isinstance(trace, Trace) else list(trace)
    ops = None if op is None else ({op} if isinstance(op, str) else set(op))
    out = [r for r in recs if r.kind == kind and (ops is None or r.op in ops)]
    if not out:
        want = "any op" if ops is None else "/".join(sorted(ops))
        raise ValueError(f"the trace holds no {kind!r} records of {want} "
                         f"({len(recs)} records in all): {hint}")
    return out


def time_axis(trace: TraceLike, rec: Record, kept: int) -> list[int]:
    """The time steps of a per-step tensor with ``kept`` steps: meta["t"] where the op
    recorded them, else the trace's own subsampling of meta["T"], else 0 .. kept-1."""
    t = rec.meta.get("t")
    if isinstance(t, (list, tuple)) and len(t) == kept:
        return [int(v) for v in t]
    T = rec.meta.get("T")
    if isinstance(trace, Trace) and isinstance(T, int):
        idx = trace.time_index(T)
        if idx.numel() == kept:
            return idx.tolist()
    return list(range(kept))
