# The two commands of the README: `make lab` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# On a machine without an NVIDIA GPU, torch comes from PyTorch's CPU index (about 200 MB)
# rather than PyPI's CUDA build (several GB). With a GPU, PyPI's default build is right.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
# Jupyter refuses to run as root without --allow-root (containers, Binder-like boxes run as root).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
HAS_GPU := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo 1)

.PHONY: lab test test-unit test-interpreter test-notebooks test-browser chromium bench gpu-check site clean help

help:
	@echo "make lab    - set up .venv and open the course in JupyterLab"
	@echo "make test   - the whole test suite (unit, Triton interpreter, notebooks, notebooks in a browser)"
	@echo "make site   - the executed course as static HTML in _site/"
	@echo "make bench SUITE=scan|sru|mingru|deer|all - run a benchmark suite"
	@echo "make gpu-check - on a GPU machine: GPU tests + benchmarks, results under \$$OUT"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch first, from the right place; then the package with its extras.
$(VENV)/.torch: | $(PY)
ifeq ($(HAS_GPU),1)
	$(PIP) install -q torch
else
	$(PIP) install -q --retries 1 --timeout 20 torch --index-url $(TORCH_CPU_INDEX)
endif
	@touch $@

$(VENV)/.installed-%: pyproject.toml setup.py $(VENV)/.torch
	$(PIP) install -q -e ".[$*]"
	@touch $@

# LAB_ARGS: extra arguments for jupyter lab (the tests pass --no-browser, a port and a token).
lab: $(VENV)/.installed-lab
	cd notebooks && ../$(VENV)/bin/jupyter lab $(ALLOW_ROOT) $(LAB_ARGS) 00_welcome.ipynb

test: $(VENV)/.installed-test chromium
	$(PY) -m pytest -m "not interpreter and not browser" tests
	TRITON_INTERPRET=1 $(PY) -m pytest -m interpreter tests
	$(PY) -m pytest --nbmake --nbmake-timeout=600 notebooks
	$(PY) -m pytest -m browser tests

# The notebooks in JupyterLab in headless Chromium (screenshots in .out/screenshots/).
test-browser: $(VENV)/.installed-test chromium
	$(PY) -m pytest -m browser tests

# The browser tests drive the system's Chromium: Playwright's own browser download cannot work
# where only package registries are reachable. Installed with apt-get when missing and we are
# root; otherwise nothing is installed and the browser tests skip, saying why.
chromium:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	    || command -v google-chrome >/dev/null 2>&1 || [ -n "$$RNNVIZ_CHROMIUM" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Chromium for the browser tests (apt-get)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	        || echo "could not install chromium: the browser tests will skip"; \
	else echo "no Chromium and no root to apt-get it: the browser tests will skip"; fi

# The executed course as static HTML in _site/ (scripts/build_site.py says why nbconvert).
SITE_OUT ?= _site
site: $(VENV)/.installed-test
	$(PY) scripts/build_site.py --out $(SITE_OUT)

bench: $(VENV)/.installed-test
	$(PY) -m rnnviz.bench $(or $(SUITE),all) --html

# On the GPU machine (device tool): its python3 has torch and triton; nothing is downloaded.
gpu-check:
	bash scripts/gpu_check.sh

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache _site .out
