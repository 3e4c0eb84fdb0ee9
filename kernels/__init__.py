"""Triton kernels of rnnviz, installed as ``rnnviz.kernels``.

Compute only: this package imports torch and triton and nothing of rnnviz. One folder per
operation (``linear_scan/``, ``sru/``, ...), one strategy per file, in the manner of
flash-linear-attention. The public, checked, differentiable ops live in ``rnnviz.ops``.
"""
import os as _os


def interpreting() -> bool:
    """True when Triton kernels run under its interpreter (TRITON_INTERPRET=1)."""
    return _os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")
