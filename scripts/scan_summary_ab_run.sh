# The next GPU session's call for branch wip/summary-backwards (device tool, carry [".whl"]):
# the A/B of the summary walk's direction, then the scan's GPU tests on the branch.
# Before it, here: main's scan kernels as the base, copied where the run puts them in:
#   mkdir -p .whl/linear_scan_base && for f in $(git ls-tree --name-only main kernels/linear_scan/); do
#     git show main:$f > .whl/linear_scan_base/$(basename $f); done
export OUT; TESTS=none SUITES=none bash scripts/gpu_check.sh >/dev/null 2>&1; export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
mkdir -p $OUT/r; cp $OUT/gpu.txt $OUT/r/; pack() { tar czf $OUT/results.tgz -C $OUT r; }
cp -r .whl/linear_scan_base kernels/linear_scan_base
echo "== ab"; timeout 330 python3 scripts/scan_summary_ab.py $OUT/r/scan-summary-ab-h200.json > $OUT/r/ab.log 2>&1; echo rc=$?
python3 -c "
import json, sys
rows = [json.loads(l) for l in open('$OUT/r/ab.log') if l.startswith('{')]
by = {}
for r in rows: by.setdefault((r['B'], r['T'], r['D'], r['layout'], r['config'], r['dtype'], r['pass_']), {})[r['variant']] = r
for k, v in by.items():
    if len(v) == 2: print(k, 'base %.1f us %.0f%%' % (v['base']['ms'] * 1e3, 100 * v['base']['frac_copy']), 'backwards %.1f us %.0f%%' % (v['backwards']['ms'] * 1e3, 100 * v['backwards']['frac_copy']), 'err %.1e' % v['backwards']['rel_err'])
"; tail -3 $OUT/r/ab.log | cut -c1-200; pack
rm -rf kernels/linear_scan_base
echo "== gpu tests"; timeout 240 python3 -m pytest -m gpu -q -p no:cacheprovider tests/ops/test_linear_scan.py tests/ops/test_scan_time_layout.py > $OUT/r/tests.log 2>&1; echo rc=$?; tail -8 $OUT/r/tests.log; pack
