"""Elementwise math shared by the Triton kernels of several ops.

``FAST`` (a constexpr; launchers pass ``not interpreting()``) takes the GPU's approximate
instructions through libdevice: ``__nv_fast_expf`` (ex2.approx.ftz: 2 instructions where
``tl.exp`` takes 5, guarding against denormals) and ``__nv_fast_fdividef`` (rcp.approx.ftz
and a multiply, where ``/`` takes 6, guarding against huge divisors). Both are accurate to
about 2 ulp of float32. In a sequential recurrence that issues a few hundred instructions a
step (the SRU kernel) these guards were a third of the math. Triton's interpreter has no
libdevice, so under it ``FAST`` is off and the plain ``tl`` ops run.
"""
import triton
import triton.language as tl
from triton.language.extra import libdevice


@triton.jit
def exp(x, FAST: tl.constexpr = False):
    if FAST:
        return libdevice.fast_expf(x)
    return tl.exp(x)


@triton.jit
def div(x, y, FAST: tl.constexpr = False):
    if FAST:
        return libdevice.fast_dividef(x, y)
    return x / y


@triton.jit
def sigmoid(x, FAST: tl.constexpr = False):
    # 1 / (1 + e^-x): e^-x overflows to inf for x < -88, and 1 / inf is the right 0
    return div(1.0, 1.0 + exp(-x, FAST), FAST)


@triton.jit
def tanh(x, FAST: tl.constexpr = False):
    # tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2|x|): no overflow, float32 accurate
    # (plain tl ops unless FAST: the same code runs on the GPU and in Triton's CPU interpreter).
    e = exp(-2.0 * tl.abs(x), FAST)
    y = div(1.0 - e, 1.0 + e, FAST)
    return tl.where(x < 0, -y, y)
