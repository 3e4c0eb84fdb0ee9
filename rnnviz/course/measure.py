"""Measure methods on this machine, one bounded measurement at a time.

Each measurement is a row in the benchmarks' format (``method``, ``pass``, ``dtype``, ``B``,
``T``, ``D``, ``ms``, ``error``) with ``device`` added. Rows are produced one by one
(:func:`measure_iter`), so a caller can draw each as it arrives and stop between two.

Two guards keep a notebook or the speed lab responsive:
- memory: a size whose estimate exceeds a fraction of the free memory is refused with a
  message (:func:`fits`), before anything is allocated;
- time: sizes are measured small to large, and a method whose last measurement predicts more
  than ``max_s`` seconds for the next one is skipped with the prediction as its reason (before
  its first measurement, short probes at T = 64, 512, ... stand in for the last one); one
  predicted to take longer than the whole timing budget per call is timed by one call after
  a warm-up and ``time_ms``'s probe (three calls instead of six or more).
"""
from __future__ import annotations

import gc
import threading
from typing import Any, Iterable, Iterator

import torch

from rnnviz.bench.core import time_ms
from rnnviz.course.methods import METHODS, available, build, memory_bytes

__all__ = ["free_memory_bytes", "fits", "measure_iter", "measure", "sweep"]

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16,
          "float64": torch.float64}
MEMORY_FRACTION = 0.5  # of what is free now: leave room for the notebook and the allocator
# Warm-up calls before timing: oneDNN (CPU) and cuDNN build their kernels ("primitives",
# "plans") for each new shape during the first call or two; measured: nn.LSTM's first two
# forwards at a new length took 480 and 245 ms, the third 0.6 ms.
WARMUP = 2
BACKWARD_ON = ("device thread", "calling thread")  # who runs a CUDA backward (measure_iter)
CALLS_PER_MEASUREMENT = 6  # warm-up (2) + time_ms's probe (1) + at least 3 reps


def free_memory_bytes(device: torch.device | str) -> int:
    """Free memory on ``device`` now: the GPU's free memory, or the host's available RAM."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        import os

        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def _gb(n: float) -> str:
    if n >= 1e12:
        return f"{n / 1e12:,.0f} TB"
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


def fits(method: str, B: int, T: int, D: int, dtype: str, device: torch.device | str,
         backward: bool, free: int | None = None) -> str | None:
    """None if the measurement fits in memory, else a message saying what it needs."""
    need = memory_bytes(method, B, T, D, DTYPES[dtype], backward)
    free = free_memory_bytes(device) if free is None else free
    if need <= MEMORY_FRACTION * free:
        return None
    return (f"{method} at B={B}, T={T}, D={D} ({dtype}, {'fwd+bwd' if backward else 'fwd'}) "
            f"would need about {_gb(need)}; {torch.device(device).type} has {_gb(free)} free "
            f"and the lab uses at most {MEMORY_FRACTION:.0%} of it. Lower T, B or D.")


def sweep(top: int, points: int, bottom: int = 1) -> list[int]:
    """``points`` sizes halving down from ``top`` (at least ``bottom``), smallest first."""
    vals = sorted({max(bottom, int(top) >> k) for k in range(points)})
    return vals


PROBE_T = 64  # the first probe of a method's cost, in time steps
PROBE_GROWTH = 8


def _probe(name: str, B: int, T: int, D: int, dtype: str, device: torch.device,
           backward: bool, max_s: float) -> tuple[float, int] | str:
    """Before a method's first measurement at length T: time single calls at T = 64, 512, ...
    until linear extrapolation in T says the measurement fits in ``max_s`` (then return the
    last probe as (ms, B*T*D)), or the next probe itself would not (then a reason to skip).
    Linear in T is right for a loop and pessimistic for the parallel methods, whose small
    probes are mostly overhead; growing the probe corrects that cheaply."""
    Tc = PROBE_T
    while True:
        fn = build(name, B, Tc, D, DTYPES[dtype], device, backward)
        # one warm-up and time_ms's untimed probe absorb a JIT compile or a new primitive
        ms = time_ms(fn, device, warmup=1, reps=1)
        fn = None
        if ms * T / Tc * CALLS_PER_MEASUREMENT / 1e3 <= max_s:
            return ms, B * Tc * D
        nxt = min(Tc * PROBE_GROWTH, T)
        if nxt >= T or ms * nxt / Tc * 3 / 1e3 > max_s:
            return (f"skipped: one call at T={Tc} took {ms:.0f} ms, so T={T} would take about "
                    f"{ms * T / Tc * CALLS_PER_MEASUREMENT / 1e3:.0f} s (limit {max_s:g} s)")
        Tc = nxt


def measure_iter(methods: Iterable[str], sizes: Iterable[dict[str, int]], *,
                 dtype: str = "float32", device: torch.device | str = "cpu",
                 backward: bool = False, budget_ms: float = 200.0, max_s: float = 10.0,
                 stop: threading.Event | None = None,
                 free: int | None = None, timing: str = "back-to-back",
                 backward_on: str = "device thread") -> Iterator[dict[str, Any]]:
    """Yield one row per (size, method), sizes in the order given (give them small to large).

    ``timing`` (on a GPU): "back-to-back", as a program runs its calls, or "graph", each
    call captured as a CUDA graph and replayed: the GPU's time alone (``rnnviz.bench.core
    .time_ms``); the row records it. A method that cannot be captured gets its reason.

    ``backward_on`` (a GPU's backward pass): "device thread", torch's default, hands each
    backward to a thread of its own; "calling thread" runs it where it was called
    (``torch.autograd.set_multithreading_enabled(False)`` during the measurement, as
    ``RNNVIZ_AUTOGRAD_THREADS=0`` in the benchmarks); the row records it. On a CPU every
    backward runs on the calling thread anyway.

    A row's ``error`` says why it has no ``ms``: unavailable here, too big for memory,
    predicted too slow, or the exception the method raised (a failure is data, not a crash).
    """
    device = torch.device(device)
    if timing not in ("back-to-back", "graph"):
        raise ValueError(f"timing must be 'back-to-back' or 'graph', got {timing!r}")
    if timing == "graph" and device.type != "cuda":
        raise ValueError(f"timing='graph' replays CUDA graphs: it needs a CUDA device, not {device}")
    if backward_on not in BACKWARD_ON:
        raise ValueError(f"backward_on must be one of {BACKWARD_ON}, got {backward_on!r}")
    methods, sizes = list(methods), list(sizes)
    last: dict[str, tuple[float, int]] = {}  # method -> (ms, B*T*D) of its last measurement
    for size in sizes:
        B, T, D = int(size["B"]), int(size["T"]), int(size["D"])
        for name in methods:
            if stop is not None and stop.is_set():
                return
            row: dict[str, Any] = {"method": name, "pass": "fwd+bwd" if backward else "fwd",
                                   "dtype": dtype, "device": str(device), "B": B, "T": T,
                                   "D": D, "ms": None, "error": None}
            if device.type == "cuda":
                row["timing"] = timing
                if backward:
                    row["backward_on"] = backward_on
            row["error"] = available(name) or fits(name, B, T, D, dtype, device, backward, free)
            once = None  # predicted ms of one call, from the method's last measurement
            if row["error"] is None and name not in last and T > PROBE_T:
                try:
                    probed = _probe(name, B, T, D, dtype, device, backward, max_s)
                except Exception:  # noqa: BLE001 - the measurement below reports it
                    probed = None
                if isinstance(probed, str):
                    row["error"] = probed
                elif probed is not None:
                    last[name] = probed
            if row["error"] is None and name in last:
                ms0, n0 = last[name]
                once = ms0 * (B * T * D) / n0
                predicted = once * CALLS_PER_MEASUREMENT / 1e3
                if predicted > max_s:
                    row["error"] = (f"skipped: predicted {predicted:.0f} s from the last size "
                                    f"(limit {max_s:g} s)")
            if row["error"] is None:
                # a call longer than the whole budget (a Python loop at large T) is long
                # enough to time once after one warm-up; else the full warm-up and reps
                slow = once is not None and once > budget_ms
                try:
                    fn = build(name, B, T, D, DTYPES[dtype], device, backward)
                    with torch.autograd.set_multithreading_enabled(backward_on == "device thread"):
                        row["ms"] = time_ms(fn, device, warmup=1 if slow else WARMUP,
                                            reps=1 if slow else None, budget_ms=budget_ms,
                                            mode=timing)
                    last[name] = (row["ms"], B * T * D)
                except Exception as e:  # noqa: BLE001 - shown in the table, not raised
                    msg = str(e).splitlines()[0][:200] if str(e) else ""
                    row["error"] = f"{type(e).__name__}: {msg}"
                finally:
                    fn = None
                    gc.collect()
                    if device.type == "cuda":
                        torch.cuda.empty_cache()
            yield row


def measure(methods: Iterable[str], sizes: Iterable[dict[str, int]], **kw: Any) -> list[dict[str, Any]]:
    """All rows of :func:`measure_iter` as a list."""
    return list(measure_iter(methods, sizes, **kw))


def labels() -> dict[str, str]:
    """Method name -> readable label."""
    return {k: m.label for k, m in METHODS.items()}
