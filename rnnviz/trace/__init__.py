"""Instrumentation hooks: ``with rnnviz.trace() as tr:`` records what the ops really did.

Ops ask :func:`active` whether a trace is on. With none active (the usual case) they take
their plain path: no extra kernel launch, buffer, copy or synchronisation. With one active
they ask their kernel to also write its intermediate values (a constexpr flag) and hand them
to :meth:`Trace.add`, which moves them to the CPU, subsampled as the trace was asked to.

Stage timings use CUDA events on a GPU (read once, when the trace closes, so that timing
does not serialise the work) and ``time.perf_counter`` on a CPU. A stage also records
``host_ms``, the host's own time inside it (Python, checks, launches): on a GPU, where the
host only queues work, a stage whose ``host_ms`` exceeds its ``ms`` is bound by the host,
not by its kernels. Every stage is also a ``torch.profiler.record_function`` range, so it
shows in a user's own profiler trace.
"""
from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import torch

__all__ = ["Record", "Trace", "trace", "active", "stage"]

_ACTIVE: list["Trace"] = []


def active() -> "Trace | None":
    """The innermost active trace, or None. Cheap: ops call it on every forward."""
    return _ACTIVE[-1] if _ACTIVE else None


@dataclass
class Record:
    """One thing an op recorded: ``op`` (e.g. "linear_scan"), ``kind`` (e.g. "chunks",
    "gates", "iteration", "stage"), the ``layer`` it belongs to (if any), its tensors and
    numbers in ``data`` (tensors on the CPU), and small descriptive values in ``meta``."""

    op: str
    kind: str
    data: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    layer: int | None = None
    index: int = 0

    def to_dict(self) -> dict[str, Any]:
        def plain(v: Any) -> Any:
            if isinstance(v, torch.Tensor):
                return v.detach().cpu().double().tolist()
            if isinstance(v, (list, tuple)):
                return [plain(x) for x in v]
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            return v

        return {"op": self.op, "kind": self.kind, "layer": self.layer, "index": self.index,
                "meta": plain(self.meta), "data": plain(self.data)}


class _PendingTime:
    """A stage timed with CUDA events; resolved to milliseconds when the trace closes."""

    def __init__(self, start: "torch.cuda.Event", end: "torch.cuda.Event"):
        self.start, self.end = start, end

    def ms(self) -> float:
        self.end.synchronize()
        return float(self.start.elapsed_time(self.end))


class Trace:
    """Records collected while a ``trace()`` block is active.

    Args:
        what: op names or record kinds to keep (None keeps everything), e.g.
            ``{"deer", "linear_scan"}`` or ``{"gates"}``.
        every: keep every ``every``-th time step of per-step tensors.
        max_steps: after ``every``, keep at most this many time steps (evenly spaced), so a
            T = 1e6 run does not fill memory.
        layers: the layers whose per-step values (gates) are kept; None keeps all.

    Some records cost a different kernel and are kept only when ``what`` names their kind:
    ``"timeline"`` (GPU only) has the sequence-parallel scan kernel stamp the GPU's clock at
    each phase of each of its programs (op "linear_scan", kind "timeline": the rows of
    ``rnnviz.bench.timeline.TIMELINE_COLUMNS``, read by ``timeline_summary``). Where the
    automatic config takes segments by reduce-then-scan (three launches, no look-back to
    time), a timeline runs the same segments with their look-back kernel instead.
    """

    def __init__(self, what: Iterable[str] | None = None, every: int = 1,
                 max_steps: int | None = 4096, layers: Iterable[int] | None = None):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.what = None if what is None else set(what)
        self.every = int(every)
        self.max_steps = max_steps
        self.layers = None if layers is None else set(layers)
        self.records: list[Record] = []
        # stage timelines: starts are measured from the trace's opening (perf_counter on a
        # CPU; on a GPU from an event recorded before the first timed stage), and nesting
        # depth is counted so that a figure can draw stages inside stages.
        self._origin = time.perf_counter()
        self._origin_event: "torch.cuda.Event | None" = None
        self._stage_depth = 0

    # -- asked by ops -------------------------------------------------------------------
    def wants(self, op: str, kind: str, layer: int | None = None) -> bool:
        """Whether a record of this op/kind/layer would be kept (ops skip the work if not)."""
        if self.what is not None and op not in self.what and kind not in self.what:
            return False
        if layer is not None and self.layers is not None and layer not in self.layers:
            return False
        return True

    def asks(self, kind: str) -> bool:
        """Whether ``what`` names this kind itself: for records that change the kernel that
        runs (a timeline), which a trace of everything does not turn on."""
        return self.what is not None and kind in self.what

    def time_index(self, T: int) -> torch.Tensor:
        """The time steps kept for a sequence of length T (every-th, then capped)."""
        idx = torch.arange(0, T, self.every)
        if self.max_steps is not None and idx.numel() > self.max_steps:
            pick = torch.linspace(0, idx.numel() - 1, self.max_steps).round().long()
            idx = idx[pick]
        return idx

    def subsample(self, x: torch.Tensor, dim: int = 1) -> torch.Tensor:
        """x with its time dimension ``dim`` subsampled, detached, on the CPU."""
        idx = self.time_index(x.shape[dim]).to(x.device)
        return x.detach().index_select(dim, idx).cpu()

    def add(self, op: str, kind: str, data: dict[str, Any], meta: dict[str, Any] | None = None,
            layer: int | None = None) -> Record | None:
        if not self.wants(op, kind, layer):
            return None
        data = {k: (v.detach().cpu() if isinstance(v, torch.Tensor) else v) for k, v in data.items()}
        rec = Record(op, kind, data, dict(meta or {}), layer, index=len(self.records))
        self.records.append(rec)
        return rec

    # -- read by users ------------------------------------------------------------------
    def filter(self, op: str | None = None, kind: str | None = None,
               layer: int | None = None) -> list[Record]:
        return [r for r in self.records
                if (op is None or r.op == op) and (kind is None or r.kind == kind)
                and (layer is None or r.layer == layer)]

    def stages(self) -> list[Record]:
        return self.filter(kind="stage")

    def _resolve(self) -> None:
        for r in self.records:
            t = r.data.get("ms")
            if isinstance(t, _PendingTime):
                r.data["ms"] = t.ms()
            s = r.meta.get("start_ms")
            if isinstance(s, _PendingTime):
                r.meta["start_ms"] = s.ms()

    def summary(self) -> str:
        """A readable table: one line per record, with its shapes or its time."""
        self._resolve()
        lines = [f"{'#':>3}  {'op':<14} {'kind':<10} {'layer':>5}  contents"]
        for r in self.records:
            parts = []
            for k, v in r.data.items():
                if isinstance(v, torch.Tensor):
                    parts.append(f"{k}{list(v.shape)}")
                elif isinstance(v, float):
                    parts.append(f"{k}={v:.4g}")
                else:
                    parts.append(f"{k}={v}")
            layer = "" if r.layer is None else str(r.layer)
            lines.append(f"{r.index:>3}  {r.op:<14} {r.kind:<10} {layer:>5}  {', '.join(parts)}")
        return "\n".join(lines)

    def to_json(self) -> str:
        self._resolve()
        return json.dumps([r.to_dict() for r in self.records])

    def __repr__(self) -> str:
        return f"Trace({len(self.records)} records)"


@contextlib.contextmanager
def trace(what: Iterable[str] | None = None, every: int = 1, max_steps: int | None = 4096,
          layers: Iterable[int] | None = None) -> Iterator[Trace]:
    """Record what the instrumented ops run inside this block did. See :class:`Trace`."""
    tr = Trace(what, every, max_steps, layers)
    _ACTIVE.append(tr)
    try:
        yield tr
    finally:
        _ACTIVE.remove(tr)
        tr._resolve()


_NOTHING = contextlib.nullcontext()


def stage(op: str, name: str, device: torch.device | str | None = None,
          layer: int | None = None):
    """A named stage of an op (``"gemm"``, ``"recurrence"``, ...), as a context manager.

    Timed into the active trace when one is active and wants it (CUDA events on a GPU: no
    synchronisation until the trace is read), and a ``record_function`` range while
    torch.profiler runs. Otherwise nothing at all: ops enter stages on every forward, and
    even an empty profiler range costs dispatcher calls.
    """
    tr = active()
    if tr is None or not tr.wants(op, "stage", layer):
        if torch.autograd._profiler_enabled():
            return torch.profiler.record_function(f"rnnviz.{op}.{name}")
        return _NOTHING
    return _timed_stage(tr, op, name, device, layer)


@contextlib.contextmanager
def _timed_stage(tr: "Trace", op: str, name: str, device: torch.device | str | None,
                 layer: int | None) -> Iterator[None]:
    with torch.profiler.record_function(f"rnnviz.{op}.{name}"):
        cuda = device is not None and torch.device(device).type == "cuda"
        depth = tr._stage_depth
        tr._stage_depth += 1
        try:
            if cuda:
                if tr._origin_event is None:
                    tr._origin_event = torch.cuda.Event(enable_timing=True)
                    tr._origin_event.record()
                start, end = (torch.cuda.Event(enable_timing=True),
                              torch.cuda.Event(enable_timing=True))
                start.record()
                t0 = time.perf_counter()
                yield
                host_ms = (time.perf_counter() - t0) * 1e3
                end.record()
                ms: Any = _PendingTime(start, end)
                start_ms: Any = _PendingTime(tr._origin_event, start)
            else:
                t0 = time.perf_counter()
                yield
                ms = host_ms = (time.perf_counter() - t0) * 1e3
                start_ms = (t0 - tr._origin) * 1e3
        finally:
            tr._stage_depth -= 1
        tr.add(op, "stage", {"ms": ms, "host_ms": host_ms},
               {"stage": name, "device": str(device), "start_ms": start_ms, "depth": depth}, layer)
