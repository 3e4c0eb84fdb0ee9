"""Every Triton op's backward takes the gradients autograd hands over as they come. The
gradient of ``y.sum()`` is one number expanded to y's shape (every stride 0), and a kernel
that indexed it as dense memory would read garbage: the SRU kernel did, for its final state,
until the compile test found it. Each op here: a loss of plain sums, on the Triton kernels
(interpreter or GPU) against the torch path on the CPU."""
from __future__ import annotations

import pytest
import torch

from rnnviz.models import SRU, MinGRU, MinLSTM
from rnnviz.ops import linear_scan
from rnnviz.ops.dense_scan import dense_scan


def _scan(device, backend, time_last=False):
    torch.manual_seed(2)
    a, b, h0 = torch.rand(2, 9, 3), torch.randn(2, 9, 3), torch.randn(2, 3)
    if time_last:  # [B, T, D] views of [B, D, T] memory: the time-contiguous kernel
        a, b = (t.transpose(1, 2).contiguous().transpose(1, 2) for t in (a, b))
    leaves = [t.to(device).requires_grad_() for t in (a, b, h0)]
    return leaves, linear_scan(*leaves, backend=backend).sum()


def _dense(device, backend):
    torch.manual_seed(2)
    leaves = [t.to(device).requires_grad_() for t in
              (0.3 * torch.randn(2, 9, 3, 3), torch.randn(2, 9, 3), torch.randn(2, 3))]
    return leaves, dense_scan(*leaves, backend=backend).sum()


def _model(make):
    def run(device, backend):
        torch.manual_seed(3)
        model = make(backend).to(device)
        x = torch.randn(6, 2, 4).to(device).requires_grad_()
        out, state = model(x)
        return [x, *model.parameters()], out.sum() + state.sum()
    return run


CASES = {
    "linear_scan": _scan,
    "linear_scan-time-last": lambda device, backend: _scan(device, backend, time_last=True),
    "dense_scan": _dense,
    "mingru": _model(lambda be: MinGRU(4, 5, num_layers=2, bidirectional=True, backend=be)),
    "minlstm": _model(lambda be: MinLSTM(4, 5, num_layers=2, bidirectional=True, backend=be)),
    "sru-kernel": _model(lambda be: SRU(4, 5, num_layers=2, bidirectional=True, backend=be,
                                        recurrence="kernel")),
    "sru-scan": _model(lambda be: SRU(4, 5, num_layers=2, bidirectional=True, peephole=False,
                                      backend=be, recurrence="scan")),
}


@pytest.mark.interpreter
@pytest.mark.gpu
@pytest.mark.parametrize("name", CASES)
def test_gradients_of_sums(name, kernel_device):
    leaves, loss = CASES[name](kernel_device, "triton")
    got = torch.autograd.grad(loss, leaves)
    leaves, loss = CASES[name](torch.device("cpu"), "torch")
    want = torch.autograd.grad(loss, leaves)
    for g, w in zip(got, want):
        torch.testing.assert_close(g.cpu(), w, atol=5e-5, rtol=1e-4)
