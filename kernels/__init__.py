"""Triton kernels of rnnviz, installed as ``rnnviz.kernels``.

Compute only: this package imports torch and triton and nothing of rnnviz. One folder per
operation (``linear_scan/``, ``sru/``, ...), one strategy per file, in the manner of
flash-linear-attention. The public, checked, differentiable ops live in ``rnnviz.ops``.
"""
import os as _os


def interpreting() -> bool:
    """True when Triton kernels run under its interpreter (TRITON_INTERPRET=1)."""
    return _os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


# Host-side integer helpers for the launchers. Recent Triton makes ``triton.cdiv`` and
# ``triton.next_power_of_2`` constexpr functions that also work inside kernels, at about
# 5 us per call from Python (measured with Triton 3.9); a launcher calls them a few times
# per launch, on every call of an op.
def cdiv(x: int, y: int) -> int:
    """ceil(x / y) for positive ints."""
    return -(-x // y)


def next_pow2(n: int) -> int:
    """The smallest power of two >= n (1 for n <= 1)."""
    return 1 << max(0, n - 1).bit_length()
