"""One colour per method, from one place, for every method name the benchmarks use."""
from __future__ import annotations

import plotly.graph_objects as go
import pytest

from rnnviz.viz import theme

METHODS = ["rnnviz-scan", "log-space", "doubling", "accelerated-scan", "copy", "rnnviz-sru",
           "lstm-cudnn", "gru-cudnn", "conv1d", "sru-loop", "sru-pkg", "rnnviz-mingru",
           "rnnviz-minlstm", "mingru-log", "grucell-loop", "lstmcell-loop", "deer-newton",
           "deer-quasi", "deer-damped", "sequential", "rnnviz-time"]


def test_every_method_has_a_distinct_colour_in_its_family():
    colours = {m: theme.method_colour(m) for m in METHODS}
    assert all(c and c.startswith("#") for c in colours.values())
    assert len(set(colours.values())) == len(METHODS)
    assert theme.family_of("deer-quasi") == "deer" and theme.family_of("conv1d") == "conv"
    for m in METHODS:
        fam = theme.family_of(m)
        assert colours[m] in theme.FAMILIES[fam]
    assert theme.method_colour("no-such-method") is None
    assert theme.method_dash("rnnviz-scan") == "solid" != theme.method_dash("rnnviz-mingru")


def test_the_speed_lab_takes_its_colours_from_the_theme():
    compare = pytest.importorskip("rnnviz.course.compare")
    assert compare.colour("lstm-cudnn") == theme.method_colour("lstm-cudnn")


def test_template_applies():
    fig = theme.apply(go.Figure())
    assert fig.layout.template.layout.font.family == theme.FONT["family"]
    assert "rnnviz" in __import__("plotly.io").io.templates
    with pytest.raises(ValueError, match="family must be one of"):
        theme.family_colour("rainbow")


def test_every_method_in_the_shipped_results_has_a_colour():
    import json
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[2] / "benchmarks"
    methods = {r["method"] for f in shipped.glob("*.json")
               for r in json.loads(f.read_text())["rows"] if r.get("method")}
    assert methods, "no shipped benchmark rows found"
    assert {m for m in methods if theme.method_colour(m) is None} == set()
