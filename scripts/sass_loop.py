"""What a kernel's inner loop compiles to on sm_90, counted on a machine without a GPU.

    python scripts/sass_loop.py sru-fwd bfloat16      (also: sru-fwd-train, sru-bwd, scan-fwd, scan-bwd)

The launcher runs on CPU tensors with its launches recorded (as tests/ops/test_compile_hopper.py
does, specialising arguments as a launch would), the launch is compiled with the ptxas that
Triton's wheel ships, disassembled with its nvdisasm, and each loop body (a backward branch)
is counted by opcode. For a sequential kernel such as SRU's, instructions per step set the
pace (benchmarks/sru-ncu-h200.txt): this shows them without a GPU."""
from __future__ import annotations

import collections
import os
import re
import subprocess
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "ops"))
os.environ.pop("TRITON_INTERPRET", None)
os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")

import triton  # noqa: E402
import test_compile_hopper as compile_test  # noqa: E402

from rnnviz.kernels.cached_launch import CachedLaunch  # noqa: E402

INSTR = re.compile(r"\s+/\*[0-9a-f]{4}\*/\s+(?:@!?U?P[0-9T]+\s+)?([A-Z0-9_.]+)")


def record(target: str, dtype: torch.dtype) -> list:
    made: list = []
    CachedLaunch.launch = lambda self, grid, args, kw, static=None: made.append((self.kernel, args, kw))
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
        from rnnviz.kernels.linear_scan import launch, scan_bwd, scan_fwd
        launch.gpu_key = lambda device_index=None: "H200"
        a = torch.empty(16, 16384, 4096, dtype=dtype)
        scan_fwd(a, a) if target == "scan-fwd" else scan_bwd(a, a, None, a)
    return made


def loops(sass: str) -> list[collections.Counter]:
    """Opcode counts of each loop body (from a label to the branch back to it)."""
    lines = sass.splitlines()
    out = []
    for i, line in enumerate(lines):
        m = re.search(r"BRA `\((\.L_x_\d+)\)", line)
        if not m:
            continue
        start = next((j for j, l2 in enumerate(lines) if l2.startswith(m.group(1) + ":")), None)
        if start is not None and start < i - 5:
            out.append(collections.Counter(mm.group(1) for l2 in lines[start:i + 1]
                                           if (mm := INSTR.match(l2))))
    return out


def main() -> None:
    target, dtype = sys.argv[1], getattr(torch, sys.argv[2] if len(sys.argv) > 2 else "float32")
    nvdisasm = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "nvdisasm")
    for kernel, args, kw in record(target, dtype):
        compiled = compile_test.compile_launch(kernel, args, kw)
        path = f"/tmp/{kernel.fn.__name__}.cubin"
        with open(path, "wb") as f:
            f.write(compiled.asm["cubin"])
        sass = subprocess.run([nvdisasm, "-c", path], capture_output=True, text=True, check=True).stdout
        print(kernel.fn.__name__, {k: v for k, v in kw.items() if k != "num_warps"})
        for n, body in enumerate(loops(sass)):
            print(f"  loop {n}: {sum(body.values())} instructions;",
                  ", ".join(f"{op} {c}" for op, c in body.most_common(12)))


if __name__ == "__main__":
    main()
