"""A check both models' GPU tests share: the layer's backward keeps the forward's dtypes
when it is called inside an autocast region (rnnviz.device.backward_outside_autocast)."""
from __future__ import annotations

import torch


def check_backward_inside_autocast(model: torch.nn.Module, x: torch.Tensor, go: torch.Tensor) -> None:
    """On the calling thread (where an autocast region is still on during the backward):
    a bf16-autocast forward's gradients equal those of the same backward run outside
    autocast, and a float32 forward's stay float32 and match its float32 gradients."""
    params = [x] + list(model.parameters())
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = model(x)[0]
    outside = torch.autograd.grad(out, params, go.to(out.dtype), retain_graph=True)
    want32 = torch.autograd.grad(model(x)[0], params, go)
    out32 = model(x)[0]
    with torch.autograd.set_multithreading_enabled(False), torch.autocast("cuda", dtype=torch.bfloat16):
        inside = torch.autograd.grad(out, params, go.to(out.dtype))
        inside32 = torch.autograd.grad(out32, params, go)
    for p, g, w in zip(params, inside, outside):
        assert g.dtype == p.dtype
        torch.testing.assert_close(g, w, rtol=0, atol=0)
    for g, w in zip(inside32, want32):
        assert g.dtype == torch.float32
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5)
