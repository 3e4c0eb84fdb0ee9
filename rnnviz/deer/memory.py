"""How much memory a DEER solve needs, and how many time steps fit at once.

Newton's full Jacobians cost B * T * S * S numbers (S the state size); everything else is
O(B * T * S). Before allocating, :func:`plan` compares the estimate with a limit and returns
the number of time steps processed at once: all of T when it fits, else time chunks solved
one after another (each chunk starts from the last state of the one before, which is exact
because the recurrence is causal). When not even ``MIN_CHUNK`` steps fit it raises
:class:`DeerMemoryError`, which says how many bytes were needed and suggests
``method="quasi"`` (diagonal Jacobians, O(B T S) memory).

The limit: ``memory_limit=`` of ``evaluate``, else :func:`set_limit`'s value, else the
environment variable RNNVIZ_DEER_MEMORY (bytes), else ``FRACTION`` of the free device
memory on CUDA and ``CPU_LIMIT`` bytes on a CPU.
"""
from __future__ import annotations

import os

import torch

__all__ = ["DeerMemoryError", "estimate_bytes", "default_limit", "set_limit", "plan",
           "FRACTION", "CPU_LIMIT", "MIN_CHUNK"]

FRACTION = 0.5          # of the free CUDA memory
CPU_LIMIT = 4 << 30     # bytes
MIN_CHUNK = 64          # time steps; fewer would be a slower sequential loop
_LIMIT: int | None = None

# Live buffers per (b, t), in numbers: the Jacobian (the scan reads it twice, the backward
# keeps one), and about a dozen state-sized ones (gx, gh: 3-4 S each, h, h_prev, b, f, ...).
_STATE_BUFFERS = 16


class DeerMemoryError(MemoryError):
    """DEER would need more memory than allowed even in the smallest time chunk."""


def estimate_bytes(B: int, T: int, S: int, dtype: torch.dtype, method: str) -> int:
    """Bytes a solve over T steps needs: B*T*S*S for the Jacobians ("newton", "damped", and
    the backward of every method) plus the state-sized buffers."""
    item = torch.empty((), dtype=dtype).element_size()
    per_step = _STATE_BUFFERS * S + (S * S if method in ("newton", "damped", "backward") else 2 * S)
    return int(B * T * per_step * item)


def set_limit(nbytes: int | None) -> None:
    """Set (or with None, clear) the process-wide memory limit for DEER, in bytes."""
    global _LIMIT
    if nbytes is not None and nbytes <= 0:
        raise ValueError(f"memory limit must be positive bytes or None, got {nbytes}")
    _LIMIT = nbytes


def default_limit(device: torch.device) -> int:
    if _LIMIT is not None:
        return _LIMIT
    env = os.environ.get("RNNVIZ_DEER_MEMORY")
    if env:
        return int(float(env))
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(FRACTION * free)
    return CPU_LIMIT


def plan(B: int, T: int, S: int, dtype: torch.dtype, method: str, device: torch.device,
         limit: int | None = None, chunk: int | bool | None = None) -> int:
    """Time steps per chunk (T when everything fits).

    ``chunk``: None chooses, an int forces that chunk length, False forbids chunking (raise
    instead when over the limit).
    """
    if isinstance(chunk, int) and not isinstance(chunk, bool):
        if chunk < 1:
            raise ValueError(f"chunk must be a positive number of time steps, got {chunk}")
        return min(chunk, T)
    limit = default_limit(device) if limit is None else int(limit)
    need = estimate_bytes(B, T, S, dtype, method)
    if need <= limit:
        return T
    per_step = max(1, estimate_bytes(B, 1, S, dtype, method))
    steps = limit // per_step
    if chunk is False or steps < min(MIN_CHUNK, T):
        hint = ("" if method == "quasi" else
                f"; method='quasi' needs about {estimate_bytes(B, T, S, dtype, 'quasi'):,} bytes")
        raise DeerMemoryError(
            f"DEER ({method}) needs about {need:,} bytes for B={B}, T={T}, state size {S} "
            f"({torch.empty((), dtype=dtype).element_size()}-byte numbers; the Jacobians alone "
            f"are B*T*S*S), over the limit of {limit:,} bytes"
            + ("" if chunk is False else f" even in chunks of {MIN_CHUNK} steps")
            + f"{hint}. Raise the limit with memory_limit= or rnnviz.deer.memory.set_limit().")
    return int(steps)
