"""rnnviz.deer.evaluate against the sequential loop: every cell, every method, gradients,
divergence and its cure, the memory guard, bad inputs, traces."""
from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import rnnviz
from rnnviz.deer import DeerConvergenceError, DeerMemoryError, evaluate, sequential
from rnnviz.deer.cells import GRUSpec, Linearization

METHODS = ["newton", "quasi", "damped"]
TOL = {torch.float64: 1e-9, torch.float32: 3e-5}


class MinimalCell(nn.Module):
    """A user cell torch.nn does not have: h' = tanh(W x + U h) * (1 - a) + a h."""

    def __init__(self, din, d):
        super().__init__()
        self.W = nn.Linear(din, d)
        self.U = nn.Linear(d, d, bias=False)
        self.a = nn.Parameter(torch.full((d,), 0.3))
        self.hidden_size = d

    def forward(self, x, h):
        return torch.tanh(self.W(x) + self.U(h)) * (1 - self.a) + self.a * h


def make_cell(kind, din=3, d=5, dtype=torch.float64):
    torch.manual_seed(1)
    cell = {"gru": lambda: nn.GRUCell(din, d), "rnn": lambda: nn.RNNCell(din, d),
            "relu": lambda: nn.RNNCell(din, d, nonlinearity="relu"),
            "lstm": lambda: nn.LSTMCell(din, d), "custom": lambda: MinimalCell(din, d)}[kind]()
    if kind == "relu":
        with torch.no_grad():
            cell.weight_hh.mul_(0.5)  # keep the relu RNN from growing without bound
    return cell.to(dtype)


def state_size(kind, d=5):
    return 2 * d if kind == "lstm" else d


def max_err(a, b):
    return (a.double() - b.double()).abs().max().item()


@pytest.mark.parametrize("kind", ["gru", "rnn", "relu", "lstm", "custom"])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("with_h0", [False, True])
def test_matches_sequential(kind, method, dtype, with_h0):
    cell = make_cell(kind, dtype=dtype)
    x = torch.randn(3, 41, 3, dtype=dtype)
    h0 = 0.5 * torch.randn(3, state_size(kind), dtype=dtype) if with_h0 else None
    ref = sequential(cell, x, h0)
    h, info = evaluate(cell, x, h0, method=method)
    assert info["converged"] and info["fallback"] is None
    assert h.shape == (3, 41, state_size(kind)) and h.dtype == dtype
    assert max_err(h, ref) < TOL[dtype]
    assert len(info["residuals"]) == info["iterations"] + 1 == len(info["ms"])
    assert info["residuals"][-1] <= info["tol"]


def test_lstm_takes_h0_c0_pair():
    cell = make_cell("lstm")
    x = torch.randn(2, 9, 3, dtype=torch.float64)
    h0, c0 = torch.randn(2, 5, dtype=torch.float64), torch.randn(2, 5, dtype=torch.float64)
    h, _ = evaluate(cell, x, (h0, c0))
    hs, cs = h0, c0
    for t in range(9):
        hs, cs = cell(x[:, t], (hs, cs))
    assert max_err(h[:, -1], torch.cat([hs, cs], -1)) < 1e-10


@settings(max_examples=12, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(1, 60), D=st.integers(1, 7),
       method=st.sampled_from(METHODS), seed=st.integers(0, 10_000))
def test_gru_property(B, T, D, method, seed):
    torch.manual_seed(seed)
    cell = nn.GRUCell(2, D).double()
    x = torch.randn(B, T, 2, dtype=torch.float64)
    h0 = torch.randn(B, D, dtype=torch.float64)
    h, info = evaluate(cell, x, h0, method=method)
    assert info["converged"]
    assert max_err(h, sequential(cell, x, h0)) < 1e-9


def test_newton_converges_quadratically():
    cell = make_cell("gru")
    x = torch.randn(2, 200, 3, dtype=torch.float64)
    _, info = evaluate(cell, x, method="newton", tol=1e-14)
    r = info["residuals"]
    # once the error is small, each step roughly squares it
    small = [i for i in range(len(r) - 1) if 1e-12 < r[i] < 1e-3]
    assert small and all(r[i + 1] < 10 * r[i] ** 1.5 for i in small)


@pytest.mark.parametrize("kind", ["gru", "lstm", "custom"])
def test_newton_checks_the_residual_only_where_it_expects_convergence(kind, monkeypatch):
    """Once Newton's residuals predict convergence, the next evaluation forms only the
    residual (and J's diagonal), not the dense J; where the prediction misses, the full
    linearisation follows and the solve is the same."""
    from rnnviz.deer import solver

    cell = make_cell(kind, dtype=torch.float32)
    x = torch.randn(2, 300, 3)
    ref = sequential(cell, x)
    h, info = evaluate(cell, x, method="newton")
    assert info["converged"] and info["checks"] >= 1
    assert info["checks_missed"] <= info["checks"]
    assert max_err(h, ref) < TOL[torch.float32]
    # a margin that predicts convergence far too early: every check misses but the last,
    # and the answer and the number of iterations are those of a solve without checks
    monkeypatch.setattr(solver, "CHECK_MARGIN", 1e-30)
    h2, info2 = evaluate(cell, x, method="newton")
    monkeypatch.setattr(solver, "CHECK_MARGIN", -1.0)  # never a check
    h3, info3 = evaluate(cell, x, method="newton")
    assert info3["checks"] == 0
    assert info2["checks_missed"] >= 1 and info2["checks"] - info2["checks_missed"] <= 1
    assert info2["iterations"] == info3["iterations"]
    assert info2["residuals"] == pytest.approx(info3["residuals"], rel=1e-5, abs=1e-12)
    assert max_err(h2, h3) == 0.0


def test_init_warm_start():
    cell = make_cell("gru")
    x = torch.randn(2, 50, 3, dtype=torch.float64)
    ref = sequential(cell, x)
    _, cold = evaluate(cell, x)
    h, info = evaluate(cell, x, init=ref)
    assert info["iterations"] == 0 and max_err(h, ref) == 0
    h, warm = evaluate(cell, x, init=ref + 1e-4 * torch.randn_like(ref))
    assert warm["converged"] and warm["iterations"] < cold["iterations"]
    assert max_err(h, ref) < 1e-9


class _NoisyFastGRU(GRUSpec):
    """A GRU spec whose fast evaluation is f + 1e-3 noise (what quasi's one-tf32-product GEMM
    does on the GPU), to test the solver's fast start on any device."""

    def has_fast_evaluation(self, mode, fused):
        return True

    def linearize_shifted(self, pre, h0, h, mode="dense", rho=1.0, record=False,
                          fused=False, res=None, zero=False, fast=False):
        lin = super().linearize_shifted(pre, h0, h, mode, rho, record, fused, res, zero)
        if not fast:
            return lin
        noise = 1e-3 * torch.sin(torch.arange(h.numel(), dtype=h.dtype)).view_as(h)
        f = lin.f + noise
        return Linearization(lin.J, lin.b + noise, (h - f).abs().amax(), f, lin.rhs)


@pytest.mark.parametrize("tol", [2e-6, 0.5])
def test_quasi_fast_start_never_converges_on_a_cheap_evaluation(tol):
    """Fast evaluations run until the residual is below FAST_UNTIL; no residual of one
    decides convergence (tol = 0.5 is met by the first fast residual already), and the
    answer is the sequential loop's."""
    from rnnviz.deer.solver import FAST_UNTIL, Options, solve

    torch.manual_seed(0)
    cell = nn.GRUCell(3, 6)
    x = torch.randn(2, 40, 3)
    h0 = torch.zeros(2, 6)
    spec = _NoisyFastGRU(cell)
    opt = Options("quasi", tol, 100, backend="torch", fast_start=True)
    with torch.no_grad():
        h, info = solve(spec, x, h0, None, opt, 40)
        _, exact = solve(spec, x, h0, None, Options("quasi", tol, 100, backend="torch"), 40)
        ref = sequential(cell, x, h0)
    res = info["residuals"]
    assert info["converged"] and exact["fast"] == 0
    assert info["fast"] >= 1 and all(r > FAST_UNTIL for r in res[:info["fast"] - 1])
    assert res[-1] <= tol and info["iterations"] >= info["fast"]
    if tol < 1e-3:
        assert (h - ref).abs().max().item() < 3e-5
        assert info["iterations"] <= exact["iterations"] + 2


def test_time_steps_one_and_zero():
    cell = make_cell("gru")
    x = torch.randn(2, 1, 3, dtype=torch.float64)
    h, info = evaluate(cell, x)
    assert max_err(h, sequential(cell, x)) < 1e-12 and info["iterations"] <= 2
    h, info = evaluate(cell, torch.zeros(2, 0, 3, dtype=torch.float64))
    assert h.shape == (2, 0, 5) and info["converged"]


# -- gradients ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["gru", "rnn", "lstm", "custom"])
@pytest.mark.parametrize("method", METHODS)
def test_backward_matches_autograd_through_loop(kind, method):
    cell = make_cell(kind)
    x = torch.randn(2, 23, 3, dtype=torch.float64)
    h0 = 0.5 * torch.randn(2, state_size(kind), dtype=torch.float64)
    w = torch.randn(2, 23, state_size(kind), dtype=torch.float64)
    grads = []
    for run in (lambda x, h0: sequential(cell, x, h0),
                lambda x, h0: evaluate(cell, x, h0, method=method)[0]):
        cell.zero_grad()
        xr, h0r = x.clone().requires_grad_(), h0.clone().requires_grad_()
        ((run(xr, h0r) * w).sum() + run(xr, h0r)[:, -1].pow(2).sum()).backward()
        grads.append([xr.grad, h0r.grad] + [p.grad.clone() for p in cell.parameters()])
    for g, g_ref in zip(grads[1], grads[0]):
        assert max_err(g, g_ref) < 1e-8


def test_gradient_only_to_what_requires_it():
    cell = make_cell("gru")
    for p in cell.parameters():
        p.requires_grad_(False)
    x = torch.randn(2, 10, 3, dtype=torch.float64, requires_grad=True)
    h, _ = evaluate(cell, x)
    h.sum().backward()
    ref = x.detach().clone().requires_grad_()
    sequential(cell, ref).sum().backward()
    assert max_err(x.grad, ref.grad) < 1e-9
    assert all(p.grad is None for p in cell.parameters())


def test_a_model_with_a_deer_layer_trains():
    torch.manual_seed(0)
    cell = nn.GRUCell(1, 8)
    head = nn.Linear(8, 1)
    opt = torch.optim.Adam(list(cell.parameters()) + list(head.parameters()), lr=3e-2)
    x = torch.randn(8, 30, 1)
    y = torch.cumsum(x, 1) * 0.3  # a running sum: needs the recurrence
    losses = []
    init = None
    for _ in range(40):
        h, info = evaluate(cell, x, init=init)
        assert info["converged"]
        init = h.detach()  # the paper's warm start across training steps
        loss = (head(h) - y).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# -- divergence and its cure -------------------------------------------------------------
def chaotic_rnn():
    """A tanh RNN with recurrent gain 2: chaotic; Newton's Jacobian products overflow in
    float32 over 300 steps (its first step is already non-finite)."""
    torch.manual_seed(2)
    cell = nn.RNNCell(4, 8)
    with torch.no_grad():
        cell.weight_hh.copy_(torch.randn(8, 8) * 2.0 / 8 ** 0.5)
    return cell, torch.randn(1, 300, 4)


def test_chaotic_newton_fails_loudly_and_falls_back():
    cell, x = chaotic_rnn()
    with pytest.warns(RuntimeWarning, match="residual"):
        h, info = evaluate(cell, x, method="newton")
    assert not info["converged"] and info["diverged"] and info["fallback"] == "sequential"
    assert torch.equal(h, sequential(cell, x))  # the exact loop, not a wrong answer


def test_chaotic_damped_converges():
    cell, x = chaotic_rnn()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning
        h, info = evaluate(cell, x, method="damped")
    assert info["converged"] and info["fallback"] is None
    assert all(torch.isfinite(torch.tensor(info["residuals"])))
    # chaos amplifies float32 rounding; both are valid trajectories to this accuracy
    assert max_err(h[:, :100], sequential(cell, x)[:, :100]) < 1e-4


def test_fallback_options():
    cell, x = chaotic_rnn()
    with pytest.raises(DeerConvergenceError, match="residual"):
        evaluate(cell, x, method="newton", fallback="raise")
    with pytest.warns(RuntimeWarning, match="last iterate"):
        h, info = evaluate(cell, x[:, :50], method="quasi", max_iters=3, fallback="return")
    assert not info["converged"] and info["fallback"] is None and info["iterations"] == 3


# -- memory guard ------------------------------------------------------------------------
def test_memory_guard_raises_with_bytes_and_hint():
    cell = make_cell("gru")
    x = torch.randn(2, 500, 3, dtype=torch.float64)
    with pytest.raises(DeerMemoryError, match=r"bytes.*quasi"):
        evaluate(cell, x, memory_limit=10_000)
    with pytest.raises(DeerMemoryError, match="B\\*T\\*S\\*S"):
        evaluate(cell, x, memory_limit=500_000, chunk=False)


def test_memory_guard_chunks_over_time():
    cell = make_cell("gru")
    x = torch.randn(2, 500, 3, dtype=torch.float64, requires_grad=True)
    ref = sequential(cell, x)
    h, info = evaluate(cell, x, memory_limit=200_000)
    assert info["chunks"] > 1 and info["converged"] and info["backward_chunk_T"] < 500
    assert max_err(h, ref) < 1e-9
    w = torch.randn_like(ref)
    g_ref = torch.autograd.grad((ref * w).sum(), [x] + list(cell.parameters()))
    g = torch.autograd.grad((h * w).sum(), [x] + list(cell.parameters()))
    for a, b in zip(g, g_ref):
        assert max_err(a, b) < 1e-8


def test_memory_limit_setting():
    from rnnviz.deer import memory

    cell = make_cell("gru")
    x = torch.randn(1, 300, 3, dtype=torch.float64)
    memory.set_limit(5_000)
    try:
        with pytest.raises(DeerMemoryError):
            evaluate(cell, x)
        h, info = evaluate(cell, x, method="quasi", memory_limit=10**9)
        assert info["chunks"] == 1
    finally:
        memory.set_limit(None)
    with pytest.raises(ValueError):
        memory.set_limit(0)


# -- bad inputs --------------------------------------------------------------------------
def test_bad_inputs_have_clear_errors():
    cell = make_cell("gru")
    x = torch.randn(2, 7, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"\[B, T, D_in\].*x\[None\]"):
        evaluate(cell, x[0])
    with pytest.raises(ValueError, match=r"\[B, T, D_in\]"):
        evaluate(cell, x[None])
    with pytest.raises(ValueError, match="input_size=3"):
        evaluate(cell, torch.randn(2, 7, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="h0"):
        evaluate(cell, x, torch.zeros(2, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="method"):
        evaluate(cell, x, method="euler")
    with pytest.raises(ValueError, match="fallback"):
        evaluate(cell, x, fallback="ignore")
    with pytest.raises(ValueError, match="init"):
        evaluate(cell, x, init=torch.zeros(2, 7, 4, dtype=torch.float64))
    with pytest.raises(TypeError, match="weights"):
        evaluate(cell, x.float())
    with pytest.raises(ValueError, match="state size"):
        evaluate(lambda x, h: h, x)
    with pytest.raises(TypeError, match="float32 or float64"):
        evaluate(cell.half(), x.half())


def test_cell_whose_output_shape_differs():
    lin = nn.Linear(3 + 5, 6).double()

    def bad_cell(x, h):
        return torch.tanh(lin(torch.cat([x, h], -1)))  # 6 outputs for a 5-dim state

    x = torch.randn(2, 7, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"same size.*|shape of h_prev"):
        evaluate(bad_cell, x, torch.zeros(2, 5, dtype=torch.float64))


def test_plain_function_cell():
    W = torch.randn(4, 4, dtype=torch.float64) * 0.3
    x = torch.randn(2, 15, 4, dtype=torch.float64)
    fn = lambda x, h: torch.tanh(x + h @ W.T)  # noqa: E731
    h, info = evaluate(fn, x, torch.zeros(2, 4, dtype=torch.float64))
    assert info["converged"] and max_err(h, sequential(fn, x, torch.zeros(2, 4, dtype=torch.float64))) < 1e-9


# -- instrumentation ---------------------------------------------------------------------
def test_trace_records_every_iteration():
    cell = make_cell("gru", d=6)
    x = torch.randn(2, 120, 3, dtype=torch.float64)
    with rnnviz.trace(max_steps=32) as tr:
        h, info = evaluate(cell, x, method="damped")
    recs = tr.filter(op="deer", kind="iteration")
    assert len(recs) == info["iterations"] + 1
    for i, r in enumerate(recs):
        assert r.meta["iteration"] == i and r.meta["method"] == "damped"
        assert r.data["h"].shape == (2, 32, 6) and r.data["residual_t"].shape == (32,)
        assert r.data["residual"] == pytest.approx(info["residuals"][i])
        assert r.data["err_t"].shape == (32,) and "damping" in r.data and r.data["ms"] >= 0
    assert recs[-1].data["err_t"].max() == 0  # the converged iterate is the solution
    assert recs[0].data["err_t"].max() > 0
    assert recs[-1].data["residual_t"].max() <= info["tol"]


def test_no_trace_no_records():
    cell = make_cell("gru")
    x = torch.randn(2, 10, 3, dtype=torch.float64)
    with rnnviz.trace(what={"linear_scan"}) as tr:
        evaluate(cell, x)
    assert tr.filter(op="deer") == []
