"""Configs measured on GPUs by scripts/scan_sweep.py (rewritten by it; see launch.choose_config).

TABLE[gpu][bucket] = {"path", "rows", "num_warps", "block_d"}, bucket = launch.bucket(...).
"""
TABLE: dict = {}
