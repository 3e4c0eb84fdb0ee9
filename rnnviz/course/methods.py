"""What the course can time on this machine: one entry per method, named as the benchmarks
name them ("lstm-cudnn", "rnnviz-sru", ...), so a measurement made here lines up with the
GPU results shipped in ``rnnviz.results``.

Every method times one layer mapping ``x: [B, T, D]`` to ``[B, T, D]`` (hidden size D), the
forward alone ("fwd", under ``torch.no_grad``) or a training step ("fwd+bwd": forward, sum,
backward). A method whose rnnviz module has not been installed is listed as unavailable with
the reason instead of breaking the list.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

__all__ = ["Method", "METHODS", "available", "build", "memory_bytes"]

Builder = Callable[[int, int, int, torch.dtype, torch.device], Callable[[torch.Tensor], torch.Tensor]]


@dataclass(frozen=True)
class Method:
    """A timeable method.

    ``make(B, T, D, dtype, device)`` returns the layer as a function ``x -> y``;
    ``live`` is roughly how many [B, T, D] tensors the forward keeps alive (the backward
    about doubles it): the speed lab's memory estimate, deliberately on the high side.
    ``needs`` names the module that must import for the method to exist here.
    """

    name: str
    label: str
    make: Builder
    live: float
    needs: str | None = None
    per_d: bool = False  # memory grows with D * D per step (dense Jacobians)


def _module(m: nn.Module, dtype: torch.dtype, device: torch.device) -> nn.Module:
    return m.to(device=device, dtype=dtype)


def _rnn(kind: type) -> Builder:
    def make(B, T, D, dtype, device):
        rnn = _module(kind(D, D, batch_first=True), dtype, device)
        return lambda x: rnn(x)[0]
    return make


def _cell_loop(kind: type) -> Builder:
    """The "traditional" baseline of the papers: a Python loop over an nn cell."""
    def make(B, T, D, dtype, device):
        cell = _module(kind(D, D), dtype, device)
        lstm = kind is nn.LSTMCell

        def run(x):
            h = x.new_zeros(B, D)
            state = (h, h) if lstm else h
            out = []
            for t in range(x.shape[1]):
                state = cell(x[:, t], state)
                out.append(state[0] if lstm else state)
            return torch.stack(out, 1)
        return run
    return make


def _conv1d(B, T, D, dtype, device):
    """A causal convolution of width 3: SRU's "as fast as a CNN" yardstick."""
    conv = _module(nn.Conv1d(D, D, 3, padding=2), dtype, device)
    return lambda x: conv(x.transpose(1, 2))[..., :T].transpose(1, 2)


def _rnnviz_model(name: str, **kw: Any) -> Builder:
    def make(B, T, D, dtype, device):
        cls = getattr(importlib.import_module("rnnviz.models"), name)
        model = _module(cls(D, D, batch_first=True, **kw), dtype, device)
        return lambda x: model(x)[0]
    return make


def _scan(B, T, D, dtype, device):
    """The bare linear recurrence h_t = a_t * h_{t-1} + b_t, a in (0, 1), b = x."""
    from rnnviz.ops import linear_scan

    a = torch.rand(B, T, D, device=device).mul_(0.5).add_(0.45).to(dtype)
    return lambda x: linear_scan(a, x)


def _log_space(B, T, D, dtype, device):
    """The minGRU paper's log-space scan; it needs b > 0, so b is its own positive input
    (a leaf that takes gradients) instead of x."""
    from rnnviz.course.scan_formulas import log_space_scan

    a = torch.rand(B, T, D, device=device).mul_(0.5).add_(0.45).to(dtype)
    b = torch.rand(B, T, D, device=device).add_(0.1).to(dtype).requires_grad_(True)
    return lambda x: log_space_scan(a, b)


def _doubling(B, T, D, dtype, device):
    """A plain doubling (Hillis-Steele) scan in torch over the whole sequence."""
    from rnnviz.ops.linear_scan import doubling_scan

    a = torch.rand(B, T, D, device=device).mul_(0.5).add_(0.45).to(dtype)
    return lambda x: doubling_scan(a, x)[1]


def _copy(B, T, D, dtype, device):
    """Read x, write a copy: the memory-bandwidth floor under every scan."""
    return lambda x: x.clone()


def _deer(method: str) -> Builder:
    def make(B, T, D, dtype, device):
        from rnnviz.deer import evaluate

        cell = _module(nn.GRUCell(D, D), dtype, device)
        return lambda x: evaluate(cell, x, method=method)[0]
    return make


METHODS: dict[str, Method] = {m.name: m for m in [
    Method("lstm-cudnn", "nn.LSTM (cuDNN on a GPU)", _rnn(nn.LSTM), 8),
    Method("gru-cudnn", "nn.GRU (cuDNN on a GPU)", _rnn(nn.GRU), 7),
    Method("conv1d", "nn.Conv1d, width 3", _conv1d, 3),
    Method("lstmcell-loop", "loop over nn.LSTMCell", _cell_loop(nn.LSTMCell), 8),
    Method("grucell-loop", "loop over nn.GRUCell", _cell_loop(nn.GRUCell), 7),
    Method("rnnviz-sru", "rnnviz SRU", _rnnviz_model("SRU"), 7, "rnnviz.models.sru"),
    Method("rnnviz-sru-nopeephole-kernel", "rnnviz SRU 2017 (no peephole), sequential kernel",
           _rnnviz_model("SRU", peephole=False, recurrence="kernel"), 7, "rnnviz.models.sru"),
    Method("rnnviz-sru-nopeephole-scan", "rnnviz SRU 2017 (no peephole), parallel scan",
           _rnnviz_model("SRU", peephole=False, recurrence="scan"), 8, "rnnviz.models.sru"),
    Method("rnnviz-mingru", "rnnviz MinGRU (parallel scan)", _rnnviz_model("MinGRU"), 5,
           "rnnviz.models.mingru"),
    Method("rnnviz-minlstm", "rnnviz MinLSTM (parallel scan)", _rnnviz_model("MinLSTM"), 6,
           "rnnviz.models.mingru"),
    Method("mingru-log", "MinGRU, log-space (the paper's)",
           _rnnviz_model("MinGRU", mode="log", positive=True), 8, "rnnviz.models.mingru"),
    Method("rnnviz-scan", "rnnviz linear_scan", _scan, 3, "rnnviz.ops.linear_scan"),
    Method("log-space", "log-space scan (cumsum + logcumsumexp)", _log_space, 10),
    Method("doubling", "doubling scan in torch", _doubling, 12, "rnnviz.ops.linear_scan"),
    Method("copy", "copy (bandwidth floor)", _copy, 2),
    Method("deer-quasi", "DEER quasi-Newton, GRU cell", _deer("quasi"), 12, "rnnviz.deer"),
    Method("deer-newton", "DEER Newton, GRU cell", _deer("newton"), 12, "rnnviz.deer", per_d=True),
]}


def available(name: str) -> str | None:
    """None if ``name`` can run here, else why not (one line)."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; expected one of {sorted(METHODS)}")
    needs = METHODS[name].needs
    if needs is None:
        return None
    try:
        importlib.import_module(needs)
    except Exception as e:  # noqa: BLE001 - a missing piece is reported, not raised
        return f"{needs} is not available here ({type(e).__name__}: {e})"
    if name.startswith("deer") and not hasattr(importlib.import_module(needs), "evaluate"):
        return f"{needs}.evaluate is not available here"
    return None


def memory_bytes(name: str, B: int, T: int, D: int, dtype: torch.dtype, backward: bool) -> int:
    """A generous estimate of the memory a measurement needs (activations, not weights)."""
    m = METHODS[name]
    per = torch.empty((), dtype=dtype).element_size()
    n = B * T * D * m.live * (2.2 if backward else 1.0) * (D if m.per_d else 1)
    return int(n * per + 4 * D * D * per * 8)


def build(name: str, B: int, T: int, D: int, dtype: torch.dtype, device: torch.device | str,
          backward: bool, seed: int = 0) -> Callable[[], Any]:
    """A zero-argument function that runs one measured step of ``name`` on fresh random
    inputs made once here (never zeros, so nothing is special-cased)."""
    why = available(name)
    if why:
        raise RuntimeError(why)
    device = torch.device(device)
    torch.manual_seed(seed)
    layer = METHODS[name].make(B, T, D, dtype, device)
    x = torch.randn(B, T, D, device=device, dtype=dtype)
    if not backward:
        def fwd():
            with torch.no_grad():
                return layer(x)
        return fwd
    x.requires_grad_(True)

    def step():
        layer(x).float().sum().backward()
    return step
