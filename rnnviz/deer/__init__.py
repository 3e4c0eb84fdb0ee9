"""DEER: evaluate a nonlinear RNN over all time steps at once with Newton's method.

``evaluate(cell, x, h0, method="newton"|"quasi"|"damped") -> (h, info)`` solves
h_t = cell(x_t, h_{t-1}) for all t by Newton iterations, each a parallel scan
(``rnnviz.ops.dense_scan`` / ``rnnviz.ops.linear_scan``); ``sequential`` is the plain loop.
Modules: ``solver`` (the iteration), ``cells`` (values and Jacobians), ``grad`` (implicit
backward), ``memory`` (the memory guard), ``api`` (checks and defaults).
"""
from rnnviz.deer.api import evaluate, sequential
from rnnviz.deer.memory import DeerMemoryError
from rnnviz.deer.solver import DeerConvergenceError

__all__ = ["evaluate", "sequential", "DeerMemoryError", "DeerConvergenceError"]
