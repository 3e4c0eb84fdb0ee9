"""The operations: each has a float64 reference, Triton kernels and an autograd op.

One folder per op (``rnnviz/ops/<op>/``): ``naive.py`` (the reference, the test oracle),
the torch path for CPUs, and ``function.py`` (the ``torch.autograd.Function`` that checks
inputs, picks the backend and records into an active trace).

The public functions are imported here eagerly (the modules import only torch; the Triton
kernels load on first GPU use), so ``rnnviz.ops.linear_scan`` is always the function even
though a folder of the same name holds it.
"""
from rnnviz.ops.dense_scan import dense_scan
from rnnviz.ops.linear_scan import linear_scan
from rnnviz.ops.sru import sru_recurrence

__all__ = ["linear_scan", "sru_recurrence", "dense_scan"]
