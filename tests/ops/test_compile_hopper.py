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
    wide = {k: e for k, e in TABLE["H100"].items() if k.startswith("2|")}  # (bf16)
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


def test_h100_own_few_channel_entries_compile_for_hopper():
    """The H100's own entries for fp32 B * D <= 256, T > 32768: the forward in reduce-then-
    scan's three launches (the summaries' scan in 4-channel programs); the backward by
    reduce-then-scan too (32-channel segments, 3 in flight) at 64 channels, by the one-chunk
    look-back under 64 ("|few")."""
    from rnnviz.kernels.linear_scan import scan_bwd, scan_fwd
    from rnnviz.kernels.linear_scan.launch import bucket, tuned_key
    from rnnviz.kernels.linear_scan.tuned import TABLE

    assert {k for k in TABLE["H100"] if k.startswith("4|")} == {
        bucket(1, 65536, 64, 4), tuned_key(1, 2 ** 20, 16, 4)}
    three = ["scan_reduce_kernel", "scan_channel_kernel", "scan_apply_kernel"]
    for shape, backward in (((1, 65536, 64), three), ((1, 2 ** 20, 16), ["scan_seqpar_kernel"])):
        with tuned_for("H100"), recorded_launches() as made:
            a = torch.empty(shape)
            h = scan_fwd(a, a).h
            scan_bwd(a, h, None, torch.empty_like(h))
        names = [kernel.fn.__name__ for kernel, _, _ in made]
        assert names == three + backward, shape
        assert made[1][2]["BLOCK_D"] == 4
        if backward == three:
            assert made[3][2]["BLOCK_D"] == 32 and made[3][2]["STAGES"] == 3
        assert compile_all(made) == len(names)
