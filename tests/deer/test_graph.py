"""DEER's iterations as a CUDA graph (``rnnviz.deer.graph``).

On the CPU: when the graph path is taken (never here), the ``graph`` option, and the graph
loop's bookkeeping with a stand-in for the CUDA graph (capture runs the step once for its
output tensors, then poisons them; replay runs it again into them), against the eager loop.
On a GPU (``-m gpu``): the real graph against the eager loop, forward and backward.
"""
from __future__ import annotations

import warnings
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from rnnviz.deer import evaluate, graph, sequential
from rnnviz.deer.solver import Options


# -- when the graph path is taken ----------------------------------------------------------
def _wanted(graph_opt=None, method="quasi", backend="triton", device="cuda", kind="gru",
            record=False, S=8):
    x = SimpleNamespace(device=torch.device(device), shape=(2, 100, 4), dtype=torch.float32)
    return graph.wanted(graph_opt, method, backend, x, S, kind, record)


def test_wanted_rules(monkeypatch):
    monkeypatch.setattr(graph, "_total_memory", lambda index: 80 << 30)
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert _wanted() and _wanted(kind="lstm")
    # newton (3-4 iterations) only when asked: a capture did not pay on the H200
    assert not _wanted(method="newton") and _wanted(method="newton", graph_opt=True)
    assert not _wanted(method="damped") and not _wanted(method="damped", graph_opt=True)
    assert not _wanted(record=True) and not _wanted(backend="reference")
    assert not _wanted(graph_opt=False)
    assert not _wanted(kind="generic") and _wanted(kind="generic", graph_opt=True)
    assert not _wanted(device="cpu") and not _wanted(device="cpu", graph_opt=True)
    assert not _wanted(S=10**6) and _wanted(S=10**6, graph_opt=True)  # over MAX_FRACTION
    # an iterate of B * T * S = 200 S elements over MAX_ELEMENTS: GPU-bound, not graphed
    monkeypatch.setattr(graph, "_total_memory", lambda index: 1 << 50)
    assert _wanted(S=graph.MAX_ELEMENTS // 200) and not _wanted(S=graph.MAX_ELEMENTS // 200 + 1)
    assert _wanted(S=graph.MAX_ELEMENTS // 200 + 1, graph_opt=True)
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert not _wanted() and not _wanted(graph_opt=True)


@pytest.mark.parametrize("method", ["newton", "quasi", "damped"])
@pytest.mark.parametrize("opt", [None, True, False])
def test_cpu_never_takes_the_graph(method, opt):
    cell = nn.GRUCell(3, 5).double()
    x = torch.randn(2, 30, 3, dtype=torch.float64)
    h, info = evaluate(cell, x, method=method, graph=opt)
    assert info["graph"] is False and "graph_error" not in info and info["converged"]


def test_graph_option_is_checked():
    cell = nn.GRUCell(3, 5).double()
    x = torch.randn(2, 7, 3, dtype=torch.float64)
    for bad in ("yes", 1, 0.0):
        with pytest.raises(TypeError, match=r"graph must be None \(automatic\), True or False"):
            evaluate(cell, x, graph=bad)
    with pytest.raises(TypeError, match="graph must be"):
        Options(graph="auto")
    assert Options().graph is None and Options(graph=False).graph is False


@pytest.mark.interpreter
def test_interpreter_never_takes_the_graph(kernel_device):
    if kernel_device.type != "cpu":
        pytest.skip("the interpreter case (make test's interpreter run)")
    cell = nn.GRUCell(3, 6)
    x = torch.randn(2, 20, 3)
    h, info = evaluate(cell, x, method="quasi", backend="triton", graph=True)
    assert info["graph"] is False and info["fused"] and info["converged"]


# -- the graph loop's bookkeeping, with a stand-in graph on the CPU ------------------------
class FakeGraph:
    """A CUDA graph's contract on the CPU: the outputs are static tensors whose values are
    only defined after ``replay``."""

    captures = 0

    def __init__(self, fn, out):
        self.fn, self.out = fn, out
        FakeGraph.captures += 1

    def replay(self):
        for o, n in zip(self.out, self.fn()):
            o.copy_(n)


def fake_capture(fn, device):
    out = fn()
    for o in out:
        o.fill_(float("nan"))  # not computed yet: a read before replay would show
    return FakeGraph(fn, out), out


def failing_capture(fn, device):
    raise RuntimeError("capture refused")


@pytest.fixture
def fake_graph(monkeypatch):
    """The graph path on the CPU with FakeGraph (the streams become no-ops)."""
    monkeypatch.setattr(graph, "wanted", lambda g, *a: g is not False)
    monkeypatch.setattr(graph, "_side_stream", lambda device: _null())
    monkeypatch.setattr(graph, "_capture", fake_capture)
    FakeGraph.captures = 0
    return monkeypatch


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _pair(cell, x, **kw):
    """(eager, graph) results of the same solve."""
    return evaluate(cell, x, graph=False, **kw), evaluate(cell, x, graph=None, **kw)


def _same(eager, graphed):
    (h_e, i_e), (h_g, i_g) = eager, graphed
    assert i_g["graph"] is True
    assert torch.equal(h_e, h_g)
    for k in ("iterations", "converged", "diverged", "fallback"):
        assert i_e[k] == i_g[k], k
    assert list(map(repr, i_e["residuals"])) == list(map(repr, i_g["residuals"]))  # nan too
    assert len(i_g["ms"]) == len(i_g["residuals"])


@pytest.mark.parametrize("method", ["newton", "quasi"])
@pytest.mark.parametrize("T", [1, 17, 200])
def test_fake_graph_loop_matches_eager(fake_graph, method, T):
    torch.manual_seed(T)
    cell = nn.GRUCell(3, 5).double()
    x = torch.randn(2, T, 3, dtype=torch.float64)
    h0 = torch.randn(2, 5, dtype=torch.float64)
    init = 0.1 * torch.randn(2, T, 5, dtype=torch.float64)
    init_copy = init.clone()
    eager, graphed = _pair(cell, x, h0=h0, init=init, method=method)
    _same(eager, graphed)
    assert torch.equal(init, init_copy)  # the static iterate is a copy, never the caller's
    assert (graphed[0] - sequential(cell, x, h0)).abs().max() < 1e-9
    assert FakeGraph.captures == 1  # once per solve, after the eager first iteration


def test_fake_graph_first_iteration_converged_captures_nothing(fake_graph):
    cell = nn.GRUCell(3, 5).double()
    x = torch.randn(2, 30, 3, dtype=torch.float64)
    ref = sequential(cell, x)
    eager, graphed = _pair(cell, x, init=ref)
    _same(eager, graphed)
    assert graphed[1]["iterations"] == 0 and FakeGraph.captures == 0


def test_fake_graph_max_iters_and_return(fake_graph):
    cell = nn.GRUCell(3, 5).double()
    x = torch.randn(1, 50, 3, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for n in (0, 1, 3):
            _same(*_pair(cell, x, method="quasi", max_iters=n, fallback="return"))


def test_fake_graph_divergence_falls_back(fake_graph):
    torch.manual_seed(2)
    cell = nn.RNNCell(4, 8)
    with torch.no_grad():
        cell.weight_hh.copy_(torch.randn(8, 8) * 2.0 / 8 ** 0.5)
    x = torch.randn(1, 300, 4)
    with pytest.warns(RuntimeWarning, match="residual"):
        eager, graphed = _pair(cell, x, method="newton")
    _same(eager, graphed)
    assert graphed[1]["diverged"] and graphed[1]["fallback"] == "sequential"


def test_fake_graph_chunks(fake_graph):
    cell = nn.GRUCell(3, 5).double()
    x = torch.randn(2, 300, 3, dtype=torch.float64)
    eager, graphed = _pair(cell, x, method="quasi", chunk=100)
    _same(eager, graphed)
    assert graphed[1]["chunks"] == 3 and FakeGraph.captures == 3


def test_failed_capture_says_so(fake_graph):
    fake_graph.setattr(graph, "_capture", failing_capture)
    cell = nn.GRUCell(3, 5).double()
    x = torch.randn(2, 40, 3, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="could not capture.*capture refused.*graph=False"):
        evaluate(cell, x, method="quasi", graph=True)


def test_fake_graph_backward(fake_graph):
    cell = nn.GRUCell(3, 5).double()
    x = torch.randn(2, 25, 3, dtype=torch.float64)
    w = torch.randn(2, 25, 5, dtype=torch.float64)
    grads = []
    for opt in (False, None):
        xr = x.clone().requires_grad_()
        h, info = evaluate(cell, xr, method="newton", graph=opt)
        assert info["graph"] is (opt is None)
        grads.append(torch.autograd.grad((h * w).sum(), [xr, cell.weight_hh]))
    for a, b in zip(*grads):
        assert torch.equal(a, b)


# -- the real graph on a GPU -----------------------------------------------------------------
def _gpu_pair(gpu, method, B, T, D=8, dtype=torch.float32, seed=0):
    torch.manual_seed(seed)
    cell = nn.GRUCell(4, D).to(gpu, dtype)
    x = torch.randn(B, T, 4, device=gpu, dtype=dtype)
    h0 = 0.5 * torch.randn(B, D, device=gpu, dtype=dtype)
    init = 0.1 * torch.randn(B, T, D, device=gpu, dtype=dtype)
    # a graph replays exact evaluations only: the eager solve without quasi's fast start
    out = [evaluate(cell, x, h0, method=method, init=init, graph=g, fast_start=False)
           for g in (False, True)]
    return cell, x, h0, out


def _check_gpu_pair(out, tol=1e-6):
    (h_e, i_e), (h_g, i_g) = out
    assert i_g["graph"] is True, i_g.get("graph_error")
    assert i_e["graph"] is False
    assert torch.allclose(h_g, h_e, rtol=0, atol=tol)
    assert i_g["iterations"] == i_e["iterations"] and i_g["converged"] and i_e["converged"]
    # same kernels; the sequence-parallel scan's look-back may combine in another order
    assert i_g["residuals"] == pytest.approx(i_e["residuals"], rel=1e-3, abs=1e-6)


@pytest.mark.gpu
@pytest.mark.parametrize("method", ["quasi", "newton"])
@pytest.mark.parametrize("B", [1, 3])
@pytest.mark.parametrize("T", [1, 17, 1000])
def test_gpu_graph_matches_eager(gpu, method, B, T):
    cell, x, h0, out = _gpu_pair(gpu, method, B, T)
    _check_gpu_pair(out)
    assert out[1][1]["fused"]
    assert (out[1][0] - sequential(cell, x, h0)).abs().max().item() < 1e-4
    # the automatic choice takes the graph for quasi only
    assert evaluate(cell, x, h0, method=method)[1]["graph"] is (method == "quasi")


@pytest.mark.gpu
@pytest.mark.parametrize("method,D,dtype", [("quasi", 96, torch.float32),   # fused diagonal, S > 64
                                            ("newton", 8, torch.float64),   # torch backend
                                            ("quasi", 8, torch.float64)])
def test_gpu_graph_other_paths(gpu, method, D, dtype):
    _, _, _, out = _gpu_pair(gpu, method, 3, 500, D=D, dtype=dtype)
    _check_gpu_pair(out, tol=1e-6 if dtype == torch.float32 else 1e-12)


@pytest.mark.gpu
@pytest.mark.parametrize("method", ["quasi", "newton"])
def test_gpu_graph_backward(gpu, method):
    torch.manual_seed(0)
    cell = nn.GRUCell(4, 8).to(gpu)
    x = torch.randn(3, 300, 4, device=gpu)
    h0 = torch.randn(3, 8, device=gpu)
    w = torch.randn(3, 300, 8, device=gpu)
    grads = []
    for opt in (False, True):
        xr, h0r = x.clone().requires_grad_(), h0.clone().requires_grad_()
        h, info = evaluate(cell, xr, h0r, method=method, graph=opt)
        assert info["graph"] is opt
        grads.append(torch.autograd.grad((h * w).sum(), [xr, h0r, *cell.parameters()]))
    for a, b in zip(*grads):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.gpu
def test_gpu_graph_chunks_repeat_and_keep_init(gpu):
    torch.manual_seed(0)
    cell = nn.GRUCell(4, 8).to(gpu)
    x = torch.randn(2, 1000, 4, device=gpu)
    init = 0.1 * torch.randn(2, 1000, 8, device=gpu)
    init_copy = init.clone()
    ref, _ = evaluate(cell, x, method="quasi", graph=False)
    for _ in range(3):  # a capture per solve, in the one shared pool
        h, info = evaluate(cell, x, method="quasi", chunk=300, init=init, graph=True)
        assert info["graph"] is True and info["chunks"] == 4
        assert torch.allclose(h, ref, rtol=0, atol=1e-4)
    assert torch.equal(init, init_copy)


@pytest.mark.gpu
def test_gpu_graph_failed_capture_raises(gpu):
    """A cell that synchronises cannot be captured: a clear error, not a quiet fallback. In a
    process of its own: a failed capture leaves torch's CUDA generator unusable there."""
    import subprocess
    import sys

    code = """
import torch
from rnnviz.deer import evaluate
W = 0.3 * torch.randn(6, 6, device="cuda")
def cell(x, h):
    torch.cuda.synchronize()  # fine eagerly, not allowed while capturing
    return torch.tanh(x + h @ W.T)
x = torch.randn(2, 50, 6, device="cuda")
try:
    evaluate(cell, x, torch.zeros(2, 6, device="cuda"), method="quasi", graph=True)
except RuntimeError as e:
    print("RAISED", e)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "RAISED DEER could not capture" in out.stdout, out.stdout + out.stderr
    assert "graph=False" in out.stdout
