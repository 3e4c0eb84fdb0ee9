"""SRU: the fused elementwise recurrence (forward and backward) after the U = x W GEMM."""
from .fused_recurrent import sru_bwd, sru_fwd

__all__ = ["sru_fwd", "sru_bwd"]
