"""dependency_graph: the DAG of each cell, its layering, and the critical path vs the formula."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnviz.viz import dependency_data, dependency_graph
from rnnviz.viz.graphs import CELLS

from .records import check_serialises

TS = [1, 2, 3, 5, 6, 8, 13, 16]


def ceil_log2(T: int) -> int:
    return math.ceil(math.log2(T)) if T > 1 else 0


# the course's claims, one formula per cell
FORMULA = {
    "lstm": lambda T, K: T,  # T matrix products U h_{t-1}
    "gru": lambda T, K: T,
    "conv": lambda T, K: 1,  # one product, whatever T
    "sru": lambda T, K: T,  # T elementwise steps
    "mingru": lambda T, K: ceil_log2(T),  # log2 T combines
    "deer": lambda T, K: K * ceil_log2(T),  # iterations x log2 T combines
}


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("T", TS)
def test_critical_path_matches_the_formula(cell, T):
    K = 3
    g = dependency_data(cell, T, iterations=K)
    assert g.critical_steps == FORMULA[cell](T, K)
    path = g.critical_path()
    # a path: consecutive nodes are edges, it spans the whole depth, it ends at the deepest node
    edges = set(g.edges)
    assert all((u, v) in edges for u, v in zip(path, path[1:]))
    layers = g.layers()
    assert [layers[i] for i in path] == sorted(layers[i] for i in path)
    assert layers[path[-1]] == g.depth == max(layers)
    assert sum(g.nodes[i].kind != "input" for i in path) == g.depth


@settings(max_examples=25, deadline=None)
@given(cell=st.sampled_from(CELLS), T=st.integers(1, 40), K=st.integers(1, 4))
def test_critical_path_formula_for_any_T(cell, T, K):
    g = dependency_data(cell, T, iterations=K)
    assert g.critical_steps == FORMULA[cell](T, K)
    assert g.depth == len(g.critical_path()) - 1  # the path starts at an input


@pytest.mark.parametrize("K", [1, 2, 5])
@pytest.mark.parametrize("T", [4, 7, 32])
def test_deer_iterations_times_log_T(K, T):
    g = dependency_data("deer", T, iterations=K)
    assert g.critical_steps == K * ceil_log2(T)
    # each iteration: linearise (1) + scan (ceil log2 T) + residual check (1)
    assert g.depth == K * (ceil_log2(T) + 2)


@pytest.mark.parametrize("scan", ["hillis_steele", "sklansky", "brent_kung"])
def test_mingru_depth_follows_the_scan(scan):
    from rnnviz.viz.scans import scan_network

    for T in (5, 8, 16):
        g = dependency_data("mingru", T, scan=scan)
        net = scan_network(scan, T)
        # a chain of combines never needs more than the levels; for these two it needs all
        # (Brent-Kung's top up-sweep level is off the path to the last element it fills in)
        if scan == "brent_kung":
            assert ceil_log2(T) <= g.critical_steps <= net.depth
        else:
            assert g.critical_steps == net.depth == ceil_log2(T)
        assert g.work_by_kind()["combine"] == net.work


@pytest.mark.parametrize("L", [2, 3])
@pytest.mark.parametrize("T", [1, 4, 7, 16])
def test_stacked_layers_wavefront(L, T):
    """L stacked layers: cell (l, t) waits for (l, t-1) and (l-1, t), a wavefront of
    T + L - 1 steps (the answer of notebook 01's exercise); conv: L products; minGRU: L scans."""
    for cell in ("lstm", "gru", "sru"):
        assert dependency_data(cell, T, layers=L).critical_steps == T + L - 1
    assert dependency_data("conv", T, layers=L).critical_steps == L
    assert dependency_data("mingru", T, layers=L).critical_steps == L * ceil_log2(T)
    one, many = dependency_data("lstm", T), dependency_data("lstm", T, layers=L)
    assert many.work == L * one.work
    fig = dependency_graph("lstm", T, layers=L)
    assert f"x {L} layers" in fig.layout.title.text and fig.layout.meta["layers"] == L


def test_node_counts_and_work():
    T = 6
    counts = {"lstm": (2 + T, 5 * T), "gru": (1 + T, 4 * T), "conv": (T, T),
              "sru": (1 + T, 4 * T)}
    for cell, (inputs, ops) in counts.items():
        g = dependency_data(cell, T)
        assert sum(n.kind == "input" for n in g.nodes) == inputs
        assert g.work == ops
    g = dependency_data("lstm", T)
    assert g.work_by_kind() == {"matmul": 2 * T, "elementwise": 3 * T}
    # layering: every edge goes strictly down
    layers = g.layers()
    assert all(layers[u] < layers[v] for u, v in g.edges)


def test_figure_shows_the_path_and_says_its_length():
    fig = dependency_graph("lstm", T=6)
    assert "critical path = 6 sequential matrix products" in fig.layout.title.text
    assert "total work 30 operations" in fig.layout.title.text
    assert fig.layout.meta["critical_steps"] == 6
    g = dependency_data("lstm", 6)
    crit = fig.data[1]  # the orange edges: one segment (3 coordinates) per path edge
    assert crit.name == "critical path"
    assert len(crit.x) == 3 * (len(g.critical_path()) - 1)
    nodes = sum(len(t.x) for t in fig.data[2:])
    assert nodes == len(g.nodes)
    check_serialises(fig)


@pytest.mark.parametrize("cell", CELLS)
def test_every_cell_draws(cell):
    fig = dependency_graph(cell, T=8)
    meta = fig.layout.meta
    assert meta["critical_steps"] == FORMULA[cell](8, 3)
    assert str(meta["critical_steps"]) in fig.layout.title.text
    check_serialises(fig)


def test_bad_arguments_say_what_was_wrong():
    with pytest.raises(ValueError, match="cell must be one of"):
        dependency_graph("transformer")
    with pytest.raises(ValueError, match="T must be an int >= 1, got 0"):
        dependency_data("lstm", 0)
    with pytest.raises(ValueError, match="layers must be 1 for cell='deer'"):
        dependency_data("deer", 8, layers=2)
    with pytest.raises(ValueError, match="inclusive"):
        dependency_data("mingru", 8, scan="blelloch")
