"""What a kernel's inner loop compiles to on sm_90, counted on a machine without a GPU.

    python scripts/sass_loop.py sru-fwd bfloat16      (also: sru-fwd-train, sru-bwd, scan-fwd, scan-bwd,
                                                       scan-d64-fwd, scan-d64-bwd, mingru-fwd,
                                                       mingru-bwd)

"scan-d64-*" is reduce-then-scan at B=1, T=65536, D=64 as the H100's entry takes it (bf16's;
fp32's tile of 4 rows x 1 warp x 16 channels forward, 8 x 1 x 32 backward, which was the fp32
entry until 2026-12-07 19:33 and is named here since the one-read look-back took it), printed with each
launch's register layouts (``#ttg.blocked``): which of the tile's [R, S, BLOCK_D] dimensions the
lanes take. The compiler chooses them, and Triton versions choose differently. Run it under the
device's Triton from its wheel (pip download --no-deps triton==3.6.0, unzip to DIR, then
PYTHONPATH=DIR python scripts/sass_loop.py scan-d64-fwd float32). On 2026-12-07 Triton 3.9 (CI)
gave the fp32 tile's loads threadsPerWarp [1, 8, 4]: each thread holds its R rows, and the reduce
loop has 16 shuffles. Triton 3.6 (the device) gave [4, 2, 4]: R across 4 lanes, and 144 shuffles
a loop. Nsight Compute's MIO stalls on the device (benchmarks/scan-ncu-h100.txt) are those.

The launcher runs on CPU tensors with its launches recorded, each launch is compiled for
sm_90 and disassembled, and each loop body is counted by opcode (``rnnviz.bench.sass``).
For a sequential kernel such as SRU's, instructions per step set the pace
(benchmarks/sru-ncu-h200.txt): this shows them without a GPU."""
from __future__ import annotations

import os
import re
import sys

os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")

import torch  # noqa: E402

from rnnviz.bench.sass import (compile_for_hopper, loop_bodies, recorded_launches,  # noqa: E402
                               sass, tuned_for)


def launch(target: str, dtype: torch.dtype) -> None:
    """Call the launcher of ``target`` on CPU tensors (its launches are recorded)."""
    if target.startswith("sru"):
        from rnnviz.kernels.sru import sru_bwd, sru_fwd
        T, B, H = 64, 4, 1024
        U, x = torch.empty(T, B, 3 * H, dtype=dtype), torch.empty(T, B, H, dtype=dtype)
        wc, bias = torch.empty(2 * H), torch.empty(2 * H)
        kw = dict(D=1, H=H, K=3, scale_x=1.0, tanh=True, batch_first=False)
        if target == "sru-bwd":
            sru_bwd(U, x, wc, bias, None, None, torch.empty(T, B, H), torch.empty_like(x), None, **kw)
        else:
            sru_fwd(U, x, wc, bias, None, None, store_c=target == "sru-fwd-train", record=False, **kw)
    elif target.startswith("mingru"):  # the bench's minGRU shape, the positive g
        from rnnviz.kernels.mingru import min_rnn_bwd, min_rnn_fwd
        P = torch.empty(16, 4096, 2 * 1024, dtype=dtype)
        k, hc, out = P[..., :1024], P[..., 1024:], torch.empty(16, 4096, 1024, dtype=dtype)
        kw = dict(kind="mingru", positive=True, reverse=False)
        if target == "mingru-bwd":
            dP = torch.empty_like(P)
            min_rnn_bwd(k, None, hc, None, out, torch.empty_like(out), dP[..., :1024], None,
                        dP[..., 1024:], **kw)
        else:
            min_rnn_fwd(k, None, hc, None, out, **kw)
    else:
        from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd
        shape = (1, 65536, 64) if target.startswith("scan-d64") else (16, 16384, 4096)
        a = torch.empty(shape, dtype=dtype)
        cfg = d64_reduce_then_scan(target.endswith("bwd")) \
            if target.startswith("scan-d64") and dtype == torch.float32 else None
        scan_fwd(a, a, config=cfg) if target.endswith("fwd") else scan_bwd(a, a, None, a, config=cfg)


def d64_reduce_then_scan(backward: bool):
    """fp32 reduce-then-scan at B=1, T=65536, D=64 with pdl, the H100's entry until 2026-12-07
    (``scan_entry_ab.D64_BEFORE``, beside this script)."""
    from scan_entry_ab import D64_BEFORE

    from rnnviz.kernels.linear_scan.launch import entry_config

    return entry_config(D64_BEFORE, 1, 65536, 64, 4, backward)


def main() -> None:
    target, dtype = sys.argv[1], getattr(torch, sys.argv[2] if len(sys.argv) > 2 else "float32")
    import triton

    # the configs the H200 runs, or the H100's own at D=64
    with tuned_for("H100" if target.startswith(("scan-d64", "mingru")) else "H200"), \
            recorded_launches() as made:
        launch(target, dtype)
    print("triton", triton.__version__)
    for kernel, args, kw in made:  # each launch compiled once: its SASS loops and its layouts
        compiled = compile_for_hopper(kernel, args, kw)
        print(kernel.fn.__name__, {k: v for k, v in kw.items() if k != "num_warps"})
        for n, body in enumerate(loop_bodies(sass(compiled))):
            shuffles = sum(c for op, c in body.items() if op.startswith("SHFL"))
            print(f"  loop {n}: {sum(body.values())} instructions, {shuffles} shuffles;",
                  ", ".join(f"{op} {c}" for op, c in body.most_common(12)))
        if target.startswith(("scan-d64", "mingru")):  # the register layouts: which dimensions get lanes
            for layout in sorted(set(re.findall(r"#ttg\.blocked<[^>]*>", compiled.asm["ttgir"]))):
                print("  layout", layout)


if __name__ == "__main__":
    main()
