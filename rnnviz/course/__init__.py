"""Small helpers the course notebooks share (the notebooks stay short calls into these).

- ``sizes``: problem sizes by device (``pick(cpu=..., gpu=...)``) and "your machine" labels;
- ``methods``: what can be timed here, named as the benchmarks name them;
- ``measure``: bounded measurements (memory refusal, time probes, failures as rows);
- ``reference``: the GPU results shipped in ``rnnviz.results``, with their provenance;
- ``compare``: "your machine, measured now" beside "H100, measured on DATE" in one figure;
- ``latency``, ``source``, ``in_flight``, ``scans``, ``scan_formulas``, ``mingru``, ``newton``:
  the pieces of notebooks 1 to 5 (step latency, equations beside code, the SRU kernel's loads
  in flight, scan trees and bandwidth, the log-space trick, minGRU's modes and training,
  Newton's method);
- ``eager_graph``: one call from two shipped runs (eager or graph-timed; the backward on
  torch's device thread or the calling thread);
- ``scan_kernels``, ``launch_path``, ``scan_layouts``: notebook 7's look inside the scan kernel
  (bytes in flight, host or GPU, the launch path, the look-back's own clock, the two ways to
  join a segment's carry, ``[B, T, D]`` against ``[B, D, T]`` memory).
"""
