# The next GPU session's one call for this branch (device tool, carry .whl): A/B/C of the SRU kernel,
# the SRU GPU tests, then the SRU bench. Before it: git show e5143ef:kernels/sru/fused_recurrent.py > .whl/sru_old.py;
# git show 942b2ce:kernels/sru/fused_recurrent.py > .whl/sru_mid.py
export OUT; TESTS=none SUITES=none bash scripts/gpu_check.sh >/dev/null 2>&1; export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
mkdir -p $OUT/r; cat $OUT/gpu.txt > $OUT/r/gpu.txt; pack() { tar czf $OUT/results.tgz -C $OUT r; }
cp .whl/sru_old.py kernels/sru/fused_recurrent_old.py; cp .whl/sru_mid.py kernels/sru/fused_recurrent_mid.py
echo "== sru ab"; timeout 200 python3 scripts/sru_kernel_ab.py $OUT/r/sru-ab.json > $OUT/r/sru-ab.log 2>&1; echo rc=$?; cat $OUT/r/sru-ab.log | cut -c1-200; pack
rm kernels/sru/fused_recurrent_old.py kernels/sru/fused_recurrent_mid.py
echo "== sru gpu tests"; timeout 150 python3 -m pytest -m gpu -q -p no:cacheprovider tests/ops/test_sru.py tests/models/test_sru.py > $OUT/r/tests.log 2>&1; echo rc=$?; tail -15 $OUT/r/tests.log; pack
echo "== bench sru"; timeout 200 python3 -m rnnviz.bench sru --out $OUT/r > $OUT/r/bench-sru.log 2>&1; echo rc=$?; tail -30 $OUT/r/bench-sru.log | cut -c1-160; pack
