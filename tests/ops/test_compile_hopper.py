"""Every launch the kernels' launchers make, compiled for the GPU the project measures on
(sm_90: H100, H200), here, without one: Triton's own compiler down to a cubin, with the
ptxas its wheel ships.

The interpreter runs a kernel's Python, not its lowering: a kernel that passes under it can
still fail to compile for a GPU (a type the lowering refuses, a layout it cannot convert),
and CI's Triton is newer than the device's. Here the launchers run on CPU tensors with the
H200's tuned tables (and, in one test, the H100's own tiles), every launch is recorded
instead of run (``CachedLaunch.launch``, or ``JITFunction.run`` for DEER's plain
``kernel[grid](...)`` launches), and each distinct (kernel, argument types, constexprs,
options) is compiled."""
from __future__ import annotations

import pytest
import torch

triton = pytest.importorskip("triton")

from rnnviz.bench.sass import (arg_type, compile_for_hopper, recorded_launches,  # noqa: E402
                               tuned_for)


@pytest.fixture
def launches():
    """The launches made inside the test, recorded, not run; the scan's tuned table is the
    H200's."""
    with tuned_for("H200"), recorded_launches() as made:
        yield made


def compile_all(made: list) -> int:
    """Compile each distinct launch once; returns how many were compiled."""
    seen = set()
    for kernel, args, kw in made:
        key = (kernel.fn.__name__, tuple(map(repr_type, args)), tuple(sorted(kw.items())))
        if key in seen:
            continue
        seen.add(key)
        try:
            compiled = compile_for_hopper(kernel, args, kw)
        except Exception as e:  # noqa: BLE001 - say which launch, then fail
            if "ptxas" in str(e) and "not found" in str(e).lower():
                pytest.skip(f"this Triton has no ptxas to compile for a GPU: {e}")
            raise AssertionError(f"{kernel.fn.__name__} {kw} does not compile for sm_90: "
                                 f"{type(e).__name__}: {str(e)[:2000]}") from e
        assert compiled.asm["cubin"]
    return len(seen)


def repr_type(x):
    return None if x is None else arg_type(x)


DTYPES = [torch.float32, torch.bfloat16]
# one shape per class of the H200's tuned table: wide, medium, one sequence of 64 or 16
# channels, short
SCAN_SHAPES = [(16, 1024, 4096), (4, 16384, 256), (1, 65536, 64), (1, 2 ** 20, 16),
               (1, 1024, 64), (64, 4096, 128)]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_scan_launches_compile_for_hopper(launches, dtype):
    """The scan, forward and backward, both directions, on [B, T, D] and on [B, D, T] memory
    (the time kernel), with the H200's tuned configs at each class of shape."""
    from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd

    for B, T, D in SCAN_SHAPES:
        for time_layout in (False, True):
            a = torch.empty(B, D, T, dtype=dtype).transpose(1, 2) if time_layout else \
                torch.empty(B, T, D, dtype=dtype)
            h0 = torch.empty(B, D, dtype=dtype)
            for reverse in (False, True):
                h = scan_fwd(a, a, h0, reverse=reverse).h
                scan_bwd(a, h, h0, torch.empty_like(h), reverse=reverse)
    assert compile_all(launches) >= 10


def test_h100_own_scan_tiles_compile_for_hopper():
    """The classes where the H100's tuned table has bf16 tiles of its own (not the H200's):
    the wide bf16 scan at each T class, forward and backward. Untouched CPU tensors: only their
    shapes choose the tile, so even T > 32768 costs no memory."""
    from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd
    from rnnviz.kernels.linear_scan.launch import TILE_KEYS, bucket
    from rnnviz.kernels.linear_scan.tuned import TABLE

    shapes = [(16, 1024, 4096), (16, 4096, 4096), (1, 32769, 32768)]
    wide = {k: e for k, e in TABLE["H100"].items() if k.startswith("2|bd>=")}  # (bf16)
    assert {bucket(*s, 2) for s in shapes} == set(wide)
    with tuned_for("H100"), recorded_launches() as made:
        for B, T, D in shapes:
            a = torch.empty(B, T, D, dtype=torch.bfloat16)
            h = scan_fwd(a, a).h
            scan_bwd(a, h, None, torch.empty_like(h))
    tile = lambda kw: (kw["R"], kw["num_warps"], kw["BLOCK_D"], kw["STAGES"], kw["VEC"])  # noqa: E731
    forward = {tile(kw) for _, _, kw in made if not kw["REVERSE"]}
    want = {tuple(e[k] for k in TILE_KEYS) for e in wide.values()}
    assert forward == want  # the H100's own tile, in every class it has one
    assert compile_all(made) == 2  # that forward, and the backward's tile


def test_h100_own_bf16_sequence_entries_compile_for_hopper():
    """The H100's own bf16 entries for few channels and long T: B * D in 64..256 by
    reduce-then-scan with pdl both ways, two channels a lane (VEC=2, 64-channel tiles); fewer
    than 64 channels ("|few") by the one-chunk look-back in 16-row chunks (since 2026-12-07);
    B * D <= 4096, T > 32768 by the one-chunk look-back, 32 rows x 64 channels, two channels
    a lane, prefetching a later program's chunk into the L2, in two trips to the L2 a look-back
    round; at T <= 32768 the H200's forward with that backward."""
    from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd
    from rnnviz.kernels.linear_scan.launch import bucket, tuned_key
    from rnnviz.kernels.linear_scan.tuned import TABLE

    assert {k for k in TABLE["H100"] if k.startswith("2|bd<=")} == {
        bucket(1, 65536, 64, 2), tuned_key(1, 2 ** 20, 16, 2), bucket(4, 131072, 256, 2),
        bucket(4, 16384, 256, 2)}
    three = ["scan_reduce_kernel", "scan_channel_kernel", "scan_apply_kernel"]
    one = ["scan_seqpar_kernel"] * 2
    for shape, names in (((1, 65536, 64), three * 2), ((1, 2 ** 20, 16), one),
                         ((4, 131072, 256), one), ((4, 16384, 256), three + one[:1])):
        with tuned_for("H100"), recorded_launches() as made:
            a = torch.empty(shape, dtype=torch.bfloat16)
            h = scan_fwd(a, a).h
            scan_bwd(a, h, None, torch.empty_like(h))
        assert [kernel.fn.__name__ for kernel, _, _ in made] == names, shape
        walks = [kw for kernel, _, kw in made if kernel.fn.__name__ != "scan_channel_kernel"]
        if names == three * 2:
            assert all((kw["VEC"], kw["BLOCK_D"], kw["S"]) == (2, 64, 1) for kw in walks)
            assert all(kw.get("launch_pdl") for _, _, kw in made[1:3])
        elif shape[2] == 16:
            assert all(kw.get("VEC", 0) == 0 and not kw.get("PACKED") and kw["R"] == 16
                       for kw in walks)
        else:  # (asking the L2 for the chunk 264 tickets on, kept: ``ScanConfig.ahead``)
            looks = [kw for kw in walks if "AHEAD" in kw]
            assert len(looks) == names.count("scan_seqpar_kernel")
            assert all((kw["VEC"], kw["BLOCK_D"], kw["R"], kw.get("PACKED", False), kw["AHEAD"],
                        kw["EVICT_LAST"], kw["FEWER_TRIPS"]) == (2, 64, 32, False, 264, True, True)
                       for kw in looks)
        # (each pass's walks are launches of their own; the summaries' scan is one both ways)
        assert compile_all(made) == {(1, 65536, 64): 5, (4, 16384, 256): 4}.get(shape, 2)


def test_h100_eager_parts_compile_for_hopper(monkeypatch):
    """The H100's "eager" parts, what a call that no CUDA graph captures takes
    (``launch.pass_entry``), after the first call has run the entry's own plan once (its
    kernels loaded before any capture): bf16 at B * D in 64..256, T > 32768 by the one-read
    look-back both ways (32 rows x 64 channels, two a lane, in two trips to the L2 a round);
    bf16 at B * D <= 4096, 2048 < T <= 32768, whose forward is reduce-then-scan's three
    launches, the same tile prefetching the chunk 264 tickets on (its backward's already)."""
    from rnnviz.kernels.linear_scan import launch, scan_bwd, scan_fwd
    from rnnviz.kernels.linear_scan.tuned import TABLE

    assert [k for k, e in TABLE["H100"].items() if "eager" in e] == [
        launch.bucket(1, 65536, 64, 2), launch.bucket(4, 16384, 256, 2)]
    monkeypatch.setattr(launch, "_eager", lambda index: True)  # (a CPU tensor: as on the GPU)
    three = ["scan_reduce_kernel", "scan_channel_kernel", "scan_apply_kernel"]
    one = ["scan_seqpar_kernel"]
    # the first call: each pass's graph twin, then the eager plan; the second: the eager plan
    for shape, twins, ahead in (((1, 65536, 64), (three + one) * 2, 0),
                                ((4, 16384, 256), three + one + one, 264)):
        with tuned_for("H100"), recorded_launches() as made:
            a = torch.empty(shape, dtype=torch.bfloat16)
            for _ in range(2):
                h = scan_fwd(a, a).h
                scan_bwd(a, h, None, torch.empty_like(h))
        names = [kernel.fn.__name__ for kernel, _, _ in made]
        assert names == twins + one * 2, (shape, names)
        looks = [kw for kernel, _, kw in made[-2:]]
        assert all((kw["VEC"], kw["BLOCK_D"], kw["R"], kw["FEWER_TRIPS"], kw.get("AHEAD", 0))
                   == (2, 64, 32, True, ahead) for kw in looks), shape
        assert compile_all(made[-2:]) == 2


def test_h100_own_fp32_entries_compile_for_hopper():
    """The H100's own entries for fp32. B * D in 64..256, T > 32768, and B * D <= 4096,
    T > 2048: the one-chunk look-back both ways (16 rows x 4 warps x 32 channels, in two trips
    to the L2 a round). Fewer than 64 channels ("|few"): the one-chunk look-back both ways too,
    16 rows x 16 channels."""
    from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd
    from rnnviz.kernels.linear_scan.launch import bucket, tuned_key
    from rnnviz.kernels.linear_scan.tuned import TABLE

    assert {k for k in TABLE["H100"] if k.startswith("4|")} == {
        bucket(1, 65536, 64, 4), tuned_key(1, 2 ** 20, 16, 4), bucket(4, 16384, 256, 4),
        bucket(4, 131072, 256, 4)}
    for shape in ((1, 65536, 64), (1, 2 ** 20, 16), (4, 16384, 256), (4, 131072, 256)):
        with tuned_for("H100"), recorded_launches() as made:
            a = torch.empty(shape)
            h = scan_fwd(a, a).h
            scan_bwd(a, h, None, torch.empty_like(h))
        names = [kernel.fn.__name__ for kernel, _, _ in made]
        assert names == ["scan_seqpar_kernel"] * 2, shape
        looks = [kw for _, _, kw in made]
        assert all(kw["FEWER_TRIPS"] for kw in looks), shape
        tiles = [(16, 16)] * 2 if shape[2] == 16 else [(16, 32)] * 2
        assert [(kw["R"], kw["BLOCK_D"]) for kw in looks] == tiles, shape
        assert compile_all(made) == len(names)


def test_split_walk_compiles_for_hopper():
    """Reduce-then-scan whose lanes walk sub-segments of their own (``ScanConfig.split``),
    forward and backward, with pdl: the reduce and apply kernels under SPLIT, for sm_90."""
    import dataclasses

    from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd, tile_config
    from rnnviz.kernels.linear_scan.launch import segment_for

    cfg = segment_for(1, 65536, 64, tile_config("sequence", 65536, 64, 4, 4, 1, 16, segment=1,
                                                 carry="scan"), 2112)
    cfg = dataclasses.replace(cfg, pdl=True, split=True)
    with recorded_launches() as made:
        a = torch.empty(1, 65536, 64)
        h = scan_fwd(a, a, config=cfg).h
        scan_bwd(a, h, None, torch.empty_like(h), config=cfg)
    assert [kw.get("SPLIT", False) for _, _, kw in made] == [True, False, True] * 2
    assert compile_all(made) == 5  # (the summaries' scan is the same launch both ways)


@pytest.mark.parametrize("tile,segment,dtype", [((16, 4, 32, 0), 0, torch.float32),
                                                ((32, 4, 64, 2), 0, torch.bfloat16),
                                                ((8, 1, 32, 0), 1, torch.float32)])
def test_packed_lookback_compiles_for_hopper(tile, segment, dtype):
    """The look-back by tagged words (``ScanConfig.packed``, a window of 8), one chunk a
    program (the medium class's tiles, fp32 and bf16) and segments, both ways, for sm_90."""
    import dataclasses

    from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd, tile_config
    from rnnviz.kernels.linear_scan.launch import segment_for

    (B, T, D), (rows, warps, block_d, vec) = (4, 16384, 256), tile
    cfg = tile_config("sequence", T, D, dtype.itemsize, rows, warps, block_d, vec=vec,
                      segment=segment)
    cfg = segment_for(B, T, D, cfg, 2112) if segment else cfg
    cfg = dataclasses.replace(cfg, packed=True, lookback=8)
    with recorded_launches() as made:
        a = torch.empty(B, T, D, dtype=dtype)
        h = scan_fwd(a, a, config=cfg).h
        scan_bwd(a, h, None, torch.empty_like(h), config=cfg)
    assert all(kw["PACKED"] and kw["W"] == 8 for _, _, kw in made) and len(made) == 2
    assert compile_all(made) == 2


@pytest.mark.parametrize("tile,keep,dtype", [((16, 4, 32, 0), False, torch.float32),
                                             ((16, 4, 32, 0), True, torch.float32),
                                             ((32, 4, 64, 2), False, torch.bfloat16)])
def test_prefetch_ahead_compiles_for_hopper(tile, keep, dtype):
    """The one-chunk look-back asking the L2 for a later program's chunk
    (``ScanConfig.ahead``), the medium class's tiles, both ways: the PTX has the prefetches
    (one 128-byte line a row of the tile: 32 fp32 or 64 bf16 channels), evict_last with
    ``keep``, and the launch compiles for sm_90."""
    import dataclasses

    from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd, tile_config

    (B, T, D), (rows, warps, block_d, vec) = (4, 16384, 256), tile
    cfg = tile_config("sequence", T, D, dtype.itemsize, rows, warps, block_d, vec=vec)
    cfg = dataclasses.replace(cfg, ahead=264, keep=keep)
    with recorded_launches() as made:
        a = torch.empty(B, T, D, dtype=dtype)
        h = scan_fwd(a, a, config=cfg).h
        scan_bwd(a, h, None, torch.empty_like(h), config=cfg)
    assert [kw["AHEAD"] for _, _, kw in made] == [264, 264]
    for kernel, args, kw in made:
        ptx = compile_for_hopper(kernel, args, kw).asm["ptx"]
        hint = "prefetch.global.L2::evict_last" if keep else "prefetch.global.L2 "
        assert ptx.count(hint) >= 2 and (keep or "evict_last" not in ptx)


@pytest.mark.parametrize("tile,dtype", [((16, 4, 32, 0), torch.float32),
                                        ((32, 4, 64, 2), torch.bfloat16),
                                        ((8, 4, 16, 0), torch.bfloat16)])
def test_fewer_trips_compiles_for_hopper(tile, dtype):
    """The look-back in two trips to the L2 a round (``ScanConfig.fewer_trips``), the medium
    class's tiles and the one-chunk D=64 forward's (``scan_entry_ab.py``'s f1lbft): it
    compiles for sm_90, and its look-back loop has fewer volatile loads (the ones that go to
    the L2) than without, its flags' copy being read back by plain ones.
    (Under 3.6 at fp32's tile the copy's 13 volatile loads became 3 plain ones, and the
    inclusive state's load moved ahead of the aggregates' scan: read from the PTX, not
    asserted here.)"""
    import dataclasses
    import re

    from rnnviz.kernels.linear_scan import scan_fwd, tile_config

    (B, T, D), (rows, warps, block_d, vec) = (4, 16384, 256), tile
    volatile = {}
    for fewer in (False, True):
        cfg = dataclasses.replace(tile_config("sequence", T, D, dtype.itemsize, rows, warps,
                                              block_d, vec=vec), fewer_trips=fewer)
        with recorded_launches() as made:
            a = torch.empty(B, T, D, dtype=dtype)
            scan_fwd(a, a, config=cfg)
        ((kernel, args, kw),) = made
        assert bool(kw.get("FEWER_TRIPS")) is fewer
        ptx = compile_for_hopper(kernel, args, kw).asm["ptx"]
        loop = ptx[ptx.index("Inner Loop Header"):]  # the look-back's polling loop onwards
        loop = loop[:loop.index("bra")]
        volatile[fewer] = len(re.findall(r"ld\.volatile", loop))
    assert 0 < volatile[True] < volatile[False]


@pytest.mark.parametrize("D,block_d,num_warps,vec,dtype", [(64, 32, 1, 1, torch.float32),
                                                            (64, 64, 2, 1, torch.float32),
                                                            (64, 64, 1, 2, torch.bfloat16)])
def test_one_channel_a_lane_walks_alone_on_hopper(D, block_d, num_warps, vec, dtype):
    """The sequence path with one channel a lane (``ScanConfig.vec`` = 1, so S = 1; bf16: two
    channels, vec = 2): its reduce and apply kernels compile for sm_90 with every loop's loads
    4 bytes wide (a row is one load across the lanes) and no exchange between lanes (no
    shuffle, no shared memory; bf16, see below), with one channel tile (D = block_d, where the tile's offset
    folds away and the hint must sit on the range itself) and with two."""
    import dataclasses

    from rnnviz.bench.sass import loop_bodies, sass
    from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd, tile_config
    from rnnviz.kernels.linear_scan.launch import segment_for

    T = 65536
    elem = torch.tensor([], dtype=dtype).element_size()
    cfg = segment_for(1, T, D, tile_config("sequence", T, D, elem, 16, num_warps, block_d,
                                            vec=vec, segment=1, carry="scan"), 2112)
    cfg = dataclasses.replace(cfg, pdl=True)
    assert (cfg.vec, cfg.block_s, cfg.block_d) == (vec, 1, block_d)
    with recorded_launches() as made:
        a = torch.empty(1, T, D, dtype=dtype)
        h = scan_fwd(a, a, config=cfg).h
        scan_bwd(a, h, None, torch.empty_like(h), config=cfg)
    walks = [(k, args, kw) for k, args, kw in made if k.fn.__name__ != "scan_channel_kernel"]
    assert len(walks) == 4 and all(kw["VEC"] == vec for _, _, kw in walks)
    for kernel, args, kw in walks:
        bodies = loop_bodies(sass(compile_for_hopper(kernel, args, kw)))
        ops = {op for body in bodies for op in body}
        assert bodies and any(op.startswith("LDG.E") for op in ops), (kernel.fn.__name__, ops)
        assert not any(op.startswith(("LDG.E.64", "LDG.E.128", "LDS", "STS", "BAR"))
                       for op in ops), (kernel.fn.__name__, sorted(ops), kw)
        # bf16: a lane's two channels are loaded side by side but held 32 channels apart (the
        # default layout), so the state carried between rows changes layout once a loop: at
        # most 4 shuffles a loop, none for a row
        shuffles = max(sum(n for op, n in body.items() if op.startswith("SHFL")) for body in bodies)
        assert shuffles <= (0 if vec == 1 else 4), (kernel.fn.__name__, shuffles)


@pytest.mark.parametrize("subchunk_major", [False, True])
def test_d64_walks_keep_their_rows_in_a_thread_on_this_triton(subchunk_major):
    """Reduce-then-scan at D=64 (the H100's fp32 entry until 2026-12-07, bf16's still)
    compiled for sm_90 by this Triton, as
    ``scripts/sass_loop.py scan-d64-fwd`` prints it: with the tiles loaded as laid out, each
    sub-chunk's rows sit in one thread, so a reduce or apply loop has only the sub-chunks'
    exchanges (at most 16 shuffles). Loaded through their [S, R, BLOCK_D] view
    (RNNVIZ_SUBCHUNK_MAJOR_LOADS=1, for Triton 3.6, where the default gives the rows the
    lanes: 144 shuffles) they compile too, and here the rows get the lanes: the view only flips
    the compiler's tie-break. (A process each: the setting is read at import.)"""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, RNNVIZ_SUBCHUNK_MAJOR_LOADS="1" if subchunk_major else "0")
    env.pop("TRITON_INTERPRET", None)
    out = subprocess.run([sys.executable, str(root / "scripts" / "sass_loop.py"), "scan-d64-fwd",
                          "float32"], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    kernels = re.findall(r"^(scan_\w+) .*\n  loop 0: \d+ instructions, (\d+) shuffles", out.stdout,
                         flags=re.M)
    walks = [int(n) for name, n in kernels if name != "scan_channel_kernel"]
    assert [name for name, _ in kernels] == ["scan_reduce_kernel", "scan_channel_kernel",
                                             "scan_apply_kernel"], out.stdout
    if subchunk_major:
        assert min(walks) > 16, out.stdout
    else:
        assert max(walks) <= 16, out.stdout


@pytest.mark.parametrize("target", ["mingru-fwd", "mingru-bwd"])
def test_mingru_walks_keep_their_rows_in_a_thread(target):
    """The fused minGRU kernels at the bench's shape (B=16, T=4096, H=1024), compiled for
    sm_90 by this Triton with the view it chooses (``blocks.SUBCHUNK_MAJOR``): the carried
    state's one layout change a loop (4 shuffles), none for the rows. Under Triton 3.6 without
    the view the loop had 36 (scripts/sass_loop.py mingru-fwd)."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items()
           if k not in ("TRITON_INTERPRET", "RNNVIZ_SUBCHUNK_MAJOR_LOADS")}
    out = subprocess.run([sys.executable, str(root / "scripts" / "sass_loop.py"), target,
                          "float32"], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    loops = [int(n) for n in re.findall(r"^  loop \d+: \d+ instructions, (\d+) shuffles", out.stdout,
                                        flags=re.M)]
    assert loops and max(loops) <= 4, out.stdout


def test_overlapping_launches_compile_for_hopper():
    """Reduce-then-scan with pdl (launch.ScanConfig.pdl), forward and backward: the reduce
    kernel lets the next launch start, the summaries' scan and the apply kernel are launched
    to overlap the launch before and wait for it in-kernel (griddepcontrol in their PTX)."""
    import dataclasses

    from rnnviz.bench.sass import compile_for_hopper
    from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd, tile_config
    from rnnviz.kernels.linear_scan.launch import segment_for

    cfg = segment_for(1, 65536, 64, tile_config("sequence", 65536, 64, 4, 4, 1, 16, segment=1,
                                                 carry="scan"), 2112)
    cfg = dataclasses.replace(cfg, pdl=True)
    with recorded_launches() as made:
        a = torch.empty(1, 65536, 64)
        h = scan_fwd(a, a, config=cfg).h
        scan_bwd(a, h, None, torch.empty_like(h), config=cfg)
    names = [kernel.fn.__name__ for kernel, _, _ in made]
    assert names == ["scan_reduce_kernel", "scan_channel_kernel", "scan_apply_kernel"] * 2
    assert [kw.get("GDC") for _, _, kw in made] == [1, 1, 1] * 2
    assert [kw.get("launch_pdl", False) for _, _, kw in made] == [False, True, True] * 2
    assert compile_all(made) == 5  # (the summaries' scan is the same launch both ways)
    want = {"scan_reduce_kernel": ["launch_dependents"],
            "scan_channel_kernel": ["wait", "launch_dependents"], "scan_apply_kernel": ["wait"]}
    for kernel, args, kw in made[:3]:
        ptx = compile_for_hopper(kernel, args, kw).asm["ptx"]
        for w in want[kernel.fn.__name__]:
            assert f"griddepcontrol.{w}" in ptx, (kernel.fn.__name__, w)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_time_kernel_joins_compile_for_hopper(launches, dtype):
    """The time kernel's parts joined by reduce-then-scan and by the look-back (walked
    twice, and one chunk held; in two trips to the L2 a round), which the tuned table may
    not pick."""
    from rnnviz.kernels.linear_scan import TimeConfig, scan_bwd, scan_fwd

    a = torch.empty(1, 16, 65536, dtype=dtype).transpose(1, 2)
    for cfg in (TimeConfig(1024, 1, 4, 1, 1056), TimeConfig(512, 2, 4, 2, 64, lookback=True),
                TimeConfig(2048, 1, 8, 1, 4224, lookback=True),
                TimeConfig(512, 2, 4, 2, 64, lookback=True, fewer_trips=True)):
        h = scan_fwd(a, a, None, config=cfg).h
        scan_bwd(a, h, None, torch.empty_like(h), config=cfg)
    assert {kw.get("LOOKBACK_PARTS") for _, _, kw in launches} >= {True, False}
    assert any(kw.get("HOLD") for _, _, kw in launches)
    assert any(kw.get("FEWER_TRIPS") for _, _, kw in launches)
    compile_all(launches)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_mingru_and_sru_launches_compile_for_hopper(launches, dtype):
    """minGRU and minLSTM's fused kernels (the paper's shape and a wide one: the channel
    walk; few channels: the look-back, in two trips to the L2 a round as chosen and in
    four), and SRU's
    recurrence (with and without the projected skip input), forward and backward."""
    import dataclasses

    from rnnviz.kernels.mingru import choose_config, min_rnn_bwd, min_rnn_fwd
    from rnnviz.kernels.sru import sru_bwd, sru_fwd

    few = choose_config(2, 4096, 64, dtype.itemsize)
    for B, T, H, cfg in ((64, 4096, 128, None), (16, 4096, 1024, None), (2, 4096, 64, None),
                         (2, 4096, 64, dataclasses.replace(few, fewer_trips=False))):
        for kind, K in (("mingru", 2), ("minlstm", 3)):
            P = torch.empty(B, T, K * H, dtype=dtype)
            v = [P[..., j * H:(j + 1) * H] for j in range(K)]
            h0, out = torch.empty(B, H, dtype=dtype), torch.empty(B, T, H, dtype=dtype)
            g2 = v[1] if K == 3 else None
            min_rnn_fwd(v[0], g2, v[-1], h0, out, kind=kind, positive=False, reverse=False,
                        config=cfg)
            dP = torch.empty_like(P)
            dv = [dP[..., j * H:(j + 1) * H] for j in range(K)]
            min_rnn_bwd(v[0], g2, v[-1], h0, out, torch.empty_like(out), dv[0],
                        dv[1] if K == 3 else None, dv[-1], kind=kind, positive=False,
                        reverse=False, grad_bias=torch.empty(3, H), config=cfg)
    T, B, H, D = 64, 4, 128, 2
    for K in (3, 4):
        U = torch.empty(T, B, D * H * K, dtype=dtype)
        x = torch.empty(T, B, D * H, dtype=dtype) if K == 3 else None
        wc, bias = torch.empty(2 * D * H), torch.empty(2 * D * H)
        kw = dict(D=D, H=H, K=K, scale_x=1.0, tanh=True, batch_first=False)
        h, c_n, c_all, _, _ = sru_fwd(U, x, wc, bias, None, None, store_c=True, record=False,
                                      **kw)
        sru_bwd(U, x, wc, bias, None, None, c_all, torch.empty_like(h), None, **kw)
    # the other side of each constexpr switch: a padding mask, f and r recorded, c not stored
    mask = torch.empty(T, B, dtype=torch.uint8)
    sru_fwd(U, x, wc, bias, None, mask, store_c=False, record=True, **kw)
    sru_bwd(U, x, wc, bias, None, mask, c_all, torch.empty_like(h), None, **kw)
    assert {k.fn.__name__ for k, _, _ in launches} >= {"sru_fwd_kernel", "sru_bwd_kernel",
                                                        "min_rnn_fwd_kernel",
                                                        "min_rnn_bwd_kernel"}
    mingru = [kw for k, _, kw in launches if k.fn.__name__.startswith("min_rnn")]
    assert {(kw["SEQPAR"], kw["FEWER_TRIPS"]) for kw in mingru} == {
        (False, False), (True, False), (True, True)}
    compile_all(launches)


@pytest.fixture
def jit_launches(monkeypatch):
    """The plain ``kernel[grid](...)`` launches (the DEER kernels: no CachedLaunch) made
    inside the test, recorded, not run."""
    from triton.runtime.jit import JITFunction

    made: list = []
    monkeypatch.setattr(JITFunction, "run",
                        lambda self, *args, grid, warmup, **kw: made.append((self, args, kw)))
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    return made


def test_deer_launches_compile_for_hopper(jit_launches):
    """DEER's kernels: the dense scan (a chunk per program, with tl.dot from D = 16, and a
    chunk per lane, with the carries' recursion, both ways, with h0 and add) and the fused
    value-and-Jacobian of the GRU (unfused and with the GEMM inside, every mode), RNN and
    LSTM cells, as the solver launches them."""
    from rnnviz.kernels.deer import (dense_scan_fwd, gru_gemm_linearize, gru_linearize,
                                     lstm_linearize, rnn_linearize)

    f32 = dict(dtype=torch.float32)
    e = lambda *shape: torch.empty(*shape, **f32)  # noqa: E731
    for D, lanes, T in ((4, True, 2048), (8, False, 8192), (16, False, 300), (32, False, 64)):
        J, b = e(2, T, D, D), e(2, T, D)
        for reverse in (False, True):
            dense_scan_fwd(J, b, e(2, D), reverse=reverse, lanes=lanes)
        dense_scan_fwd(J, b, None, lanes=lanes, add=torch.empty_like(b))
    R = 64
    res = torch.zeros(1, **f32)
    for S, mode in ((8, "dense"), (8, "clip"), (64, "diag"), (64, "dense")):
        gru_linearize(e(R, 3 * S), e(R, 3 * S), e(R, S), e(R, S), e(3 * S, S), e(3, S), res,
                      mode=mode, record=mode == "diag")
        rnn_linearize(e(R, S), e(R, S), e(R, S), e(S, S), e(S), res, mode=mode,
                      relu=mode == "clip")
        lstm_linearize(e(R, 4 * (S // 2)), e(R, 4 * (S // 2)), e(R, S), e(R, S),
                       e(4 * (S // 2), S // 2), e(4, S // 2), res, mode=mode)
    B, T = 2, 100
    for S, mode, rhs in ((4, "dense", "correction"), (16, "clip", "correction"),
                         (32, "diag", "state"), (128, "diag", "correction")):
        gru_gemm_linearize(e(B * T, 3 * S), e(B, T, S), e(B, S), e(3 * S, S), e(3 * S),
                           e(3, S), res, mode=mode, rhs=rhs, zero_iterate=S == 4)
    names = {k.fn.__name__ for k, _, _ in jit_launches}
    assert {"_chunk_summary", "_chunk_summary_lanes", "_chunk_carries", "_chunk_apply",
            "_chunk_apply_lanes", "_gru_linearize", "_gru_gemm", "_rnn_linearize",
            "_lstm_linearize"} <= names
    assert compile_all(jit_launches) >= 20, "fewer distinct launches than the cases above make"


tl = triton.language  # (for the kernel below)


@triton.jit
def _chunks_with_a_poll(X, Y, FLAGS, n, P, D, R: tl.constexpr, BD: tl.constexpr,
                        POLL: tl.constexpr):
    """Program p walks chunks p, p + P, ... (R rows of BD channels) in a loop pipelined for
    three stages; with POLL each chunk first waits for its predecessor's flag, in a loop of
    its own, as a look-back does."""
    pid = tl.program_id(0)
    rows, cols = tl.arange(0, R)[:, None], tl.arange(0, BD)[None, :]
    carry = tl.zeros([BD], tl.float32)
    for k in tl.range(0, tl.cdiv(n - pid, P), num_stages=3):
        item = pid + k * P
        x = tl.load(X + (item * R + rows).to(tl.int64) * D + cols)
        if POLL:
            while tl.load(FLAGS + item - 1, volatile=True) == 0:
                pass
            tl.atomic_xchg(FLAGS + item, 1)
        carry += tl.sum(x, axis=0)
        tl.store(Y + (item * R + rows).to(tl.int64) * D + cols, x + carry[None, :])


def test_the_pipeliner_leaves_a_loop_with_a_polling_loop_alone():
    """Why the look-back cannot load ahead through shared memory (seqpar.py, notebook 7):
    Triton's software pipeliner stages a `for` loop's loads with cp.async, but not in a loop
    that has another loop inside, such as the look-back's polling."""
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    sig = {"X": "*fp32", "Y": "*fp32", "FLAGS": "*i32", "n": "i32", "P": "i32", "D": "i32",
           "R": "constexpr", "BD": "constexpr", "POLL": "constexpr"}
    aligned = {(i,): [["tt.divisibility", 16]] for i in (0, 1, 5)}
    counts = []
    for poll in (False, True):
        src = ASTSource(fn=_chunks_with_a_poll, signature=sig, attrs=aligned,
                        constexprs={(6,): 64, (7,): 32, (8,): poll})
        try:
            ptx = triton.compile(src, target=GPUTarget("cuda", 90, 32),
                                 options={"num_warps": 4}).asm["ptx"]
        except Exception as e:  # noqa: BLE001 - no ptxas here: say so
            if "ptxas" in str(e) and "not found" in str(e).lower():
                pytest.skip(f"this Triton has no ptxas to compile for a GPU: {e}")
            raise
        counts.append(ptx.count("cp.async.cg.shared.global") + ptx.count("cp.async.ca.shared"))
    assert counts[0] > 0 and counts[1] == 0, counts
