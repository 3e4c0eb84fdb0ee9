"""The linear scan h_t = a_t h_{t-1} + b_t: the engine behind minGRU, SRU's cell and DEER.

``linear_scan`` is the public op; ``linear_scan_reference`` the float64 oracle;
``chunked_scan`` the vectorised torch path (the kernels' algorithm on a CPU).
"""
from .function import LinearScanFunction, linear_scan
from .naive import linear_scan_reference
from .torch_impl import ScanParts, chunked_scan, chunked_scan_backward, doubling_scan

__all__ = ["linear_scan", "linear_scan_reference", "LinearScanFunction", "chunked_scan",
           "chunked_scan_backward", "doubling_scan", "ScanParts"]


# `rnnviz.ops.linear_scan` names both this package and the function it exports; once the
# package is imported Python binds the package to that name in rnnviz.ops, so
# `from rnnviz.ops import linear_scan` yields this module. Making the module callable keeps
# `linear_scan(a, b)` working whichever of the two a user gets.
import sys as _sys
import types as _types


class _CallableModule(_types.ModuleType):
    def __call__(self, *args, **kwargs):
        return linear_scan(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
