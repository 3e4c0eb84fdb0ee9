"""The linear scan h_t = a_t h_{t-1} + b_t as Triton kernels.

- ``blocks.py``: reusable ``@triton.jit`` pieces (the pair combine, scan of one chunk tile
  from an incoming carry, tile loads/stores); other kernels (fused minGRU) import these.
- ``chunk.py``: channel-parallel kernel (many channels), and its walk over a range of chunks.
- ``seqpar.py``: sequence-parallel kernels with decoupled look-back (few channels, long T):
  one chunk per program, or a segment of chunks per program walked twice.
- ``reduce_scan.py``: the same segments by reduce-then-scan (``carry="scan"``): summarise,
  scan the summaries, walk again, in three launches with no program waiting on another.
- ``timelast.py``: the scan on time-contiguous storage ([B, T, D] views of [B, D, T]
  memory, as Conv1d keeps sequences): a chunk is a wide load along one channel's row.
- ``launch.py``: path and block sizes from (B * D, T); ``scan_fwd`` / ``scan_bwd``;
  ``launch_time.py`` the same for the time-contiguous layout.
"""
from .launch import (CHANNEL_MIN_BD, ScanConfig, ScanResult, choose_config, scan_bwd, scan_fwd,
                     tile_config)
from .launch_time import TimeConfig, choose_time_config, time_dense

__all__ = ["scan_fwd", "scan_bwd", "choose_config", "tile_config", "ScanConfig", "ScanResult",
           "CHANNEL_MIN_BD", "TimeConfig", "choose_time_config", "time_dense"]
