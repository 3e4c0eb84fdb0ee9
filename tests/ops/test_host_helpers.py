"""The launchers' host-side integer helpers (rnnviz.kernels.cdiv, next_pow2) agree with
Triton's own, which cost microseconds per call from Python in recent Triton."""
import triton

from rnnviz.kernels import cdiv, next_pow2


def test_cdiv_and_next_pow2_agree_with_triton():
    for x in [1, 2, 3, 7, 8, 9, 1000, 1 << 20, (1 << 31) + 5]:
        assert next_pow2(x) == triton.next_power_of_2(x)
        for y in [1, 2, 3, 16, 1024]:
            assert cdiv(x, y) == triton.cdiv(x, y)
    assert next_pow2(0) == 1
