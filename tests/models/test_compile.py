"""``torch.compile`` on the models and the scan: the same outputs and gradients as eager, and
no warning from rnnviz's own code (a researcher compiles a model before timing it).

On the CPU the compiler traces the torch path; on the Triton path it steps around the kernels'
launches (``rnnviz.device.eager_under_compile``), which the interpreter tests here too."""
from __future__ import annotations

import warnings

import pytest
import torch

from rnnviz.device import eager_under_compile
from rnnviz.models import SRU, MinGRU, MinLSTM
from rnnviz.ops import linear_scan
from rnnviz.ops.linear_scan.function import _RESOLVED

# (model, input [T, B, n] or [B, T, n] as its batch_first says); small: compiling is the cost
CASES = {
    "sru": lambda be: (SRU(8, 8, num_layers=2, bidirectional=True, backend=be), (7, 3, 8)),
    "sru-projected-nopeephole": lambda be: (SRU(6, 8, peephole=False, batch_first=True, backend=be),
                                            (3, 7, 6)),
    "mingru": lambda be: (MinGRU(8, 8, num_layers=2, batch_first=True, backend=be), (3, 7, 8)),
    "minlstm": lambda be: (MinLSTM(8, 8, backend=be), (7, 3, 8)),
}


def _ours(caught) -> list[str]:
    """The recorded warnings that rnnviz's code raised or that name it."""
    return [str(w.message)[:200] for w in caught if "rnnviz" in f"{w.filename} {w.message}"]


def _run(model, x):
    out, state = model(x)
    loss = out.square().sum() + state.sum()
    grads = torch.autograd.grad(loss, [x, *model.parameters()])
    return out, state, grads


def _compiled_matches_eager(name, device, backend="auto"):
    torch._dynamo.reset()  # each case compiles afresh: no cache from another test
    model, shape = CASES[name](backend)
    model = model.to(device)
    x = torch.randn(*shape, device=device, requires_grad=True)
    want = _run(model, x)
    _RESOLVED.clear()  # as in a fresh process: the compiled call resolves its backend itself
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = _run(torch.compile(model), x)
    assert not _ours(caught), _ours(caught)
    for g, w in zip(got[:2], want[:2]):
        torch.testing.assert_close(g, w, atol=1e-5, rtol=1e-5)
    for g, w in zip(got[2], want[2]):
        torch.testing.assert_close(g, w, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", CASES)
def test_compiled_model_matches_eager_on_the_cpu(name):
    _compiled_matches_eager(name, torch.device("cpu"))


@pytest.mark.interpreter
@pytest.mark.gpu
@pytest.mark.parametrize("name", CASES)
def test_compiled_model_matches_eager_on_the_triton_kernels(name, kernel_device):
    _compiled_matches_eager(name, kernel_device, backend="triton")


def test_eager_under_compile_runs_its_function_outside_the_compiler():
    seen = []

    def double(x):
        seen.append(torch.compiler.is_compiling())
        return x * 2

    x = torch.ones(3)
    for fn, traced in ((double, True), (eager_under_compile(double), False)):
        torch._dynamo.reset()
        seen.clear()
        assert torch.equal(torch.compile(lambda x: fn(x) + 1)(x), torch.full((3,), 3.0))
        assert seen == [traced]


def test_compiled_linear_scan_matches_eager():
    torch._dynamo.reset()
    a = torch.rand(2, 9, 3).requires_grad_()
    b = torch.randn(2, 9, 3, requires_grad=True)
    f = torch.compile(lambda a, b: linear_scan(a, b, reverse=True))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = f(a, b)
    assert not _ours(caught), _ours(caught)
    want = linear_scan(a, b, reverse=True)
    torch.testing.assert_close(h, want)
    g = torch.autograd.grad(h.sum(), [a, b])
    w = torch.autograd.grad(want.sum(), [a, b])
    for x, y in zip(g, w):
        torch.testing.assert_close(x, y)
