"""``sru_recurrence``: the checked, differentiable, traced SRU recurrence of one layer.

Two algorithms compute the same thing (see ``naive.py`` for the equations):

- "kernel": the fused recurrence, sequential over t and parallel over batch x hidden x
  direction: the Triton kernel on CUDA (``rnnviz.kernels.sru``), the same algorithm as a
  loop of fused torch ops elsewhere (``recurrent.py``). Works with and without peephole.
- "scan": without peephole c is a linear recurrence, solved by ``rnnviz.ops.linear_scan``
  (parallel over t too; ``scan.py``).

"auto" takes the scan where it applies (no peephole), the kernel would leave the GPU mostly
idle (batch x hidden x directions below ``SCAN_BELOW_UNITS_PER_SM`` per SM) and the sequence
is long (T >= ``SCAN_MIN_T``), or on a CPU where it replaces a Python loop over t; else the
kernel.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from rnnviz.checks import check_tensor
from rnnviz.device import eager_under_compile, resolve_backend
from rnnviz.trace import active, stage

from .naive import sru_recurrence_reference
from .recurrent import sru_bwd_torch, sru_fwd_torch

__all__ = ["sru_recurrence", "RECURRENCES"]

RECURRENCES = ("auto", "kernel", "scan")
ACTIVATIONS = ("tanh", "identity")
# One thread per unit: fewer than half a warp of units per SM leaves the GPU idle while
# each thread walks T steps; the scan then wins for long sequences. A heuristic threshold.
SCAN_BELOW_UNITS_PER_SM = 16
# ... but only long ones, eagerly: the scan route is more launches (gates, scan, output and
# each one's backward), about 2.5 ms of host a training step on the device's VM whatever T,
# while the kernel's walk grows by ~0.3 us a step. H100, hidden 256, no peephole, fp32
# (benchmarks/sru-h100-20261205b.json): the kernel won at T = 1024 and 4096 (batch 1: 1.24
# against 2.54 ms), the scan from T = 16384 (batch 1: 2.2 against 4.9 ms; T = 65536: 5.1
# against 19.6); by their slopes they cross near T = 8000 at batch 1 and 12000 at batch 4.
SCAN_MIN_T = 8192


@dataclass(frozen=True)
class _Cfg:
    D: int
    H: int
    K: int
    scale_x: float
    tanh: bool
    batch_first: bool
    backend: str  # "triton" | "torch"
    need_grad: bool  # decided outside forward (autograd turns grad mode off inside it)
    skip_is_input: bool  # (fused layer, K = 3) the skip term x' is the GEMM's own input


_TRITON: tuple = ()


def _triton() -> tuple:
    """(sru_fwd, sru_bwd), the Triton launchers: imported on first use, then kept (an
    import statement costs a microsecond on every call)."""
    global _TRITON
    if not _TRITON:
        from rnnviz.kernels.sru import sru_bwd, sru_fwd

        _TRITON = (sru_fwd, sru_bwd)
    return _TRITON


def _fwd_impl(cfg: _Cfg):
    return _triton()[0] if cfg.backend == "triton" else sru_fwd_torch


def _bwd_impl(cfg: _Cfg):
    return _triton()[1] if cfg.backend == "triton" else sru_bwd_torch


class SRURecurrence(torch.autograd.Function):
    """Autograd around the fused recurrence: the forward stores c (not the gates); the
    backward recomputes f, r, g(c) from U and c_{t-1}."""

    @staticmethod
    def forward(ctx, U, x, weight_c, bias, c0, mask_pad, cfg: _Cfg, sink: dict | None):
        need_grad = cfg.need_grad
        h, c_n, c_all, f, r = _fwd_impl(cfg)(
            U, x, weight_c, bias, c0, mask_pad, D=cfg.D, H=cfg.H, K=cfg.K, scale_x=cfg.scale_x,
            tanh=cfg.tanh, batch_first=cfg.batch_first, store_c=need_grad or sink is not None,
            record=sink is not None)
        if sink is not None:
            sink.update(f=f, r=r, c=c_all)
        ctx.cfg = cfg
        if need_grad:
            ctx.save_for_backward(U, x, weight_c, bias, c0, mask_pad, c_all)
        return h, c_n.to(U.dtype)

    @staticmethod
    def backward(ctx, grad_h, grad_cn):
        cfg = ctx.cfg
        U, x, weight_c, bias, c0, mask_pad, c_all = ctx.saved_tensors
        if grad_h is None:
            grad_h = torch.zeros(U.shape[:-1] + (cfg.D * cfg.H,), device=U.device, dtype=U.dtype)
        if grad_h.stride(-1) != 1:
            grad_h = grad_h.contiguous()
        gU, gx, gc0, gwc, gbias = _bwd_impl(cfg)(
            U, x, weight_c, bias, c0, mask_pad, c_all, grad_h, grad_cn, D=cfg.D, H=cfg.H,
            K=cfg.K, scale_x=cfg.scale_x, tanh=cfg.tanh, batch_first=cfg.batch_first)
        return (gU, gx,
                None if weight_c is None else gwc.to(weight_c.dtype),
                gbias.to(bias.dtype),
                None if c0 is None else gc0.to(c0.dtype),
                None, None, None)


def linear_scan_available() -> bool:
    """Whether rnnviz.ops.linear_scan can be imported (checked once)."""
    global _HAS_SCAN
    if _HAS_SCAN is None:
        try:
            from rnnviz.ops.linear_scan import linear_scan  # noqa: F401
            _HAS_SCAN = True
        except ImportError:
            _HAS_SCAN = False
    return _HAS_SCAN


_HAS_SCAN: bool | None = None


def choose_recurrence(recurrence: str, peephole: bool, device: torch.device, units: int,
                      T: int) -> str:
    """Which algorithm runs: "kernel" or "scan" (see the module docstring for "auto")."""
    if recurrence not in RECURRENCES:
        raise ValueError(f"recurrence must be one of {RECURRENCES}, got {recurrence!r}")
    if recurrence == "scan":
        if peephole:
            raise ValueError("recurrence='scan' needs peephole=False (weight_c=None): with the "
                             "peephole v * c_{t-1} inside the gates c is not a linear recurrence")
        if not linear_scan_available():
            raise RuntimeError("recurrence='scan' needs rnnviz.ops.linear_scan, which is not "
                               "available in this installation")
        return "scan"
    if recurrence == "kernel" or peephole or not linear_scan_available():
        return "kernel"
    if device.type != "cuda":
        return "scan"
    sms = torch.cuda.get_device_properties(device).multi_processor_count
    return "scan" if (units < SCAN_BELOW_UNITS_PER_SM * sms and T >= SCAN_MIN_T) else "kernel"


def _check(U_shape, device, weight_c, bias, c0, x, mask_pad, num_directions, batch_first,
           activation, U_name="U"):
    """Checks everything but U itself (given by its shape and device: the fused layer path
    checks before its GEMM has made U). Returns D, H, K, T, B."""
    check_tensor("bias", bias, 1, dims="[2*D*H]")
    if num_directions not in (1, 2):
        raise ValueError(f"num_directions must be 1 or 2, got {num_directions}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    D = num_directions
    if bias.numel() % (2 * D) or bias.numel() == 0:
        raise ValueError(f"bias must have 2*D*H elements (D={D}), got {bias.numel()}")
    H = bias.numel() // (2 * D)
    if U_shape[-1] not in (3 * D * H, 4 * D * H):
        raise ValueError(f"expected {U_name}'s last dimension to be 3*D*H = {3 * D * H} or 4*D*H = "
                         f"{4 * D * H} (D={D}, H={H} from bias), got {U_shape[-1]}")
    K = U_shape[-1] // (D * H)
    if weight_c is not None:
        check_tensor("weight_c", weight_c, 1, dims="[2*D*H]")
        if weight_c.numel() != 2 * D * H:
            raise ValueError(f"expected weight_c of shape [{2 * D * H}], got {list(weight_c.shape)}")
    T, B = (U_shape[1], U_shape[0]) if batch_first else (U_shape[0], U_shape[1])
    lead = list(U_shape[:2])
    if K == 3:
        if x is None:
            raise ValueError("U has 3 parts per unit (x~, f, r): the skip input x (x'_t = "
                             "scale_x * x_t) must be given")
        check_tensor("x", x, 3)
        if list(x.shape) != lead + [D * H]:
            raise ValueError(f"expected x of shape {lead + [D * H]}, got {list(x.shape)}")
    elif x is not None:
        raise ValueError("U has 4 parts per unit (x~, f, r, x'): x' comes from U, so x must be None")
    if c0 is not None:
        check_tensor("c0", c0, 2, dims=f"[B, D*H] = [{B}, {D * H}]")
        if list(c0.shape) != [B, D * H]:
            raise ValueError(f"expected c0 of shape [{B}, {D * H}], got {list(c0.shape)}")
    if mask_pad is not None:
        if not isinstance(mask_pad, torch.Tensor) or mask_pad.dtype not in (torch.bool, torch.uint8):
            got = mask_pad.dtype if isinstance(mask_pad, torch.Tensor) else type(mask_pad).__name__
            raise TypeError(f"mask_pad must be a bool (or uint8) tensor, True where padding; got {got}")
        if list(mask_pad.shape) != lead:
            want = "[B, T]" if batch_first else "[T, B]"
            raise ValueError(f"expected mask_pad of shape {want} = {lead}, got {list(mask_pad.shape)}")
    for name, t in (("x", x), ("weight_c", weight_c), ("bias", bias), ("c0", c0), ("mask_pad", mask_pad)):
        if t is not None and t.device != device:
            raise ValueError(f"{name} is on {t.device} but {U_name} is on {device}; move them to one device")
    return D, H, K, T, B


def _time_major_mask(mask_pad: torch.Tensor | None, batch_first: bool) -> torch.Tensor | None:
    if mask_pad is None:
        return None
    mask_tm = mask_pad.t() if batch_first else mask_pad  # a view, no copy
    return mask_tm.view(torch.uint8) if mask_tm.dtype == torch.bool else mask_tm


def _stage(name: str, device: torch.device, layer: int | None):
    """An SRU stage (``rnnviz.trace.stage``: nothing at all unless a trace or the profiler is on)."""
    return stage("sru", name, device, layer)


def _record(tr, layer: int | None, f, r, c, D: int, H: int, T: int) -> None:
    """f, r, c: [B, T, D, H] views. One record per direction: [B, T', H] each."""
    for d in range(D):
        data = {k: tr.subsample(v[:, :, d], dim=1) for k, v in (("f", f), ("r", r), ("c", c))}
        tr.add("sru", "gates", data, {"direction": d, "T": T}, layer)


def sru_recurrence(U: torch.Tensor, weight_c: torch.Tensor | None, bias: torch.Tensor,
                   c0: torch.Tensor | None = None, *, x: torch.Tensor | None = None,
                   scale_x: float = 1.0, activation: str = "tanh",
                   mask_pad: torch.Tensor | None = None, num_directions: int = 1,
                   batch_first: bool = False, recurrence: str = "auto", backend: str = "auto",
                   layer: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The SRU elementwise recurrence of one layer, after the GEMM U = x W.

    Per direction, unit and batch row (``naive.py`` has the loop):
    f_t = sigmoid(U_f + v_f c_{t-1} + b_f), r_t = sigmoid(U_r + v_r c_{t-1} + b_r),
    c_t = f_t c_{t-1} + (1 - f_t) U_x~, h_t = r_t g(c_t) + (1 - r_t) x'_t.

    Args:
        U: [T, B, D*H*K] ([B, T, ...] when batch_first), laid out as the official ``sru``
            package does: [..., D, H, K] with K parts per unit in the order (x~, f, r[, x']).
        weight_c: [2*D*H] = [2, D, H] (v_f, v_r), or None for no peephole (v = 0).
        bias: [2*D*H] = [2, D, H] (b_f, b_r).
        c0: [B, D*H] initial state, or None (zeros).
        x: [T, B, D*H] skip input when K == 3 (x' = scale_x * x); None when K == 4.
        activation: "tanh" or "identity" (g).
        mask_pad: bool [T, B] ([B, T] when batch_first), True at padding: c is carried
            unchanged and h is 0 there.
        num_directions: 2 for a bidirectional layer (direction 1 runs from t = T-1 to 0).
        recurrence: "auto" | "kernel" | "scan" (module docstring).
        backend: "auto" | "triton" | "torch" | "reference" (``rnnviz.device.resolve_backend``).
        layer: this layer's index, for an active trace (records op "sru" kind "gates").

    Returns:
        h ([T, B, D*H], or [B, T, D*H]) and c_n [B, D*H], in U's dtype.
    """
    check_tensor("U", U, 3, dims="[T, B, D*H*K]" if not batch_first else "[B, T, D*H*K]")
    D, H, K, T, B = _check(U.shape, U.device, weight_c, bias, c0, x, mask_pad, num_directions,
                           batch_first, activation)
    tanh = activation == "tanh"
    be = resolve_backend(backend, U.device, U.dtype)
    mask_tm = _time_major_mask(mask_pad, batch_first)
    tr = active()
    rec = tr is not None and tr.wants("sru", "gates", layer)
    if be == "reference":
        return _reference(U, weight_c, bias, c0, x, scale_x, activation, mask_tm, D, batch_first)
    algo = choose_recurrence(recurrence, weight_c is not None, U.device, B * D * H, T)
    with _stage("recurrence", U.device, layer):
        if algo == "scan":
            h, c_n, f, r, c = _scan_route(U, x, bias, c0, mask_tm, D, H, K, scale_x, tanh,
                                          batch_first, be)
            if rec:
                _record(tr, layer, f, r, c, D, H, T)
            return h, c_n.to(U.dtype)
        U_ = U if U.stride(-1) == 1 else U.contiguous()
        x_ = None if x is None else (x if x.stride(-1) == 1 else x.contiguous())
        need_grad = torch.is_grad_enabled() and any(
            t is not None and t.requires_grad for t in (U, x, weight_c, bias, c0))
        cfg = _Cfg(D, H, K, float(scale_x), tanh, batch_first, be, need_grad, False)
        sink: dict | None = {} if rec else None
        apply = _apply_eagerly if be == "triton" else SRURecurrence.apply
        h, c_n = apply(U_, x_, weight_c, bias.contiguous(), None if c0 is None else c0.contiguous(),
                       mask_tm, cfg, sink)
    if rec:
        view = lambda t: t.view(T, B, D, H).transpose(0, 1)  # noqa: E731 - [B, T, D, H] view
        _record(tr, layer, view(sink["f"]), view(sink["r"]), view(sink["c"]), D, H, T)
    return h, c_n


def _scan_route(U, x, bias, c0, mask_tm, D, H, K, scale_x, tanh, batch_first, backend):
    from .scan import sru_scan

    return sru_scan(U, x, bias, c0, mask_tm, D=D, H=H, K=K, scale_x=float(scale_x), tanh=tanh,
                    batch_first=batch_first, backend=backend)


def _reference(U, weight_c, bias, c0, x, scale_x, activation, mask_tm, D, batch_first):
    tm = (lambda t: t.transpose(0, 1)) if batch_first else (lambda t: t)  # noqa: E731
    h, c_n = sru_recurrence_reference(tm(U), weight_c, bias, c0, x=None if x is None else tm(x),
                                      scale_x=float(scale_x), activation=activation,
                                      mask_pad=mask_tm, num_directions=D)
    return tm(h).to(U.dtype), c_n.to(U.dtype)


# the Triton launches, which torch.compile steps around (rnnviz.device.eager_under_compile)
_apply_eagerly = eager_under_compile(SRURecurrence.apply)
