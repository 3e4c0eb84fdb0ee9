"""scan_tree / scan_network: every network computes the scan, with the textbook work and depth."""
from __future__ import annotations

import math
import random

import pytest
import torch

from rnnviz.trace import Trace
from rnnviz.viz import scan_network, scan_tree
from rnnviz.viz.scans import KINDS, evaluate, linear_combine

from .records import check_serialises

SIZES = [1, 2, 3, 5, 7, 8, 16, 17, 31, 32]


def sizes(kind):
    return [n for n in SIZES if kind != "blelloch" or n & (n - 1) == 0]


def prefix(values, exclusive, combine, identity):
    out, acc = [], identity
    for v in values:
        if exclusive:
            out.append(acc)
        acc = combine(acc, v)
        if not exclusive:
            out.append(acc)
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_networks_compute_the_scan(kind):
    rnd = random.Random(0)
    for n in sizes(kind):
        for chunk in (1, 3, 4):
            net = scan_network(kind, n, chunk=chunk)
            ints = [rnd.randint(-9, 9) for _ in range(n)]
            assert evaluate(net, ints, lambda a, b: a + b, 0)[-1] == prefix(
                ints, net.exclusive, lambda a, b: a + b, 0)
            # the linear recurrence's pairs do not commute: catches a swapped operand
            pairs = [(rnd.uniform(0.5, 1.5), rnd.uniform(-1, 1)) for _ in range(n)]
            got = evaluate(net, pairs, linear_combine, (1.0, 0.0))[-1]
            want = prefix(pairs, net.exclusive, linear_combine, (1.0, 0.0))
            assert all(abs(g[1] - w[1]) < 1e-12 for g, w in zip(got, want)), (kind, n, chunk)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
def test_work_and_depth_formulas(k):
    n = 2 ** k
    hs, sk, bk, bl = (scan_network(kind, n) for kind in
                      ("hillis_steele", "sklansky", "brent_kung", "blelloch"))
    assert (hs.work, hs.depth) == (n * k - n + 1, k)
    assert (sk.work, sk.depth) == (n * k // 2, k)
    assert (bk.work, bk.depth) == (2 * n - 2 - k, 2 * k - 1)
    assert (bl.work, bl.depth) == (2 * (n - 1), 2 * k)
    assert len(bl.levels) == 2 * k + 1  # with the level that clears the root


@pytest.mark.parametrize("n,C", [(16, 4), (20, 4), (17, 5), (8, 8), (9, 1)])
def test_chunked_work_and_depth(n, C):
    net = scan_network("chunked", n, chunk=C)
    chunks = -(-n // C)
    sizes_ = [min(C, n - k * C) for k in range(chunks)]
    local_work = sum(s * math.ceil(math.log2(s)) - 2 ** math.ceil(math.log2(s)) + 1
                     for s in sizes_ if s > 1)
    fix = sum(s - 1 for s in sizes_[1:])
    assert net.work == local_work + (chunks - 1) + fix
    local_depth = math.ceil(math.log2(C)) if C > 1 else 0
    assert net.depth == local_depth + (chunks - 1) + (1 if fix else 0)


@pytest.mark.parametrize("kind", KINDS)
def test_figure_has_one_frame_per_level(kind):
    n = 16
    fig = scan_tree(kind, n)
    net = scan_network(kind, n)
    assert len(fig.frames) == len(net.levels) + 1
    assert len(fig.layout.sliders[0].steps) == len(fig.frames)
    assert fig.layout.meta["work"] == net.work and fig.layout.meta["depth"] == net.depth
    assert f"work = {net.work} combines" in fig.layout.title.text
    # every frame holds all n inputs and all operations, split into done / now / later
    ops = sum(len(lv.ops) for lv in net.levels)
    for k, fr in enumerate(fig.frames):
        nodes = sum(len(tr.x) for tr in fr.data[4:])
        assert nodes == n + ops
        assert len(fr.data[6].x) == (n if k == 0 else len(net.levels[k - 1].ops))
    check_serialises(fig)


def test_chunked_scan_from_a_hand_made_record():
    """The real values of a (hand-made) chunks record appear at the nodes."""
    T, C = 12, 4
    a, b = torch.rand(1, T, 1) * 0.5 + 0.5, torch.randn(1, T, 1)
    h, local, hl = [], [], 0.0
    hh = 0.0
    for t in range(T):
        if t % C == 0:
            hl = 0.0
        hl = a[0, t, 0].item() * hl + b[0, t, 0].item()
        hh = a[0, t, 0].item() * hh + b[0, t, 0].item()
        local.append(hl)
        h.append(hh)
    carries = torch.tensor([[0.0, h[C - 1], h[2 * C - 1]]])[..., None]
    tr = Trace()
    tr.add("linear_scan", "chunks", {"local": torch.tensor(local)[None, :, None],
                                     "carries": carries, "h": torch.tensor(h)[None, :, None]},
           {"chunk": C, "path": "torch", "reverse": False, "T": T, "backend": "torch"})
    fig = scan_tree("chunked", trace=tr)
    assert fig.layout.meta["n"] == T and fig.layout.meta["chunk"] == C
    texts = [t for tr_ in fig.data[4:] for t in tr_.text]
    assert any(f"h_{T - 2} = {h[T - 2]:.4g}" in t for t in texts)
    assert any(f"carry into chunk 2 = {h[2 * C - 1]:.4g}" in t for t in texts)
    assert any(f"carry into chunk 1 = {h[C - 1]:.4g}" in t for t in texts)
    assert any(f"h_{T - 1} = {h[T - 1]:.4g}" in t for t in texts)
    assert any(f"local L_5 = {local[5]:.4g}" in t for t in texts)
    check_serialises(fig)


def test_bad_arguments():
    with pytest.raises(ValueError, match="kind must be one of"):
        scan_tree("ladner_fischer")
    with pytest.raises(ValueError, match="power of two"):
        scan_network("blelloch", 12)
    with pytest.raises(ValueError, match="use kind='chunked'"):
        scan_tree("sklansky", trace=Trace())
    with pytest.raises(ValueError, match="no 'chunks' records"):
        scan_tree("chunked", trace=Trace())
