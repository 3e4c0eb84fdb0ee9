"""The dense linear recurrence h_t = J_t h_{t-1} + b_t (DEER's inner solve), as a scan."""
from rnnviz.ops.dense_scan.function import dense_scan, dense_scan_adjoint
from rnnviz.ops.dense_scan.naive import dense_scan_naive
from rnnviz.ops.dense_scan.torch_scan import dense_scan_torch

__all__ = ["dense_scan", "dense_scan_adjoint", "dense_scan_naive", "dense_scan_torch"]
