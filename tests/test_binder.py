"""binder/ builds what pyproject.toml declares, on a CPU: no drift, and it really runs a notebook.

mybinder.org (repo2docker) reads binder/runtime.txt (the Python), binder/requirements.txt (the
dependencies, installed before the repository is copied in, so that layer is cached) and runs
binder/postBuild (installs rnnviz itself with --no-deps). The README's badge opens JupyterLab on
notebooks/00_welcome.ipynb through ``urlpath``.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
# The extras a course reader needs besides the package's own dependencies.
COURSE_EXTRAS = ("lab",)
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _declared() -> dict[str, Requirement]:
    """pyproject's dependencies plus the course extras, by canonical name."""
    project = _pyproject()["project"]
    lines = list(project["dependencies"])
    for extra in COURSE_EXTRAS:
        lines += project["optional-dependencies"][extra]
    reqs = [Requirement(s) for s in lines]
    return {canonicalize_name(r.name): r for r in reqs}


def _binder_lines() -> tuple[list[str], list[str]]:
    """binder/requirements.txt split into (pip options, requirement lines)."""
    options, reqs = [], []
    for raw in (BINDER / "requirements.txt").read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        (options if line.startswith("-") else reqs).append(line)
    return options, reqs


def _binder() -> dict[str, Requirement]:
    _, lines = _binder_lines()
    reqs = [Requirement(s) for s in lines]
    names = [canonicalize_name(r.name) for r in reqs]
    assert len(names) == len(set(names)), f"binder/requirements.txt names a package twice: {names}"
    return dict(zip(names, reqs))


def test_binder_names_the_same_dependencies_as_pyproject():
    declared, binder = _declared(), _binder()
    assert set(binder) == set(declared), (
        f"binder/requirements.txt and pyproject.toml (dependencies + extras {COURSE_EXTRAS}) differ: "
        f"only in binder: {sorted(set(binder) - set(declared))}, "
        f"only in pyproject: {sorted(set(declared) - set(binder))}")
    for name, want in declared.items():
        got = binder[name]
        assert got.marker == want.marker, f"{name}: marker {got.marker} in binder, {want.marker} in pyproject"
        assert sorted(got.extras) == sorted(want.extras), f"{name}: extras differ"
        if name == "torch":
            continue  # pinned to the CPU build: checked below
        assert got.specifier == want.specifier, (
            f"{name}: binder says {got.specifier or 'any'}, pyproject says {want.specifier or 'any'}")


def test_binder_torch_is_the_cpu_build_and_satisfies_pyproject():
    options, _ = _binder_lines()
    assert f"--extra-index-url {CPU_INDEX}" in options or f"--index-url {CPU_INDEX}" in options, (
        f"binder/requirements.txt must point pip at PyTorch's CPU index ({CPU_INDEX}); options: {options}")
    torch = _binder()["torch"]
    (spec,) = list(torch.specifier)
    assert spec.operator == "==", f"pin torch to one CPU build (==X.Y.Z+cpu), got {torch.specifier}"
    version = Version(spec.version)
    assert version.local == "cpu", f"torch must be the +cpu build (no CUDA wheels), got {version}"
    assert version.public in _declared()["torch"].specifier, (
        f"binder's torch {version} is outside pyproject's {_declared()['torch'].specifier}")


def test_binder_python_satisfies_requires_python():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    m = re.fullmatch(r"python-(\d+\.\d+)", runtime)
    assert m, f"binder/runtime.txt should read like 'python-3.11', got {runtime!r}"
    assert Version(m.group(1)) in SpecifierSet(_pyproject()["project"]["requires-python"])


def test_postbuild_installs_the_package_without_touching_dependencies():
    post = BINDER / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    text = post.read_text()
    assert re.search(r"pip install .*--no-deps.* \.$", text, re.M), (
        "postBuild should install the repository itself with --no-deps (requirements.txt has "
        "the dependencies; a plain install could replace the CPU torch)")


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_binder_environment_runs_the_welcome_notebook(tmp_path):
    """What mybinder.org does, in a fresh venv: requirements.txt, postBuild, then a notebook.

    It uses this machine's pip configuration (its caches and local wheel folders), so where
    PyTorch's CPU index cannot be reached the same torch==X+cpu wheel comes from a local
    find-links folder or pip's cache. About 2-3 minutes on 2 cores (mostly unpacking torch/triton).
    """
    notebook = ROOT / "notebooks" / "00_welcome.ipynb"
    if not notebook.exists():
        pytest.skip("notebooks/00_welcome.ipynb does not exist yet")
    venv = tmp_path / "venv"
    try:
        _build_and_run(tmp_path, venv, notebook)
    finally:  # 2+ GB (torch, triton): do not leave it in pytest's kept temp dirs
        shutil.rmtree(venv, ignore_errors=True)


def _build_and_run(tmp_path: Path, venv: Path, notebook: Path) -> None:
    bindir = venv / "bin"
    t0 = time.time()
    _run([sys.executable, "-m", "venv", str(venv)])
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
               VIRTUAL_ENV=str(venv), PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    # --retries 0: an unreachable index (an offline CI box) is skipped at once, not retried.
    _run([str(bindir / "python"), "-m", "pip", "install", "-q", "--retries", "0",
          "-r", str(BINDER / "requirements.txt")], env=env)
    # postBuild runs from the repository root, as repo2docker runs it
    _run(["bash", str(BINDER / "postBuild")], cwd=ROOT, env=env)
    installed = _run([str(bindir / "python"), "-c",
                      "import torch, rnnviz, rnnviz.kernels; print(torch.__version__); print(rnnviz.__file__)"],
                     cwd=tmp_path, env=env).stdout.split()
    assert installed[0].endswith("+cpu"), f"binder installed torch {installed[0]}, not the CPU build"
    assert installed[1].startswith(str(venv)), f"rnnviz imported from {installed[1]}, not the binder venv"
    out = tmp_path / "executed"
    _run([str(bindir / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
          "--ExecutePreprocessor.timeout=600", "--output-dir", str(out), str(notebook)],
         cwd=tmp_path, env=dict(env, JUPYTER_PATH="", JUPYTER_CONFIG_DIR=str(tmp_path / "cfg")))
    import nbformat

    nb = nbformat.read(out / notebook.name, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert not errors, f"the notebook failed in the binder environment: {errors[0]}"
    print(f"binder environment built and notebook run in {time.time() - t0:.0f} s")
