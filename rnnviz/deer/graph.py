"""DEER's iterations as CUDA graphs: an iteration's ~10-20 kernel launches replayed as one.

At small state sizes a DEER iteration is host-bound: on an H100 a quasi-DEER step of a GRU
with D = 8..16 does tens of microseconds of GPU work but about 400 us of Python and
launches (the shifted iterate, the fused linearisation, the scan, h + delta), and full
DEER's dense scan alone launches 11 kernels at D = 8, B = 16, T = 1e5, where the solve is
bound by the host on the H200 (benchmarks/profile-deer-h200.txt).
Captured into ``torch.cuda.CUDAGraph``s, the same kernels replay for about 10 us of host
time. Only the residual still comes back to the host each iteration (one sync, as in the
eager loop), so the solver's bookkeeping (convergence, divergence, fallback) is unchanged.

``GraphIteration`` has the eager iteration's interface (``evaluate``, ``advance``; see
``rnnviz.deer.solver._Iteration``) and keeps two graphs: "step" (``eager.step``: linearise
at the static iterate, write the residual and h + delta to the graph's own outputs) and
"check" (``eager.check``: "newton"'s residual check, J's diagonal only). It runs:

1. the first evaluation of each kind eagerly on a side stream (the warm-up torch asks for
   before a capture: Triton compiles, cuBLAS gets its workspace) on the static iterate; its
   residual is the real one. Converged already: no graph is made.
2. "step" is captured at the first ``advance`` (then the warm-up's h + delta is copied into
   the static iterate); "check" right after its warm-up.
3. every later evaluation replays its graph; ``advance`` copies the replay's h + delta into
   the static iterate.

Kept across solves. The graphs read the solve's inputs through static tensors (the prepared
x, h0, the iterate), which each solve copies its own into, and the cell's parameters where
they are. A solve whose captured kernels read nothing else (torch.nn's cells:
``CellSpec.replay_key``) keeps its graphs, keyed by the cell's parameters (address, dtype,
shape), the shapes and the options, for the next solve of the same key, which then
captures nothing: a training loop or a benchmark repeats the same solve with new x and
updated weights. Up to ``KEEP_SOLVES`` keys are kept per device, least recently used first
out, while their static tensors fit in ``MAX_FRACTION`` of its memory; ``release()`` drops
them. The answer handed back is a copy of the static iterate.

When. ``graph=True``: always (where possible). None (automatic): "quasi" (about 10
iterations: a capture pays within the solve) from the first solve; "newton" (3-4
iterations, too few to pay for a capture within one solve: 4.8 against 4.1 ms on the H200
at GRU D = 16, B = 16, T = 1e4) from the second solve of the same key on, so a one-off
solve never pays a capture.

A capture that fails raises a RuntimeError that says so: on the H200 a failed capture
(a cell that synchronises) left PyTorch's CUDA random-number generator unusable for the rest
of the process ("Offset increment outside graph capture"), so carrying on quietly would only
move the failure elsewhere. Automatically only torch.nn's cells are graphed, which capture.

Memory: all captures on a device share one graph memory pool, kept alive by the last
graph. Without that every solve would leave a pool of its own that torch frees only under
memory pressure outside a capture, so free memory (and with it the memory guard's limit)
would shrink solve by solve. The graphs of one pool never run at once, and each graph's
outputs are read before another graph replays, which is what sharing needs. Automatically
(``graph=None``) a solve is graphed only when its working set
(``rnnviz.deer.memory.estimate_bytes``) is at most ``MAX_FRACTION`` of the device memory
and its iterate at most ``MAX_ELEMENTS``: larger solves are GPU-bound, where replaying the
launches saves nothing (the copy of the iterate each iteration then costs), and the shared
pool stays small.
"""
from __future__ import annotations

import contextlib
import functools
import math
from collections import OrderedDict
from typing import Any, Callable, Iterator

import torch

from rnnviz.deer import memory
from rnnviz.device import interpreting

__all__ = ["GraphIteration", "iteration", "wanted", "release", "GRAPH_METHODS",
           "AUTO_METHODS", "REPEAT_METHODS", "MAX_FRACTION", "KEEP_SOLVES"]

GRAPH_METHODS = ("newton", "quasi")  # "damped" changes its trust radius on the host
# Automatically from the first solve: quasi, whose 10 iterations went from 4.5 to 3.0 ms on
# the H200 (2026-12-02, GRU D = 16, B = 16, T = 1e4) with a capture per solve ...
AUTO_METHODS = ("quasi",)
# ... and from the second solve of the same key (see the module doc): newton.
REPEAT_METHODS = ("newton",)
MAX_FRACTION = 1 / 16  # of the device memory: the largest working set graphed automatically
# ... and the largest iterate (B * T * S elements): a graph saves host time, but copies the
# iterate once per iteration. On the H200 (GRU, quasi, T = 1e4) graphing took D = 64, B = 16
# (1.0e7 elements) from 5.86 to 4.96 ms, but cost time at D = 128, B = 16 (2.0e7: 9.18
# against 8.79 ms) and D = 256, B = 16 (4.1e7: 23.2 against 22.2 ms).
MAX_ELEMENTS = 1 << 24
KEEP_SOLVES = 4  # keys whose graphs are kept per device
_STREAMS: dict[int, Any] = {}  # device index -> the side stream of warm-ups and captures
_KEEP: dict[int, Any] = {}     # device index -> the last graph (keeps the shared pool alive)
_KEPT: dict[Any, OrderedDict] = {}  # device index -> key -> _Kept
_SEEN: dict[Any, OrderedDict] = {}  # device index -> keys solved once (REPEAT_METHODS)


def wanted(graph: bool | None, method: str, backend: str, x: torch.Tensor, S: int, kind: str,
           record: bool, repeat: bool = False) -> bool:
    """Whether a solve of x [B, T, D_in] (state size S) may run its iterations as CUDA graphs.

    ``graph`` False: never. None (automatic): on CUDA, for ``AUTO_METHODS`` (with ``repeat``
    also ``REPEAT_METHODS``, which ``iteration`` graphs from a repeated solve on), torch.nn's
    GRU, RNN and LSTM cells, a working set of at most ``MAX_FRACTION`` of the device memory
    and an iterate of at most ``MAX_ELEMENTS``. True: also "newton" at once, any other cell
    (its code must be capture-safe: no synchronisation, no host reads of device values, no
    host-side state) and any size. Never for "damped", the "reference" backend, while a
    trace records iterations, on a CPU or under Triton's interpreter."""
    if graph is False or record or method not in GRAPH_METHODS or backend == "reference":
        return False
    if x.device.type != "cuda" or interpreting():
        return False
    if graph is True:
        return True
    if method not in AUTO_METHODS + (REPEAT_METHODS if repeat else ()):
        return False
    B, T, _ = x.shape
    need = memory.estimate_bytes(B, T, S, x.dtype, method)
    return (kind != "generic" and B * T * S <= MAX_ELEMENTS
            and need <= MAX_FRACTION * _total_memory(x.device.index))


def release() -> None:
    """Let the kept graphs and the graph keeping the shared pool go:
    ``torch.cuda.empty_cache()`` can then return that memory to the device."""
    _KEEP.clear()
    _KEPT.clear()
    _SEEN.clear()


@functools.lru_cache(maxsize=None)
def _total_memory(index: int) -> int:
    return torch.cuda.get_device_properties(index).total_memory


@contextlib.contextmanager
def _side_stream(device: torch.device) -> Iterator[None]:
    """Run the block on the device's side stream (one per device, so that the memory of one
    solve's warm-up and capture is reused by the next), ordered after the current stream's
    work, and make the current stream wait for it afterwards."""
    cur = torch.cuda.current_stream(device)
    side = _STREAMS.get(device.index)
    if side is None:
        side = _STREAMS[device.index] = torch.cuda.Stream(device)
    side.wait_stream(cur)
    try:
        with torch.cuda.stream(side):
            yield
    finally:
        cur.wait_stream(side)


def _capture(fn: Callable[[], Any], device: torch.device) -> tuple[Any, Any]:
    """(graph, fn's outputs) with fn's kernels captured, not run, into the device's shared
    pool. Called on the side stream.

    capture_begin/capture_end rather than ``torch.cuda.graph``, whose entry synchronises,
    may run gc.collect() and empties the allocator's cache on every solve."""
    held = _KEEP.get(device.index)
    g = torch.cuda.CUDAGraph()
    g.capture_begin(pool=None if held is None else held.pool(), capture_error_mode="thread_local")
    try:
        out = fn()
    except BaseException:
        with contextlib.suppress(Exception):
            g.capture_end()  # leave capture mode; the original error is the one to report
        raise
    g.capture_end()
    _KEEP[device.index] = g
    return g, out


class _Kept:
    """What a solve's graphs read and write, kept for the next solve of the same key: static
    copies of the solve's inputs (the prepared x, h0), the static iterate h, and the captured
    graphs by name ("step": linearise and scan; "check": the residual check) with their
    output tensors."""

    def __init__(self, eager: Any, h: torch.Tensor):
        self.pre = _static_like(eager.pre)
        self.h0 = torch.empty_like(eager.h0, memory_format=torch.contiguous_format)
        self.h = torch.empty_like(h, memory_format=torch.contiguous_format)
        self.graphs: dict[str, tuple[Any, tuple[torch.Tensor, ...]]] = {}
        self.nbytes = sum(t.numel() * t.element_size() for t in _tensors(self.pre)) + \
            2 * self.h.numel() * self.h.element_size()  # the iterate and the step's h + delta

    def load(self, eager: Any) -> None:
        """Copy this solve's inputs into the static tensors and point ``eager`` at them, so
        that its eager runs and captures read what every replay reads."""
        for dst, src in zip(_tensors(self.pre), _tensors(eager.pre)):
            dst.copy_(src)
        self.h0.copy_(eager.h0)
        eager.pre, eager.h0 = self.pre, self.h0


def _tensors(tree: Any) -> list[torch.Tensor]:
    """The tensors of a prepared input (a tensor or a tuple of tensors and Nones), in order."""
    if isinstance(tree, torch.Tensor):
        return [tree]
    return [t for t in tree if isinstance(t, torch.Tensor)] if isinstance(tree, tuple) else []


def _static_like(tree: Any) -> Any:
    if isinstance(tree, torch.Tensor):
        return torch.empty_like(tree, memory_format=torch.contiguous_format)
    if isinstance(tree, tuple):
        return tuple(_static_like(t) for t in tree)
    return tree


def _remember(table: OrderedDict, key: Any, value: Any, limit: int) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > limit:
        table.popitem(last=False)


def _kept_for(key: Any, eager: Any, h: torch.Tensor) -> _Kept:
    """The kept graphs of ``key`` (a new, empty entry the first time). Least recently used
    entries go while the kept memory is over ``MAX_FRACTION`` of the device's, or there are
    more than ``KEEP_SOLVES``."""
    dev = h.device.index
    table = _KEPT.setdefault(dev, OrderedDict())
    kept = table.get(key)
    if kept is None:
        kept = _Kept(eager, h)
        _remember(table, key, kept, KEEP_SOLVES)
        limit = MAX_FRACTION * _total_memory(dev) if h.is_cuda else math.inf
        while len(table) > 1 and sum(k.nbytes for k in table.values()) > limit:
            table.popitem(last=False)
    table.move_to_end(key)
    return kept


def iteration(eager: Any, spec: Any, x: torch.Tensor, opt: Any, record: bool) -> Any:
    """The iteration a solve runs: ``eager`` (an ``rnnviz.deer.solver._Iteration``) or a
    ``GraphIteration`` around it (see ``wanted``). A solve whose captured kernels read
    nothing but its inputs and the cell's parameters (``CellSpec.replay_key``) keeps its
    graphs for the next solve of the same shapes, cell and options, which then only
    replays them; "newton" is graphed automatically from its second such solve on."""
    if not wanted(opt.graph, opt.method, opt.backend, x, spec.S, spec.kind, record, True):
        return eager
    cell_key = spec.replay_key(opt.fused)
    key = None if cell_key is None else (
        cell_key, tuple(x.shape), x.dtype, x.device.index, opt.method, opt.backend,
        opt.precision, opt.fused)
    if opt.graph is None and opt.method not in AUTO_METHODS:  # graphed from a repeat on
        seen = _SEEN.setdefault(x.device.index, OrderedDict())
        if key is None or (key not in seen and key not in _KEPT.get(x.device.index, {})):
            if key is not None:
                _remember(seen, key, True, KEEP_SOLVES * 4)
            return eager
    return GraphIteration(eager, key)


class GraphIteration:
    """``eager``'s iteration (an ``rnnviz.deer.solver._Iteration``) replayed as CUDA graphs
    of ``eager.step`` and ``eager.check``; same interface, same results. ``key``: keep the
    graphs for the next solve of that key (None: for this solve only)."""

    was_fast = False  # a graph replays exact evaluations only (``eager.step``)
    checks = True     # "newton"'s residual checks replay a graph of their own

    def __init__(self, eager: Any, key: Any = None):
        self.eager = eager
        self.key = key
        self.kept: _Kept | None = None  # made at the first evaluate (it needs the iterate)
        self.out: dict[str, tuple[torch.Tensor, ...]] = {}
        self.checked_only = False
        self.captures = 0
        self.replays = 0

    def _start(self, h: torch.Tensor) -> _Kept:
        eager = self.eager
        kept = _Kept(eager, h) if self.key is None else _kept_for(self.key, eager, h)
        kept.load(eager)
        return kept

    def _run(self, name: str) -> Callable[[], tuple[torch.Tensor, ...]]:
        eager, h = self.eager, self.kept.h
        if name == "check":
            return lambda: (eager.check(h),)
        return lambda: eager.step(h)

    def evaluate(self, h: torch.Tensor, rho: float = 1.0, check_only: bool = False) -> float:
        if self.kept is None:
            self.kept = self._start(h)
        kept = self.kept
        if h is not kept.h:  # the caller's iterate (init, zeros) is never the static one
            if self.eager.zero:
                kept.h.zero_()  # the solver's all-zero first iterate: no pass reading it
            else:
                kept.h.copy_(h)
        name = "check" if check_only and self.eager.mode == "dense" else "step"
        self.checked_only = name == "check"
        if name in kept.graphs:
            graph, self.out[name] = kept.graphs[name]
            graph.replay()
            self.replays += 1
            self.eager.zero = False  # an eager run after a replay is not at the zero iterate
        else:
            with _side_stream(h.device):
                self.out[name] = self._run(name)()  # eagerly: the warm-up a capture needs
            if name == "check":  # captured now (a solve checks once, at its end)
                self._capture(name, h.device)
        return float(self.out[name][0])  # the one synchronisation per iteration

    def _capture(self, name: str, device: torch.device) -> None:
        try:
            with _side_stream(device):
                self.kept.graphs[name] = _capture(self._run(name), device)
        except Exception as exc:  # noqa: BLE001 - any failure, said plainly
            raise RuntimeError(
                f"DEER could not capture its iteration as a CUDA graph "
                f"({type(exc).__name__}: {exc}). The cell must be capture-safe (no "
                f"synchronisation, no host reads of device values); pass graph=False for "
                f"this cell. A failed capture can leave PyTorch's CUDA random-number "
                f"generator unusable in this process.") from exc
        self.captures += 1

    def advance(self, h: torch.Tensor) -> torch.Tensor:
        if self.checked_only:
            raise RuntimeError("DEER internal error: a residual check cannot advance the iterate")
        h_next = self.out["step"][1]  # this evaluation's: the eager warm-up's or the replay's
        if "step" not in self.kept.graphs:
            self._capture("step", h.device)
        self.kept.h.copy_(h_next)
        return self.kept.h

    def result(self, h: torch.Tensor) -> torch.Tensor:
        """The solve's answer: a copy where it is the kept static iterate, which the next
        solve of the same key overwrites."""
        return h.clone() if self.key is not None and self.kept is not None and h is self.kept.h \
            else h

    def info(self) -> dict[str, Any]:
        return {"graph": True, "graph_captures": self.captures, "graph_replays": self.replays,
                "graph_kept": self.key is not None}
