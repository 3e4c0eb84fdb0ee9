"""The linear scan h_t = a_t h_{t-1} + b_t: the engine behind minGRU, SRU's cell and DEER.

``linear_scan`` is the public op; ``linear_scan_reference`` the float64 oracle;
``chunked_scan`` the vectorised torch path (the kernels' algorithm on a CPU).
"""
from .function import LinearScanFunction, linear_scan
from .naive import linear_scan_reference
from .torch_impl import ScanParts, chunked_scan, chunked_scan_backward, doubling_scan

__all__ = ["linear_scan", "linear_scan_reference", "LinearScanFunction", "chunked_scan",
           "chunked_scan_backward", "doubling_scan", "ScanParts"]

