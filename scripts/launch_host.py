"""Host time of a small scan call, taken apart: Triton's launch path against the cached
launch (``rnnviz.kernels.cached_launch``), at each layer of the call. On the GPU machine:

    python scripts/launch_host.py [--out DIR] [--rounds 5]

Each case is timed as back-to-back calls with one sync at the end, at shapes whose kernels
take far less than a call's host work, so the wall time per call is the host's. The cases
are interleaved over rounds (a VM's host speed drifts) and the median round is reported.
Layers, from the outside in:
- "op": ``rnnviz.ops.linear_scan`` (checks, backend, autograd node when grad is on);
- "kernels": ``rnnviz.kernels.linear_scan.scan_fwd`` / ``scan_bwd`` (config, outputs, status
  buffers, launch);
- "launch": the kernel launch alone, its arguments built beforehand;
- "launcher": the compiled launcher called directly (what a cached launch ends in);
on the sequence path, the kernels layer also with its look-back status buffers made anew and
zeroed by a memset launch every call, as before they were kept per stream ("fresh status
buffers": this was scripts/status_host_ab.py, ``benchmarks/status-host*-h200.json``);
and accelerated-scan's forward (and forward+backward) where installed, and an autograd node
with no kernel in it ("autograd-floor"), for scale.
Writes launch-host-<gpu>.json.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

import torch

import rnnviz.kernels.cached_launch as cached_launch
import rnnviz.kernels.linear_scan.launch as launch
from rnnviz.bench.core import write_result
from rnnviz.bench.scan import _accelerated
from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd, seqpar
from rnnviz.ops import linear_scan

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from profile_host import _wall_us  # noqa: E402  (back-to-back calls, one sync at the end)

SHAPES = [(1, 1024, 64), (1, 256, 64), (64, 1024, 64)]


FRESH = "fresh status buffers"  # zeroed by a memset launch every call, as before 2026-12-04


def fresh_buffers(n_chunks, n_tiles, block_d, device, window=seqpar.LOOKBACK):
    """The sequence path's status buffers as they were made before they were kept per stream
    (and zeroed by the kernel's last program, ``seqpar.release_status``): anew for every
    launch, zeroed by a memset launch (``benchmarks/status-host-views-h200.json``)."""
    n = n_chunks * n_tiles
    n_vals = n * (3 * block_d + window)
    return seqpar._StatusBuffers(n, n_vals, device).views(n, block_d, n_vals)


class _NoKernel(torch.autograd.Function):
    """A scan's autograd node with no kernel in it: what autograd alone costs a call."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return torch.empty_like(a)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return torch.empty_like(a), torch.empty_like(b)


def launch_only(a, b):
    """The kernel launch of scan_fwd(a, b) with its arguments built once: (kernel, grid,
    args, kwargs, plan) as ``_launch`` passes them."""
    seen = {}
    for name in ("_CHANNEL", "_SEGMENT", "_SEQPAR"):
        k = getattr(launch, name)
        orig = k.launch

        def spy(grid, args, kw, static=None, k=k, orig=orig):
            seen["call"] = (k, grid, args, kw, static)
            orig(grid, args, kw, static)
        k.launch = spy
    try:
        scan_fwd(a, b)
    finally:
        for name in ("_CHANNEL", "_SEGMENT", "_SEQPAR"):
            getattr(launch, name).__dict__.pop("launch", None)
    return seen["call"]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default=None)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    try:
        acc_scan = _accelerated("scalar")
    except ImportError:
        acc_scan = None
    rows = []
    kept = launch.status_buffers
    for B, T, D in SHAPES:
        a = torch.rand(B, T, D, device="cuda") * 0.5 + 0.5
        b = torch.randn(B, T, D, device="cuda")
        ag, bg = a.clone().requires_grad_(), b.clone().requires_grad_()
        g = torch.randn_like(a)
        k, grid, kargs, kw, plan = launch_only(a, b)
        k.launch(grid, kargs, kw, plan)  # the cached entry exists from here on
        run, function, packed, tail = k._entries[k.key(torch.cuda.current_device(), kargs, kw,
                                                       plan)]
        stream = torch.cuda.current_stream().cuda_stream
        g1 = grid[1] if len(grid) > 1 else 1

        def launcher():
            run(grid[0], g1, 1, stream, function, packed, None, None, None, *kargs, *tail)

        # (layer, pass) -> fn; each rnnviz case runs with the cache on and off
        h = scan_fwd(a, b).h
        cases = {("op", "fwd"): lambda: linear_scan(a, b),
                 ("op", "fwd+bwd"): lambda: torch.autograd.grad(linear_scan(ag, bg), (ag, bg), g),
                 ("kernels", "fwd"): lambda: scan_fwd(a, b),
                 ("kernels", "bwd"): lambda: scan_bwd(a, h, None, g),
                 ("launch", "fwd"): lambda: k.launch(grid, kargs, kw, plan)}
        timed = {(layer, pss, how): fn for (layer, pss), fn in cases.items()
                 for how in ("Triton's launch", "cached launch")}
        timed[("launcher", "fwd", "compiled launcher")] = launcher
        timed[("torch.empty", "-", "-")] = lambda: torch.empty_like(a)
        timed[("autograd-floor", "fwd+bwd", "no kernel")] = \
            lambda: torch.autograd.grad(_NoKernel.apply(ag, bg), (ag, bg), g)
        if plan.status is not None:  # the sequence path: its look-back buffers made anew
            timed[("kernels", "fwd", FRESH)] = lambda: scan_fwd(a, b)
        if acc_scan is not None:
            at, bt = a.transpose(1, 2).contiguous(), b.transpose(1, 2).contiguous()
            atg, btg = at.clone().requires_grad_(), bt.clone().requires_grad_()
            gt = g.transpose(1, 2).contiguous()

            def acc_fwd():
                with torch.no_grad():
                    return acc_scan(at, bt)
            timed[("accelerated-scan", "fwd", "scalar")] = acc_fwd
            timed[("accelerated-scan", "fwd+bwd", "scalar")] = \
                lambda: torch.autograd.grad(acc_scan(atg, btg), (atg, btg), gt)
        times: dict[tuple, list[float]] = {key: [] for key in timed}
        for _ in range(args.rounds):
            for key, fn in timed.items():
                cached_launch.enabled = key[2] != "Triton's launch"
                launch.status_buffers = fresh_buffers if key[2] == FRESH else kept
                times[key].append(_wall_us(fn, n=300))
        cached_launch.enabled, launch.status_buffers = True, kept
        for (layer, pss, how), ts in times.items():
            us = statistics.median(ts)
            method = layer if layer in ("accelerated-scan", "autograd-floor") else "rnnviz-scan"
            rows.append({"method": method,
                         "layer": layer, "launch": how, "pass": pss, "dtype": "fp32",
                         "B": B, "T": T, "D": D, "path": launch._config(a, None).path,
                         "us_per_call": us, "us_rounds": ts, "ms": us / 1e3, "error": None})
            print(f"B={B} T={T} D={D} {layer:16s} {pss:7s} {how:18s} {us:7.1f} us/call  "
                  f"rounds {[round(t, 1) for t in ts]}", flush=True)
    path = write_result("launch-host", rows,
                        {"timing": "back-to-back", "sync": "one at the end of each case, no "
                         "events: the time per call is the host's"}, args.out)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
