"""Notebook 4's pieces: parameter counts from GRU to minGRU, the three modes of MinGRU
against a float64 reference, a measured speed result in the benchmarks' format (so
``rnnviz.viz.speedup`` draws it like a shipped one), and the loss curves of the shipped GPU
training runs (``python -m rnnviz.tasks``)."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import plotly.graph_objects as go
import torch
from torch import nn

from rnnviz.bench.core import provenance
from rnnviz.course.compare import colour, themed

__all__ = ["parameter_counts", "parameters_figure", "mode_errors", "modes_figure", "as_result",
           "losses_figure", "show_copying", "TASK_RUNS", "task_runs_figure",
           "PAPER_SETTING", "paper_speedup_figure"]

# the paper's speed setting (batch 64, hidden 128, float32) and what the figure compares there
PAPER_SETTING = {"B": 64, "D": 128, "dtype": "float32"}
PAPER_METHODS = ["rnnviz-mingru", "rnnviz-minlstm", "mingru-log", "gru-cudnn", "grucell-loop"]

TASK_RUNS = "tasks-h200"  # benchmarks/: python -m rnnviz.tasks on the H200


def parameter_counts(input_size: int = 128, hidden_size: int = 128) -> dict[str, int]:
    """Parameters of one layer of each model (with biases)."""
    from rnnviz.models import MinGRU, MinLSTM

    models = {"nn.LSTM": nn.LSTM(input_size, hidden_size), "nn.GRU": nn.GRU(input_size, hidden_size),
              "MinLSTM": MinLSTM(input_size, hidden_size), "MinGRU": MinGRU(input_size, hidden_size)}
    return {k: sum(p.numel() for p in m.parameters()) for k, m in models.items()}


def parameters_figure(input_size: int = 128, hidden_size: int = 128) -> go.Figure:
    counts = parameter_counts(input_size, hidden_size)
    col = {"nn.LSTM": colour("lstm-cudnn"), "nn.GRU": colour("gru-cudnn"),
           "MinLSTM": colour("rnnviz-minlstm"), "MinGRU": colour("rnnviz-mingru")}
    fig = go.Figure(go.Bar(x=list(counts), y=list(counts.values()), text=list(counts.values()),
                           marker_color=[col[k] for k in counts]))
    fig.update_layout(title=f"Parameters of one layer (input {input_size}, hidden {hidden_size})",
                      yaxis_title="parameters", height=360)
    return themed(fig)


@torch.no_grad()
def mode_errors(Ts: Sequence[int], hidden_size: int = 16, input_size: int = 8, B: int = 2,
                device: torch.device | str = "cpu", seed: int = 0) -> list[dict[str, Any]]:
    """Max error of each mode ("parallel", "log", "sequential"; float32, positive=True so
    that "log" applies) against the same model in float64 run sequentially."""
    from rnnviz.models import MinGRU

    torch.manual_seed(seed)
    model = MinGRU(input_size, hidden_size, batch_first=True, positive=True).to(device)
    exact = MinGRU(input_size, hidden_size, batch_first=True, positive=True,
                   mode="sequential").to(device).double()
    exact.load_state_dict(model.state_dict())
    rows = []
    for T in Ts:
        x = torch.randn(B, T, input_size, device=device)
        ref = exact(x.double())[0]
        for mode in ("parallel", "log", "sequential"):
            model.mode = mode
            h = model(x)[0].double()
            err = (h - ref).abs().max().item() if torch.isfinite(h).all() else float("inf")
            rows.append({"mode": mode, "T": T, "error": err})
    model.mode = "parallel"
    return rows


def modes_figure(rows: Iterable[dict[str, Any]]) -> go.Figure:
    rows = list(rows)
    col = {"parallel": colour("rnnviz-mingru"), "log": colour("mingru-log"),
           "sequential": colour("sequential")}
    fig = go.Figure()
    for mode in ("parallel", "log", "sequential"):
        rs = [r for r in rows if r["mode"] == mode]
        fig.add_trace(go.Scatter(x=[r["T"] for r in rs], y=[max(r["error"], 1e-12) for r in rs],
                                 name=f'mode="{mode}"', mode="lines+markers",
                                 line=dict(color=col[mode])))
    fig.update_layout(title="MinGRU in float32: max error against float64, by mode",
                      xaxis_type="log", yaxis_type="log", xaxis_title="T (log scale)",
                      yaxis_title="max |h - h_exact| (log scale)", height=400)
    return themed(fig)


def as_result(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Rows measured here, wrapped with this machine's provenance like a benchmark JSON."""
    from rnnviz.course.sizes import where

    prov = provenance(where())  # the figure's title starts with the suite: say whose numbers
    prov["command"] = "measured in the notebook"
    return {"provenance": prov, "rows": list(rows)}


def losses_figure(results: dict[str, Any], title: str = "Training loss") -> go.Figure:
    """Loss per step (faint) and its running mean (solid) of each ``TrainResult``."""
    fig = go.Figure()
    palette = [colour("rnnviz-mingru"), colour("rnnviz-minlstm"), colour("gru-cudnn"),
               colour("sequential")]
    for i, (name, res) in enumerate(results.items()):
        c = palette[i % len(palette)]
        steps = list(range(1, len(res.losses) + 1))
        fig.add_trace(go.Scatter(x=steps, y=res.losses, mode="lines", opacity=0.3,
                                 line=dict(color=c, width=1), showlegend=False, name=name))
        fig.add_trace(go.Scatter(x=steps, y=res.smoothed(), mode="lines", name=name,
                                 line=dict(color=c, width=2.5)))
    fig.update_layout(title=title, xaxis_title="training step", yaxis_title="cross-entropy",
                      height=380)
    return themed(fig)


def show_copying(model: nn.Module, batch: Any, n: int = 3) -> str:
    """A few selective-copying examples as text: the input (blanks as '.', markers as '?'),
    the targets and what the model answered."""
    from rnnviz.tasks.selective_copying import BLANK, MARKER

    with torch.no_grad():
        pred = model(batch.inputs)[:, -batch.targets.shape[1]:].argmax(-1)
    lines = []
    for i in range(min(n, batch.inputs.shape[0])):
        seq = "".join("." if t == BLANK else "?" if t == MARKER else str(int(t))
                      for t in batch.inputs[i].tolist())
        want = " ".join(map(str, batch.targets[i].tolist()))
        got = " ".join(map(str, pred[i].tolist()))
        lines.append(f"{seq}\n   copy: {want}   answered: {got}")
    return "\n".join(lines)


def task_runs_figure(data: dict[str, Any] | None = None) -> go.Figure:
    """The shipped GPU training runs, one panel per task: each cell's loss against the step,
    with what a uniform guess scores (selective copying: among the data tokens) and, for the
    character model, its loss on held-out text after training."""
    import math

    from plotly.subplots import make_subplots

    if data is None:
        import json

        from rnnviz.bench.core import shipped_results

        data = json.loads(shipped_results()[TASK_RUNS].read_text())
    first: dict[str, dict[str, Any]] = {}  # task -> its first run (the sizes are shared)
    for r in data["rows"]:
        first.setdefault(r["task"], r)
    if not first:
        raise ValueError("no training runs in this result")
    tasks = list(first)
    fig = make_subplots(rows=1, cols=len(tasks), subplot_titles=[
        f"{t}: T={r['seq_len']}, batch {r['batch_size']}, {r['num_layers']} layers x {r['d_model']}"
        for t, r in first.items()])
    for r in data["rows"]:
        col = tasks.index(r["task"]) + 1
        steps = [1 + i * r["loss_every"] for i in range(len(r["losses"]))]
        c = colour(f"rnnviz-{r['cell']}")
        fig.add_trace(go.Scatter(x=steps, y=r["losses"], mode="lines", line=dict(color=c),
                                 name=f"{r['cell']}, {r['task']} ({r['ms_per_step']:.1f} ms/step)"),
                      row=1, col=col)
        if "val_loss" in r:
            fig.add_trace(go.Scatter(x=[steps[-1]], y=[r["val_loss"]], mode="markers",
                                     marker=dict(color=c, size=10, symbol="x"),
                                     name=f"{r['cell']}: held-out text after training"),
                          row=1, col=col)
        if r["task"] == "selective-copying":
            guess = math.log(r["vocab_size"] - 2)  # blank and marker are never the answer
            fig.add_hline(y=guess, line_dash="dot", row=1, col=col,
                          annotation_text=f"uniform guess, ln {r['vocab_size'] - 2}")
    fig.update_xaxes(title_text="training step")
    fig.update_yaxes(title_text="cross-entropy", col=1)
    prov = data.get("provenance", {})
    fig.update_layout(height=400, title=(
        f"Training runs on an {(prov.get('gpu') or 'unknown GPU').replace('NVIDIA ', '')}, "
        f"{str(prov.get('date', ''))[:10]}: `{prov.get('command', '')[:60]}`"))
    return themed(fig)


def paper_speedup_figure(refs: Iterable[Any] | None = None) -> go.Figure | None:
    """The speed-up over the GRUCell loop against T at the paper's setting, from the shipped
    minGRU run that timed the most sequence lengths there (a partial run of one T says
    little about how the speed-up grows); None when none is shipped."""
    from rnnviz.course.reference import shipped
    from rnnviz.viz import speedup

    def result(ref):
        return ref.result(PAPER_METHODS, **PAPER_SETTING)

    def lengths(ref) -> int:
        return len({r["T"] for r in result(ref)["rows"] if r.get("ms")})

    refs = shipped(["mingru"]) if refs is None else list(refs)
    best = max(refs, key=lengths, default=None)  # the first of equals: file names in order
    if best is None or lengths(best) == 0:
        return None
    return speedup(result(best), baseline="grucell-loop", x="T")
