"""sru_recurrence against the float64 loop written from the equations (rnnviz.ops.sru.naive):
the CPU torch path, the scan route, and the Triton kernel (interpreter / GPU), forward and
gradients, every option; bad inputs; what a trace records."""
from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnviz
from rnnviz.ops.sru import sru_recurrence, sru_recurrence_reference
from rnnviz.ops.sru.function import linear_scan_available

HAS_SCAN = linear_scan_available()


def make_case(T, B, H, D, K, peephole, mask, c0, dtype=torch.float64, device="cpu", seed=0):
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64).to(device=device, dtype=dtype).requires_grad_()

    case = {
        "U": rnd(T, B, D * H * K),
        "x": rnd(T, B, D * H) if K == 3 else None,
        "weight_c": rnd(2 * D * H) if peephole else None,
        "bias": rnd(2 * D * H),
        "c0": rnd(B, D * H) if c0 else None,
        "mask_pad": (torch.rand(T, B, generator=g) < 0.3).to(device) if mask else None,
    }
    return case


def run(case, *, D, activation="tanh", scale_x=1.0, batch_first=False, seed=1, **kw):
    """Forward, then the gradients of a random projection of (h, c_n) w.r.t. every input."""
    tm = (lambda t: t.transpose(0, 1)) if batch_first else (lambda t: t)
    U, x, m = case["U"], case["x"], case["mask_pad"]
    h, c = sru_recurrence(tm(U), case["weight_c"], case["bias"], case["c0"],
                          x=None if x is None else tm(x), scale_x=scale_x, activation=activation,
                          mask_pad=None if m is None else tm(m), num_directions=D,
                          batch_first=batch_first, **kw)
    h = tm(h)
    g = torch.Generator().manual_seed(seed)
    gh = torch.randn(h.shape, generator=g, dtype=torch.float64).to(h)
    gc = torch.randn(c.shape, generator=g, dtype=torch.float64).to(c)
    ins = [t for t in (case["U"], case["x"], case["weight_c"], case["bias"], case["c0"]) if t is not None]
    grads = torch.autograd.grad((h * gh).sum() + (c * gc).sum(), ins)
    return [h, c, *grads]


def reference(case, *, D, activation="tanh", scale_x=1.0, seed=1):
    return run(case, D=D, activation=activation, scale_x=scale_x, seed=seed, backend="reference")


def record_launches(monkeypatch, kernels, what) -> list:
    """Each launch of ``kernels`` (the CachedLaunch objects of fused_recurrent) runs as
    before, and ``what(grid, kw)`` of it is appended to the list returned."""
    seen = []
    for k in kernels:
        monkeypatch.setattr(k, "launch", lambda grid, args, kw, static=None, _l=k.launch: (
            seen.append(what(grid, kw)), _l(grid, args, kw, static)))
    return seen


def assert_close(got, want, atol, rtol=0.0):
    for i, (a, b) in enumerate(zip(got, want)):
        torch.testing.assert_close(a.double().cpu(), b.double().cpu(), atol=atol, rtol=rtol,
                                   msg=lambda m: f"output {i} (h, c_n, then grads): {m}")


# -- the CPU torch path (the kernel's algorithm) ------------------------------------------
@settings(max_examples=25, deadline=None)
@given(T=st.sampled_from([1, 2, 5, 7, 13]), B=st.integers(1, 3), H=st.sampled_from([1, 3, 8]),
       D=st.sampled_from([1, 2]), K=st.sampled_from([3, 4]), peephole=st.booleans(),
       activation=st.sampled_from(["tanh", "identity"]), mask=st.booleans(), c0=st.booleans(),
       batch_first=st.booleans())
def test_torch_path_matches_reference(T, B, H, D, K, peephole, activation, mask, c0, batch_first):
    case = make_case(T, B, H, D, K, peephole, mask, c0)
    got = run(case, D=D, activation=activation, scale_x=1.7, batch_first=batch_first,
              backend="torch", recurrence="kernel")
    assert_close(got, reference(case, D=D, activation=activation, scale_x=1.7), atol=1e-10)


def test_torch_path_float32():
    case = make_case(9, 2, 6, 2, 3, True, True, True, dtype=torch.float32)
    got = run(case, D=2, backend="torch", recurrence="kernel")
    assert got[0].dtype == torch.float32
    assert_close(got, reference(case, D=2), atol=1e-5)


def test_reference_by_hand():
    """One unit, one step, numbers worked out from the equations."""
    U = torch.tensor([[[0.5, 0.1, -0.2, 0.3]]], dtype=torch.float64)  # x~, f, r, x'
    wc = torch.tensor([0.4, -0.6], dtype=torch.float64)
    b = torch.tensor([0.2, 0.1], dtype=torch.float64)
    c0 = torch.tensor([[0.7]], dtype=torch.float64)
    h, c = sru_recurrence_reference(U, wc, b, c0)
    f = torch.sigmoid(torch.tensor(0.1 + 0.4 * 0.7 + 0.2, dtype=torch.float64))
    r = torch.sigmoid(torch.tensor(-0.2 - 0.6 * 0.7 + 0.1, dtype=torch.float64))
    c_want = f * 0.7 + (1 - f) * 0.5
    assert torch.allclose(c, c_want.reshape(1, 1))
    assert torch.allclose(h, (r * torch.tanh(c_want) + (1 - r) * 0.3).reshape(1, 1, 1))


def test_padding_carries_state_and_zeroes_output():
    case = make_case(6, 2, 4, 2, 4, True, False, True)
    case["mask_pad"] = torch.zeros(6, 2, dtype=torch.bool)
    case["mask_pad"][3:, 1] = True  # sequence 1 has length 3
    h, c = sru_recurrence(case["U"], case["weight_c"], case["bias"], case["c0"],
                          mask_pad=case["mask_pad"], num_directions=2, backend="torch",
                          recurrence="kernel")
    assert torch.all(h[3:, 1] == 0)
    short = {k: (v[:3, 1:2] if k in ("U", "mask_pad") else v) for k, v in case.items()}
    short["c0"] = case["c0"][1:2]
    h3, c3 = sru_recurrence(short["U"], case["weight_c"], case["bias"], short["c0"],
                            num_directions=2, backend="torch", recurrence="kernel")
    torch.testing.assert_close(h[:3, 1:2], h3)
    torch.testing.assert_close(c[1:2], c3)


# -- the scan route (no peephole) -----------------------------------------------------------
@pytest.mark.skipif(not HAS_SCAN, reason="rnnviz.ops.linear_scan is not in this tree yet")
@pytest.mark.parametrize("D,K,mask,c0,batch_first", [(1, 3, False, False, False), (2, 4, True, True, False),
                                                     (2, 3, True, True, True), (1, 4, False, True, True)])
def test_scan_route_matches_reference(D, K, mask, c0, batch_first):
    case = make_case(11, 3, 5, D, K, False, mask, c0)
    got = run(case, D=D, scale_x=1.3, batch_first=batch_first, backend="torch", recurrence="scan")
    assert_close(got, reference(case, D=D, scale_x=1.3), atol=1e-8)


def test_scan_needs_no_peephole():
    case = make_case(4, 2, 3, 1, 4, True, False, False)
    with pytest.raises(ValueError, match="peephole"):
        sru_recurrence(case["U"], case["weight_c"], case["bias"], recurrence="scan")


@pytest.mark.skipif(not HAS_SCAN, reason="rnnviz.ops.linear_scan is not in this tree yet")
def test_auto_takes_the_scan_for_few_units_and_long_sequences(monkeypatch):
    """The rule of "auto" on a GPU of 132 SMs (the H100's), as measured there: the scan
    without peephole when units are few (< 16 a SM) and T >= SCAN_MIN_T; else the kernel."""
    from types import SimpleNamespace

    from rnnviz.ops.sru.function import choose_recurrence

    monkeypatch.setattr(torch.cuda, "get_device_properties",
                        lambda device: SimpleNamespace(multi_processor_count=132))
    gpu = torch.device("cuda")
    for units, T, want in [(256, 65536, "scan"), (1024, 16384, "scan"), (256, 8192, "scan"),
                           (256, 4096, "kernel"), (1024, 1024, "kernel"),
                           (8192, 65536, "kernel")]:  # batch 32 x 256: the kernel won
        assert choose_recurrence("auto", False, gpu, units, T) == want, (units, T)
        assert choose_recurrence("auto", True, gpu, units, T) == "kernel"  # the peephole
    assert choose_recurrence("auto", False, torch.device("cpu"), 8192, 4) == "scan"


# -- the Triton kernel: interpreter on the CPU, the same tests on a GPU ------------------------
KERNEL_CASES = [  # T, B, H, D, K, peephole, activation, mask, c0, batch_first
    (1, 1, 1, 1, 4, True, "tanh", False, False, False),
    (6, 2, 5, 2, 3, True, "tanh", True, True, False),
    (7, 3, 4, 1, 3, False, "identity", True, True, True),
    (9, 2, 3, 2, 4, False, "tanh", False, True, True),
    (5, 2, 4, 2, 4, True, "identity", True, False, False),
    (37, 1, 2, 2, 4, True, "tanh", True, True, False),  # 5 loop turns of 8 steps, loads 2 ahead
]


@pytest.mark.interpreter
@pytest.mark.gpu
@pytest.mark.parametrize("T,B,H,D,K,peephole,activation,mask,c0,batch_first", KERNEL_CASES)
def test_kernel_matches_reference(kernel_device, T, B, H, D, K, peephole, activation, mask, c0,
                                  batch_first):
    case = make_case(T, B, H, D, K, peephole, mask, c0, dtype=torch.float32, device=kernel_device)
    got = run(case, D=D, activation=activation, scale_x=1.3, batch_first=batch_first,
              backend="triton", recurrence="kernel")
    assert_close(got, reference(case, D=D, activation=activation, scale_x=1.3), atol=2e-5, rtol=1e-5)


@pytest.mark.interpreter
@pytest.mark.gpu
@pytest.mark.parametrize("ahead", [2, 3])
@pytest.mark.parametrize("T", [3, 37, 70])
def test_kernel_forward_with_each_depth_of_loads_in_flight(kernel_device, monkeypatch, ahead, T):
    """The forward's loop keeps 2 turns of loads in flight (fp32) or 3 (bf16: FWD_AHEAD);
    each depth is its own loop (3 or 4 turns a pass), checked here in fp32 on every kind of
    end: T inside the first pass, between passes and after two."""
    from rnnviz.kernels.sru import fused_recurrent

    monkeypatch.setattr(fused_recurrent, "FWD_AHEAD", {4: ahead, 2: ahead})
    launched = record_launches(monkeypatch, [fused_recurrent._FWD], lambda grid, kw: kw["AHEAD"])
    case = make_case(T, 2, 5, 2, 3, True, True, True, dtype=torch.float32, device=kernel_device)
    got = run(case, D=2, activation="tanh", scale_x=1.0, batch_first=False, backend="triton",
              recurrence="kernel")
    assert_close(got, reference(case, D=2, activation="tanh", scale_x=1.0), atol=2e-5, rtol=1e-5)
    assert launched == [ahead]  # the depth asked for, not a plan cached under another


@pytest.mark.interpreter
@pytest.mark.gpu
@pytest.mark.parametrize("max_block,block", [(32, 32), (256, 256)])
def test_kernel_at_other_block_sizes(kernel_device, monkeypatch, max_block, block):
    """MAX_BLOCK caps the units a program owns (the 'block' stage of gpu_next.sh times copies
    of the module at other caps): forward and backward are right at a cap below and above
    the default, H = 200 (several programs a row at 32, one partly masked at 256), and the
    plan asked for is the one launched, not one cached under another cap."""
    from rnnviz.kernels.sru import fused_recurrent

    monkeypatch.setattr(fused_recurrent, "MAX_BLOCK", max_block)
    blocks = record_launches(monkeypatch, [fused_recurrent._FWD, fused_recurrent._BWD],
                             lambda grid, kw: (kw["BLOCK"], kw["num_warps"], grid[0]))
    case = make_case(5, 2, 200, 1, 3, True, True, True, dtype=torch.float32, device=kernel_device)
    got = run(case, D=1, activation="tanh", scale_x=1.0, batch_first=False, backend="triton",
              recurrence="kernel")
    assert_close(got, reference(case, D=1, activation="tanh", scale_x=1.0), atol=2e-5, rtol=1e-5)
    assert blocks == [(block, block // 32, -(-200 // block))] * 2


@pytest.mark.interpreter
@pytest.mark.gpu
def test_bf16_backward_owns_more_units(kernel_device, monkeypatch):
    """For 2-byte U the backward's programs own up to BWD_MAX_BLOCK[2] = 256 units, the
    forward's 128 (the H100 timed the bf16 backward faster at 256): bf16 U and x at H = 300
    (the backward's second program mostly masked), forward and gradients against the float64
    loop on the same bf16 values, and the blocks that were launched."""
    from rnnviz.kernels.sru import fused_recurrent

    blocks = record_launches(monkeypatch, [fused_recurrent._FWD, fused_recurrent._BWD],
                             lambda grid, kw: (kw["BLOCK"], kw["num_warps"], grid[0]))
    case = make_case(6, 2, 300, 1, 3, True, True, True, dtype=torch.float32, device=kernel_device)
    for name in ("U", "x"):
        case[name] = case[name].detach().bfloat16().requires_grad_()
    got = run(case, D=1, backend="triton", recurrence="kernel")
    assert got[0].dtype == got[1].dtype == got[2].dtype == torch.bfloat16  # h, c_n (the
    # kernel stores c_n in U's dtype), grad U
    assert_close(got, reference(case, D=1), atol=5e-2, rtol=2e-2)
    assert blocks == [(128, 4, 3), (256, 8, 2)]


@pytest.mark.interpreter
@pytest.mark.gpu
@pytest.mark.parametrize("B,H,D,in_kernel", [(1, 5, 1, True), (3, 200, 2, True), (4, 40, 1, True),
                                              (3, 200, 2, False)])
def test_backward_sums_over_the_batch_in_the_kernel(kernel_device, monkeypatch, B, H, D, in_kernel):
    """With SUM_B_IN_KERNEL (the default) the last program of each column block adds the batch
    rows' v and b gradients: every output and gradient as the float64 loop's, in two backward
    passes in a row (each launch leaves its counts at 0 for the next), one batch row or
    several, one column block or two (H = 200), one direction or two; the counters end at 0.
    Switched off, a torch sum after the kernel gives the same, and no counters exist."""
    from rnnviz.kernels.sru import fused_recurrent

    monkeypatch.setattr(fused_recurrent, "SUM_B_IN_KERNEL", in_kernel)
    monkeypatch.setattr(fused_recurrent, "_COUNTS", {})
    case = make_case(5, B, H, D, 3, True, True, True, dtype=torch.float32, device=kernel_device)
    want = reference(case, D=D)
    for _ in range(2):
        got = run(case, D=D, backend="triton", recurrence="kernel")
        assert_close(got, want, atol=2e-5, rtol=1e-5)
    if not in_kernel:
        assert fused_recurrent._COUNTS == {}
        return
    (counts,) = fused_recurrent._COUNTS.values()
    assert counts.numel() >= -(-H // 128) * D and int(counts.abs().sum()) == 0


@pytest.mark.interpreter
@pytest.mark.gpu
def test_kernel_records_gates(kernel_device):
    """With a trace on, the kernel writes its real f, r, c (RECORD); they satisfy the
    equations with the reference's states."""
    T, B, H = 5, 2, 3
    case = make_case(T, B, H, 1, 4, True, False, True, dtype=torch.float32, device=kernel_device)
    with rnnviz.trace() as tr:
        sru_recurrence(case["U"], case["weight_c"], case["bias"], case["c0"], backend="triton",
                       recurrence="kernel", layer=0)
    (rec,) = tr.filter(op="sru", kind="gates")
    assert rec.layer == 0 and rec.meta == {"direction": 0, "T": T}
    c = rec.data["c"].double()
    assert c.shape == (B, T, H)
    u = case["U"].detach().double().cpu().view(T, B, H, 4).transpose(0, 1)
    v = case["weight_c"].detach().double().cpu().view(2, H)
    b = case["bias"].detach().double().cpu().view(2, H)
    c_prev = torch.cat([case["c0"].detach().double().cpu()[:, None], c[:, :-1]], 1)
    torch.testing.assert_close(rec.data["f"].double(), torch.sigmoid(u[..., 1] + v[0] * c_prev + b[0]), atol=1e-5, rtol=0)
    torch.testing.assert_close(rec.data["r"].double(), torch.sigmoid(u[..., 2] + v[1] * c_prev + b[1]), atol=1e-5, rtol=0)
    # and c_T is the reference's
    _, c_ref = sru_recurrence_reference(case["U"].detach().cpu(), case["weight_c"].detach().cpu(),
                                        case["bias"].detach().cpu(), case["c0"].detach().cpu())
    torch.testing.assert_close(c[:, -1], c_ref, atol=1e-5, rtol=0)


@pytest.mark.gpu
def test_kernel_bf16_and_large(gpu):
    """Many blocks, long T, bf16 U (autocast's dtype): float32 math inside the kernel."""
    case = make_case(300, 4, 300, 2, 4, True, True, True, dtype=torch.float32, device=gpu)
    got = run(case, D=2, backend="triton", recurrence="kernel")
    assert_close(got, reference(case, D=2), atol=1e-4, rtol=1e-4)
    U16 = case["U"].detach().bfloat16()
    h, c = sru_recurrence(U16, case["weight_c"], case["bias"], case["c0"], num_directions=2,
                          mask_pad=case["mask_pad"], backend="triton")
    assert h.dtype == torch.bfloat16
    h_ref, _ = sru_recurrence_reference(U16, case["weight_c"], case["bias"], case["c0"],
                                        mask_pad=case["mask_pad"], num_directions=2)
    torch.testing.assert_close(h.double(), h_ref, atol=2e-2, rtol=2e-2)



@pytest.mark.gpu
@pytest.mark.parametrize("hardware_tanh,dtype", [("neither", torch.bfloat16), ("fwd", torch.bfloat16),
                                                 ("both", torch.bfloat16), ("fwd", torch.float16)],
                         ids=["neither-bf16", "fwd-bf16", "both-bf16", "fwd-fp16"])
def test_bf16_over_a_long_sequence(gpu, monkeypatch, hardware_tanh, dtype):
    """bf16 U over T = 2048 steps with long memory (b_f + 3: f near 0.95, where errors in c add
    up longest): h, c_n and the gradients stay within bf16 tolerances of the float64 loop on
    the same bf16 values, with exp and reciprocal, with tanh.approx.f32 in the forward (as
    shipped) and in both kernels (HARDWARE_TANH_2BYTE: about 2^-11 relative error; bf16's
    rounding of f's inputs moves f by more). fp16 U, 2-byte too, takes the same forward; its
    rounding is finer (2^-11), about the tanh's own error: within the same tolerances."""
    from rnnviz.kernels.sru import fused_recurrent

    monkeypatch.setattr(fused_recurrent, "HARDWARE_TANH_2BYTE",
                        {"fwd": hardware_tanh != "neither", "bwd": hardware_tanh == "both"})
    case = make_case(2048, 4, 256, 1, 3, True, False, True, dtype=torch.float32, device=gpu)
    with torch.no_grad():
        case["bias"][:256] += 3.0
    for name in ("U", "x"):
        case[name] = case[name].detach().to(dtype).requires_grad_()
    got = run(case, D=1, backend="triton", recurrence="kernel")
    assert got[0].dtype == dtype
    assert_close(got, reference(case, D=1), atol=5e-2, rtol=2e-2)

# -- what a trace sees, and what it costs without one -----------------------------------------
def test_trace_layers_and_subsample():
    case = make_case(40, 2, 3, 2, 4, True, False, False)
    with rnnviz.trace(layers=[1], every=4) as tr:
        sru_recurrence(case["U"], case["weight_c"], case["bias"], num_directions=2,
                       backend="torch", recurrence="kernel", layer=0)
        sru_recurrence(case["U"], case["weight_c"], case["bias"], num_directions=2,
                       backend="torch", recurrence="kernel", layer=1)
    recs = tr.filter(op="sru", kind="gates")
    assert [(r.layer, r.meta["direction"]) for r in recs] == [(1, 0), (1, 1)]
    assert recs[0].data["f"].shape == (2, 10, 3)
    assert {r.meta["stage"] for r in tr.stages()} == {"recurrence"}


def test_no_trace_no_gate_buffers(monkeypatch):
    """Without a trace the forward asks for no gate buffer, and in inference for no c buffer."""
    import rnnviz.ops.sru.function as fn

    seen = {}
    real = fn.sru_fwd_torch

    def spy(*a, **kw):
        seen.update(store_c=kw["store_c"], record=kw["record"])
        return real(*a, **kw)

    monkeypatch.setattr(fn, "sru_fwd_torch", spy)
    case = make_case(4, 2, 3, 1, 4, True, False, False)
    with torch.no_grad():
        sru_recurrence(case["U"], case["weight_c"], case["bias"], backend="torch", recurrence="kernel")
    assert seen == {"store_c": False, "record": False}


# -- bad inputs ----------------------------------------------------------------------------
def test_bad_inputs_raise_clear_errors():
    case = make_case(4, 2, 3, 1, 4, True, False, False)
    U, wc, b = case["U"], case["weight_c"], case["bias"]
    with pytest.raises(ValueError, match="3\\*D\\*H = 9 or 4\\*D\\*H = 12"):
        sru_recurrence(U[..., :10], wc, b)
    with pytest.raises(ValueError, match="skip input x"):
        sru_recurrence(U[..., :9], wc, b)
    with pytest.raises(ValueError, match=r"c0 of shape \[2, 3\]"):
        sru_recurrence(U, wc, b, torch.zeros(3, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match="mask_pad must be a bool"):
        sru_recurrence(U, wc, b, mask_pad=torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"mask_pad of shape \[T, B\]"):
        sru_recurrence(U, wc, b, mask_pad=torch.zeros(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="weight_c of shape"):
        sru_recurrence(U, wc[:4], b)
    with pytest.raises(ValueError, match="recurrence must be one of"):
        sru_recurrence(U, wc, b, recurrence="fast")
    with pytest.raises(ValueError, match="activation must be one of"):
        sru_recurrence(U, wc, b, activation="relu")


def test_every_option_combination_runs_on_cpu_auto():
    """backend='auto' on a CPU: every combination runs and agrees with the reference."""
    for D, K, peep, mask in itertools.product([1, 2], [3, 4], [True, False], [True, False]):
        case = make_case(3, 2, 2, D, K, peep, mask, True)
        assert_close(run(case, D=D), reference(case, D=D), atol=1e-8)


# -- the fused layer (GEMM + recurrence in one autograd node) ---------------------------------
def _layer_case(device, dtype, K, D=2, H=3, T=7, B=2):
    n_in = D * H if K == 3 else D * H + 2
    g = torch.Generator().manual_seed(5)

    def rnd(*s):
        return torch.randn(*s, generator=g, dtype=torch.float64).to(device=device, dtype=dtype).requires_grad_()

    x, W = rnd(T, B, n_in), rnd(n_in, D * H * K)
    wc, b, c0 = rnd(2 * D * H), rnd(2 * D * H), rnd(B, D * H)
    keep = 0.5
    mask = ((torch.rand(B, n_in, generator=g) < keep).to(dtype) / keep).to(device)
    pad = (torch.rand(T, B, generator=g) < 0.3).to(device)
    return x, W, wc, b, c0, mask, pad


def _layer_grads(h, c, ins, seed=7):
    g = torch.Generator().manual_seed(seed)
    loss = (h * torch.randn(h.shape, generator=g, dtype=torch.float64).to(h)).sum() + \
        (c * torch.randn(c.shape, generator=g, dtype=torch.float64).to(c)).sum()
    return [h, c, *torch.autograd.grad(loss, ins)]


def _layer_reference(x, W, wc, b, c0, mask, pad, K):
    """U = (x * mask) W with the variational mask shared over t; the skip term uses x."""
    U = (x.double() * mask.double()) @ W.double()
    h, c = sru_recurrence_reference(U, wc.double(), b.double(), c0.double(),
                                    x=x.double() if K == 3 else None, scale_x=1.2,
                                    mask_pad=pad, num_directions=2)
    return _layer_grads(h, c, [x, W, wc, b, c0])


def _layer_run(x, W, wc, b, c0, mask, pad, backend):
    from rnnviz.ops.sru import sru_layer

    h, c = sru_layer(x, W, wc, b, c0, input_mask=mask, scale_x=1.2, mask_pad=pad,
                     num_directions=2, backend=backend, recurrence="kernel")
    return _layer_grads(h, c, [x, W, wc, b, c0])


@pytest.mark.parametrize("K", [3, 4])
@pytest.mark.parametrize("with_mask", [False, True])
def test_sru_layer_matches_reference(K, with_mask):
    x, W, wc, b, c0, mask, pad = _layer_case("cpu", torch.float64, K)
    mask = mask if with_mask else torch.ones_like(mask)
    got = _layer_run(x, W, wc, b, c0, mask if with_mask else None, pad, "torch")
    assert_close(got, _layer_reference(x, W, wc, b, c0, mask, pad, K), atol=1e-10)


def _one_output_grads(device, dtype, backend, used):
    from rnnviz.ops.sru import sru_layer

    x, W, wc, b, c0, _, pad = _layer_case(device, dtype, 3)
    ins = [x, W, wc, b, c0]

    def loss(h, c):
        if used == "sums":  # both gradients reach the backward as expanded views (stride 0)
            return h.sum() + c.sum()
        return (h.sin() if used == "h" else c.sin()).sum()

    h, c = sru_layer(x, W, wc, b, c0, scale_x=1.2, mask_pad=pad, num_directions=2,
                     backend=backend, recurrence="kernel")
    got = torch.autograd.grad(loss(h, c), ins)
    d = [t.detach().double().requires_grad_() for t in ins]
    rh, rc = sru_recurrence_reference(d[0] @ d[1], d[2], d[3], d[4], x=d[0], scale_x=1.2,
                                      mask_pad=pad, num_directions=2)
    return got, torch.autograd.grad(loss(rh, rc), d)


def test_sru_layer_checks_once_per_shape_and_bad_inputs_every_call():
    """sru_layer keeps its checked plan per shape, dtype, device and options: a repeated call
    reuses it, a new shape or option is checked anew, and nothing invalid is kept, so a bad
    input raises on every call (and a good one after it still runs)."""
    from rnnviz.ops.sru import layer as sru_layer_module
    from rnnviz.ops.sru import sru_layer

    x, W, wc, b, c0, mask, pad = _layer_case("cpu", torch.float64, 3)
    sru_layer_module._PLANS.clear()
    sru_layer(x, W, wc, b, c0, num_directions=2)
    sru_layer(x, W, wc, b, c0, num_directions=2)
    assert len(sru_layer_module._PLANS) == 1
    sru_layer(x[:3], W, wc, b, c0, num_directions=2)  # another T
    sru_layer(x, W, wc, b, c0, num_directions=2, mask_pad=pad)  # another option
    assert len(sru_layer_module._PLANS) == 3
    for _ in range(2):
        with pytest.raises(ValueError, match=r"c0 of shape \[2, 6\]"):
            sru_layer(x, W, wc, b, c0[:, :4], num_directions=2)
        with pytest.raises(ValueError, match=r"expected input_mask of shape \[B, n_in\] = \[2, 6\]"):
            sru_layer(x, W, wc, b, c0, input_mask=mask[:, :5], num_directions=2)
        with pytest.raises(TypeError, match="weight_c must be a torch.Tensor"):
            sru_layer(x, W, wc.tolist(), b, c0, num_directions=2)
    assert len(sru_layer_module._PLANS) == 3
    h, _ = sru_layer(x, W, wc, b, c0, num_directions=2)
    assert h.shape == (7, 2, 6)


@pytest.mark.parametrize("used", ["h", "c_n", "sums"])
def test_sru_layer_gradient_of_one_output(used):
    """A loss of h alone or of c_n alone: the other output's gradient is not materialised
    (it reaches the backward as None) and the gradients still match the reference."""
    got, want = _one_output_grads("cpu", torch.float64, "torch", used)
    assert_close(got, want, atol=1e-10)


@pytest.mark.interpreter
@pytest.mark.gpu
@pytest.mark.parametrize("used", ["h", "c_n", "sums"])
def test_sru_layer_kernel_gradient_of_one_output(kernel_device, used):
    """The kernel's backward without grad_cn (has_gcn = 0), with a zero grad_h, and with
    both gradients as autograd hands over a sum's: expanded views of one number."""
    got, want = _one_output_grads(kernel_device, torch.float32, "triton", used)
    assert_close(got, want, atol=5e-5, rtol=1e-5)


@pytest.mark.interpreter
@pytest.mark.gpu
@pytest.mark.parametrize("K", [3, 4])
def test_sru_layer_kernel_with_variational_mask(kernel_device, K):
    x, W, wc, b, c0, mask, pad = _layer_case(kernel_device, torch.float32, K)
    got = _layer_run(x, W, wc, b, c0, mask, pad, "triton")
    assert_close(got, _layer_reference(x, W, wc, b, c0, mask, pad, K), atol=5e-5, rtol=1e-5)
