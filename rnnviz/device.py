"""Which device and which backend will run: the device policy of DESIGN.md in one place."""
from __future__ import annotations

import functools
import importlib.util

import torch

BACKENDS = ("auto", "triton", "torch", "reference")


def default_device() -> torch.device:
    """CUDA when there is a GPU, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


_TRITON_FOUND: list[bool] = []  # find_spec's answer, asked once: it costs ~60 us a call


def triton_available() -> bool:
    """Whether triton is installed (asked on every CUDA call, answered from memory after the
    first; a list rather than ``lru_cache``, which ``torch.compile`` warns about)."""
    if not _TRITON_FOUND:
        _TRITON_FOUND.append(importlib.util.find_spec("triton") is not None)
    return _TRITON_FOUND[0]


def interpreting() -> bool:
    """True when Triton kernels run under its interpreter (TRITON_INTERPRET=1)."""
    from rnnviz.kernels import interpreting as kernels_interpreting  # no triton import

    return kernels_interpreting()


def resolve_backend(backend: str, device: torch.device, dtype: torch.dtype | None = None) -> str:
    """Turn a user's ``backend`` into the one that runs: "triton", "torch" or "reference".

    "auto" is Triton on CUDA (float64 excepted: the kernels accumulate in float32), and the
    vectorised torch path elsewhere. Asking for "triton" on a CPU tensor is an error unless
    the Triton interpreter is on (that is how the kernels are tested without a GPU).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        if device.type == "cuda" and dtype != torch.float64 and triton_available():
            return "triton"
        return "torch"
    if backend == "triton":
        if not triton_available():
            raise RuntimeError("backend='triton' needs the triton package (pip install triton)")
        if device.type != "cuda" and not interpreting():
            raise ValueError(
                f"backend='triton' needs CUDA tensors, got tensors on {device}; use "
                "backend='auto' or 'torch' on a CPU (or set TRITON_INTERPRET=1 before "
                "importing triton to run the kernels in Triton's interpreter)")
        if dtype == torch.float64:
            raise TypeError("backend='triton' computes in float32; for float64 use backend='torch' "
                            "or 'reference'")
    return backend


def backend_report() -> dict:
    """What this machine will run: versions, the device, and which backend "auto" picks."""
    dev = default_device()
    info = {
        "torch": torch.__version__,
        "triton": None,
        "device": str(dev),
        "gpu": torch.cuda.get_device_name(0) if dev.type == "cuda" else None,
        "auto_backend": resolve_backend("auto", dev, torch.float32),
    }
    if triton_available():
        import triton

        info["triton"] = triton.__version__
    return info


def eager_under_compile(fn):
    """``fn`` (a call that launches Triton kernels), run as it runs eagerly when
    ``torch.compile`` traces its caller: the compiler steps around it (a graph break) instead
    of tracing the launch code (cached launchers, status buffers, Python caches), and the
    kernels and their autograd run exactly as without compile.

    Eagerly ``fn`` is called straight: the compiler's own wrapper (``torch.compiler.disable``)
    costs about 0.4 us a call, and 1.5-2 us of a small scan's forward+backward on this
    project's CPU, more than the check of ``torch.compiler.is_compiling()`` that picks it only
    while the compiler traces (where that check is True)."""
    disabled = torch.compiler.disable(fn, recursive=True)
    is_compiling = torch.compiler.is_compiling

    @functools.wraps(fn)
    def run(*args, **kwargs):
        if is_compiling():
            return disabled(*args, **kwargs)
        return fn(*args, **kwargs)

    return run


def backward_outside_autocast(backward):
    """Decorate a ``torch.autograd.Function.backward`` whose dtypes are all explicit (the
    forward's, saved): it runs with CUDA autocast off, so a backward called inside an
    autocast region (on the calling thread) computes in the forward's dtypes rather than
    autocast's. It replaces ``torch.amp.custom_fwd``/``custom_bwd``, whose two autocast
    contexts a step (each asks the driver whether the GPU supports bf16) cost the host
    about 160 us of a minGRU training step on the H200's VM
    (benchmarks/profile-mingru-host-before-h200.txt against profile-mingru-host-h200.txt)."""
    @functools.wraps(backward)
    def run(ctx, *grads):
        if torch.is_autocast_enabled("cuda"):
            with torch.autocast("cuda", enabled=False):
                return backward(ctx, *grads)
        return backward(ctx, *grads)

    return run
