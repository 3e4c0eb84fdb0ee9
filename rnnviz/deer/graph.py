"""One DEER iteration as a CUDA graph: its ~10 kernel launches replayed as one.

At small state sizes a DEER iteration is host-bound: on an H100 a quasi-DEER step of a GRU
with D = 8..16 does tens of microseconds of GPU work but about 400 us of Python and
launches (the shifted iterate, the fused linearisation, the scan, h + delta). Captured once
per solve into a ``torch.cuda.CUDAGraph``, the same kernels replay for about 10 us of host
time. Only the residual still comes back to the host each iteration (one sync, as in the
eager loop), so the solver's bookkeeping (convergence, divergence, fallback) is unchanged.

``GraphIteration`` has the eager iteration's interface (``evaluate``, ``advance``; see
``rnnviz.deer.solver._Iteration``) and runs:

1. the first iteration eagerly on a side stream (the warm-up torch asks for before a
   capture: Triton compiles, cuBLAS gets its workspace) on a static copy of the iterate;
   its residual is the real first residual. Converged already: no graph is made.
2. at the first ``advance``: capture ``step`` (linearise at the static iterate, write the
   residual and h + delta to the graph's own outputs), then copy the warm-up's h + delta
   into the static iterate.
3. every later ``evaluate`` replays the graph; ``advance`` copies its h + delta into the
   static iterate. The iterate handed back is that static buffer (not graph memory).

A capture that fails raises a RuntimeError that says so: on the H200 a failed capture
(a cell that synchronises) left PyTorch's CUDA random-number generator unusable for the rest
of the process ("Offset increment outside graph capture"), so carrying on quietly would only
move the failure elsewhere. Automatically only torch.nn's cells are graphed, which capture.

Memory: all captures on a device share one graph memory pool, kept alive by the last
graph (``release()`` lets it go). Without that every solve would leave a pool of its own
that torch frees only under memory pressure outside a capture, so free memory (and with it
the memory guard's limit) would shrink solve by solve. Automatically (``graph=None``) a
solve is graphed only when its working set (``rnnviz.deer.memory.estimate_bytes``) is at
most ``MAX_FRACTION`` of the device memory and its iterate at most ``MAX_ELEMENTS``: larger
solves are GPU-bound, where replaying the launches saves nothing (the copy of the iterate
each iteration then costs), and the shared pool stays small.
"""
from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable, Iterator

import torch

from rnnviz.deer import memory
from rnnviz.device import interpreting

__all__ = ["GraphIteration", "wanted", "release", "GRAPH_METHODS", "MAX_FRACTION"]

GRAPH_METHODS = ("newton", "quasi")  # "damped" changes its trust radius on the host
# Automatically only quasi: on the H200 (2026-12-02) newton converged in 3-4 iterations,
# too few for a capture to pay (GRU D=16, B=16, T=1e4: 4.8 ms graphed, 4.1 ms eager),
# while quasi's 10 iterations went from 4.5 to 3.0 ms.
AUTO_METHODS = ("quasi",)
MAX_FRACTION = 1 / 16  # of the device memory: the largest working set graphed automatically
# ... and the largest iterate (B * T * S elements): a graph saves host time, but copies the
# iterate once per iteration. On the H200 (GRU, quasi, T = 1e4) graphing took D = 64, B = 16
# (1.0e7 elements) from 5.86 to 4.96 ms, but cost time at D = 128, B = 16 (2.0e7: 9.18
# against 8.79 ms) and D = 256, B = 16 (4.1e7: 23.2 against 22.2 ms).
MAX_ELEMENTS = 1 << 24
_STREAMS: dict[int, Any] = {}  # device index -> the side stream of warm-ups and captures
_KEEP: dict[int, Any] = {}     # device index -> the last graph (keeps the shared pool alive)


def wanted(graph: bool | None, method: str, backend: str, x: torch.Tensor, S: int, kind: str,
           record: bool) -> bool:
    """Whether a solve of x [B, T, D_in] (state size S) runs its iterations as a CUDA graph.

    ``graph`` False: never. None (automatic): on CUDA, for "quasi", torch.nn's GRU, RNN and
    LSTM cells, a working set of at most ``MAX_FRACTION`` of the device memory and an iterate
    of at most ``MAX_ELEMENTS``. True: also
    "newton", any other cell (its code must be capture-safe: no synchronisation, no host
    reads of device values, no host-side state) and any size. Never for "damped", the
    "reference" backend, while a trace records iterations, on a CPU or under Triton's
    interpreter."""
    if graph is False or record or method not in GRAPH_METHODS or backend == "reference":
        return False
    if x.device.type != "cuda" or interpreting():
        return False
    if graph is True:
        return True
    if method not in AUTO_METHODS:
        return False
    B, T, _ = x.shape
    need = memory.estimate_bytes(B, T, S, x.dtype, method)
    return (kind != "generic" and B * T * S <= MAX_ELEMENTS
            and need <= MAX_FRACTION * _total_memory(x.device.index))


def release() -> None:
    """Let the graphs kept for the shared memory pool go: ``torch.cuda.empty_cache()`` can
    then return that memory to the device."""
    _KEEP.clear()


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


class GraphIteration:
    """``eager``'s iteration (an ``rnnviz.deer.solver._Iteration``) replayed as a CUDA graph
    of ``eager.step``; same interface, same results."""

    was_fast = False  # a graph replays exact evaluations only (``eager.step``)
    checks = False    # ... and whole steps: no check-only evaluation (``check_only`` ignored)

    def __init__(self, eager: Any):
        self.eager = eager
        self.graph: Any = None
        self.h: torch.Tensor | None = None      # the static iterate the graph reads
        self.res: torch.Tensor | None = None    # the step's outputs: the residual ...
        self.h_next: torch.Tensor | None = None  # ... and h + delta

    def evaluate(self, h: torch.Tensor, rho: float = 1.0, check_only: bool = False) -> float:
        if self.graph is not None:
            self.graph.replay()  # h is self.h: advance() wrote it
        else:
            self.h = h.clone(memory_format=torch.contiguous_format)
            with _side_stream(h.device):
                self.res, self.h_next = self.eager.step(self.h)
        return float(self.res)  # the one synchronisation per iteration

    def advance(self, h: torch.Tensor) -> torch.Tensor:
        h_next = self.h_next
        if self.graph is None:
            try:
                with _side_stream(h.device):
                    self.graph, (self.res, self.h_next) = _capture(
                        lambda: self.eager.step(self.h), h.device)
            except Exception as exc:  # noqa: BLE001 - any failure, said plainly
                raise RuntimeError(
                    f"DEER could not capture its iteration as a CUDA graph "
                    f"({type(exc).__name__}: {exc}). The cell must be capture-safe (no "
                    f"synchronisation, no host reads of device values); pass graph=False for "
                    f"this cell. A failed capture can leave PyTorch's CUDA random-number "
                    f"generator unusable in this process.") from exc
        self.h.copy_(h_next)
        return self.h

    def info(self) -> dict[str, Any]:
        return {"graph": True}
