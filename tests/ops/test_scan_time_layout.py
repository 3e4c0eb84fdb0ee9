"""The scan on time-contiguous storage ([B, T, D] views of [B, D, T] memory, as Conv1d keeps
sequences): the kernel against the float64 loop, forward and backward, under the
interpreter and on the GPU; the dispatch and its errors on the CPU."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

triton = pytest.importorskip("triton")

from rnnviz.kernels.linear_scan import (TimeConfig, choose_time_config, scan_fwd,  # noqa: E402
                                        time_dense)
from rnnviz.kernels.linear_scan.launch_time import as_time_dense  # noqa: E402
from rnnviz.ops.linear_scan import linear_scan, linear_scan_reference  # noqa: E402

from .test_linear_scan import (_interpreting as interpreting, check_kernels,  # noqa: E402
                               check_op_both_ways, kernel_test, make, reference_grads, rel_err)


def time_view(x: torch.Tensor) -> torch.Tensor:
    """[B, T, D] x as a view of freshly made [B, D, T] memory."""
    return x.transpose(1, 2).contiguous().transpose(1, 2)


def made(shape, dtype=torch.float32, device="cpu", growth=True):
    a, b, h0 = make(*shape, dtype, growth=growth, device=device)
    return time_view(a), time_view(b), h0


# one part per row; parts of 2 chunks (reduce-then-scan: programs asks for more); 2 rows a
# program; pipelined loads; parts joined by the look-back: of one chunk (held in registers)
# and of several (walked twice); the look-back in two trips to the L2 a round, both joins
CONFIGS = [TimeConfig(8), TimeConfig(8, programs=64), TimeConfig(16, block_r=2, programs=64),
           TimeConfig(8, block_r=4, stages=2, programs=16),
           TimeConfig(8, programs=64, lookback=True),
           TimeConfig(16, block_r=2, stages=2, programs=64, lookback=True),
           TimeConfig(4, programs=24, lookback=True),
           TimeConfig(8, programs=64, lookback=True, fewer_trips=True),
           TimeConfig(4, programs=24, lookback=True, fewer_trips=True)]


def config_id(c: TimeConfig) -> str:
    return (f"t{c.block_t}r{c.block_r}p{c.programs}" + ("lb" if c.lookback else "")
            + ("ft" if c.fewer_trips else ""))


@kernel_test
@pytest.mark.parametrize("cfg", CONFIGS, ids=config_id)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("use_h0", [False, True])
@pytest.mark.parametrize("shape", [(2, 37, 5), (1, 2, 3), (3, 16, 2), (1, 67, 4)])
def test_time_kernel_forward_backward(kernel_device, cfg, reverse, use_h0, shape):
    """Chunks of 8-16 steps (the last short at T=37, 67), rows past the last block
    (block_r=2, 4 with 5 or 15 rows), parts past the last chunk."""
    a, b, h0 = made(shape, device=kernel_device)
    g = time_view(torch.randn(shape, device=kernel_device))
    res, (grad_a, grad_b, _) = check_kernels(a, b, h0 if use_h0 else None, g, reverse, cfg)
    assert res.path == "time" and time_dense(res.h)
    assert time_dense(grad_a) and time_dense(grad_b)


@kernel_test
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("cfg", [TimeConfig(8, programs=128, lookback=True),
                                 TimeConfig(4, programs=80, lookback=True),
                                 TimeConfig(8, programs=128, lookback=True, fewer_trips=True)],
                         ids=config_id)
def test_time_kernel_lookback_over_many_parts(kernel_device, reverse, cfg):
    """38 parts a row (of one chunk, held; of two, walked twice): the look-back walks more
    than one window of 32 parts back, composing the summaries it passes; twice in a row, so
    the second launch finds the status buffers as the first left them."""
    from rnnviz.kernels.linear_scan.launch_time import _time_plan

    a, b, h0 = made((1, 300, 2), device=kernel_device, growth=False)
    plan = _time_plan(cfg, (1, 300, 2), (True, False, reverse, False, False))
    assert plan.n_parts == 38 and plan.constexprs["HOLD"] == (cfg.block_t == 8)
    g = time_view(torch.randn(a.shape, device=kernel_device))
    for _ in range(2):
        check_kernels(a, b, h0, g, reverse, cfg)


@settings(max_examples=12, deadline=None)
@given(B=st.integers(1, 3), T=st.sampled_from([2, 3, 17, 64, 129]), D=st.sampled_from([2, 3, 9]),
       block_t=st.sampled_from([1, 4, 16]), block_r=st.sampled_from([1, 2, 4]),
       stages=st.sampled_from([1, 2]), programs=st.sampled_from([0, 8, 40]),
       lookback=st.booleans(), reverse=st.booleans(), use_h0=st.booleans())
def test_time_kernel_any_config(B, T, D, block_t, block_r, stages, programs, lookback, reverse,
                                use_h0):
    """Any config at any shape, forward and backward: chunks of 1 step, chunks longer than T,
    row blocks past the last row, parts of one chunk, both joins."""
    if not torch.cuda.is_available() and not interpreting():
        pytest.skip("needs the Triton interpreter or a GPU")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    a, b, h0 = made((B, T, D), device=device)
    g = time_view(torch.randn(a.shape, device=device))
    check_kernels(a, b, h0 if use_h0 else None, g, reverse,
                  TimeConfig(block_t, block_r, 1, stages, programs, lookback))


test_time_kernel_any_config = kernel_test(test_time_kernel_any_config)


@kernel_test
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_time_kernel_half_dtypes(kernel_device, dtype):
    a, b, h0 = made((2, 45, 3), dtype, device=kernel_device, growth=False)
    h = scan_fwd(a, b, h0, config=TimeConfig(16, programs=64)).h
    assert h.dtype == dtype
    ref = linear_scan_reference(a.cpu().double(), b.cpu().double(), h0.cpu().double())
    assert rel_err(h, ref) < (4e-3 if dtype == torch.float16 else 2e-2)


@kernel_test
@pytest.mark.parametrize("reverse", [False, True])
def test_time_layout_through_the_op(kernel_device, reverse):
    """The op picks the time kernel for [B, D, T] memory by itself, forward and backward,
    and its outputs and gradients keep the layout; a gradient of the other layout is
    copied to it."""
    a, b, h0 = made((2, 29, 3), device=kernel_device, growth=False)
    leaves = [x.clone().requires_grad_() for x in (a, b, h0)]
    for x, y in zip(leaves, (a, b)):
        assert time_dense(x) or not time_dense(y)
    h = linear_scan(*leaves, reverse=reverse, backend="triton")
    assert time_dense(h)
    g = torch.randn(h.shape, device=kernel_device)  # contiguous [B, T, D]: not the layout
    h.backward(g)
    ra, rb, rh0 = reference_grads(a.cpu(), b.cpu(), h0.cpu(), g.cpu(), reverse)
    ref = linear_scan_reference(a.cpu(), b.cpu(), h0.cpu(), reverse)
    assert rel_err(h.detach(), ref) < 1e-5
    for x, r in zip(leaves, (ra, rb, rh0)):
        assert rel_err(x.grad, r) < 1e-5
    assert time_dense(leaves[0].grad) and time_dense(leaves[1].grad)


@kernel_test
def test_time_config_on_the_usual_layout_copies(kernel_device):
    """A TimeConfig given for contiguous [B, T, D] inputs: they are copied to the layout."""
    a, b, h0 = make(2, 19, 3, device=kernel_device)
    res = scan_fwd(a, b, h0, config=TimeConfig(8))
    assert res.path == "time" and time_dense(res.h)
    assert rel_err(res.h, linear_scan_reference(a.cpu(), b.cpu(), h0.cpu())) < 1e-5


@kernel_test
def test_time_layout_under_a_recording_trace_takes_the_other_kernels(kernel_device):
    """A trace that records chunks gets them from the kernels that keep records."""
    import rnnviz

    a, b, h0 = made((1, 40, 3), device=kernel_device, growth=False)
    with rnnviz.trace() as tr:
        h = linear_scan(a, b, h0, backend="triton")
    (rec,) = tr.filter(op="linear_scan", kind="chunks")
    assert rec.meta["path"] != "time"
    assert rel_err(h, linear_scan_reference(a.cpu(), b.cpu(), h0.cpu())) < 1e-5


@pytest.mark.gpu
@pytest.mark.parametrize("shape", [(1, 65536, 64), (1, 2 ** 20 + 3, 16), (4, 16384, 256),
                                   (3, 5001, 33), (64, 4097, 128), (1, 3, 1000)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_gpu_time_layout_large(gpu, shape, dtype):
    """The automatic config (one part per row, or reduce-then-scan over parts) on long and
    wide problems, forward and backward, both ways, through the op."""
    a, b, h0 = make(*shape, torch.float32, device=gpu)
    check_op_both_ways(time_view(0.9 + 0.1 * a), time_view(b), h0, dtype,
                       check_h=lambda h: time_dense(h) or pytest.fail("h lost the layout"))


# ---------------------------------------------------------------------------------------
# the CPU side: which tensors take the layout, configs, errors
# ---------------------------------------------------------------------------------------
def test_time_dense_recognises_the_layout():
    x = torch.zeros(2, 5, 3)
    assert not time_dense(x)  # the usual layout
    assert time_dense(time_view(x))
    assert time_dense(time_view(torch.zeros(1, 5, 3)))
    assert not time_dense(time_view(torch.zeros(2, 1, 3)))  # T = 1, D = 1: both layouts
    assert not time_dense(time_view(torch.zeros(2, 5, 1)))
    assert not time_dense(time_view(torch.zeros(2, 10, 3))[:, ::2])  # steps not adjacent
    assert not time_dense(torch.zeros(3, 2, 5).permute(1, 2, 0))  # [D, B, T] memory
    y = as_time_dense(x)
    assert time_dense(y) and torch.equal(y, x)
    z = time_view(x)
    assert as_time_dense(z) is z


def test_time_config_rejects_bad_values():
    for kw, word in [(dict(block_t=12), "block_t"), (dict(block_t=8, block_r=3), "block_r"),
                     (dict(block_t=8, num_warps=0), "num_warps"),
                     (dict(block_t=8, stages=0), "stages"),
                     (dict(block_t=8, programs=-1), "programs"),
                     (dict(block_t=8, programs=64, fewer_trips=True), "needs lookback=True")]:
        with pytest.raises(ValueError, match=word):
            TimeConfig(**kw)


def test_time_config_refuses_a_record_or_timeline():
    a, b, _ = made((1, 8, 2))
    with pytest.raises(ValueError, match="record or timeline"):
        scan_fwd(a, b, record=True, config=TimeConfig(8))


def test_choose_time_config_formula_and_table(monkeypatch):
    from rnnviz.kernels.linear_scan import launch

    monkeypatch.setattr(launch, "gpu_key", lambda *a: "H200")
    monkeypatch.setattr(launch, "_tuned_for", lambda key: {
        "time|4|bd<=256|T>32768": {"block_t": 4096, "block_r": 1, "num_warps": 8,
                                   "stages": 3, "programs": 0,
                                   "bwd": {"num_warps": 4, "stages": 2, "programs": 2112}},
        "time|4|bd<=256|T>32768|few": {"block_t": 1024, "block_r": 1, "num_warps": 4,
                                       "stages": 1, "programs": 1056,
                                       "bwd": {"lookback": True, "fewer_trips": True}},
        "time|2|bd>=32768|T<=2048": {"block_t": 2048, "block_r": 1, "num_warps": 8,
                                     "stages": 3, "programs": 0}})
    monkeypatch.setattr("rnnviz.kernels.linear_scan.launch_time.interpreting", lambda: False)
    assert choose_time_config(1, 65536, 64, 4) == TimeConfig(4096, 1, 8, 3, 0)
    assert choose_time_config(1, 65536, 64, 4, backward=True) == TimeConfig(4096, 1, 4, 2, 2112)
    # fewer than 64 rows: a class of their own
    assert choose_time_config(1, 2 ** 20, 16, 4) == TimeConfig(1024, 1, 4, 1, 1056)
    assert choose_time_config(1, 2 ** 20, 16, 4, backward=True) == TimeConfig(
        1024, 1, 4, 1, 1056, lookback=True, fewer_trips=True)
    # a chunk capped by T keeps a 16-byte vector per thread: bf16 1024 steps, 4 warps
    assert choose_time_config(16, 1024, 4096, 2) == TimeConfig(1024, 1, 4, 3, 0)
    # no entry: the formula, chunks no longer than the sequence, one vector a thread
    cfg = choose_time_config(8, 100, 64, 4)
    assert cfg.block_t == 128 and cfg.num_warps == 1 and cfg.programs > 0


def test_time_sweep_candidates_and_shared_options(monkeypatch):
    """scripts/scan_time_sweep.py: candidates that come out the same at a shape (chunks capped
    by T, a program target the rows already exceed) are tried once; the options and shapes
    it shares with scan_sweep.py parse."""
    import sys
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "scripts"))
    monkeypatch.delitem(sys.modules, "scan_sweep", raising=False)
    import scan_sweep
    import scan_time_sweep

    few = scan_time_sweep.candidates(1, 65536, 64)
    assert len(few) == len(set(few)) and any(c.programs for c in few)
    joined = {c.lookback for c in few if c.programs}
    assert joined == {False, True}
    only = scan_time_sweep.candidates(1, 65536, 64, joins=(True,))
    assert {c.lookback for c in only if c.programs} == {True}
    assert any(not c.programs for c in only)  # one part per row: nothing to join
    trips = scan_time_sweep.candidates(1, 65536, 64, joins=(True, "trips"))
    assert {(c.lookback, c.fewer_trips) for c in trips if c.programs} == {(True, False),
                                                                          (True, True)}
    assert not any(c.fewer_trips for c in trips if not c.programs)
    wide = scan_time_sweep.candidates(16, 1024, 4096)  # 65536 rows: every target gives 1 part
    assert all(c.block_t <= 1024 and not c.lookback for c in wide)
    assert len(wide) == len({(c.block_t, c.block_r, c.num_warps, c.stages) for c in wide})
    args = scan_sweep.sweep_arguments(5.0).parse_args(["--shapes", "1x2x3;4x5x6",
                                                       "--dtypes", "bfloat16"])
    assert scan_sweep.parse_problems(args, []) == ([(1, 2, 3), (4, 5, 6)], [torch.bfloat16])
    assert scan_sweep.parse_problems(scan_sweep.sweep_arguments(5.0).parse_args([]),
                                     [(7, 8, 9)])[0] == [(7, 8, 9)]
