"""Why RNNs are slow: the computation of a layer unrolled over time, as a graph of operations.

Nodes are operations (a matrix product, an elementwise update, one combine of a scan), edges
are data dependencies. However many processors there are, a run takes at least as long as the
critical path, the longest chain of dependent operations; all the other work can go in
parallel. The cells:

- "lstm", "gru": every step multiplies h_{t-1} by a matrix before h_t exists: T matrix
  products on the critical path.
- "conv": a causal convolution of width 3 reads only inputs: 1 matrix product deep, whatever T.
- "sru": the matrix products read only x_t (all at once); what stays sequential is
  c_t = f_t * c_{t-1} + (1 - f_t) * (W x_t), T cheap elementwise steps.
- "mingru": h_t = (1 - z_t) h_{t-1} + z_t h~_t is linear in h, so a parallel scan solves it:
  ceil(log2 T) combine steps.
- "deer": Newton's method for any cell: each iteration linearises the cell around the current
  guess (all t at once), solves the linear recurrence with a scan of D x D Jacobians
  (ceil(log2 T) combines) and checks the residual: iterations x ceil(log2 T) combine steps.

The layout is computed here (longest-path layering: a node sits one layer below its deepest
input), with time along x, so the critical path is the height of the picture.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import plotly.graph_objects as go

from rnnviz.viz import theme
from rnnviz.viz.scans import scan_network

__all__ = ["CELLS", "Node", "Graph", "dependency_data", "dependency_graph"]

CELLS = ("lstm", "gru", "conv", "sru", "mingru", "deer")

_STEP_WORDS = {
    "lstm": "sequential matrix products (U h_(t-1); stacked, also W h from below)",
    "gru": "sequential matrix products (U h_(t-1); stacked, also W h from below)",
    "conv": "matrix product, whatever T",
    "sru": "cheap elementwise steps c_t = f_t c_(t-1) + (1-f_t) U_t",
    "mingru": "scan combines = ceil(log2 T)",
    "deer": "scan combines = iterations x ceil(log2 T)",
}


@dataclass
class Node:
    """An operation (or an input, ``kind == "input"``). ``kind`` is its cost class:
    "input", "matmul", "elementwise", "combine" (D x D matrices for DEER) or "reduce".
    ``step`` marks the operations the title counts (the sequential steps of this cell)."""

    id: int
    label: str
    kind: str
    t: float
    step: bool = False


@dataclass
class Graph:
    """A dependency DAG with its longest-path layering and critical path."""

    cell: str
    T: int
    nodes: list[Node] = field(default_factory=list)
    edges: list[tuple[int, int]] = field(default_factory=list)
    iterations: int | None = None
    n_layers: int = 1  # stacked layers (the method layers() is the depth layering)

    def add(self, label: str, kind: str, t: float, after: tuple[int, ...] = (),
            step: bool = False) -> int:
        node = Node(len(self.nodes), label, kind, t, step)
        self.nodes.append(node)
        self.edges += [(u, node.id) for u in after]
        return node.id

    def preds(self) -> list[list[int]]:
        p: list[list[int]] = [[] for _ in self.nodes]
        for u, v in self.edges:
            p[v].append(u)
        return p

    def layers(self) -> list[int]:
        """Longest-path layering: inputs at 0, an operation one below its deepest input.
        Nodes are added after their inputs, so one pass in id order suffices."""
        preds, layer = self.preds(), [0] * len(self.nodes)
        for n in self.nodes:
            if n.kind != "input":
                layer[n.id] = 1 + max((layer[u] for u in preds[n.id]), default=0)
        return layer

    def critical_path(self) -> list[int]:
        """The longest chain of operations (node ids, first to last). Ties prefer the
        cell's sequential steps, so the path shown is the one the title counts."""
        layer, preds = self.layers(), self.preds()
        end = max(range(len(self.nodes)), key=lambda i: (layer[i], self.nodes[i].step, i))
        path = [end]
        while layer[path[-1]] > 0:
            v = path[-1]
            cands = [u for u in preds[v] if layer[u] == layer[v] - 1]
            if not cands:  # an operation fed by inputs only
                break
            # prefer the cell's steps, then the same time step (a column reads as "this
            # element waits"), then the latest time step, then the earliest node
            t = self.nodes[v].t
            path.append(max(cands, key=lambda u: (self.nodes[u].step, self.nodes[u].t == t,
                                                  self.nodes[u].t, -u)))
        return path[::-1]

    @property
    def depth(self) -> int:
        """Operations on the critical path (the parallel time in operations)."""
        return max(self.layers(), default=0)

    @property
    def critical_steps(self) -> int:
        """The cell's sequential steps on the critical path (what the title counts)."""
        return sum(self.nodes[i].step for i in self.critical_path())

    @property
    def work(self) -> int:
        return sum(n.kind != "input" for n in self.nodes)

    def work_by_kind(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for n in self.nodes:
            if n.kind != "input":
                out[n.kind] += 1
        return dict(out)


# Each layer builder takes the ids of its inputs (one per t: x_t, or the layer below's h_t)
# and returns the ids of its outputs h_t. ``k`` is the layer index, for the labels; a layer
# above the first reads h from below, so its input product is on the dependency chain too.


def _lstm(g: Graph, xs: list[int], k: int) -> list[int]:
    h = g.add(f"h^{k}_(-1) = h0", "input", -1)
    c = g.add(f"c^{k}_(-1) = c0", "input", -1)
    out = []
    for t, x in enumerate(xs):
        wx = g.add(f"layer {k}: W x_{t} (input projection)", "matmul", t, (x,), step=k > 0)
        uh = g.add(f"layer {k}: U h_{t - 1}", "matmul", t, (h,), step=True)
        gates = g.add(f"layer {k}: i, f, g, o at t={t} = act(W x + U h + b)", "elementwise", t,
                      (uh, wx))
        c = g.add(f"layer {k}: c_{t} = f c_{t - 1} + i g", "elementwise", t, (gates, c))
        h = g.add(f"layer {k}: h_{t} = o tanh(c_{t})", "elementwise", t, (c, gates))
        out.append(h)
    return out


def _gru(g: Graph, xs: list[int], k: int) -> list[int]:
    h = g.add(f"h^{k}_(-1) = h0", "input", -1)
    out = []
    for t, x in enumerate(xs):
        wx = g.add(f"layer {k}: W x_{t} (input projection)", "matmul", t, (x,), step=k > 0)
        uh = g.add(f"layer {k}: U h_{t - 1}", "matmul", t, (h,), step=True)
        gates = g.add(f"layer {k}: z, r, n at t={t} (n = tanh(W_n x + r * U_n h))",
                      "elementwise", t, (uh, wx))
        h = g.add(f"layer {k}: h_{t} = (1 - z) n + z h_{t - 1}", "elementwise", t, (gates, h))
        out.append(h)
    return out


def _conv(g: Graph, xs: list[int], k: int, width: int = 3) -> list[int]:
    return [g.add(f"layer {k}: y_{t} = sum_j W_j x_(t-j), j < {width}", "matmul", t,
                  tuple(xs[max(0, t - width + 1): t + 1]), step=True) for t in range(len(xs))]


def _sru(g: Graph, xs: list[int], k: int) -> list[int]:
    c = g.add(f"c^{k}_(-1) = c0", "input", -1)
    out = []
    for t, x in enumerate(xs):
        u = g.add(f"layer {k}: U_{t} = W x_{t} (one GEMM for all t)", "matmul", t, (x,))
        fr = g.add(f"layer {k}: f_{t}, r_{t} = sigmoid(U_{t} + b)", "elementwise", t, (u,))
        c = g.add(f"layer {k}: c_{t} = f_{t} c_{t - 1} + (1 - f_{t}) U_{t}", "elementwise", t,
                  (fr, u, c), step=True)
        out.append(g.add(f"layer {k}: h_{t} = r_{t} g(c_{t}) + (1 - r_{t}) x_{t}",
                         "elementwise", t, (c, fr, x)))
    return out


def _scan_nodes(g: Graph, leaves: list[int], what: str, kind: str, scan: str) -> list[int]:
    """Append the combines of a scan over ``leaves`` (one per t); returns each element's
    last node, i.e. the scan's output h_t."""
    net = scan_network(scan, len(leaves))
    if net.exclusive:
        raise ValueError(f"scan must be an inclusive scan (not {scan!r}) to give h_t")
    cur = list(leaves)
    for lv in net.levels:
        new = list(cur)
        for op in lv.ops:
            reads = tuple(cur[i] for i in op.reads())
            new[op.dst] = g.add(f"{what}: x[{op.dst}] = x[{op.left}] (+) x[{op.right}]", kind,
                                op.dst, reads, step=True)
        cur = new
    return cur


def _mingru(g: Graph, xs: list[int], k: int, scan: str) -> list[int]:
    leaves = []
    for t, x in enumerate(xs):
        wx = g.add(f"layer {k}: z_{t}, h~_{t} = W x_{t} (parallel over t)", "matmul", t, (x,))
        leaves.append(g.add(f"layer {k}: a_{t} = 1 - sigmoid(z_{t}), b_{t} = sigmoid(z_{t}) h~_{t}",
                            "elementwise", t, (wx,)))
    return _scan_nodes(g, leaves, f"layer {k}: scan h_t = a_t h_(t-1) + b_t", "combine", scan)


def _deer(g: Graph, xs: list[int], iterations: int, scan: str) -> list[int]:
    guess = [g.add(f"h^(0)_{t} (initial guess)", "input", t) for t in range(len(xs))]
    h0 = g.add("h_{-1} = h0", "input", -1)
    check: tuple[int, ...] = ()
    for i in range(iterations):
        lin = []
        for t in range(len(xs)):
            prev = h0 if t == 0 else guess[t - 1]
            lin.append(g.add(f"iteration {i + 1}: f(h^({i})_(t-1), x_{t}) and Jacobian J_{t}",
                             "matmul", t, (prev, xs[t]) + check))
        guess = _scan_nodes(g, lin, f"iteration {i + 1}: scan of (J_t, b_t), D x D", "combine",
                            scan)
        # the stopping test reads every residual: a barrier between iterations
        check = (g.add(f"iteration {i + 1}: residual max_t |h_t - f(h_(t-1), x_t)|", "reduce",
                       (len(xs) - 1) / 2, tuple(guess)),)
    return guess


def dependency_data(cell: str, T: int = 6, *, layers: int = 1, iterations: int = 3,
                    scan: str = "hillis_steele") -> Graph:
    """The dependency graph of ``cell`` unrolled over ``T`` steps, without drawing it.

    ``layers`` stacks layers (layer k + 1 reads layer k's h_t; not for "deer");
    ``iterations`` (DEER's Newton iterations) and ``scan`` (the scan network of "mingru" and
    "deer": "hillis_steele", "sklansky", "brent_kung" or "chunked") shape the parallel cells.
    Stacked, the critical path of "lstm", "gru" and "sru" is a wavefront of T + layers - 1
    steps, of "conv" ``layers`` products, of "mingru" layers x ceil(log2 T) combines.
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    if not isinstance(T, int) or T < 1:
        raise ValueError(f"T must be an int >= 1, got {T!r}")
    if not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be an int >= 1, got {iterations!r}")
    if not isinstance(layers, int) or layers < 1:
        raise ValueError(f"layers must be an int >= 1, got {layers!r}")
    if cell == "deer" and layers != 1:
        raise ValueError("layers must be 1 for cell='deer' (DEER evaluates one cell; stack "
                         f"by evaluating layer after layer), got {layers}")
    g = Graph(cell, T, iterations=iterations if cell == "deer" else None,
              n_layers=layers)
    xs = [g.add(f"x_{t}", "input", t) for t in range(T)]
    if cell == "deer":
        _deer(g, xs, iterations, scan)
        return g
    build = {"lstm": _lstm, "gru": _gru, "conv": _conv, "sru": _sru,
             "mingru": lambda g_, x_, k: _mingru(g_, x_, k, scan)}[cell]
    for k in range(layers):
        xs = build(g, xs, k)
    return g


def _positions(g: Graph, layer: list[int]) -> list[tuple[float, float]]:
    """x = time step, spread a little where several nodes share a (t, layer) cell."""
    cells: dict[tuple[float, int], list[int]] = defaultdict(list)
    for n in g.nodes:
        cells[(n.t, layer[n.id])].append(n.id)
    pos: list[tuple[float, float]] = [(0.0, 0.0)] * len(g.nodes)
    for (t, lay), ids in cells.items():
        k = len(ids)
        for j, i in enumerate(ids):
            pos[i] = (t + (j - (k - 1) / 2) * (0.5 / max(k, 1)), float(lay))
    return pos


def _title(g: Graph) -> str:
    names = {"lstm": "LSTM", "gru": "GRU", "conv": "causal Conv1d (width 3)", "sru": "SRU",
             "mingru": "minGRU", "deer": f"DEER ({g.iterations} Newton iterations)"}
    stacked = f" x {g.n_layers} layers" if g.n_layers > 1 else ""
    kinds = ", ".join(f"{v} {k}" for k, v in sorted(g.work_by_kind().items()))
    return (f"{names[g.cell]}{stacked}, T = {g.T}: critical path = {g.critical_steps} "
            f"{_STEP_WORDS[g.cell]} ({g.depth} operations deep)"
            f"<br><sup>total work {g.work} operations ({kinds}); "
            f"everything off the orange path can run in parallel</sup>")


def dependency_graph(cell: str, T: int = 6, *, layers: int = 1, iterations: int = 3,
                     scan: str = "hillis_steele") -> go.Figure:
    """The figure of :func:`dependency_data`: operations over time, critical path in orange.

    The critical path's length (in the cell's sequential steps and in operations) and the
    total work are in the title; ``fig.layout.meta`` holds them as numbers.
    """
    g = dependency_data(cell, T, layers=layers, iterations=iterations, scan=scan)
    layer = g.layers()
    pos = _positions(g, layer)
    crit = g.critical_path()
    on_path = set(crit)
    crit_edges = set(zip(crit[:-1], crit[1:]))

    def segs(edges):
        xs, ys = [], []
        for u, v in edges:
            xs += [pos[u][0], pos[v][0], None]
            ys += [pos[u][1], pos[v][1], None]
        return xs, ys

    plain = [e for e in g.edges if e not in crit_edges]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=segs(plain)[0], y=segs(plain)[1], mode="lines",
                             line=dict(color="#c8c8c8", width=1), name="dependency",
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=segs(crit_edges)[0], y=segs(crit_edges)[1], mode="lines",
                             line=dict(color=theme.CRITICAL, width=4), name="critical path",
                             hoverinfo="skip"))
    for kind in ("input", "matmul", "elementwise", "combine", "reduce"):
        ids = [n.id for n in g.nodes if n.kind == kind]
        if not ids:
            continue
        colour = theme.OP_COLOURS.get(kind, theme.OP_COLOURS["carry"])
        label = {"matmul": "matrix product", "combine": "scan combine"}.get(kind, kind)
        if cell == "deer" and kind == "combine":
            label = "scan combine (D x D matrices)"
        fig.add_trace(go.Scatter(
            x=[pos[i][0] for i in ids], y=[pos[i][1] for i in ids], mode="markers", name=label,
            marker=dict(size=[15 if i in on_path else 10 for i in ids], color=colour,
                        symbol="square" if kind == "matmul" else "circle",
                        line=dict(width=[3 if i in on_path else 1 for i in ids],
                                  color=[theme.CRITICAL if i in on_path else "white"
                                         for i in ids])),
            text=[g.nodes[i].label + (" · on the critical path" if i in on_path else "")
                  for i in ids],
            hovertemplate="%{text}<br>layer %{y}<extra></extra>"))
    fig.update_layout(
        title_text=_title(g),
        xaxis=dict(title="time step t", dtick=1 if T <= 32 else None),
        yaxis=dict(title="depth (longest-path layer)", autorange="reversed"),
        height=max(460, min(1600, 200 + 40 * (g.depth + 1))),
        meta={"cell": cell, "T": T, "layers": layers, "critical_steps": g.critical_steps, "depth": g.depth,
              "work": g.work, "iterations": g.iterations},
    )
    return theme.apply(fig)
