"""The DEER iteration: Newton's method on the whole sequence at once.

Write the recurrence h_t = f(h_{t-1}, x_t), t = 0..T-1, h_{-1} = h0, as the root of
r(h)_t = h_t - f(h_{t-1}, x_t). Around the iterate h^(i) (Lim et al. 2023, DEER), Newton's
step h^(i+1) = h^(i) + delta solves the linear recurrence

    delta_t = J_t delta_{t-1} + (f(h^(i)_{t-1}, x_t) - h^(i)_t),   delta_{-1} = 0,
    J_t = df/dh (h^(i)_{t-1}, x_t),

for all t with one parallel scan (the same as the paper's h_t = J_t h_{t-1} + b_t with
b_t = f_t - J_t h^(i)_{t-1}, written for the correction so that the scan's rounding is
relative to delta, which shrinks, rather than to h). Each iteration first evaluates f and J
at h^(i); the residual max_t |h^(i)_t - f(h^(i)_{t-1})| is then known, and the iteration
stops when it is <= tol (no extra evaluation is spent on the check). Every variant below
has the same fixed point, and each makes h_0..h_{i-1} exact after i iterations (the
recurrence is causal), so in exact arithmetic all converge within T iterations.

Methods (``J~`` is the matrix used in the scan; f is always exact):

- "newton": J~ = J (dense D x D, ``rnnviz.ops.dense_scan``); quadratic convergence.
- "quasi":  J~ = diag(J) (Gonzalez et al. 2024, quasi-DEER): an elementwise linear
  recurrence (``rnnviz.ops.linear_scan``), O(T D) memory; linear convergence. With the
  fused GRU kernel its scan solves for the next iterate itself (``Linearization.rhs``), and
  its first evaluations may be cheap ones (``Options.fast_start``: the h GEMM in one tf32
  product instead of three) until the residual is below ``FAST_UNTIL``: an inexact Newton
  start, since the iteration's fixed point depends on f only, and every residual that
  decides convergence comes from an exact evaluation.
- "damped": a trust region on the linear model, with a Levenberg-Marquardt-style schedule
  (in the spirit of ELK, Gonzalez et al. 2024): J~_t = s_t J_t, s_t = min(1, rho/||J_t||_inf).
  The scan then amplifies the correction by at most rho per step, so on a chaotic RNN
  (||J_t|| >> 1, where Newton's products of Jacobians overflow and its iterates diverge) the
  iterates stay finite, while the first unconverged step is still solved exactly. rho starts
  at ``damping`` (default 1.0). After each evaluation: a non-finite residual, or one over
  ``REJECT`` times the last accepted one, rejects the step (back to the accepted iterate,
  rho <- rho / 4); otherwise the step is accepted and rho <- 2 rho if the residual fell
  (towards Newton, up to ``RHO_MAX``), rho <- rho / 2 if it rose (towards the Picard step
  h_t = f(h_{t-1}), down to ``RHO_MIN``). On a contractive cell it becomes Newton within a
  few iterations. ELK proper damps with a Kalman smoother; this keeps DEER's dense scan.

On CUDA, "newton" and "quasi" can run their iterations as CUDA graphs
(``rnnviz.deer.graph``; automatically: small quasi solves, and small newton solves from
the second of the same shapes and cell on, whose graphs are kept): the same kernels and the
same bookkeeping below, with the launches of an iteration replayed at once instead of
issued one by one from Python (``Options.graph``; info["graph"]). The loop is written
once, over an iteration object: ``_Iteration`` (eager) or ``graph.GraphIteration`` (the
same step and check, captured).

Newton's last evaluation only confirms convergence, and its dense Jacobians would never be
used. Once the residuals predict convergence (``_expect_convergence``: they fall
quadratically), the next evaluation is a residual check that forms J's diagonal only
(info["checks"]); should the residual still be above tol, the full evaluation follows
(info["checks_missed"]) and the iteration goes on as before.

Not converged within ``max_iters`` (or a non-finite residual, i.e. divergence): a warning
with the residual, then ``fallback``: "sequential" (the exact loop, the default),
"raise" (:class:`DeerConvergenceError`) or "return" (the last iterate, converged False).
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import torch

from rnnviz.deer import graph
from rnnviz.deer.cells import CellSpec
from rnnviz.trace import active

__all__ = ["Options", "DeerConvergenceError", "solve", "sequential_states", "default_tol",
           "default_max_iters", "TOL", "MAX_ITERS"]

# Default tolerance on max|h_t - f(h_{t-1}, x_t)|: a few hundred ulps of O(1) states, which
# an exact Newton step reaches from 1e-3 in one or two iterations.
TOL = {torch.float64: 1e-11, torch.float32: 2e-6}
# Default iteration caps (also capped at T + 1: every method is exact after T iterations).
MAX_ITERS = {"newton": 100, "quasi": 300, "damped": 300}
TRACE_MAX_CHANNELS = 64  # channels of the iterate kept per trace record
RHO_MIN = 1e-3
RHO_MAX = 1e6
REJECT = 1e3
# quasi's fast start (``Options.fast_start``): cheap evaluations (f about 1e-3 off) until the
# residual is below FAST_UNTIL, well above that error so that the exact iterations after it
# start from about where exact ones would have been, or falls by less than FAST_STALL.
FAST_UNTIL = 1e-2
FAST_STALL = 0.5
# newton's predicted next residual must be <= tol / CHECK_MARGIN for a check-only evaluation.
# A check writes 2 B T S floats (J's diagonal, b) where a full evaluation writes B T S (S + 1),
# so a hit saves more than a miss costs: the prediction is taken at the tolerance itself.
CHECK_MARGIN = 1.0


class DeerConvergenceError(RuntimeError):
    """DEER did not converge and fallback="raise" was asked for."""


def default_tol(dtype: torch.dtype) -> float:
    return TOL.get(dtype, 1e-3)


def default_max_iters(method: str, T: int) -> int:
    return min(MAX_ITERS[method], T + 1)


@dataclass
class Options:
    method: str = "newton"
    tol: float = 2e-6
    max_iters: int = 100
    damping: float = 1.0
    fallback: str = "sequential"
    backend: str = "torch"          # the resolved backend of the scans
    fused: bool = False             # the fused Triton linearisation (GRU, RNN, LSTM cells)
    precision: str = "ieee"         # tl.dot precision of the dense scan's chunk products
    graph: bool | None = None       # iterations as a CUDA graph: None auto, True, False
    fast_start: bool = False        # cheap first evaluations where the cell has them

    def __post_init__(self):
        if self.graph is not None and not isinstance(self.graph, bool):
            raise TypeError(f"graph must be None (automatic), True or False, got {self.graph!r}")


def sequential_states(spec: CellSpec, x: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """The plain loop h_t = cell(x_t, h_{t-1}): the oracle and the fallback."""
    s = h0
    out = []
    for t in range(x.shape[1]):
        s = spec.call(x[:, t], s)
        out.append(s)
    return torch.stack(out, 1) if out else x.new_zeros(x.shape[0], 0, h0.shape[-1])


def _corrected(lin, h: torch.Tensor, opt: Options) -> torch.Tensor:
    """h + delta with delta_t = J~_t delta_{t-1} + b_t, delta_{-1} = 0 (h0 is fixed). The
    dense scan adds h as it stores delta (no pass of its own over memory)."""
    if opt.method == "quasi":
        from rnnviz.ops.linear_scan import linear_scan

        return h + linear_scan(lin.J, lin.b, None, backend=opt.backend)
    from rnnviz.ops.dense_scan.function import run_scan

    return run_scan(lin.J, lin.b, None, False, opt.backend, opt.precision, add=h)


def _next_iterate(lin, h: torch.Tensor, h0: torch.Tensor, opt: Options) -> torch.Tensor:
    """h + delta; or, where the linearisation's right-hand side is for the state itself
    (``lin.rhs`` "state": quasi with the fused GRU kernel), the scan h'_t = a_t h'_{t-1} + b_t
    from h0, which is the next iterate: no separate pass h + delta over memory."""
    if lin.rhs == "state":
        from rnnviz.ops.linear_scan import linear_scan

        return linear_scan(lin.J, lin.b, h0.to(lin.b.dtype), backend=opt.backend).to(h.dtype)
    return _corrected(lin, h, opt)


def _expect_convergence(opt: Options, residuals: list[float]) -> bool:
    """Whether newton's next residual is predicted at most tol / ``CHECK_MARGIN``: Newton's
    residuals fall quadratically, r_(i+1) ~ C r_i^2 with C ~ r_i / r_(i-1)^2, so the next one
    is about r_i^3 / r_(i-1)^2. Then the next evaluation is only a residual check: the dense
    J it would form (B T S^2 floats, 410 MB at B = 16, T = 1e5, S = 8) is never used once
    the iteration converges. A missed prediction costs that check, then the full evaluation."""
    if opt.method != "newton" or len(residuals) < 2:
        return False
    r0, r1 = residuals[-2], residuals[-1]
    if not (math.isfinite(r0) and math.isfinite(r1)) or r0 <= 0.0 or r1 >= r0:
        return False
    return r1 ** 3 / r0 ** 2 <= opt.tol / CHECK_MARGIN


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


class _Recorder:
    """Per-iteration trace records (only built when a trace is active and wants them)."""

    def __init__(self, T: int, S: int, t_offset: int, method: str):
        tr = active()
        self.tr = tr if tr is not None and tr.wants("deer", "iteration") else None
        if self.tr is None:
            return
        self.idx = self.tr.time_index(T)
        self.ch = torch.linspace(0, S - 1, min(S, TRACE_MAX_CHANNELS)).round().long()
        self.records, self.iterates = [], []
        self.t_offset, self.method = t_offset, method

    def add(self, i, h, f, residual, ms, rho, fast=False):
        if self.tr is None:
            return
        idx = self.idx.to(h.device)
        hs = h.detach().index_select(1, idx)[..., self.ch.to(h.device)].cpu()
        res_t = (h - f).detach().abs().amax(dim=(0, 2)).index_select(0, idx).cpu()
        data = {"h": hs, "residual_t": res_t, "residual": float(residual), "ms": float(ms)}
        if rho is not None:
            data["damping"] = float(rho)
        if fast:
            data["fast"] = True  # residual and f from the cheap evaluation
        meta = {"iteration": i, "method": self.method, "T": int(h.shape[1]),
                "t": (self.idx + self.t_offset).tolist(), "channels": self.ch.tolist(),
                "t_offset": self.t_offset}
        rec = self.tr.add("deer", "iteration", data, meta)
        if rec is not None:
            self.records.append(rec)
            self.iterates.append(hs)

    def finish(self, h_final: torch.Tensor, converged: bool):
        """err_t: each iterate's error against the converged solution, max over b and d."""
        if self.tr is None or not converged:
            return
        ref = h_final.detach().index_select(1, self.idx.to(h_final.device))[
            ..., self.ch.to(h_final.device)].cpu()
        for rec, hs in zip(self.records, self.iterates):
            rec.data["err_t"] = (hs - ref).abs().amax(dim=(0, 2))


class _Iteration:
    """One DEER iteration, run eagerly: ``evaluate(h, rho)`` linearises at h and returns the
    residual max|h - f| (the one synchronisation), ``advance(h)`` returns h + delta (the
    scan's correction). ``step(h)`` is both without a synchronisation: (residual tensor,
    h + delta), what ``rnnviz.deer.graph.GraphIteration`` captures."""

    def __init__(self, spec: CellSpec, x: torch.Tensor, h0: torch.Tensor, opt: Options,
                 record: bool, zero_start: bool = False):
        self.spec, self.opt, self.record = spec, opt, record
        self.mode = {"newton": "dense", "quasi": "diag", "damped": "clip"}[opt.method]
        self.pre = spec.prepare(x)
        self.h0 = h0.to(x.dtype)
        # one zeroed residual slot per evaluation for the fused kernel: no zeroing launch
        # (two per iteration: a residual check can be followed by the full linearisation)
        self.slots = (torch.zeros(2 * opt.max_iters + 2, device=x.device, dtype=torch.float32)
                      if opt.fused else None)
        self.n = 0
        self.lin = None
        self.zero = zero_start  # the next linearisation is at the all-zero first iterate
        # evaluate cheaply (the cell's fast evaluation) until the solver says otherwise
        self.fast = opt.fast_start and spec.has_fast_evaluation(self.mode, opt.fused)
        self.was_fast = False  # the last evaluate() was a fast one: its residual is approximate
        self.checked_only = False  # the last evaluate() formed no Jacobians to advance with
        self.checks = True  # evaluate(check_only=True) forms only what the residual needs

    def linearize(self, h: torch.Tensor, rho: float, res: torch.Tensor | None,
                  fast: bool = False, mode: str | None = None):
        zero, self.zero = self.zero, False
        return self.spec.linearize_shifted(self.pre, self.h0, h, mode or self.mode, rho,
                                           self.record, self.opt.fused, res, zero, fast)

    def evaluate(self, h: torch.Tensor, rho: float = 1.0, check_only: bool = False) -> float:
        """The residual at h, linearising there. ``check_only``: the residual is all that is
        wanted (the solver expects convergence), so only J's diagonal is formed, not the
        dense J [B, T, S, S]; ``advance`` then needs a full ``evaluate`` first."""
        slot = None if self.slots is None else self.slots[self.n:self.n + 1]
        self.n += 1
        self.lin = None  # free the last Jacobians first
        self.was_fast = self.fast
        mode = "diag" if check_only and self.mode != "diag" else None
        self.lin = self.linearize(h, rho, slot, self.fast, mode)
        self.checked_only = mode is not None
        return float(self.lin.residual)

    def advance(self, h: torch.Tensor) -> torch.Tensor:
        if self.checked_only:
            raise RuntimeError("DEER internal error: a residual check cannot advance the iterate")
        h = _next_iterate(self.lin, h, self.h0, self.opt)
        self.lin = None
        return h

    def step(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lin = self.linearize(h, 1.0, None)  # the fused kernel zeroes a fresh slot
        return lin.residual, _next_iterate(lin, h, self.h0, self.opt)

    def check(self, h: torch.Tensor) -> torch.Tensor:
        """The residual at h from a check-only evaluation (J's diagonal only), not synced:
        what ``graph.GraphIteration`` captures for ``evaluate(check_only=True)``."""
        return self.linearize(h, 1.0, None, mode="diag").residual

    def result(self, h: torch.Tensor) -> torch.Tensor:
        return h

    def info(self) -> dict[str, Any]:
        return {"graph": False}


def _solve_chunk(spec: CellSpec, x: torch.Tensor, h0: torch.Tensor, init: torch.Tensor | None,
                 opt: Options, t_offset: int) -> tuple[torch.Tensor, dict[str, Any]]:
    B, T, _ = x.shape
    S = spec.S
    rec = _Recorder(T, S, t_offset, opt.method)
    record = rec.tr is not None
    h = torch.zeros(B, T, S, dtype=x.dtype, device=x.device) if init is None else init.to(x.dtype)
    damped = opt.method == "damped"
    rho = float(opt.damping) if damped else 1.0
    residuals: list[float] = []
    times: list[float] = []
    converged = diverged = False
    t_last = time.perf_counter()
    it: Any = graph.iteration(_Iteration(spec, x, h0, opt, record, zero_start=init is None),
                              spec, x, opt, record)
    h_acc, r_acc, rejected = None, math.inf, 0
    n_fast, r_last = 0, math.inf
    check, n_checks, n_missed = False, 0, 0
    for i in range(opt.max_iters + 1):
        r = it.evaluate(h, rho, check_only=check)
        n_checks += check
        if check and not r <= opt.tol:  # the prediction missed: linearise fully after all
            n_missed += 1
            r = it.evaluate(h, rho)
        now = time.perf_counter()
        times.append((now - t_last) * 1e3)
        t_last = now
        residuals.append(r)
        fast = it.was_fast  # an approximate residual: never a convergence test
        n_fast += fast
        if record:
            rec.add(i, h, it.lin.f, r, times[-1], rho if damped else None, fast)
        if r <= opt.tol and not fast:
            converged = True
            break
        if fast and (r <= FAST_UNTIL or r > FAST_STALL * r_last):
            it.fast = False  # exact from the next evaluation on
        r_last = r
        if damped:
            if not math.isfinite(r) or r > REJECT * r_acc:
                if h_acc is None or i == opt.max_iters:
                    diverged = not math.isfinite(r)
                    break
                h, rho = h_acc, max(rho / 4, RHO_MIN)  # reject: shrink the trust region
                rejected += 1
                continue
            rho = min(2 * rho, RHO_MAX) if r < r_acc else max(rho / 2, RHO_MIN)
            h_acc, r_acc = h, r
        elif not math.isfinite(r):
            diverged = True
            break
        if i == opt.max_iters:
            break
        check = it.checks and _expect_convergence(opt, residuals)
        h = it.advance(h)
    h = it.result(h)  # not a graph's static iterate, which the next solve overwrites
    graph_info = it.info()
    del it  # a graph's memory pool with it, unless kept for the next solve
    if damped and not converged and h_acc is not None:
        h = h_acc  # never hand back a rejected step
    iters = len(residuals) - 1
    info = {"iterations": iters, "converged": converged, "diverged": diverged,
            "residuals": residuals, "ms": times, "fallback": None, "fast": n_fast,
            "checks": n_checks, "checks_missed": n_missed, **graph_info}
    if damped:
        info["damping"] = rho
        info["rejected"] = rejected
    rec.finish(h, converged)
    if not converged:
        why = "diverged (non-finite residual)" if diverged else f"did not converge in {iters} iterations"
        msg = (f"DEER method={opt.method!r} {why} on time steps {t_offset}..{t_offset + T - 1}: "
               f"residual max|h_t - f(h_(t-1), x_t)| = {residuals[-1]:.3g} > tol = {opt.tol:.3g}")
        if opt.fallback == "raise":
            raise DeerConvergenceError(msg + "; fallback='raise'. Try method='damped', a larger "
                                       "max_iters, or fallback='sequential'.")
        if opt.fallback == "sequential":
            warnings.warn(msg + "; falling back to the sequential loop (exact).", RuntimeWarning,
                          stacklevel=4)
            h = sequential_states(spec, x, h0.to(x.dtype))
            info["fallback"] = "sequential"
        else:
            warnings.warn(msg + "; returning the last iterate (fallback='return').",
                          RuntimeWarning, stacklevel=4)
    return h, info


def solve(spec: CellSpec, x: torch.Tensor, h0: torch.Tensor, init: torch.Tensor | None,
          opt: Options, chunk_T: int) -> tuple[torch.Tensor, dict[str, Any]]:
    """Solve over all of T, in time chunks of ``chunk_T`` steps (each starting from the last
    state of the one before). Returns h [B, T, S] and the info dict."""
    B, T, _ = x.shape
    if T == 0:
        return x.new_zeros(B, 0, spec.S), {"iterations": 0, "converged": True, "residuals": [],
                                           "ms": [], "fallback": None, "chunks": 1,
                                           "graph": False, "fast": 0}
    parts, infos = [], []
    start = h0
    for s in range(0, T, chunk_T):
        e = min(T, s + chunk_T)
        h_c, info_c = _solve_chunk(spec, x[:, s:e], start, None if init is None else init[:, s:e],
                                   opt, s)
        parts.append(h_c)
        infos.append(info_c)
        start = h_c[:, -1]
    h = parts[0] if len(parts) == 1 else torch.cat(parts, 1)
    info = dict(infos[0]) if len(infos) == 1 else {
        "iterations": sum(i["iterations"] for i in infos),
        "converged": all(i["converged"] for i in infos),
        "diverged": any(i["diverged"] for i in infos),
        "residuals": [r for i in infos for r in i["residuals"]],
        "ms": [m for i in infos for m in i["ms"]],
        "fallback": next((i["fallback"] for i in infos if i["fallback"]), None),
        "graph": all(i["graph"] for i in infos), "fast": sum(i["fast"] for i in infos),
        "per_chunk": infos}
    info.update(method=opt.method, tol=opt.tol, max_iters=opt.max_iters, chunks=len(infos),
                chunk_T=chunk_T, backend=opt.backend, fused=opt.fused)
    return h, info
