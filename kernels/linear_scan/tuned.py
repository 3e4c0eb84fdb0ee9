"""Configs measured on GPUs by scripts/scan_sweep.py (rewritten by it; see launch.choose_config).

H200 wide bf16 forward: (16 rows, 4 warps, 1024 channels, 3 stages), 96% of copy in both
sweeps (benchmarks/scan-sweep-stages-h200*.json); the first sweep's (16, 2, 512, 3) read 97%
then 90%.

TABLE[gpu][bucket] = {"path", "rows", "num_warps", "block_d", "stages", "vec"[, "programs"]
[, "bwd": {...}]}, bucket = launch.bucket(...); "bwd" overrides the tile for the backward
scan; "programs" > 0 takes the sequence path's segment kernel, sized to about that many
programs. H200 fp32, few channels: the sweep of small shapes timed as CUDA graph replays
(benchmarks/scan-sweep-small-graph-h200.json) kept the segment kernel of 1-warp programs
for long T (24% of copy at B=1, D=64, T=65536; 40% at D=16, T=2^20; its backward the
one-chunk kernel of 4 warps), the one-chunk kernel of 8 warps up to T=32768, and for
B * D <= 4096, T <= 2048 a channel walk of 8 channels per 8-warp program (13.2 us against
the formula's 17.9 at B=4, T=1024, D=256). The entry for B * D <= 256, T <= 2048 is set by
hand from the first, cut-off sweep (benchmarks/scan-sweep-small-t1024-graph-h200.json:
one-chunk programs of 2 warps and 64 steps, 11.2 us against the formula's 15.1 at B=1,
T=1024, D=64). The H100's wide
entries predate the pipelined walk (they ran one chunk in flight): removed, so the H100 takes
launch.WIDE, measured on the H200, the same chip.
"""
TABLE: dict = {'H100': {'2|bd<=256|T>32768': {'block_d': 16, 'num_warps': 8, 'path': 'sequence', 'rows': 8},
          '4|bd<=256|T>32768': {'block_d': 16, 'num_warps': 8, 'path': 'sequence', 'rows': 8}},
 'H200': {'4|bd<=256|T<=2048': {'block_d': 16,
                               'num_warps': 2,
                               'path': 'sequence',
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
          '2|bd<=4096|T<=32768': {'block_d': 16,
                                  'num_warps': 8,
                                  'path': 'channel',
                                  'rows': 8,
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
          '4|bd<=4096|T<=32768': {'block_d': 8,
                                  'bwd': {'block_d': 16,
                                          'num_warps': 4,
                                          'rows': 8,
                                          'stages': 3,
                                          'vec': 0},
                                  'num_warps': 4,
                                  'path': 'channel',
                                  'rows': 8,
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
                                   'vec': 0}}}
