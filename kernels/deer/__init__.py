"""DEER's kernels: the dense-matrix scan and the fused GRU value-and-Jacobian."""
from .dense_scan import default_chunk, dense_scan_fwd
from .gru import gru_diagonals, gru_linearize

__all__ = ["dense_scan_fwd", "default_chunk", "gru_linearize", "gru_diagonals"]
