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
  bench)
    export OUT; TESTS=none SUITES=none bash scripts/gpu_check.sh >/dev/null 2>&1; export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
    mkdir -p $OUT/r; cp $OUT/gpu.txt $OUT/r/
    RNNVIZ_BENCH_PARTIAL=$OUT/r timeout 560 python3 -m rnnviz.bench scan --out $OUT/r > $OUT/r/bench-scan.log 2>&1; echo rc=$?
    grep -E "rnnviz-(scan|time) +fwd +bf16 +16" $OUT/r/bench-scan.log; tail -5 $OUT/r/bench-scan.log | cut -c1-200
    tar czf $OUT/results.tgz -C $OUT r ;;
  *) echo "usage: bash scripts/gpu_next.sh sru|scan|bench"; exit 2 ;;
esac
