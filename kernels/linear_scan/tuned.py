"""Configs measured on GPUs by scripts/scan_sweep.py (rewritten by it; see launch.choose_config).

TABLE[gpu][bucket] = {"path", "rows", "num_warps", "block_d"}, bucket = launch.bucket(...).
"""
TABLE: dict = {'H100': {'2|bd<=256|T>32768': {'block_d': 16, 'num_warps': 8, 'path': 'sequence', 'rows': 8},
          '2|bd>=32768|T<=32768': {'block_d': 512,
                                   'num_warps': 2,
                                   'path': 'channel',
                                   'rows': 8},
          '4|bd<=256|T>32768': {'block_d': 16, 'num_warps': 8, 'path': 'sequence', 'rows': 8},
          '4|bd>=32768|T<=32768': {'block_d': 1024,
                                   'num_warps': 8,
                                   'path': 'channel',
                                   'rows': 16}}}
