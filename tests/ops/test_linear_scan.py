"""rnnviz.ops.linear_scan against the float64 loop (the oracle), forward and backward.

Torch-path tests run in the normal pytest process; the Triton kernel tests (marked
interpreter + gpu) run under TRITON_INTERPRET=1 on small shapes and on the GPU.
"""
from __future__ import annotations

import dataclasses
import functools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

triton = pytest.importorskip("triton")
import triton.language as tl  # noqa: E402

import rnnviz  # noqa: E402
from rnnviz.kernels.linear_scan.seqpar import lookback_carry, lookback_words  # noqa: E402
from rnnviz.ops.linear_scan import (chunked_scan, doubling_scan, linear_scan,  # noqa: E402
                                    linear_scan_reference)

# Relative to max(1, max |h|): what each dtype can promise after rounding inputs and output.
TOL = {torch.float64: 1e-12, torch.float32: 2e-5, torch.float16: 4e-3, torch.bfloat16: 2e-2}
T_VALUES = [1, 2, 3, 5, 7, 13, 31, 63, 64, 65, 127, 128, 257, 509, 1024]


def make(B, T, D, dtype=torch.float32, growth=False, device="cpu", seed=0):
    """a in (0, 1) (decay), or |a| up to 1.05 with either sign (growth); b normal."""
    g = torch.Generator().manual_seed(seed)
    if growth:
        a = (torch.rand(B, T, D, generator=g, dtype=torch.float64) * 2 - 1) * 1.05
    else:
        a = torch.rand(B, T, D, generator=g, dtype=torch.float64)
    b = torch.randn(B, T, D, generator=g, dtype=torch.float64)
    h0 = torch.randn(B, D, generator=g, dtype=torch.float64)
    return a.to(device, dtype), b.to(device, dtype), h0.to(device, dtype)


def rel_err(x, ref):
    ref = ref.double().cpu()
    return ((x.double().cpu() - ref).abs().max() / ref.abs().max().clamp_min(1.0)).item()


# ---------------------------------------------------------------------------------------
# the torch path (and the public op on the CPU)
# ---------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(B=st.integers(1, 3), T=st.sampled_from(T_VALUES), D=st.sampled_from([1, 3, 8, 17]),
       use_h0=st.booleans(), reverse=st.booleans(), growth=st.booleans(),
       dtype=st.sampled_from([torch.float32, torch.float64]),
       chunk=st.sampled_from([1, 2, 7, 16, 64]))
def test_torch_path_matches_reference(B, T, D, use_h0, reverse, growth, dtype, chunk):
    from rnnviz.ops.linear_scan import torch_impl

    a, b, h0 = make(B, T, D, dtype, growth)
    h0 = h0 if use_h0 else None
    ref = linear_scan_reference(a, b, h0, reverse)
    keep = torch_impl.LOOP_MIN
    try:
        for loop_min in (0, 10 ** 9):  # the chunk's steps as a loop, then by doubling
            torch_impl.LOOP_MIN = loop_min
            parts = chunked_scan(a, b, h0, reverse=reverse, chunk=chunk)
            assert parts.h.dtype == dtype and parts.h.shape == (B, T, D)
            assert rel_err(parts.h, ref) < TOL[dtype]
    finally:
        torch_impl.LOOP_MIN = keep
    assert rel_err(linear_scan(a, b, h0, reverse=reverse), ref) < TOL[dtype]


def test_local_scans_loop_and_doubling_agree(monkeypatch):
    """Both ways of scanning the chunks give the same A and L; a tensor with B x chunks x D
    past LOOP_MIN takes the loop by itself."""
    from rnnviz.ops.linear_scan import torch_impl

    a, b, _ = make(2, 5 * 16, 1024, torch.float64)
    a, b = a.reshape(2, 5, 16, 1024), b.reshape(2, 5, 16, 1024)
    assert 2 * 5 * 1024 >= torch_impl.LOOP_MIN
    A, L = torch_impl.local_scans(a, b)
    dA, dL = doubling_scan(a, b, dim=2)
    assert torch.allclose(A, dA) and torch.allclose(L, dL)
    calls = []
    monkeypatch.setattr(torch_impl, "doubling_scan", lambda *x, **k: calls.append(1))
    torch_impl.local_scans(a, b)
    assert not calls


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("reverse", [False, True])
def test_half_dtypes_accumulate_in_float32(dtype, reverse):
    a, b, h0 = make(2, 300, 5, dtype)
    h = linear_scan(a, b, h0, reverse=reverse)
    assert h.dtype == dtype
    # the oracle sees the same (rounded) inputs: the error left is the output rounding
    assert rel_err(h, linear_scan_reference(a, b, h0, reverse)) < TOL[dtype]


def test_long_sequence_torch_path():
    """T = 2^16 + 3 (not a power of two, three recursion levels of chunks)."""
    a, b, h0 = make(1, 2 ** 16 + 3, 2, torch.float32, growth=False)
    a = 0.9 + 0.1 * a  # long memory: the carries matter over thousands of steps
    for reverse in (False, True):
        ref = linear_scan_reference(a, b, h0, reverse)
        assert rel_err(linear_scan(a, b, h0, reverse=reverse, backend="torch"), ref) < 1e-4


def test_doubling_scan_is_the_scan():
    a, b, _ = make(2, 37, 3, torch.float64)
    A, L = doubling_scan(a, b, dim=1)
    assert torch.allclose(L, linear_scan_reference(a, b))
    assert torch.allclose(A, torch.cumprod(a, 1))


def test_non_contiguous_inputs():
    a, b, h0 = make(3, 40, 6, torch.float32)
    at = a.transpose(0, 2).contiguous().transpose(0, 2)  # same values, other strides
    bt = b[:, :, ::1].clone().permute(2, 1, 0).contiguous().permute(2, 1, 0)
    h0t = h0.t().contiguous().t()
    assert not at.is_contiguous() and not bt.is_contiguous()
    ref = linear_scan_reference(a, b, h0)
    assert rel_err(linear_scan(at, bt, h0t), ref) < TOL[torch.float32]
    step = make(2, 80, 6, torch.float32)[0][:, ::2]  # a strided time axis
    assert rel_err(linear_scan(step, step), linear_scan_reference(step, step)) < 1e-5


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("use_h0", [False, True])
@pytest.mark.parametrize("T", [1, 5, 19])
def test_gradcheck_torch_path(reverse, use_h0, T):
    a, b, h0 = make(2, T, 3, torch.float64, growth=True)
    args = (a.requires_grad_(), b.requires_grad_(), h0.requires_grad_() if use_h0 else None)
    fn = lambda a, b, h0: linear_scan(a, b, h0, reverse=reverse, backend="torch")  # noqa: E731
    assert torch.autograd.gradcheck(fn, args)


@pytest.mark.parametrize("reverse", [False, True])
def test_grads_match_autograd_through_reference(reverse):
    a, b, h0 = make(2, 150, 4, torch.float32)
    g = torch.randn(2, 150, 4, dtype=torch.float64)
    leaves = [x.double().requires_grad_() for x in (a, b, h0)]
    linear_scan_reference(*leaves, reverse=reverse).backward(g)
    mine = [x.clone().requires_grad_() for x in (a, b, h0)]
    linear_scan(*mine, reverse=reverse).backward(g.float())
    for m, r in zip(mine, leaves):
        assert rel_err(m.grad, r.grad) < 1e-4


def test_no_autograd_node_without_gradients(monkeypatch):
    """Nothing to differentiate (no input requires grad, or grad mode off): the scan runs
    without the autograd Function, and gives the same h; with gradients it builds the node."""
    from rnnviz.ops.linear_scan import function as F

    applied = []
    real = F.LinearScanFunction.apply
    monkeypatch.setattr(F.LinearScanFunction, "apply",
                        lambda *args: applied.append(1) or real(*args))
    a, b, h0 = torch.rand(2, 37, 3), torch.randn(2, 37, 3), torch.randn(2, 3)
    h = linear_scan(a, b, h0)
    assert not applied and h.grad_fn is None
    assert torch.equal(h, chunked_scan(a, b, h0).h)
    b.requires_grad_()
    with torch.no_grad():
        assert linear_scan(a, b, h0).grad_fn is None and not applied
    h = linear_scan(a, b, h0)
    assert applied == [1] and h.grad_fn is not None
    h.sum().backward()
    assert b.grad is not None


def test_reference_backend_is_the_loop():
    a, b, h0 = make(2, 9, 3, torch.float32)
    assert torch.equal(linear_scan(a, b, h0, backend="reference"),
                       linear_scan_reference(a, b, h0).float())


# ---------------------------------------------------------------------------------------
# bad inputs: each error names the argument, the expected and the actual
# ---------------------------------------------------------------------------------------
def test_error_wrong_rank():
    with pytest.raises(ValueError, match=r"a of shape \[B, T, D\], got \[4, 5\]"):
        linear_scan(torch.rand(4, 5), torch.rand(4, 5))


def test_error_shape_mismatch():
    with pytest.raises(ValueError, match=r"b of shape \[2, 5, 3\].*got \[2, 5, 4\]"):
        linear_scan(torch.rand(2, 5, 3), torch.rand(2, 5, 4))


def test_error_h0_shape():
    with pytest.raises(ValueError, match=r"h0 of shape \[2, 3\].*got \[3, 2\]"):
        linear_scan(torch.rand(2, 5, 3), torch.rand(2, 5, 3), torch.rand(3, 2))
    with pytest.raises(ValueError, match=r"h0 of shape \[B, D\]"):
        linear_scan(torch.rand(2, 5, 3), torch.rand(2, 5, 3), torch.rand(2, 1, 3))


def test_error_device_mismatch():
    with pytest.raises(ValueError, match="b is on meta but a is on cpu"):
        linear_scan(torch.rand(2, 5, 3), torch.empty(2, 5, 3, device="meta"))


def test_error_dtype():
    with pytest.raises(TypeError, match="a must have dtype .*; got int64"):
        linear_scan(torch.ones(2, 5, 3, dtype=torch.long), torch.ones(2, 5, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="b has dtype torch.float64 but a has torch.float32"):
        linear_scan(torch.rand(2, 5, 3), torch.rand(2, 5, 3, dtype=torch.float64))


def test_error_empty_time():
    with pytest.raises(ValueError, match=r"T >= 1.*got shape \[2, 0, 3\]"):
        linear_scan(torch.rand(2, 0, 3), torch.rand(2, 0, 3))


def test_error_not_a_tensor_backend_reverse():
    with pytest.raises(TypeError, match="a must be a torch.Tensor, got list"):
        linear_scan([[[1.0]]], torch.rand(1, 1, 1))
    with pytest.raises(ValueError, match="backend must be one of"):
        linear_scan(torch.rand(1, 2, 1), torch.rand(1, 2, 1), backend="cuda")
    with pytest.raises(TypeError, match="reverse must be a bool, got int"):
        linear_scan(torch.rand(1, 2, 1), torch.rand(1, 2, 1), reverse=1)


# ---------------------------------------------------------------------------------------
# instrumentation
# ---------------------------------------------------------------------------------------
def check_chunk_record(rec, a, b, h0, reverse, path):
    """The recorded intermediates are consistent with the scan they came from."""
    B, T, D = a.shape
    C = rec.meta["chunk"]
    n = -(-T // C)
    assert rec.op == "linear_scan" and rec.kind == "chunks"
    assert rec.meta["path"] == path and rec.meta["reverse"] == reverse and rec.meta["T"] == T
    local, carries, h = rec.data["local"], rec.data["carries"], rec.data["h"]
    assert carries.shape == (B, n, D) and local.shape == (B, T, D) and h.shape == (B, T, D)
    ref = linear_scan_reference(a, b, h0, reverse)
    assert rel_err(h, ref) < 1e-4
    order = torch.arange(T - 1, -1, -1) if reverse else torch.arange(T)
    for c in range(n):
        steps = order[c * C:(c + 1) * C]
        # the carry entering chunk c is h at the last step of chunk c - 1 (h0 for c = 0)
        before = (h0.double() if h0 is not None else torch.zeros(B, D, dtype=torch.float64)) \
            if c == 0 else ref[:, order[c * C - 1]]
        assert rel_err(carries[:, c], before) < 1e-4
        # the local scan restarts from zero at each chunk
        loc = linear_scan_reference(a[:, steps.sort().values], b[:, steps.sort().values],
                                    None, reverse)
        assert rel_err(local[:, steps.sort().values], loc) < 1e-4


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("loop_min", [0, None], ids=["loop", "default"])
def test_trace_records_chunks_and_carries_torch(reverse, loop_min, monkeypatch):
    """T = 150: the chunk processed last is short, in either direction, as in the kernels;
    the chunks scanned step by step (loop) and by doubling."""
    from rnnviz.ops.linear_scan import torch_impl

    if loop_min is not None:
        monkeypatch.setattr(torch_impl, "LOOP_MIN", loop_min)
    a, b, h0 = make(2, 150, 3, torch.float32)
    with rnnviz.trace() as tr:
        linear_scan(a, b, h0, reverse=reverse, backend="torch")
    (rec,) = tr.filter(op="linear_scan", kind="chunks")
    check_chunk_record(rec, a, b, h0, reverse, "torch")
    assert rec.meta["backend"] == "torch"
    assert [s.meta["stage"] for s in tr.stages()] == ["forward"]


def test_no_trace_records_nothing():
    a, b, h0 = make(2, 20, 3, torch.float32)
    with rnnviz.trace(what={"deer"}) as tr:
        linear_scan(a, b, h0)
    assert tr.records == []


# ---------------------------------------------------------------------------------------
# the Triton kernels: under the interpreter on the CPU (small shapes) and on the GPU
# ---------------------------------------------------------------------------------------
def kernel_test(f):
    """Marks a Triton kernel test: run under the interpreter and on the GPU."""
    return pytest.mark.interpreter(pytest.mark.gpu(f))


# "segment": the sequence path's two-pass kernel, 2 chunks per program (or 3, see below);
# "reduce": the same segments, their carries from a scan of their summaries (carry="scan");
# "split": reduce-then-scan with each lane group walking a sub-segment of its own
# "packed", "segpacked": the one-chunk and segment look-backs with their states published as
# tagged words (ScanConfig.packed), a window of 4 chunks
# "trips", "segtrips": the one-chunk and segment look-backs with the flags' copy read through
# the L1 and the inclusive state asked with the aggregates (ScanConfig.fewer_trips)
PATHS = ["channel", "sequence", "segment", "reduce", "split", "packed", "segpacked", "trips",
         "segtrips"]
SEQUENCE_PATHS = ("segment", "reduce", "split", "packed", "segpacked", "trips", "segtrips")


def small_config(path, block_t=8, block_d=4, block_s=1, stages=1, vec=0, segment=2):
    from rnnviz.kernels.linear_scan import ScanConfig

    packed = dict(packed=True, lookback=4) if path in ("packed", "segpacked") else {}
    if path in ("trips", "segtrips"):
        packed = dict(fewer_trips=True)
    if path in ("segment", "reduce", "split", "segpacked", "segtrips"):
        return ScanConfig("sequence", block_t=block_t, block_d=block_d, num_warps=4,
                          block_s=block_s, stages=stages, vec=vec, segment=segment,
                          carry="scan" if path in ("reduce", "split") else "lookback",
                          split=path == "split", **packed)
    return ScanConfig("sequence" if packed else path, block_t=block_t, block_d=block_d,
                      num_warps=4, block_s=block_s, stages=stages, vec=vec, **packed)


def reference_grads(a, b, h0, g, reverse):
    leaves = [x.detach().double().requires_grad_() for x in (a, b, h0)]
    linear_scan_reference(*leaves, reverse=reverse).backward(g.double())
    return [x.grad for x in leaves]


@kernel_test
@pytest.mark.parametrize("path,stages,vec", [("channel", 1, 0), ("channel", 3, 2),
                                             ("sequence", 1, 0), ("sequence", 1, 1),
                                             ("segment", 1, 0), ("segment", 2, 0),
                                             ("reduce", 1, 0), ("reduce", 2, 0),
                                             ("reduce", 1, 1), ("split", 1, 0),
                                             ("split", 2, 0), ("packed", 1, 0),
                                             ("segpacked", 2, 0), ("trips", 1, 0),
                                             ("segtrips", 2, 0)])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("use_h0", [False, True])
@pytest.mark.parametrize("shape,block_s", [((2, 37, 5), 1), ((2, 37, 5), 4), ((1, 1, 3), 2),
                                           ((3, 16, 1), 1)])
def test_kernel_forward_backward(kernel_device, path, stages, vec, reverse, use_h0, shape,
                                 block_s):
    """Several chunks (block_t=8), sub-chunks (block_s: 1 takes the channel kernel's direct
    path), channel tiles (block_d=4), with and without pipelined loads (the channel kernel's
    and the segment kernel's) and narrowed vectors (vec=1: one channel a lane, on the
    sequence kernels too); segments of 2 chunks, the last one short at T=37."""
    a, b, h0 = make(*shape, torch.float32, growth=True, device=kernel_device)
    cfg = small_config(path, block_s=block_s, stages=stages, vec=vec)
    check_kernels(a, b, h0 if use_h0 else None, torch.randn(shape, device=a.device), reverse,
                  cfg)


@pytest.mark.parametrize("version,setting,want", [
    ("3.6.0", None, True), ("3.2.0", None, True), ("3.7.0", None, False),
    ("3.9.0+git1a2b3c4", None, False), ("3.10.1", None, False), ("4.0.0", None, False),
    ("3.6.0", "0", False), ("3.9.0", "1", True)])
def test_subchunk_major_view_by_triton_version(version, setting, want):
    """The [S, R, BLOCK_D] view is Triton 3.6's (and older) default, not 3.7's on; the
    environment's 0 or 1 overrides it."""
    from rnnviz.kernels.linear_scan.blocks import subchunk_major_default

    assert subchunk_major_default(version, setting) is want


def test_subchunk_major_setting_must_be_0_or_1():
    from rnnviz.kernels.linear_scan.blocks import subchunk_major_default

    with pytest.raises(ValueError, match=r"RNNVIZ_SUBCHUNK_MAJOR_LOADS must be 0 or 1.*'yes'"):
        subchunk_major_default("3.6.0", "yes")


@pytest.mark.interpreter
@pytest.mark.parametrize("path", ["channel", "reduce", "split"])
@pytest.mark.parametrize("reverse", [False, True])
def test_kernel_subchunk_major_loads(kernel_device, path, reverse, monkeypatch):
    """The tiles loaded and stored through their [S, R, BLOCK_D] view (``blocks.SUBCHUNK_MAJOR``,
    what turns Triton 3.6's layout the right way, and its default there): the same results,
    forward and backward. (The interpreter only: a compiled kernel keeps the view it was
    compiled with, and on the GPU the tests run the view this Triton chooses.)"""
    from rnnviz.kernels.linear_scan import blocks

    monkeypatch.setattr(blocks, "SUBCHUNK_MAJOR", tl.constexpr(True))
    a, b, h0 = make(2, 37, 5, torch.float32, growth=True, device=kernel_device)
    check_kernels(a, b, h0, torch.randn(a.shape, device=a.device), reverse,
                  small_config(path, block_s=4))


def check_kernels(a, b, h0, g, reverse, cfg):
    """scan_fwd and scan_bwd under ``cfg`` against the float64 loop and autograd through it;
    returns (the forward's result, (grad_a, grad_b, grad_h0)) for more checks."""
    from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd

    res = scan_fwd(a, b, h0, reverse=reverse, config=cfg)
    ref = linear_scan_reference(a.cpu(), b.cpu(), None if h0 is None else h0.cpu(), reverse)
    assert rel_err(res.h, ref) < 1e-5
    grads = scan_bwd(a, res.h, h0, g, reverse=reverse, config=cfg)
    B, _, D = a.shape
    ra, rb, rh0 = reference_grads(a.cpu(), b.cpu(),
                                  h0.cpu() if h0 is not None else torch.zeros(B, D), g.cpu(),
                                  reverse)
    assert rel_err(grads[1], rb) < 1e-5 and rel_err(grads[0], ra) < 1e-5
    if h0 is not None:
        assert rel_err(grads[2], rh0) < 1e-5
    else:
        assert grads[2] is None
    return res, grads


@kernel_test
@pytest.mark.parametrize("path", ["sequence", "segment"])
def test_kernel_leaves_status_zeroed(kernel_device, path):
    """The sequence path's flags and counters are zero after every launch (its last program
    zeroes them), so the next launch on the stream needs no memset: calls of growing and
    shrinking sizes, forward and backward, are all exact."""
    from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd
    from rnnviz.kernels.linear_scan.seqpar import _STATUS

    for T in (37, 80, 5, 37):
        a, b, h0 = make(2, T, 5, torch.float32, growth=True, device=kernel_device)
        cfg = small_config(path)
        h = scan_fwd(a, b, h0, config=cfg).h
        assert rel_err(h, linear_scan_reference(a.cpu(), b.cpu(), h0.cpu())) < 1e-5
        for buf in _STATUS.values():
            assert not buf.flags.any()
        g = torch.randn(a.shape, device=kernel_device)
        _, grad_b, _ = scan_bwd(a, h, h0, g, config=cfg)
        _, rb, _ = reference_grads(a.cpu(), b.cpu(), h0.cpu(), g.cpu(), False)
        assert rel_err(grad_b, rb) < 1e-5
        for buf in _STATUS.values():
            assert not buf.flags.any()


@pytest.mark.gpu
@pytest.mark.parametrize("segment,carry,pdl,packed", [(0, "lookback", False, False),
                                                      (8, "scan", False, False),
                                                      (8, "scan", True, False),
                                                      (0, "lookback", False, True),
                                                      (8, "lookback", False, True)])
def test_gpu_lookback_in_a_graph_and_eagerly(gpu, segment, carry, pdl, packed):
    """A captured sequence-path scan has buffers of its own (look-back status, or
    reduce-then-scan's summaries): its replays and eager calls on the same stream,
    interleaved, are all exact, with reduce-then-scan's launches overlapping (pdl) too, and
    with the look-back's tagged words (packed: the graph zeroes its words each replay, the
    eager calls advance the stream's epoch)."""
    from rnnviz.kernels.linear_scan import ScanConfig, scan_fwd

    a, b, h0 = make(1, 40_000, 16, torch.float32, device=gpu)
    ref = linear_scan(a.double(), b.double(), h0.double(), backend="torch")
    cfg = ScanConfig("sequence", block_t=64, block_d=16, num_warps=1, block_s=8,
                     segment=segment, carry=carry, pdl=pdl, packed=packed,
                     lookback=8 if packed else 32)
    out = {"h": scan_fwd(a, b, h0, config=cfg).h}  # warm up (compile) outside the capture
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out["h"] = scan_fwd(a, b, h0, config=cfg).h
    for _ in range(5):
        graph.replay()
        eager = scan_fwd(a, b, h0, config=cfg).h
        torch.cuda.synchronize()
        assert rel_err(out["h"], ref) < 1e-4 and rel_err(eager, ref) < 1e-4
    # buffers are kept for the latest few streams only
    from rnnviz.kernels.linear_scan.seqpar import _STATUS, _STATUS_PACKED, STATUS_STREAMS

    for _ in range(2 * STATUS_STREAMS):
        with torch.cuda.stream(torch.cuda.Stream()):
            scan_fwd(a, b, h0, config=cfg)
    torch.cuda.synchronize()
    assert len(_STATUS) <= STATUS_STREAMS and len(_STATUS_PACKED) <= STATUS_STREAMS


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_gpu_an_eager_part_runs_eagerly_and_the_entry_in_a_graph(gpu, dtype, monkeypatch):
    """An entry with an "eager" part (here: reduce-then-scan, three launches a pass, and the
    one-chunk look-back, one, eagerly): through the op, eager calls launch the eager part's
    kernel and a captured call the entry's, forward and backward, each against float64, the
    graph replayed between eager calls on the same stream. The capture follows torch's
    recipe (warmed up eagerly on a side stream), so the entry's kernels first launch outside
    it only because the first eager call ran them (a first launch inside a capture fails:
    "operation would make the legacy stream depend on a capturing blocking stream")."""
    import rnnviz.kernels.linear_scan.launch as launch
    from rnnviz.kernels.cached_launch import CachedLaunch

    B, T, D = 1, 65536 + 3, 64
    key = launch.tuned_key(B, T, D, dtype.itemsize)
    rts = {"path": "sequence", "rows": 4, "num_warps": 1, "block_d": 16, "stages": 1, "vec": 0,
           "programs": 2112, "carry": "scan", "pdl": True}
    one = {"carry": "lookback", "programs": 0, "pdl": False, "rows": 16, "num_warps": 4,
           "block_d": 32, "fewer_trips": True}
    table = {**launch._tuned_for(launch.gpu_key()), key: {**rts, "bwd": {"rows": 8, "stages": 3},
                                                         "eager": one}}
    monkeypatch.setattr(launch, "_tuned_for", lambda k: table)
    launch.forget_choices()
    made, inner = [], CachedLaunch.launch

    def launch_(self, grid, args, kw, static=None):
        made.append(getattr(self.kernel, "fn", self.kernel).__name__)
        return inner(self, grid, args, kw, static)

    monkeypatch.setattr(CachedLaunch, "launch", launch_)
    a, b, h0 = make(B, T, D, dtype, device=gpu)
    a.requires_grad_(True)
    g = torch.randn(B, T, D, device=gpu, dtype=dtype)
    a64 = a.detach().double().requires_grad_(True)
    ref = linear_scan(a64, b.double(), h0.double(), backend="torch")
    (ref_ga,) = torch.autograd.grad(ref, a64, g.double())
    tol = 1e-4 if dtype == torch.float32 else 2e-2

    def step():
        h = linear_scan(a, b, h0)
        (grad_a,) = torch.autograd.grad(h, a, g)
        return h, grad_a

    twin = ["scan_reduce_kernel", "scan_channel_kernel", "scan_apply_kernel"]
    try:
        step()  # the first eager call runs each pass's graph twin first (it loads its kernels)
        assert made == (twin + ["scan_seqpar_kernel"]) * 2, made
        made.clear()
        step()
        assert made == ["scan_seqpar_kernel"] * 2  # eagerly: one launch a pass
        out = {}
        side = torch.cuda.Stream()  # (the capture recipe: warmed up eagerly on a side stream)
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            step()
        torch.cuda.current_stream().wait_stream(side)
        made.clear()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out["h"], out["ga"] = step()
        # captured: reduce-then-scan's three launches a pass (reduce, summaries, apply)
        assert len(made) == 6 and "scan_seqpar_kernel" not in made, made
        for _ in range(3):
            graph.replay()
            h, grad_a = step()
            torch.cuda.synchronize()
            for x, want in ((out["h"], ref), (h, ref), (out["ga"], ref_ga), (grad_a, ref_ga)):
                assert rel_err(x, want) < tol
    finally:
        launch.forget_choices()


@pytest.mark.gpu
@pytest.mark.parametrize("dtype,tile,ahead,keep", [
    (torch.float32, (16, 4, 32, 0), 264, False), (torch.float32, (16, 4, 32, 0), 264, True),
    (torch.float32, (8, 4, 32, 0), 7, False), (torch.bfloat16, (32, 4, 64, 2), 264, False),
    (torch.bfloat16, (32, 4, 64, 2), 100_000, True)])
@pytest.mark.parametrize("shape", [(3, 40_001, 300), (1, 5, 7), (2, 4097, 64)])
def test_gpu_prefetch_ahead_is_exact(gpu, dtype, tile, ahead, keep, shape):
    """The one-chunk look-back asking the L2 for a later program's chunk (``ahead`` tickets
    on, past the last chunk too; keep: evict_last), both ways, with h0, odd lengths and
    channels (the prefetch's rows and lines past T and D are not asked for): the prefetch is
    a hint, the scan the same as without it, against float64."""
    check_one_chunk_config(gpu, dtype, tile, shape, ahead=ahead, keep=keep)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype,tile,ahead", [
    (torch.float32, (16, 4, 32, 0), 0), (torch.float32, (8, 4, 16, 0), 0),
    (torch.bfloat16, (32, 4, 64, 2), 264), (torch.bfloat16, (8, 4, 16, 0), 0)])
@pytest.mark.parametrize("shape", [(3, 40_001, 300), (1, 5, 7), (2, 4097, 64), (1, 65539, 16)])
def test_gpu_fewer_trips_is_exact(gpu, dtype, tile, ahead, shape):
    """The look-back in two trips to the L2 a round (``fewer_trips``: the flags' copy read
    back through the L1, the inclusive state asked with the aggregates), one chunk a program
    (the medium and the few-channel tiles, with and without the prefetch), both ways, with
    h0, against float64; and a round of programs racing over thousands of chunks at
    (1, 65539, 16)."""
    check_one_chunk_config(gpu, dtype, tile, shape, ahead=ahead, fewer_trips=True)


def check_one_chunk_config(gpu, dtype, tile, shape, **options):
    """The one-chunk look-back with ``tile`` (rows, warps, channels, vec) and ``options``
    (ScanConfig's), forward and backward with h0, against float64; the status buffers left
    zeroed."""
    import dataclasses

    from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd, tile_config
    from rnnviz.kernels.linear_scan.seqpar import _STATUS

    B, T, D = shape
    rows, warps, block_d, vec = tile
    cfg = dataclasses.replace(tile_config("sequence", T, D, dtype.itemsize, rows, warps, block_d,
                                          vec=vec), **options)
    a, b, h0 = make(B, T, D, dtype, device=gpu)
    h = scan_fwd(a, b, h0, config=cfg).h
    a64, b64, h064 = (x.cpu().double() for x in (a, b, h0))
    ref = linear_scan_reference(a64, b64, h064)
    tol = 1e-4 if dtype == torch.float32 else TOL[dtype]  # (fp32 over 40001 steps)
    assert rel_err(h, ref) < tol
    g = torch.randn(a.shape, device=gpu, dtype=dtype)
    ga, gb, gh0 = scan_bwd(a, h, h0, g, config=cfg)
    # the gradients in float64 by their own reverse scan (autograd through the reference's
    # loop takes a [B, T, D] buffer per step: hours at T=40001)
    ref_gb = linear_scan_reference(torch.cat([a64[:, 1:], torch.zeros_like(a64[:, :1])], 1),
                                   g.cpu().double(), reverse=True)
    ref_ga = ref_gb * torch.cat([h064[:, None], ref[:, :-1]], 1)
    for mine, r in zip((ga, gb, gh0), (ref_ga, ref_gb, a64[:, 0] * ref_gb[:, 0])):
        assert rel_err(mine, r) < 3 * tol
    torch.cuda.synchronize()
    for buf in _STATUS.values():
        assert not buf.flags.any()


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=6, deadline=None)
@given(B=st.integers(1, 2), T=st.sampled_from([1, 2, 7, 16, 31, 64]), D=st.sampled_from([1, 3, 8]),
       block_t=st.sampled_from([1, 4, 16]), block_d=st.sampled_from([1, 4, 8]),
       block_s=st.sampled_from([1, 2, 4]), reverse=st.booleans())
def test_kernel_block_sizes(path, B, T, D, block_t, block_d, block_s, reverse):
    from rnnviz.kernels.linear_scan import scan_fwd

    if not torch.cuda.is_available() and not _interpreting():
        pytest.skip("needs the Triton interpreter or a GPU")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    a, b, h0 = make(B, T, D, torch.float32, device=device)
    cfg = small_config(path, block_t, block_d, min(block_s, block_t))
    h = scan_fwd(a, b, h0, reverse=reverse, config=cfg).h
    assert rel_err(h, linear_scan_reference(a.cpu(), b.cpu(), h0.cpu(), reverse)) < 1e-5


def _interpreting():
    import os

    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


test_kernel_block_sizes = kernel_test(test_kernel_block_sizes)


@kernel_test
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_kernel_half_dtypes(kernel_device, dtype):
    a, b, h0 = make(2, 40, 8, dtype, device=kernel_device)
    h = linear_scan(a, b, h0, backend="triton")
    assert h.dtype == dtype
    assert rel_err(h, linear_scan_reference(a.cpu(), b.cpu(), h0.cpu())) < TOL[dtype]


@kernel_test
@pytest.mark.parametrize("reverse", [False, True])
def test_kernel_through_op_autograd(kernel_device, reverse):
    """The public op on the Triton backend with the automatic config, non-contiguous input."""
    a, b, h0 = make(2, 30, 6, torch.float32, device=kernel_device)
    a = a.transpose(1, 2).contiguous().transpose(1, 2)  # D is not the innermost dim
    g = torch.randn(2, 30, 6, device=kernel_device)
    leaves = [x.clone().requires_grad_() for x in (a, b, h0)]
    h = linear_scan(*leaves, reverse=reverse, backend="triton")
    h.backward(g)
    ref = linear_scan_reference(a.cpu(), b.cpu(), h0.cpu(), reverse)
    assert rel_err(h, ref) < 1e-5
    for mine, r in zip(leaves, reference_grads(a.cpu(), b.cpu(), h0.cpu(), g.cpu(), reverse)):
        assert rel_err(mine.grad, r) < 1e-5


@kernel_test
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("reverse", [False, True])
def test_kernel_records_its_chunks(kernel_device, path, reverse, monkeypatch):
    """With a trace the kernel itself writes the local scans and carries it used."""
    import rnnviz.kernels.linear_scan.launch as launch

    monkeypatch.setattr(launch, "_auto_config", lambda *args: small_config(path, block_s=2))
    # launch plans are cached per shape: this test's come from a cache of its own
    monkeypatch.setattr(launch, "_auto_plan", functools.lru_cache()(launch._auto_plan.__wrapped__))
    a, b, h0 = make(2, 37, 5, torch.float32, device=kernel_device)
    with rnnviz.trace() as tr:
        linear_scan(a, b, h0, reverse=reverse, backend="triton")
    (rec,) = tr.filter(op="linear_scan", kind="chunks")
    assert rec.meta["chunk"] == 8 and rec.meta["backend"] == "triton"
    check_chunk_record(rec, a.cpu(), b.cpu(), h0.cpu(), reverse,
                       "sequence" if path in SEQUENCE_PATHS else path)


@triton.jit
def _probe_lookback(FLAGS, VALS, SCRATCH, H0, OUT, ROUNDS, CP, BLOCK_D: tl.constexpr,
                    W: tl.constexpr, FEWER_TRIPS: tl.constexpr):
    offs = tl.arange(0, BLOCK_D)
    c = tl.load(CP)  # a runtime chunk index, as the kernel's ticket gives it
    carry, rounds = lookback_carry(FLAGS, VALS, SCRATCH, 0, 1, c, tl.load(H0 + offs), BLOCK_D, W,
                                   FEWER_TRIPS)
    tl.store(OUT + offs, carry)
    tl.store(ROUNDS, rounds)


@kernel_test
@pytest.mark.parametrize("fewer_trips", [False, True])
def test_lookback_composes_aggregates(kernel_device, fewer_trips):
    """Chunks whose inclusive state is not yet published are passed by composing their
    aggregates, a window of W at a time (on a GPU the race decides; here the flags are set
    by hand); the same in two trips to the L2 a round (FEWER_TRIPS)."""
    BD, n, W = 4, 11, 4
    agg_a = torch.rand(n, BD, device=kernel_device)
    agg_b = torch.randn(n, BD, device=kernel_device)
    h0 = torch.randn(BD, device=kernel_device)
    incl, h = [], h0.clone()
    for j in range(n):
        h = agg_a[j] * h + agg_b[j]
        incl.append(h)
    vals = torch.stack([agg_a, agg_b, torch.stack(incl)], 1).contiguous()  # [n, 3, BD]
    flags = torch.ones(n, dtype=torch.int32, device=kernel_device)  # aggregates only ...
    flags[0] = flags[3] = 2  # ... but chunks 0 and 3 have their inclusive state out
    out = torch.empty(BD, device=kernel_device)
    scratch = torch.empty(W, dtype=torch.int32, device=kernel_device)
    rounds = torch.empty(1, dtype=torch.int32, device=kernel_device)
    # chunk 0 needs no look-back; 1..7 find chunk 0's or 3's state in their first window;
    # 8..10 compose one window of aggregates, then find chunk 3's
    expect_rounds = [0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2]
    for c in range(n):
        cp = torch.tensor([c], dtype=torch.int32, device=kernel_device)
        _probe_lookback[(1,)](flags, vals, scratch, h0, out, rounds, cp, BLOCK_D=BD, W=W,
                              FEWER_TRIPS=fewer_trips)
        expect = h0 if c == 0 else incl[c - 1]
        assert torch.allclose(out, expect, atol=1e-5), c
        assert rounds.item() == expect_rounds[c], c


@triton.jit
def _probe_lookback_words(VALS, SCRATCH, H0, OUT, ROUNDS, CP, TAG, BLOCK_D: tl.constexpr,
                          W: tl.constexpr):
    offs = tl.arange(0, BLOCK_D)
    carry, rounds = lookback_words(VALS, SCRATCH, tl.load(TAG), 0, 1, tl.load(CP),
                                   tl.load(H0 + offs), BLOCK_D, W)
    tl.store(OUT + offs, carry)
    tl.store(ROUNDS, rounds)


@kernel_test
def test_lookback_words_take_this_launch_only(kernel_device):
    """The packed look-back (tagged words, no flags): a word counts only if it carries this
    launch's tag, and each channel decides alone. Chunk 3 has its inclusive state out for
    channel 0 alone; chunk 6's inclusive words are an earlier launch's (tag 4), which would
    give wrong carries if taken."""
    BD, n, W, tag = 4, 11, 4, 5
    agg_a = torch.rand(n, BD, dtype=torch.float64)
    agg_b = torch.randn(n, BD, dtype=torch.float64)
    h0 = torch.randn(BD)
    incl, h = [], h0.double()
    for j in range(n):
        h = agg_a[j] * h + agg_b[j]
        incl.append(h)
    values = torch.stack([agg_a, agg_b, torch.stack(incl)], 1).float()  # [n, 3, BD]
    tags = torch.full((n, 3, BD), tag, dtype=torch.int64)
    tags[:, 2] = 0  # no inclusive state out ...
    tags[0, 2] = tag  # ... but chunk 0's,
    tags[3, 2, 0] = tag  # chunk 3's for channel 0,
    tags[6, 2] = tag - 1  # and chunk 6's, from an earlier launch (a stale value)
    values[6, 2] = 1e6
    bits = values.view(torch.int32).to(torch.int64) & 0xFFFFFFFF
    words = ((tags << 32) | bits).to(kernel_device).contiguous()
    out = torch.empty(BD, device=kernel_device)
    rounds = torch.empty(1, dtype=torch.int32, device=kernel_device)
    t = torch.tensor([tag], dtype=torch.int32, device=kernel_device)
    scratch = torch.empty(3 * W * BD, dtype=torch.int64, device=kernel_device)
    for c in range(n):
        cp = torch.tensor([c], dtype=torch.int32, device=kernel_device)
        _probe_lookback_words[(1,)](words, scratch, h0.to(kernel_device), out, rounds, cp, t,
                                    BLOCK_D=BD, W=W)
        expect = h0.double() if c == 0 else incl[c - 1]
        assert torch.allclose(out.cpu().double(), expect, rtol=1e-5, atol=1e-5), c
        # chunk 0 needs no look-back; 1..4 see chunk 0 in their first window; 5..8 compose
        # a window and then see it; 9, 10 need a third round (chunk 6's words stale)
        assert rounds.item() == [0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3][c], c


# ---------------------------------------------------------------------------------------
# GPU only: shapes where programs really run concurrently (the look-back races)
# ---------------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("shape", [(1, 2 ** 16 + 3, 16), (1, 65536, 64), (3, 5000, 33),
                                   (16, 1027, 4096), (2, 3000, 1),
                                   # the tuned segments of 32 channels, both carries (H200)
                                   (4, 5000, 256), (2, 40000, 300)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_gpu_auto_paths_large(gpu, shape, dtype):
    a, b, h0 = make(*shape, torch.float32, device=gpu)
    check_op_both_ways(0.9 + 0.1 * a, b, h0, dtype)  # long memory: carries matter across chunks


@pytest.mark.gpu
@pytest.mark.parametrize("shape", [(1, 65536, 64), (1, 2 ** 16 + 3, 16), (2, 40000, 100),
                                   (4, 16384, 256), (3, 40001, 300)])
def test_gpu_the_h100_table_on_any_hopper(gpu, shape):
    """The H100's own entries for few channels and long T (fp32 by the one-chunk look-back
    both ways, at D=64 and, since 2026-12-07, in the "|few" class too; bf16's reduce-then-scan
    with pdl and its eager part at D=64) and for a few hundred to 4096 channels (one-chunk
    look-back both ways; bf16 at T <= 32768 reduce-then-scan forward, with an eager part), run
    on whatever GPU runs the tests as if it were an H100: exact both ways, fp32 and bf16."""
    import rnnviz.kernels.linear_scan.launch as launch
    from rnnviz.bench.sass import tuned_for

    if torch.cuda.get_device_capability(gpu) < (9, 0):
        pytest.skip("pdl (griddepcontrol) needs sm_90 or later")
    with tuned_for("H100"):  # (its choices forgotten on the way in and out)
        a, b, h0 = make(*shape, torch.float32, device=gpu)
        # every fp32 class here looks back both ways, one launch a pass (the D=64 class since
        # 2026-12-07 19:33, the "|few" forward since the second session of that day)
        for backward in (False, True):
            cfg = launch.choose_config(*shape, 4, backward=backward)
            assert (cfg.carry, cfg.segment) == ("lookback", 0), (shape, backward)
        for dtype in (torch.float32, torch.bfloat16):
            check_op_both_ways(0.9 + 0.1 * a, b, h0, dtype)


def check_op_both_ways(a, b, h0, dtype, check_h=lambda h: None):
    """The op on the automatic config, forward and backward in both directions, against the
    float64 torch scan; ``check_h`` sees each output."""
    tol = 1e-4 if dtype == torch.float32 else 3e-2
    for reverse in (False, True):
        ref_leaves = [x.double().requires_grad_() for x in (a, b, h0)]
        ref = linear_scan(*ref_leaves, reverse=reverse, backend="torch")
        g = torch.randn(a.shape, device=a.device, dtype=torch.float64)
        ref.backward(g)
        leaves = [x.to(dtype).detach().requires_grad_() for x in (a, b, h0)]
        h = linear_scan(*leaves, reverse=reverse)
        check_h(h)
        h.backward(g.to(dtype))
        assert rel_err(h, ref) < tol
        for mine, r in zip(leaves, ref_leaves):
            assert rel_err(mine.grad, r.grad) < tol * 10


@pytest.mark.gpu
@pytest.mark.parametrize("path", ["packed", "segpacked"])
def test_gpu_packed_lookback_with_more_threads_than_words(gpu, path):
    """A window of 4 x 4 words in a program of 4 warps: several threads load each word. Before
    they agreed on one copy (``seqpar.same_for_all_threads``) this took a stale carry (hypothesis found
    T=16, one step a chunk, on an H100: 2e-4 off)."""
    from rnnviz.kernels.linear_scan import scan_fwd

    for T in (16, 61, 300):
        a, b, h0 = make(1, T, 1, torch.float32, device=gpu)
        cfg = small_config(path, block_t=1, block_d=4)
        for reverse in (False, True):
            ref = linear_scan_reference(a.cpu(), b.cpu(), h0.cpu(), reverse)
            for _ in range(20):
                assert rel_err(scan_fwd(a, b, h0, reverse=reverse, config=cfg).h, ref) < 1e-5


@pytest.mark.gpu
@pytest.mark.parametrize("D,block_d,block_s,vec", [(16, 16, 32, 0), (64, 64, 8, 0),
                                                   (64, 16, 32, 0), (5, 8, 64, 0),
                                                   (64, 32, 1, 1)])
@pytest.mark.parametrize("packed", [False, True])
def test_gpu_lookback_under_contention(gpu, D, block_d, block_s, vec, packed):
    """Many small chunks racing through the look-back, repeated: every run exact (vec=1:
    one channel a lane, 16-step chunks), with flags and with tagged words (packed, a window
    of 8: most chunks compose aggregates over several rounds), both directions."""
    from rnnviz.kernels.linear_scan import ScanConfig, scan_fwd

    a, b, h0 = make(2, 50_000, D, torch.float32, device=gpu)
    a = 0.99 + 0.01 * a
    cfg = ScanConfig("sequence", block_t=16 if vec else 2 * block_s, block_d=block_d,
                     num_warps=1 if vec else 4, block_s=block_s, vec=vec, packed=packed,
                     lookback=8 if packed else 32)
    for reverse in (False, True):
        ref = linear_scan(a.double(), b.double(), h0.double(), reverse=reverse,
                          backend="torch")
        for _ in range(10):
            assert rel_err(scan_fwd(a, b, h0, reverse=reverse, config=cfg).h, ref) < 1e-4


@pytest.mark.gpu
@pytest.mark.parametrize("shape", [(1, 2 ** 20 + 3, 16), (4, 16384, 256), (3, 5000, 33),
                                   (1, 65539, 64)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("pdl", [False, True])
@pytest.mark.parametrize("tile", [(4, 1, 16, 0), (16, 1, 32, 1), (16, 2, 64, 1)])
def test_gpu_reduce_then_scan_large(gpu, shape, dtype, pdl, tile):
    """carry="scan" over some two thousand segments, forward and backward, both ways, its
    three launches one after the other and overlapping (pdl); tiles of (rows, warps,
    channels, vec): 16-byte loads over sub-chunks, and one channel a lane (vec=1)."""
    from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd, tile_config
    from rnnviz.kernels.linear_scan.launch import segment_for

    B, T, D = shape
    a, b, h0 = make(*shape, torch.float32, device=gpu)
    a = 0.9 + 0.1 * a
    elem = torch.tensor([], dtype=dtype).element_size()
    rows, warps, block_d, vec = tile
    cfg = segment_for(B, T, D, tile_config("sequence", T, D, elem, rows, warps, block_d, vec=vec,
                                           segment=1, carry="scan"), 2112)
    cfg = dataclasses.replace(cfg, pdl=pdl)
    assert cfg.carry == "scan" and cfg.vec == (vec if vec else 0)
    assert B * -(-D // cfg.block_d) * -(-T // (cfg.block_t * cfg.segment)) > 500
    tol = 1e-4 if dtype == torch.float32 else 3e-2
    x = [v.to(dtype) for v in (a, b, h0)]
    for reverse in (False, True):
        ref_leaves = [v.to(dtype).double().requires_grad_() for v in (a, b, h0)]
        ref = linear_scan(*ref_leaves, reverse=reverse, backend="torch")
        g = torch.randn(shape, device=gpu)
        ref.backward(g.to(dtype).double())
        h = scan_fwd(*x, reverse=reverse, config=cfg).h
        assert rel_err(h, ref) < tol
        grads = scan_bwd(x[0], h, x[2], g.to(dtype), reverse=reverse, config=cfg)
        for mine, r in zip(grads, ref_leaves):
            assert rel_err(mine, r.grad) < tol * 10


def test_bench_shapes_from_env(monkeypatch):
    """RNNVIZ_SCAN_SHAPES narrows the scan benchmark's shapes (partial GPU runs)."""
    from rnnviz.bench import scan as bench_scan

    monkeypatch.setenv("RNNVIZ_SCAN_SHAPES", "16x16384x4096; 1x65536x64;")
    assert bench_scan._shapes_from_env() == [(16, 16384, 4096), (1, 65536, 64)]
    monkeypatch.delenv("RNNVIZ_SCAN_SHAPES")
    assert bench_scan._shapes_from_env() == []


def test_bench_methods_and_dtypes_from_env(monkeypatch):
    """RNNVIZ_SCAN_METHODS and RNNVIZ_SCAN_DTYPES narrow the scan benchmark too, in the
    bench's own order; a name it does not know is an error that lists what it knows."""
    from rnnviz.bench import scan as bench_scan

    monkeypatch.setenv("RNNVIZ_SCAN_METHODS", "accelerated-scan, rnnviz-scan")
    assert bench_scan._narrowed("RNNVIZ_SCAN_METHODS", bench_scan.METHODS) == [
        "rnnviz-scan", "accelerated-scan"]
    monkeypatch.setenv("RNNVIZ_SCAN_DTYPES", "fp16")
    with pytest.raises(ValueError, match=r"RNNVIZ_SCAN_DTYPES: expected some of \['fp32', 'bf16'\]"):
        bench_scan._narrowed("RNNVIZ_SCAN_DTYPES", bench_scan.DTYPES)
    monkeypatch.delenv("RNNVIZ_SCAN_DTYPES")
    assert bench_scan._narrowed("RNNVIZ_SCAN_DTYPES", bench_scan.DTYPES) == ["fp32", "bf16"]


def test_bench_child_crashes_are_counted_across_shapes(monkeypatch):
    """accelerated-scan runs in child processes shape by shape; a variant that killed two
    children in one dtype (over all shapes) is not run again in that dtype."""
    import subprocess
    from types import SimpleNamespace

    from rnnviz.bench import scan as bench_scan

    calls = []

    def crashing_run(*args, **kwargs):
        calls.append(1)
        return SimpleNamespace(stdout="", stderr="boom", returncode=1)

    monkeypatch.setattr(subprocess, "run", crashing_run)
    crashes: dict = {}
    row = {"B": 1, "T": 8, "D": 4, "dtype": "fp32", "pass": "fwd", "variant": "warp"}
    for _ in range(3):  # three shapes
        r = dict(row)
        bench_scan._measure_in_child([r], crashes)
    assert len(calls) == 2 and crashes == {("warp", "fp32"): 2}
    assert r["error"] == "not run: accelerated-scan warp crashed twice before on this GPU in fp32"
    r = dict(row, dtype="bf16")  # the other dtype still runs
    bench_scan._measure_in_child([r], crashes)
    assert len(calls) == 3 and r["error"].startswith("crashed its process")


def test_bench_rows_keep_the_spread_of_their_repetitions(monkeypatch):
    """A row has its median and its fastest and slowest repetitions, measured here or, for
    accelerated-scan, in a child process that reports them."""
    import json
    import subprocess
    from types import SimpleNamespace

    from rnnviz.bench import scan as bench_scan

    row: dict = {}
    assert bench_scan._measure(row, "rnnviz-scan", "fwd", 1, 64, 4, torch.float32,
                               torch.device("cpu"), True, None) is None
    assert row["ms_min"] <= row["ms"] <= row["ms_max"] and row["reps"] >= 3
    assert "host_pace_ms" not in row  # (a CPU has no flush to outpace)
    from rnnviz.bench import core

    def paced(fn, device, quick):  # as time_ms back to back on a GPU: the pace kept
        core.LAST_TIMES[:], core.LAST_PACE[:] = [0.2, 0.3, 0.4], [0.5]
        return 0.5

    monkeypatch.setattr(bench_scan, "_timed", paced)
    row = {}
    bench_scan._measure(row, "rnnviz-scan", "fwd", 1, 8, 4, torch.float32, torch.device("cpu"),
                        True, None)
    assert (row["ms"], row["ms_max"], row["host_pace_ms"]) == (0.5, 0.4, 0.5)
    core.LAST_PACE[:] = []
    line = {"i": 0, "ms": 1.5, "ms_min": 1.4, "ms_max": 1.9, "reps": 7, "error": None}
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: SimpleNamespace(
        stdout=json.dumps(line) + "\n", stderr="", returncode=0))
    r = {"B": 1, "T": 8, "D": 4, "dtype": "fp32", "pass": "fwd", "variant": "scalar"}
    bench_scan._measure_in_child([r], {})
    assert (r["ms"], r["ms_min"], r["ms_max"], r["reps"], r["error"]) == (1.5, 1.4, 1.9, 7, None)


def test_bench_child_times_rnnviz_in_the_baselines_rounds(monkeypatch, capsys):
    """Where a call is small, accelerated-scan's child process times rnnviz's two kernels in
    the same rounds, and the ratio from those moments is derived beside the usual one."""
    import io
    import json
    import sys

    from rnnviz.bench import scan as bench_scan

    def fake_accelerated(variant):  # a [B, D, T] scan in torch, standing for the package's
        return lambda a, b: bench_scan.log_space_scan(a.transpose(1, 2), b.transpose(1, 2)
                                                      ).transpose(1, 2)

    monkeypatch.setattr(bench_scan, "_accelerated", fake_accelerated)
    monkeypatch.setenv("RNNVIZ_BENCH_CHILD_DEVICE", "cpu")
    cases = [{"B": 1, "T": 32, "D": 4, "dtype": "fp32", "pass": p, "variant": "scalar"}
             for p in ("fwd", "fwd+bwd")]
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(cases)))
    bench_scan._child_main()
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["i"] for o in out] == [0, 1] and all(o["error"] is None for o in out)
    for o in out:
        assert set(o["beside_ms"]) == {"accelerated-scan", "rnnviz-scan", "rnnviz-time"}
        assert all(v > 0 for v in o["beside_ms"].values())
    # the derived ratios: the usual (rows timed apart) and the same moments' (in the child)
    acc = dict(cases[1], method="accelerated-scan", ms=2.0,
               beside_ms={"accelerated-scan": 1.0, "rnnviz-scan": 0.5, "rnnviz-time": 4.0})
    ours = [dict(cases[1], method=m, ms=1.0) for m in ("rnnviz-scan", "rnnviz-time")]
    bench_scan._derive([acc, *ours], copy_gbs=100.0)
    assert ours[0]["speedup_vs_accelerated-scan-scalar"] == 2.0
    assert ours[0]["speedup_vs_accelerated-scan-scalar_same_moments"] == 2.0
    assert ours[1]["speedup_vs_accelerated-scan-scalar_same_moments"] == 0.25
    assert "in its rounds: accelerated-scan 1000.0 us" in bench_scan.table([acc])


def test_the_h100_takes_the_h200s_table():
    """One chip, one table: a GPU takes its twin's entries for every class it has not
    measured itself and its own where it has; a GPU of another chip takes none (the formulas)."""
    from rnnviz.kernels.linear_scan.launch import _tuned_for
    from rnnviz.kernels.linear_scan.tuned import TABLE

    h100, h200 = _tuned_for("H100"), _tuned_for("H200")
    assert set(h100) == set(TABLE["H200"]) | set(TABLE["H100"])
    assert all(h100[k] == TABLE["H100"][k] for k in TABLE["H100"])
    assert all(h100[k] == TABLE["H200"][k] for k in TABLE["H200"] if k not in TABLE["H100"])
    assert h200 == {**TABLE["H100"], **TABLE["H200"]}
    # the H100's own wide bf16 tile differs from the H200's (measured on each), and the H200
    # keeps its own (launch.WIDE's) in every T class of the widest bf16 problems
    from rnnviz.kernels.linear_scan.launch import TILE_KEYS, WIDE

    for t in ("T<=2048", "T<=32768", "T>32768"):
        mine, twin = h100[f"2|bd>=32768|{t}"], h200[f"2|bd>=32768|{t}"]
        assert mine["num_warps"] != twin["num_warps"]
        assert tuple(twin[k] for k in TILE_KEYS) == WIDE[2]["fwd"]
    assert any(k.startswith("time|") for k in h100)
    assert _tuned_for("A100") == {} and _tuned_for(None) == {}


def test_choose_config_backward_entry(monkeypatch):
    """A tuned entry's "bwd" overrides its tile for the backward scan only; without a table
    the formula gives each direction the sweep's best wide tile."""
    import rnnviz.kernels.linear_scan.launch as launch

    entry = {"path": "channel", "rows": 16, "num_warps": 2, "block_d": 512, "stages": 3,
             "vec": 0, "bwd": {"rows": 8, "num_warps": 4, "block_d": 512, "stages": 2, "vec": 4}}
    monkeypatch.setattr(launch, "interpreting", lambda: False)
    monkeypatch.setattr(launch, "gpu_key", lambda: "X")
    monkeypatch.setattr(launch, "_tuned_for", lambda key: {launch.bucket(16, 4096, 4096, 2): entry})
    fwd = launch.choose_config(16, 4096, 4096, 2)
    bwd = launch.choose_config(16, 4096, 4096, 2, backward=True)
    assert (fwd.rows, fwd.num_warps, fwd.stages, fwd.vec) == (16, 2, 3, 0)
    assert (bwd.rows, bwd.num_warps, bwd.stages, bwd.vec) == (8, 4, 2, 4)
    monkeypatch.setattr(launch, "_tuned_for", lambda key: {})
    for elem in (4, 2):
        for direction, backward in (("fwd", False), ("bwd", True)):
            cfg = launch.choose_config(16, 4096, 4096, elem, backward=backward)
            rows, w, block_d, stages, vec = launch.WIDE[elem][direction]
            assert (cfg.rows, cfg.num_warps, cfg.block_d, cfg.stages) == (rows, w, block_d, stages)


def test_choose_config_carries_and_backward_path(monkeypatch):
    """An entry's segments take the carry it names, sized to about its programs; its "bwd"
    may name another path and carry (set by hand where the bench's op-level runs said so),
    and the forward keeps its own."""
    import rnnviz.kernels.linear_scan.launch as launch

    entry = {"path": "sequence", "rows": 4, "num_warps": 1, "block_d": 32, "stages": 1,
             "vec": 0, "programs": 2112, "carry": "scan",
             "bwd": {"path": "channel", "rows": 8, "num_warps": 4, "block_d": 16, "stages": 3,
                     "vec": 0, "programs": 0, "carry": "lookback"}}
    monkeypatch.setattr(launch, "interpreting", lambda: False)
    monkeypatch.setattr(launch, "gpu_key", lambda: "X")
    monkeypatch.setattr(launch, "_tuned_for", lambda key: {launch.bucket(4, 16384, 256, 4): entry})
    fwd = launch.choose_config(4, 16384, 256, 4)
    bwd = launch.choose_config(4, 16384, 256, 4, backward=True)
    assert (fwd.path, fwd.carry, fwd.block_d) == ("sequence", "scan", 32)
    tiles, n_chunks = 4 * 256 // 32, 16384 // fwd.block_t
    assert tiles * -(-n_chunks // fwd.segment) == pytest.approx(2112, rel=0.1)
    assert (bwd.path, bwd.carry, bwd.segment, bwd.block_d, bwd.stages) == ("channel", "lookback",
                                                                          0, 16, 3)


def test_few_channels_take_their_own_class_where_the_table_has_one(monkeypatch):
    """Fewer than FEW_ROWS channels look up their "|few" class first and fall back to the
    coarse one: a table with no such class chooses as before, one with it splits the class."""
    import rnnviz.kernels.linear_scan.launch as launch

    coarse = {"path": "sequence", "rows": 4, "num_warps": 1, "block_d": 16, "stages": 1,
              "vec": 0, "programs": 2112, "carry": "scan",
              "bwd": {"rows": 4, "num_warps": 2, "block_d": 32, "stages": 3, "programs": 2112}}
    few = {**coarse, "bwd": {"rows": 8, "num_warps": 4, "block_d": 16, "stages": 1, "programs": 0}}
    key = launch.bucket(1, 65536, 64, 4)
    assert key == launch.bucket(1, 2 ** 20, 16, 4) == launch.tuned_key(1, 65536, 64, 4)
    assert launch.tuned_key(1, 2 ** 20, 16, 4) == key + "|few"
    assert launch.tuned_key(2, 2 ** 20, 32, 4) == key  # 64 channels: B * D, not D, counts
    monkeypatch.setattr(launch, "interpreting", lambda: False)
    monkeypatch.setattr(launch, "gpu_key", lambda: "X")
    for table, d16_bwd in (({key: coarse}, "scan"), ({key: coarse, key + "|few": few}, "one chunk")):
        monkeypatch.setattr(launch, "_tuned_for", lambda k, table=table: table)
        d64 = launch.choose_config(1, 65536, 64, 4, backward=True)
        d16 = launch.choose_config(1, 2 ** 20, 16, 4, backward=True)
        assert (d64.carry, d64.block_d, d64.stages) == ("scan", 32, 3)
        assert launch.tuned_entry(table, 1, 65536, 64, 4) is coarse
        if d16_bwd == "scan":
            assert (d16.carry, d16.stages, d16.segment > 0) == ("scan", 3, True)
        else:
            assert (d16.stages, d16.segment, d16.num_warps) == (1, 0, 4)
            assert launch.tuned_entry(table, 1, 2 ** 20, 16, 4) is few
        # the forward is the same entry's either way
        assert launch.choose_config(1, 2 ** 20, 16, 4).block_d == 16


def test_overlapping_launches_only_with_reduce_then_scan(monkeypatch):
    """pdl overlaps reduce-then-scan's three launches: a config asks for it only with
    carry="scan", and a tuned entry's "pdl" reaches only such a config."""
    import rnnviz.kernels.linear_scan.launch as launch

    tuned_for = launch._tuned_for  # (the GPUs' own tables, before the stand-in below)

    with pytest.raises(ValueError, match="pdl .* needs carry='scan'"):
        launch.ScanConfig("sequence", 32, 16, segment=2, carry="lookback", pdl=True)
    with pytest.raises(ValueError, match="needs carry='scan'"):
        launch.ScanConfig("channel", 32, 16, pdl=True)
    entry = {"path": "sequence", "rows": 4, "num_warps": 1, "block_d": 16, "stages": 1,
             "vec": 0, "programs": 2112, "carry": "scan", "pdl": True,
             "bwd": {"programs": 0, "rows": 8, "num_warps": 4}}
    monkeypatch.setattr(launch, "interpreting", lambda: False)
    monkeypatch.setattr(launch, "gpu_key", lambda: "X")
    monkeypatch.setattr(launch, "_tuned_for", lambda key: {launch.bucket(1, 65536, 64, 4): entry})
    fwd = launch.choose_config(1, 65536, 64, 4)
    bwd = launch.choose_config(1, 65536, 64, 4, backward=True)  # one launch: nothing to overlap
    assert (fwd.carry, fwd.pdl) == ("scan", True) and not bwd.pdl
    # the H100's own table: bf16 at D=64 overlaps both ways as graphs
    # (benchmarks/scan-entry-ab-chlane-bf16-h100.json); fp32 at D=64 looks back in one launch a
    # pass since 2026-12-07 (scan-entry-ab-ft-h100.json), and D=16 ("|few") too since that
    # day's second session (scan-entry-ab-few32-h100.json): nothing to overlap
    monkeypatch.setattr(launch, "_tuned_for", tuned_for)
    monkeypatch.setattr(launch, "gpu_key", lambda: "H100")
    for backward in (False, True):
        h64 = launch.choose_config(1, 65536, 64, 2, backward=backward)
        assert (h64.carry, h64.pdl) == ("scan", True)
        for shape in ((1, 65536, 64), (1, 2 ** 20, 16)):
            cfg = launch.choose_config(*shape, 4, backward=backward)
            assert (cfg.carry, cfg.pdl, cfg.segment) == ("lookback", False, 0), shape


def test_summary_buffers_are_kept_and_aligned():
    """Reduce-then-scan's summaries come from the stream's kept buffers: the same views for
    the same shape on the next call, each 16-byte aligned whatever the shape, no overlap."""
    from rnnviz.kernels.linear_scan.seqpar import _STATUS, summary_buffers

    _STATUS.clear()
    cpu = torch.device("cpu")
    for B, n_parts, D in [(1, 3, 5), (2, 7, 1), (1, 2112, 16)]:
        views = summary_buffers(B, n_parts, D, cpu)
        assert views is summary_buffers(B, n_parts, D, cpu)
        assert all(v.shape == (B, n_parts, D) and v.data_ptr() % 16 == 0 for v in views)
        starts = [v.data_ptr() for v in views]
        assert starts[1] - starts[0] >= B * n_parts * D * 4 <= starts[2] - starts[1]
        # the split walk's sub-segment steps: two more views after the three, [.., lanes, D]
        *three, sa, sb = summary_buffers(B, n_parts, D, cpu, lanes=8)
        assert [v.shape for v in three] == [(B, n_parts, D)] * 3
        assert sa.shape == sb.shape == (B, n_parts, 8, D)
        assert sa.data_ptr() % 16 == 0 == sb.data_ptr() % 16
        ends = sorted((v.data_ptr(), v.data_ptr() + v.numel() * 4) for v in (*three, sa, sb))
        assert all(e <= s for (_, e), (s, _) in zip(ends, ends[1:]))  # no overlap
    _STATUS.clear()


@pytest.mark.parametrize("B,D,block_d", [(1, 64, 4), (4, 64, 4), (16, 64, 16), (1, 1024, 16)])
def test_the_summaries_scan_takes_narrow_programs_for_few_channels(B, D, block_d):
    """Reduce-then-scan's middle launch, the scan of the segments' summaries, walks 4
    channels a program where B * D <= SMALL_BD (more programs for a latency-bound walk:
    3.5 us against 6.6 at B=1, D=64 on the H100) and 16 where it is wider, on [B, T, D]
    and [B, D, T] memory alike."""
    import rnnviz.kernels.linear_scan.launch as launch
    from rnnviz.kernels.linear_scan.launch_time import TimeConfig, _time_plan

    T = 65536
    cfg = launch.segment_for(B, T, D, launch.tile_config("sequence", T, D, 4, 4, 1, 16,
                                                         segment=1, carry="scan"), 2112)
    s = (T * D, D, 1)
    plan = launch._plan(cfg, (B, T, D), s, s, s, (False,) * 6, False)
    assert plan.before[1].cfg.block_d == block_d
    tcfg = TimeConfig(block_t=256, block_r=4, num_warps=4, stages=1, programs=1056)
    assert _time_plan(tcfg, (B, T, D), (False,) * 5).summary.cfg.block_d == block_d


def test_split_lanes_only_with_reduce_then_scan(monkeypatch):
    """Lanes walking sub-segments of their own ("split") is a way of walking reduce-then-scan's
    segments: a config asks for it only with carry="scan", a tuned entry's "split" reaches
    only such a config (not a backward's one-launch look-back), and a plan falls back to the
    chunked walk where the kernel records its chunks or a segment's row offsets would not
    fit in int32."""
    import rnnviz.kernels.linear_scan.launch as launch

    with pytest.raises(ValueError, match="split .* needs carry='scan'"):
        launch.ScanConfig("sequence", 32, 16, segment=2, carry="lookback", split=True)
    entry = {"path": "sequence", "rows": 4, "num_warps": 1, "block_d": 16, "stages": 1,
             "vec": 0, "programs": 2112, "carry": "scan", "split": True,
             "bwd": {"programs": 2112, "carry": "lookback"}}
    monkeypatch.setattr(launch, "interpreting", lambda: False)
    monkeypatch.setattr(launch, "gpu_key", lambda: "X")
    monkeypatch.setattr(launch, "_tuned_for", lambda key: {launch.bucket(1, 65536, 64, 4): entry})
    fwd = launch.choose_config(1, 65536, 64, 4)
    bwd = launch.choose_config(1, 65536, 64, 4, backward=True)
    assert (fwd.carry, fwd.split) == ("scan", True) and (bwd.carry, bwd.split) == ("lookback", False)
    s = (65536 * 64, 64, 1)
    flags = (False,) * 6
    plan = launch._plan(fwd, (1, 65536, 64), s, s, s, flags, False)
    assert plan.cfg.split and plan.constexprs["SPLIT"] and plan.before[0].constexprs["SPLIT"]
    assert "SPLIT" not in plan.before[1].constexprs  # (the summaries' scan walks chunks)
    recorded = launch._plan(fwd, (1, 65536, 64), s, s, s, flags[:5] + (True,), False)
    assert not recorded.cfg.split and "SPLIT" not in recorded.constexprs
    # a segment of 2^16 steps 2^15 channels apart: offsets past int32 (a chunk's still fit)
    wide = dataclasses.replace(fwd, segment=2 ** 16 // fwd.block_t)
    huge = (2 ** 31, 2 ** 15, 1)
    assert not launch._plan(wide, (1, 2 ** 16, 2 ** 15), huge, huge, huge, flags, False).cfg.split


def test_timeline_keeps_the_lookback_kernel(monkeypatch):
    """A timeline is the look-back kernels' clock: where the automatic config takes
    reduce-then-scan, a timeline call plans the same segments with look-back carries."""
    import rnnviz.kernels.linear_scan.launch as launch

    cfg = launch.tile_config("sequence", 4096, 16, 4, 4, 1, 16, segment=4, carry="scan")
    monkeypatch.setattr(launch, "_auto_config", lambda *args: cfg)
    monkeypatch.setattr(launch, "_auto_plan", functools.lru_cache()(launch._auto_plan.__wrapped__))
    args = ((1, 4096, 16), (65536, 16, 1), (65536, 16, 1), (65536, 16, 1),
            (False, False, False, False, False, False))
    plain = launch._auto_plan(*args, False, 4, None, False)
    timed = launch._auto_plan(*args, True, 4, None, False)
    assert plain.before is not None and plain.cfg.carry == "scan"
    assert timed.before is None and timed.cfg == launch.dataclasses.replace(cfg, carry="lookback")


def test_choose_config_small_classes(monkeypatch):
    """A tuned sequence-path entry is not used for T <= SHORT_T (one walk needs no
    look-back); a channel entry with few programs is dropped for wider classes, kept in
    the smallest one (B * D <= SMALL_BD), where the sweep measured exactly that."""
    import rnnviz.kernels.linear_scan.launch as launch

    seq = {"path": "sequence", "rows": 4, "num_warps": 2, "block_d": 16}
    chan = {"path": "channel", "rows": 16, "num_warps": 8, "block_d": 8}
    monkeypatch.setattr(launch, "interpreting", lambda: False)
    monkeypatch.setattr(launch, "gpu_key", lambda: "X")
    monkeypatch.setattr(launch, "_tuned_for", lambda key: {
        launch.bucket(1, 1024, 64, 4): seq, launch.bucket(1, 1024, 256, 2): chan,
        launch.bucket(1, 1024, 400, 4): chan})
    assert launch.choose_config(1, 1024, 64).num_warps == 2  # the entry
    assert launch.choose_config(1, launch.SHORT_T, 64).path == "channel"  # the formula
    assert launch.choose_config(1, 1024, 256, 2).block_d == 8  # 32 programs, smallest class
    assert launch.choose_config(1, 1024, 400).path == "sequence"  # 50 programs: the formula


def test_an_eager_part_applies_outside_graph_capture_only(monkeypatch):
    """An entry's "eager" part (``launch.pass_entry``) replaces its keys, the backward's
    included (its own "bwd" then for the backward alone), for calls no CUDA graph captures; a
    captured call, or a GPU whose table has no eager part, takes the entry as it is."""
    import rnnviz.kernels.linear_scan.launch as launch

    rts = {"path": "sequence", "rows": 4, "num_warps": 1, "block_d": 16, "programs": 2112,
           "carry": "scan", "pdl": True, "bwd": {"rows": 8, "stages": 3}}
    one = {"carry": "lookback", "programs": 0, "rows": 16, "num_warps": 4, "block_d": 32,
           "fewer_trips": True, "bwd": {"stages": 3}}
    entry = {**rts, "eager": one}
    assert {k: v for k, v in launch.pass_entry(entry, True).items() if k not in ("bwd", "eager")} \
        == {**{k: v for k, v in rts.items() if k != "bwd"}, "rows": 8, "stages": 3}
    eager_bwd = launch.pass_entry(entry, True, eager=True)
    assert (eager_bwd["rows"], eager_bwd["stages"], eager_bwd["carry"]) == (16, 3, "lookback")
    assert "stages" not in launch.pass_entry(entry, eager=True)  # (the eager "bwd": backward only)
    key = launch.tuned_key(1, 65536, 64, 4)
    monkeypatch.setattr(launch, "interpreting", lambda: False)
    monkeypatch.setattr(launch, "gpu_key", lambda index=None: "X")
    monkeypatch.setattr(launch, "_tuned_for", lambda k: {key: {**rts, "eager": one}})
    for backward in (False, True):
        graph = launch.choose_config(1, 65536, 64, 4, backward)
        eager = launch.choose_config(1, 65536, 64, 4, backward, eager=True)
        assert (graph.carry, graph.segment > 0, graph.pdl) == ("scan", True, True)
        assert (eager.carry, eager.segment, eager.pdl, eager.fewer_trips) == ("lookback", 0, False, True)
        assert eager.block_t == 16 * eager.block_s and eager.block_d == 32
        assert graph.rows == (8 if backward else 4) and graph.stages == (3 if backward else 1)
    # which part a call takes: outside capture on a GPU whose table has one, the eager part
    monkeypatch.setattr(launch, "_has_eager_entries", lambda index: True)
    monkeypatch.setattr(torch.cuda, "is_current_stream_capturing", lambda: False)
    assert launch._eager(0) and not launch._eager(None)  # (None: the CPU, the interpreter)
    monkeypatch.setattr(torch.cuda, "is_current_stream_capturing", lambda: True)
    assert not launch._eager(0)
    monkeypatch.setattr(launch, "_has_eager_entries", lambda index: False)
    monkeypatch.setattr(torch.cuda, "is_current_stream_capturing",
                        lambda: pytest.fail("asked about capture with no eager part to choose"))
    assert not launch._eager(0)


@kernel_test
def test_an_eager_part_first_runs_what_a_graph_would(kernel_device, monkeypatch):
    """The first eager call of a plan whose graph twin differs runs that twin first (a
    kernel's first launch loads its module, which a CUDA graph capture forbids, and a capture
    is warmed up eagerly), then its own plan, whose results it returns; later calls run their
    own plan alone."""
    import functools

    import rnnviz.kernels.linear_scan.launch as launch
    from rnnviz.kernels.cached_launch import CachedLaunch
    from rnnviz.kernels.linear_scan import scan_fwd

    graph_cfg, eager_cfg = small_config("reduce", block_t=8), small_config("sequence", block_t=4)
    monkeypatch.setattr(launch, "_auto_config", lambda *args: eager_cfg if args[-1] else graph_cfg)
    monkeypatch.setattr(launch, "_auto_plan", functools.lru_cache()(launch._auto_plan.__wrapped__))
    monkeypatch.setattr(launch, "_eager", lambda index: True)
    made, inner = [], CachedLaunch.launch

    def launch_(self, grid, args, kw, static=None):
        made.append(getattr(self.kernel, "fn", self.kernel).__name__)
        return inner(self, grid, args, kw, static)

    monkeypatch.setattr(CachedLaunch, "launch", launch_)
    a, b, h0 = make(2, 37, 5, torch.float32, device=kernel_device)
    ref = linear_scan_reference(a.cpu(), b.cpu(), h0.cpu())
    for call in range(3):
        made.clear()
        out = scan_fwd(a, b, h0)
        assert rel_err(out.h, ref) < 1e-5 and out.chunk == 4  # (the eager plan's chunk)
        twin = ["scan_reduce_kernel", "scan_channel_kernel", "scan_apply_kernel"]
        assert made == (twin if call == 0 else []) + ["scan_seqpar_kernel"], made


def test_rows_fit_int32_offsets():
    """The kernels' in-chunk row offsets are int32: a time stride that would overflow them
    sends the launcher to contiguous copies (or a clear error)."""
    from rnnviz.kernels.linear_scan.launch import _plan, _rows_fit

    cfg = small_config("channel", block_t=128)
    ok, huge = 4096, 2 ** 24  # time strides
    assert _rows_fit(cfg.block_t, ok, ok)
    assert not _rows_fit(cfg.block_t, ok, huge) and not _rows_fit(cfg.block_t, -huge)
    flags = (False,) * 6
    assert _plan(cfg, (1, 8, 4096), (8 * ok, ok, 1), (8 * ok, ok, 1), (8 * ok, ok, 1), flags,
                 False).fits
    assert not _plan(cfg, (1, 8, 4096), (8 * ok, ok, 1), (8 * huge, huge, 1), (8 * ok, ok, 1),
                     flags, False).fits


@kernel_test
def test_a_time_stride_past_int32_offsets_takes_contiguous_copies(kernel_device):
    """A view whose chunk offsets overflow int32 is scanned from contiguous copies; a
    contiguous input that still overflows is refused with the bound."""
    from rnnviz.kernels.linear_scan import scan_fwd

    cfg = small_config("channel", block_t=1024)
    wide = torch.rand(2, 3, 2 ** 21, device=kernel_device)  # time stride 2^21: 1024 * 2^21 = 2^31
    a = torch.rand(2, 3, 4, device=kernel_device) * 0.5 + 0.5
    b = wide[..., 4:8]  # a view: its chunk offsets would overflow int32
    assert b.stride(1) == 2 ** 21
    h = scan_fwd(a, b, config=cfg).h
    torch.testing.assert_close(h.cpu().double(), linear_scan(a.cpu().double(), b.cpu().double(),
                                                            backend="reference"))
    with pytest.raises(ValueError, match=r"need D \* 1024 \(steps per chunk\) < 2\^31, got D = 2097152"):
        scan_fwd(wide, wide, config=cfg)


def test_config_rejects_bad_stages_and_vec():
    from rnnviz.kernels.linear_scan import ScanConfig

    with pytest.raises(ValueError, match="stages"):
        ScanConfig("channel", block_t=8, block_d=8, stages=0)
    with pytest.raises(ValueError, match="vec"):
        ScanConfig("channel", block_t=8, block_d=8, vec=3)
    with pytest.raises(ValueError, match="lookback"):
        ScanConfig("sequence", block_t=8, block_d=8, lookback=48)
    with pytest.raises(ValueError, match="segment"):
        ScanConfig("channel", block_t=8, block_d=8, segment=2)
    with pytest.raises(ValueError, match="carry must be"):
        ScanConfig("sequence", block_t=8, block_d=8, segment=2, carry="tree")
    with pytest.raises(ValueError, match="segment >= 1"):
        ScanConfig("sequence", block_t=8, block_d=8, carry="scan")
    with pytest.raises(ValueError, match="packed .* needs the sequence path with carry='lookback'"):
        ScanConfig("channel", block_t=8, block_d=8, packed=True)
    with pytest.raises(ValueError, match="packed .* got path='sequence', carry='scan'"):
        ScanConfig("sequence", block_t=8, block_d=8, segment=2, carry="scan", packed=True)
    with pytest.raises(ValueError, match="ahead .* one chunk a program .* segment=2"):
        ScanConfig("sequence", block_t=8, block_d=8, segment=2, ahead=264)
    with pytest.raises(ValueError, match="ahead .* path='channel'"):
        ScanConfig("channel", block_t=8, block_d=8, ahead=264)
    with pytest.raises(ValueError, match="ahead=-1"):
        ScanConfig("sequence", block_t=8, block_d=8, ahead=-1)


def test_prefetch_ahead_reaches_the_kernel_on_a_gpu_only(monkeypatch):
    """``ahead`` (the L2 prefetch of a later program's chunk) comes from a tuned entry to the
    one-chunk kernel's constexprs, with ``keep`` as EVICT_LAST; a segment entry drops it;
    under Triton's interpreter (no PTX) the launch goes without it, the same scan."""
    import rnnviz.kernels.linear_scan.launch as launch

    entry = {"path": "sequence", "rows": 16, "num_warps": 4, "block_d": 32, "ahead": 264,
             "keep": True}
    monkeypatch.setattr(launch, "tuned_entry", lambda _table, *args: dict(entry))
    monkeypatch.setattr(launch, "interpreting", lambda: False)
    cfg = launch.choose_config(4, 65536, 256, 4)
    assert (cfg.ahead, cfg.keep, cfg.segment) == (264, True, 0)
    s = (65536 * 256, 256, 1)
    plan = launch._plan(cfg, (4, 65536, 256), s, s, s, (False,) * 6, False)
    assert plan.constexprs["AHEAD"] == 264 and plan.constexprs["EVICT_LAST"]
    entry["programs"] = 2112  # segments: nothing to prefetch for
    assert launch.choose_config(4, 65536, 256, 4).ahead == 0
    monkeypatch.setattr(launch, "interpreting", lambda: True)
    plan = launch._plan.__wrapped__(cfg, (4, 65536, 256), s, s, s, (False,) * 6, False)  # (uncached)
    assert "AHEAD" not in plan.constexprs and "EVICT_LAST" not in plan.constexprs


def test_packed_buffers_restart_their_epoch_before_it_wraps(monkeypatch):
    """The packed look-back's words carry the launch's epoch + 1 in 32 bits: every EPOCHS
    launches a set of buffers zeroes its words and its epoch (host-side), so a tag can never
    come round to a value a word still holds. The words and the scratch are separate views."""
    from rnnviz.kernels.linear_scan import seqpar

    monkeypatch.setattr(seqpar, "EPOCHS", 3)
    bufs = seqpar._StatusBuffers(4, 2 * (12 + 48), torch.device("cpu"), zeroed=True)
    assert not bufs.vals.any()
    flags, words, scratch, counters = bufs.packed_views(4, 12, 48)
    assert (words.dtype, words.numel(), scratch.numel(), counters.numel()) == (
        torch.int64, 12, 48, seqpar.HEADER)
    words.fill_(7)
    counters[seqpar.EPOCH.value] = 5
    bufs.packed_views(4, 12, 48)
    assert words.eq(7).all()  # (the second launch: kept)
    bufs.packed_views(4, 12, 48)  # the third: zeroed, the epoch restarted
    assert not words.any() and counters[seqpar.EPOCH.value] == 0 and bufs.launches == 1


@pytest.mark.interpreter
def test_timeline_needs_a_gpu():
    """The timeline reads the GPU's clock: under the interpreter it is refused, clearly."""
    if not _interpreting():
        pytest.skip("checks the interpreter's refusal")
    from rnnviz.kernels.linear_scan import scan_fwd

    a, b, _ = make(1, 64, 4)
    with pytest.raises(ValueError, match="needs a GPU"):
        scan_fwd(a, b, config=small_config("sequence", block_t=16), timeline=True)


@pytest.mark.gpu
@pytest.mark.parametrize("lookback", [32, 256])
def test_gpu_timeline_accounts_for_every_chunk(gpu, lookback):
    """With timeline=True every program writes its row: each (chunk, tile) once, phases in
    order on the global clock, no look-back for chunk 0 and at least one round after it,
    and h as without the timeline."""
    from rnnviz.bench.timeline import TIMELINE_COLUMNS, timeline_summary
    from rnnviz.kernels.linear_scan import scan_fwd, tile_config

    B, T, D = 2, 20000, 40
    a, b, h0 = make(B, T, D, torch.float32, device=gpu)
    cfg = tile_config("sequence", T, D, 4, 8, 4, 16, lookback=lookback)
    res = scan_fwd(a, b, h0, config=cfg, timeline=True)
    assert rel_err(res.h, linear_scan_reference(a.double(), b.double(), h0.double())) < 1e-4
    rows = res.timeline.cpu()
    col = {c: rows[:, i] for i, c in enumerate(TIMELINE_COLUMNS)}
    n_chunks, n_tiles = -(-T // cfg.block_t), B * -(-D // cfg.block_d)
    assert rows.shape == (n_chunks * n_tiles, len(TIMELINE_COLUMNS))
    seen = set(zip(col["chunk"].tolist(), col["tile"].tolist()))
    assert seen == {(c, t) for c in range(n_chunks) for t in range(n_tiles)}
    assert (col["start_ns"] <= col["aggregate_ns"]).all()
    assert (col["aggregate_ns"] <= col["inclusive_ns"]).all()
    assert (col["inclusive_ns"] <= col["end_ns"]).all()
    first = col["chunk"] == 0
    assert (col["rounds"][first] == 0).all() and (col["rounds"][~first] >= 1).all()
    s = timeline_summary(rows)
    assert 0 < s["span_us"] < 1e5 and 1 <= s["max_in_flight"] <= rows.shape[0]


def test_sweep_entries_name_their_carry():
    """scripts/scan_sweep.py's --entries: path:rows:warps:block_d:stages:vec:programs and an
    optional carry; its default candidates for few channels include reduce-then-scan."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "scan_sweep.py"
    spec = importlib.util.spec_from_file_location("rnnviz_scan_sweep", path)
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    assert sweep.parse_entries("channel:8:4:4:1:0:0;sequence:4:1:32:1:0:2112:scan") == [
        ("channel", 8, 4, 4, 1, 0, 0), ("sequence", 4, 1, 32, 1, 0, 2112, "scan")]
    assert any(len(e) > 7 and e[7] == "scan" for e in sweep.entries(1, 65536, 64, 4))
