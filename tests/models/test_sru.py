"""rnnviz.models.SRU against a float64 loop written from the paper's equations, with the
parameters read in the official ``sru`` package's layout; step(); errors; dropout; traces."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnviz
from rnnviz.models import SRU
from rnnviz.ops.sru.function import linear_scan_available

from .autocast_checks import check_backward_inside_autocast


def reference_sru(x, layers, *, D, H, activation, peephole, rescale, c0=None, mask_pad=None):
    """The SRU of the paper, one direction and one step at a time, float64.

    ``layers[l]`` holds the official tensors: weight [in, D*H*K] read as [in, D, H, K] with
    parts (x~, f, r[, x']); weight_c and bias [2*D*H] read as [2, D, H]; scale_x [1].
    x: [T, B, input_size]; c0: [L*D, B, H]; mask_pad [T, B] bool."""
    T, B, _ = x.shape
    cs = []
    for l, p in enumerate(layers):
        n_in = x.shape[-1]
        W = p["weight"].view(n_in, D, H, -1)
        K = W.shape[-1]
        v = p["weight_c"].view(2, D, H)
        b = p["bias"].view(2, D, H)
        outs = []
        for d in range(D):
            c = torch.zeros(B, H, dtype=torch.float64) if c0 is None else c0[l * D + d]
            h_d = [None] * T
            for t in (range(T) if d == 0 else range(T - 1, -1, -1)):
                xt = x[t]
                x_tilde = xt @ W[:, d, :, 0]
                f = torch.sigmoid(xt @ W[:, d, :, 1] + (v[0, d] * c if peephole else 0) + b[0, d])
                r = torch.sigmoid(xt @ W[:, d, :, 2] + (v[1, d] * c if peephole else 0) + b[1, d])
                c_new = f * c + (1 - f) * x_tilde
                g = torch.tanh(c_new) if activation == "tanh" else c_new
                if K == 4:
                    x_prime = xt @ W[:, d, :, 3]
                else:  # the input has width D*H: direction d's skip is its d-th slice
                    x_prime = xt[:, d * H:(d + 1) * H] * (p["scale_x"] if rescale else 1.0)
                h = r * g + (1 - r) * x_prime
                if mask_pad is not None:
                    pad = mask_pad[t][:, None]
                    c_new = torch.where(pad, c, c_new)
                    h = torch.where(pad, torch.zeros_like(h), h)
                c, h_d[t] = c_new, h
            outs.append(torch.stack(h_d, 0))
            cs.append(c)
        x = torch.cat(outs, -1)
    return x, torch.stack(cs, 0)


def official_params(model):
    return [dict(layer.named_parameters(), **dict(layer.named_buffers())) for layer in model.rnn_lst]


def grads_of(outputs, tensors, seed=3):
    g = torch.Generator().manual_seed(seed)
    loss = sum((o * torch.randn(o.shape, generator=g, dtype=o.dtype)).sum() for o in outputs)
    return torch.autograd.grad(loss, tensors, allow_unused=True)


@settings(max_examples=20, deadline=None)
@given(peephole=st.booleans(), activation=st.sampled_from(["tanh", "identity"]),
       project=st.booleans(), bidirectional=st.booleans(), num_layers=st.sampled_from([1, 2]),
       mask=st.booleans(), with_c0=st.booleans(), batch_first=st.booleans(), rescale=st.booleans(),
       T=st.sampled_from([1, 4, 7]))
def test_model_matches_reference(peephole, activation, project, bidirectional, num_layers, mask,
                                 with_c0, batch_first, rescale, T):
    H, B = 3, 2
    D = 2 if bidirectional else 1
    input_size = D * H + 2 if project else D * H
    model = SRU(input_size, H, num_layers, batch_first=batch_first, bidirectional=bidirectional,
                activation=activation, peephole=peephole, highway_bias=-1.0, rescale=rescale,
                recurrence="kernel").double()
    with torch.no_grad():  # non-trivial biases and peepholes
        for layer in model.rnn_lst:
            layer.bias.normal_()
            if peephole:
                layer.weight_c.normal_()
    x = torch.randn(T, B, input_size, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(num_layers * D, B, H, dtype=torch.float64, requires_grad=True) if with_c0 else None
    m = (torch.rand(T, B) < 0.3) if mask else None
    tm = (lambda t: t.transpose(0, 1)) if batch_first else (lambda t: t)
    out, c_n = model(tm(x), c0, mask_pad=None if m is None else tm(m))
    params = [p for p in model.parameters()]
    got = [tm(out), c_n, *grads_of([tm(out), c_n], [x] + params + ([c0] if with_c0 else []))]
    ref_out, ref_c = reference_sru(x, official_params(model), D=D, H=H, activation=activation,
                                   peephole=peephole, rescale=rescale, c0=c0, mask_pad=m)
    want = [ref_out, ref_c, *grads_of([ref_out, ref_c], [x] + params + ([c0] if with_c0 else []))]
    assert out.shape == tm(torch.empty(T, B, D * H)).shape and c_n.shape == (num_layers * D, B, H)
    for i, (a, b) in enumerate(zip(got, want)):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0, msg=lambda s: f"item {i}: {s}")


def test_loads_a_state_dict_laid_out_like_the_official_package():
    """Keys and shapes of sru 2.x (``rnn_lst.{i}.weight/weight_c/bias/scale_x``); the weight
    columns are (direction, unit, part) with parts (x~, f, r[, x'])."""
    inp, H, D = 5, 4, 2
    g = torch.Generator().manual_seed(0)
    Wx, Wf, Wr, Wp = (torch.randn(D, inp, H, generator=g, dtype=torch.float64) for _ in range(4))
    vf, vr, bf, br = (torch.randn(D, H, generator=g, dtype=torch.float64) for _ in range(4))
    weight = torch.empty(inp, D, H, 4, dtype=torch.float64)
    for d in range(D):
        for k, W in enumerate((Wx, Wf, Wr, Wp)):
            weight[:, d, :, k] = W[d]
    state = {"rnn_lst.0.weight": weight.reshape(inp, D * H * 4),
             "rnn_lst.0.weight_c": torch.stack([vf, vr]).reshape(-1),
             "rnn_lst.0.bias": torch.stack([bf, br]).reshape(-1),
             "rnn_lst.0.scale_x": torch.ones(1, dtype=torch.float64)}
    model = SRU(inp, H, bidirectional=True).double()
    assert set(model.state_dict()) == set(state)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {k: tuple(v.shape) for k, v in state.items()}
    model.load_state_dict(state)
    x = torch.randn(3, 2, inp, dtype=torch.float64)
    out, _ = model(x)
    # direction 1 at the last step (its first): c_prev = 0
    t, d = 2, 1
    f = torch.sigmoid(x[t] @ Wf[d] + bf[d])
    r = torch.sigmoid(x[t] @ Wr[d] + br[d])
    c = (1 - f) * (x[t] @ Wx[d])
    h = r * torch.tanh(c) + (1 - r) * (x[t] @ Wp[d])
    torch.testing.assert_close(out[t, :, H:], h)
    # and back: the model's own state dict round-trips
    other = SRU(inp, H, bidirectional=True).double()
    other.load_state_dict(model.state_dict())
    torch.testing.assert_close(other(x)[0], out)


def test_step_matches_forward():
    model = SRU(5, 4, num_layers=2, rescale=True, highway_bias=-0.5).eval()
    x = torch.randn(6, 3, 5)
    c0 = torch.randn(2, 3, 4)
    out, c_n = model(x, c0)
    c = c0
    for t in range(6):
        h, c = model.step(x[t], c)
        torch.testing.assert_close(h, out[t], atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(c, c_n, atol=1e-6, rtol=1e-6)
    h0, c1 = model.step(x[0])  # c=None is zeros
    torch.testing.assert_close(h0, model(x[:1])[0][0], atol=1e-6, rtol=1e-6)
    with pytest.raises(ValueError, match="unidirectional"):
        SRU(4, 2, bidirectional=True).step(torch.randn(1, 4))


def test_bad_inputs_raise_clear_errors():
    model = SRU(5, 4, num_layers=2)
    x = torch.randn(6, 3, 5)
    with pytest.raises(ValueError, match="expected input with 5 features"):
        model(torch.randn(6, 3, 7))
    with pytest.raises(ValueError, match="the features must be the last dimension"):
        model(torch.randn(6, 5, 3))
    with pytest.raises(ValueError, match="expected input of shape"):
        model(torch.randn(6, 3, 5, 1))
    with pytest.raises(ValueError, match=r"expected c0 of shape .*\[2, 3, 4\], got \[1, 3, 4\]"):
        model(x, torch.zeros(1, 3, 4))
    with pytest.raises(ValueError, match=r"expected mask_pad of shape \[T, B\] = \[6, 3\], got \[3, 6\]"):
        model(x, mask_pad=torch.zeros(3, 6, dtype=torch.bool))
    with pytest.raises(TypeError, match="mask_pad must be a bool"):
        model(x, mask_pad=torch.zeros(6, 3))
    with pytest.raises(ValueError, match=r"input dtype \(torch.float64\) does not match the weights' \(torch.float32\)"):
        model(x.double())
    with torch.autocast("cpu", dtype=torch.bfloat16):  # autocast casts for the GEMM: allowed
        assert model(x.bfloat16())[0].shape == (6, 3, 4)
    with pytest.raises(ValueError, match="activation must be one of"):
        SRU(5, 4, activation="relu")
    with pytest.raises(ValueError, match="needs peephole=False"):
        SRU(5, 4, recurrence="scan")
    with pytest.raises(ValueError, match=r"expected x_t of shape \[B, 5\]"):
        model.step(torch.randn(3, 4))


def test_padding_equals_shorter_sequences():
    model = SRU(3, 4, num_layers=2, bidirectional=True, batch_first=True).eval()
    x = torch.randn(2, 7, 3)
    mask = torch.zeros(2, 7, dtype=torch.bool)
    mask[1, 4:] = True
    out, c_n = model(x, mask_pad=mask)
    out1, c1 = model(x[1:, :4])
    torch.testing.assert_close(out[1:, :4], out1, atol=1e-6, rtol=1e-6)
    assert torch.all(out[1, 4:] == 0)
    torch.testing.assert_close(c_n[:, 1:], c1, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_packed_sequence_as_nn_lstm_takes_it(batch_first, enforce_sorted):
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    torch.manual_seed(1)
    model = SRU(3, 4, num_layers=2, bidirectional=True, batch_first=batch_first).double().eval()
    lengths = [7, 5, 2, 1] if enforce_sorted else [5, 1, 7, 2]
    B, T = len(lengths), max(lengths)
    x = torch.randn(B, T, 3, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(4, B, 4, dtype=torch.float64)
    inp = x if batch_first else x.transpose(0, 1)
    packed = pack_padded_sequence(inp, torch.tensor(lengths), batch_first=batch_first,
                                  enforce_sorted=enforce_sorted)
    out, c_n = model(packed, c0)
    # packed as the input was, as nn.LSTM returns it
    assert type(out) is type(packed) and torch.equal(out.batch_sizes, packed.batch_sizes)
    for a, b in ((out.sorted_indices, packed.sorted_indices), (out.unsorted_indices, packed.unsorted_indices)):
        assert (a is None and b is None) or torch.equal(a, b)
    padded, got_lengths = pad_packed_sequence(out, batch_first=True)
    assert got_lengths.tolist() == lengths
    # each sequence alone, no padding: the same outputs, and c_n at its last real step
    for i, n in enumerate(lengths):
        xi = x[i:i + 1, :n] if batch_first else x[i:i + 1, :n].transpose(0, 1)
        oi, ci = model(xi, c0[:, i:i + 1].contiguous())
        oi = oi[0] if batch_first else oi[:, 0]
        torch.testing.assert_close(padded[i, :n], oi)
        assert torch.all(padded[i, n:] == 0)
        torch.testing.assert_close(c_n[:, i:i + 1], ci)
    # gradients reach the padded input through the packing, and none reach the padding
    (gx,) = torch.autograd.grad(out.data.sum() + c_n.sum(), [x])
    for i, n in enumerate(lengths):
        assert torch.all(gx[i, n:] == 0) and torch.all(gx[i, :n] != 0)


def test_packed_sequence_errors_and_flatten_parameters():
    from torch.nn.utils.rnn import pack_padded_sequence

    model = SRU(3, 4)
    packed = pack_padded_sequence(torch.randn(5, 2, 3), torch.tensor([5, 3]))
    with pytest.raises(ValueError, match="mask_pad must be None when input is a PackedSequence"):
        model(packed, mask_pad=torch.zeros(5, 2, dtype=torch.bool))
    with pytest.raises(TypeError, match="input must be a torch.Tensor or a PackedSequence, got list"):
        model([[0.0, 1.0, 2.0]])
    model.flatten_parameters()  # nn.LSTM code calls it; nothing to compact here
    assert model(packed)[1].shape == (1, 2, 4)


def test_dropout_variational_and_between_layers(monkeypatch):
    model = SRU(5, 4, num_layers=2, dropout=0.5, rnn_dropout=0.5)
    x = torch.randn(6, 3, 5)
    masks = []
    real = type(model.rnn_lst[0]).forward

    def spy(self, x, *a, input_mask=None, **kw):
        masks.append(input_mask)
        return real(self, x, *a, input_mask=input_mask, **kw)

    monkeypatch.setattr(type(model.rnn_lst[0]), "forward", spy)
    model.train()
    out1, _ = model(x)
    # one mask per sequence and input feature, shared over all time steps
    assert [tuple(m.shape) for m in masks] == [(3, 5), (3, 4)]
    assert set(masks[0].unique().tolist()) <= {0.0, 2.0}
    out2, _ = model(x)
    assert not torch.allclose(out1, out2)
    model.eval()
    masks.clear()
    a, _ = model(x)
    b, _ = model(x)
    assert masks == [None, None, None, None]
    torch.testing.assert_close(a, b)


def test_unbatched_input():
    model = SRU(3, 2, num_layers=2).eval()
    x = torch.randn(5, 3)
    out, c_n = model(x)
    out_b, c_b = model(x.unsqueeze(1))
    torch.testing.assert_close(out, out_b[:, 0])
    torch.testing.assert_close(c_n, c_b[:, 0])


def test_trace_records_chosen_layers_and_stages():
    model = SRU(3, 4, num_layers=3, bidirectional=True)
    x = torch.randn(50, 2, 3)
    with rnnviz.trace(layers=[1], max_steps=10) as tr:
        model(x)
    gates = tr.filter(op="sru", kind="gates")
    assert [(r.layer, r.meta["direction"]) for r in gates] == [(1, 0), (1, 1)]
    assert gates[0].data["c"].shape == (2, 10, 4) and gates[0].meta["T"] == 50
    assert {r.meta["stage"] for r in tr.stages()} == {"gemm", "recurrence"}
    assert all(r.layer == 1 for r in tr.stages())


@pytest.mark.skipif(not linear_scan_available(), reason="rnnviz.ops.linear_scan is not in this tree yet")
def test_scan_recurrence_matches_kernel():
    torch.manual_seed(0)
    a = SRU(3, 4, num_layers=2, bidirectional=True, peephole=False, recurrence="kernel").double()
    b = SRU(3, 4, num_layers=2, bidirectional=True, peephole=False, recurrence="scan").double()
    b.load_state_dict(a.state_dict())
    x = torch.randn(9, 2, 3, dtype=torch.float64, requires_grad=True)
    mask = torch.zeros(9, 2, dtype=torch.bool)
    mask[6:, 0] = True
    oa, ca = a(x, mask_pad=mask)
    ob, cb = b(x, mask_pad=mask)
    torch.testing.assert_close(oa, ob)
    torch.testing.assert_close(ca, cb)
    ga = grads_of([oa, ca], [x] + list(a.parameters()))
    gb = grads_of([ob, cb], [x] + list(b.parameters()))
    for p, q in zip(ga, gb):
        torch.testing.assert_close(p, q)


@pytest.mark.interpreter
@pytest.mark.gpu
def test_model_on_the_triton_kernel(kernel_device):
    torch.manual_seed(0)
    ref = SRU(3, 5, num_layers=2, bidirectional=True, backend="torch", recurrence="kernel")
    tri = SRU(3, 5, num_layers=2, bidirectional=True, backend="triton", recurrence="kernel")
    tri.load_state_dict(ref.state_dict())
    tri.to(kernel_device)
    x = torch.randn(6, 2, 3, requires_grad=True)
    xd = x.detach().to(kernel_device).requires_grad_()
    mask = torch.zeros(6, 2, dtype=torch.bool)
    mask[4:, 1] = True
    o1, c1 = ref(x, mask_pad=mask)
    o2, c2 = tri(xd, mask_pad=mask.to(kernel_device))
    torch.testing.assert_close(o2.cpu(), o1, atol=2e-5, rtol=1e-5)
    torch.testing.assert_close(c2.cpu(), c1, atol=2e-5, rtol=1e-5)
    g1 = grads_of([o1, c1], [x] + list(ref.parameters()))
    g2 = grads_of([o2.cpu(), c2.cpu()], [xd] + list(tri.parameters()))
    for p, q in zip(g2, g1):
        torch.testing.assert_close(p.cpu(), q, atol=5e-5, rtol=1e-4)
    # a PackedSequence runs as the padded batch with its mask made on the device
    from torch.nn.utils.rnn import pack_padded_sequence

    lengths = torch.tensor([6, 4])
    p1, pc1 = ref(pack_padded_sequence(x, lengths))
    p2, pc2 = tri(pack_padded_sequence(xd, lengths))
    torch.testing.assert_close(p2.data.cpu(), p1.data, atol=2e-5, rtol=1e-5)
    torch.testing.assert_close(pc2.cpu(), pc1, atol=2e-5, rtol=1e-5)


def test_model_bf16_autocast_on_cpu():
    """Under CPU autocast the layer's node (the torch path's, the same node as the kernel's)
    runs its GEMMs in bf16 and gives every gradient in its input's dtype, close to float32's:
    the first layer adds its bf16 GEMM to the skip term's float32 gradient, the second (bf16
    input) adds it in place."""
    torch.manual_seed(0)
    model = SRU(16, 16, num_layers=2)
    x = torch.randn(12, 3, 16, requires_grad=True)
    go = torch.randn(12, 3, 16)
    params = [x] + list(model.parameters())
    want = torch.autograd.grad(model(x)[0], params, go)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)[0]
    assert out.dtype == torch.bfloat16
    got = torch.autograd.grad(out, params, go.bfloat16())
    for p, g, w in zip(params, got, want):
        assert g.dtype == p.dtype
        torch.testing.assert_close(g, w, atol=0.05 * w.abs().max().item(), rtol=0.05)


def test_autocast_backward_reuses_the_forwards_casts(monkeypatch):
    """Under autocast the layer casts x and W for its GEMM once, in the forward, and the
    backward's GEMMs take those casts: no float32 -> bf16 cast of x or W in the backward
    (there were two, each a kernel launch on a GPU; the CPU recurrence's own cast of its
    gradient stays). The gradients' values: test_model_bf16_autocast_on_cpu."""
    torch.manual_seed(0)
    model = SRU(16, 16, num_layers=1)
    x = torch.randn(12, 3, 16, requires_grad=True)
    params = [x] + list(model.parameters())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)[0]
    casts, to = [], torch.Tensor.to

    def counted(self, *args, **kw):
        y = to(self, *args, **kw)
        if self.dtype == torch.float32 and y.dtype == torch.bfloat16:
            casts.append(tuple(self.shape))
        return y

    monkeypatch.setattr(torch.Tensor, "to", counted)
    got = torch.autograd.grad(out, params, torch.ones_like(out))
    monkeypatch.setattr(torch.Tensor, "to", to)
    w = model.rnn_lst[0].weight
    assert not set(casts) & {tuple(x.shape), (12 * 3, 16), tuple(w.shape)}, casts
    assert [g.dtype for g in got] == [p.dtype for p in params]


@pytest.mark.gpu
def test_model_bf16_autocast(gpu):
    model = SRU(64, 64, num_layers=2).to(gpu)
    x = torch.randn(32, 4, 64, device=gpu)
    ref, _ = model(x)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out, c_n = model(x)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), ref, atol=5e-2, rtol=5e-2)
    out.float().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    check_backward_inside_autocast(model, x.requires_grad_(), torch.randn_like(ref))
