"""Configs measured on GPUs by scripts/scan_sweep.py (rewritten by it; see launch.choose_config).

H200 wide bf16 forward: (16 rows, 4 warps, 1024 channels, 3 stages), 96% of copy in both
sweeps (benchmarks/scan-sweep-stages-h200*.json); the first sweep's (16, 2, 512, 3) read 97%
then 90%.

TABLE[gpu][bucket] = {"path", "rows", "num_warps", "block_d", "stages", "vec"[, "programs"]
[, "carry"][, "bwd": {...}]}, bucket = launch.bucket(...), or launch.tuned_key(...) for a
class of fewer than 64 channels ("|few"; launch.tuned_entry falls back to the coarse class
where a GPU has none); "bwd" overrides the tile (and, set by hand, the path) for the
backward scan; "programs" > 0 takes the sequence path's segments, about that many programs,
their carries by "lookback" or "scan". H200 fp32, few channels: the sweep of small shapes timed as CUDA graph replays
(benchmarks/scan-sweep-small-graph-h200.json) kept the segment kernel of 1-warp programs
for long T (24% of copy at B=1, D=64, T=65536; 40% at D=16, T=2^20; its backward the
one-chunk kernel of 4 warps), the one-chunk kernel of 8 warps up to T=32768, and for
B * D <= 4096, T <= 2048 a channel walk of 8 channels per 8-warp program (13.2 us against
the formula's 17.9 at B=4, T=1024, D=256). The entry for B * D <= 256, T <= 2048 is set by
hand from the first, cut-off sweep (benchmarks/scan-sweep-small-t1024-graph-h200.json:
one-chunk programs of 2 warps and 64 steps, 11.2 us against the formula's 15.1 at B=1,
T=1024, D=64). bf16, T <= 2048 (benchmarks/scan-sweep-short-graph-h200.json, 2026-12-04): channel walks
whose one chunk is the whole sequence (4 rows x 16 warps x 4 channels, its backward 8 warps,
at B * D <= 256: 9.2 us against 13.2 for the fp32 entry's tile at B=1, T=1024, D=64; 8 rows
x 8 warps x 8 channels up to 4096: 12.4 us against 16-18 at B=4, D=256). The same sweep
found no such gain in fp32 (11.2 against 11.5 us, its backward slower): that entry stays.
Few channels, long T, B * D <= 4096 (2026-12-04; graph-timed sweeps
benchmarks/scan-sweep-medium2-h200.json and scan-sweep-reduce-h200.json, the A/B of the two
carries scan-carry-h200.json, a check at B=16, T=10000, D=128 scan-sweep-b16-h200.json,
op-level bench runs scan-h200-medium-carry.json and scan-h200-reduce-trial.json). The forward takes segments of 128-byte rows (32 fp32
channels, 1-warp programs) with look-back carries: 45% of copy at B=4, T=16384, D=256
against 33% for the channel walk it replaces (the bench: 105 us against 144), 52% at
T=131072 (728 us against 1245). bf16 takes the same segments by reduce-then-scan (carry
"scan", ``reduce_scan.py``): 124 us against 153, 663 against 916. Reduce-then-scan also has
the backward at T > 32768 (fp32 and bf16). It is faster on the GPU in most places the sweep
tried (backward at D=16, T=2^20: 158 us against 205), but its three launches cost the host
about twice the look-back's, and through the op and autograd the bench found it slower
wherever the GPU's share is small (B=1, T=65536, D=64; the backward at T=16384): there the
earlier entries stay (B * D <= 256; the backward at T <= 32768).
"time|<bucket>": the scan on time-contiguous storage ([B, D, T] memory, ``launch_time.py``):
{"block_t", "block_r", "num_warps", "stages", "programs"[, "bwd": {...}]}. H200, from
scripts/scan_time_sweep.py (benchmarks/scan-time-sweep-h200.json, 2026-12-04), chosen by the
kernels' time as graph replays (its back-to-back times were too noisy on that host to rank
by), one launch preferred where reduce-then-scan was within a few percent: one part per row
everywhere but T > 32768 with few rows. There, with 64 to 256 rows, the forward keeps one
part per row (B=1, D=64, T=65536: 27 us, against 32-36 for every cut into parts) and the
backward cuts rows into parts for about 1056 (bf16 2112) programs (48 us against 67); with
fewer than 64 rows (key suffix "|few": D=16, T=2^20) both cut. Measured at B * D of 16, 64
and 1024 and at B=16, D=4096, T=16384 (that entry serves every T of the widest class);
B * D in 4097 .. 32767 takes the formula.
The buckets of B * D <= 256, T > 32768 again from a sweep with both joins of parts
(benchmarks/scan-time-sweep-h200-lookback.json, 2026-12-05: B=1, D=64, T=65536 and 131072;
D=16, T=2^20): the look-back join (``lookback``) was correct on the GPU and never the fastest,
forward or backward (fp32 forward at D=16, T=2^20: 110 us against reduce-then-scan's 97;
at D=64, T=65536: 34 against one part's 27.6). The fp32 backward's parts went to 4224
programs of 2 warps (47.6 us against 49-51). The bf16 forward stays one part per row (21.1
us against 20.5 in three launches, which took 61 us back to back against 29).
The H100's wide
entries predate the pipelined walk (they ran one chunk in flight): removed, so the H100 takes
launch.WIDE, measured on the H200, the same chip. Its last two entries (bd<=256, T>32768:
the one-chunk look-back kernel of 2026-11-23, before the segment kernel, reduce-then-scan
and the time kernel existed) went the same way on 2026-12-05: the H100 takes the H200's
table (launch.SAME_CHIP), whose every entry was measured on the kernels as they are.
H100, its own entries over the H200's (2026-12-05, benchmarks/scan-sweep-h100-bf16-wide.json,
back to back): the wide bf16 forward's tile (8 rows, 2 warps, 512 channels, 4 stages) moved 98%
of copy at B=16, T=16384, D=4096 (2191 us), 97% at T=4096 (552 us) and 93% at T=1024 (144
us), where the H200's tile (16, 4, 1024, 3, launch.WIDE's) moved 89%, 89% and 86% (2405, 601,
156 us). In the bench (benchmarks/scan-check-h100-bf16-wide.json): 98% at T=16384 and at
T=131072 (2.196 and 17.50 ms, against 2.283 and 18.32 in the full run before). The backward
keeps the H200's tile (3686 us at T=16384 against the best candidate's 3675). The H200's
entries for T <= 2048 and T > 32768 of that class are launch.WIDE's tile, written out so that
the H200 keeps what it measured rather than take the H100's (on the H200, at T=16384: 95.6%
against 96.4%, benchmarks/scan-sweep-stages-h200-bf16.json).
H100, fp32, B * D <= 256, T > 32768 (2026-12-06, benchmarks/scan-carry64-h100*.json, the L2
flushed clean): the H200's entry with its forward carries by reduce-then-scan (carry "scan";
the backward keeps the H200's one-chunk look-back). At B=1, D=64, T=65536 the forward took
42.1 us as graph replays (49.0 with look-back carries), and 44.2 us back to back on a host
where sum(range(10000)) took 112 us: the three launches cost that host 2 us. Beside it,
accelerated-scan's warp kernel took 41.8 us.
Its backward split by channels (2026-12-06, benchmarks/scan-bwd64-h100-*.json and
scan-bwd16-h100-*.json, 4 rows, 2 warps, 32 channels, 3 stages, 2112 programs): by
reduce-then-scan at B * D >= 64 (forward+backward at D=64, T=65536 100.5 -> 92.6 us as graph
replays, 101.0 -> 95.8 back to back; T=131072 182.7 -> 168.9), while fewer channels
("|few", launch.tuned_key) keep the one-chunk look-back (D=16, T=2^20: 308.3 us against
reduce-then-scan's 324.8). Through the op, with the split (graph replays,
benchmarks/scan-split-h100-graph.json): 92.3 us at T=65536 (accelerated-scan's warp kernel,
in its rounds: 90.5), 166.8 at T=131072.
Its three launches each way overlapping ("pdl": launch.ScanConfig.pdl, set by hand from
benchmarks/scan-entry-ab-h100.json, 2026-12-06 18:40, graph replays, one process, five
alternating rounds): at B=1, D=64, T=65536 forward 40.7 -> 38.9 us, forward+backward
92.4 -> 90.8 (accelerated-scan's warp kernel in the same rounds: 42.7 and 91.1); T=131072
73.0 -> 72.1 and 169.3 -> 167.9. The backward by look-back segments (8 rows, 1 warp, 32
channels, 3 stages), the best of the second sweep, lost through the op: 96.3 us at T=65536.
The "|few" entry's forward overlaps too (benchmarks/scan-entry-ab-d16-h100.json, 19:14): at
B=1, D=16, T=2^20 127.9 -> 126.4 us as graph replays, 133.8 -> 131.1 back to back (its
backward, one launch, has nothing to overlap). Then the D=64 backward's tile, 4 rows x 2
warps -> 8 rows x 1 warp (32 channels, 3 stages, reduce-then-scan, pdl; the second sweep's
runner-up, 63.1 us against 65.5 in ``scan_bwd`` alone; benchmarks/scan-entry-ab-rts8-h100.json,
19:35, graph replays): forward+backward 90.5 -> 87.7 us at T=65536 (accelerated-scan's warp
kernel in the same rounds 90.8), 165.3 -> 162.3 at T=131072. A sweep that rewrites these
entries drops "pdl": scripts/scan_sweep.py does not time it.
H100, fp32, B * D <= 4096, 2048 < T <= 32768 (2026-12-06, benchmarks/scan-entry-ab-medium-h100*.json,
through the op at B=4, D=256, gradients checked against float64 first): the H200's forward
(look-back segments) with the backward by reduce-then-scan with pdl (4 rows x 2 warps x 32
channels x 3 stages, about 2112 programs: the H200's own backward at T > 32768) instead of the
H200's channel walk. In the A/B both passes went to reduce-then-scan ("mediumscan"): at
T=16384 forward 128.5 -> 126.4 us and forward+backward 349.6 -> 308.9 as graph replays, 140.0
-> 135.4 and 382.5 -> 365.5 back to back: the backward's 41 us are most of it, and the
forward's 2 us were not taken, the H200 having found that forward 8% slower at B=16, T=10000,
D=128 (benchmarks/scan-sweep-b16-h200.json). T > 32768 keeps the H200's entry, whose backward
already is this one (the forward by reduce-then-scan there: 989 -> 974 us at T=131072).
accelerated-scan's scalar kernel, on [B, D, T] copies in the same rounds: 69.5 and 217.2 us at
T=16384 (graph), 563 and 1750 at T=131072 (rnnviz on [B, D, T] memory takes the time kernel,
``launch_time.py``). Segments whose lanes each walk a sub-segment of their own ("split",
``reduce_scan.py``) were no faster there (307.2 us) and slower at D=64 (forward 41.2 against
38.8 us): not taken.
H100, fp32, B * D <= 4096, T > 2048, since 2026-12-07 (benchmarks/scan-entry-ab-medlb*-h100.json,
through the op, graph replays, gradients checked against float64 first): the one-chunk look-back both
ways (16 rows x 4 warps x 32 channels a program, one launch a pass) instead of look-back segments
forward and reduce-then-scan backward. It reads its inputs once, where the segments and
reduce-then-scan read them twice (the forward moved 5 N elements for the 3 N counted). At B=4, D=256,
T=16384 forward 125.2 -> 91.9 us (54 -> 73% of copy), forward+backward 300.9 -> 218.6 (60 -> 82%),
accelerated-scan's scalar kernel on [B, D, T] copies in the same rounds 69.4 and 217.4; T=131072 942
-> 668 and 2275 -> 1649. The same at the class's other shapes, forward and forward+backward against
the entry before: (16, 10000, 128) 149.0 -> 106.4 and 365.9 -> 262.8; (4, 4096, 1024) 120.1 -> 83.7
and 296.3 -> 204.3; (2, 8192, 512) 65.3 -> 51.0 and 151.2 -> 114.5; (8, 65536, 128) 487.5 -> 337.1 and
1183.7 -> 834.7 (accelerated-scan 879.0); (3, 40001, 300) 347.5 -> 224.5 and 2039 -> 630. Its
neighbours, forward: 32 rows slower (100.6 / 731 us), 8 warps or 16 channels within 6%. The forward
was taken first (the 'view' call), the backward after (the 'medlb' call). The entry for T > 32768 is
new (the H200's before). In bf16 the same kernel both ways was slower at three shapes of four
(benchmarks/scan-entry-ab-medlb-bf16-h100.json: at B=4, T=16384, D=256 80.8 / 193.5 us against the
H200's entries' 64.9 / 185.4), so bf16 keeps those.
H100, bf16, B * D in 64..256, T > 32768 (2026-12-07, benchmarks/scan-entry-ab-chlane-bf16-h100*.json,
through the op at B=1, D=64, graph replays, gradients checked against float64 first):
reduce-then-scan with pdl both ways, 16 rows x 1 warp x 64 channels, two channels a lane
(vec=2: a row of the tile is one 128-byte load across the lanes), about 2112 programs, instead of
the H200's one-chunk look-back: T=65536 forward 39.7 -> 26.8 us, forward+backward 84.1 -> 54.5
(accelerated-scan's warp kernel in the same rounds 45.6 and 97.9); T=131072 67.9 -> 38.8 and
147.0 -> 91.7. That candidate changed two things at once, the carry and the lanes. In fp32 one
channel a lane made the D=64 forward 2.2x slower (38.4 -> 85.4 us, scan-entry-ab-chlane-h100.json),
but there the device's Triton 3.6 gave the tile's rows the lanes (256 shuffles a loop,
scripts/sass_loop.py), where this bf16 tile keeps them in a thread. Reduce-then-scan with 16-byte
loads in bf16 is not yet timed. Fewer than 64 channels ("|few", D=16) keep the H200's entry, written out here so that
the new coarse entry does not take them unmeasured.
H100, bf16, B * D <= 4096, T > 32768 (2026-12-07, benchmarks/scan-entry-ab-packed3-adoptbf16-h100.json,
through the op, graph replays, gradients checked against float64 first): the one-chunk look-back
both ways, 32 rows x 4 warps x 64 channels, two channels a lane (a row of 64 bf16 channels is one
128-byte load) ("mh32"), instead of the H200's reduce-then-scan both ways: one read of the inputs,
one launch a pass. Forward / forward+backward against the H200's entry in the same rounds:
(3, 40001, 300) 182.4 / 563.5 -> 202.8 / 534.8 us (the forward 11% slower); (4, 131072, 256)
573.0 / 1453.0 -> 535.6 / 1222.4; (2, 65536, 512) 274.4 / 700.4 -> 275.0 / 622.3
(accelerated-scan's scalar kernel on [B, D, T] copies: 216.3 / 517.1, 340.1 / 1019.6, 168.8 /
510.2). The earlier runs agree (scan-entry-ab-medbf16-h100.json, scan-entry-ab-packed-bf16-h100.json).
Its states published as tagged words (``seqpar.py`` PACKED) were faster in the first run (180.3 /
433.4 and 503.6 / 1206.9) but without the threads agreeing on one copy of the words, and a GPU
test then took a stale carry; with the copy they were slower than the flags (228.8 / 523.2,
614.9 / 1390.2, 312.6 / 701.6): not taken. At T <= 32768 mh32 was slower forward (77.9 against
64.8 us at B=4, T=16384, D=256): the H200's entry stays there.
Since 2026-12-07 10:56 (benchmarks/scan-entry-ab-ahead-bf16-h100.json) mh32 also asks the L2,
once its chunk is in registers and before it looks back, for the chunk of the program 264
tickets on (the programs that fit at once, two an SM), kept over other lines (evict_last)
("ahead", "keep": ``seqpar.prefetch_chunk``). Against mh32 without, in the same rounds: forward
202.9 -> 188.5, 535.0 -> 520.5, 274.4 -> 267.3 us; forward+backward 534.5 -> 539.9 (1% slower),
1222.9 -> 1188.3, 620.0 -> 601.6. 528 tickets on was slower; in fp32 (16 rows x 32 channels,
132, 264 or 528 on) it was slower at every shape but one (benchmarks/scan-entry-ab-ahead-h100.json).
Since 2026-12-07 13:22 (benchmarks/scan-entry-ab-trips*-h100.json, graph replays, gradients
checked against float64 first) every one-chunk look-back entry of the H100 at B * D <= 4096 waits on
the L2 twice a look-back round, not four times ("fewer_trips": ``seqpar.lookback_carry``'s
FEWER_TRIPS reads the flags' copy back through the L1 and asks for the inclusive state with the
aggregates). Forward / forward+backward in us, before -> after, accelerated-scan's scalar kernel on
[B, D, T] copies in the same rounds: fp32 (4, 16384, 256) 90.9 / 217.8 -> 90.8 / 216.8 (68.6 /
216.6); (16, 10000, 128) 105.4 / 261.5 -> 104.5 / 259.3; (3, 40001, 300) 224.1 / 628.1 -> 219.2 /
573.8 (242.1 / 592.0); (4, 131072, 256) 666.4 / 1642.2 -> 657.8 / 1627.6 (562.4 / 1758.8). bf16 at
T > 32768 (with the prefetch, both ways): (3, 40001, 300) 187.2 / 538.2 -> 182.0 / 468.6 (216.2 /
516.4); (4, 131072, 256) 521.4 / 1194.2 -> 500.0 / 1157.0 (346.0 / 1033.2); (2, 65536, 512) 268.7 /
607.2 -> 258.3 / 588.2 (171.3 / 515.2). The forward's prefetch alone (mh32's backward without it,
"pfh264kf") gave 533.3, 1219.2 and 619.8 us forward+backward: the backward keeps it.
H100, bf16, B * D <= 4096, 2048 < T <= 32768, since then (benchmarks/scan-entry-ab-trips-bwd-bf16-h100.json):
the H200's forward (reduce-then-scan), the backward by the one-chunk look-back of T > 32768 (mh32 with
the prefetch and fewer_trips) instead of the H200's channel walk. Forward+backward: (4, 16384, 256)
186.3 -> 154.6 us; (2, 8192, 512) 98.4 -> 81.0; (16, 10000, 128) 186.9 -> 188.3 (0.8% slower); without
fewer_trips 157.6, 82.8 and 192.2.
H100, fewer than 64 rows (the "|few" class, D=16, T=2^20), since 2026-12-07 15:48
(benchmarks/scan-entry-ab-tripsfew-h100.json, -tripsfew-bf16-): the one-chunk look-backs in two
trips a round too, fp32's backward and bf16's both ways. Forward / forward+backward in us, graph
replays, before -> after: fp32 116.9 / 275.9 -> 116.6 / 270.6 (the forward, reduce-then-scan,
unchanged; accelerated-scan's scalar kernel 761.2 / 2172.0); bf16 96.5 / 208.2 -> 92.4 / 200.3
(689.4 / 2047.6).
H100, fp32, B * D in 64..256, T > 32768, since 2026-12-07 19:33 (benchmarks/scan-entry-ab-ft-h100.json,
through the op at B=1, D=64, gradients checked against float64 first): the one-chunk look-back both
ways in two trips a round, the entry of B * D <= 4096 ("ft": 16 rows x 4 warps x 32 channels, one
read of the inputs, one launch a pass), instead of reduce-then-scan with pdl. As graph replays,
forward / forward+backward: T=65536 33.0 / 77.7 -> 32.9 / 69.5 us; T=131072 65.7 / 153.6 -> 54.2 /
121.6 (accelerated-scan's scalar kernel 54.4 / 149.1 and 106.6 / 297.1). Back to back (a slow host,
sum(range(10000)) in 292.6 us): 69.7 / 473.7 -> 54.8 / 306.9 and 92.8 / 485.9 -> 63.4 /
271.5. The "|few" class (D=16) keeps its entry.
An entry's "eager" part (``launch.pass_entry``) is what calls no CUDA graph captures take: the
table ranks by graph replays, where fewer launches matter less than where the host paces each
call. H100, bf16, B * D in 64..256, T > 32768, since 2026-12-07 18:43 (benchmarks/scan-entry-ab-eager-bf16-h100.json,
through the op at B=1, T=65536, D=64, gradients checked against float64 first, a slow host:
sum(range(10000)) took 262 us): eagerly, the one-read look-back both ways in two trips a round
(mh32's tile, one launch a pass: "d64lbft") instead of reduce-then-scan's three. Back to back,
forward 104.2 -> 57.5 us and forward+backward 491.6 -> 309.6, faster in each of five alternating
rounds (accelerated-scan's scalar kernel: 60.2 and 266.8); as graph replays it is slower (24.3 ->
34.3 and 49.8 -> 67.9), so graphs keep the entry. The one-chunk look-back forward alone
("f1lbft") gave 64.8 and 438.3 back to back, 29.8 and 58.1 as graphs. A sweep that rewrites an
entry drops its eager part, as it drops "pdl".
Since 2026-12-07 21:25 (benchmarks/scan-entry-ab-medeager-bf16-h100.json, the same kind of run, a
slow host: sum(range(10000)) in 236 us) the H100's bf16 entry for B * D <= 4096, 2048 < T <= 32768
has one too: eagerly its forward is the one-read look-back of its backward (mh32's tile with the
prefetch, in two trips a round) instead of reduce-then-scan's three launches. Back to back,
forward / forward+backward at (4, 16384, 256): 100.9 / 411.9 -> 79.3 / 380.0 us; (16, 10000,
128): 99.2 / 374.7 -> 95.3 / 288.8; (2, 8192, 512): 99.0 / 377.1 -> 57.3 / 298.8. As graph
replays it is slower (65.0 / 153.8 -> 74.5 / 161.9; 81.5 / 188.4 -> 87.3 / 192.4; 33.6 / 81.7 ->
44.2 / 89.3), so graphs keep the entry.
H100, fp32, the "|few" class (D=16, T=2^20), since 2026-12-07 21:25
(benchmarks/scan-entry-ab-few32-h100.json, through the op, gradients checked against float64
first): the forward by the one-chunk look-back in two trips a round, 16 rows x 4 warps x 16
channels, instead of reduce-then-scan with pdl. Forward / forward+backward, graph replays: 116.9
/ 272.5 -> 102.1 / 253.6 us (8 rows: 127.5 / 279.4; 32 rows: 105.9 / 259.2; accelerated-scan's
scalar kernel 768.1 / 2195.1); back to back 130.0 / 331.7 -> 112.6 / 290.5.
Since 2026-12-07 22:05 (benchmarks/scan-entry-ab-fewrows-h100.json, -fewrows-bf16-, graph
replays, gradients checked against float64 first) the "|few" class looks back in 16-row chunks
both ways, fp32's backward (8 before) and bf16's both ways (8 before). fp32 forward+backward,
against the entry before that call (8-row backward) and reduce-then-scan's forward: (1, 2^20,
16) 252.3 -> 232.6 (270.9); (1, 65536, 16) 34.1 -> 32.3 (35.9); (1, 262144, 32) 135.2 -> 126.2
(145.0); (2, 131072, 8) 50.5 -> 46.3 (53.3); the forward look-back beat reduce-then-scan at all
four (101.7, 17.4, 56.5, 21.9 against 116.6, 19.4, 62.6, 24.9 us). Back to back the backward's
change was within the host's noise (311.1 -> 316.0, 222.4 -> 225.0, 222.0 -> 237.3, 236.3 ->
233.7). bf16 at (1, 2^20, 16): 92.3 / 200.4 -> 78.9 / 184.8 (32 rows: 295.0 / 1199.2).
"""
TABLE: dict = {'H100': {'2|bd<=256|T>32768': {'block_d': 64,
                                'carry': 'scan',
                                'eager': {'bwd': {'stages': 3},
                                          'carry': 'lookback',
                                          'fewer_trips': True,
                                          'num_warps': 4,
                                          'programs': 0,
                                          'rows': 32,
                                          'stages': 1,
                                          'vec': 2},
                                'num_warps': 1,
                                'path': 'sequence',
                                'pdl': True,
                                'programs': 2112,
                                'rows': 16,
                                'stages': 1,
                                'vec': 2},
          '2|bd<=256|T>32768|few': {'block_d': 16,
                                    'fewer_trips': True,
                                    'num_warps': 4,
                                    'path': 'sequence',
                                    'rows': 16,
                                    'stages': 1,
                                    'vec': 0},
          '2|bd<=4096|T<=32768': {'block_d': 32,
                                  'bwd': {'ahead': 264,
                                          'block_d': 64,
                                          'carry': 'lookback',
                                          'fewer_trips': True,
                                          'keep': True,
                                          'num_warps': 4,
                                          'path': 'sequence',
                                          'programs': 0,
                                          'rows': 32,
                                          'stages': 1,
                                          'vec': 2},
                                  'carry': 'scan',
                                  'eager': {'ahead': 264,
                                            'block_d': 64,
                                            'carry': 'lookback',
                                            'fewer_trips': True,
                                            'keep': True,
                                            'num_warps': 4,
                                            'programs': 0,
                                            'rows': 32,
                                            'vec': 2},
                                  'num_warps': 1,
                                  'path': 'sequence',
                                  'pdl': False,
                                  'programs': 2112,
                                  'rows': 4,
                                  'stages': 1,
                                  'vec': 0},
          '2|bd<=4096|T>32768': {'ahead': 264,
                                 'block_d': 64,
                                 'bwd': {'ahead': 264,
                                         'block_d': 64,
                                         'carry': 'lookback',
                                         'fewer_trips': True,
                                         'keep': True,
                                         'num_warps': 4,
                                         'path': 'sequence',
                                         'programs': 0,
                                         'rows': 32,
                                         'stages': 1,
                                         'vec': 2},
                                 'carry': 'lookback',
                                 'fewer_trips': True,
                                 'keep': True,
                                 'num_warps': 4,
                                 'path': 'sequence',
                                 'programs': 0,
                                 'rows': 32,
                                 'stages': 1,
                                 'vec': 2},
          '2|bd>=32768|T<=2048': {'block_d': 512,
                                  'bwd': {'block_d': 512,
                                          'num_warps': 4,
                                          'rows': 8,
                                          'stages': 3,
                                          'vec': 4},
                                  'num_warps': 2,
                                  'path': 'channel',
                                  'programs': 0,
                                  'rows': 8,
                                  'stages': 4,
                                  'vec': 0},
          '2|bd>=32768|T<=32768': {'block_d': 512,
                                   'bwd': {'block_d': 512,
                                           'num_warps': 4,
                                           'rows': 8,
                                           'stages': 3,
                                           'vec': 4},
                                   'num_warps': 2,
                                   'path': 'channel',
                                   'programs': 0,
                                   'rows': 8,
                                   'stages': 4,
                                   'vec': 0},
          '2|bd>=32768|T>32768': {'block_d': 512,
                                  'bwd': {'block_d': 512,
                                          'num_warps': 4,
                                          'rows': 8,
                                          'stages': 3,
                                          'vec': 4},
                                  'num_warps': 2,
                                  'path': 'channel',
                                  'programs': 0,
                                  'rows': 8,
                                  'stages': 4,
                                  'vec': 0},
          '4|bd<=256|T>32768': {'block_d': 32,
                                'bwd': {'block_d': 32,
                                        'carry': 'lookback',
                                        'fewer_trips': True,
                                        'num_warps': 4,
                                        'path': 'sequence',
                                        'programs': 0,
                                        'rows': 16,
                                        'stages': 3,
                                        'vec': 0},
                                'carry': 'lookback',
                                'fewer_trips': True,
                                'num_warps': 4,
                                'path': 'sequence',
                                'programs': 0,
                                'rows': 16,
                                'stages': 1,
                                'vec': 0},
          '4|bd<=256|T>32768|few': {'block_d': 16,
                                    'bwd': {'block_d': 16,
                                            'fewer_trips': True,
                                            'num_warps': 4,
                                            'programs': 0,
                                            'rows': 16,
                                            'stages': 1,
                                            'vec': 0},
                                    'carry': 'lookback',
                                    'fewer_trips': True,
                                    'num_warps': 4,
                                    'path': 'sequence',
                                    'pdl': False,
                                    'programs': 0,
                                    'rows': 16,
                                    'stages': 1,
                                    'vec': 0},
          '4|bd<=4096|T<=32768': {'block_d': 32,
                                  'bwd': {'block_d': 32,
                                          'carry': 'lookback',
                                          'fewer_trips': True,
                                          'num_warps': 4,
                                          'path': 'sequence',
                                          'programs': 0,
                                          'rows': 16,
                                          'stages': 3,
                                          'vec': 0},
                                  'carry': 'lookback',
                                  'fewer_trips': True,
                                  'num_warps': 4,
                                  'path': 'sequence',
                                  'programs': 0,
                                  'rows': 16,
                                  'stages': 1,
                                  'vec': 0},
          '4|bd<=4096|T>32768': {'block_d': 32,
                                 'bwd': {'block_d': 32,
                                         'carry': 'lookback',
                                         'fewer_trips': True,
                                         'num_warps': 4,
                                         'path': 'sequence',
                                         'programs': 0,
                                         'rows': 16,
                                         'stages': 3,
                                         'vec': 0},
                                 'carry': 'lookback',
                                 'fewer_trips': True,
                                 'num_warps': 4,
                                 'path': 'sequence',
                                 'programs': 0,
                                 'rows': 16,
                                 'stages': 1,
                                 'vec': 0}},
 'H200': {'2|bd<=256|T<=2048': {'block_d': 4,
                                'bwd': {'block_d': 4,
                                        'num_warps': 8,
                                        'programs': 0,
                                        'rows': 4,
                                        'stages': 1,
                                        'vec': 0},
                                'num_warps': 16,
                                'path': 'channel',
                                'programs': 0,
                                'rows': 4,
                                'stages': 1,
                                'vec': 0},
          '2|bd<=256|T>32768': {'block_d': 16,
                                'num_warps': 4,
                                'path': 'sequence',
                                'rows': 8,
                                'stages': 1,
                                'vec': 0},
          '2|bd<=4096|T<=2048': {'block_d': 8,
                                 'num_warps': 8,
                                 'path': 'channel',
                                 'programs': 0,
                                 'rows': 8,
                                 'stages': 1,
                                 'vec': 0},
          '2|bd<=4096|T<=32768': {'block_d': 32,
                                  'bwd': {'block_d': 16,
                                          'carry': 'lookback',
                                          'num_warps': 8,
                                          'path': 'channel',
                                          'programs': 0,
                                          'rows': 8,
                                          'stages': 3,
                                          'vec': 0},
                                  'carry': 'scan',
                                  'num_warps': 1,
                                  'path': 'sequence',
                                  'programs': 2112,
                                  'rows': 4,
                                  'stages': 1,
                                  'vec': 0},
          '2|bd<=4096|T>32768': {'block_d': 32,
                                 'bwd': {'block_d': 32,
                                         'carry': 'scan',
                                         'num_warps': 2,
                                         'path': 'sequence',
                                         'programs': 2112,
                                         'rows': 4,
                                         'stages': 3,
                                         'vec': 0},
                                 'carry': 'scan',
                                 'num_warps': 1,
                                 'path': 'sequence',
                                 'programs': 2112,
                                 'rows': 4,
                                 'stages': 1,
                                 'vec': 0},
          '2|bd>=32768|T<=2048': {'block_d': 1024,
                                  'bwd': {'block_d': 512,
                                          'num_warps': 4,
                                          'rows': 8,
                                          'stages': 3,
                                          'vec': 4},
                                  'num_warps': 4,
                                  'path': 'channel',
                                  'programs': 0,
                                  'rows': 16,
                                  'stages': 3,
                                  'vec': 0},
          '2|bd>=32768|T<=32768': {'block_d': 1024,
                                   'bwd': {'block_d': 512,
                                           'num_warps': 4,
                                           'rows': 8,
                                           'stages': 3,
                                           'vec': 4},
                                   'num_warps': 4,
                                   'path': 'channel',
                                   'rows': 16,
                                   'stages': 3,
                                   'vec': 0},
          '2|bd>=32768|T>32768': {'block_d': 1024,
                                  'bwd': {'block_d': 512,
                                          'num_warps': 4,
                                          'rows': 8,
                                          'stages': 3,
                                          'vec': 4},
                                  'num_warps': 4,
                                  'path': 'channel',
                                  'programs': 0,
                                  'rows': 16,
                                  'stages': 3,
                                  'vec': 0},
          '4|bd<=256|T<=2048': {'block_d': 16,
                                'num_warps': 2,
                                'path': 'sequence',
                                'programs': 0,
                                'rows': 4,
                                'stages': 1,
                                'vec': 0},
          '4|bd<=256|T<=32768': {'block_d': 16,
                                 'num_warps': 8,
                                 'path': 'sequence',
                                 'programs': 0,
                                 'rows': 8,
                                 'stages': 1,
                                 'vec': 0},
          '4|bd<=256|T>32768': {'block_d': 16,
                                'bwd': {'block_d': 16,
                                        'num_warps': 4,
                                        'programs': 0,
                                        'rows': 8,
                                        'stages': 1,
                                        'vec': 0},
                                'num_warps': 1,
                                'path': 'sequence',
                                'programs': 2112,
                                'rows': 4,
                                'stages': 1,
                                'vec': 0},
          '4|bd<=4096|T<=2048': {'block_d': 8,
                                 'bwd': {'block_d': 8,
                                         'num_warps': 8,
                                         'programs': 0,
                                         'rows': 8,
                                         'stages': 1,
                                         'vec': 0},
                                 'num_warps': 8,
                                 'path': 'channel',
                                 'programs': 0,
                                 'rows': 16,
                                 'stages': 1,
                                 'vec': 0},
          '4|bd<=4096|T<=32768': {'block_d': 32,
                                  'bwd': {'block_d': 16,
                                          'carry': 'lookback',
                                          'num_warps': 4,
                                          'path': 'channel',
                                          'programs': 0,
                                          'rows': 8,
                                          'stages': 3,
                                          'vec': 0},
                                  'carry': 'lookback',
                                  'num_warps': 1,
                                  'path': 'sequence',
                                  'programs': 2112,
                                  'rows': 4,
                                  'stages': 1,
                                  'vec': 0},
          '4|bd<=4096|T>32768': {'block_d': 32,
                                 'bwd': {'block_d': 32,
                                         'carry': 'scan',
                                         'num_warps': 2,
                                         'path': 'sequence',
                                         'programs': 2112,
                                         'rows': 4,
                                         'stages': 3,
                                         'vec': 0},
                                 'carry': 'lookback',
                                 'num_warps': 1,
                                 'path': 'sequence',
                                 'programs': 2112,
                                 'rows': 4,
                                 'stages': 1,
                                 'vec': 0},
          '4|bd>=32768|T<=32768': {'block_d': 512,
                                   'bwd': {'block_d': 512,
                                           'num_warps': 4,
                                           'rows': 8,
                                           'stages': 3,
                                           'vec': 0},
                                   'num_warps': 4,
                                   'path': 'channel',
                                   'rows': 16,
                                   'stages': 2,
                                   'vec': 0},
          'time|2|bd<=256|T<=2048': {'block_r': 1,
                                     'block_t': 1024,
                                     'num_warps': 4,
                                     'programs': 0,
                                     'stages': 1},
          'time|2|bd<=256|T<=32768': {'block_r': 1,
                                      'block_t': 4096,
                                      'num_warps': 8,
                                      'programs': 0,
                                      'stages': 3},
          'time|2|bd<=256|T>32768': {'block_r': 1,
                                     'block_t': 4096,
                                     'bwd': {'block_r': 1,
                                             'block_t': 2048,
                                             'lookback': False,
                                             'num_warps': 4,
                                             'programs': 2112,
                                             'stages': 1},
                                     'lookback': False,
                                     'num_warps': 8,
                                     'programs': 0,
                                     'stages': 3},
          'time|2|bd<=256|T>32768|few': {'block_r': 1,
                                         'block_t': 2048,
                                         'bwd': {'block_r': 1,
                                                 'block_t': 2048,
                                                 'lookback': False,
                                                 'num_warps': 4,
                                                 'programs': 4224,
                                                 'stages': 1},
                                         'lookback': False,
                                         'num_warps': 4,
                                         'programs': 1056,
                                         'stages': 1},
          'time|2|bd<=4096|T<=2048': {'block_r': 1,
                                      'block_t': 1024,
                                      'num_warps': 4,
                                      'programs': 0,
                                      'stages': 1},
          'time|2|bd<=4096|T<=32768': {'block_r': 1,
                                       'block_t': 2048,
                                       'bwd': {'block_r': 1,
                                               'block_t': 1024,
                                               'num_warps': 4,
                                               'programs': 0,
                                               'stages': 1},
                                       'num_warps': 4,
                                       'programs': 0,
                                       'stages': 1},
          'time|2|bd<=4096|T>32768': {'block_r': 1,
                                      'block_t': 2048,
                                      'bwd': {'block_r': 1,
                                              'block_t': 2048,
                                              'num_warps': 4,
                                              'programs': 0,
                                              'stages': 3},
                                      'num_warps': 8,
                                      'programs': 0,
                                      'stages': 3},
          'time|2|bd>=32768|T<=2048': {'block_r': 1,
                                       'block_t': 2048,
                                       'bwd': {'block_r': 1,
                                               'block_t': 2048,
                                               'num_warps': 4,
                                               'programs': 0,
                                               'stages': 1},
                                       'num_warps': 8,
                                       'programs': 0,
                                       'stages': 3},
          'time|2|bd>=32768|T<=32768': {'block_r': 1,
                                        'block_t': 2048,
                                        'bwd': {'block_r': 1,
                                                'block_t': 2048,
                                                'num_warps': 4,
                                                'programs': 0,
                                                'stages': 1},
                                        'num_warps': 8,
                                        'programs': 0,
                                        'stages': 3},
          'time|2|bd>=32768|T>32768': {'block_r': 1,
                                       'block_t': 2048,
                                       'bwd': {'block_r': 1,
                                               'block_t': 2048,
                                               'num_warps': 4,
                                               'programs': 0,
                                               'stages': 1},
                                       'num_warps': 8,
                                       'programs': 0,
                                       'stages': 3},
          'time|4|bd<=256|T<=2048': {'block_r': 1,
                                     'block_t': 1024,
                                     'num_warps': 8,
                                     'programs': 0,
                                     'stages': 1},
          'time|4|bd<=256|T<=32768': {'block_r': 1,
                                      'block_t': 4096,
                                      'num_warps': 8,
                                      'programs': 0,
                                      'stages': 3},
          'time|4|bd<=256|T>32768': {'block_r': 1,
                                     'block_t': 4096,
                                     'bwd': {'block_r': 1,
                                             'block_t': 512,
                                             'lookback': False,
                                             'num_warps': 2,
                                             'programs': 4224,
                                             'stages': 1},
                                     'lookback': False,
                                     'num_warps': 8,
                                     'programs': 0,
                                     'stages': 3},
          'time|4|bd<=256|T>32768|few': {'block_r': 1,
                                         'block_t': 1024,
                                         'bwd': {'block_r': 1,
                                                 'block_t': 2048,
                                                 'lookback': False,
                                                 'num_warps': 4,
                                                 'programs': 4224,
                                                 'stages': 1},
                                         'lookback': False,
                                         'num_warps': 4,
                                         'programs': 1056,
                                         'stages': 1},
          'time|4|bd<=4096|T<=2048': {'block_r': 1,
                                      'block_t': 1024,
                                      'num_warps': 4,
                                      'programs': 0,
                                      'stages': 1},
          'time|4|bd<=4096|T<=32768': {'block_r': 1,
                                       'block_t': 1024,
                                       'num_warps': 4,
                                       'programs': 0,
                                       'stages': 1},
          'time|4|bd<=4096|T>32768': {'block_r': 1,
                                      'block_t': 4096,
                                      'bwd': {'block_r': 1,
                                              'block_t': 1024,
                                              'num_warps': 4,
                                              'programs': 0,
                                              'stages': 1},
                                      'num_warps': 8,
                                      'programs': 0,
                                      'stages': 1},
          'time|4|bd>=32768|T<=2048': {'block_r': 1,
                                       'block_t': 4096,
                                       'bwd': {'block_r': 1,
                                               'block_t': 1024,
                                               'num_warps': 4,
                                               'programs': 0,
                                               'stages': 1},
                                       'num_warps': 8,
                                       'programs': 0,
                                       'stages': 1},
          'time|4|bd>=32768|T<=32768': {'block_r': 1,
                                        'block_t': 4096,
                                        'bwd': {'block_r': 1,
                                                'block_t': 1024,
                                                'num_warps': 4,
                                                'programs': 0,
                                                'stages': 1},
                                        'num_warps': 8,
                                        'programs': 0,
                                        'stages': 1},
          'time|4|bd>=32768|T>32768': {'block_r': 1,
                                       'block_t': 4096,
                                       'bwd': {'block_r': 1,
                                               'block_t': 1024,
                                               'num_warps': 4,
                                               'programs': 0,
                                               'stages': 1},
                                       'num_warps': 8,
                                       'programs': 0,
                                       'stages': 1}}}
