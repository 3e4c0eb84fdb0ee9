"""What a Triton kernel compiles to for the GPUs this project measures on (sm_90: H100,
H200), found on a machine without one.

A kernel's launcher runs on CPU tensors with its launches recorded instead of run
(``recorded_launches``); each launch is compiled for sm_90 with its arguments specialised
as a real launch specialises them (``compile_for_hopper``: Triton's compiler, down to a
cubin with the ptxas that Triton's wheel ships), disassembled with the wheel's nvdisasm
(``sass``) and its loops counted by opcode (``loop_bodies``).

Why count: a sequential kernel such as SRU's recurrence, with one thread per unit and a
few warps per scheduler, is paced by how many instructions each step issues, not only by
its bytes (Nsight Compute on the H200, ``benchmarks/sru-ncu-h200.txt``). The count shows
that without a GPU: ``sru_step_mix`` gives the SRU kernel's instructions per step by kind,
and notebook 2 sets them against the bytes.

Used by ``tests/ops/test_compile_hopper.py`` (every launch must compile for sm_90) and
``scripts/sass_loop.py``.
"""
from __future__ import annotations

import collections
import contextlib
import inspect
import os
import re
import subprocess
import tempfile
from typing import Iterator

import torch

POINTER = {torch.float32: "*fp32", torch.bfloat16: "*bf16", torch.float16: "*fp16",
           torch.float64: "*fp64", torch.int32: "*i32", torch.int64: "*i64", torch.uint8: "*u8"}


def arg_type(x) -> str:
    """Triton's signature type of a runtime argument."""
    if isinstance(x, torch.Tensor):
        return POINTER[x.dtype]
    if isinstance(x, bool):
        return "i1"
    if isinstance(x, int):
        return "i32" if -2 ** 31 <= x < 2 ** 31 else "i64"
    if isinstance(x, float):
        return "fp32"
    raise TypeError(f"no Triton type for {type(x).__name__}")


def divisible_by_16(x) -> bool:
    """What a launch tells the compiler (``tt.divisibility``): a pointer 16-byte aligned, an
    int a multiple of 16. Without it wide loads cannot be proved aligned and the compiled
    code is not what the GPU runs (the bf16 channel scan compiled to 2-byte loads and
    spilled)."""
    if isinstance(x, torch.Tensor):
        return x.data_ptr() % 16 == 0
    return isinstance(x, int) and not isinstance(x, bool) and x % 16 == 0


def compile_for_hopper(kernel, args: tuple, kw: dict):
    """The launch ``kernel[grid](*args, **kw)`` compiled for sm_90, its arguments
    specialised as a launch specialises them."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    params = inspect.signature(kernel.fn).parameters
    given = dict(zip(kernel.arg_names, args)) | {k: v for k, v in kw.items() if k in params}
    sig, constexprs, attrs = {}, {}, {}
    for i, name in enumerate(kernel.arg_names):
        value = given.get(name, params[name].default)
        # Triton's own per-parameter flags: do_not_specialize given by name or by index
        specialize = not kernel.params[i].do_not_specialize
        if i in kernel.constexprs or value is None:
            sig[name], constexprs[(i,)] = "constexpr", value
        elif type(value) is int and value == 1 and specialize:
            sig[name], constexprs[(i,)] = "constexpr", 1  # a launch makes an int 1 a constant
        else:
            sig[name] = arg_type(value)
            if (divisible_by_16(value) and specialize
                    and not kernel.params[i].do_not_specialize_on_alignment):
                attrs[(i,)] = [["tt.divisibility", 16]]
    options = {k: v for k, v in kw.items() if k not in params}
    return triton.compile(ASTSource(fn=kernel, signature=sig, constexprs=constexprs, attrs=attrs),
                          target=GPUTarget("cuda", 90, 32), options=options)


@contextlib.contextmanager
def recorded_launches() -> Iterator[list]:
    """Inside the block, the kernels launched through ``CachedLaunch`` (scan, minGRU, SRU)
    are recorded as (kernel, args, kw) instead of run, so launchers can be called with CPU
    tensors; Triton's interpreter is set aside, so that constexprs such as FAST take the
    values a GPU launch gives them."""
    from rnnviz.kernels.cached_launch import CachedLaunch

    made: list = []
    launch, interpret = CachedLaunch.launch, os.environ.pop("TRITON_INTERPRET", None)
    CachedLaunch.launch = lambda self, grid, args, kw, static=None: made.append(
        (self.kernel, args, kw))
    try:
        yield made
    finally:
        CachedLaunch.launch = launch
        if interpret is not None:
            os.environ["TRITON_INTERPRET"] = interpret


@contextlib.contextmanager
def tuned_for(gpu: str = "H200") -> Iterator[None]:
    """Inside the block the scan's launchers choose their configs from ``gpu``'s tuned table
    (as on that GPU), whatever this machine has. The configs chosen per shape are cached:
    none chosen before may answer inside, and none chosen inside may answer after."""
    from rnnviz.kernels.linear_scan import launch

    key = launch.gpu_key
    launch.gpu_key = lambda device_index=None: gpu
    launch.forget_choices()
    try:
        yield
    finally:
        launch.gpu_key = key
        launch.forget_choices()


def sass(compiled) -> str:
    """The SASS of a compiled kernel (nvdisasm of its cubin)."""
    import triton

    nvdisasm = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin",
                            "nvdisasm")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "kernel.cubin")
        with open(path, "wb") as f:
            f.write(compiled.asm["cubin"])
        return subprocess.run([nvdisasm, "-c", path], capture_output=True, text=True,
                              check=True).stdout


# "/*0a40*/  @!P0 FFMA R3, R2, R5, R3 ;" -> FFMA
_INSTR = re.compile(r"\s+/\*[0-9a-f]{4}\*/\s+(?:@!?U?P[0-9T]+\s+)?([A-Z0-9_.]+)")


def loop_bodies(text: str) -> list[collections.Counter]:
    """Opcode counts of each loop body in SASS ``text``: the instructions from a label to a
    branch back to it (a branch forward is not a loop, nor the kernel's closing branch to
    itself)."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        m = re.search(r"BRA\s+`\((\.L_x_\d+)\)", line)
        if not m:
            continue
        start = next((j for j, l2 in enumerate(lines[:i]) if l2.startswith(m.group(1) + ":")),
                     None)
        body = collections.Counter(mm.group(1) for l2 in lines[start or 0:i + 1]
                                   if (mm := _INSTR.match(l2)))
        if start is not None and sum(body.values()) > 1:  # not the trap branching to itself
            out.append(body)
    return out


# What an opcode is for, first match wins (SASS names: the family before the first dot).
OPCODE_KINDS = [
    ("float arithmetic", ("FADD", "FMUL", "FFMA", "FMNMX", "FSETP", "FCHK")),
    ("special functions (MUFU: exp, rcp, tanh)", ("MUFU",)),
    ("loads and stores", ("LDG", "STG", "LDS", "STS", "LDGSTS", "LD", "ST", "ATOM", "RED",
                          "LDC", "ULDC")),
    ("conversions, byte shuffles", ("PRMT", "F2FP", "F2F", "I2F", "F2I")),
    # HFMA2.MMA and CS2R with zero operands are how ptxas writes a move or a zero
    ("moves and selects", ("MOV", "FSEL", "SEL", "IMAD.MOV", "P2R", "R2P", "PLOP3", "UMOV",
                           "HFMA2.MMA", "CS2R")),
    ("integer: addresses, indices, loop", ("IADD3", "VIADD", "IMAD", "LEA", "SHF", "ISETP",
                                           "LOP3", "IMNMX", "VIMNMX", "UIADD3", "ULEA",
                                           "USHF", "UISETP", "ULOP3", "UIMAD", "IABS",
                                           "SGXT")),
]


OTHER = "other (branches, predicates)"  # what no kind of OPCODE_KINDS takes
KINDS = [kind for kind, _ in OPCODE_KINDS] + [OTHER]  # every kind, in the order drawn


def opcode_kind(op: str) -> str:
    """The kind of SASS opcode ``op`` (``OPCODE_KINDS``), else ``OTHER``."""
    family = op.split(".")[0]
    for kind, names in OPCODE_KINDS:
        if any(op == n or op.startswith(n + ".") or family == n for n in names):
            return kind
    return OTHER


def by_kind(body: collections.Counter) -> dict[str, int]:
    """A loop body's instruction counts summed by ``opcode_kind``, every one of ``KINDS``
    in order."""
    out = dict.fromkeys(KINDS, 0)
    for op, n in body.items():
        out[opcode_kind(op)] += n
    return out


def loop_counts(call) -> list[tuple[str, dict, list[collections.Counter]]]:
    """Run ``call()`` (a launcher on CPU tensors) with its launches recorded, and return for
    each launch its kernel's name, its constexprs and options, and the opcode counts of each
    loop of its SASS as compiled for sm_90."""
    with recorded_launches() as made:
        call()
    return [(kernel.fn.__name__, kw, loop_bodies(sass(compile_for_hopper(kernel, args, kw))))
            for kernel, args, kw in made]


def sru_step_mix(dtype: torch.dtype = torch.float32, which: str = "inference",
                 H: int = 1024) -> dict[str, float]:
    """Instructions per step of the SRU recurrence kernel's loop, by kind, as compiled for
    sm_90: ``which`` is "inference" (the forward storing h only), "training" (the forward
    also storing c) or "backward". Per step = the loop body's count over the steps one pass
    of the loop walks (``fwd_steps_per_pass``, ``BWD_STEPS_PER_PASS`` of the kernel). A
    few seconds on a CPU: one compilation."""
    from rnnviz.kernels.sru import fused_recurrent as sru

    if which not in ("inference", "training", "backward"):
        raise ValueError(f"which must be 'inference', 'training' or 'backward', got {which!r}")
    T, B = 64, 4
    U, x = torch.empty(T, B, 3 * H, dtype=dtype), torch.empty(T, B, H, dtype=dtype)
    wc, bias = torch.empty(2 * H), torch.empty(2 * H)
    kw = dict(D=1, H=H, K=3, scale_x=1.0, tanh=True, batch_first=False)
    def call():
        if which == "backward":
            sru.sru_bwd(U, x, wc, bias, None, None, torch.empty(T, B, H), torch.empty_like(x),
                        None, **kw)
        else:
            sru.sru_fwd(U, x, wc, bias, None, None, store_c=which == "training",
                        record=False, **kw)

    (_, _, loops), = loop_counts(call)
    # the loop over t is the one with the gates' special functions (the backward's in-kernel
    # batch sum, SUM_B_IN_KERNEL, adds loops over the batch rows with none)
    bodies = [b for b in loops if any(op.startswith("MUFU") for op in b)]
    if len(bodies) != 1:
        raise RuntimeError(f"expected the SRU kernel's one loop over t (the one with MUFU), "
                           f"found {len(bodies)} of {len(loops)} loops")
    body = bodies[0]
    bwd = sru.BWD_STEPS_PER_PASS
    steps = (int(getattr(bwd, "value", bwd)) if which == "backward"
             else sru.fwd_steps_per_pass(U.element_size()))
    return {kind: n / steps for kind, n in by_kind(body).items()}
