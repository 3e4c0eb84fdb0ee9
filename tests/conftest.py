"""Shared fixtures: where the Triton kernels can run in this process, and seeded RNGs.

The Triton kernels are tested in two places with the same tests:
- under Triton's interpreter on the CPU: ``make test`` runs ``pytest -m interpreter`` in a
  process of its own with TRITON_INTERPRET=1 set before triton is imported;
- on a CUDA GPU: ``make gpu-check`` on the device machine runs ``pytest -m gpu``.
"""
from __future__ import annotations

import os

import pytest
import torch

INTERPRET = os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


@pytest.fixture
def kernel_device() -> torch.device:
    """The device on which Triton kernels run here, or skip with the reason."""
    if INTERPRET:
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    pytest.skip("Triton kernels need a CUDA GPU or TRITON_INTERPRET=1 "
                "(make test runs them under the interpreter in a separate pytest process)")


@pytest.fixture
def gpu() -> torch.device:
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU: run `make gpu-check` on the device machine")
    return torch.device("cuda")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


def pytest_collection_modifyitems(config, items):
    # A test that takes the ``gpu`` fixture is a GPU test whether or not it says so: the
    # device scripts collect with ``-m gpu``, and a forgotten marker would leave it unrun
    for item in items:
        if "gpu" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("gpu"):
            item.add_marker(pytest.mark.gpu)
    # Under the interpreter only the kernel tests make sense (everything else would run
    # in the normal process anyway), so deselect the rest instead of running it twice.
    if INTERPRET:
        keep = [i for i in items if i.get_closest_marker("interpreter")]
        drop = [i for i in items if not i.get_closest_marker("interpreter")]
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
