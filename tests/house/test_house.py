"""The house keeps its promises: CI runs the README's command, its code runs as shown; the
device policy holds."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rnnviz.device import resolve_backend

ROOT = Path(__file__).resolve().parents[2]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci
    assert "make lab" in readme and "make test" in readme


def test_readme_code_runs():
    """Every ```python block of the README, as a new user would paste it, on this machine."""
    import re
    import subprocess
    import sys

    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks
    for code in blocks:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=300, cwd=ROOT)
        assert r.returncode == 0, f"README code failed:\n{code}\n{r.stderr[-2000:]}"


def test_auto_backend_on_this_machine():
    cpu = torch.device("cpu")
    assert resolve_backend("auto", cpu, torch.float32) == "torch"
    assert resolve_backend("reference", cpu) == "reference"
    with pytest.raises(ValueError, match="backend must be one of"):
        resolve_backend("cuda", cpu)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only error")
def test_triton_on_cpu_tensors_says_what_to_do(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(ValueError, match="needs CUDA tensors"):
        resolve_backend("triton", torch.device("cpu"), torch.float32)
