"""Traces for the figure tests, made with ``Trace.add`` in the agreed record schema.

The DEER records come from a real (small) Newton solve of h_t = tanh(W h_{t-1} + x_t) done
here in float64, so the convergence they show is real; the gate records are sigmoid outputs
of random pre-activations.
"""
from __future__ import annotations

import torch

from rnnviz.trace import Trace


def newton_solve(T: int = 24, D: int = 3, iterations: int = 6, damping: float | None = None,
                 seed: int = 0) -> list[dict]:
    """Newton iterations for h_t = tanh(W h_{t-1} + x_t), h_{-1} = 0, from h^(0) = 0.

    Each iteration linearises at the current guess, h_t = J_t h_{t-1} + (f_t - J_t g_{t-1}),
    and solves that linear recurrence (sequentially: this is the test's oracle, not the op).
    Damped: h^(i+1) = h^(i) + damping * (newton - h^(i)).
    """
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(D, D, generator=g, dtype=torch.float64) * 0.6
    x = torch.randn(T, D, generator=g, dtype=torch.float64)
    truth, h = [], torch.zeros(D, dtype=torch.float64)
    for t in range(T):
        h = torch.tanh(W @ h + x[t])
        truth.append(h)
    truth = torch.stack(truth)
    guess = torch.zeros(T, D, dtype=torch.float64)
    out = []
    for i in range(iterations):
        prev = torch.cat([torch.zeros(1, D, dtype=torch.float64), guess[:-1]])
        f = torch.tanh(prev @ W.T + x)
        J = (1 - f ** 2)[:, :, None] * W  # d f_t / d h_{t-1}
        new, h = [], torch.zeros(D, dtype=torch.float64)
        for t in range(T):
            h = J[t] @ h + (f[t] - J[t] @ prev[t])
            new.append(h)
        new = torch.stack(new)
        if damping is not None:
            new = guess + damping * (new - guess)
        guess = new
        prev = torch.cat([torch.zeros(1, D, dtype=torch.float64), guess[:-1]])
        res_t = (guess - torch.tanh(prev @ W.T + x)).abs().amax(-1)
        rec = {"h": guess.clone()[None], "residual_t": res_t, "residual": float(res_t.max()),
               "err_t": (guess - truth).abs().amax(-1), "ms": 0.1 * (i + 1)}
        if damping is not None:
            rec["damping"] = damping
        out.append(rec)
    return out


def deer_trace(method: str = "newton", runs: int = 1, **kw) -> Trace:
    tr = Trace()
    for _ in range(runs):
        for i, data in enumerate(newton_solve(**kw)):
            tr.add("deer", "iteration", data, {"iteration": i, "method": method, "T": 24})
    return tr


def gate_trace(T: int = 20, H: int = 5, B: int = 2) -> Trace:
    tr = Trace()
    for layer in range(2):
        for d in range(2):
            tr.add("sru", "gates", {"f": torch.rand(B, T, H), "r": torch.rand(B, T, H),
                                    "c": torch.randn(B, T, H)},
                   {"direction": d, "T": T}, layer=layer)
    tr.add("mingru", "gates", {"z": torch.rand(B, T, H)}, {"direction": 0, "T": T}, layer=0)
    return tr


def check_serialises(fig) -> dict:
    """The figure survives JSON and standalone HTML (plotly.js inlined: no network needed);
    returns the parsed JSON, frames included, for further checks."""
    import json

    import plotly.graph_objects as go

    assert isinstance(fig, go.Figure)
    data = json.loads(fig.to_json())
    assert len(data["data"]) == len(fig.data)
    assert len(data.get("frames", [])) == len(fig.frames)
    html = fig.to_html(include_plotlyjs=True, full_html=True)
    assert "<html>" in html[:200] and "Plotly.newPlot" in html
    assert len(html) > 1_000_000  # plotly.js itself is inside: works offline
    if fig.frames:  # the frames travel inside the page: the slider works without a kernel
        assert "Plotly.addFrames" in html
    return data
