"""Every exercise check: right answers pass, wrong ones get a hint (never a stack trace)."""
from __future__ import annotations

import inspect

import pytest

import rnnviz.exercises as ex

# check name -> (a right answer, a wrong answer)
ANSWERS = {
    "check_memory_steps": (44, 10),
    "check_loop_doubling": (2, 4),
    "check_bandwidth_floor": ("copy", "conv1d"),
    "check_stacked_critical_path": (102, 300),
    "check_conv_layers_for_receptive_field": (32, 21),
    "check_sru_gemms": (1, 1000),
    "check_sru_c10": (0.6513, 0.9),
    "check_instruction_balance": (102, 130),
    "check_graph_speedup": (1.67, 2.6),
    "check_hillis_steele_depth": (10, 1024),
    "check_scan_floor_ms": (1.07, 0.36),
    "check_chunks_in_flight": (16, 4),
    "check_step_stride_bytes": (256, 4),
    "check_flush_head_start_us": (240, 300),
    "check_quadratic_error": (1e-16, 1e-6),
    "check_deer_worst_case": (1000, 10),
    "check_mingru_parameters": (33024, 99072),
    "check_mingru_b": (0.5, 1.5),
}


def checks():
    return sorted(n for n, f in inspect.getmembers(ex, inspect.isfunction)
                  if n.startswith("check_") and f.__module__ == ex.__name__)


def test_every_check_has_answers_here():
    assert set(checks()) == set(ANSWERS)


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_right_wrong_missing_and_silly_answers(name, capsys):
    check = getattr(ex, name)
    right, wrong = ANSWERS[name]
    assert check(right) is True
    assert "Correct" in capsys.readouterr().out
    assert check(wrong) is False
    assert "Hint" in capsys.readouterr().out
    assert check(None) is False
    assert "Replace None" in capsys.readouterr().out
    assert check(object()) is False  # nonsense: a hint, not an exception
    assert "Hint" in capsys.readouterr().out
