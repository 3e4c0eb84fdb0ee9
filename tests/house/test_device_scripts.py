"""The device scripts: a call on the GPU machine is scarce (minutes a session), so a script
that fails to parse, or a stage its usage names but its case does not run, wastes one."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "scripts").glob("*.sh"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_every_device_script_parses(script):
    out = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert out.returncode == 0, f"{script.name}: {out.stderr}"


def test_gpu_next_runs_every_stage_it_names():
    """The stages in the usage line, the accepted ones and the case's branches agree, and
    each stage is documented in the header."""
    text = (ROOT / "scripts" / "gpu_next.sh").read_text()
    accepted = re.search(r'case "\$1" in ([\w|]+)\) ;;', text).group(1).split("|")
    usage = re.search(r"usage: bash scripts/gpu_next.sh ([\w|]+)", text).group(1).split("|")
    branches = re.findall(r"^  ([\w|]+)\)$", text, flags=re.M)
    ran = {s for b in branches for s in b.split("|")}
    assert accepted == usage and set(accepted) == ran, (accepted, usage, ran)
    header = [line for line in text.splitlines() if line.startswith("#")]
    for stage in accepted:
        assert any(f"gpu_next.sh {stage}" in line for line in header), f"{stage} undocumented"


def test_gpu_next_bash_rejects_an_unknown_stage(tmp_path):
    out = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_next.sh"), "nonsense"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2 and "usage" in out.stdout
