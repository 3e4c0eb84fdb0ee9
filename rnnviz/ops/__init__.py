"""The operations: each has a float64 reference, Triton kernels and an autograd op.

One folder per op (``rnnviz/ops/<op>/``): ``naive.py`` (the reference, the test oracle),
the torch path for CPUs, and ``function.py`` (the ``torch.autograd.Function`` that checks
inputs, picks the backend and records into an active trace).
"""
from __future__ import annotations

import importlib

# name -> module that defines it; imported on first use so `import rnnviz` stays light.
_EXPORTS = {
    "linear_scan": "rnnviz.ops.linear_scan",
    "sru_recurrence": "rnnviz.ops.sru",
    "dense_scan": "rnnviz.ops.dense_scan",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rnnviz.ops' has no attribute {name!r}")
