"""Which Chromium the browser tests drive, and how.

Playwright's own browser download cannot work on these machines (nothing but the package
registries can be reached), so the tests drive the distribution's Chromium through
``executable_path``. ``make test`` installs it with apt-get when it is missing (see the
Makefile's ``chromium`` target); where none can be had the tests skip, saying so.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Headless, and nothing that phones home or waits on the network: the machines are offline.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]
CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    """RNNVIZ_CHROMIUM if set, else the first Chromium found on this machine."""
    if os.environ.get("RNNVIZ_CHROMIUM"):
        return os.environ["RNNVIZ_CHROMIUM"]
    for c in CANDIDATES:
        path = c if os.path.isabs(c) else shutil.which(c)
        if path and Path(path).exists() and os.access(path, os.X_OK):
            return path
    return None


def chromium_or_skip() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip("no Chromium on this machine: `make test` installs Debian's chromium with "
                    "apt-get when run as root; elsewhere install it, or point RNNVIZ_CHROMIUM at one")
    return path


def launch(playwright, executable: str):
    """A headless Chromium through Playwright; a browser that is there but fails to start fails."""
    return playwright.chromium.launch(executable_path=executable, headless=True, args=ARGS)


def sync_playwright_or_skip():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the Python package `playwright` is not installed (it is in the `test` extra: "
                    "pip install -e '.[test]')")
    return sync_playwright
