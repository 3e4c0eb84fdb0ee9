"""Whether two checkouts launch the kernels with the same arguments: for a refactor of the
launchers, which must not change what the GPU is handed.

    TRITON_INTERPRET=1 python scripts/launch_args.py REPO [REPO ...]

In each REPO (a checkout of rnnviz, e.g. a ``git worktree`` of an older commit), in a
process of its own, runs a fixed set of scan and SRU kernel calls with
``CachedLaunch.launch`` replaced by a recorder (nothing runs): per launch the kernel, the
grid, every argument (a tensor as its shape, strides, dtype and which earlier argument of
the same launch it aliases; a number as its type and value), the constexprs and whether a
plan was passed as the static key. The scan's calls cover every path (channel walk, look-
back, segments, reduce-then-scan, the time layout with and without parts) forward and
backward, with and without h0, both directions; the SRU's, the forward's three modes and
the backward, fp32 and bf16, with and without skip input, peephole, c0, mask, batch_first.
Prints the number of launches and, if the records differ, the first launch that does.
"""
from __future__ import annotations

import json
import subprocess
import sys

from checkout import load_checkout


def _describe(x, seen: dict) -> list:
    import torch

    if isinstance(x, torch.Tensor):  # (which argument it aliases, not its address: addresses vary)
        return ["tensor", seen.setdefault(x.data_ptr(), len(seen)), list(x.shape),
                list(x.stride()), str(x.dtype)]
    return [type(x).__name__, repr(x) if isinstance(x, float) else x]


def record(repo: str) -> list[dict]:
    load_checkout(repo)
    import torch

    import rnnviz.kernels.cached_launch as cached_launch
    from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd, tile_config
    from rnnviz.kernels.linear_scan.launch import ScanConfig
    from rnnviz.kernels.linear_scan.launch_time import TimeConfig
    from rnnviz.kernels.sru import sru_bwd, sru_fwd

    records: list[dict] = []

    # (a recorder of its own, not rnnviz.bench.sass.recorded_launches: that one belongs to the
    # checkouts compared, may differ between them, and keeps neither the grid nor the plan)
    def launch(self, grid, args, kw, static=None):
        seen: dict = {}
        records.append({"kernel": getattr(self.kernel, "__name__", None)
                        or self.kernel.fn.__name__, "grid": list(grid),
                        "args": [_describe(a, seen) for a in args],
                        "constexprs": sorted((k, repr(v)) for k, v in kw.items()),
                        "static": static is not None})

    cached_launch.CachedLaunch.launch = launch
    torch.manual_seed(0)
    kept = []  # every tensor stays alive: no address is reused within a launch's record
    configs = [None, tile_config("channel", 64, 8, 4, 4, 2, 8),
               tile_config("sequence", 64, 8, 4, 4, 2, 8),
               ScanConfig("sequence", 8, 8, 2, segment=2),
               ScanConfig("sequence", 8, 8, 2, segment=2, carry="scan"),
               TimeConfig(8, 1, 2, 1, programs=8), TimeConfig(8, 1, 2, 1, programs=8, lookback=True),
               TimeConfig(16)]
    for B, T, D in [(2, 37, 8), (1, 64, 5), (3, 1, 4)]:
        for config in configs:
            for reverse in (False, True):
                for h0 in (None, torch.randn(B, D)):
                    a, b, g = torch.rand(B, T, D), torch.randn(B, T, D), torch.randn(B, T, D)
                    h = scan_fwd(a, b, h0, reverse=reverse, config=config).h
                    kept += [a, b, g, h0, h, *scan_bwd(a, h, h0, g, reverse=reverse, config=config)]
        a, b, g = (torch.randn(B, D, T).transpose(1, 2) for _ in range(3))  # [B, D, T] memory
        h = scan_fwd(a, b).h
        kept += [a, b, g, h, *scan_bwd(a, h, None, g), *scan_fwd(a, b, record=True, config=configs[1])]
    for T, B, D, H, K, peep, batch_first, c0, mask, skip in [
            (7, 3, 1, 16, 3, True, False, True, True, True), (5, 2, 2, 8, 4, False, True, False, False, False),
            (1, 1, 1, 40, 3, True, False, False, True, True), (9, 4, 2, 16, 3, False, True, True, False, True)]:
        for dtype in (torch.float32, torch.bfloat16):
            tb = (B, T) if batch_first else (T, B)
            U = torch.randn(*tb, D * H * K, dtype=dtype)
            x = torch.randn(*tb, D * H, dtype=dtype) if skip and K == 3 else None
            wc, bias = torch.randn(2 * D * H) if peep else None, torch.randn(2 * D * H)
            c0_ = torch.randn(B, D * H) if c0 else None
            mask_ = (torch.rand(T, B) > 0.7).to(torch.uint8) if mask else None
            kw = dict(D=D, H=H, K=K, scale_x=1.0, tanh=True, batch_first=batch_first)
            for store_c, rec in [(False, False), (True, False), (True, True)]:
                kept += [U, x, wc, bias, c0_, mask_,
                         *sru_fwd(U, x, wc, bias, c0_, mask_, store_c=store_c, record=rec, **kw)]
            c_all, gh = torch.randn(T, B, D * H), torch.randn(*tb, D * H, dtype=dtype)
            for gcn in (None, torch.randn(B, D * H)):
                kept += [c_all, gh, gcn, *sru_bwd(U, x, wc, bias, c0_, mask_, c_all, gh, gcn, **kw)]
    return records


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(record(sys.argv[2])))
        return 0
    runs = []  # (a list: one checkout named twice is recorded twice, a check of determinism)
    for repo in sys.argv[1:]:  # each in a process of its own: two versions of one package
        out = subprocess.run([sys.executable, __file__, "--one", repo], capture_output=True,
                             text=True, check=True).stdout
        runs.append((repo, json.loads(out.strip().splitlines()[-1])))
    (first, base), *others = runs
    print(f"{first}: {len(base)} launches")
    same = True
    for repo, recs in others:
        diff = next((i for i, (p, q) in enumerate(zip(base, recs)) if p != q), None)
        if diff is None and len(recs) == len(base):
            print(f"{repo}: {len(recs)} launches, equal to {first}'s")
            continue
        same = False
        if diff is None:
            print(f"{repo}: {len(recs)} launches against {len(base)}")
        else:
            print(f"{repo}: launch {diff} differs:\n  {base[diff]}\n  {recs[diff]}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
