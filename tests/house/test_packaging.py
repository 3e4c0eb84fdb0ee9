"""The package installs as the design says: kernels/ becomes rnnviz.kernels, in a wheel too."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out), str(ROOT)], check=True)
    (whl,) = out.glob("rnnviz-*.whl")
    return whl


def test_wheel_contains_the_kernels_and_results(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    kernel_files = [n for n in names if n.startswith("rnnviz/kernels/")]
    assert "rnnviz/kernels/__init__.py" in names
    # every Python file of kernels/ made it into the wheel, subpackages included
    expected = {"rnnviz/kernels/" + p.relative_to(ROOT / "kernels").as_posix()
                for p in (ROOT / "kernels").rglob("*.py") if "__pycache__" not in p.parts}
    assert expected <= set(kernel_files)
    assert "rnnviz/results/__init__.py" in names
    shipped = {"rnnviz/results/" + p.name for p in (ROOT / "benchmarks").glob("*.json")}
    assert shipped <= set(names)
    assert not any(n.startswith("kernels/") for n in names), "kernels/ must only exist as rnnviz/kernels"


def test_plain_install_imports(tmp_path, wheel):
    """`pip install .` (not editable), then `import rnnviz, rnnviz.kernels` from elsewhere."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                    "-q", "--target", str(target), str(ROOT)], check=True)
    env = dict(os.environ, PYTHONPATH=str(target))
    code = ("import rnnviz, rnnviz.kernels, rnnviz.results; "
            "print(rnnviz.__file__); print(rnnviz.kernels.__file__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    assert all(p.startswith(str(target)) for p in out), out


def test_every_shipped_result_says_where_when_and_how_it_was_measured():
    """Nothing in benchmarks/ without its provenance: the GPU (or that it ran on a CPU), the
    date, the command, torch; and, where recorded, a timing mode the benchmarks know."""
    import json

    from rnnviz.bench.core import TIMING_MODES, TIMING_PER_ROW

    for path in sorted((ROOT / "benchmarks").glob("*.json")):
        prov = json.loads(path.read_text()).get("provenance", {})
        missing = [k for k in ("gpu", "date", "command", "torch") if not prov.get(k)]
        assert not missing, f"{path.name}: provenance lacks {missing}"
        timing = prov.get("timing", "isolated")  # (files before the field were timed isolated)
        assert timing in TIMING_MODES + (TIMING_PER_ROW,), f"{path.name}: timing {timing!r}"
