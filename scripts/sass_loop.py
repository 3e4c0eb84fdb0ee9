"""What a kernel's inner loop compiles to on sm_90, counted on a machine without a GPU.

    python scripts/sass_loop.py sru-fwd bfloat16      (also: sru-fwd-train, sru-bwd, scan-fwd, scan-bwd)

The launcher runs on CPU tensors with its launches recorded, each launch is compiled for
sm_90 and disassembled, and each loop body is counted by opcode (``rnnviz.bench.sass``).
For a sequential kernel such as SRU's, instructions per step set the pace
(benchmarks/sru-ncu-h200.txt): this shows them without a GPU."""
from __future__ import annotations

import os
import sys

os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")

import torch  # noqa: E402

from rnnviz.bench.sass import loop_counts, tuned_for  # noqa: E402


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
    else:
        from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd
        a = torch.empty(16, 16384, 4096, dtype=dtype)
        scan_fwd(a, a) if target == "scan-fwd" else scan_bwd(a, a, None, a)


def main() -> None:
    target, dtype = sys.argv[1], getattr(torch, sys.argv[2] if len(sys.argv) > 2 else "float32")
    with tuned_for("H200"):  # the configs the H200 runs
        counted = loop_counts(lambda: launch(target, dtype))
    for name, kw, bodies in counted:
        print(name, {k: v for k, v in kw.items() if k != "num_warps"})
        for n, body in enumerate(bodies):
            print(f"  loop {n}: {sum(body.values())} instructions;",
                  ", ".join(f"{op} {c}" for op, c in body.most_common(12)))


if __name__ == "__main__":
    main()
