"""rnnviz.ops.dense_scan against the float64 loop (the oracle), forward and backward.

Torch-path tests run in the normal pytest process; the Triton kernel tests (marked
interpreter + gpu) run under TRITON_INTERPRET=1 on small shapes and on the GPU.
"""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnviz.ops.dense_scan import dense_scan, dense_scan_adjoint, dense_scan_naive

TOL = {torch.float64: 1e-10, torch.float32: 2e-5}


def make(B, T, D, dtype=torch.float64, device="cpu", seed=0, gain=0.9):
    """Transition matrices of spectral radius about ``gain`` (no overflow at long T)."""
    g = torch.Generator().manual_seed(seed)
    J = torch.randn(B, T, D, D, generator=g, dtype=torch.float64) * gain / (D ** 0.5 + 1)
    b = torch.randn(B, T, D, generator=g, dtype=torch.float64)
    h0 = torch.randn(B, D, generator=g, dtype=torch.float64)
    return J.to(device, dtype), b.to(device, dtype), h0.to(device, dtype)


def rel_err(x, ref):
    ref = ref.double().cpu()
    return ((x.double().cpu() - ref).abs().max() / ref.abs().max().clamp_min(1.0)).item()


def test_naive_is_the_definition():
    J, b, h0 = make(2, 5, 3)
    h = dense_scan_naive(J, b, h0)
    assert torch.allclose(h[:, 0], (J[:, 0] @ h0[..., None])[..., 0] + b[:, 0])
    assert torch.allclose(h[:, 3], (J[:, 3] @ h[:, 2, :, None])[..., 0] + b[:, 3])
    hr = dense_scan_naive(J, b, h0, reverse=True)
    assert torch.allclose(hr[:, 4], (J[:, 4] @ h0[..., None])[..., 0] + b[:, 4])
    assert torch.allclose(hr[:, 1], (J[:, 1] @ hr[:, 2, :, None])[..., 0] + b[:, 1])


@pytest.mark.parametrize("T", [1, 2, 7, 31, 64, 127])
@pytest.mark.parametrize("D", [1, 3, 8])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("with_h0", [False, True])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_torch_forward(T, D, reverse, with_h0, dtype):
    J, b, h0 = make(2, T, D, dtype)
    h0 = h0 if with_h0 else None
    ref = dense_scan_naive(J, b, h0, reverse=reverse)
    out = dense_scan(J, b, h0, reverse=reverse, backend="torch")
    assert out.dtype == dtype and out.shape == b.shape
    assert rel_err(out, ref) < TOL[dtype]


@settings(max_examples=15, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(1, 70), D=st.integers(1, 6), reverse=st.booleans(),
       seed=st.integers(0, 1000))
def test_torch_forward_property(B, T, D, reverse, seed):
    J, b, h0 = make(B, T, D, seed=seed)
    ref = dense_scan_naive(J, b, h0, reverse=reverse)
    assert rel_err(dense_scan(J, b, h0, reverse=reverse, backend="torch"), ref) < 1e-10


@pytest.mark.parametrize("T", [1, 2, 9])
@pytest.mark.parametrize("reverse", [False, True])
def test_backward_gradcheck(T, reverse):
    J, b, h0 = make(2, T, 3)
    args = [t.clone().requires_grad_() for t in (J, b, h0)]
    assert torch.autograd.gradcheck(
        lambda J, b, h0: dense_scan(J, b, h0, reverse=reverse, backend="torch"), args)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("with_h0", [False, True])
def test_backward_matches_loop(reverse, with_h0):
    J, b, h0 = make(3, 23, 4)
    w = torch.randn(3, 23, 4, dtype=torch.float64)
    grads = []
    for fn in (lambda *a: dense_scan_naive(*a, reverse=reverse),
               lambda *a: dense_scan(*a, reverse=reverse, backend="torch")):
        args = [t.clone().requires_grad_() for t in (J, b, h0)]
        out = fn(args[0], args[1], args[2] if with_h0 else None)
        (out * w).sum().backward()
        grads.append([a.grad for a in args])
    for g_ref, g in zip(*grads):
        if g_ref is None:
            assert g is None or not with_h0
        else:
            assert rel_err(g, g_ref) < 1e-10


def test_adjoint_is_the_transposed_recurrence():
    """lambda_t = g_t + J_{t+1}^T lambda_{t+1}, by the loop."""
    J, g, _ = make(2, 11, 3)
    lam = dense_scan_adjoint(J, g, backend="torch")
    ref = torch.empty_like(g)
    ref[:, -1] = g[:, -1]
    for t in range(9, -1, -1):
        ref[:, t] = g[:, t] + (J[:, t + 1].mT @ ref[:, t + 1, :, None])[..., 0]
    assert rel_err(lam, ref) < 1e-12


def test_bad_inputs():
    J, b, h0 = make(2, 5, 3)
    with pytest.raises(ValueError, match=r"\[B, T, D, D\]"):
        dense_scan(J[..., 0], b)
    with pytest.raises(ValueError, match="J"):
        dense_scan(J[:, :4], b)
    with pytest.raises(ValueError, match="h0"):
        dense_scan(J, b, h0[:, :2])
    with pytest.raises(TypeError, match="dtype"):
        dense_scan(J.float(), b)
    with pytest.raises(ValueError, match="backend"):
        dense_scan(J, b, backend="cuda")


# ---------------------------------------------------------------------------------------
# Triton kernels (interpreter on the CPU, real on the GPU)
# ---------------------------------------------------------------------------------------
@pytest.mark.interpreter
@pytest.mark.gpu
# the last two have >= RECURSE_CHUNKS chunks: the carry walk is itself a dense scan (and
# D = 20 pads its carries to 32 lanes)
# D = 8 with contiguous rows: on a GPU a chunk per thread reads J_t with vector loads
@pytest.mark.parametrize("B,T,D,chunk", [(2, 1, 1, None), (2, 13, 3, 4), (1, 37, 5, 8),
                                         (2, 20, 16, 8), (1, 9, 20, 4), (2, 201, 3, 2),
                                         (1, 133, 20, 2), (2, 45, 8, 4)])
@pytest.mark.parametrize("reverse", [False, True])
def test_triton_forward(kernel_device, B, T, D, chunk, reverse):
    from rnnviz.kernels.deer import dense_scan_fwd

    J, b, h0 = make(B, T, D, torch.float32, kernel_device)
    ref = dense_scan_naive(J, b, h0, reverse=reverse)
    # a transposed (strided) J and no h0, as the adjoint uses it
    ref_t = dense_scan_naive(J.mT, b, None, reverse=reverse)
    # D <= 8: the chunk walks of both layouts (a chunk per thread, the default there from
    # B * T >= LANE_MIN_STEPS, and a chunk per program)
    for lanes in ((True, False) if D <= 8 else (None,)):
        out = dense_scan_fwd(J, b, h0, reverse=reverse, chunk=chunk, lanes=lanes)
        assert rel_err(out, ref) < 1e-5
        out_t = dense_scan_fwd(J.mT, b, None, reverse=reverse, chunk=chunk, lanes=lanes)
        assert rel_err(out_t, ref_t) < 1e-5
        # add: the base plus h in the same pass (Newton's iterate plus its correction)
        base = torch.randn_like(b)
        out_a = dense_scan_fwd(J, b, h0, reverse=reverse, chunk=chunk, lanes=lanes, add=base)
        assert rel_err(out_a, ref + base.double()) < 1e-5


def test_lanes_refuses_large_states():
    from rnnviz.kernels.deer import dense_scan_fwd

    J, b, _ = make(1, 4, 9, torch.float32, "cpu")
    with pytest.raises(ValueError, match="D <= 8, got D=9"):
        dense_scan_fwd(J, b, lanes=True)
    with pytest.raises(ValueError, match="add must have b's shape"):
        dense_scan_fwd(J, b, add=b[:, :2])


@pytest.mark.interpreter
@pytest.mark.gpu
@pytest.mark.parametrize("reverse", [False, True])
def test_triton_backward(kernel_device, reverse):
    J, b, h0 = make(2, 19, 4, torch.float32, kernel_device)
    w = torch.randn(2, 19, 4, device=kernel_device)
    grads = []
    for backend in ("triton", "reference"):
        args = [t.clone().requires_grad_() for t in (J, b, h0)]
        out = dense_scan(*args, reverse=reverse, backend=backend)
        (out * w).sum().backward()
        grads.append([a.grad for a in args])
    for g, g_ref in zip(*grads):
        assert rel_err(g, g_ref) < 1e-5


@pytest.mark.gpu
def test_triton_long_gpu(gpu):
    """Many chunks, tensor-core chunk products, against the float64 loop."""
    from rnnviz.kernels.deer import dense_scan_fwd

    for D in (4, 8, 32, 64):
        J, b, h0 = make(3, 3000, D, torch.float32, gpu)
        ref = dense_scan_naive(J.cpu(), b.cpu(), h0.cpu())
        assert rel_err(dense_scan_fwd(J, b, h0), ref) < 1e-4
        if D <= 8:  # a chunk per thread (vector loads at D = 8), recursing carries
            assert rel_err(dense_scan_fwd(J, b, h0, lanes=True, chunk=16), ref) < 1e-4
        assert rel_err(dense_scan(J, b, h0), ref) < 1e-4
