"""Buffers kept per (device, stream) from one launch to the next: counters and flags that a
kernel leaves at zero when it finishes, so that no memset launch (microseconds of host time
a call) has to precede the next launch on the stream. Launches on one stream run in order,
so one buffer a stream is never used by two at once. Used by the scan's look-back status
(``linear_scan/seqpar.py``) and the SRU backward's batch counts (``sru/fused_recurrent.py``).

Compute only: imports torch and triton, nothing of rnnviz.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
import triton


def stream_cached(cache: dict, limit: int, device: torch.device, fits: Callable[[Any], bool],
                  make: Callable[[Any], Any]) -> Any:
    """The buffer ``cache`` keeps for the current (device, stream) if ``fits(buf)``, else
    ``make(buf)`` in its place (``buf``: the one it replaces, or None). A CUDA graph being
    captured gets ``make(None)``, its own and not kept. ``cache`` holds the buffers of the
    ``limit`` streams used last: a program that makes streams by the hundred (a side stream
    per graph capture) keeps its latest few. Dropping one is safe: its memory goes back to
    the allocator's pool of the stream it was made on, in stream order."""
    if device.type == "cuda" and torch.cuda.is_current_stream_capturing():
        return make(None)
    # the raw stream handle, as Triton's launcher reads it (torch.cuda.current_stream builds
    # a Stream object: microseconds of a small scan's host time)
    key = (device, triton.runtime.driver.active.get_current_stream(device.index)
           if device.type == "cuda" else 0)
    buf = cache.pop(key, None)
    if buf is None or not fits(buf):
        buf = make(buf)
    cache[key] = buf  # the most recently used last
    if len(cache) > limit:
        cache.pop(next(iter(cache)))
    return buf
