"""The host's share of an SRU step, measured without a GPU: the Python and the torch calls
around the kernels, on this machine's CPU.

    python scripts/sru_host_cpu.py [REPO ...]

Runs rnnviz's SRU (d = 8, B = 2, T = 8: the CPU's arithmetic is negligible) on the Triton
backend with every kernel launch replaced by what a cached launch does before the launcher
(``CachedLaunch._key_and_pointers`` and the lookup), so what is timed is the host work a
GPU step pays before and between its kernels, but the launches and cuBLAS's host side. Each
REPO (default: this checkout) is a checkout of rnnviz, e.g. a ``git worktree`` of an older
commit, timed in its own process: compare them side by side. Prints microseconds per call
(the median of 3000 calls, ``rnnviz.bench.core.time_ms``): the inference forward, the
forward with grad on, and the training step of the benchmark (``rnnviz.bench.sru``), for 1
and 4 layers.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from checkout import load_checkout

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure(repo: str) -> dict:
    load_checkout(repo)
    import torch

    import rnnviz.kernels.cached_launch as cached_launch
    import rnnviz.ops.sru.layer as layer
    from rnnviz.bench.core import time_ms
    from rnnviz.bench.sru import _fwd_bwd
    from rnnviz.models import SRU

    torch.set_num_threads(1)
    entries: dict = {}

    def launch(self, grid, args, kw, static=None):  # the cached launch, but the launcher
        key, _ = self._key_and_pointers(0, args, kw, static)
        entries.get(key)

    cached_launch.CachedLaunch.launch = launch
    layer.resolve_backend = lambda *a, **k: "triton"  # on CPU tensors
    def median_us(fn) -> float:  # the bench's own timing: the median of single calls on a CPU
        return 1e3 * time_ms(fn, "cpu", warmup=300, reps=3000)

    out = {}
    for layers in (1, 4):
        x = torch.randn(8, 2, 8, requires_grad=True)
        model = SRU(8, 8, layers)
        with torch.no_grad():
            out[f"inference forward, {layers} layer(s)"] = median_us(lambda: model(x))
        out[f"forward, grad on, {layers} layer(s)"] = median_us(lambda: model(x))
        out[f"training step, {layers} layer(s)"] = median_us(_fwd_bwd(model, x, "fp32"))
    return out


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(measure(sys.argv[2])))
        return
    repos = sys.argv[1:] or [HERE]
    rows = {}
    for repo in repos:  # each in a process of its own: two versions of one package
        res = subprocess.run([sys.executable, __file__, "--one", repo], capture_output=True,
                             text=True, check=True)
        rows[repo] = json.loads(res.stdout.strip().splitlines()[-1])
    names = list(next(iter(rows.values())))
    print(f"{'us per call':<34}" + "".join(f"{os.path.basename(r.rstrip('/')):>14}" for r in repos))
    for name in names:
        print(f"{name:<34}" + "".join(f"{rows[r][name]:>14.1f}" for r in repos))


if __name__ == "__main__":
    main()
