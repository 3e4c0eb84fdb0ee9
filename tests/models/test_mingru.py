"""MinGRU / MinLSTM against a float64 loop written from the paper's equations; the three
modes against each other; long sequences; step(); the fused Triton kernel (interpreter and
GPU); traces; bad inputs."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnviz
from rnnviz.models import MinGRU, MinLSTM
from rnnviz.ops.mingru import min_recurrence, min_rnn_reference

from .autocast_checks import check_backward_inside_autocast

MODELS = {"mingru": MinGRU, "minlstm": MinLSTM}


# -- the oracle: the paper's equations, one step at a time, float64 -------------------------
def g(x):
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def reference(model, x, h0=None):
    """(output [T, B, D*H], h_n [L*D, B, H]) of ``model`` in float64 from its nn.Linear
    weights, written from the equations (not from rnnviz's ops). x: [T, B, in]."""
    T, B, _ = x.shape
    H, D = model.hidden_size, model.num_directions
    x = x.double()
    h_n = []
    for i, layer in enumerate(model.layers):
        lin = {n: (getattr(layer, n).weight.double(),
                   None if getattr(layer, n).bias is None else getattr(layer, n).bias.double())
               for n in layer.names}

        def proj(name, xt, d):
            W, b = lin[name]
            y = xt @ W[d * H:(d + 1) * H].T
            return y if b is None else y + b[d * H:(d + 1) * H]

        outs = []
        for d in range(D):
            h = torch.zeros(B, H, dtype=torch.float64) if h0 is None else h0[i * D + d].double()
            hs = [None] * T
            for t in (range(T) if d == 0 else range(T - 1, -1, -1)):
                h_tilde = proj("linear_h", x[t], d)
                if model.positive:
                    h_tilde = g(h_tilde)
                if model.CELL == "mingru":
                    z = torch.sigmoid(proj("linear_z", x[t], d))
                    h = (1 - z) * h + z * h_tilde
                else:
                    f = torch.sigmoid(proj("linear_f", x[t], d))
                    i_ = torch.sigmoid(proj("linear_i", x[t], d))
                    h = f / (f + i_) * h + i_ / (f + i_) * h_tilde
                hs[t] = h
            outs.append(torch.stack(hs))
            h_n.append(h)
        x = torch.cat(outs, -1)
    return x, torch.stack(h_n)


def grads(outputs, tensors, seed=3):
    gen = torch.Generator().manual_seed(seed)
    loss = sum((o * torch.randn(o.shape, generator=gen, dtype=torch.float64).to(o.device, o.dtype)).sum()
               for o in outputs)
    return torch.autograd.grad(loss, tensors, allow_unused=True)


def make(cell, input_size, H, L, *, bidirectional=False, batch_first=False, positive=False,
         mode="parallel", bias=True, dtype=torch.float64):
    m = MODELS[cell](input_size, H, L, bias=bias, batch_first=batch_first,
                     bidirectional=bidirectional, positive=positive, mode=mode).to(dtype)
    with torch.no_grad():  # wider weights than the default init: gates far from 1/2
        for p in m.parameters():
            p.mul_(3.0)
    return m


def layout(x, batch_first):
    return x.transpose(0, 1) if batch_first else x


# -- every mode against the equations, float64 ---------------------------------------------
@settings(max_examples=25, deadline=None)
@given(cell=st.sampled_from(["mingru", "minlstm"]), mode=st.sampled_from(["parallel", "log", "sequential"]),
       bidirectional=st.booleans(), num_layers=st.sampled_from([1, 2]), batch_first=st.booleans(),
       with_h0=st.booleans(), positive=st.booleans(), bias=st.booleans(),
       T=st.sampled_from([1, 2, 7, 13, 70]), H=st.sampled_from([1, 3]))
def test_model_matches_equations(cell, mode, bidirectional, num_layers, batch_first, with_h0,
                                 positive, bias, T, H):
    positive = positive or mode == "log"
    B, n_in, D = 2, 4, 2 if bidirectional else 1
    m = make(cell, n_in, H, num_layers, bidirectional=bidirectional, batch_first=batch_first,
             positive=positive, mode=mode, bias=bias)
    x = torch.randn(T, B, n_in, dtype=torch.float64, requires_grad=True)
    h0 = None
    if with_h0:  # log mode takes log(h0): it needs h0 >= 0
        h0 = torch.rand(num_layers * D, B, H, dtype=torch.float64) + (0 if mode == "log" else -0.5)
        h0.requires_grad_(True)
    out, h_n = m(layout(x, batch_first), h0)
    ref_out, ref_hn = reference(m, x, h0)
    torch.testing.assert_close(layout(out, batch_first), ref_out, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(h_n, ref_hn, rtol=1e-9, atol=1e-9)
    wrt = [x] + list(m.parameters()) + ([h0] if with_h0 else [])
    got = grads([layout(out, batch_first), h_n], wrt)
    want = grads([ref_out, ref_hn], wrt)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 2e-6), (torch.bfloat16, 2e-2)])
def test_low_precision_modes_agree(cell, dtype, tol):
    """parallel == sequential == float64, and == log (positive=True) in fp32; fp32 and bf16,
    forward and gradients (fp32), bidirectional, 2 layers, h0. Records how far log is off."""
    T, B, n_in, H, L = 33, 3, 5, 4, 2
    m64 = make(cell, n_in, H, L, bidirectional=True, positive=True)
    x = torch.randn(T, B, n_in, dtype=torch.float64)
    h0 = torch.rand(2 * L, B, H, dtype=torch.float64)
    for mode in ("parallel", "sequential", "log"):
        m = make(cell, n_in, H, L, bidirectional=True, positive=True, mode=mode, dtype=dtype)
        m.load_state_dict(m64.state_dict())
        xd = x.to(dtype).requires_grad_(True)
        out, h_n = m(xd, h0.to(dtype))
        # the exact answer for the rounded weights and inputs this model really has
        ref_out, ref_hn = reference(m, xd.detach(), h0.to(dtype))
        scale = ref_out.abs().max().item()
        assert torch.isfinite(out.float()).all()
        if mode == "log" and dtype == torch.bfloat16:
            # the paper's log-space form in bf16 is off by ~30% of max|h| already at T = 33
            # (its cumsum and logcumsumexp run in bf16); parallel and sequential: 0.4%
            err = (out.double() - ref_out).abs().max().item() / scale
            assert 0.05 < err < 1.0
            continue
        ftol = 1e-4 if mode == "log" else tol  # log fp32: ~1e-5 of max|h| here
        torch.testing.assert_close(out.double(), ref_out, rtol=ftol, atol=ftol * scale)
        torch.testing.assert_close(h_n.double(), ref_hn, rtol=ftol, atol=ftol * scale)
        if dtype == torch.float32:  # gradients: against autograd through the float64 loop
            # (the log-space form loses ~3 digits of its gradients even at T = 33: measured
            # 2e-4 .. 2e-3 of the largest entry, vs ~1e-6 for the other modes)
            gtol = 1e-2 if mode == "log" else 2e-5
            m64_x = x.clone().requires_grad_(True)
            r_out, r_hn = reference(m64, m64_x, h0)
            want = grads([r_out, r_hn], [m64_x] + list(m64.parameters()))
            got = grads([out, h_n], [xd] + list(m.parameters()))
            for a, b in zip(got, want):
                torch.testing.assert_close(a.double(), b, rtol=gtol, atol=gtol * b.abs().max().item())


# -- long sequences --------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_long_sequence_parallel_is_exact_log_is_not(cell):
    """T = 65536: the parallel scan stays finite and accurate in fp32 and bf16. The paper's
    log-space form stays finite but loses accuracy: fp32 ~0.6% relative error, bf16 wrong by
    multiples of h (its a_star = cumsum(log a) reaches ~-4e4, where bf16 steps are 256)."""
    T, H = 65536, 8
    K = 3 if cell == "minlstm" else 2
    P64 = torch.randn(1, T, K * H, dtype=torch.float64)
    errors = {}
    for dtype in (torch.float32, torch.bfloat16):
        P = P64.to(dtype)
        exact = min_recurrence(P.double(), cell=cell, hidden_size=H, positive=True, backend="torch")
        for mode in ("parallel", "log"):
            h = min_recurrence(P, cell=cell, hidden_size=H, positive=True, mode=mode)
            assert torch.isfinite(h.float()).all(), (mode, dtype)
            errors[mode, dtype] = ((h.double() - exact).abs() / exact.abs()).max().item()
    assert errors["parallel", torch.float32] < 1e-5
    assert errors["parallel", torch.bfloat16] < 1e-2  # the bf16 rounding of h itself
    assert 1e-4 < errors["log", torch.float32] < 5e-2
    assert errors["log", torch.bfloat16] > 1.0


def test_float64_torch_scan_matches_loop_reference():
    """The long-sequence test's exact answer (the float64 torch scan) against the loop."""
    P = torch.randn(2, 300, 3 * 4, dtype=torch.float64)
    h = min_recurrence(P, cell="minlstm", hidden_size=4, backend="torch")
    torch.testing.assert_close(h, min_rnn_reference("minlstm", P[..., :4], P[..., 4:8], P[..., 8:]))


# -- step() ----------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
@pytest.mark.parametrize("positive", [False, True])
def test_step_matches_forward(cell, positive):
    T, B, n_in, H, L = 9, 2, 3, 5, 3
    m = make(cell, n_in, H, L, positive=positive, dtype=torch.float32)
    x = torch.randn(T, B, n_in)
    h0 = torch.randn(L, B, H)
    out, h_n = m(x, h0)
    h = h0
    for t in range(T):
        h = m.step(x[t], h)
        torch.testing.assert_close(h[-1], out[t], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(h, h_n, rtol=1e-5, atol=1e-5)
    assert m.step(x[0]).shape == (L, B, H)  # h=None starts from zeros
    assert not h.requires_grad  # inference: no graph kept from step to step


def test_unbatched_input_and_parameter_names():
    m = MinLSTM(3, 4, 2)
    out, h_n = m(torch.randn(6, 3))
    assert out.shape == (6, 4) and h_n.shape == (2, 4)
    names = set(dict(m.named_parameters()))
    assert {"layers.0.linear_f.weight", "layers.0.linear_i.weight", "layers.0.linear_h.bias",
            "layers.1.linear_h.weight"} <= names
    assert "layers.0.linear_z.weight" in dict(MinGRU(3, 4).named_parameters())


# -- traces ----------------------------------------------------------------------------------
@pytest.mark.parametrize("cell,keys", [("mingru", {"z"}), ("minlstm", {"f", "i"})])
def test_trace_records_gates_chunks_and_stages(cell, keys):
    m = MODELS[cell](3, 4, 2, bidirectional=True)
    x = torch.randn(100, 2, 3)
    with rnnviz.trace(layers=[1]) as tr:
        m(x)
    gates = tr.filter(op=cell, kind="gates")
    assert [r.layer for r in gates] == [1, 1] and [r.meta["direction"] for r in gates] == [0, 1]
    assert set(gates[0].data) == keys and gates[0].data[next(iter(keys))].shape == (2, 100, 4)
    if cell == "minlstm":  # normalised: f' + i' = 1
        torch.testing.assert_close(gates[0].data["f"] + gates[0].data["i"], torch.ones(2, 100, 4))
    chunks = tr.filter(op="linear_scan", kind="chunks")
    assert chunks and chunks[0].data["carries"].shape[1] >= 2
    stages = {r.meta["stage"] for r in tr.stages() if r.op == cell}
    assert {"gemm", "recurrence"} <= stages


def test_trace_z_is_the_real_gate():
    m = MinGRU(3, 4)
    x = torch.randn(20, 2, 3)
    with rnnviz.trace() as tr:
        m(x)
    z = torch.sigmoid(m.layers[0].linear_z(x)).transpose(0, 1)
    torch.testing.assert_close(tr.filter(op="mingru", kind="gates")[0].data["z"], z)


# -- bad inputs --------------------------------------------------------------------------------
def test_errors_are_clear():
    with pytest.raises(ValueError, match="positive=True"):
        MinGRU(3, 4, mode="log")
    with pytest.raises(ValueError, match="mode must be one of"):
        MinGRU(3, 4, mode="fast")
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        MinLSTM(3, 0)
    with pytest.raises(ValueError, match="dropout"):
        MinGRU(3, 4, dropout=1.5)
    m = MinGRU(3, 4, 2)
    with pytest.raises(ValueError, match="features must be the last dimension"):
        m(torch.randn(5, 3, 7))
    with pytest.raises(ValueError, match=r"expected input of shape \[T, B, input_size\]"):
        m(torch.randn(2, 5, 3, 1))
    with pytest.raises(TypeError, match="floating-point"):
        m(torch.ones(5, 2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"h0 of shape .* = \[2, 2, 4\]"):
        m(torch.randn(5, 2, 3), torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="at least one time step"):
        m(torch.randn(0, 2, 3))
    with pytest.raises(ValueError, match=r"input dtype \(torch.float64\) does not match"):
        m(torch.randn(5, 2, 3, dtype=torch.float64))
    from torch.nn.utils.rnn import pack_padded_sequence
    with pytest.raises(TypeError, match="MinGRU takes no PackedSequence: it has no padding mask"):
        m(pack_padded_sequence(torch.randn(5, 2, 3), torch.tensor([5, 3])))
    m.flatten_parameters()  # nn.GRU code calls it; nothing to compact here
    with pytest.raises(ValueError, match="unidirectional"):
        MinGRU(3, 4, bidirectional=True).step(torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"x_t of shape \[B, 3\]"):
        m.step(torch.randn(2, 5))
    with pytest.raises(ValueError, match="h0 >= 0"):
        MinGRU(3, 4, mode="log", positive=True)(torch.randn(5, 2, 3), -torch.ones(1, 2, 4))
    with pytest.raises(ValueError, match="positive=True"):
        min_recurrence(torch.randn(2, 5, 8), hidden_size=4, mode="log")
    with pytest.raises(ValueError, match=r"P of shape \[B, T, 12\]"):
        min_recurrence(torch.randn(2, 5, 8), cell="minlstm", hidden_size=4)
    with pytest.raises(ValueError, match="cell must be one of"):
        min_recurrence(torch.randn(2, 5, 8), cell="gru", hidden_size=4)
    with pytest.raises(ValueError, match="backend must be one of"):
        min_recurrence(torch.randn(2, 5, 8), hidden_size=4, backend="cuda")


# -- the fused Triton kernel: interpreter on the CPU, and the GPU ------------------------------
KERNEL_CASES = [  # (cell, path, block_t, block_d, block_s, stages, T, H, fewer_trips)
    ("mingru", "channel", 4, 4, 2, 1, 11, 5, False),
    ("minlstm", "channel", 8, 4, 1, 1, 9, 3, False),
    ("mingru", "channel", 4, 4, 2, 3, 23, 5, False),  # pipelined: loads 2 chunks ahead
    ("minlstm", "channel", 2, 8, 1, 2, 7, 6, False),
    ("mingru", "sequence", 4, 4, 2, 1, 13, 5, False),
    ("minlstm", "sequence", 4, 8, 1, 1, 10, 6, False),
    # the look-back in two trips to the L2 a round (``seqpar.lookback_carry``'s FEWER_TRIPS)
    ("mingru", "sequence", 4, 4, 2, 1, 13, 5, True),
    ("minlstm", "sequence", 2, 8, 1, 1, 21, 6, True),
]


@pytest.mark.interpreter
@pytest.mark.gpu
@pytest.mark.parametrize("cell,path,block_t,block_d,block_s,stages,T,H,fewer_trips", KERNEL_CASES)
@pytest.mark.parametrize("reverse", [False, True])
def test_fused_kernel_matches_reference(kernel_device, cell, path, block_t, block_d, block_s,
                                        stages, T, H, fewer_trips, reverse):
    """Both walks of the kernel (channel- and sequence-parallel), both directions, h0,
    positive, forward and backward, against autograd through the float64 loop."""
    from rnnviz.kernels.linear_scan import ScanConfig
    from rnnviz.kernels.mingru import min_rnn_bwd, min_rnn_fwd

    cfg = ScanConfig(path, block_t, block_d, block_s=block_s, stages=stages,
                     fewer_trips=fewer_trips)
    B, K = 2, (3 if cell == "minlstm" else 2)
    P = (2 * torch.randn(B, T, K * H, dtype=torch.float64)).requires_grad_(True)
    h0 = torch.randn(B, H, dtype=torch.float64, requires_grad=True)
    g1, c = P[..., :H], P[..., (K - 1) * H:]
    g2 = P[..., H:2 * H] if K == 3 else None
    positive = path == "sequence"
    ref = min_rnn_reference(cell, g1, g2, c, h0, positive=positive, reverse=reverse)
    go = torch.randn(B, T, H, dtype=torch.float64)
    want_P, want_h0 = torch.autograd.grad((ref * go).sum(), [P, h0])

    dev = kernel_device
    P32, h032 = P.detach().float().to(dev), h0.detach().float().to(dev)
    v = lambda X, j: X[..., j * H:(j + 1) * H]  # noqa: E731
    out = torch.empty(B, T, H, device=dev)
    min_rnn_fwd(v(P32, 0), v(P32, 1) if K == 3 else None, v(P32, K - 1), h032, out, kind=cell,
                positive=positive, reverse=reverse, config=cfg)
    torch.testing.assert_close(out.cpu().double(), ref.detach(), rtol=1e-5, atol=1e-5)
    dP = torch.empty_like(P32)
    gb = torch.full((3, H), float("nan"), device=dev)
    dh0 = min_rnn_bwd(v(P32, 0), v(P32, 1) if K == 3 else None, v(P32, K - 1), h032, out,
                      go.float().to(dev), v(dP, 0), v(dP, 1) if K == 3 else None, v(dP, K - 1),
                      kind=cell, positive=positive, reverse=reverse, grad_bias=gb, config=cfg)
    torch.testing.assert_close(dP.cpu().double(), want_P, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(dh0.cpu().double(), want_h0, rtol=1e-4, atol=1e-5)
    # the bias gradient from the kernel's partial sums: dL/dP summed over batch and time
    want_b = want_P.sum((0, 1)).view(K, H)
    slots = [0, 1, 2] if K == 3 else [0, 2]
    torch.testing.assert_close(gb[slots].cpu().double(), want_b, rtol=1e-4, atol=1e-5)
    if K == 2:
        assert (gb[1] == 0).all()


@pytest.mark.interpreter
@pytest.mark.parametrize("case", [KERNEL_CASES[2], KERNEL_CASES[3], KERNEL_CASES[5]])
def test_fused_kernel_subchunk_major_loads(kernel_device, case, monkeypatch):
    """The same, with the tiles loaded and stored through their [S, R, BLOCK_D] view
    (``linear_scan.blocks.SUBCHUNK_MAJOR``, Triton 3.6's default): pipelined, minLSTM with one
    sub-chunk, sequence-parallel. (The interpreter only, as the scan's own test of it.)"""
    import triton.language as tl

    from rnnviz.kernels.linear_scan import blocks

    monkeypatch.setattr(blocks, "SUBCHUNK_MAJOR", tl.constexpr(True))
    test_fused_kernel_matches_reference(kernel_device, *case, reverse=True)


@pytest.mark.interpreter
@pytest.mark.gpu
@pytest.mark.parametrize("cell,batch_first", [("mingru", False), ("minlstm", False),
                                              ("mingru", True)])
def test_model_on_kernel_matches_torch_path(kernel_device, cell, batch_first):
    """The model through its GPU path (GEMM + fused kernels as one autograd node per layer,
    ``min_rnn_layer``; bidirectional, 2 layers, h0) against the torch path: outputs and
    every gradient (weights, biases from the kernel's partial sums, x, h0); and the
    kernel's own trace records."""
    T, B, n_in, H, L = 12, 2, 3, 4, 2
    m = make(cell, n_in, H, L, bidirectional=True, dtype=torch.float32).to(kernel_device)
    m.batch_first = batch_first
    x = torch.randn(*((B, T) if batch_first else (T, B)), n_in, device=kernel_device,
                    requires_grad=True)
    h0 = torch.randn(2 * L, B, H, device=kernel_device, requires_grad=True)
    res = {}
    for backend in ("triton", "torch"):
        m.backend = backend
        with rnnviz.trace() as tr:
            out, h_n = m(x, h0)
        res[backend] = (out, h_n, grads([out, h_n], [x, h0] + list(m.parameters())), tr)
    for a, b in zip(res["triton"][:2], res["torch"][:2]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    for a, b in zip(res["triton"][2], res["torch"][2]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    tr_k, tr_t = res["triton"][3], res["torch"][3]
    for op in (cell, "linear_scan"):
        kind = "gates" if op == cell else "chunks"
        recs_k, recs_t = tr_k.filter(op=op, kind=kind), tr_t.filter(op=op, kind=kind)
        assert len(recs_k) == len(recs_t) == 2 * L
        for rk, rt in zip(recs_k, recs_t):
            key = next(iter(rk.data)) if op == cell else "h"
            torch.testing.assert_close(rk.data[key].float(), rt.data[key].float(), rtol=1e-5, atol=1e-5)


@pytest.mark.interpreter
@pytest.mark.gpu
def test_kernel_bf16(kernel_device):
    """bf16 pre-activations: the kernel computes in float32 and rounds h once."""
    T, B, H = 40, 2, 8
    P = torch.randn(B, T, 2 * H).to(torch.bfloat16)
    ref = min_rnn_reference("mingru", P[..., :H], None, P[..., H:])
    h = min_recurrence(P.to(kernel_device), hidden_size=H, backend="triton")
    assert h.dtype == torch.bfloat16
    torch.testing.assert_close(h.cpu().double(), ref, rtol=1e-2, atol=1e-2)


@pytest.mark.gpu
@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_gpu_model_under_bf16_autocast(gpu, cell):
    """The training step the benchmark times, under bf16 autocast: the layer's GEMMs run
    in bf16, the gradients come back in the parameters' dtype and agree with float32."""
    T, B, H = 300, 4, 64
    m = make(cell, H, H, 2, bidirectional=False, dtype=torch.float32).to(gpu)
    x = torch.randn(T, B, H, device=gpu, requires_grad=True)
    go = torch.randn(T, B, H, device=gpu)
    params = [x] + list(m.parameters())
    want = torch.autograd.grad(m(x)[0], params, go)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = m(x)[0]
    assert out.dtype == torch.bfloat16
    got = torch.autograd.grad(out, params, go.to(out.dtype))
    for p, g, w in zip(params, got, want):
        assert g.dtype == p.dtype
        scale = w.abs().max().item()
        torch.testing.assert_close(g, w, rtol=5e-2, atol=5e-2 * max(scale, 1.0))
    check_backward_inside_autocast(m, x, go)


@pytest.mark.gpu
@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_gpu_long_and_paths(gpu, cell, dtype):
    """On the GPU at sizes the interpreter cannot run: T = 65536 with few channels
    (sequence-parallel) and B*H = 16384 channels (channel-parallel), forward and backward
    against the float64 torch path."""
    for B, T, H in ((1, 65536, 8), (16, 2048, 1024)):
        K = 3 if cell == "minlstm" else 2
        P = torch.randn(B, T, K * H, device=gpu).to(dtype).requires_grad_(True)
        h0 = torch.rand(1, B, H, device=gpu, dtype=dtype).requires_grad_(True)
        h = min_recurrence(P, h0, cell=cell, hidden_size=H, positive=True)
        assert torch.isfinite(h.float()).all()
        P64 = P.detach().double().requires_grad_(True)
        h064 = h0.detach().double().requires_grad_(True)
        ref = min_recurrence(P64, h064, cell=cell, hidden_size=H, positive=True, backend="torch")
        tol = 1e-4 if dtype == torch.float32 else 2e-2
        torch.testing.assert_close(h.double(), ref, rtol=tol, atol=tol)
        go = torch.randn_like(ref)
        gP, gh0 = torch.autograd.grad(h, [P, h0], go.to(dtype))
        wP, wh0 = torch.autograd.grad(ref, [P64, h064], go)
        torch.testing.assert_close(gP.double(), wP, rtol=tol, atol=tol * max(1.0, wP.abs().max().item()) * 0.1)
        torch.testing.assert_close(gh0.double(), wh0, rtol=tol, atol=tol * max(1.0, wh0.abs().max().item()))


def test_stacked_weights_cache_follows_the_parameters():
    """The GPU path concatenates the gates' weights once per parameter update: the cache
    returns the same tensors while nothing changed, and new ones after an in-place update
    (an optimiser step), a replaced tensor, or another dtype."""
    from rnnviz.ops.mingru.layer import StackedWeights

    ws = [torch.randn(4, 3, requires_grad=True) for _ in range(2)]
    bs = [torch.randn(4, requires_grad=True) for _ in range(2)]
    cache = StackedWeights()
    W, b = cache.get(ws, bs, torch.float32)
    assert not W.requires_grad
    torch.testing.assert_close(W, torch.cat(ws).detach())
    assert cache.get(ws, bs, torch.float32)[0] is W
    with torch.no_grad():
        ws[1].add_(1.0)
    W2, b2 = cache.get(ws, bs, torch.float32)
    torch.testing.assert_close(W2, torch.cat(ws).detach())
    torch.testing.assert_close(b2, torch.cat(bs).detach())
    bs[0] = torch.zeros(4, requires_grad=True)
    torch.testing.assert_close(cache.get(ws, bs, torch.float32)[1], torch.cat(bs).detach())
    assert cache.get(ws, bs, torch.bfloat16)[0].dtype == torch.bfloat16
    assert cache.get(ws, None, torch.float32)[1] is None


@pytest.mark.interpreter
@pytest.mark.gpu
def test_kernel_path_sees_optimizer_steps(kernel_device):
    """Training on the GPU path: after each optimiser step the next forward uses the new
    weights (the cached concatenation is refreshed), as the torch path does."""
    T, B, H = 9, 2, 4
    m = make("minlstm", 3, H, 1, dtype=torch.float32).to(kernel_device)
    x = torch.randn(T, B, 3, device=kernel_device)
    opt = torch.optim.SGD(m.parameters(), lr=0.5)
    for _ in range(2):
        m.backend = "triton"
        out = m(x)[0]
        m.backend = "torch"
        torch.testing.assert_close(out, m(x)[0], rtol=1e-5, atol=1e-5)
        opt.zero_grad()
        out.square().sum().backward()
        opt.step()


@pytest.mark.gpu
@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_gpu_training_step_does_not_synchronise(gpu, cell):
    """A training step (forward and backward, bias included) queues its kernels without
    waiting for the GPU: a synchronising call here would idle the GPU while the host
    catches up (the minGRU bias gradient once did, through indexing with a Python list)."""
    m = make(cell, 32, 32, 2, bidirectional=True, dtype=torch.float32).to(gpu)
    x = torch.randn(50, 3, 32, device=gpu, requires_grad=True)
    params = [x] + list(m.parameters())
    out = m(x)[0]
    torch.autograd.grad(out, params, torch.ones_like(out))  # compiles the kernels
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        out = m(x)[0]
        torch.autograd.grad(out, params, torch.ones_like(out))
    finally:
        torch.cuda.set_sync_debug_mode(0)
