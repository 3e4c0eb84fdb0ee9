"""The one visual language of the course: fonts, the plotly template, and a colour per method.

Every figure of rnnviz (and the speed lab) takes its colours from here, so "the scan" is the
same green in the scan-tree notebook, in the dependency graph and in the speedup plot.

Methods are grouped in families, one hue per family; methods of a family get shades of it:

- sequential: Python loops over a cell (``grucell-loop``, ``lstmcell-loop``, ``sequential``,
  ``sru-loop``): the slow baseline, grey;
- cudnn: ``lstm-cudnn``, ``gru-cudnn``: the fused library RNNs, still sequential in t;
- conv: ``conv1d``, the "as fast as a CNN" yardstick;
- sru: ``rnnviz-sru``, ``sru-pkg``;
- scan: the linear recurrence by a parallel scan (``rnnviz-scan``, ``rnnviz-mingru``,
  ``rnnviz-minlstm``, ``doubling``, ``accelerated-scan``, ``rnnviz-time``: the scan on
  [B, D, T] memory);
- log-space: the scan in log space (``log-space``, ``mingru-log``);
- deer: Newton's method (``deer-newton``, ``deer-quasi``, ``deer-damped``);
- copy: ``copy``, the memory-bandwidth floor.
"""
from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

__all__ = ["FONT", "FAMILIES", "METHOD_FAMILY", "TEMPLATE", "method_colour", "method_dash",
           "family_colour", "family_of", "op_colour", "OP_FAMILY", "apply", "CRITICAL", "OP_COLOURS", "GATE_SCALE",
           "STATE_SCALE", "ERROR_SCALE", "animation_controls", "DASHES", "variant_dash"]

FONT = dict(family="Inter, 'Helvetica Neue', Arial, sans-serif", size=14, color="#222")
MONO = "'JetBrains Mono', Menlo, Consolas, monospace"

# family -> shades, darkest first (the first method of a family gets the first shade)
FAMILIES: dict[str, list[str]] = {
    "sequential": ["#6b6b6b", "#9a9a9a", "#474747", "#b8b8b8"],
    "cudnn": ["#d62728", "#ff7f7f"],
    "conv": ["#8c564b", "#c49c94"],
    "sru": ["#1f77b4", "#6baed6"],
    "scan": ["#2ca02c", "#74c476", "#006d2c", "#a1d99b", "#41ab5d", "#00441b"],
    "log-space": ["#bcbd22", "#dbdb8d", "#8c8c00", "#e7e76a"],
    "deer": ["#9467bd", "#c5b0d5", "#6a3d9a"],
    "copy": ["#17becf", "#9edae5"],  # the floors and ceilings measured beside a run
}

# the method names of the benchmarks (see the house brief) -> (family, shade index)
METHOD_FAMILY: dict[str, tuple[str, int]] = {
    "sequential": ("sequential", 0),
    "grucell-loop": ("sequential", 1),
    "lstmcell-loop": ("sequential", 2),
    "sru-loop": ("sequential", 3),
    "lstm-cudnn": ("cudnn", 0),
    "gru-cudnn": ("cudnn", 1),
    "conv1d": ("conv", 0),
    "rnnviz-sru": ("sru", 0),
    "sru-pkg": ("sru", 1),
    "rnnviz-scan": ("scan", 0),
    "rnnviz-mingru": ("scan", 1),
    "rnnviz-minlstm": ("scan", 2),
    "doubling": ("scan", 3),
    "accelerated-scan": ("scan", 4),
    "rnnviz-time": ("scan", 5),
    "log-space": ("log-space", 0),
    "mingru-log": ("log-space", 1),
    "minlstm-log": ("log-space", 2),
    "mingru-pytorch": ("log-space", 3),  # the mingru-pytorch package computes in log space too
    "minlstm-pytorch": ("log-space", 3),
    "deer-newton": ("deer", 0),
    "deer-quasi": ("deer", 1),
    "deer-damped": ("deer", 2),
    "copy": ("copy", 0),
    "autograd-floor": ("copy", 1),  # an autograd node with no kernel (scripts/launch_host.py)
}

# the ops of rnnviz (trace records) -> the family whose colour they take
OP_FAMILY: dict[str, str] = {
    "sru": "sru",
    "linear_scan": "scan",
    "mingru": "scan",
    "minlstm": "scan",
    "deer": "deer",
    "dense_scan": "deer",
    "lstm": "cudnn",
    "gru": "cudnn",
}

# line styles tell apart methods that share a family colour at a glance
DASHES = ["solid", "dash", "dot", "dashdot", "longdash"]

# figures of computations (graphs, trees) colour operations by what they cost
OP_COLOURS = {
    "input": "#bdbdbd",
    "matmul": FAMILIES["cudnn"][0],  # a dense product: the expensive step
    "elementwise": FAMILIES["sru"][0],  # cheap, memory-bound
    "combine": FAMILIES["scan"][0],  # one associative combine of a scan
    "carry": FAMILIES["log-space"][0],
    "copy": FAMILIES["copy"][0],
}
CRITICAL = "#e6550d"  # the critical path, everywhere
GATE_SCALE = "Viridis"  # gates in [0, 1]
STATE_SCALE = "RdBu_r"  # signed states (c, h), centred on 0
ERROR_SCALE = "Magma"  # log10 errors

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font=FONT,
        title=dict(font=dict(size=18), x=0.02, xanchor="left"),
        paper_bgcolor="white",
        plot_bgcolor="white",
        colorway=[FAMILIES[f][0] for f in FAMILIES],
        xaxis=dict(showgrid=True, gridcolor="#eeeeee", zeroline=False, linecolor="#888",
                   ticks="outside", mirror=False),
        yaxis=dict(showgrid=True, gridcolor="#eeeeee", zeroline=False, linecolor="#888",
                   ticks="outside", mirror=False),
        legend=dict(bgcolor="rgba(255,255,255,0.8)", bordercolor="#ddd", borderwidth=1),
        hoverlabel=dict(font=dict(family=MONO, size=12)),
        margin=dict(l=70, r=30, t=105, b=70),
    )
)
pio.templates["rnnviz"] = TEMPLATE


def _entry(method: str) -> tuple[str, int] | None:
    """A method's (family, shade); a variant ("accelerated-scan-warp",
    "rnnviz-sru-nopeephole-scan") takes the entry of its longest known prefix."""
    if method in METHOD_FAMILY:
        return METHOD_FAMILY[method]
    base = max((m for m in METHOD_FAMILY if method.startswith(m + "-")), key=len, default=None)
    return METHOD_FAMILY[base] if base else None


def family_of(method: str) -> str | None:
    """The family of a benchmark method name, or None for a method the course does not know."""
    entry = _entry(method)
    return entry[0] if entry else None


def family_colour(family: str) -> str:
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {sorted(FAMILIES)}, got {family!r}")
    return FAMILIES[family][0]


def op_colour(op: str) -> str:
    """The colour of an rnnviz op ("sru", "linear_scan", "deer", ...) in stage figures."""
    return FAMILIES[OP_FAMILY.get(op, "sequential")][0]


def method_colour(method: str) -> str | None:
    """The course's colour for a benchmark method ("lstm-cudnn", ...); None if unknown."""
    entry = _entry(method)
    if entry is None:
        return None
    shades = FAMILIES[entry[0]]
    return shades[entry[1] % len(shades)]


def method_dash(method: str) -> str:
    """A line style: solid for the first method of a family, then dashes; a variant of a
    method gets a dash of its own, so it shares its method's colour but not its line."""
    entry = _entry(method)
    if entry is None:
        return "solid"
    if method not in METHOD_FAMILY:  # a variant: offset by its suffix
        return DASHES[1 + (entry[1] + sum(map(ord, method))) % (len(DASHES) - 1)]
    return DASHES[entry[1] % len(DASHES)]


def animation_controls(names: list[str], active: int, prefix: str,
                       duration_ms: int = 700) -> dict:
    """Layout for a figure with frames ``names``: a slider (starting at ``active``) and a play
    button. Works in static HTML: plotly.js animates the frames, no kernel involved."""
    steps = [dict(method="animate", label=n,
                  args=[[n], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                  transition=dict(duration=0))]) for n in names]
    return dict(
        sliders=[dict(active=active, steps=steps, currentvalue=dict(prefix=prefix),
                      pad=dict(t=60), x=0.1, len=0.9, y=0, yanchor="top")],
        updatemenus=[dict(type="buttons", showactive=False, x=0, y=0, xanchor="left",
                          yanchor="top", pad=dict(t=75),
                          buttons=[dict(label="\u25b6 play", method="animate",
                                        args=[None, dict(frame=dict(duration=duration_ms,
                                                                    redraw=True),
                                                         fromcurrent=True)])])])


def variant_dash(method: str, k: int) -> str:
    """The line style of the k-th variant of ``method`` in one figure (k = 0: the method's
    own style), so variants that share a colour are told apart by their lines."""
    base = DASHES.index(method_dash(method))
    return DASHES[(base + k) % len(DASHES)]


def apply(fig: go.Figure, **layout) -> go.Figure:
    """Give ``fig`` the course template (and any further layout), return it."""
    fig.update_layout(template=TEMPLATE, **layout)
    return fig
