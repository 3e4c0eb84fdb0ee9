# The next GPU session's calls, on main, one stage a call (device tool, carry [".whl"], timeout 600;
# kind "nvidia-h100-x1" where the run is for the issues' targets). Stages that ran before are in git
# history: the SRU kernel A/Bs at 7ae88b7 and ca77e40 ("turn", merged), the summary A/B at D=16 at 7ae88b7.
#   bash scripts/gpu_next.sh first   where one call may be all a session gets: the full scan bench (to 330 s; the
#                                    H100's own wide bf16 tile in one full run), then the scan's and torch.compile's
#                                    GPU tests (to 560 s)
#   bash scripts/gpu_next.sh tests [S [TESTS]]  the scan's, the SRU model's, compile's and the sums' gradients' GPU tests (or TESTS), in parallel
#                                    processes, each under S s (540)
#   bash scripts/gpu_next.sh bench   the full scan bench (GPU clocks and the copy ceiling recorded per shape)
#   bash scripts/gpu_next.sh sru     bench sru (a run cut off keeps its rows: RNNVIZ_BENCH_PARTIAL; LIMIT=s for its limit, as for sru0 and ncu)
#   bash scripts/gpu_next.sh sru0    bench sru at l=128, one layer, every backward on the calling thread
#                                    (RNNVIZ_AUTOGRAD_THREADS=0, all methods alike): the H200's 13.6x setting
#   bash scripts/gpu_next.sh ncu     Nsight Compute on the SRU forward as it is now (fp32 then bf16 inference, l=d=1024,
#                                    B=32; scripts/sru_ncu.py): why bf16 stays at 72% of copy. The last profile
#                                    (benchmarks/sru-ncu-h200.txt) predates the kernel's rewrite
#   bash scripts/gpu_next.sh ab      the summary-direction A/B at the shapes not yet run (AB_FROM=1: all but D=16)
#   bash scripts/gpu_next.sh ahead   the SRU forward's loads in flight, 2 turns against 3 (fp32 and bf16, l=d=1024, B=32;
#                                    scripts/sru_kernel_ab.py), the kernel rows as the tree chooses (FWD_AHEAD), then the
#                                    SRU GPU tests and the 8 GPU tests the last calls left out
#   bash scripts/gpu_next.sh ahead2  the same for bf16 only, its kernels compiled in parallel processes first
#   bash scripts/gpu_next.sh pairs   the bf16 SRU forward two units a thread (FWD_PAIRS; at 3 and 2 turns ahead) against one,
#                                    compiled side by side first (a paired compile takes minutes), then its GPU test
#   bash scripts/gpu_next.sh small   the scan bench at the host-bound shapes, rnnviz timed in accelerated-scan's rounds too
#   bash scripts/gpu_next.sh host    where the host's time goes in the small scan's forward+backward (rnnviz, its bare
#                                    Function, an empty Function, accelerated-scan) and in SRU's l=128, d=256 step
# .whl must hold the wheels (accelerated_scan, mingru_pytorch, sru) and, for "ab", linear_scan_base/:
# the kernels before the summaries read last chunk first, made here by
#   mkdir -p .whl/linear_scan_base && for f in $(git ls-tree --name-only 20d1f46 kernels/linear_scan/); do
#     git show 20d1f46:$f > .whl/linear_scan_base/$(basename $f); done
case "$1" in tests|first|bench|sru|sru0|ncu|ab|ahead|ahead2|host|small|pairs) ;; *) echo "usage: bash scripts/gpu_next.sh tests|first|bench|sru|sru0|ncu|ab|ahead|ahead2|host|small|pairs"; exit 2 ;; esac
export OUT; TESTS=none SUITES=none bash scripts/gpu_check.sh >/dev/null 2>&1; export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
mkdir -p $OUT/r; cp $OUT/gpu.txt $OUT/r/; pack() { tar czf $OUT/results.tgz -C $OUT r; }
gpu_tests() {  # compiling is CPU work and the host has 16 cores: six processes at once, each under $1 s
  local limit=$1; shift  # then the test files or ids (default: the scan's and the SRU model's)
  python3 -m pytest -m gpu --collect-only -q -p no:cacheprovider ${@:-tests/ops/test_linear_scan.py \
    tests/ops/test_scan_time_layout.py tests/models/test_sru.py tests/models/test_compile.py \
    tests/ops/test_expanded_grads.py} | grep :: > /tmp/ids
  split -n r/6 /tmp/ids /tmp/ids.; echo "== $(wc -l < /tmp/ids) gpu tests"
  # SIGINT at the limit: pytest stops as on Ctrl-C and still prints what passed and failed
  # (fewer ids than six: skip the empty parts, since pytest with no ids would collect all of tests/)
  for f in /tmp/ids.*; do [ -s $f ] || continue; timeout -s INT $limit python3 -m pytest -q -p no:cacheprovider -m gpu $(cat $f) > $OUT/r/tests-${f##*.}.log 2>&1 & done; wait
  tail -qn 3 $OUT/r/tests-*.log; echo "t=$SECONDS"
}
case "$1" in
  first)
    RNNVIZ_BENCH_PARTIAL=$OUT/r timeout 330 python3 -m rnnviz.bench scan --out $OUT/r > $OUT/r/bench-scan.log 2>&1; echo rc=$?
    grep -E "rnnviz-(scan|time) +fwd +bf16 +16" $OUT/r/bench-scan.log; tail -3 $OUT/r/bench-scan.log | cut -c1-200
    gpu_tests $((560 - SECONDS)) tests/ops/test_linear_scan.py tests/ops/test_scan_time_layout.py \
      tests/models/test_compile.py; pack ;;
  tests)
    gpu_tests ${2:-540} "${@:3}"; pack ;;
  bench)
    RNNVIZ_BENCH_PARTIAL=$OUT/r timeout 560 python3 -m rnnviz.bench scan --out $OUT/r > $OUT/r/bench-scan.log 2>&1; echo rc=$?
    grep -E "rnnviz-(scan|time) +fwd +bf16 +16" $OUT/r/bench-scan.log; tail -5 $OUT/r/bench-scan.log | cut -c1-200; pack ;;
  sru)
    RNNVIZ_BENCH_PARTIAL=$OUT/r timeout ${LIMIT:-560} python3 -m rnnviz.bench sru --out $OUT/r > $OUT/r/bench-sru.log 2>&1; echo rc=$?
    tail -40 $OUT/r/bench-sru.log | cut -c1-160; pack ;;
  sru0)
    RNNVIZ_AUTOGRAD_THREADS=0 RNNVIZ_BENCH_T=128 RNNVIZ_BENCH_LAYERS=1 RNNVIZ_BENCH_PARTIAL=$OUT/r timeout ${LIMIT:-560} \
      python3 -m rnnviz.bench sru --out $OUT/r > $OUT/r/bench-sru0.log 2>&1; echo rc=$?
    tail -30 $OUT/r/bench-sru0.log | cut -c1-160; pack ;;
  ncu)
    timeout ${LIMIT:-540} ncu --kernel-name regex:sru_fwd --launch-skip 2 --launch-count 4 --section SpeedOfLight \
      --section Occupancy --section WarpStateStats --section InstructionStats --section LaunchStats \
      --section SchedulerStats --section MemoryWorkloadAnalysis python3 scripts/sru_ncu.py > $OUT/r/sru-ncu.txt 2>&1
    echo rc=$?; grep -E "Duration|Memory Throughput|Issued Ipc|Stall|No Eligible" $OUT/r/sru-ncu.txt | head -40; pack ;;
  ab)
    cp -r .whl/linear_scan_base kernels/linear_scan_base
    AB_FROM=1 timeout 540 python3 scripts/scan_summary_ab.py $OUT/r/scan-summary-ab.json > $OUT/r/ab.log 2>&1; echo rc=$?
    grep "^{" $OUT/r/ab.log | cut -c1-220; rm -rf kernels/linear_scan_base; pack ;;
  ahead)
    # (its call, 2026-12-05 18:30, timed out compiling before bf16 at 3 turns was timed: see ahead2)
    for n in 2:two 3:three; do sed "s/^FWD_AHEAD = .*/FWD_AHEAD = {4: ${n%:*}, 2: ${n%:*}}/" kernels/sru/fused_recurrent.py \
      > kernels/sru/fused_recurrent_${n#*:}.py; done
    timeout 300 python3 scripts/sru_kernel_ab.py $OUT/r/sru-ahead-ab.json float32,bfloat16 two,three > $OUT/r/ab.log 2>&1
    echo rc=$? t=$SECONDS; grep -E "graph|max_abs" $OUT/r/ab.log | cut -c1-200; rm kernels/sru/fused_recurrent_t*.py; pack
    timeout 120 python3 scripts/kernel_rows.py sru --out $OUT/r > $OUT/r/kernel-rows.log 2>&1; echo rc=$? t=$SECONDS
    tail -8 $OUT/r/kernel-rows.log | cut -c1-160; pack
    gpu_tests $((575 - SECONDS)) tests/ops/test_sru.py tests/models/test_sru.py tests/bench/test_timing.py \
      tests/ops/test_cached_launch.py tests/test_trace.py; pack ;;
  ahead2)
    # bf16 alone, its kernels compiled side by side first (WARM=1), then the kernel rows and the tests
    for n in 2:two 3:three; do sed "s/^FWD_AHEAD = .*/FWD_AHEAD = {4: ${n%:*}, 2: ${n%:*}}/" kernels/sru/fused_recurrent.py \
      > kernels/sru/fused_recurrent_${n#*:}.py; done
    for job in "bfloat16 two fwd-inference" "bfloat16 two fwd-training" "bfloat16 two bwd" "bfloat16 three fwd-inference" \
        "bfloat16 three fwd-training" "float32 two fwd-inference" "float32 two fwd-training" "float32 two bwd"; do
      set -- $job; WARM=1 timeout 240 python3 scripts/sru_kernel_ab.py /tmp/warm-$1-$2-$3.json $1 $2 $3 \
        > $OUT/r/warm-$1-$2-$3.log 2>&1 & done; wait; echo warm t=$SECONDS
    timeout 150 python3 scripts/sru_kernel_ab.py $OUT/r/sru-ahead-ab-bf16.json bfloat16 two,three fwd-inference,fwd-training \
      > $OUT/r/ab-bf16.log 2>&1; echo rc=$? t=$SECONDS; grep -E "graph|max_abs" $OUT/r/ab-bf16.log | cut -c1-200
    rm kernels/sru/fused_recurrent_t*.py; pack
    timeout 100 python3 scripts/kernel_rows.py sru --out $OUT/r > $OUT/r/kernel-rows.log 2>&1; echo rc=$? t=$SECONDS
    tail -8 $OUT/r/kernel-rows.log | cut -c1-160; pack
    gpu_tests $((570 - SECONDS)) tests/ops/test_sru.py tests/models/test_sru.py tests/bench/test_timing.py \
      tests/ops/test_cached_launch.py tests/test_trace.py; pack ;;
  pairs)
    sed "s/^FWD_PAIRS = .*/FWD_PAIRS = True/" kernels/sru/fused_recurrent.py > kernels/sru/fused_recurrent_pairs.py
    sed "s/^FWD_PAIRS = .*/FWD_PAIRS = True/; s/^FWD_AHEAD = .*/FWD_AHEAD = {4: 2, 2: 2}/" kernels/sru/fused_recurrent.py \
      > kernels/sru/fused_recurrent_pairs2.py
    for job in "new fwd-inference" "new fwd-training" "new bwd" "pairs fwd-inference" "pairs fwd-training" \
        "pairs2 fwd-inference" "pairs2 fwd-training"; do
      set -- $job; WARM=1 timeout 400 python3 scripts/sru_kernel_ab.py /tmp/warm-$1-$2.json bfloat16 $1 $2 \
        > $OUT/r/warm-$1-$2.log 2>&1 & done; wait; echo warm t=$SECONDS
    timeout 120 python3 scripts/sru_kernel_ab.py $OUT/r/sru-pairs-ab-bf16.json bfloat16 new,pairs,pairs2 \
      fwd-inference,fwd-training > $OUT/r/ab-pairs.log 2>&1; echo rc=$? t=$SECONDS
    grep -E "graph|max_abs" $OUT/r/ab-pairs.log | cut -c1-200; rm kernels/sru/fused_recurrent_pairs*.py; pack
    gpu_tests $((585 - SECONDS)) tests/ops/test_sru.py::test_kernel_bf16_forward_two_units_a_thread; pack ;;
  small)
    RNNVIZ_SCAN_SHAPES="4x1024x256;1x1024x64;1x16384x64" RNNVIZ_BENCH_PARTIAL=$OUT/r timeout ${LIMIT:-300} \
      python3 -m rnnviz.bench scan --out $OUT/r > $OUT/r/bench-scan.log 2>&1; echo rc=$? t=$SECONDS
    grep -E "accelerated" $OUT/r/bench-scan.log | cut -c1-230; pack ;;
  host)
    only="linear_scan fwd+bwd B=1 T=1024,linear_scan fwd+bwd B=4,linear_scan's Function alone fwd+bwd B=1 T=1024"
    only="$only,linear_scan's Function alone fwd+bwd B=4,empty Function fwd+bwd B=1 T=1024,empty Function fwd+bwd B=4"
    only="$only,accelerated-scan fwd+bwd B=1 T=1024,accelerated-scan fwd+bwd B=4,linear_scan on [B, D, T] fwd+bwd B=4"
    only="$only,SRU train step l=128 d=256,SRU forward only (grad on) l=128 d=256,LSTM (cuDNN) train step l=128 d=256"
    timeout ${LIMIT:-300} python3 scripts/profile_host.py --cprofile --out $OUT/r/profile-host.txt --only "$only" \
      > $OUT/r/profile-host.log 2>&1; echo rc=$? t=$SECONDS; grep -E "^===|^python|^autograd|^triton" $OUT/r/profile-host.log | cut -c1-160; pack ;;
esac
