"""Configs measured on GPUs by scripts/scan_sweep.py (rewritten by it; see launch.choose_config).

H200 wide bf16 forward: (16 rows, 4 warps, 1024 channels, 3 stages), 96% of copy in both
sweeps (benchmarks/scan-sweep-stages-h200*.json); the first sweep's (16, 2, 512, 3) read 97%
then 90%.

TABLE[gpu][bucket] = {"path", "rows", "num_warps", "block_d", "stages", "vec"[, "programs"]
[, "bwd": {...}]}, bucket = launch.bucket(...); "bwd" overrides the tile for the backward
scan; "programs" > 0 takes the sequence path's segment kernel, sized to about that many
programs. H200 fp32 forward, few channels and long T: the segment kernel of 1-warp
programs (benchmarks/seqpar-timeline-h200.json: 0.122 ms against the one-chunk kernel's
0.158 at B=1, D=16, T=2^20; 0.051 against 0.052 at B=1, D=64, T=65536), set by hand from
that run; its backward keeps the one-chunk kernel (the segment kernel's backward is
tested, not yet timed). The H100's wide
entries predate the pipelined walk (they ran one chunk in flight): removed, so the H100 takes
launch.WIDE, measured on the H200, the same chip.
"""
TABLE: dict = {'H100': {'2|bd<=256|T>32768': {'block_d': 16, 'num_warps': 8, 'path': 'sequence', 'rows': 8},
          '4|bd<=256|T>32768': {'block_d': 16, 'num_warps': 8, 'path': 'sequence', 'rows': 8}},
 'H200': {'2|bd<=256|T>32768': {'block_d': 16,
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
          '4|bd<=256|T>32768': {'block_d': 16,
                                'bwd': {'block_d': 16,
                                        'num_warps': 8,
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
