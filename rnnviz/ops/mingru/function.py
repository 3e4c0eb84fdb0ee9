"""The public op: ``min_recurrence(P, h0, *, cell, hidden_size, ...) -> h``.

One layer of minGRU / minLSTM (Feng et al. 2024) after its GEMM: P holds the pre-activations
of every time step, h_t = a_t h_{t-1} + w_t h~_t is solved for each direction (see
``gates.py``). Modes:

- "parallel": on CUDA the fused Triton kernel (``rnnviz.kernels.mingru``: gates, scan and
  output in one pass; the backward recomputes the gates), wrapped in
  :class:`MinRNNFunction`; on a CPU the gates in torch and ``rnnviz.ops.linear_scan``'s
  vectorised scan (autograd through both);
- "log": the paper's log-space formulation (``log_space.py``); needs positive=True;
- "sequential": the loop over time (``naive.py``), in the input's dtype.

Inside ``rnnviz.trace()`` it records, per direction, the gates (op "mingru"/"minlstm", kind
"gates": {"z"} or {"f", "i"}) and, in "parallel" mode, the scan's chunks and carries
through the scan's own record (op "linear_scan", kind "chunks"); the recurrence is a stage.
With no trace active it does nothing else.
"""
from __future__ import annotations

import torch

from rnnviz.checks import check_tensor
from rnnviz.device import eager_under_compile, resolve_backend
from rnnviz.ops.linear_scan import ScanParts, linear_scan
from rnnviz.ops.linear_scan.function import record_chunks as record_scan
from rnnviz.trace import Trace, active, stage

from .gates import CELLS, candidate, coefficients, gate_record
from .log_space import min_rnn_log
from .naive import min_rnn_loop, min_rnn_reference

MODES = ("parallel", "log", "sequential")


def _kernels():
    from rnnviz.kernels import mingru as k  # imported on first GPU/interpreter use

    return k


def split(P: torch.Tensor, cell: str, H: int, D: int, d: int):
    """Direction d's views (g1, g2, c) of the pre-activations P [B, T, K*D*H], whose columns
    are [gate 1 | gate 2 (minLSTM) | candidate], each D*H wide, direction-major."""
    K = 3 if cell == "minlstm" else 2
    cols = lambda j: P[..., j * D * H + d * H: j * D * H + (d + 1) * H]  # noqa: E731
    return cols(0), (cols(1) if K == 3 else None), cols(K - 1)


def _new_out(P: torch.Tensor, width: int) -> torch.Tensor:
    """[B, T, width] in P's memory order (time-major P gives a time-major output)."""
    B, T, _ = P.shape
    if P.stride(0) >= P.stride(1):
        return torch.empty(B, T, width, device=P.device, dtype=P.dtype)
    return torch.empty(T, B, width, device=P.device, dtype=P.dtype).transpose(0, 1)


def _record_gates(tr: Trace, op: str, cell: str, a: torch.Tensor, w: torch.Tensor, d: int,
                  layer: int | None) -> None:
    data = {k: tr.subsample(v) for k, v in gate_record(cell, a, w).items()}
    tr.add(op, "gates", data, {"direction": d, "T": int(w.shape[1])}, layer)


def fused_forward(P: torch.Tensor, h0: torch.Tensor | None, cell: str, H: int, D: int,
                  positive: bool, layer) -> torch.Tensor:
    """h [B, T, D*H] from the pre-activations P [B, T, K*D*H] by the fused kernels, one
    launch per direction; inside a trace, also what it wants recorded."""
    k = _kernels()
    out = _new_out(P, D * H)
    tr = active()
    want_gates = tr is not None and tr.wants(cell, "gates", layer)
    want_scan = tr is not None and tr.wants("linear_scan", "chunks")
    for d in range(D):
        g1, g2, c = split(P, cell, H, D, d)
        h_d = out[..., d * H:(d + 1) * H]
        rec = k.min_rnn_fwd(g1, g2, c, None if h0 is None else h0[d], h_d, kind=cell,
                            positive=positive, reverse=d == 1,
                            record=want_gates or want_scan)
        if want_gates:
            data = {"z": rec.w} if cell == "mingru" else {"f": rec.a, "i": rec.w}
            tr.add(cell, "gates", {n: tr.subsample(v) for n, v in data.items()},
                   {"direction": d, "T": int(P.shape[1])}, layer)
        if want_scan:
            record_scan(tr, ScanParts(h_d, rec.local, rec.carries, rec.chunk), rec.path,
                        d == 1, "triton", "forward")
    return out


def fused_backward(P: torch.Tensor, h0: torch.Tensor | None, out: torch.Tensor,
                   grad_out: torch.Tensor, cell: str, H: int, D: int, positive: bool,
                   with_bias: bool = False):
    """(dL/dP, dL/dh0 [D, B, H] float32 | None, dL/d(bias) [K*D*H] float32 | None) by the
    fused backward kernels; the bias gradient (the sums of dL/dP over batch and time) comes
    from the kernels' own partial sums."""
    k = _kernels()
    if grad_out.stride(-1) != 1:
        grad_out = grad_out.contiguous()
    dP = torch.empty_like(P)
    gb = torch.empty(D, 3, H, device=P.device, dtype=torch.float32) if with_bias else None
    dh0 = []
    for d in range(D):
        g1, g2, c = split(P, cell, H, D, d)
        d1, d2, dc = split(dP, cell, H, D, d)
        dh0.append(k.min_rnn_bwd(g1, g2, c, None if h0 is None else h0[d],
                                 out[..., d * H:(d + 1) * H], grad_out[..., d * H:(d + 1) * H],
                                 d1, d2, dc, kind=cell, positive=positive, reverse=d == 1,
                                 grad_bias=None if gb is None else gb[d]))
    grad_bias = None
    if gb is not None:  # [D, 3, H] -> the columns of P: block-major, then direction
        # rows (0, 2) for minGRU by a strided slice: indexing with a Python list copies the
        # list to the GPU, a synchronising host-to-device copy in the middle of the backward
        grad_bias = (gb if cell == "minlstm" else gb[:, 0::2]).transpose(0, 1).reshape(-1)
    return dP, (None if h0 is None else torch.stack(dh0)), grad_bias


class MinRNNFunction(torch.autograd.Function):
    """Autograd around the fused kernels: P [B, T, K*D*H], h0 [D, B, H] -> h [B, T, D*H]."""

    @staticmethod
    def forward(ctx, P, h0, cell: str, H: int, D: int, positive: bool, layer):
        out = fused_forward(P, h0, cell, H, D, positive, layer)
        ctx.save_for_backward(P, h0, out)
        ctx.cfg = (cell, H, D, positive)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        P, h0, out = ctx.saved_tensors
        cell, H, D, positive = ctx.cfg
        dP, dh0, _ = fused_backward(P, h0, out, grad_out, cell, H, D, positive)
        grad_h0 = dh0.to(h0.dtype) if h0 is not None and ctx.needs_input_grad[1] else None
        return dP, grad_h0, None, None, None, None, None


def _direction(P, h0, cell, H, D, d, positive, mode, backend, layer, tr):
    """h of direction d on the torch paths: "torch" scan, "reference", "log", "sequential".

    float16/bfloat16 gates are computed in float32 (as the kernel does in registers) except
    in "log" mode, which runs in the input's dtype as the paper's code does."""
    g1, g2, c = split(P, cell, H, D, d)
    h0d = None if h0 is None else h0[d]
    rev = d == 1
    if mode != "log" and P.dtype in (torch.float16, torch.bfloat16):
        up = lambda x: None if x is None else x.float()  # noqa: E731
        g1, g2, c, h0d = up(g1), up(g2), up(c), up(h0d)
    if tr is not None and tr.wants(cell, "gates", layer):
        with torch.no_grad():
            a, w = coefficients(cell, g1, g2)
        _record_gates(tr, cell, cell, a, w, d, layer)
    if mode == "log":
        return min_rnn_log(cell, g1, g2, c, h0d, reverse=rev)
    if mode == "sequential":
        return min_rnn_loop(cell, g1, g2, c, h0d, positive=positive, reverse=rev)
    if backend == "reference":
        return min_rnn_reference(cell, g1, g2, c, h0d, positive=positive, reverse=rev).to(P.dtype)
    a, w = coefficients(cell, g1, g2)
    return linear_scan(a, w * candidate(c, positive), h0d, reverse=rev, backend="torch")


def _check(P, h0, cell, H, D, positive, mode) -> None:
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not isinstance(H, int) or H < 1:
        raise ValueError(f"hidden_size must be a positive int, got {H!r}")
    if D not in (1, 2):
        raise ValueError(f"num_directions must be 1 or 2, got {D!r}")
    K = 3 if cell == "minlstm" else 2
    check_tensor("P", P, 3, dims=f"[B, T, {K * D * H}]")
    if P.shape[-1] != K * D * H:
        raise ValueError(f"expected P of shape [B, T, {K * D * H}] ({K} blocks of num_directions * "
                         f"hidden_size = {D * H} pre-activations for {cell}), got {list(P.shape)}")
    if P.shape[1] == 0:
        raise ValueError(f"expected P with T >= 1 time steps (dim 1 of [B, T, N]), got {list(P.shape)}")
    if h0 is not None:
        check_tensor("h0", h0, 3, dims=f"[{D}, B, {H}]")
        if list(h0.shape) != [D, P.shape[0], H]:
            raise ValueError(f"expected h0 of shape [num_directions, B, hidden_size] = "
                             f"{[D, P.shape[0], H]}, got {list(h0.shape)}")
        if h0.device != P.device:
            raise ValueError(f"h0 is on {h0.device} but the input is on {P.device}")
    if mode == "log":
        if not positive:
            raise ValueError("mode='log' computes log(h~_t), so it needs positive candidates: "
                             "use positive=True (the paper's g(x) = x + 0.5 for x >= 0, sigmoid(x) "
                             "below), or mode='parallel', which works for any sign")
        if h0 is not None and bool((h0 < 0).any()):
            raise ValueError("mode='log' takes log(h0), so it needs h0 >= 0; got negative values "
                             "(use mode='parallel' for any h0)")


def min_recurrence(P: torch.Tensor, h0: torch.Tensor | None = None, *, cell: str = "mingru",
                   hidden_size: int, num_directions: int = 1, positive: bool = False,
                   mode: str = "parallel", backend: str = "auto", layer: int | None = None) -> torch.Tensor:
    """The recurrence of one minGRU / minLSTM layer, given its pre-activations.

        h_t = a_t * h_{t-1} + w_t * h~_t     (direction 1 runs t = T-1 .. 0)

    Args:
        P: [B, T, K*D*H] pre-activations (any batch/time strides, channels contiguous):
            columns [k | hc] for minGRU (K = 2), [kf | ki | hc] for minLSTM (K = 3), each
            block D*H wide with direction d at d*H .. (d+1)*H.
        h0: [D, B, H] initial states, or None (zeros).
        cell: "mingru" | "minlstm".  positive: h~ = g(hc) (the paper's positive map).
        mode: "parallel" | "log" (needs positive=True) | "sequential".
        backend: for "parallel": "auto" (Triton on CUDA, torch elsewhere), "triton",
            "torch", "reference" (the float64 loop).
        layer: the layer index recorded with the gates.
    Returns:
        h [B, T, D*H] in P's dtype (and, for the kernel, P's batch/time memory order).
    """
    _check(P, h0, cell, hidden_size, num_directions, positive, mode)
    H, D = hidden_size, num_directions
    if mode == "parallel":
        backend = resolve_backend(backend, P.device, P.dtype)
    tr = active()
    with stage(cell, "recurrence", P.device, layer):
        if mode == "parallel" and backend == "triton":
            return _apply_eagerly(P, h0, cell, H, D, bool(positive), layer)
        hs = [_direction(P, h0, cell, H, D, d, positive, mode, backend, layer, tr).to(P.dtype)
              for d in range(D)]
        return hs[0] if D == 1 else torch.cat(hs, -1)


# the Triton launches, which torch.compile steps around (rnnviz.device.eager_under_compile)
_apply_eagerly = eager_under_compile(MinRNNFunction.apply)
