"""Where a training step's host time goes when torch runs its backward on the CUDA device thread.

On the H100 (2026-12-06, benchmarks/sru-l128-h100-step-threads{1,0}.json, one host) the SRU's
training step at l=128, d=256, B=32 took 0.491 ms back to back with torch's default (the
backward on the device thread) and 0.304 ms with every backward on the calling thread; the
Conv1d's, 0.334 and 0.317. The GPU's time alone: 0.18 ms. So the hand-off costs a Python
``autograd.Function`` far more than a C++ node. This times, per step and with the hand-off
on and off, the parts of that hand-off: from ``autograd.grad``'s call to the Python backward's
first line (the way in), the backward's body (and in it, for SRU, the kernel's call: its
allocations and launch), and from its last line to ``autograd.grad``'s
return (the way out), each the median over the steps, for SRU's layer, the linear scan at a
host-bound shape, and the Conv1d beside them (no Python node: its whole ``grad`` call only).
Run on the GPU machine:

    python scripts/backward_thread_probe.py OUT.json
"""
from __future__ import annotations

import json
import statistics
import sys
import time

import torch

from rnnviz.bench.core import provenance

STEPS = 200


def _wrap(function: type, marks: dict) -> None:
    """Time ``function.backward``'s body into ``marks`` (the thread it ran on, too)."""
    import threading

    inner = function.backward

    def backward(ctx, *grads):
        marks["start"] = time.perf_counter()
        marks["thread"] = threading.get_ident() != threading.main_thread().ident
        out = inner(ctx, *grads)
        marks["end"] = time.perf_counter()
        return out

    function.backward = staticmethod(backward)


def _time_sru_kernel_call(marks: dict) -> None:
    """Time the SRU backward's kernel call inside its body into ``marks["kernel"]``: its
    buffers' allocations and the launch; the body's rest is the two GEMMs, the saved
    tensors and views."""
    import rnnviz.ops.sru.layer as sru_layer

    impl = sru_layer._bwd_impl

    def timed(cfg):
        fn = impl(cfg)

        def call(*args, **kw):
            t0 = time.perf_counter()
            out = fn(*args, **kw)
            marks["kernel"] = time.perf_counter() - t0
            return out

        return call

    sru_layer._bwd_impl = timed


def _case(forward, params: list, marks: dict) -> dict:
    """Median microseconds of the parts of ``STEPS`` steps, and the steps' pace."""
    out = forward()
    g = torch.randn_like(out)
    parts: dict = {"in": [], "body": [], "kernel_call": [], "out": [], "grad": []}
    for i in range(STEPS + 10):
        out = forward()
        marks.clear()
        t0 = time.perf_counter()
        torch.autograd.grad(out, params, g)
        t1 = time.perf_counter()
        if i >= 10:
            parts["grad"].append(t1 - t0)
            if marks:
                parts["in"].append(marks["start"] - t0)
                parts["body"].append(marks["end"] - marks["start"])
                parts["out"].append(t1 - marks["end"])
            if "kernel" in marks:
                parts["kernel_call"].append(marks["kernel"])
    sync = torch.cuda.synchronize if out.is_cuda else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for _ in range(STEPS):
        torch.autograd.grad(forward(), params, g)
    sync()
    row = {k: round(statistics.median(v) * 1e6, 1) for k, v in parts.items() if v}
    row["step_pace_us"] = round((time.perf_counter() - t0) / STEPS * 1e6, 1)
    row["device_thread"] = marks.get("thread")
    return row


def main(path: str) -> None:
    from rnnviz.models import SRU
    from rnnviz.ops.linear_scan.function import LinearScanFunction
    from rnnviz.ops.sru.layer import SRULayerFunction

    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # (CPU: a dry run)
    marks: dict = {}
    _wrap(SRULayerFunction, marks)
    _wrap(LinearScanFunction, marks)
    _time_sru_kernel_call(marks)
    sru = SRU(256, 256).to(dev)
    x = torch.randn(128, 32, 256, device=dev, requires_grad=True)
    conv = torch.nn.Conv1d(256, 256, 3, padding=1).to(dev)
    xc = torch.randn(32, 256, 128, device=dev, requires_grad=True)
    a = torch.rand(1, 1024, 64, device=dev, requires_grad=True)
    b = torch.randn(1, 1024, 64, device=dev, requires_grad=True)
    from rnnviz.ops import linear_scan

    cases = {
        "SRU l=128 d=256 B=32 fp32": (lambda: sru(x)[0], list(sru.parameters()) + [x]),
        "linear_scan B=1 T=1024 D=64 fp32": (lambda: linear_scan(a, b), [a, b]),
        "Conv1d d=256 l=128 B=32 fp32": (lambda: conv(xc), list(conv.parameters()) + [xc]),
    }
    rows = []
    for threads in (True, False):
        with torch.autograd.set_multithreading_enabled(threads):
            for name, (fwd, params) in cases.items():
                row = {"case": name, "multithreading": threads, **_case(fwd, params, marks)}
                print(json.dumps(row), flush=True)
                rows.append(row)
    prov = provenance("backward-thread-probe", "scripts/backward_thread_probe.py")
    with open(path, "w") as f:
        json.dump({"provenance": prov, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "backward-thread-probe.json")
