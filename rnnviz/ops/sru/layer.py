"""``sru_layer``: one SRU layer, the GEMM U = x W and the fused recurrence as one autograd node.

The recurrence alone (``sru_recurrence``) is one node; wrapping x W around it through autograd
adds the matmul's own node, views and a gradient accumulation for x (which feeds both the
GEMM and the skip term) -- a few dozen small host-side calls per layer that, at the paper's
sizes, cost more than the GPU work. Here the backward does, with cuBLAS:

    dx = dx' + dU W^T    (one addmm_, in place on dx', the skip term's gradient)
    dW = x^T dU

The checks and choices of a call (shapes, backend, algorithm) are made once per key of
shapes, dtypes, devices and options and kept (``_plan``), and the launchers keep a launch plan
per shape. Each saves the host a few microseconds a call, and a small layer's step is the
host's time.

The GEMM runs in the autocast dtype like any torch matmul. The backward's GEMMs run in the
dtype the forward's ran in (U's), outside autocast rather than by re-entering it
(``torch.amp.custom_bwd``): see :func:`rnnviz.device.backward_outside_autocast`. Under
autocast the forward casts x and W itself, as autocast would, and saves the casts (as torch
saves a matmul's cast inputs), so the backward's GEMMs take them without casting again: two
cast launches fewer a training step.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from rnnviz.checks import check_tensor
from rnnviz.device import backward_outside_autocast, eager_under_compile, resolve_backend
from rnnviz.trace import active

from .function import (_bwd_impl, _Cfg, _check, _fwd_impl, _record, _stage, _time_major_mask,
                       choose_recurrence, sru_recurrence)

__all__ = ["sru_layer"]


def _gemm_inputs(x: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x and W as the forward's GEMM takes them: under autocast, each floating tensor other
    than float64 cast to autocast's dtype (what autocast would do to a matmul's inputs), else
    as they are."""
    kind = x.device.type
    if not torch.is_autocast_enabled(kind):
        return x, weight
    cd = torch.get_autocast_dtype(kind)

    def cast(t):
        return t.to(cd) if t.is_floating_point() and t.dtype not in (cd, torch.float64) else t

    return cast(x), cast(weight)


class SRULayerFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, weight_c, bias, c0, x_skip, mask_tm, cfg: _Cfg, sink, layer):
        with _stage("gemm", x.device, layer):
            xg, wg = _gemm_inputs(x, weight)
            U = torch.matmul(xg, wg)  # (one call: it folds [T, B] into one GEMM itself)
        skip = (x if cfg.skip_is_input else x_skip) if cfg.K == 3 else None
        with _stage("recurrence", x.device, layer):
            h, c_n, c_all, f, r = _fwd_impl(cfg)(
                U, skip, weight_c, bias, c0, mask_tm, D=cfg.D, H=cfg.H, K=cfg.K,
                scale_x=cfg.scale_x, tanh=cfg.tanh, batch_first=cfg.batch_first,
                store_c=cfg.need_grad or sink is not None, record=sink is not None)
        if sink is not None:
            sink.update(f=f, r=r, c=c_all)
        ctx.cfg = cfg
        # an output the loss does not use comes to the backward as None, not as zeros made
        # for it (c_n, usually: an allocation and a memset kernel per step)
        ctx.set_materialize_grads(False)
        if cfg.need_grad:
            ctx.save_for_backward(x, weight_c, bias, c0, x_skip, mask_tm, U, c_all, xg, wg)
        return h, (c_n if c_n.dtype == U.dtype else c_n.to(U.dtype))

    @staticmethod
    @backward_outside_autocast
    def backward(ctx, grad_h, grad_cn):
        cfg = ctx.cfg
        x, weight_c, bias, c0, x_skip, mask_tm, U, c_all, xg, wg = ctx.saved_tensors
        if grad_h is None:  # only c_n is in the loss (the kernels take grad_cn = None)
            grad_h = torch.zeros(U.shape[:-1] + (cfg.D * cfg.H,), device=U.device, dtype=U.dtype)
        elif grad_h.stride(-1) != 1:
            grad_h = grad_h.contiguous()
        skip = (x if cfg.skip_is_input else x_skip) if cfg.K == 3 else None
        gU, g_skip, gc0, gwc, gbias = _bwd_impl(cfg)(
            U, skip, weight_c, bias, c0, mask_tm, c_all, grad_h, grad_cn, D=cfg.D, H=cfg.H,
            K=cfg.K, scale_x=cfg.scale_x, tanh=cfg.tanh, batch_first=cfg.batch_first)
        gU2 = gU.reshape(-1, gU.shape[-1])
        cd = gU2.dtype  # U's: the dtype the forward's GEMM ran in (autocast's, if it was on);
        x2 = xg.reshape(-1, xg.shape[-1])  # the engine casts each gradient back to its input's
        need = ctx.needs_input_grad
        gx = gW = None
        if need[0]:
            # (the forward GEMM's own input, so in U's dtype: no cast)
            w = wg if wg.dtype == cd else wg.to(cd)
            if not cfg.skip_is_input:
                gx = torch.mm(gU2, w.t()).view(x.shape)
            elif g_skip.dtype == cd and g_skip.is_contiguous():
                # in place on the skip term's gradient, a buffer of this backward's own, through
                # a 2-D view (torch.addmm would first copy it into a new output: on the H100
                # profile a cudaMemcpyAsync of 29 us host time a step,
                # benchmarks/profile-host-h100-s36.txt)
                g_skip.view(x2.shape).addmm_(gU2, w.t())
                gx = g_skip
            else:
                # under autocast the GEMM in its dtype, added to the skip term's gradient in
                # x's (one kernel, where casting that gradient there and the sum back took
                # two); or a strided gradient (the torch path's), which has no 2-D view
                gx = g_skip + torch.mm(gU2, w.t()).view(x.shape)
        if need[1]:
            gW = torch.mm((x2 if x2.dtype == cd else x2.to(cd)).t(), gU2)
        return (gx, gW, None if weight_c is None else gwc, gbias,
                None if c0 is None else gc0, g_skip if x_skip is not None else None,
                None, None, None, None)


class _Plan(NamedTuple):
    """What ``sru_layer`` decides from its arguments' shapes, dtypes, devices and options."""

    D: int
    H: int
    K: int
    T: int
    B: int
    backend: str  # "triton" | "torch" | "reference"
    recurrence: str  # "kernel" | "scan"
    cfgs: tuple  # (_Cfg in inference, _Cfg when a gradient is wanted)


_PLANS: dict = {}
MAX_PLANS = 256  # (a dict cleared when full: a program's layers have a handful of shapes)


def _meta(t):
    return None if t is None else (t.shape, t.dtype, t.device)


def _plan(x, weight, weight_c, bias, c0, input_mask, mask_pad, scale_x, activation,
          num_directions, batch_first, recurrence, backend) -> _Plan:
    """The checked plan of a call, made once per key: the checks and choices depend on
    nothing but the arguments' shapes, dtypes, devices and options, so the key holds exactly
    those. Only valid plans are kept: a bad input raises on every call."""
    try:
        key = (x.shape, x.dtype, x.device, weight.shape, weight.dtype, weight.device,
               _meta(weight_c), bias.shape, bias.dtype, bias.device, _meta(c0),
               _meta(input_mask), _meta(mask_pad), scale_x, activation, num_directions,
               batch_first, recurrence, backend)
        plan = _PLANS.get(key)
    except (AttributeError, TypeError):  # not a tensor, or unhashable: the checks say so
        key = plan = None
    if plan is None:
        plan = _make_plan(x, weight, weight_c, bias, c0, input_mask, mask_pad, scale_x,
                          activation, num_directions, batch_first, recurrence, backend)
        if key is not None:
            if len(_PLANS) >= MAX_PLANS:
                _PLANS.clear()
            _PLANS[key] = plan
    return plan


def _make_plan(x, weight, weight_c, bias, c0, input_mask, mask_pad, scale_x, activation,
               num_directions, batch_first, recurrence, backend) -> _Plan:
    check_tensor("x", x, 3, dims="[B, T, n_in]" if batch_first else "[T, B, n_in]")
    check_tensor("weight", weight, 2, dims="[n_in, D*H*K]")
    if weight.shape[0] != x.shape[-1]:
        raise ValueError(f"expected weight of shape [{x.shape[-1]}, D*H*K] (n_in = x's last "
                         f"dimension), got {list(weight.shape)}")
    check_tensor("bias", bias, 1, dims="[2*D*H]")
    U_shape = tuple(x.shape[:-1]) + (weight.shape[1],)
    skip_given = x if weight.shape[1] == 3 * (bias.shape[0] // 2) else None  # K = 3: x' = x
    D, H, K, T, B = _check(U_shape, x.device, weight_c, bias, c0, skip_given, mask_pad,
                           num_directions, batch_first, activation, U_name="x W")
    if K == 3 and x.shape[-1] != D * H:
        raise ValueError(f"weight has 3 parts per unit, so x' = x needs n_in == D*H = {D * H}, "
                         f"got {x.shape[-1]}")
    if input_mask is not None:
        check_tensor("input_mask", input_mask, 2, dims=f"[B, n_in] = [{B}, {x.shape[-1]}]")
        if list(input_mask.shape) != [B, x.shape[-1]] or input_mask.device != x.device:
            raise ValueError(f"expected input_mask of shape [B, n_in] = [{B}, {x.shape[-1]}] "
                             f"on {x.device}, got {list(input_mask.shape)} on {input_mask.device}")
    be = resolve_backend(backend, x.device, x.dtype)
    algo = choose_recurrence(recurrence, weight_c is not None, x.device, B * D * H, T)
    cfgs = tuple(_Cfg(D, H, K, float(scale_x), activation == "tanh", batch_first, be, need,
                      K == 3 and input_mask is None) for need in (False, True))
    return _Plan(D, H, K, T, B, be, algo, cfgs)


def sru_layer(x: torch.Tensor, weight: torch.Tensor, weight_c: torch.Tensor | None,
              bias: torch.Tensor, c0: torch.Tensor | None = None, *,
              input_mask: torch.Tensor | None = None, scale_x: float = 1.0,
              activation: str = "tanh", mask_pad: torch.Tensor | None = None,
              num_directions: int = 1, batch_first: bool = False, recurrence: str = "auto",
              backend: str = "auto", layer: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One SRU layer: U = (x * input_mask) W, then the recurrence of ``sru_recurrence`` with
    the skip term x'_t = scale_x * x_t (K = 3) or U's 4th part (K = 4).

    Args:
        x: [T, B, n_in] ([B, T, n_in] when batch_first).
        weight: [n_in, D*H*K] in the official ``sru`` layout ([n_in, D, H, K], parts
            (x~, f, r[, x'])); K = 3 needs n_in == D*H.
        input_mask: a variational dropout mask [B, n_in], shared over time (GEMM input only).
        The rest as ``sru_recurrence``.

    Returns:
        h [T, B, D*H] ([B, T, D*H]) and c_n [B, D*H].
    """
    plan = _plan(x, weight, weight_c, bias, c0, input_mask, mask_pad, scale_x, activation,
                 num_directions, batch_first, recurrence, backend)
    if x.stride(-1) != 1:
        x = x.contiguous()
    if c0 is not None and not c0.is_contiguous():
        c0 = c0.contiguous()
    x_gemm = x if input_mask is None else x * input_mask.unsqueeze(1 if batch_first else 0)
    D, H, K = plan.D, plan.H, plan.K
    if plan.backend == "reference" or plan.recurrence == "scan":
        with _stage("gemm", x.device, layer):
            U = x_gemm @ weight
        return sru_recurrence(U, weight_c, bias, c0, x=x if K == 3 else None, scale_x=scale_x,
                              activation=activation, mask_pad=mask_pad, num_directions=D,
                              batch_first=batch_first, recurrence=plan.recurrence,
                              backend=backend, layer=layer)
    tr = active()
    rec = tr is not None and tr.wants("sru", "gates", layer)
    sink: dict | None = {} if rec else None
    # (one expression, not any() over a generator: this runs on every forward)
    need_grad = torch.is_grad_enabled() and (
        x.requires_grad or weight.requires_grad or bias.requires_grad
        or (weight_c is not None and weight_c.requires_grad)
        or (c0 is not None and c0.requires_grad))
    cfg = plan.cfgs[need_grad]
    x_skip = x if (K == 3 and not cfg.skip_is_input) else None
    apply = _apply_eagerly if plan.backend == "triton" else SRULayerFunction.apply
    h, c_n = apply(x_gemm, weight, weight_c, bias, c0, x_skip,
                   _time_major_mask(mask_pad, batch_first), cfg, sink, layer)
    if rec:
        T, B = plan.T, plan.B
        view = lambda t: t.view(T, B, D, H).transpose(0, 1)  # noqa: E731 - [B, T, D, H]
        _record(tr, layer, view(sink["f"]), view(sink["r"]), view(sink["c"]), D, H, T)
    return h, c_n


# the Triton launches, which torch.compile steps around (rnnviz.device.eager_under_compile)
_apply_eagerly = eager_under_compile(SRULayerFunction.apply)
