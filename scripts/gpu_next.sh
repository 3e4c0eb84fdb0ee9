# The next GPU session's calls, on main, one stage a call (device tool, carry [".whl"], timeout 600;
# kind "nvidia-h100-x1" where the run is for the issues' targets). Before each call, here:
#   git describe --always --dirty --abbrev=12 > .whl/tree-commit   (the commit the results' provenance names)
# Stages that ran before are in git history: the SRU kernel A/Bs at 7ae88b7 and ca77e40 ("turn", merged), the
# summary A/B at D=16 at 7ae88b7, the SRU forward's loads-in-flight A/B ('ahead', 'ahead2') and the host profile ('host') at 949c93d, and the bf16 SRU
# forward two units a thread ('pairs': compile side by side first, then time) at c00cad6, the SRU kernels
# reading U as K planes of H units ('planes') at eabdf13, the H100's sweep of the few-channel long-T scan class
# ('sweep16') and the SRU kernels at 64/128/256 units a program ('block', 'blockbwd') at 2704532; the hardware tanh
# ('tanh'), the in-kernel batch sum ('sumb') and the D=64 tiles with more in flight ('sweep64') at 272af00; the timer's
# two L2 flushes ('flush', scripts/flush_ab.py) at b1a6dc8; the D=64 scan kernel by kernel ('breakdown',
# scripts/scan_breakdown.py) and the reduce-then-scan forward at D=64 through the op ('carry64') at a537034; the scan
# bench at the few-channel long-T shapes with the defaults of f1096b2 ('defaults') at f1096b2; reduce-then-scan's backward
# at D=64 and D=16 ('bwd64') at f1096b2 and 9ca7039; the look-back in two trips a round ('trips', 'tripsfew',
# 'tripsadopt') at c8bc431.
#   bash scripts/gpu_next.sh first   where one call may be all a session gets: the full scan bench (to 330 s; the
#                                    H100's own wide bf16 tile in one full run), then the scan's and torch.compile's
#                                    GPU tests (to 560 s)
#   bash scripts/gpu_next.sh tests [S [TESTS]]  the GPU tests of every op that launches through CachedLaunch (355: scan, time layout, SRU op and model, minGRU, compile, the sums' gradients, the cached launch; or TESTS), in parallel
#                                    processes, each under S s (540)
#   bash scripts/gpu_next.sh bench   the full scan bench (GPU clocks and the copy ceiling recorded per shape)
#   bash scripts/gpu_next.sh sru     bench sru (a run cut off keeps its rows: RNNVIZ_BENCH_PARTIAL; LIMIT=s for its limit, as for sru0 and ncu)
#   bash scripts/gpu_next.sh sru0    bench sru at l=128, one layer, every backward on the calling thread
#                                    (RNNVIZ_AUTOGRAD_THREADS=0, all methods alike): the H200's 13.6x setting
#   bash scripts/gpu_next.sh ncu     Nsight Compute on the SRU forward as it is now (fp32 then bf16 inference, l=d=1024,
#                                    B=32; scripts/sru_ncu.py): why bf16 stays at 72% of copy. The last profile
#                                    (benchmarks/sru-ncu-h200.txt) predates the kernel's rewrite
#   bash scripts/gpu_next.sh ab      the summary-direction A/B at the shapes not yet run (AB_FROM=1: all but D=16)
#   bash scripts/gpu_next.sh small   the scan bench at the host-bound shapes, rnnviz timed in accelerated-scan's rounds too
#   bash scripts/gpu_next.sh launch  after the launch path's host trims (tensors handed to Triton's launcher as pointers,
#                                    the interpreter asked of the kernel, no compiler wrapper eagerly): the cached launch's
#                                    and every op's sum-gradient GPU tests, 'small', SRU at l=128, then the other GPU tests
#                                    of the ops that launch through CachedLaunch (LIMIT: the call's seconds)
#   bash scripts/gpu_next.sh targets the scan bench at D=16, T=2^20 and B=4, T=1024, D=256 (B=1, D=64, T=65536 ran at
#                                    eabdf13), SRU at l=128 after the host path's trims (fp32 and bf16: 200 s), then the
#                                    GPU tests of the ops that launch through CachedLaunch (348 passed at eabdf13)
#   bash scripts/gpu_next.sh step    SRU at l=128, one layer, fp32 and bf16, with torch's backward thread and without
#                                    (RNNVIZ_AUTOGRAD_THREADS=0), half the call's LIMIT each; no kernel rows (l=1024).
#                                    One run took 229 s on a slow host (the GPU tests first left the second 7 s)
#   bash scripts/gpu_next.sh paced   the first call of the next session: SRU at l=128 (one layer, back to back) with the
#                                    timer of 036692e, which takes the host's pace where it is slower than the events
#                                    (host_pace_ms); the timer's GPU tests; then the scan bench's host-bound small shapes
#                                    ('small'), to the call's LIMIT (560). The events-only run before it gave fp32 19.1x
#                                    and 14.4x LSTM with up to ~0.11 ms of host work uncounted
#   bash scripts/gpu_next.sh entryab the H100's fp32 entry at B=1, D=64 (T=65536, 131072) through the op, forward and
#                                    forward+backward, three candidates in alternating rounds (scripts/scan_entry_ab.py):
#                                    as shipped; its backward by look-back segments of 8 rows x 1 warp x 32 channels x 3
#                                    stages (the best backward of scan-sweep64-h100.json: 62.0 us against 65.5 at
#                                    T=65536); its three launches overlapping (pdl). Gradients and the kernels each
#                                    launched checked first; accelerated-scan's warp kernel beside them (LIMIT s, 300)
#   bash scripts/gpu_next.sh split   scripts/backward_thread_probe.py (where the device thread's hand-off costs a Python
#                                    backward its time), then the class split of fp32 B * D <= 256, T > 32768
#                                    (launch.tuned_key): the GPU tests of
#                                    tests/ops/test_linear_scan.py (among them the op at B=1, T=65536, D=64 on the new
#                                    backward, both directions), then the scan bench at D=64 (T=65536, 131072) and D=16,
#                                    T=2^20, graph then back to back (LIMIT s each, 130)
#   bash scripts/gpu_next.sh probe   scripts/backward_thread_probe.py alone (about 20 s): the backward hand-off's parts, and
#                                    in the SRU's body the kernel's call (allocations and launch) against the rest (GEMMs)
#   bash scripts/gpu_next.sh pdl     after the H100's D=64 entry took pdl (scan-entry-ab-h100.json): the scan's GPU tests
#                                    (pdl in a graph and eagerly, reduce-then-scan at 2^20 steps both ways), the A/B of
#                                    pdl at D=16, T=2^20 (its "|few" entry's forward), the scan bench at D=64 (T=65536,
#                                    131072) as graph replays, then 'host' (each part under its own limit)
#   bash scripts/gpu_next.sh few     after the H100's "|few" entry (D=16) took pdl for its forward: the scan's GPU tests, then
#                                    the scan bench at D=16, T=2^20 without log-space (minutes there; RNNVIZ_SCAN_METHODS)
#                                    as graph replays and back to back, and B=4, T=1024, D=256 back to back, every method
#                                    (the >= 5x log-space target's host-bound shape); between them the D=64 A/B of the
#                                    shipped entry (pdl) against its backward by 8-row reduce-then-scan tiles ('rts8')
#   bash scripts/gpu_next.sh rts8    after the H100's D=64 backward took 8-row x 1-warp tiles (scan-entry-ab-rts8-h100.json):
#                                    the scan's GPU tests, then the scan bench at D=64 (T=65536, 131072), fp32, as graph
#                                    replays with the copy ceiling, without log-space and doubling (RNNVIZ_SCAN_METHODS)
#   bash scripts/gpu_next.sh tiles   the shipped D=64 backward (8 rows x 1 warp, 'rts8') against its neighbours (2 warps, 16 rows,
#                                    2 or 4 stages), T=65536, graph replays only, the warp kernel beside (about 90 s)
#   bash scripts/gpu_next.sh medium  'tiles' (TILES=0: not), then look-back segments short enough to stay in the L2 between their two
#                                    walks at B=4, D=256 (T=16384, 131072) and D=16, T=2^20 (graph, --no-write), then
#                                    Nsight Compute on the D=64 forward's three kernels, the L2 kept (scripts/scan_ncu.py)
#   bash scripts/gpu_next.sh lanes   reduce-then-scan with lanes walking sub-segments of their own (reduce_scan.py, SPLIT):
#                                    A/Bs through the op as graph replays, gradients checked first
#                                    (scripts/scan_entry_ab.py): the D=64 entry split both ways, forward only, in 528
#                                    segments (D64 s); B=4, D=256 by reduce-then-scan, chunked and split, against the
#                                    shipped look-back (to LIMIT s); D16=s: D=16's forward too (accelerated-scan beside)
#   bash scripts/gpu_next.sh chlane  the sequence kernels with one channel a lane (ScanConfig.vec = 1: 128-byte rows, no
#                                    exchange between lanes): an A/B through the op as graph replays at D=64
#                                    (scripts/scan_entry_ab.py, VARIANTS or five "ch*" and the shipped; D64 s), the same
#                                    in bf16 (two channels a lane, "ch64h"; D64H s), their GPU
#                                    tests (reduce-then-scan at ~2000 segments, the look-back under contention), then
#                                    A/Bs at B=4 D=256 and D=16, to LIMIT s
#   bash scripts/gpu_next.sh subchunk the scan tiles loaded through their [S, R, BLOCK_D] view (RNNVIZ_SUBCHUNK_MAJOR_LOADS=1;
#                                    blocks.py): on the device's Triton 3.6 the view that keeps each sub-chunk's rows in a
#                                    thread (144 -> 16 shuffles a loop at D=64, compiled here). Its scan GPU tests, then the
#                                    shipped entries off and on (a process each): D=64 and D=16 fp32, D=64 bf16, B=4 D=256
#   bash scripts/gpu_next.sh view    after that view became Triton 3.6's default (3.7 on compile the tiles as laid out), and
#                                    after `git revert 6bdd79b` (minGRU's kernels through the view): the
#                                    scan's and minGRU's GPU tests, the fused minGRU kernel off and on
#                                    (scripts/mingru_kernel_ab.py), the D=64 forward's tiles again (FWD64_TILES), then the
#                                    scan bench as graph replays (TL, MG, AB, ABH, ABM: the parts' seconds; END: the call's)
#   bash scripts/gpu_next.sh medlb   after the H100's B * D <= 4096 entries took the one-chunk look-back forward (m1lbr16):
#                                    the A/B at the class's other shapes (shipped, the entry before "lbseg", m1lbr16's
#                                    neighbours, the backward by look-back too), then the scan's GPU tests (END: the call's)
#   bash scripts/gpu_next.sh medbf16 bf16 at B * D <= 4096: the one-read kernel with bf16 tiles of its own (two channels a
#                                    lane, MEDIUM_LOOKBACK_BF16) against the entry and fp32's tile, then the scan's GPU tests
#   bash scripts/gpu_next.sh packed  the look-back's states as tagged 64-bit words (ScanConfig.packed, two round trips a
#                                    look-back round, not four): the medium class through the op, fp32 (the shipped entry so, windows
#                                    of 8 and 16) and bf16 (mh32 so), then the scan's GPU tests (END: the call's)
#   bash scripts/gpu_next.sh packed2 the H100's bf16 entry for B * D <= 4096, T > 32768 ('shipped', mh32 since 8a16cd0)
#                                    against the H200's ('h200long') and mh32; packed backwards alone (mediumpk8b,
#                                    mh32pk8b) and a window of 4 (mediumpk4); then the scan's GPU tests (END: the call's)
#   bash scripts/gpu_next.sh window  the one-read kernel with a look-back window of 8 or 4 chunks (fewer registers, more programs
#                                    an SM): fp32 at B * D <= 4096 (rows 8 and 16) and bf16 at T > 32768 (mh16, mh32)
#   bash scripts/gpu_next.sh ahead   the one-read kernel asking the L2 for the chunk of the program 132/264/528 tickets on while
#                                    it looks back (ScanConfig.ahead; "k": evict_last), fp32 at B * D <= 4096 and bf16 (mh32),
#                                    against the shipped entries, then its GPU tests and the scan's
#   bash scripts/gpu_next.sh medclock where the medium forward's time goes (one-chunk look-back, 73% of copy at B=4, D=256):
#                                    the kernel's own clock, scripts/seqpar_timeline.py, the shipped entry first
#   bash scripts/gpu_next.sh bf16carry after the H100's bf16 entry (reduce-then-scan, two channels a lane): the GPU tests of
#                                    the H100's table on any Hopper (its shapes both ways, fp32 and bf16), then the bf16
#                                    A/B at B=1, D=64 (T=65536, 131072) of that entry against reduce-then-scan with
#                                    16-byte loads ("rtsh"): which of its two changes paid
#   bash scripts/gpu_next.sh adopted after a tuned entry changed: the scan's GPU tests, then the scan bench (fp32, rnnviz and
#                                    accelerated-scan, the copy ceiling) at the few-channel and medium shapes (or SHAPES) as
#                                    graph replays, then back to back, the call's time left halved between them
#   bash scripts/gpu_next.sh host    where the time of a call goes, host or GPU (scripts/profile_host.py, cProfile too), at
#                                    the shape where the scan still loses to accelerated-scan (B=1, T=65536, D=64: fp32
#                                    forward+backward 505 us against bf16's 243 us on one host, eabdf13) and SRU's step
#                                    at l=128, d=256 after the host path's trims
#   bash scripts/gpu_next.sh eager    the GPU tests of the scan's eager parts (launch.pass_entry), of minGRU (its look-back in
#                                    two trips by default) and the H100's table, then the D=64 A/Bs as graphs and back to
#                                    back: fp32 shipped against ft (one launch a pass), bf16 shipped (its eager part) against
#                                    d64lbft (at T = 131072: the part was adopted at 65536), at T = 65536 and 131072
#   bash scripts/gpu_next.sh fewtrips the look-backs that take fewer_trips but no entry asks it of: bf16 at B=1, D=64,
#                                    T=65536 by one-chunk look-back in two trips (f1lbft, d64lbft), and fp32 at D=64 by the
#                                    one-read look-back both ways (ft), each as graphs and back to back (one launch a pass
#                                    where the shipped entry makes three: for an eager entry), minGRU's fused kernels
#                                    at few channels (scripts/mingru_trips_ab.py, fp32 and bf16, exact to the bit first),
#                                    then the time layout's sweep at the few-channel shapes with the look-back join in
#                                    one and two trips a round (--join trips, --no-write), to END (560 s); first the GPU
#                                    test of an entry's eager part (launch.pass_entry: graph and eager calls interleaved)
#   bash scripts/gpu_next.sh recheck  fp32's "|few" forward (D=16, T=2^20) by the one-chunk look-back in two trips
#                                    (ftfew32r8/r16/r32), bf16's forward at B * D <= 4096, T <= 32768 by the one-read
#                                    kernel (pfh264kft: an eager part?), both as graphs and back to back; then every
#                                    op's GPU tests (LIMIT, 230 s: the last full run, 2026-12-07 15:45, was before the
#                                    eager parts and fp32's D=64 entry); then fp32 at D=64 back to back beside
#                                    accelerated-scan's warp kernel (its build about 90 s), to END (570)
#   bash scripts/gpu_next.sh verify   after recheck's adoptions (fp32's "|few" forward by the look-back, bf16's eager part at
#                                    B * D <= 4096, T <= 32768): the H100's table, the shipped entries' GPU tests and
#                                    those recheck's limit stopped (SRU, minGRU, torch.compile: LIMIT, 250 s), then the
#                                    full scan bench, every entry as shipped, in one run (to END, 580)
#   bash scripts/gpu_next.sh fewrows  the "|few" class in 16 or 32 rows: fp32's backward (ftfew32r16b; against the entry
#                                    before, rtsfew, at the class's other shapes too), bf16 both ways (ftfewh16/32)
# .whl must hold the wheels (accelerated_scan, mingru_pytorch, sru) and, for "ab", linear_scan_base/:
# the kernels before the summaries read last chunk first, made here by
#   mkdir -p .whl/linear_scan_base && for f in $(git ls-tree --name-only 20d1f46 kernels/linear_scan/); do
#     git show 20d1f46:$f > .whl/linear_scan_base/$(basename $f); done
case "$1" in tests|first|bench|sru|sru0|ncu|ab|small|launch|targets|step|paced|entryab|split|probe|host|pdl|few|rts8|tiles|medium|lanes|chlane|subchunk|view|medlb|medbf16|packed|packed2|window|ahead|medclock|bf16carry|adopted|fewtrips|eager|recheck|verify|fewrows) ;; *) echo "usage: bash scripts/gpu_next.sh tests|first|bench|sru|sru0|ncu|ab|small|launch|targets|step|paced|entryab|split|probe|host|pdl|few|rts8|tiles|medium|lanes|chlane|subchunk|view|medlb|medbf16|packed|packed2|window|ahead|medclock|bf16carry|adopted|fewtrips|eager|recheck|verify|fewrows"; exit 2 ;; esac
export OUT; TESTS=none SUITES=none bash scripts/gpu_check.sh >/dev/null 2>&1; export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
# the device's .git is stale: provenance takes the commit from the file written before the call
[ -f .whl/tree-commit ] && export TREE_COMMIT=$(cat .whl/tree-commit)
mkdir -p $OUT/r; cp $OUT/gpu.txt $OUT/r/; pack() { tar czf $OUT/results.tgz -C $OUT r; }
gpu_tests() {  # compiling is CPU work and the host has 16 cores: ten processes at once, each under $1 s
  # (six left two of them compiling at 300 s on 2026-12-06, 355 tests; a process compiles on one core)
  local limit=$1; shift  # then the test files or ids (default: every op that launches through CachedLaunch)
  python3 -m pytest -m gpu --collect-only -q -p no:cacheprovider ${@:-tests/ops/test_linear_scan.py \
    tests/ops/test_scan_time_layout.py tests/ops/test_sru.py tests/models/test_sru.py tests/models/test_mingru.py \
    tests/models/test_compile.py tests/ops/test_expanded_grads.py tests/ops/test_cached_launch.py} | grep :: > /tmp/ids
  split -n r/10 /tmp/ids /tmp/ids.; echo "== $(wc -l < /tmp/ids) gpu tests"
  # SIGINT at the limit: pytest stops as on Ctrl-C and still prints what passed and failed
  # (fewer ids than ten: skip the empty parts, since pytest with no ids would collect all of tests/)
  # (its loop variable is its own: a stage's $f once lost its test file to it, 2026-12-07 15:47)
  local part
  for part in /tmp/ids.*; do [ -s $part ] || continue; timeout -s INT -k 20 $limit python3 -m pytest -v -p no:cacheprovider -m gpu $(cat $part) > $OUT/r/tests-${part##*.}.log 2>&1 & done; wait
  for part in $OUT/r/tests-*.log; do  # (a stopped process prints no summary: count its lines)
    echo "${part##*/}: $(grep -c ' PASSED' $part) passed, $(grep -cE ' (FAILED|ERROR)' $part) failed | $(tail -n1 $part | cut -c1-90)"
  done; echo "t=$SECONDS"
}
kept_tests() {  # gpu_tests, its logs packed and set aside in $OUT/r/tests (what follows writes $OUT/r too)
  gpu_tests "$@"; pack; mkdir -p $OUT/r/tests && mv $OUT/r/tests-*.log $OUT/r/tests/
}
small_scan() {  # the scan bench at the host-bound shapes (or $2), under $1 s (rnnviz also timed in accelerated-scan's rounds)
  RNNVIZ_SCAN_SHAPES="${2:-4x1024x256;1x1024x64;1x16384x64}" RNNVIZ_BENCH_PARTIAL=$OUT/r timeout $1 \
    python3 -m rnnviz.bench scan --out $OUT/r > $OUT/r/bench-scan.log 2>&1; echo rc=$? t=$SECONDS
  grep -E "accelerated" $OUT/r/bench-scan.log | cut -c1-230; pack
}
scan_modes() {  # the scan bench at shapes $2 as graph replays, then back to back, into $OUT/r/$1-<mode>, each under LIMIT s
  for m in graph back-to-back; do mkdir -p $OUT/r/$1-$m
    RNNVIZ_TIMING=$m RNNVIZ_SCAN_SHAPES="$2" RNNVIZ_BENCH_PARTIAL=$OUT/r/$1-$m timeout ${LIMIT:-120} \
      python3 -m rnnviz.bench scan --out $OUT/r/$1-$m > $OUT/r/bench-$1-$m.log 2>&1; echo "$1 $m rc=$? t=$SECONDS"
    grep -E "(rnnviz-(scan|time)|accelerated-scan[a-z-]*) +fwd(\+bwd)? +fp32" $OUT/r/bench-$1-$m.log | cut -c1-160
  done
}
ab() {  # scripts/scan_entry_ab.py as graph replays (or AB_MODES). $1: a name; $2: shapes; $3: candidates; $4: seconds
  mkdir -p $OUT/r/$1; RNNVIZ_AB_SHAPES="$2" RNNVIZ_AB_MODES=${AB_MODES:-graph} RNNVIZ_AB_VARIANTS="$3" timeout $4 \
    python3 scripts/scan_entry_ab.py --out $OUT/r/$1 > $OUT/r/ab-$1.log 2>&1; echo "$1 rc=$? t=$SECONDS"
  grep "^{" $OUT/r/ab-$1.log | cut -c1-110; grep -E "SystemExit|Error|gradients off|not its own" $OUT/r/ab-$1.log | tail -3; pack
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
  small)
    small_scan ${LIMIT:-300} ;;
  launch|targets)
    if [ "$1" = launch ]; then
      gpu_tests 150 tests/ops/test_cached_launch.py tests/ops/test_expanded_grads.py; pack
      small_scan 170  # (its 130 s in the call of 2026-12-05 22:32 ran 2 of the 3 shapes)
    else
      small_scan 200 "1x1048576x16;4x1024x256"  # (B=1, T=65536, D=64 ran at eabdf13: 106 s)
    fi
    RNNVIZ_BENCH_T=128 RNNVIZ_BENCH_LAYERS=1 RNNVIZ_BENCH_PARTIAL=$OUT/r timeout 200 \
      python3 -m rnnviz.bench sru --out $OUT/r > $OUT/r/bench-sru.log 2>&1; echo rc=$? t=$SECONDS
    grep -E "^rnnviz-sru +fwd\+bwd +(fp32|bf16) +32 +128" $OUT/r/bench-sru.log | cut -c1-160; pack
    mkdir -p $OUT/r/first && mv $OUT/r/tests-*.log $OUT/r/first/ 2>/dev/null
    gpu_tests $((${LIMIT:-585} - SECONDS)); pack ;;
  step)
    for threads in 1 0; do
      RNNVIZ_AUTOGRAD_THREADS=$threads RNNVIZ_BENCH_T=128 RNNVIZ_BENCH_LAYERS=1 RNNVIZ_BENCH_PARTIAL=$OUT/r/t$threads \
        timeout $(( (${LIMIT:-540} - SECONDS) / (threads + 1) )) python3 -m rnnviz.bench sru --out $OUT/r/t$threads \
        > $OUT/r/bench-sru-t$threads.log 2>&1; echo rc=$? t=$SECONDS
      grep -E "^rnnviz-sru +fwd\+bwd +(fp32|bf16) +32 +128" $OUT/r/bench-sru-t$threads.log | cut -c1-160; pack
    done ;;
  paced)
    RNNVIZ_BENCH_T=128 RNNVIZ_BENCH_LAYERS=1 RNNVIZ_BENCH_PARTIAL=$OUT/r timeout 200 \
      python3 -m rnnviz.bench sru --out $OUT/r > $OUT/r/bench-sru.log 2>&1; echo rc=$? t=$SECONDS
    grep -E "^(rnnviz-sru|lstm-cudnn|conv1d) +fwd\+bwd +(fp32|bf16) +32 +128" $OUT/r/bench-sru.log | cut -c1-160; pack
    gpu_tests 60 tests/bench/test_timing.py; pack; mkdir -p $OUT/r/timer && mv $OUT/r/tests-*.log $OUT/r/timer/
    small_scan $((${LIMIT:-560} - SECONDS)) ;;
  entryab)
    timeout ${LIMIT:-300} python3 scripts/scan_entry_ab.py --out $OUT/r > $OUT/r/entryab.log 2>&1; echo rc=$? t=$SECONDS
    cut -c1-200 $OUT/r/entryab.log | tail -40; pack ;;
  split)
    timeout 60 python3 scripts/backward_thread_probe.py $OUT/r/backward-thread-probe.json | cut -c1-200
    kept_tests 150 tests/ops/test_linear_scan.py
    LIMIT=${LIMIT:-130} scan_modes split "1x65536x64;1x131072x64;1x1048576x16"; pack ;;
  probe)
    timeout 120 python3 scripts/backward_thread_probe.py $OUT/r/backward-thread-probe.json | cut -c1-220; pack ;;
  pdl)
    kept_tests 150 tests/ops/test_linear_scan.py
    RNNVIZ_AB_SHAPES=1x1048576x16 RNNVIZ_AB_VARIANTS=table,pdl timeout 140 python3 scripts/scan_entry_ab.py \
      --out $OUT/r > $OUT/r/entryab16.log 2>&1; echo rc=$? t=$SECONDS; grep "^{" $OUT/r/entryab16.log; pack
    mkdir -p $OUT/r/pdl-graph; RNNVIZ_TIMING=graph RNNVIZ_SCAN_SHAPES="1x65536x64;1x131072x64" \
      RNNVIZ_BENCH_PARTIAL=$OUT/r/pdl-graph timeout 110 python3 -m rnnviz.bench scan --out $OUT/r/pdl-graph \
      > $OUT/r/bench-pdl-graph.log 2>&1; echo "graph rc=$? t=$SECONDS"
    grep -E "(rnnviz-(scan|time)|accelerated-scan[a-z-]*|copy) +" $OUT/r/bench-pdl-graph.log | cut -c1-160; pack
    LIMIT=$((580 - SECONDS)) bash scripts/gpu_next.sh host ;;
  few)
    kept_tests 100 tests/ops/test_linear_scan.py
    RNNVIZ_SCAN_METHODS=rnnviz-scan,rnnviz-time,accelerated-scan LIMIT=140 scan_modes d16 "1x1048576x16"; pack
    RNNVIZ_AB_VARIANTS=pdl,rts8 timeout 90 python3 scripts/scan_entry_ab.py --out $OUT/r > $OUT/r/entryab-rts8.log 2>&1
    echo "rts8 rc=$? t=$SECONDS"; grep "^{" $OUT/r/entryab-rts8.log; pack
    mkdir -p $OUT/r/small; RNNVIZ_SCAN_SHAPES=4x1024x256 RNNVIZ_BENCH_PARTIAL=$OUT/r/small timeout $((570 - SECONDS)) \
      python3 -m rnnviz.bench scan --out $OUT/r/small > $OUT/r/bench-small.log 2>&1; echo "small rc=$? t=$SECONDS"
    grep -E "^(rnnviz-scan|log-space|accelerated-scan[a-z-]*) +fwd\+bwd" $OUT/r/bench-small.log | cut -c1-160; pack ;;
  rts8)
    kept_tests 100 tests/ops/test_linear_scan.py
    mkdir -p $OUT/r/d64; RNNVIZ_SCAN_METHODS=rnnviz-scan,rnnviz-time,accelerated-scan RNNVIZ_SCAN_DTYPES=fp32 \
      RNNVIZ_TIMING=graph RNNVIZ_SCAN_SHAPES="1x65536x64;1x131072x64" RNNVIZ_BENCH_PARTIAL=$OUT/r/d64 \
      timeout 120 python3 -m rnnviz.bench scan --out $OUT/r/d64 > $OUT/r/bench-d64.log 2>&1; echo "d64 rc=$? t=$SECONDS"
    grep -E "(rnnviz-(scan|time)|accelerated-scan[a-z-]*|copy) +" $OUT/r/bench-d64.log | cut -c1-180; pack ;;
  tiles)
    RNNVIZ_AB_SHAPES=1x65536x64 RNNVIZ_AB_MODES=graph RNNVIZ_AB_VARIANTS=rts8,rts8w2,rts16,rts8s2,rts8s4 \
      timeout ${LIMIT:-150} python3 scripts/scan_entry_ab.py --out $OUT/r > $OUT/r/entryab-tiles.log 2>&1
    echo "tiles rc=$? t=$SECONDS"; grep "^{" $OUT/r/entryab-tiles.log; tail -3 $OUT/r/entryab-tiles.log | cut -c1-300; pack ;;
  medium)
    [ "${TILES:-1}" = 1 ] && bash scripts/gpu_next.sh tiles; mkdir -p $OUT/r/tiles && mv $OUT/r/entryab* $OUT/r/scan-entry-ab* $OUT/r/tiles/ 2>/dev/null
    # look-back segments short enough that every resident program's segment stays in the L2
    # between its two walks (2112 resident 1-warp programs x 16 KB at 8448 programs); then
    # the same at D=16 (one channel tile: the look-back's rounds grow with the segments)
    E="sequence:4:1:32:1:0:2112;sequence:4:1:32:1:0:4224;sequence:4:1:32:1:0:8448"
    E="$E;sequence:4:1:32:1:0:16896;sequence:8:1:32:1:0:8448;sequence:4:2:64:1:0:8448"
    E="$E;sequence:4:1:32:3:0:8448;sequence:4:1:32:1:0:8448:scan;sequence:4:2:32:3:0:2112:scan"
    RNNVIZ_TIMING=graph timeout 230 python3 scripts/scan_sweep.py --no-write --budget 200 \
      --shapes "4x16384x256;4x131072x256" --dtypes float32 --entries "$E" --out $OUT/r \
      > $OUT/r/sweep-medium.log 2>&1; echo "medium rc=$? t=$SECONDS"; mv $OUT/r/scan-sweep.json $OUT/r/scan-sweep-medium.json
    grep -E "^  float32|^B=" $OUT/r/sweep-medium.log | cut -c1-150; pack
    E="sequence:4:4:16:1:0:528;sequence:4:1:16:1:0:2112;sequence:4:1:16:1:0:8448;sequence:4:1:16:1:0:16896"
    RNNVIZ_TIMING=graph timeout 90 python3 scripts/scan_sweep.py --no-write --budget 70 \
      --shapes "1x1048576x16" --dtypes float32 --entries "$E" --out $OUT/r \
      > $OUT/r/sweep-d16.log 2>&1; echo "d16 rc=$? t=$SECONDS"; mv $OUT/r/scan-sweep.json $OUT/r/scan-sweep-d16.json
    grep -E "^  float32|^B=" $OUT/r/sweep-d16.log | cut -c1-150; pack
    timeout 100 ncu --kernel-name regex:"scan_(reduce|apply|channel)_kernel" --launch-skip 6 --launch-count 3 \
      --cache-control none --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats \
      --section Occupancy --section LaunchStats python3 scripts/scan_ncu.py > $OUT/r/scan-ncu.txt 2>&1
    echo "ncu rc=$? t=$SECONDS"; grep -E "^  [a-z_]+kernel|Duration|DRAM Throughput|L2 Hit|Memory Throughput|Achieved Occ" $OUT/r/scan-ncu.txt | head -40; pack ;;
  lanes)
    ab d64 "1x65536x64" rts8,split,splitf,split528 ${D64:-150}
    ab medium "4x16384x256" shipped,mediumscan,mediumsplit $(( ${LIMIT:-575} - SECONDS - 10 ))
    [ -n "$D16" ] && ab d16 "1x1048576x16" shipped,split16 $D16 ;;
  chlane)
    # (the D=64 A/B first: it checks its candidates' gradients against float64 before timing)
    ab d64 "1x65536x64" ${VARIANTS:-shipped,ch32,ch32r8,ch64,ch32f} ${D64:-170}
    RNNVIZ_AB_DTYPE=bf16 ab d64bf16 "1x65536x64" shipped,ch64h ${D64H:-70}
    kept_tests 110 tests/ops/test_linear_scan.py::test_gpu_reduce_then_scan_large \
      tests/ops/test_linear_scan.py::test_gpu_lookback_under_contention
    ab medium "4x16384x256" shipped,ch32 $(( (${LIMIT:-575} - SECONDS) / 2 ))
    ab d16 "1x1048576x16" shipped,ch32 $(( ${LIMIT:-575} - SECONDS - 10 )) ;;
  subchunk)
    # the tiles loaded through their [S, R, BLOCK_D] view (blocks.SUBCHUNK_MAJOR): on this
    # Triton (3.6) the view that keeps each sub-chunk's rows in a thread. Its GPU tests, then the
    # shipped entries timed with it off and on, a process each (it is read at import)
    # (TESTS=0: the timings alone; they passed, 282, at 854edb1. Only accelerated-scan's scalar
    # kernel beside them: the warp kernel's build alone outlasted 80 s there)
    [ "${TESTS:-1}" = 1 ] && RNNVIZ_SUBCHUNK_MAJOR_LOADS=1 kept_tests 120 tests/ops/test_linear_scan.py
    export RNNVIZ_AB_BESIDE=scalar
    for e in 0 1; do RNNVIZ_SUBCHUNK_MAJOR_LOADS=$e ab sub$e-d64 "1x65536x64;1x1048576x16" shipped 90; done
    for e in 0 1; do RNNVIZ_SUBCHUNK_MAJOR_LOADS=$e RNNVIZ_AB_DTYPE=bf16 ab sub$e-d64bf16 "1x65536x64" shipped 50; done
    for e in 0 1; do RNNVIZ_SUBCHUNK_MAJOR_LOADS=$e ab sub$e-medium "4x16384x256" shipped $(( (${LIMIT:-575} - SECONDS - 10) / 2 )); done ;;
  view)
    # after the [S, R, BLOCK_D] view became Triton 3.6's default (blocks.SUBCHUNK_MAJOR, the 'subchunk'
    # A/B) and `git revert 6bdd79b` gave the fused minGRU kernels its loads and stores again: minGRU's
    # GPU tests on it, the fused minGRU kernel with the view off and on
    # (a process each), then the scan bench at the few-channel and medium shapes (or SHAPES). (The scan's
    # own GPU tests ran on the view in 'subchunk': 282 passed at 854edb1)
    # (each part's seconds: TL, MG, AB, ABH, ABM, 0 to skip it; END: the call's; COMPILE_TESTS="" leaves
    # torch.compile's tests out)
    kept_tests ${TL:-150} tests/models/test_mingru.py ${COMPILE_TESTS-tests/models/test_compile.py}
    export RNNVIZ_AB_BESIDE=scalar  # (accelerated-scan's warp kernel's build alone takes over a minute)
    if [ "${MG:-60}" -gt 0 ]; then for e in off default; do mkdir -p $OUT/r/mg-$e
      ( [ $e = off ] && export RNNVIZ_SUBCHUNK_MAJOR_LOADS=0
        timeout ${MG:-60} python3 scripts/mingru_kernel_ab.py --out $OUT/r/mg-$e --name $e > $OUT/r/mg-$e.log 2>&1
        echo "mg-$e rc=$? t=$SECONDS"; grep "^{" $OUT/r/mg-$e.log | cut -c1-150 ); done; pack; fi
    # the D=64 forward's tile again under the view (scan_entry_ab.py's FWD64_TILES)
    [ "${AB:-150}" -gt 0 ] && ab fwd64 "1x65536x64" \
      shipped,f8,f16,fw2,f4d32,f8d32,f8s2,fp1056,fp4224,flb,f1lb ${AB:-150}
    # bf16carry's second half: reduce-then-scan with 16-byte loads against the bf16 entry, under the
    # view; and the look-back forwards (one launch: bf16's 34% of copy is half the bytes in about 70%
    # of fp32's time, so the launches' and the summaries' fixed cost weighs)
    [ "${ABH:-60}" -gt 0 ] && RNNVIZ_AB_DTYPE=bf16 ab bf16 "1x65536x64" shipped,rtsh,flb,f1lb ${ABH:-60}
    # the medium shape's forward by one-chunk look-back (scan_entry_ab.py MEDIUM_LOOKBACK)
    [ "${ABM:-70}" -gt 0 ] && ab med "4x16384x256" shipped,m1lb,m1lbd64,m1lbr16 ${ABM:-70}
    if [ $(( ${END:-580} - SECONDS )) -gt 30 ]; then mkdir -p $OUT/r/view-graph
      RNNVIZ_TIMING=graph RNNVIZ_SCAN_ACCEL=scalar RNNVIZ_SCAN_METHODS=rnnviz-scan,rnnviz-time,accelerated-scan \
        RNNVIZ_SCAN_DTYPES=fp32 RNNVIZ_SCAN_SHAPES="${SHAPES:-1x65536x64;1x1048576x16;4x16384x256}" \
        RNNVIZ_BENCH_PARTIAL=$OUT/r/view-graph timeout $(( ${END:-580} - SECONDS )) python3 -m rnnviz.bench scan \
        --out $OUT/r/view-graph > $OUT/r/bench-view-graph.log 2>&1; echo "bench rc=$? t=$SECONDS"
      grep -E "(rnnviz-(scan|time)|accelerated-scan[a-z-]*) +fwd(\+bwd)? +fp32" $OUT/r/bench-view-graph.log | cut -c1-160
    fi; pack ;;
  medlb)
    # after the H100's B * D <= 4096 entries took the one-chunk look-back forward (m1lbr16, 'view'
    # 2026-12-07 05:36): the A/B at the class's other shapes, the entry as shipped against the one
    # before ("lbseg"), m1lbr16's two nearest and the backward so too; then the scan's GPU tests
    # (the H100 table's among them) in what is left of END
    export RNNVIZ_AB_BESIDE=scalar
    ab medlb "${SHAPES:-4x16384x256;16x10000x128;4x4096x1024;2x8192x512;8x65536x128}" \
      shipped,lbseg,m1lbr16d16,m1lbr16w8,m1lbr16b ${AB:-150}
    kept_tests $(( ${END:-420} - SECONDS - 30 )) tests/ops/test_linear_scan.py ;;
  medbf16)
    # bf16 at B * D <= 4096: the one-read kernel both ways with tiles of its own for 2-byte elements
    # (scan_entry_ab.py MEDIUM_LOOKBACK_BF16) against the entry (the H200's) and fp32's tile (m1lbr16b,
    # slower at three shapes of four on 2026-12-07); then the scan's GPU tests in what is left of END
    export RNNVIZ_AB_BESIDE=scalar
    RNNVIZ_AB_DTYPE=bf16 ab medbf16 "${SHAPES:-4x16384x256;16x10000x128;3x40001x300;4x131072x256}" \
      shipped,m1lbr16b,mh16,mh8,mh32,mh16v1 ${AB:-150}
    kept_tests $(( ${END:-400} - SECONDS - 30 )) tests/ops/test_linear_scan.py ;;
  packed)
    # fewer look-back round trips (tagged words, no flags): fp32's shipped medium entry and bf16's
    # mh32 (its best backward on 2026-12-07 08:27) with windows of 8 and 16, against them
    export RNNVIZ_AB_BESIDE=scalar
    ab packed "${SHAPES:-4x16384x256;16x10000x128;3x40001x300;4x131072x256;8x65536x128}" \
      shipped,mediumpk8,mediumpk16 ${AB:-120}
    RNNVIZ_AB_DTYPE=bf16 ab packedbf16 "${SHAPES:-4x16384x256;16x10000x128;3x40001x300;4x131072x256}" \
      shipped,mh32,mh32pk8,mh32pk16 ${AB:-120}
    kept_tests $(( ${END:-560} - SECONDS - 30 )) tests/ops/test_linear_scan.py ;;
  packed2)
    # the bf16 entry at T > 32768 against the H200's and mh32; the packed backward alone under each
    # class's forward; fp32 with a window of 4
    export RNNVIZ_AB_BESIDE=scalar
    RNNVIZ_AB_DTYPE=bf16 ab adoptbf16 "3x40001x300;4x131072x256;2x65536x512" shipped,h200long,mh32 ${AB:-90}
    RNNVIZ_AB_DTYPE=bf16 ab bwdbf16 "4x16384x256;16x10000x128;2x8192x512" shipped,mh32pk8,mh32pk8b ${AB:-90}
    ab bwdfp32 "4x16384x256;16x10000x128;3x40001x300;4x131072x256" shipped,mediumpk4,mediumpk8b ${AB:-90}
    kept_tests $(( ${END:-560} - SECONDS - 30 )) tests/ops/test_linear_scan.py ;;
  window)
    # the look-back's window as a register budget: 32 chunks held 254 registers a thread at 16 rows (two
    # programs an SM); 8 rows with a window of 8 compile to 128 (four)
    export RNNVIZ_AB_BESIDE=scalar
    ab window "${SHAPES:-4x16384x256;16x10000x128;3x40001x300;4x131072x256}" \
      shipped,m1lbr8lb8,m1lbr8lb4,m1lbr16lb8 ${AB:-120}
    RNNVIZ_AB_DTYPE=bf16 ab windowbf16 "3x40001x300;4x131072x256;2x65536x512" shipped,mh16lb4,mh32lb8 ${AB:-90} ;;
  ahead)
    # the memory idled while the programs that fit looked back (medclock: 3.5 us of a program's 8.4-11.5);
    # here each asks the L2 for a later program's chunk first (seqpar.prefetch_chunk)
    export RNNVIZ_AB_BESIDE=scalar
    ab ahead "${SHAPES:-4x16384x256;16x10000x128;3x40001x300;4x131072x256}" shipped,pf132,pf264,pf528,pf264k ${AB:-150}
    RNNVIZ_AB_DTYPE=bf16 ab aheadbf16 "4x16384x256;3x40001x300;4x131072x256;2x65536x512" shipped,pfh264,pfh528,pfh264k ${AB:-110}
    kept_tests $(( ${END:-560} - SECONDS - 30 )) tests/ops/test_linear_scan.py ;;
  eager)
    # after the first eager part (bf16, B * D in 64..256, T > 32768) and minGRU's look-back in two
    # trips by default: their GPU tests and the H100's table; then fp32 at D=64 by the one-read
    # look-back both ways (ft) and the bf16 entry with its eager part against d64lbft, both as
    # graphs and back to back, at T = 65536 and 131072
    kept_tests ${LIMIT:-130} tests/ops/test_linear_scan.py::test_gpu_an_eager_part_runs_eagerly_and_the_entry_in_a_graph \
      tests/ops/test_linear_scan.py::test_an_eager_part_first_runs_what_a_graph_would \
      tests/ops/test_linear_scan.py::test_gpu_the_h100_table_on_any_hopper tests/models/test_mingru.py
    AB_MODES=graph,back-to-back RNNVIZ_AB_BESIDE=scalar ab d64eager "1x65536x64;1x131072x64" shipped,ft ${AB:-100}
    AB_MODES=graph,back-to-back RNNVIZ_AB_BESIDE=scalar RNNVIZ_AB_DTYPE=bf16 ab d64eagerh "1x131072x64" \
      shipped,d64lbft ${AB:-80} ;;
  fewtrips)
    kept_tests 90 tests/ops/test_linear_scan.py::test_gpu_an_eager_part_runs_eagerly_and_the_entry_in_a_graph
    # graph replays and back to back: a one-launch entry that loses as graphs may win where the
    # host paces the call (six launches a step against two): the case for an eager entry
    AB_MODES=graph,back-to-back RNNVIZ_AB_BESIDE=scalar RNNVIZ_AB_DTYPE=bf16 ab d64trips "1x65536x64" \
      shipped,f1lbft,d64lbft ${AB:-90}
    AB_MODES=graph,back-to-back RNNVIZ_AB_BESIDE=warp,scalar ab d64eager "1x65536x64;1x131072x64" shipped,ft ${AB:-90}
    timeout ${LIMIT:-150} python3 scripts/mingru_trips_ab.py --out $OUT/r > $OUT/r/mingru-trips.log 2>&1
    echo "mingru rc=$? t=$SECONDS"; grep -E "^\{|equal|Exit|Error" $OUT/r/mingru-trips.log | cut -c1-160; pack
    timeout $(( ${END:-560} - SECONDS - 10 )) python3 scripts/scan_time_sweep.py --join trips --no-write \
      --budget $(( ${END:-560} - SECONDS - 40 )) \
      --shapes "${SHAPES:-1x65536x64;1x131072x64;1x1048576x16}" --out $OUT/r > $OUT/r/time-sweep.log 2>&1
    echo "time sweep rc=$? t=$SECONDS"; tail -30 $OUT/r/time-sweep.log | cut -c1-200; pack ;;
  recheck)
    AB_MODES=graph,back-to-back RNNVIZ_AB_BESIDE=scalar ab few32 "1x1048576x16" \
      shipped,ftfew32r8,ftfew32r16,ftfew32r32 ${AB:-100}
    AB_MODES=graph,back-to-back RNNVIZ_AB_BESIDE=scalar RNNVIZ_AB_DTYPE=bf16 ab medeagerh \
      "4x16384x256;16x10000x128;2x8192x512" shipped,pfh264kft ${AB:-100}
    kept_tests ${LIMIT:-230}
    AB_MODES=back-to-back RNNVIZ_AB_BESIDE=warp,scalar ab d64warp "1x65536x64" shipped \
      $(( ${END:-570} - SECONDS - 10 )) ;;
  verify)
    kept_tests ${LIMIT:-250} tests/ops/test_linear_scan.py::test_gpu_the_h100_table_on_any_hopper \
      tests/ops/test_linear_scan.py::test_gpu_auto_paths_large \
      tests/ops/test_linear_scan.py::test_gpu_an_eager_part_runs_eagerly_and_the_entry_in_a_graph \
      tests/ops/test_sru.py tests/models/test_sru.py tests/models/test_mingru.py tests/models/test_compile.py \
      tests/ops/test_expanded_grads.py tests/ops/test_cached_launch.py
    # the full scan bench, every entry as shipped now, in one run (a run cut at END keeps its rows)
    RNNVIZ_BENCH_PARTIAL=$OUT/r/bench timeout $(( ${END:-580} - SECONDS )) python3 -m rnnviz.bench scan \
      --out $OUT/r/bench > $OUT/r/bench-scan.log 2>&1; echo "bench rc=$? t=$SECONDS"
    grep -E "rnnviz-(scan|time) +fwd" $OUT/r/bench-scan.log | cut -c1-160 | head -40; pack ;;
  fewrows)
    AB_MODES=graph,back-to-back RNNVIZ_AB_BESIDE=scalar ab few16 "1x1048576x16;1x65536x16;1x262144x32;2x131072x8" \
      shipped,rtsfew,ftfew32r16b ${AB:-130}
    AB_MODES=graph,back-to-back RNNVIZ_AB_BESIDE=scalar RNNVIZ_AB_DTYPE=bf16 ab few16h "1x1048576x16" \
      shipped,ftfewh16,ftfewh32 ${AB:-80} ;;
  medclock)
    # where the medium forward's time goes (73% of copy at B=4, T=16384, D=256 by one-chunk look-back,
    # against accelerated-scan's 97% on [B, D, T]): the kernel's own clock (seqpar_timeline.py), the
    # shipped entry ("auto") first, then the script's tiles
    timeout ${LIMIT:-200} python3 scripts/seqpar_timeline.py --out $OUT/r --shapes "${SHAPES:-4x16384x256}" \
      --dtypes float32 > $OUT/r/medclock.log 2>&1; echo "medclock rc=$? t=$SECONDS"
    cut -c1-300 $OUT/r/medclock.log | head -20; pack ;;
  bf16carry)
    kept_tests 110 tests/ops/test_linear_scan.py::test_gpu_the_h100_table_on_any_hopper
    RNNVIZ_AB_DTYPE=bf16 ab d64bf16 "1x65536x64;1x131072x64" shipped,rtsh $(( ${LIMIT:-575} - SECONDS - 10 )) ;;
  adopted)
    kept_tests 110 tests/ops/test_linear_scan.py
    RNNVIZ_SCAN_METHODS=rnnviz-scan,rnnviz-time,accelerated-scan RNNVIZ_SCAN_DTYPES=fp32 LIMIT=$(( (580 - SECONDS) / 2 )) \
      scan_modes adopted "${SHAPES:-1x65536x64;1x131072x64;1x1048576x16;4x16384x256;4x131072x256}"; pack ;;
  host)
    only="linear_scan fwd+bwd B=1 T=65536,linear_scan on [B, D, T] fwd+bwd B=1 T=65536"
    only="$only,accelerated-scan fwd+bwd B=1 T=65536,empty Function fwd+bwd B=1 T=65536"
    only="$only,accelerated-scan warp fwd+bwd B=1 T=65536,linear_scan fwd B=1 T=65536"
    only="$only,SRU train step l=128 d=256,SRU forward only (grad on) l=128 d=256"
    timeout ${LIMIT:-400} python3 scripts/profile_host.py --cprofile --out $OUT/r/profile-host.txt --only "$only" \
      > $OUT/r/profile-host.log 2>&1; echo rc=$? t=$SECONDS
    grep -E "^===|^python|^autograd|^triton" $OUT/r/profile-host.log | cut -c1-160; pack ;;
esac
