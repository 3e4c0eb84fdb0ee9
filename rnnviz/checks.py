"""Input checks shared by the ops and models: errors that say what was expected and what came."""
from __future__ import annotations

from typing import Sequence

import torch

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_tensor(name: str, x: object, ndim: int | None = None, *,
                 dims: str | None = None, dtypes: Sequence[torch.dtype] = FLOAT_DTYPES) -> torch.Tensor:
    """Check that ``x`` is a tensor of rank ``ndim`` and a floating dtype.

    ``dims`` names the expected dimensions for the message, e.g. "[B, T, D]".
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if ndim is not None and x.dim() != ndim:
        shape = dims or f"{ndim} dimensions"
        raise ValueError(f"expected {name} of shape {shape}, got {list(x.shape)} ({x.dim()} dimensions)")
    if x.dtype not in dtypes:
        names = ", ".join(str(d).replace("torch.", "") for d in dtypes)
        raise TypeError(f"{name} must have dtype {names}; got {str(x.dtype).replace('torch.', '')}")
    return x


def check_same(name: str, x: torch.Tensor, ref_name: str, ref: torch.Tensor, *,
               shape: Sequence[int] | None = None) -> None:
    """Check that x matches ``ref`` in device, dtype and (given) shape."""
    if x.device != ref.device:
        raise ValueError(f"{name} is on {x.device} but {ref_name} is on {ref.device}; "
                         "move them to the same device")
    if x.dtype != ref.dtype:
        raise TypeError(f"{name} has dtype {x.dtype} but {ref_name} has {ref.dtype}; "
                        "they must match")
    if shape is not None and tuple(x.shape) != tuple(shape):
        raise ValueError(f"expected {name} of shape {list(shape)} (to match {ref_name}), "
                         f"got {list(x.shape)}")
