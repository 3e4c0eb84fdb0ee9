"""Where does a call's time go: host (Python, launches) or GPU kernels?

For each case: wall time per call in a back-to-back loop (one sync at the end: if the
host is slower than the GPU this is the host's cost), the summed CUDA kernel time per call
(torch.profiler), and the top kernels / CPU ops. Run on the GPU machine:

    python scripts/profile_host.py [--out profile.txt] [--cprofile] [--only PREFIX[,PREFIX...]]
"""
from __future__ import annotations

import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile


def _wall_us(fn, n: int = 50) -> float:
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / n * 1e6


def _host_us(fn, n: int = 20) -> float:
    """Host microseconds per call alone: the calls are queued behind a GPU sleep long enough
    to outlast them, so no call waits for the GPU (a full launch queue, a synchronising
    copy would show up here as host time)."""
    fn()
    torch.cuda.synchronize()
    torch.cuda._sleep(int(2e9))  # about a second of GPU cycles
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    t = time.perf_counter() - t0
    torch.cuda.synchronize()
    return t / n * 1e6


def report(name: str, fn, n: int = 20, top: int = 12) -> str:
    wall = _wall_us(fn)
    host = _host_us(fn)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(n):
            fn()
        torch.cuda.synchronize()
    ev = prof.key_averages()
    cuda_total = sum(e.self_device_time_total for e in ev) / n
    lines = [f"=== {name}: wall {wall:.1f} us/call, host alone {host:.1f} us/call, "
             f"CUDA kernels {cuda_total:.1f} us/call"]
    lines.append(ev.table(sort_by="self_device_time_total", row_limit=top, max_name_column_width=60))
    lines.append(ev.table(sort_by="self_cpu_time_total", row_limit=top, max_name_column_width=60))
    return "\n".join(lines)


def cases():
    from rnnviz.kernels import linear_scan as ks
    from rnnviz.models import SRU, MinGRU
    from rnnviz.ops import linear_scan

    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    for B, T, D in [(1, 1024, 64), (4, 1024, 256), (1, 65536, 64), (1, 2 ** 20, 16)]:
        a = torch.rand(B, T, D, device=dev) * 0.5 + 0.5
        b = torch.rand(B, T, D, device=dev)
        yield f"scan_fwd kernel entry B={B} T={T} D={D}", lambda a=a, b=b: ks.scan_fwd(a, b)
        yield f"linear_scan fwd B={B} T={T} D={D}", lambda a=a, b=b: linear_scan(a, b)
        ag, bg = a.clone().requires_grad_(), b.clone().requires_grad_()
        g = torch.ones_like(a)
        yield (f"linear_scan fwd+bwd B={B} T={T} D={D}",
               lambda ag=ag, bg=bg, g=g: torch.autograd.grad(linear_scan(ag, bg), (ag, bg), g))
        # the same on [B, D, T] memory (the time kernel), as the benchmark's rnnviz-time
        at, bt = (x.detach().transpose(1, 2).contiguous().requires_grad_() for x in (a, b))
        gt = g.transpose(1, 2).contiguous().transpose(1, 2)
        yield (f"linear_scan on [B, D, T] fwd B={B} T={T} D={D}",
               lambda at=at, bt=bt: linear_scan(at.transpose(1, 2), bt.transpose(1, 2)))
        yield (f"linear_scan on [B, D, T] fwd+bwd B={B} T={T} D={D}",
               lambda at=at, bt=bt, gt=gt: torch.autograd.grad(
                   linear_scan(at.transpose(1, 2), bt.transpose(1, 2)), (at, bt), gt))
        # the same Function without the torch.compile guard around it, and without the op's
        # checks: what the wrapper costs on this host
        from rnnviz.ops.linear_scan.function import LinearScanFunction
        yield (f"linear_scan's Function alone fwd+bwd B={B} T={T} D={D}",
               lambda ag=ag, bg=bg, g=g: torch.autograd.grad(
                   LinearScanFunction.apply(ag, bg, None, False, "triton"), (ag, bg), g))
        # the floors: an autograd Function that only allocates its outputs, and accelerated-scan
        # (one Triton launch each way, through Triton's own launch path) on [B, D, T]
        gc = g.transpose(1, 2).contiguous()
        yield (f"empty Function fwd+bwd B={B} T={T} D={D}",
               lambda at=at, bt=bt, gc=gc: torch.autograd.grad(_Empty.apply(at, bt), (at, bt), gc))
        try:
            from accelerated_scan.scalar import scan as accelerated
        except ImportError:
            continue
        yield (f"accelerated-scan fwd+bwd B={B} T={T} D={D}",
               lambda at=at, bt=bt, gc=gc: torch.autograd.grad(accelerated(at, bt), (at, bt), gc))
        if T <= 65536:  # its warp kernel (CUDA C++, one launch each way; T a power of 2)
            from accelerated_scan.warp import scan as warp
            yield (f"accelerated-scan warp fwd+bwd B={B} T={T} D={D}",
                   lambda at=at, bt=bt, gc=gc: torch.autograd.grad(warp(at, bt), (at, bt), gc))
    yield "torch.zeros(9) alone", lambda: torch.zeros(9, device=dev)

    for B, H, T in [(64, 128, 4096), (64, 128, 512)]:
        m = MinGRU(H, H).to(dev)
        x = torch.randn(T, B, H, device=dev, requires_grad=True)
        params = list(m.parameters()) + [x]
        g = torch.randn(T, B, H, device=dev)
        yield (f"MinGRU train step B={B} H={H} T={T}",
               lambda m=m, x=x, g=g, params=params: torch.autograd.grad(m(x)[0], params, g))

        def bf16_step(m=m, x=x, g=g.bfloat16(), params=params):  # g cast once, as the bench
            with torch.autocast("cuda", dtype=torch.bfloat16):
                out = m(x)[0]
            return torch.autograd.grad(out, params, g)

        yield f"MinGRU bf16-autocast train step B={B} H={H} T={T}", bf16_step
        yield (f"MinGRU bf16-autocast train step, autograd multithreading off B={B} H={H} T={T}",
               lambda: _single_thread(bf16_step))

        def bf16_forward(m=m, x=x):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return m(x)[0]

        yield f"MinGRU bf16-autocast forward only (grad on) B={B} H={H} T={T}", bf16_forward
        with torch.autocast("cuda", dtype=torch.bfloat16):
            kept = m(x)[0]  # one forward's graph, kept: the backward alone, again and again
        yield (f"MinGRU bf16-autocast backward only B={B} H={H} T={T}",
               lambda kept=kept, g=g.bfloat16(), params=params: torch.autograd.grad(
                   kept, params, g, retain_graph=True))
        yield (f"MinGRU train step, autograd multithreading off B={B} H={H} T={T}",
               lambda m=m, x=x, g=g, params=params: _single_thread(
                   lambda: torch.autograd.grad(m(x)[0], params, g)))
        yield (f"MinGRU forward only (grad on) B={B} H={H} T={T}", lambda m=m, x=x: m(x))
    for l, d in [(128, 256), (128, 512), (1024, 1024)]:
        m = SRU(d, d).to(dev)
        x = torch.randn(l, 32, d, device=dev, requires_grad=True)
        params = list(m.parameters()) + [x]
        g = torch.randn(l, 32, d, device=dev)
        yield (f"SRU train step l={l} d={d} B=32",
               lambda m=m, x=x, g=g, params=params: torch.autograd.grad(m(x)[0], params, g))
        yield (f"SRU train step, autograd multithreading off l={l} d={d} B=32",
               lambda m=m, x=x, g=g, params=params: _single_thread(
                   lambda: torch.autograd.grad(m(x)[0], params, g)))
        yield f"SRU forward only (grad on) l={l} d={d} B=32", lambda m=m, x=x: m(x)
        if l > 128:
            continue
        lstm = torch.nn.LSTM(d, d).to(dev)
        lp = list(lstm.parameters()) + [x]
        yield (f"LSTM (cuDNN) train step l={l} d={d} B=32",
               lambda m=lstm, x=x, g=g, params=lp: torch.autograd.grad(m(x)[0], params, g))
    yield from deer_cases(dev)


def deer_cases(dev):
    """DEER's forward on nn.GRUCell where the benchmark misses its targets (newton at
    D = 4, 8 with B = 16, T = 1e5; quasi at D = 128, B = 16, T = 1e4): which kernels."""
    from rnnviz.deer import evaluate

    for method, D, B, T in [("newton", 8, 16, 100000), ("newton", 4, 16, 100000),
                            ("quasi", 128, 16, 10000)]:
        cell = torch.nn.GRUCell(D, D).to(dev)
        x = torch.randn(B, T, D, device=dev)

        def fwd(cell=cell, x=x, method=method):
            with torch.no_grad():  # as the benchmark's forward
                return evaluate(cell, x, method=method)

        yield f"DEER {method} GRU D={D} B={B} T={T}", fwd
    yield from dense_scan_cases(dev)


def dense_scan_cases(dev):
    """The dense scan alone (Newton-DEER's per-iteration solve), each chunk walk."""
    from rnnviz.kernels.deer import dense_scan_fwd

    for B, T, D in [(16, 100000, 8), (16, 10000, 8)]:
        J = torch.rand(B, T, D, D, device=dev) * (1.6 / D)
        b = torch.randn(B, T, D, device=dev)
        for lanes in (True, False):
            yield (f"dense scan B={B} T={T} D={D} lanes={lanes}",
                   lambda J=J, b=b, lanes=lanes: dense_scan_fwd(J, b, lanes=lanes))


def python_profile(name: str, fn, n: int = 30, top: int = 30) -> str:
    """cProfile of n calls: where the host's time goes, function by function."""
    import cProfile
    import io
    import pstats

    fn()
    torch.cuda.synchronize()
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(n):
        fn()
    torch.cuda.synchronize()
    pr.disable()
    s = io.StringIO()
    st = pstats.Stats(pr, stream=s)
    st.sort_stats("tottime").print_stats(top)
    st.sort_stats("cumtime").print_stats(top)
    return f"=== cProfile {name} ({n} calls)\n" + s.getvalue()


class _Empty(torch.autograd.Function):
    """Allocates its output and its gradients, runs nothing."""

    @staticmethod
    def forward(ctx, a, b):
        return torch.empty_like(a)

    @staticmethod
    def backward(ctx, g):
        return torch.empty_like(g), torch.empty_like(g)


class _Identity(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return g


def _chain(x, n):
    for _ in range(n):
        x = x * 1.0001
    return x


def _single_thread(fn):
    """fn() with the autograd engine's backward on the calling thread (no device thread)."""
    with torch.autograd.set_multithreading_enabled(False):
        return fn()


def micro() -> str:
    """Host microseconds of the building blocks of a call."""
    import triton
    import triton.language as tl

    @triton.jit
    def one_arg(X):
        tl.store(X, 1.0)

    @triton.jit
    def many_args(X, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16,
                  a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29,
                  C1: tl.constexpr, C2: tl.constexpr, C3: tl.constexpr):
        tl.store(X, 1.0)

    dev = torch.device("cuda")
    x = torch.empty(1024, device=dev)
    xg = torch.ones(1024, device=dev, requires_grad=True)
    xc = torch.ones(1024, requires_grad=True)
    big = torch.empty(1 << 20, device=dev)
    ptrs = [big[i * 1024:] for i in range(15)]
    ints = [4096 * (i + 1) + 3 for i in range(15)]
    fns = {
        "triton launch, 1 arg": lambda: one_arg[(1,)](x),
        "triton launch, 30 args + 3 constexpr": lambda: many_args[(1,)](x, *ptrs, *ints, C1=1, C2=2, C3=3),
        # what an argument costs, by kind: the scan kernels pass 14 tensors (half of them
        # stand-ins for what a call does not use) and 14 ints
        "  the same, the 15 ints as 1s (specialised)": lambda: many_args[(1,)](
            x, *ptrs, *([1] * 15), C1=1, C2=2, C3=3),
        "  the same, the 14 last tensors None": lambda: many_args[(1,)](
            x, ptrs[0], *([None] * 14), *ints, C1=1, C2=2, C3=3),
        "  the same, one tensor passed 15 times": lambda: many_args[(1,)](
            x, *([x] * 15), *ints, C1=1, C2=2, C3=3),
        "torch.empty(1024)": lambda: torch.empty(1024, device=dev),
        "torch.zeros(1024)": lambda: torch.zeros(1024, device=dev),
        "x[1:]": lambda: x[1:],
        "x.view(2, 512).transpose(0, 1)": lambda: x.view(2, 512).transpose(0, 1),
        "record_function enter/exit": lambda: torch.profiler.record_function("r").__enter__().__exit__(None, None, None),
        "torch.cuda.current_device()": lambda: torch.cuda.current_device(),
        "autograd.grad of (x * 2).sum()": lambda: torch.autograd.grad((xg * 2).sum(), xg),
        "  the same on a CPU tensor": lambda: torch.autograd.grad((xc * 2).sum(), xc),
        "  the same, autograd multithreading off": lambda: _single_thread(
            lambda: torch.autograd.grad((xg * 2).sum(), xg)),
        "autograd.grad of a chain of 10 muls": lambda: torch.autograd.grad(_chain(xg, 10).sum(), xg),
        "autograd.grad through a Python Function": lambda: torch.autograd.grad(
            _Identity.apply(xg).sum(), xg),
        "python: sum(range(10000))": lambda: sum(range(10000)),
    }
    lines = ["=== micro (host us per call)"]
    for k, f in fns.items():
        try:
            lines.append(f"{k:<42} {_wall_us(f, 200):8.1f}")
        except Exception as e:  # noqa: BLE001 - a row this Triton cannot run is a finding
            lines.append(f"{k:<42} failed: {type(e).__name__}: {str(e).splitlines()[0][:80]}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    out = argv[argv.index("--out") + 1] if "--out" in argv else None
    cprof = "--cprofile" in argv
    only = tuple(argv[argv.index("--only") + 1].split(",")) if "--only" in argv else ("",)
    text = [micro()]
    print(text[0], flush=True)
    for name, fn in cases():
        if not name.startswith(only):
            continue
        try:
            r = report(name, fn)
            if cprof:
                r += "\n" + python_profile(name, fn)
        except Exception as e:  # noqa: BLE001 - a failing case is reported, the rest run
            r = f"=== {name}: FAILED {type(e).__name__}: {e}"
        print(r.splitlines()[0], flush=True)
        text.append(r)
        if out:  # after each case: a run cut short keeps what it measured
            with open(out, "w") as f:
                f.write("\n\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
