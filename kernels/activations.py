"""Elementwise math shared by the Triton kernels of several ops."""
import triton
import triton.language as tl


@triton.jit
def tanh(x):
    # tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2|x|): no overflow, float32 accurate
    # (plain tl ops: the same code runs on the GPU and in Triton's CPU interpreter).
    e = tl.exp(-2.0 * tl.abs(x))
    y = (1.0 - e) / (1.0 + e)
    return tl.where(x < 0, -y, y)
