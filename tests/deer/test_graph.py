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
    # newton (3-4 iterations): at once only when asked (a capture per solve did not pay on
    # the H200); automatically from a repeated solve (``repeat``), which replays kept graphs
    assert not _wanted(method="newton") and _wanted(method="newton", graph_opt=True)
    x = SimpleNamespace(device=torch.device("cuda"), shape=(2, 100, 4), dtype=torch.float32)
    assert graph.wanted(None, "newton", "triton", x, 8, "gru", False, repeat=True)
    assert not graph.wanted(None, "damped", "triton", x, 8, "gru", False, repeat=True)
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
    """The graph path on the CPU with FakeGraph (the streams become no-ops). No graphs kept
    from another test: a FakeGraph, unlike a CUDA graph, runs the module it was made with."""
    monkeypatch.setattr(graph, "wanted", lambda g, *a: g is not False)
    monkeypatch.setattr(graph, "_side_stream", lambda device: _null())
    monkeypatch.setattr(graph, "_capture", fake_capture)
    FakeGraph.captures = 0
    graph.release()
    yield monkeypatch
    graph.release()


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _pair(cell, x, graph_opt=True, **kw):
    """(eager, graph) results of the same solve."""
    return evaluate(cell, x, graph=False, **kw), evaluate(cell, x, graph=graph_opt, **kw)


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
    # the step after the eager first iteration (if there was a second), newton's check
    # after its eager run
    assert FakeGraph.captures == graphed[1]["graph_captures"] > 0 or T == 1
    assert graphed[1]["graph_captures"] == (graphed[1]["iterations"] > 0) + (
        graphed[1]["checks"] > 0)
    # the same solve again replays what was kept: no capture, the same answer
    again = evaluate(cell, x, h0=h0, init=init, method=method, graph=True)
    _same(eager, again)
    assert again[1]["graph_captures"] == 0 and again[1]["graph_kept"]
    assert again[1]["graph_replays"] == again[1]["iterations"] + 1 + again[1]["checks_missed"]
    assert again[0] is not graphed[0] and torch.equal(again[0], graphed[0])


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
    # the chunks share a key (same shapes, cell, options): captured in the first one only
    assert graphed[1]["chunks"] == 3 and FakeGraph.captures == 1


def test_fake_graph_newton_from_its_second_solve(fake_graph):
    """Automatically newton is graphed from the second solve of a key on (a one-off solve
    pays no capture), quasi from the first; a kept solve replays its step and its check."""
    torch.manual_seed(0)
    cell = nn.GRUCell(3, 5).double()
    x = torch.randn(2, 200, 3, dtype=torch.float64)
    ref = sequential(cell, x)
    runs = [evaluate(cell, x, method="newton") for _ in range(3)]
    assert [r[1]["graph"] for r in runs] == [False, True, True]
    assert runs[1][1]["graph_captures"] == 2 and runs[2][1]["graph_captures"] == 0  # step, check
    assert all(r[1]["checks"] == 1 and r[1]["converged"] for r in runs)
    for h, info in runs:
        assert torch.equal(h, runs[0][0]) and info["residuals"] == runs[0][1]["residuals"]
        assert (h - ref).abs().max() < 1e-9
    assert evaluate(cell, x, method="quasi")[1]["graph_captures"] == 1  # quasi: at once
    # new x of the same shape: the kept graphs, this solve's answer
    x2 = torch.randn_like(x)
    h2, info2 = evaluate(cell, x2, method="newton")
    assert info2["graph_captures"] == 0 and (h2 - sequential(cell, x2)).abs().max() < 1e-9


def test_fake_graph_kept_per_cell_and_shape(fake_graph):
    """Another cell (other parameters), another shape, a relu RNN: captured anew; an
    in-place update of the weights: replayed, with the new weights."""
    torch.manual_seed(1)
    x = torch.randn(2, 60, 3, dtype=torch.float64)
    a, b = nn.GRUCell(3, 5).double(), nn.GRUCell(3, 5).double()
    caps = lambda cell, xx: evaluate(cell, xx, graph=True)[1]["graph_captures"]  # noqa: E731
    assert caps(a, x) > 0 and caps(a, x) == 0 and caps(b, x) > 0 and caps(a, x[:, :50]) > 0
    with torch.no_grad():
        a.weight_hh.mul_(0.5)
    h, info = evaluate(a, x, graph=True)
    assert info["graph_captures"] == 0 and (h - sequential(a, x)).abs().max() < 1e-9
    tanh, relu = nn.RNNCell(3, 5).double(), nn.RNNCell(3, 5, nonlinearity="relu").double()
    with torch.no_grad():
        relu.weight_hh.mul_(0.3)
    assert caps(tanh, x) > 0 and caps(relu, x) > 0
    assert sum(len(t) for t in graph._KEPT.values()) <= graph.KEEP_SOLVES


def test_fake_graph_unkeyed_cells_capture_per_solve(fake_graph):
    """An unfused LSTM (its linearisation reads matrices made per call) and any other cell
    have no replay key: a capture in every solve, nothing kept."""
    torch.manual_seed(2)
    lstm = nn.LSTMCell(3, 4).double()
    W = 0.3 * torch.randn(5, 5, dtype=torch.float64)
    x = torch.randn(2, 40, 3, dtype=torch.float64)
    for cell, xx in ((lstm, x), (lambda xt, h: torch.tanh(xt @ W[:3] + h @ W), x)):
        infos = [evaluate(cell, xx, torch.zeros(2, 5 if cell is not lstm else 8,
                                                dtype=torch.float64), graph=True)[1]
                 for _ in range(2)]
        assert [i["graph_captures"] > 0 and not i["graph_kept"] for i in infos] == [True, True]
    assert not graph._KEPT


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
    for opt in (False, True):
        xr = x.clone().requires_grad_()
        h, info = evaluate(cell, xr, method="newton", graph=opt)
        assert info["graph"] is opt
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
    # automatically: quasi at once; newton from the second solve of the same key (here the
    # graph=True solve's), replaying what it kept
    h_a, info = evaluate(cell, x, h0, method=method)
    assert info["graph"] is True and info["converged"]
    assert torch.allclose(h_a, out[0][0], rtol=0, atol=1e-5)
    graph.release()
    assert evaluate(cell, x, h0, method=method)[1]["graph"] is (method == "quasi")


@pytest.mark.gpu
def test_gpu_kept_graphs_see_new_inputs_and_weights(gpu):
    """Kept graphs read x, h0 and init through static copies and the weights where they are:
    new inputs, an in-place optimiser-style update and another cell all give the eager
    answer; another cell of the same shape is captured anew."""
    graph.release()
    torch.manual_seed(3)
    cell, other = nn.GRUCell(4, 8).to(gpu), nn.GRUCell(4, 8).to(gpu)
    x = torch.randn(16, 2000, 4, device=gpu)
    h0 = 0.5 * torch.randn(16, 8, device=gpu)
    assert evaluate(cell, x, h0)[1]["graph"] is False  # newton: eager the first time
    runs = []
    for step in range(4):
        xs = torch.randn_like(x)
        hs = torch.randn_like(h0)
        if step == 2:
            with torch.no_grad():
                for p in cell.parameters():
                    p.add_(0.05 * torch.randn_like(p))
        use = other if step == 3 else cell  # its first solve: graphed only when asked
        h, info = evaluate(use, xs, hs, graph=True if use is other else None)
        h_e, info_e = evaluate(use, xs, hs, graph=False)
        assert info["graph"] is True and info["converged"]
        assert torch.allclose(h, h_e, rtol=0, atol=1e-6)
        assert info["iterations"] == info_e["iterations"] and info["checks"] == info_e["checks"]
        runs.append(info["graph_captures"])
    assert runs[1:3] == [0, 0] and runs[0] > 0 and runs[3] > 0
    graph.release()


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
    for i in range(3):  # chunks of 300 and 100 steps: two keys, kept from the first solve
        h, info = evaluate(cell, x, method="quasi", chunk=300, init=init, graph=True)
        assert info["graph"] is True and info["chunks"] == 4
        assert all(c["graph_captures"] == 0 for c in info["per_chunk"]) or i == 0
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
