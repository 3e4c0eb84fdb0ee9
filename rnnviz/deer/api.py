"""``evaluate`` and ``sequential``: the public face of DEER (checks, defaults, autograd)."""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import nn

from rnnviz.checks import check_tensor
from rnnviz.deer import memory
from rnnviz.deer.cells import CellSpec, make_spec
from rnnviz.deer.grad import DeerFunction
from rnnviz.deer.solver import Options, default_max_iters, default_tol, sequential_states, solve
from rnnviz.device import resolve_backend

__all__ = ["evaluate", "sequential"]

METHODS = ("newton", "quasi", "damped")
FALLBACKS = ("sequential", "raise", "return")
# The Triton kernels hold S x S Jacobians in registers up to this state size (dense modes);
# quasi's diagonal has no such limit.
DENSE_MAX_S = 64


def _state_size(cell: Callable, h0: Any) -> int:
    if isinstance(cell, nn.LSTMCell):
        return 2 * cell.hidden_size
    if isinstance(cell, (nn.GRUCell, nn.RNNCell)):
        return cell.hidden_size
    if isinstance(h0, torch.Tensor) and h0.dim() >= 1:
        return h0.shape[-1]
    S = getattr(cell, "hidden_size", None)
    if isinstance(S, int):
        return S
    raise ValueError("cannot tell the state size of this cell: pass h0 [B, D] (or give the "
                     "cell a hidden_size attribute)")


def _setup(cell, x, h0) -> tuple[CellSpec, torch.Tensor]:
    if not callable(cell):
        raise TypeError(f"cell must be callable as cell(x_t, h_prev) -> h_t, got {type(cell).__name__}")
    if isinstance(x, torch.Tensor) and x.dim() == 2:
        raise ValueError(f"expected x of shape [B, T, D_in], got {list(x.shape)} (2 dimensions); "
                         "for one sequence add a batch dimension: x[None]")
    check_tensor("x", x, 3, dims="[B, T, D_in]")
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"DEER runs in float32 or float64, got x of dtype {x.dtype}; cast the "
                        "cell and the input (cell.float(), x.float()) and cast h back")
    B, T, Din = x.shape
    S = _state_size(cell, h0)
    spec = make_spec(cell, S)
    if isinstance(cell, (nn.GRUCell, nn.RNNCell, nn.LSTMCell)):
        if Din != cell.input_size:
            raise ValueError(f"expected x of shape [B, T, {cell.input_size}] for this "
                             f"{type(cell).__name__}(input_size={cell.input_size}), got {list(x.shape)}")
        if cell.weight_hh.dtype != x.dtype or cell.weight_hh.device != x.device:
            raise TypeError(f"x is {x.dtype} on {x.device} but the cell's weights are "
                            f"{cell.weight_hh.dtype} on {cell.weight_hh.device}; move one to the other")
    if isinstance(h0, (tuple, list)):  # an LSTM's (h0, c0)
        if not isinstance(cell, nn.LSTMCell) or len(h0) != 2:
            raise TypeError("h0 may be a (h0, c0) pair only for an nn.LSTMCell")
        h0 = torch.cat([torch.as_tensor(h0[0]), torch.as_tensor(h0[1])], -1)
    if h0 is None:
        h0 = torch.zeros(B, S, dtype=x.dtype, device=x.device)
    else:
        check_tensor("h0", h0, 2, dims=f"[B, {S}]")
        if tuple(h0.shape) != (B, S):
            raise ValueError(f"expected h0 of shape [{B}, {S}] (batch of x, the cell's state "
                             f"size{' 2*hidden_size, h then c' if S != getattr(cell, 'hidden_size', S) else ''}), "
                             f"got {list(h0.shape)}")
        if h0.device != x.device:
            raise ValueError(f"h0 is on {h0.device} but x is on {x.device}")
    if spec.kind == "generic" and T > 0:
        with torch.no_grad():
            out = spec.call(x[:, 0], h0)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(h0.shape):
            got = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"cell(x_t, h_prev) must return the next state with the shape of "
                             f"h_prev {list(h0.shape)}; it returned {got}. DEER needs a cell "
                             "whose state maps to a state of the same size")
    return spec, h0


def sequential(cell: Callable, x: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    """The plain loop h_t = cell(x_t, h_{t-1}) over t: DEER's oracle and fallback.

    Same conventions as :func:`evaluate` (x [B, T, D_in] -> h [B, T, S]; an LSTMCell's state
    is [h, c] flattened, S = 2 * hidden_size). Differentiable by ordinary autograd.
    """
    spec, h0 = _setup(cell, x, h0)
    return sequential_states(spec, x, h0)


def evaluate(cell: Callable, x: torch.Tensor, h0: torch.Tensor | None = None, *,
             method: str = "newton", tol: float | None = None, max_iters: int | None = None,
             init: torch.Tensor | None = None, damping: float | None = None,
             fallback: str = "sequential", backend: str = "auto",
             memory_limit: int | None = None, chunk: int | bool | None = None,
             graph: bool | None = None, fast_start: bool = True
             ) -> tuple[torch.Tensor, dict[str, Any]]:
    """Evaluate h_t = cell(x_t, h_{t-1}) for all t at once with Newton's method (DEER).

    Args:
        cell: ``cell(x_t, h_prev) -> h_t`` batched over rows: nn.GRUCell, nn.RNNCell,
            nn.LSTMCell (state [h, c] flattened: S = 2 * hidden_size) or any module or
            function of that shape (its Jacobian comes from torch.func.vmap(jacrev)).
        x: [B, T, D_in].
        h0: [B, S] (an LSTM also takes (h0, c0)); None for zeros.
        method: "newton" (dense Jacobians), "quasi" (their diagonal), "damped" (a trust
            region on the Jacobian with a Levenberg-Marquardt-style schedule and step
            rejection: Newton on contractive cells, stable on chaotic ones); the exact
            algorithms are in ``rnnviz.deer.solver``.
        tol: stop when max|h_t - f(h_{t-1}, x_t)| <= tol. Default 2e-6 in float32, 1e-11 in
            float64 (``rnnviz.deer.solver.TOL``).
        max_iters: default 100 (newton) / 300 (quasi, damped), at most T + 1.
        init: [B, T, S] a starting iterate (a previous solution: the warm start used in
            training); None starts from zeros.
        damping: the damped method's initial trust radius rho on ||J_t||_inf (default 1.0).
        fallback: when not converged: "sequential" (warn, return the exact loop's result),
            "raise" or "return" (warn, return the last iterate).
        backend: "auto" (Triton kernels on CUDA in float32, torch otherwise), "triton",
            "torch" or "reference" (float64 loops for the scans; slow).
        memory_limit: bytes DEER may use (default: ``rnnviz.deer.memory``); over it the
            sequence is solved in time chunks, or an error says what was needed.
        chunk: force a time-chunk length (int), or forbid chunking (False).
        graph: run each Newton iteration as one CUDA graph replay (``rnnviz.deer.graph``):
            at small state sizes the host time of an iteration's 10-20 kernel launches
            (hundreds of microseconds) dominates its GPU work, and a graph replays them for
            about 10 us. torch.nn's cells keep their graphs for the next solve of the same
            shapes, cell and options (new x, h0 and in-place weight updates are read), which
            then captures nothing. None (default): on CUDA with torch.nn's GRU, RNN and
            LSTM cells up to a working set of 1/16 of the device memory and 2^24 elements of
            iterate (larger solves are GPU-bound), not while a trace records iterations:
            "quasi" from the first solve, "newton" (3-4 iterations, too few to pay for a
            capture within one solve) from the second solve of the same key on; True:
            "newton" at once, any other cell (its code must be capture-safe, else a
            RuntimeError says so) and any size; False: never. Same results.
        fast_start: quasi with the fused GRU kernel at S > 32 (where its h GEMM runs as
            three tf32 products to keep float32's accuracy) evaluates the first iterations
            with one tf32 product (about 1e-3 error in f, 30-45% less kernel time on the
            H200) until the residual is below ``rnnviz.deer.solver.FAST_UNTIL`` or stops
            falling; the rest, and every convergence test, are exact (not with a CUDA
            graph). False: every evaluation exact.
    Returns:
        (h [B, T, S], info) with info["iterations"], ["converged"], ["residuals"] (one per
        iteration, the first for the initial guess), ["ms"] (wall time per iteration),
        ["fallback"] (None or "sequential"), ["diverged"], ["chunks"] (time chunks of the
        memory guard), ["damping"] and ["rejected"] (damped), ["graph"] (whether the
        iterations ran as a CUDA graph), ["fast"] (how many evaluations were the fast
        start's), ...
        h is differentiable (implicit gradients) in x, h0 and an nn.Module cell's parameters.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if fallback not in FALLBACKS:
        raise ValueError(f"fallback must be one of {FALLBACKS}, got {fallback!r}")
    spec, h0 = _setup(cell, x, h0)
    B, T, _ = x.shape
    S = spec.S
    if init is not None:
        check_tensor("init", init, 3, dims=f"[B, T, {S}]")
        if tuple(init.shape) != (B, T, S):
            raise ValueError(f"expected init of shape {[B, T, S]} (the shape of the solution), "
                             f"got {list(init.shape)}")
        init = init.detach()
    tol = default_tol(x.dtype) if tol is None else float(tol)
    max_iters = default_max_iters(method, T) if max_iters is None else int(max_iters)
    if not (tol > 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be a positive number, got {tol}")
    if max_iters < 0:
        raise ValueError(f"max_iters must be >= 0, got {max_iters}")
    rho = 1.0 if damping is None else float(damping)
    if not rho > 0:
        raise ValueError(f"damping (the trust radius rho) must be > 0, got {damping}")
    be = resolve_backend(backend, x.device, x.dtype)
    fused = False
    if be == "triton":
        if S > DENSE_MAX_S and method != "quasi":
            be = "torch" if backend == "auto" else be
            if be == "triton":
                raise ValueError(f"backend='triton' runs dense Jacobians up to "
                                 f"S={DENSE_MAX_S}, got S={S}; use method='quasi' or "
                                 "backend='torch'")
        # quasi's diagonal needs no S x S tile in registers: fused at any state size
        fused = spec.kind in ("gru", "rnn", "lstm") and (S <= DENSE_MAX_S or method == "quasi")
    precision = "tf32" if S >= 32 else "ieee"
    opt = Options(method, tol, max_iters, rho, fallback, be, fused, precision, graph,
                  bool(fast_start))
    chunk_T = memory.plan(B, T, S, x.dtype, method, x.device, memory_limit, chunk)
    grad_params = [p for p in spec.params]
    needs_grad = torch.is_grad_enabled() and (
        x.requires_grad or h0.requires_grad or any(p.requires_grad for p in grad_params))
    holder: dict[str, Any] = {}

    def run(xx: torch.Tensor, hh0: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            h, info = solve(spec, xx, hh0, init, opt, chunk_T)
        holder["info"] = info
        return h

    if not needs_grad:
        h = run(x, h0)
        return h, holder["info"]
    bwd_chunk = memory.plan(B, T, S, x.dtype, "backward", x.device, memory_limit, chunk)
    # the backward's dense scan (every method's) runs in Triton up to DENSE_MAX_S, in torch beyond
    bwd_be = "torch" if be == "reference" or (be == "triton" and S > DENSE_MAX_S) else be
    bwd = {"spec": spec, "params": grad_params, "backend": bwd_be,
           "fused": fused and S <= DENSE_MAX_S,  # the backward needs dense Jacobians
           "precision": precision, "chunk_T": bwd_chunk}
    h = DeerFunction.apply(run, bwd, x, h0, *grad_params)
    info = holder["info"]
    info["backward_chunk_T"] = bwd_chunk
    return h, info
