# The next GPU session's calls on branch wip/next-gpu (main + wip/sru-fewer-instructions +
# wip/summary-backwards), one stage a call (device tool, carry [".whl"], timeout 600):
#   bash scripts/gpu_next.sh sru     A/B/C of the SRU kernel (e5143ef / 942b2ce / branch), SRU GPU tests, bench sru
#   bash scripts/gpu_next.sh scan    A/B of the summary walk's direction, the scan's GPU tests
#   bash scripts/gpu_next.sh bench   the full scan bench (GPU clocks and the copy ceiling recorded per shape)
# .whl must hold: sru_old.py (git show e5143ef:kernels/sru/fused_recurrent.py), sru_mid.py
# (git show 942b2ce:kernels/sru/fused_recurrent.py), linear_scan_base/ (main's kernels/linear_scan/*.py:
# see scripts/scan_summary_ab_run.sh) and the wheels (accelerated_scan, mingru_pytorch, sru).
case "$1" in
  sru) bash scripts/sru_kernel_ab_run.sh ;;
  scan) bash scripts/scan_summary_ab_run.sh ;;
  rest)  # the two SRU GPU tests sru2 ran out of time for, then the summary A/B at D=16, T=2^20 ([B, D, T]) alone
    export OUT; TESTS=none SUITES=none bash scripts/gpu_check.sh >/dev/null 2>&1; export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
    mkdir -p $OUT/r; cp $OUT/gpu.txt $OUT/r/; pack() { tar czf $OUT/results.tgz -C $OUT r; }
    for t in tests/ops/test_sru.py::test_kernel_bf16_and_large tests/models/test_sru.py::test_model_bf16_autocast; do
      timeout 120 python3 -m pytest -q -p no:cacheprovider -m gpu $t > $OUT/r/tests-${t##*::}.log 2>&1 & done; wait
    tail -qn 2 $OUT/r/tests-*.log; echo "t=$SECONDS"; pack
    cp -r .whl/linear_scan_base kernels/linear_scan_base
    AB_CASES=1 timeout $((205 - SECONDS)) python3 scripts/scan_summary_ab.py $OUT/r/scan-summary-ab-d16.json > $OUT/r/ab.log 2>&1; echo rc=$? t=$SECONDS
    grep "^{" $OUT/r/ab.log | cut -c1-220; rm -rf kernels/linear_scan_base; pack ;;
  sru2)  # the SRU GPU tests in 6 processes at once (compiling is CPU work), bench sru, bf16 A/B old vs new
    export OUT; TESTS=none SUITES=none bash scripts/gpu_check.sh >/dev/null 2>&1; export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
    mkdir -p $OUT/r; cp $OUT/gpu.txt $OUT/r/; pack() { tar czf $OUT/results.tgz -C $OUT r; }
    python3 -m pytest -m gpu --collect-only -q -p no:cacheprovider tests/ops/test_sru.py tests/models/test_sru.py | grep :: > /tmp/ids
    split -n r/6 /tmp/ids /tmp/ids.; echo "== $(wc -l < /tmp/ids) gpu tests"
    for f in /tmp/ids.*; do timeout 170 python3 -m pytest -q -p no:cacheprovider -m gpu $(cat $f) > $OUT/r/tests-${f##*.}.log 2>&1 & done; wait
    tail -qn 3 $OUT/r/tests-*.log; echo "t=$SECONDS"; pack
    echo "== bench sru"; RNNVIZ_BENCH_PARTIAL=$OUT/r timeout 290 python3 -m rnnviz.bench sru --out $OUT/r > $OUT/r/bench-sru.log 2>&1; echo rc=$? t=$SECONDS
    tail -40 $OUT/r/bench-sru.log | cut -c1-160; pack
    cp .whl/sru_old.py kernels/sru/fused_recurrent_old.py; cp .whl/sru_mid.py kernels/sru/fused_recurrent_mid.py
    echo "== ab bf16"; timeout $((555 - SECONDS)) python3 scripts/sru_kernel_ab.py $OUT/r/sru-ab-bf16.json bfloat16 old,new > $OUT/r/sru-ab-bf16.log 2>&1; echo rc=$? t=$SECONDS
    cut -c1-200 $OUT/r/sru-ab-bf16.log; rm kernels/sru/fused_recurrent_old.py kernels/sru/fused_recurrent_mid.py; pack ;;
  bench)
    export OUT; TESTS=none SUITES=none bash scripts/gpu_check.sh >/dev/null 2>&1; export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
    mkdir -p $OUT/r; cp $OUT/gpu.txt $OUT/r/
    RNNVIZ_BENCH_PARTIAL=$OUT/r timeout 560 python3 -m rnnviz.bench scan --out $OUT/r > $OUT/r/bench-scan.log 2>&1; echo rc=$?
    grep -E "rnnviz-(scan|time) +fwd +bf16 +16" $OUT/r/bench-scan.log; tail -5 $OUT/r/bench-scan.log | cut -c1-200
    tar czf $OUT/results.tgz -C $OUT r ;;
  *) echo "usage: bash scripts/gpu_next.sh sru|sru2|scan|bench"; exit 2 ;;
esac
