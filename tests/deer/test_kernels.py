"""DEER's Triton kernels (fused GRU/RNN/LSTM linearisation; DEER end to end on the Triton
backend)
against the torch path. Interpreter on the CPU (small shapes), real on the GPU."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnviz.deer import evaluate, sequential
from rnnviz.deer.cells import GRUSpec, make_spec

pytestmark = [pytest.mark.interpreter, pytest.mark.gpu]


CELLS = {"gru": lambda D: nn.GRUCell(4, D), "lstm": lambda D: nn.LSTMCell(4, D),
         "tanh": lambda D: nn.RNNCell(4, D, nonlinearity="tanh"),
         "relu": lambda D: nn.RNNCell(4, D, nonlinearity="relu")}


@pytest.mark.parametrize("kind,D", [("gru", 1), ("gru", 3), ("gru", 8), ("gru", 16), ("gru", 20),
                                    ("tanh", 1), ("tanh", 5), ("relu", 8), ("tanh", 16),
                                    ("lstm", 1), ("lstm", 3), ("lstm", 8)])
@pytest.mark.parametrize("mode", ["dense", "diag", "clip"])
def test_fused_linearize_matches_torch(kernel_device, kind, D, mode):
    """Each cell's fused kernel (J or its diagonal, b, f, the residual) against the torch
    linearization of the same spec."""
    _check_fused_linearize(kernel_device, kind, D, mode)


@pytest.mark.parametrize("kind", ["gru", "tanh", "lstm"])
def test_fused_diagonal_beyond_the_dense_limit(kernel_device, kind):
    """quasi's diagonal holds no S x S tile: the fused kernels run it at S > 64 too."""
    _check_fused_linearize(kernel_device, kind, 72, "diag")


def _check_fused_linearize(kernel_device, kind, D, mode):
    torch.manual_seed(D)
    cell = CELLS[kind](D)
    cell = cell.to(kernel_device)
    spec = make_spec(cell, 0)
    S = spec.S
    x = torch.randn(2, 5, 4, device=kernel_device)
    hp = torch.randn(2, 5, S, device=kernel_device)
    h = torch.randn(2, 5, S, device=kernel_device)
    with torch.no_grad():
        pre = spec.prepare(x)
        ref = spec.linearize(pre, hp, h, mode, 0.7, True, fused=False)
        out = spec.linearize(pre, hp, h, mode, 0.7, True, fused=True)
    for a, b in [(out.J, ref.J), (out.b, ref.b), (out.f, ref.f)]:
        assert a.shape == b.shape
        assert (a - b).abs().max().item() < 2e-5
    assert abs(out.residual.item() - ref.residual.item()) < 2e-5


def test_gru_linearize_flags_nan(kernel_device):
    cell = nn.GRUCell(2, 4).to(kernel_device)
    spec = GRUSpec(cell)
    hp = torch.zeros(1, 3, 4, device=kernel_device)
    h = torch.zeros(1, 3, 4, device=kernel_device)
    h[0, 1, 2] = float("nan")
    with torch.no_grad():
        lin = spec.linearize(spec.prepare(torch.randn(1, 3, 2, device=kernel_device)), hp, h,
                             "dense", fused=True)
    assert lin.residual.item() == float("inf")


@pytest.mark.parametrize("method", ["newton", "quasi", "damped"])
def test_evaluate_on_triton_backend(kernel_device, method):
    torch.manual_seed(0)
    cell = nn.GRUCell(3, 6).to(kernel_device)
    x = torch.randn(2, 40, 3, device=kernel_device, requires_grad=True)
    h0 = torch.randn(2, 6, device=kernel_device)
    ref = sequential(cell, x, h0)
    h, info = evaluate(cell, x, h0, method=method, backend="triton")
    assert info["converged"] and info["fused"] and info["backend"] == "triton"
    assert (h - ref).abs().max().item() < 2e-5
    w = torch.randn_like(ref)
    g = torch.autograd.grad((h * w).sum(), [x, cell.weight_hh])
    g_ref = torch.autograd.grad((ref * w).sum(), [x, cell.weight_hh])
    for a, b in zip(g, g_ref):
        assert (a - b).abs().max().item() < 1e-4


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
@pytest.mark.parametrize("method", ["newton", "quasi", "damped"])
def test_other_cells_on_triton_backend(kernel_device, kind, method):
    torch.manual_seed(0)
    cell = (nn.RNNCell(3, 5) if kind == "rnn" else nn.LSTMCell(3, 5)).to(kernel_device)
    x = torch.randn(2, 30, 3, device=kernel_device)
    h, info = evaluate(cell, x, method=method, backend="triton")
    assert info["converged"] and info["fused"]
    assert (h - sequential(cell, x)).abs().max().item() < 2e-5


def test_quasi_backward_over_the_dense_kernels_size(kernel_device):
    """quasi runs S > 64 on Triton (the fused diagonal linearisation); its implicit backward
    (dense Jacobians) then goes to torch (the Triton dense scan holds D x D in registers,
    D <= 64)."""
    torch.manual_seed(0)
    cell = nn.GRUCell(3, 65).to(kernel_device)
    x = torch.randn(1, 4, 3, device=kernel_device, requires_grad=True)
    h, info = evaluate(cell, x, method="quasi", backend="triton")
    assert info["backend"] == "triton" and info["fused"]
    g = torch.autograd.grad(h.sum(), [x, cell.weight_hh])
    g_ref = torch.autograd.grad(sequential(cell, x).sum(), [x, cell.weight_hh])
    for a, b in zip(g, g_ref):
        assert (a - b).abs().max().item() < 1e-4


def _gru_quasi_problem(dev, B, T, D, *, bias=True, zero=False):
    """(spec, prepared x, h0, iterate h) of a random GRU problem for the quasi kernel."""
    torch.manual_seed(B * 1000 + T + D)
    spec = GRUSpec(nn.GRUCell(4, D, bias=bias).to(dev))
    x = torch.randn(B, T, 4, device=dev)
    h0 = torch.randn(B, D, device=dev)
    h = torch.zeros(B, T, D, device=dev) if zero else torch.randn(B, T, D, device=dev)
    with torch.no_grad():
        return spec, spec.prepare(x), h0, h


_GEMM_CASES = [("diag", 1, 1, 1), ("diag", 2, 5, 3), ("diag", 3, 7, 16), ("diag", 2, 9, 20),
               ("diag", 1, 70, 72), ("diag", 2, 33, 130), ("dense", 1, 1, 1), ("dense", 2, 37, 8),
               ("dense", 3, 9, 5), ("dense", 2, 21, 16), ("clip", 2, 19, 8), ("clip", 1, 40, 13)]


@pytest.mark.parametrize("mode,B,T,D", _GEMM_CASES)
@pytest.mark.parametrize("record", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_gru_gemm_matches_torch(kernel_device, mode, B, T, D, record, bias):
    """The GRU kernel with the h GEMM inside (h_{t-1} read from the iterate, h0 at t = 0)
    against the torch linearisation at the explicitly shifted iterate: quasi's diagonal at
    any D, newton's J and damped's clipped J up to DENSE_GEMM_MAX_S (called directly: the
    GRU spec takes it in dense modes only where ``dense_gemm_pays``)."""
    from rnnviz.kernels.deer import gru_gemm_linearize

    spec, pre, h0, h = _gru_quasi_problem(kernel_device, B, T, D, bias=bias)
    rho = 0.7  # below ||J||_inf for most rows: "clip" scales them
    c = spec.module
    with torch.no_grad():
        hp = torch.cat([h0[:, None], h[:, :-1]], 1)
        ref = spec.linearize(pre, hp, h, mode, rho, record, fused=False)
        res = torch.zeros(1, device=kernel_device)
        J, b, f = gru_gemm_linearize(pre[0].reshape(B * T, 3 * D), h, h0, c.weight_hh,
                                     c.bias_hh, pre[1], res, mode, rho, record)
    pairs = [(J, ref.J), (b, ref.b)] + ([(f, ref.f)] if record else [])
    if mode == "diag":  # quasi's right-hand side for the next iterate: b = f - a h_{t-1}
        with torch.no_grad():
            _, b_state, _ = gru_gemm_linearize(pre[0].reshape(B * T, 3 * D), h, h0, c.weight_hh,
                                               c.bias_hh, pre[1], torch.zeros_like(res), mode,
                                               rho, record, rhs="state")
        pairs.append((b_state, ref.f - ref.J * hp))
    for a, b in pairs:
        assert a.numel() == b.numel()
        assert (a.reshape(b.shape) - b).abs().max().item() < 2e-5
    assert f is None or record
    assert abs(res.item() - ref.residual.item()) < 2e-5


def test_gru_gemm_state_rhs_is_quasi_only(kernel_device):
    from rnnviz.kernels.deer import gru_gemm_linearize

    spec, pre, h0, h = _gru_quasi_problem(kernel_device, 1, 4, 3)
    c = spec.module
    args = (pre[0].reshape(4, 9), h, h0, c.weight_hh, c.bias_hh, pre[1],
            torch.zeros(1, device=kernel_device))
    with pytest.raises(ValueError, match="rhs='state'.*'diag'.*'dense'"):
        gru_gemm_linearize(*args, "dense", rhs="state")
    with pytest.raises(ValueError, match="rhs must be.*'delta'"):
        gru_gemm_linearize(*args, "diag", rhs="delta")


def test_quasi_scans_for_the_next_iterate_with_the_fused_gru(kernel_device):
    """With the fused GRU kernel quasi's scan yields the next iterate itself (no h + delta);
    the solution is the sequential loop's, from zero and from a warm start, with h0."""
    torch.manual_seed(3)
    cell = nn.GRUCell(5, 7).to(kernel_device)
    x = torch.randn(2, 37, 5, device=kernel_device)
    h0 = torch.randn(2, 7, device=kernel_device)
    spec = make_spec(cell, 7)
    with torch.no_grad():
        lin = spec.linearize_shifted(spec.prepare(x), h0, torch.zeros(2, 37, 7, device=kernel_device),
                                     "diag", fused=True)
        ref = sequential(cell, x, h0)
        h, info = evaluate(cell, x, h0, method="quasi", backend="triton", graph=False)
        warm, info_w = evaluate(cell, x, h0, method="quasi", backend="triton", init=ref + 1e-3,
                                graph=False)
    assert lin.rhs == "state"
    assert info["converged"] and info_w["converged"] and info["fallback"] is None
    assert (h - ref).abs().max().item() < 1e-5
    assert (warm - ref).abs().max().item() < 1e-5
    assert info_w["iterations"] < info["iterations"]


def test_gru_spec_takes_the_gemm_kernel_where_it_pays(kernel_device, monkeypatch):
    """The GRU spec's dense linearisation goes to the GEMM-in-kernel variant exactly where
    ``dense_gemm_pays`` says so, and to the GEMM-outside kernel elsewhere."""
    import rnnviz.kernels.deer as kernels

    calls = []
    real = kernels.gru_gemm_linearize
    monkeypatch.setattr(kernels, "gru_gemm_linearize",
                        lambda *a, **k: calls.append(a[1].shape[-1]) or real(*a, **k))
    for D in (3, 8, 16, 20):
        spec, pre, h0, h = _gru_quasi_problem(kernel_device, 1, 5, D)
        with torch.no_grad():
            spec.linearize_shifted(pre, h0, h, "dense", fused=True)
    assert calls == [D for D in (3, 8, 16, 20) if kernels.dense_gemm_pays(D)] == [3, 8, 16]


def test_gru_gemm_dense_size_limit():
    """Dense Jacobians above DENSE_GEMM_MAX_S are refused with the limit in the message (the
    GRU spec then takes the GEMM-outside kernel)."""
    from rnnviz.kernels.deer import DENSE_GEMM_MAX_S
    from rnnviz.kernels.deer.gru import gemm_plan

    assert gemm_plan(DENSE_GEMM_MAX_S, "dense")[0][1] >= DENSE_GEMM_MAX_S
    with pytest.raises(ValueError, match=f"S <= {DENSE_GEMM_MAX_S}"):
        gemm_plan(DENSE_GEMM_MAX_S + 1, "clip")


@pytest.mark.parametrize("B,T,D", [(2, 1, 5), (2, 150, 16), (2, 37, 72)])
def test_gru_gemm_at_the_zero_iterate(kernel_device, B, T, D):
    """At the all-zero first iterate the kernel runs the GEMM only in programs holding a
    t = 0 row (h0 there): the same a, b and residual as the full computation."""
    spec, pre, h0, h = _gru_quasi_problem(kernel_device, B, T, D, zero=True)
    with torch.no_grad():
        full = spec.linearize_shifted(pre, h0, h, "diag", fused=True)
        fast = spec.linearize_shifted(pre, h0, h, "diag", fused=True, zero=True)
    # not bitwise: the two variants are separately compiled kernels (FMA contraction)
    torch.testing.assert_close(fast.J, full.J, rtol=0, atol=1e-6)
    torch.testing.assert_close(fast.b, full.b, rtol=0, atol=1e-6)
    assert abs(fast.residual.item() - full.residual.item()) <= 1e-6


def test_quasi_fast_start_on_the_kernel(kernel_device):
    """At S > 32 quasi's first evaluations take the one-tf32-product GEMM (on a GPU about
    1e-3 off; the interpreter computes it exactly), then exact ones; the answer is the
    sequential loop's, and fast_start=False runs none."""
    torch.manual_seed(4)
    cell = nn.GRUCell(40, 40).to(kernel_device)
    x = torch.randn(1, 60, 40, device=kernel_device)
    with torch.no_grad():
        ref = sequential(cell, x)
        h, info = evaluate(cell, x, method="quasi", backend="triton", graph=False)
        _, plain = evaluate(cell, x, method="quasi", backend="triton", graph=False,
                            fast_start=False)
    assert info["converged"] and info["fallback"] is None and info["fast"] >= 1
    assert plain["fast"] == 0
    assert (h - ref).abs().max().item() < 1e-5



@pytest.mark.parametrize("D", [3, 8])
def test_newton_residual_checks_on_the_kernels(kernel_device, D, monkeypatch):
    """Newton's check-only evaluations (the fused kernel's diagonal mode) and the dense
    scan that adds the correction to the iterate as it stores it: the same solve as
    without checks, and as the loop."""
    from rnnviz.deer import solver

    torch.manual_seed(D)
    cell = nn.GRUCell(4, D).to(kernel_device)
    x = torch.randn(2, 150, 4, device=kernel_device)
    with torch.no_grad():
        ref = sequential(cell, x)
        h, info = evaluate(cell, x, method="newton", graph=False)
        monkeypatch.setattr(solver, "CHECK_MARGIN", -1.0)  # never a check
        h_full, info_full = evaluate(cell, x, method="newton", graph=False)
    assert info["converged"] and info["checks"] >= 1 and info_full["checks"] == 0
    assert info["iterations"] == info_full["iterations"]
    assert (h - ref).abs().max().item() < 3e-5
    assert (h - h_full).abs().max().item() == 0.0
