"""`make lab` brings up JupyterLab serving the course: started headless, asked over HTTP, stopped."""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from browser.processes import free_port, stop_group

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read()


def test_make_lab_serves_the_notebooks(tmp_path):
    port, token = free_port(), "rnnviz-test"
    args = (f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token} "
            "--ServerApp.port_retries=0")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
               JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"))
    log = open(tmp_path / "lab.log", "w+")
    proc = subprocess.Popen(["make", "-s", "lab", f"LAB_ARGS={args}"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                status, _ = _get(f"{base}/api/status?token={token}")
                if status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                log.seek(0)
                pytest.fail(f"jupyter lab did not come up:\n{log.read()[-3000:]}")
            time.sleep(0.5)
        status, page = _get(f"{base}/lab?token={token}")
        assert status == 200 and b"JupyterLab" in page
        status, body = _get(f"{base}/api/contents/00_welcome.ipynb?token={token}")
        model = json.loads(body)
        assert model["type"] == "notebook" and model["content"]["cells"]
        status, body = _get(f"{base}/api/contents?token={token}")
        listed = {c["name"] for c in json.loads(body)["content"]}
        assert {p.name for p in (ROOT / "notebooks").glob("*.ipynb")} <= listed
    finally:
        stop_group(proc)

