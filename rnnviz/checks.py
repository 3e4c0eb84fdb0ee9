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


def check_rnn_input(input: object, input_size: int, batch_first: bool,
                    packed_ok: bool = False, weight: torch.Tensor | None = None) -> torch.Tensor:
    """The input of an nn.GRU-like layer: [T, B, input_size] ([B, T, ...] if batch_first) or
    [T, input_size] unbatched, floating point, at least one time step. ``packed_ok``: the
    model also takes a PackedSequence (the message says so). ``weight``: a parameter of the
    model, whose dtype the input must have unless autocast is on (as nn.LSTM asks)."""
    if not isinstance(input, torch.Tensor):
        kinds = "a torch.Tensor or a PackedSequence" if packed_ok else "a torch.Tensor"
        raise TypeError(f"input must be {kinds}, got {type(input).__name__}")
    want = "[B, T, input_size]" if batch_first else "[T, B, input_size]"
    if input.dim() not in (2, 3):
        raise ValueError(f"expected input of shape {want} (or [T, input_size] unbatched), "
                         f"got {list(input.shape)}")
    if input.shape[-1] != input_size:
        hint = ""
        if input.dim() == 3 and input_size in input.shape[:2]:
            hint = "; the features must be the last dimension"
        raise ValueError(f"expected input with {input_size} features (input_size) in its "
                         f"last dimension, got shape {list(input.shape)}{hint}")
    if not input.is_floating_point():
        raise TypeError(f"input must be a floating-point tensor, got {input.dtype}")
    time_dim = 0 if input.dim() == 2 else (1 if batch_first else 0)
    if input.shape[time_dim] == 0:
        raise ValueError(f"expected at least one time step, got input of shape {list(input.shape)}")
    if weight is not None:
        check_input_dtype(input, weight)
    return input


def check_input_dtype(input: torch.Tensor, weight: torch.Tensor) -> None:
    """The input has the weights' dtype, unless autocast is on (as nn.LSTM asks)."""
    if input.dtype != weight.dtype and not torch.is_autocast_enabled(input.device.type):
        raise ValueError(f"input dtype ({input.dtype}) does not match the weights' ({weight.dtype}): "
                         f"convert the input (input.to({weight.dtype})) or the model "
                         f"(model.to({input.dtype})), or run it under torch.autocast")


def check_rnn_state(name: str, state: object, shape: Sequence[int], ref: torch.Tensor) -> None:
    """An initial state shaped like nn.GRU's h0: [num_layers * num_directions, B, hidden_size]."""
    if not isinstance(state, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or None, got {type(state).__name__}")
    if list(state.shape) != list(shape):
        raise ValueError(f"expected {name} of shape [num_layers * num_directions, B, hidden_size] = "
                         f"{list(shape)}, got {list(state.shape)}")
    if state.device != ref.device:
        raise ValueError(f"{name} is on {state.device} but input is on {ref.device}; move them to "
                         "the same device")
