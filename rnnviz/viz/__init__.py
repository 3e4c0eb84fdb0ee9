"""Plotly figures drawn from recorded data (traces, benchmark JSON); never calls a kernel."""
