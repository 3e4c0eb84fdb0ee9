"""The time-layout scan kernel compiled for the GPU the project measures on (sm_90: H100,
H200), here, without one: Triton's own compiler down to a cubin with the ptxas its wheel
ships. The interpreter runs a kernel's Python, not its lowering; a kernel that the
interpreter passes can still fail to compile for a GPU (a type the lowering refuses, a layout
it cannot convert). This catches that in CI, for every mode a launch plan can ask for."""
from __future__ import annotations

import inspect

import pytest
import torch

triton = pytest.importorskip("triton")

from rnnviz.kernels.linear_scan.launch_time import TimeConfig, _time_plan  # noqa: E402
from rnnviz.kernels.linear_scan.timelast import scan_time_kernel  # noqa: E402

TYPES = {torch.float32: "*fp32", torch.bfloat16: "*bf16", torch.float16: "*fp16"}


def compile_for_hopper(kernel, pointers: dict[str, str], constexprs: dict, num_warps: int):
    """``kernel`` compiled for sm_90 with these pointer types (the rest of its runtime
    arguments int32) and constexprs (its defaults where not given)."""
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    params = inspect.signature(kernel.fn).parameters
    values, sig = {}, {}
    for i, name in enumerate(kernel.arg_names):
        if i in kernel.constexprs:
            sig[name] = "constexpr"
            values[(i,)] = constexprs.get(name, params[name].default)
        else:
            sig[name] = pointers.get(name, "i32")
    src = ASTSource(fn=kernel, signature=sig, constexprs=values)
    try:
        return triton.compile(src, target=GPUTarget("cuda", 90, 32),
                              options={"num_warps": num_warps})
    except (RuntimeError, FileNotFoundError) as e:
        if "ptxas" in str(e) and "not found" in str(e).lower():
            pytest.skip(f"this Triton has no ptxas to compile for a GPU: {e}")
        raise


def time_pointers(dtype: torch.dtype) -> dict[str, str]:
    data = TYPES[dtype]
    return {**{n: data for n in ("A", "Bv", "H0", "H", "GA", "HF", "HF0")},
            **{n: "*fp32" for n in ("SEGH", "CA", "CB", "VALS")},
            **{n: "*i32" for n in ("FLAGS", "SCRATCH", "COUNTER")}}


# (config, shape): one part per row; parts by reduce-then-scan (its two launches of this
# kernel); by the look-back, walked twice; by the look-back, one chunk held
PLANS = [(TimeConfig(1024, 1, 4, 3), (4, 16384, 256)),
         (TimeConfig(1024, 1, 4, 1, 1056), (1, 65536, 16)),
         (TimeConfig(512, 2, 4, 2, 64, lookback=True), (1, 65536, 16)),
         (TimeConfig(2048, 1, 8, 1, 4224, lookback=True), (1, 65536, 64))]
FLAGS = {"forward": (True, False, False, False, False),
         "backward": (False, True, True, True, True)}  # (h0, hf0, reverse, shift_a, grad_a)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("pass_", list(FLAGS))
@pytest.mark.parametrize("cfg,shape", PLANS, ids=["one-part", "reduce", "lookback", "hold"])
def test_time_kernel_compiles_for_hopper(cfg, shape, pass_, dtype):
    plan = _time_plan(cfg, shape, FLAGS[pass_])
    launches = [plan] + ([plan.reduce] if plan.reduce is not None else [])
    assert plan.constexprs["HOLD"] == (cfg.block_t == 2048)
    for p in launches:
        cx = dict(p.constexprs)
        k = compile_for_hopper(scan_time_kernel, time_pointers(dtype), cx, cx.pop("num_warps"))
        assert k.metadata.num_warps == cfg.num_warps and k.asm["cubin"]
