"""Problem sizes for the notebooks: small on a CPU (a notebook runs in about a minute on two
cores), large on a GPU (where speed differences show). One switch, so every notebook agrees."""
from __future__ import annotations

from typing import TypeVar

import torch

from rnnviz.device import default_device

V = TypeVar("V")


def on_gpu() -> bool:
    """True when the notebooks run their GPU sizes (a CUDA device is present)."""
    return default_device().type == "cuda"


def pick(cpu: V, gpu: V) -> V:
    """``gpu`` on a CUDA machine, else ``cpu``: ``T = pick(cpu=512, gpu=65536)``."""
    return gpu if on_gpu() else cpu


def where() -> str:
    """A short label for this machine, used in legends: "your machine (CPU, 2 threads)"."""
    dev = default_device()
    if dev.type == "cuda":
        return f"your machine ({torch.cuda.get_device_name(0)})"
    return f"your machine (CPU, {torch.get_num_threads()} threads)"
