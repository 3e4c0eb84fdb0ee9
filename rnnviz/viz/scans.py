"""Parallel prefix scans as work-depth diagrams: which element combines with which, level by level.

A scan of x_0 .. x_{n-1} under an associative operator (+) gives y_i = x_0 (+) ... (+) x_i.
For the linear recurrence h_t = a_t h_{t-1} + b_t the elements are the pairs (a_t, b_t) and

    (a1, b1) (+) (a2, b2) = (a1 a2, a2 b1 + b2)        (apply step 1, then step 2)

which is associative but not commutative, so every network below keeps the earlier operand on
the left. A network is a list of levels; the operations of one level read the values as they
were at the start of the level and run in parallel. Work = number of combines; depth = number
of levels that combine.

- "hillis_steele" (Kogge-Stone): level d: x_i <- x_{i-2^d} (+) x_i for all i >= 2^d.
  depth ceil(log2 n), work n ceil(log2 n) - 2^ceil(log2 n) + 1 (n log n - n + 1 for n = 2^k).
- "sklansky": level d: every i with bit d set takes the last element of the block before it.
  depth ceil(log2 n), work (n/2) log2 n for n = 2^k.
- "brent_kung": an up-sweep (a reduction tree) then a down-sweep filling the gaps.
  depth 2 log2 n - 1, work 2n - 2 - log2 n for n = 2^k.
- "blelloch": the up-sweep, the root cleared to the identity, a down-sweep of swaps and
  combines; an exclusive scan (y_i = x_0 (+) ... (+) x_{i-1}). depth 2 log2 n, work 2(n-1).
  n must be a power of two.
- "chunked": what the rnnviz kernel and the CPU path do: chunks of C steps are scanned locally
  (Hillis-Steele, all chunks at once), a carry chain runs over the chunk ends (one step per
  chunk), and one last level applies each chunk's carry to its elements.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import plotly.graph_objects as go

from rnnviz.trace import Record
from rnnviz.viz import theme
from rnnviz.viz.records import TraceLike, select

__all__ = ["KINDS", "Op", "Level", "ScanNetwork", "scan_network", "evaluate", "scan_tree",
           "linear_combine"]

KINDS = ("hillis_steele", "blelloch", "brent_kung", "sklansky", "chunked")


@dataclass(frozen=True)
class Op:
    """One operation of a level: ``x[dst] = x[left] (+) x[right]`` ("combine"),
    ``x[dst] = x[left]`` ("copy") or ``x[dst] = identity`` ("identity")."""

    kind: str
    dst: int
    left: int | None = None
    right: int | None = None

    def reads(self) -> tuple[int, ...]:
        return tuple(i for i in (self.left, self.right) if i is not None)


@dataclass
class Level:
    name: str
    ops: list[Op] = field(default_factory=list)

    @property
    def combines(self) -> int:
        return sum(op.kind == "combine" for op in self.ops)


@dataclass
class ScanNetwork:
    """A scan network over n elements. ``exclusive`` for Blelloch's; ``chunk`` for "chunked"."""

    kind: str
    n: int
    levels: list[Level]
    exclusive: bool = False
    chunk: int | None = None

    @property
    def work(self) -> int:
        """The number of combines (copies and identities are free)."""
        return sum(lv.combines for lv in self.levels)

    @property
    def depth(self) -> int:
        """The number of levels that combine: the parallel time."""
        return sum(lv.combines > 0 for lv in self.levels)


def _ceil_log2(n: int) -> int:
    return max(0, math.ceil(math.log2(n))) if n > 0 else 0


def _hillis_steele(n: int, offset: int = 0, name: str = "level") -> list[Level]:
    levels, d = [], 0
    while (1 << d) < n:
        s = 1 << d
        levels.append(Level(f"{name} {d + 1}: x[i] = x[i-{s}] (+) x[i]",
                            [Op("combine", offset + i, offset + i - s, offset + i)
                             for i in range(s, n)]))
        d += 1
    return levels


def _sklansky(n: int) -> list[Level]:
    levels = []
    for d in range(_ceil_log2(n)):
        ops = [Op("combine", i, ((i >> d) << d) - 1, i) for i in range(n) if i & (1 << d)]
        levels.append(Level(f"level {d + 1}: blocks of {1 << d} take their left block's last",
                            ops))
    return levels


def _upsweep(n: int) -> list[Level]:
    levels, d = [], 0
    while (2 << d) <= n:
        s = 1 << d
        ops = [Op("combine", i, i - s, i) for i in range(2 * s - 1, n, 2 * s)]
        levels.append(Level(f"up-sweep {d + 1}: pairs {s} apart", ops))
        d += 1
    return levels


def _brent_kung(n: int) -> list[Level]:
    levels = _upsweep(n)
    top = len(levels)
    for d in range(top - 1, -1, -1):
        s = 1 << d
        ops = [Op("combine", i, i - s, i) for i in range(3 * s - 1, n, 2 * s)]
        if ops:
            levels.append(Level(f"down-sweep {top - d}: fill in at distance {s}", ops))
    return levels


def _blelloch(n: int) -> list[Level]:
    if n & (n - 1):
        raise ValueError(f"blelloch needs n a power of two (its tree is complete), got n={n}")
    levels = _upsweep(n)
    levels.append(Level("clear the root to the identity", [Op("identity", n - 1)]))
    for d in range(len(levels) - 2, -1, -1):
        s = 1 << d
        ops = []
        for i in range(2 * s - 1, n, 2 * s):
            # left child takes the parent's prefix; the right child the parent's prefix
            # followed by the left subtree's sum (earlier operand first)
            ops += [Op("copy", i - s, i), Op("combine", i, i, i - s)]
        levels.append(Level(f"down-sweep {len(levels) - 1 - d}: swap and combine at distance {s}",
                            ops))
    return levels


def _chunked(n: int, chunk: int) -> list[Level]:
    C = max(1, min(chunk, n))
    n_chunks = -(-n // C)
    starts = [k * C for k in range(n_chunks)]
    ends = [min(s + C, n) - 1 for s in starts]
    local: list[Level] = []
    for k, s in enumerate(starts):  # all chunks run their local levels at the same time
        for d, lv in enumerate(_hillis_steele(ends[k] - s + 1, s, "chunk-local")):
            if d == len(local):
                local.append(Level("", []))
            local[d].ops += lv.ops
    for d, lv in enumerate(local):
        lv.name = f"chunk-local {d + 1}: every chunk at once, distance {1 << d}"
    carry = [Level(f"carry {k}: chunk {k} ends with the state leaving chunk {k - 1}",
                   [Op("combine", ends[k], ends[k - 1], ends[k])]) for k in range(1, n_chunks)]
    fix = [Op("combine", i, ends[k - 1], i) for k in range(1, n_chunks)
           for i in range(starts[k], ends[k])]
    apply = [Level("apply: every element takes the carry entering its chunk", fix)] if fix else []
    return local + carry + apply


def scan_network(kind: str, n: int = 16, chunk: int = 4) -> ScanNetwork:
    """The levels of the scan ``kind`` over ``n`` elements (``chunk`` for "chunked")."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    if kind == "chunked" and (not isinstance(chunk, int) or chunk < 1):
        raise ValueError(f"chunk must be an int >= 1, got {chunk!r}")
    build: dict[str, Callable[[], list[Level]]] = {
        "hillis_steele": lambda: _hillis_steele(n),
        "sklansky": lambda: _sklansky(n),
        "brent_kung": lambda: _brent_kung(n),
        "blelloch": lambda: _blelloch(n),
        "chunked": lambda: _chunked(n, chunk),
    }
    return ScanNetwork(kind, n, build[kind](), exclusive=kind == "blelloch",
                       chunk=min(chunk, n) if kind == "chunked" else None)


def linear_combine(x: tuple[float, float], y: tuple[float, float]) -> tuple[float, float]:
    """(a1, b1) (+) (a2, b2) = (a1 a2, a2 b1 + b2): step 1 then step 2 of h -> a h + b."""
    return (x[0] * y[0], y[0] * x[1] + y[1])


def evaluate(net: ScanNetwork, values: Sequence[Any], combine: Callable[[Any, Any], Any],
             identity: Any = None) -> list[list[Any]]:
    """Run the network on ``values``: the values of all elements after each level
    (``[values, after level 1, ...]``), so the last list is the scan."""
    if len(values) != net.n:
        raise ValueError(f"expected {net.n} values, got {len(values)}")
    state = list(values)
    out = [list(state)]
    for lv in net.levels:
        new = list(state)
        for op in lv.ops:
            if op.kind == "combine":
                new[op.dst] = combine(state[op.left], state[op.right])
            elif op.kind == "copy":
                new[op.dst] = state[op.left]
            else:
                new[op.dst] = identity
        state = new
        out.append(list(state))
    return out


# ---- the figure --------------------------------------------------------------------------

_OP_COLOUR = {"combine": theme.OP_COLOURS["combine"], "copy": theme.OP_COLOURS["copy"],
              "identity": theme.OP_COLOURS["input"]}


def _chunk_record(trace: TraceLike, record: int) -> Record:
    recs = [r for r in select(trace, "linear_scan", "chunks",
                              "run rnnviz.ops.linear_scan(a, b) inside rnnviz.trace()")
            if not r.meta.get("reverse", False)]
    if not recs:
        raise ValueError("the trace holds only reverse linear_scan records; the diagram "
                         "draws a forward scan (reverse=False)")
    if not 0 <= record < len(recs):
        raise ValueError(f"record must be in [0, {len(recs)}), got {record}")
    return recs[record]


def _trace_values(rec: Record, net: ScanNetwork, batch: int, channel: int
                  ) -> dict[tuple[int, int], str]:
    """Real values at the nodes: the chunk-local scan where an element's local levels end,
    the carries along the chain, h after the apply level. Intermediate local levels are not
    recorded by the kernel, so they stay without a value."""
    local, carries, h = rec.data["local"], rec.data["carries"], rec.data["h"]
    if local.shape[1] != net.n or h.shape[1] != net.n:
        raise ValueError(f"the record kept {local.shape[1]} of T={net.n} time steps; record "
                         f"with rnnviz.trace(every=1, max_steps=None) to see every node")
    loc = local[batch, :, channel].tolist()
    hh = h[batch, :, channel].tolist()
    car = carries[batch, :, channel].tolist()
    vals: dict[tuple[int, int], str] = {}
    last_local = {i: 0 for i in range(net.n)}
    for li, lv in enumerate(net.levels, start=1):
        if lv.name.startswith("chunk-local"):
            for op in lv.ops:
                last_local[op.dst] = li
    for i, li in last_local.items():
        vals[(li, i)] = f"local L_{i} = {loc[i]:.4g}"
    C = net.chunk or 1
    n_chunks = -(-net.n // C)

    def leaving(k: int, end: int) -> str:  # the state leaving chunk k is the next carry
        if k + 1 < n_chunks and k + 1 < len(car):
            return f"leaves chunk {k}: carry into chunk {k + 1} = {car[k + 1]:.4g}"
        return f"h_{end} = {hh[end]:.4g}"

    end0 = min(C, net.n) - 1
    key0 = (last_local[end0], end0)
    vals[key0] = vals[key0] + "<br>" + leaving(0, end0)
    for li, lv in enumerate(net.levels, start=1):
        if lv.name.startswith("carry"):
            end = lv.ops[0].dst
            vals[(li, end)] = leaving(end // C, end)
        elif lv.name.startswith("apply"):
            for op in lv.ops:
                vals[(li, op.dst)] = f"h_{op.dst} = {hh[op.dst]:.4g}"
    return vals


def _last_versions(net: ScanNetwork) -> list[list[int]]:
    """For each level (0 = inputs) and element, the level of that element's latest node."""
    latest = [0] * net.n
    out = [list(latest)]
    for li, lv in enumerate(net.levels, start=1):
        for op in lv.ops:
            latest[op.dst] = li
        out.append(list(latest))
    return out


def scan_tree(kind: str, n: int = 16, trace: TraceLike | None = None, *,
              chunk: int = 4, record: int = 0, batch: int = 0, channel: int = 0) -> go.Figure:
    """The work-depth diagram of the scan ``kind`` over ``n`` elements, one level per slider step.

    Time (the element index) runs along x, levels down the page. With ``trace`` (kind
    "chunked" only: a trace holding a forward ``linear_scan`` "chunks" record), n and the
    chunk size come from that real run and the nodes show its real values (``batch``,
    ``channel``): the chunk-local scans, the carries and h the kernel computed.
    """
    values: dict[tuple[int, int], str] = {}
    if trace is not None:
        if kind != "chunked":
            raise ValueError(f"a trace holds the kernel's chunked scan: use kind='chunked' "
                             f"with a trace, got kind={kind!r}")
        rec = _chunk_record(trace, record)
        n, chunk = int(rec.meta["T"]), int(rec.meta["chunk"])
        net = scan_network(kind, n, chunk)
        values = _trace_values(rec, net, batch, channel)
    else:
        net = scan_network(kind, n, chunk)

    latest = _last_versions(net)
    nodes: list[tuple[int, int, str, str]] = [(0, i, "input", f"x_{i}") for i in range(n)]
    edges: list[tuple[int, tuple[float, float], tuple[float, float], str]] = []
    for li, lv in enumerate(net.levels, start=1):
        prev = latest[li - 1]
        for op in lv.ops:
            label = {"combine": f"x[{op.dst}] = x[{op.left}] (+) x[{op.right}]",
                     "copy": f"x[{op.dst}] = x[{op.left}]",
                     "identity": f"x[{op.dst}] = identity"}[op.kind]
            nodes.append((li, op.dst, op.kind, label))
            for src in op.reads():  # data edges only: a copy discards the old value
                edges.append((li, (src, prev[src]), (op.dst, li), op.kind))

    def edge_xy(sel):
        xs, ys = [], []
        for _, (x0, y0), (x1, y1), _k in sel:
            xs += [x0, x1, None]
            ys += [y0, y1, None]
        return xs, ys

    # long sequences: smaller nodes and thinner edges, so the levels stay readable
    scale = min(1.0, (32 / n) ** 0.5)

    carry_levels = {li for li, lv in enumerate(net.levels, start=1)
                    if lv.name.startswith("carry")}  # few nodes, the point: drawn full size

    def node_trace(sel, name, opacity, size, line_colour):
        return go.Scatter(
            x=[i for _, i, _, _ in sel], y=[li for li, _, _, _ in sel], mode="markers",
            name=name, opacity=opacity,
            marker=dict(size=[size if li in carry_levels else max(3.0, size * scale)
                              for li, _, _, _ in sel], color=[_OP_COLOUR.get(k, theme.OP_COLOURS["input"])
                                          for _, _, k, _ in sel],
                        line=dict(width=2 * scale, color=line_colour)),
            text=[lab + ("<br>" + values[(li, i)] if (li, i) in values else "")
                  for li, i, _, lab in sel],
            hovertemplate="%{text}<extra></extra>")

    n_levels = len(net.levels)
    # one faint wire per element, top to bottom: where its value lives between updates
    wires = go.Scatter(x=[v for i in range(n) for v in (i, i, None)],
                       y=[v for _ in range(n) for v in (0, n_levels, None)], mode="lines",
                       name="element i", line=dict(color="#f0f0f0", width=1),
                       hoverinfo="skip", showlegend=False)

    def frame_data(k: int) -> list[go.Scatter]:
        done_e = [e for e in edges if e[0] < k]
        cur_e = [e for e in edges if e[0] == k]
        fut_e = [e for e in edges if e[0] > k]
        done_n = [nd for nd in nodes if nd[0] < k]
        cur_n = [nd for nd in nodes if nd[0] == k]
        fut_n = [nd for nd in nodes if nd[0] > k]
        return [
            wires,
            go.Scatter(x=edge_xy(fut_e)[0], y=edge_xy(fut_e)[1], mode="lines", name="later",
                       line=dict(color="#e5e5e5", width=1), hoverinfo="skip"),
            go.Scatter(x=edge_xy(done_e)[0], y=edge_xy(done_e)[1], mode="lines", name="done",
                       line=dict(color="#9e9e9e", width=1.2 * scale), hoverinfo="skip"),
            go.Scatter(x=edge_xy(cur_e)[0], y=edge_xy(cur_e)[1], mode="lines",
                       name="this level",
                       line=dict(color=theme.CRITICAL, width=max(0.6, 2.5 * scale)),
                       hoverinfo="skip"),
            node_trace(fut_n, "not yet computed", 0.25, 9, "white"),
            node_trace(done_n, "computed", 1.0, 11, "white"),
            node_trace(cur_n, "computed at this level", 1.0, 14, theme.CRITICAL),
        ]

    frames = [go.Frame(data=frame_data(k), name=str(k),
                       layout=dict(title_text=_title(net, k))) for k in range(n_levels + 1)]
    fig = go.Figure(data=frame_data(n_levels), frames=frames)
    fig.update_layout(
        **theme.animation_controls([str(k) for k in range(n_levels + 1)], n_levels, "level "),
        xaxis=dict(title="element (time step) i", dtick=1 if n <= 32 else None),
        yaxis=dict(title="level", autorange="reversed", dtick=1),
        height=max(380, 60 * (n_levels + 2)), title_text=_title(net, n_levels),
        meta={"kind": kind, "n": n, "work": net.work, "depth": net.depth,
              "levels": n_levels, "chunk": net.chunk},
    )
    return theme.apply(fig)


def _title(net: ScanNetwork, k: int) -> str:
    name = net.kind.replace("_", "-").title() + (" (exclusive)" if net.exclusive else "")
    if net.kind == "chunked":
        name = f"Chunked scan, chunks of {net.chunk}"
    step = "inputs" if k == 0 else net.levels[k - 1].name
    return (f"{name}: n = {net.n}, work = {net.work} combines, depth = {net.depth} levels"
            f"<br><sup>{step}</sup>")
