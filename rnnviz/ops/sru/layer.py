"""``sru_layer``: one SRU layer, the GEMM U = x W and the fused recurrence as one autograd node.

The recurrence alone (``sru_recurrence``) is one node; wrapping x W around it through autograd
adds the matmul's own node, views and a gradient accumulation for x (which feeds both the
GEMM and the skip term) -- a few dozen small host-side calls per layer that, at the paper's
sizes, cost more than the GPU work. Here the backward does, with cuBLAS:

    dx = dx' + dU W^T    (one addmm_, in place on dx', the skip term's gradient)
    dW = x^T dU

The GEMM runs in the autocast dtype like any torch matmul. The backward's GEMMs run in the
dtype the forward's ran in (U's), by explicit casts rather than by re-entering autocast
(``torch.amp.custom_bwd``): see :func:`rnnviz.device.backward_outside_autocast`.
"""
from __future__ import annotations

import torch

from rnnviz.checks import check_tensor
from rnnviz.device import backward_outside_autocast, eager_under_compile, resolve_backend
from rnnviz.trace import active

from .function import (_bwd_impl, _Cfg, _check, _fwd_impl, _record, _stage, _time_major_mask,
                       choose_recurrence, sru_recurrence)

__all__ = ["sru_layer"]


class SRULayerFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, weight_c, bias, c0, x_skip, mask_tm, cfg: _Cfg, sink, layer):
        with _stage("gemm", x.device, layer):
            U = torch.mm(x.reshape(-1, x.shape[-1]), weight).view(*x.shape[:-1], weight.shape[1])
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
            ctx.save_for_backward(x, weight, weight_c, bias, c0, x_skip, mask_tm, U, c_all)
        return h, (c_n if c_n.dtype == U.dtype else c_n.to(U.dtype))

    @staticmethod
    @backward_outside_autocast
    def backward(ctx, grad_h, grad_cn):
        cfg = ctx.cfg
        x, weight, weight_c, bias, c0, x_skip, mask_tm, U, c_all = ctx.saved_tensors
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
        x2 = x.reshape(-1, x.shape[-1])  # the engine casts each gradient back to its input's
        need = ctx.needs_input_grad
        gx = gW = None
        if need[0]:
            if cfg.skip_is_input and cfg.K == 3:
                # in place on the skip term's gradient, a buffer of this backward's own:
                # torch.addmm would first copy it into a new output (on the H100 profile, a
                # cudaMemcpyAsync of 29 us host time a step, benchmarks/profile-host-h100-s36.txt)
                gx = g_skip.reshape(x2.shape).to(cd).addmm_(gU2, weight.to(cd).t())
            else:
                gx = torch.mm(gU2, weight.to(cd).t())
            gx = gx.view(x.shape)
        if need[1]:
            gW = torch.mm(x2.to(cd).t(), gU2)
        return (gx, gW, None if weight_c is None else gwc, gbias,
                None if c0 is None else gc0, g_skip if x_skip is not None else None,
                None, None, None, None)


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
    if x.stride(-1) != 1:
        x = x.contiguous()
    c0 = c0 if c0 is None or c0.is_contiguous() else c0.contiguous()
    x_gemm = x if input_mask is None else x * input_mask.unsqueeze(1 if batch_first else 0)
    be = resolve_backend(backend, x.device, x.dtype)
    algo = choose_recurrence(recurrence, weight_c is not None, x.device, B * D * H, T)
    if be == "reference" or algo == "scan":
        with _stage("gemm", x.device, layer):
            U = x_gemm @ weight
        return sru_recurrence(U, weight_c, bias, c0, x=x if K == 3 else None, scale_x=scale_x,
                              activation=activation, mask_pad=mask_pad, num_directions=D,
                              batch_first=batch_first, recurrence=algo, backend=backend,
                              layer=layer)
    tr = active()
    rec = tr is not None and tr.wants("sru", "gates", layer)
    sink: dict | None = {} if rec else None
    need_grad = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (x, weight, weight_c, bias, c0))
    skip_is_input = K == 3 and input_mask is None
    cfg = _Cfg(D, H, K, float(scale_x), activation == "tanh", batch_first, be, need_grad,
               skip_is_input)
    x_skip = x if (K == 3 and not skip_is_input) else None
    apply = _apply_eagerly if be == "triton" else SRULayerFunction.apply
    h, c_n = apply(x_gemm, weight, weight_c, bias, c0, x_skip,
                   _time_major_mask(mask_pad, batch_first), cfg, sink, layer)
    if rec:
        view = lambda t: t.view(T, B, D, H).transpose(0, 1)  # noqa: E731 - [B, T, D, H]
        _record(tr, layer, view(sink["f"]), view(sink["r"]), view(sink["c"]), D, H, T)
    return h, c_n


# the Triton launches, which torch.compile steps around (rnnviz.device.eager_under_compile)
_apply_eagerly = eager_under_compile(SRULayerFunction.apply)
