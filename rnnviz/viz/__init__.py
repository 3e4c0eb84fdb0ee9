"""Plotly figures drawn from recorded data (traces, benchmark JSON); never calls a kernel.

Every function returns a ``plotly.graph_objects.Figure`` in the course theme
(:mod:`rnnviz.viz.theme`: one font, one colour per method). Figures that move (scan levels,
Newton iterations) use plotly frames and a slider, so they work in static HTML.
"""
from __future__ import annotations

from rnnviz.viz import theme
from rnnviz.viz.gates import gates
from rnnviz.viz.graphs import dependency_data, dependency_graph
from rnnviz.viz.newton import newton_convergence
from rnnviz.viz.scans import scan_network, scan_tree
from rnnviz.viz.speedup import speedup
from rnnviz.viz.timeline import timeline

__all__ = ["theme", "dependency_graph", "dependency_data", "scan_tree", "scan_network",
           "newton_convergence", "gates", "timeline", "speedup"]
