"""Benchmark suites: ``python -m rnnviz.bench SUITE``."""
