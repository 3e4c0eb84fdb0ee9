"""Host cost of a sequence-path scan call: the look-back status buffers kept per stream
(zeroed by the kernel's last program, ``seqpar.release_status``) against fresh zeroed
buffers every call (a memset launch and two allocations, as before). On the GPU machine:

    python scripts/status_host_ab.py [--out DIR]

Both are timed back to back in interleaved rounds (the host's speed drifts on a VM), at
shapes whose kernels take far less than a call's host work, so the wall time per call is
the host's. accelerated-scan's forward, where installed, is timed alongside for scale.
Writes status-host-<gpu>.json.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

import torch

import rnnviz.kernels.linear_scan.launch as launch
from rnnviz.bench.core import write_result
from rnnviz.bench.scan import _accelerated
from rnnviz.kernels.linear_scan import scan_fwd, seqpar

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from profile_host import _wall_us  # noqa: E402  (back-to-back calls, one sync at the end)

SHAPES = [(1, 1024, 64), (1, 16384, 64)]


def fresh_buffers(n_chunks, n_tiles, block_d, device, window=seqpar.LOOKBACK):
    """The status buffers as they were made before: zeroed anew for every launch."""
    n = n_chunks * n_tiles
    n_vals = n * (3 * block_d + window)
    return seqpar._StatusBuffers(n, n_vals, device).views(n, block_d, n_vals)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default=None)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    kept = launch.status_buffers
    try:
        acc_scan = _accelerated("scalar")
    except ImportError:
        acc_scan = None
    rows = []
    for B, T, D in SHAPES:
        a = torch.rand(B, T, D, device="cuda") * 0.5 + 0.5
        b = torch.randn(B, T, D, device="cuda")
        # (method, what differs): rnnviz's two ways differ in status_buffers only
        cases = {("rnnviz-scan", "kept, zeroed by the kernel"): lambda: scan_fwd(a, b),
                 ("rnnviz-scan", "fresh, zeroed by a memset launch"): lambda: scan_fwd(a, b)}
        if acc_scan is not None:
            at, bt = a.transpose(1, 2).contiguous(), b.transpose(1, 2).contiguous()
            cases[("accelerated-scan", "scalar")] = lambda: acc_scan(at, bt)
        times: dict[tuple, list[float]] = {k: [] for k in cases}
        for _ in range(args.rounds):
            for (method, how), fn in cases.items():
                launch.status_buffers = fresh_buffers if how.startswith("fresh") else kept
                fn()  # compiled, buffers grown
                times[(method, how)].append(_wall_us(fn, n=400))
        launch.status_buffers = kept
        for (method, how), ts in times.items():
            rows.append({"method": method, ("variant" if method != "rnnviz-scan" else "status"): how,
                         "pass": "fwd", "dtype": "fp32", "B": B, "T": T, "D": D,
                         "path": launch.choose_config(B, T, D).path, "us_per_call": statistics.median(ts),
                         "us_rounds": ts, "ms": statistics.median(ts) / 1e3, "error": None})
            print(f"B={B} T={T} D={D} {method} ({how}): {statistics.median(ts):7.1f} us/call  "
                  f"rounds {[round(t, 1) for t in ts]}", flush=True)
    path = write_result("status-host", rows, {"timing": "back-to-back"}, args.out,
                        module="scripts/status_host_ab.py")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
