"""rnnviz.bench.sass: the loop bodies of a kernel's SASS, counted by kind."""
from __future__ import annotations

import collections

import pytest
import torch

from rnnviz.bench.sass import OPCODE_KINDS, OTHER, by_kind, loop_bodies, opcode_kind

SASS = """
        /*0000*/                   LDC R1, c[0x0][0x28] ;
.L_x_0:
        /*0010*/                   LDG.E R2, desc[UR4][R4.64] ;
        /*0020*/               @P0 FFMA R3, R2, R5, R3 ;
        /*0030*/                   MUFU.EX2 R6, R3 ;
        /*0040*/                   IADD3 R4, P1, R4, 0x4, RZ ;
        /*0050*/              @!P2 BRA `(.L_x_1) ;
        /*0060*/                   IMAD.MOV.U32 R7, RZ, RZ, R6 ;
.L_x_1:
        /*0070*/                   ISETP.GE.AND P0, PT, R4, R8, PT ;
        /*0080*/               @P0 BRA `(.L_x_0) ;
        /*0090*/                   EXIT ;
.L_x_2:
        /*00a0*/                   BRA `(.L_x_2);
"""


def test_a_loop_is_a_branch_back_to_its_label():
    """One body: the loop from .L_x_0 to the branch back to it (the forward branch inside
    is not a loop, nor the closing trap that branches to itself)."""
    (body,) = loop_bodies(SASS)
    assert body == collections.Counter({"LDG.E": 1, "FFMA": 1, "MUFU.EX2": 1, "IADD3": 1,
                                        "BRA": 2, "IMAD.MOV.U32": 1, "ISETP.GE.AND": 1})


def test_opcodes_are_sorted_by_what_they_do():
    assert opcode_kind("FFMA") == opcode_kind("FADD.FTZ") == "float arithmetic"
    assert opcode_kind("MUFU.RCP") == "special functions (MUFU: exp, rcp, tanh)"
    assert opcode_kind("LDG.E.128") == opcode_kind("STG.E.U16") == "loads and stores"
    assert opcode_kind("IMAD.MOV.U32") == opcode_kind("HFMA2.MMA") == "moves and selects"
    assert opcode_kind("IMAD.WIDE.U32") == opcode_kind("VIADD") == \
        "integer: addresses, indices, loop"
    assert opcode_kind("PRMT") == "conversions, byte shuffles"
    assert opcode_kind("BRA") == "other (branches, predicates)" == OTHER
    counts = by_kind(loop_bodies(SASS)[0])
    assert list(counts)[:len(OPCODE_KINDS)] == [k for k, _ in OPCODE_KINDS]
    assert sum(counts.values()) == 8 and counts["other (branches, predicates)"] == 2


def test_the_sru_step_compiled_for_hopper_has_the_recurrences_special_functions():
    """The SRU forward's loop compiled for sm_90 (no GPU needed), per step: two sigmoids and
    a tanh are three exponentials and three reciprocals, whatever else the compiler adds."""
    pytest.importorskip("triton")
    from rnnviz.bench.sass import sru_step_mix

    try:
        mix = sru_step_mix(torch.float32)
    except Exception as e:  # noqa: BLE001
        if "ptxas" in str(e) and "not found" in str(e).lower():
            pytest.skip(f"this Triton has no ptxas to compile for a GPU: {e}")
        raise
    assert mix["special functions (MUFU: exp, rcp, tanh)"] == 6
    assert mix["loads and stores"] >= 5  # U's three parts and x in, h out
    assert 40 < sum(mix.values()) < 400
    with pytest.raises(ValueError, match="which must be"):
        sru_step_mix(torch.float32, "sideways")


def test_the_bf16_sru_step_with_the_hardware_tanh(monkeypatch):
    """2-byte U's forward takes tanh.approx.f32 (``HARDWARE_TANH_2BYTE["fwd"]``,
    ``activations.HARDWARE_TANH``): per step its two sigmoids and tanh are three MUFU.TANH and
    nothing else of the MUFU, and the step is shorter than with exp and reciprocal (60
    instructions). The backward keeps exp and reciprocal (it ran slower with the tanh on the
    H100); switched over, its step's MUFU are three too."""
    pytest.importorskip("triton")
    from rnnviz.bench import sass
    from rnnviz.kernels.sru import fused_recurrent

    mufu_kind = "special functions (MUFU: exp, rcp, tanh)"
    try:
        counts = sass.loop_counts(lambda: _sru_forward(torch.bfloat16))
        bwd_exp = sass.sru_step_mix(torch.bfloat16, "backward")[mufu_kind]
        monkeypatch.setitem(fused_recurrent.HARDWARE_TANH_2BYTE, "fwd", False)
        (_, kw_exp, _), = sass.loop_counts(lambda: _sru_forward(torch.bfloat16))
        monkeypatch.setitem(fused_recurrent.HARDWARE_TANH_2BYTE, "bwd", True)
        bwd_tanh = sass.sru_step_mix(torch.bfloat16, "backward")[mufu_kind]
    except Exception as e:  # noqa: BLE001
        if "ptxas" in str(e) and "not found" in str(e).lower():
            pytest.skip(f"this Triton has no ptxas to compile for a GPU: {e}")
        raise
    (name, kw, (body,)), = counts
    assert kw["FAST"] == 2 and kw_exp["FAST"] == 1
    mufu = {op: n for op, n in body.items() if op.startswith("MUFU")}
    steps = 32  # the bf16 forward's loop walks fwd_steps_per_pass(2) steps
    assert mufu == {"MUFU.TANH": 3 * steps}
    assert sum(body.values()) / steps < 55
    assert bwd_tanh == 3 and bwd_exp > 3


def _sru_forward(dtype):
    from rnnviz.kernels.sru import sru_fwd

    T, B, H = 64, 4, 1024
    U, x = torch.empty(T, B, 3 * H, dtype=dtype), torch.empty(T, B, H, dtype=dtype)
    sru_fwd(U, x, torch.empty(2 * H), torch.empty(2 * H), None, None, D=1, H=H, K=3, scale_x=1.0,
            tanh=True, batch_first=False, store_c=False, record=False)
