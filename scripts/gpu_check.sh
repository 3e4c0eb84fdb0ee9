#!/usr/bin/env bash
# Run on the GPU machine (the device tool): the GPU tests, then benchmark suites.
# Installs nothing from the network: it uses that image's python3 (torch, triton, pytest,
# hypothesis are there) and puts rnnviz on it in editable mode without dependencies.
# Wheels that image lacks (plotly, ...) can be carried in .whl/ (see README, "GPU runs").
#   SUITES="scan sru"  benchmark suites to run (default: all; "none" for tests only)
#   TESTS="tests/ops"  what pytest runs (default: tests), PYTEST_ARGS extra pytest args
# Results and logs go to $OUT (default .out/), and all of them again in $OUT/results.tgz.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-.out}; mkdir -p "$OUT"
PY=${PY:-python3}
export PYTHONUNBUFFERED=1
if ls .whl/*.whl >/dev/null 2>&1; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
$PY -m pip install -q --no-deps --no-build-isolation -e . >"$OUT/install.log" 2>&1 || { cat "$OUT/install.log"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
$PY -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)" | tee -a "$OUT/gpu.txt"
status=0
if [ "${TESTS:-tests}" != none ]; then
  $PY -m pytest -m gpu -q -p no:cacheprovider ${PYTEST_ARGS:-} ${TESTS:-tests} 2>&1 | tee "$OUT/gpu-tests.log"
  status=${PIPESTATUS[0]}
fi
for s in ${SUITES:-all}; do
  [ "$s" = none ] && break
  $PY -m rnnviz.bench "$s" --out "$OUT" 2>&1 | tee -a "$OUT/bench.log" || status=1
done
# everything under $OUT in one archive as well: a remote runner may bring back only a few
# files (the device tool returned 8 of a run's 13 and dropped its JSON results)
tgz=$(mktemp) && tar czf "$tgz" -C "$OUT" --exclude=./results.tgz . && mv "$tgz" "$OUT/results.tgz"
exit $status
