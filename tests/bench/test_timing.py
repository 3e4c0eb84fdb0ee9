"""rnnviz.bench.core's timer: the two CUDA timing modes and what provenance records."""
from __future__ import annotations

import pytest
import torch

from rnnviz.bench.core import TIMING_ENV, provenance, time_ms, timing_mode


def test_timing_mode_defaults_to_isolated_and_is_recorded(monkeypatch):
    monkeypatch.delenv(TIMING_ENV, raising=False)
    assert timing_mode() == "isolated" and provenance("x")["timing"] == "isolated"
    monkeypatch.setenv(TIMING_ENV, "back-to-back")
    assert timing_mode() == "back-to-back" and provenance("x")["timing"] == "back-to-back"


def test_an_unknown_timing_mode_is_refused_by_name(monkeypatch):
    monkeypatch.setenv(TIMING_ENV, "fast")
    with pytest.raises(ValueError, match="'isolated' or 'back-to-back', got 'fast'"):
        provenance("x")


def test_cpu_timing_counts_every_call():
    calls = []
    ms = time_ms(lambda: calls.append(1), "cpu", warmup=2, reps=5)
    assert ms >= 0 and len(calls) == 2 + 1 + 5


@pytest.mark.gpu
@pytest.mark.parametrize("mode", ["isolated", "back-to-back"])
def test_gpu_timing_modes_time_every_call(gpu, mode, monkeypatch):
    """Both modes bracket each call with its own events (no speed is asserted)."""
    monkeypatch.setenv(TIMING_ENV, mode)
    src = torch.randn(1 << 24, device=gpu)
    dst = torch.empty_like(src)
    calls = []

    def fn():
        calls.append(1)
        dst.copy_(src)

    ms = time_ms(fn, gpu, warmup=1, reps=7)
    assert 0 < ms < 1e3 and len(calls) == 1 + 1 + 7
