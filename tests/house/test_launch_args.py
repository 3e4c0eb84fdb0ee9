"""scripts/launch_args.py, the check that a refactor of the launchers hands the kernels the
same arguments: it must run on this checkout, and its record must be the same run to run
(else a comparison between two checkouts would flag differences that are not there)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.interpreter
def test_launch_args_records_this_checkout_the_same_twice():
    env = dict(os.environ, TRITON_INTERPRET="1")
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "launch_args.py"), str(ROOT),
                          str(ROOT)], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    first, second = out.stdout.strip().splitlines()
    n = int(first.split(": ")[1].split()[0])
    assert n > 250 and second.endswith(f"{n} launches, equal to {ROOT}'s"), out.stdout
