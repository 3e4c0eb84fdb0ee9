"""Elementwise math shared by the Triton kernels of several ops.

``FAST`` (a constexpr; launchers pass ``not interpreting()``) takes the GPU's approximate
instructions through libdevice: ``__nv_fast_expf`` (ex2.approx.ftz: 2 instructions where
``tl.exp`` takes 5, guarding against denormals) and ``__nv_fast_fdividef`` (rcp.approx.ftz
and a multiply, where ``/`` takes 6, guarding against huge divisors). Both are accurate to
about 2 ulp of float32. In a sequential recurrence that issues a few hundred instructions a
step (the SRU kernel) these guards were a third of the math. Triton's interpreter has no
libdevice, so under it ``FAST`` is off and the plain ``tl`` ops run.

``FAST = 2`` (``HARDWARE_TANH``) goes further for kernels whose data is 2-byte (bf16, fp16):
tanh is the SFU's own ``tanh.approx.f32`` (one MUFU.TANH, sm_75 and later; the PTX ISA gives
its maximum relative error as about 2^-11) and sigmoid(x) = 0.5 tanh(x / 2) + 0.5, one MUFU
where exp and a reciprocal took two. 2^-11 is 8 times finer than bf16's rounding of what the
kernel stores, too coarse for float32 data, which keeps ``FAST = 1``.
"""
import triton
import triton.language as tl
from triton.language.extra import libdevice

HARDWARE_TANH = tl.constexpr(2)  # the FAST level that takes tanh.approx.f32 (2-byte data only)


def fast_level(interpreted: bool, elem_size: int, hardware_tanh: bool) -> int:
    """The FAST a launcher passes: 0 under the interpreter (no libdevice, no PTX), the
    hardware tanh for 2-byte data where the kernel takes it, else the libdevice
    approximations."""
    if interpreted:
        return 0
    return HARDWARE_TANH.value if hardware_tanh and elem_size == 2 else 1


@triton.jit
def _tanh_approx(x):
    return tl.inline_asm_elementwise("tanh.approx.f32 $0, $1;", "=f,f", [x], dtype=tl.float32,
                                     is_pure=True, pack=1)


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
    if FAST == HARDWARE_TANH:
        return 0.5 * _tanh_approx(0.5 * x) + 0.5
    # 1 / (1 + e^-x): e^-x overflows to inf for x < -88, and 1 / inf is the right 0
    return div(1.0, 1.0 + exp(-x, FAST), FAST)


@triton.jit
def tanh(x, FAST: tl.constexpr = False):
    if FAST == HARDWARE_TANH:
        return _tanh_approx(x)
    # tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2|x|): no overflow, float32 accurate
    # (plain tl ops unless FAST: the same code runs on the GPU and in Triton's CPU interpreter).
    e = exp(-2.0 * tl.abs(x), FAST)
    y = div(1.0 - e, 1.0 + e, FAST)
    return tl.where(x < 0, -y, y)
