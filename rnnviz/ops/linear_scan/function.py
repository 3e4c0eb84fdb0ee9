"""The public op: ``linear_scan(a, b, h0=None, *, reverse=False, backend="auto") -> h``.

    h_t = a_t * h_{t-1} + b_t   (elementwise over [B, D]; h_{-1} = h0, or 0)

A ``torch.autograd.Function`` whose forward and backward are both scans: the backward is the
same scan run the other way over dL/dh, with a shifted by one step (see
``torch_impl.chunked_scan_backward``); the Triton backend reads the shifted a inside the
kernel instead of materialising it. It checks its inputs, picks the backend
(``rnnviz.device.resolve_backend``) and, inside ``rnnviz.trace()``, records the chunk-local
scans and carries the kernel itself computed (op "linear_scan", kind "chunks") and the time
of each stage. With no trace active it does nothing beyond the scan.
"""
from __future__ import annotations


import torch

from rnnviz.checks import FLOAT_DTYPES, check_same, check_tensor
from rnnviz.device import eager_under_compile, resolve_backend
from rnnviz.trace import Trace, active, stage

from .naive import linear_scan_reference
from .torch_impl import ScanParts, chunked_scan, chunked_scan_backward

OP = "linear_scan"


_KERNELS = None


def _kernels():
    """rnnviz.kernels.linear_scan, imported on first GPU/interpreter use (and kept: an
    import statement costs microseconds even when the module is loaded)."""
    global _KERNELS
    if _KERNELS is None:
        from rnnviz.kernels import linear_scan as k

        _KERNELS = k
    return _KERNELS


def record_chunks(tr: Trace, parts: ScanParts, path: str, reverse: bool, backend: str,
            direction: str) -> None:
    tr.add(OP, "chunks",
           {"local": tr.subsample(parts.local), "carries": parts.carries.detach().cpu(),
            "h": tr.subsample(parts.h)},
           {"chunk": int(parts.chunk), "path": path, "reverse": bool(reverse),
            "T": int(parts.h.shape[1]), "backend": backend, "pass": direction})


def _scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None, reverse: bool,
          backend: str) -> torch.Tensor:
    """The forward scan on ``backend`` ("triton" or "torch"), recorded if a trace wants it."""
    tr = active()
    record = tr is not None and tr.wants(OP, "chunks")
    if tr is None:  # the plain path: nothing but the scan
        if backend == "triton":
            return _kernels().scan_fwd(a, b, h0, reverse=reverse).h
        return chunked_scan(a, b, h0, reverse=reverse).h
    timeline = None
    with stage(OP, "forward", a.device):
        if backend == "triton":
            out = _kernels().scan_fwd(a, b, h0, reverse=reverse, record=record,
                                      timeline=tr.asks("timeline"))
            parts, path, timeline = (ScanParts(out.h, out.local, out.carries, out.chunk), out.path,
                                     out.timeline)
        else:
            parts, path = chunked_scan(a, b, h0, reverse=reverse), "torch"
    if record:
        record_chunks(tr, parts, path, reverse, backend, "forward")
    if timeline is not None:  # (the sequence path's kernels keep one; the channel walk not)
        tr.add(OP, "timeline", {"rows": timeline},
               {"path": path, "chunk": int(parts.chunk), "B": a.shape[0], "T": a.shape[1],
                "D": a.shape[2]})
    return parts.h


class LinearScanFunction(torch.autograd.Function):
    """Autograd for the scan; forward and backward run on the same backend."""

    @staticmethod
    def forward(ctx, a, b, h0, reverse: bool, backend: str):
        h = _scan(a, b, h0, reverse, backend)
        ctx.save_for_backward(a, h, h0)
        ctx.reverse, ctx.backend = reverse, backend
        return h

    @staticmethod
    def backward(ctx, grad_h):
        a, h, h0 = ctx.saved_tensors
        if active() is None:  # (no stage to time: not even an empty context around the call)
            grad_a, grad_b, grad_h0 = _scan_backward(a, h, h0, grad_h, ctx.reverse, ctx.backend)
        else:
            with stage(OP, "backward", a.device):
                grad_a, grad_b, grad_h0 = _scan_backward(a, h, h0, grad_h, ctx.reverse,
                                                         ctx.backend)
        if h0 is None or not ctx.needs_input_grad[2]:
            grad_h0 = None
        return grad_a, grad_b, grad_h0, None, None


def _scan_backward(a, h, h0, grad_h, reverse: bool, backend: str):
    """(grad_a, grad_b, grad_h0): the reverse scan of ``grad_h`` on ``backend``."""
    if backend == "triton":
        return _kernels().scan_bwd(a, h, h0, grad_h, reverse=reverse)
    return chunked_scan_backward(a, h, h0, grad_h.to(a.dtype), reverse=reverse)


_FLOATS = frozenset(FLOAT_DTYPES)


def _check(a, b, h0, reverse) -> None:
    if (h0 is None and reverse.__class__ is bool and a.__class__ is torch.Tensor
            and b.__class__ is torch.Tensor and a.dtype in _FLOATS and a.dim() == 3
            and a.shape[1] and a.shape == b.shape and a.dtype == b.dtype
            and a.device == b.device):
        return  # the usual call, valid: one expression (each check below costs a call)
    check_tensor("a", a, 3, dims="[B, T, D]")
    check_tensor("b", b, 3, dims="[B, T, D]")
    check_same("b", b, "a", a, shape=a.shape)
    if a.shape[1] == 0:
        raise ValueError(f"expected a and b with T >= 1 time steps (dim 1 of [B, T, D]), "
                         f"got shape {list(a.shape)}")
    if h0 is not None:
        check_tensor("h0", h0, 2, dims="[B, D]")
        check_same("h0", h0, "a", a, shape=(a.shape[0], a.shape[2]))
    if not isinstance(reverse, bool):
        raise TypeError(f"reverse must be a bool, got {type(reverse).__name__}")


_RESOLVED: dict[tuple, str] = {}


def _resolve(backend: str, device: torch.device, dtype: torch.dtype) -> str:
    """``resolve_backend``, remembered: it asks importlib whether triton is installed, tens
    of microseconds that a small scan on a GPU would otherwise pay on every call (errors
    are raised every time: only answers are kept). A dict rather than ``lru_cache``, which
    ``torch.compile`` warns about on every model that calls the scan."""
    key = (backend, device, dtype)
    found = _RESOLVED.get(key)
    if found is None:
        found = _RESOLVED[key] = resolve_backend(backend, device, dtype)
    return found


def linear_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None, *,
                reverse: bool = False, backend: str = "auto") -> torch.Tensor:
    """The first-order linear recurrence, elementwise, solved by a parallel scan.

        h_t = a_t * h_{t-1} + b_t,  h_{-1} = h0 (zeros if None)      (reverse=False)
        h_t = a_t * h_{t+1} + b_t,  h_T = h0                          (reverse=True)

    Args:
        a, b: [B, T, D] (time is dim 1), same shape, dtype and device; any strides.
        h0: [B, D] initial state, or None for zeros.
        reverse: run from t = T-1 down to 0.
        backend: "auto" (Triton on CUDA, the vectorised torch scan elsewhere), "triton",
            "torch" or "reference" (the float64 loop over time; slow, exact).
    Returns:
        h: [B, T, D] in the input dtype. float16/bfloat16/float32 accumulate in float32,
        float64 runs on the torch path. Differentiable in a, b and h0. On the Triton backend,
        when a and b are views of dense [B, D, T] memory (``x.transpose(1, 2)`` of a Conv1d-
        shaped tensor), h and the gradients of a and b keep that layout (the time-contiguous
        kernel, ``kernels/linear_scan/timelast.py``); otherwise h is contiguous.
    """
    _check(a, b, h0, reverse)
    backend = _resolve(backend, a.device, a.dtype)
    if backend == "reference":
        return linear_scan_reference(a, b, h0, reverse).to(a.dtype)
    if not (torch.is_grad_enabled() and (a.requires_grad or b.requires_grad
                                         or (h0 is not None and h0.requires_grad))):
        # nothing to differentiate: the scan alone, without the autograd node (its apply
        # is a sizeable share of the host's time on a small call)
        return (_scan_eagerly if backend == "triton" else _scan)(a, b, h0, reverse, backend)
    if backend == "triton":
        return _apply_eagerly(a, b, h0, reverse, backend)
    return LinearScanFunction.apply(a, b, h0, reverse, backend)


# the Triton launches, which torch.compile steps around (rnnviz.device.eager_under_compile)
_scan_eagerly = eager_under_compile(_scan)
_apply_eagerly = eager_under_compile(LinearScanFunction.apply)
