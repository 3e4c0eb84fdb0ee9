"""Checks for the notebooks' exercises: a wrong answer gets a hint, never a stack trace.

Each ``check_<name>(answer)`` prints a verdict and returns True/False, so a notebook cell
(and its test) can use it either way.
"""
from __future__ import annotations

import math
from typing import Any, Callable


def _verdict(ok: bool, hint: str, well_done: str = "Correct!") -> bool:
    print(well_done if ok else f"Not yet. Hint: {hint}")
    return ok


def _check(answer: Any, expected: Any, hint: str, *, cast: Callable[[Any], Any] = int,
           close: float | None = None) -> bool:
    if answer is None:
        print(f"Replace None with your answer. Hint: {hint}")
        return False
    try:
        got = cast(answer)
    except (TypeError, ValueError):
        return _verdict(False, f"expected a {cast.__name__}, got {answer!r}. {hint}")
    ok = abs(got - expected) <= close * abs(expected) if close is not None else got == expected
    return _verdict(ok, hint)


def check_memory_steps(answer: Any) -> bool:
    """00_welcome: steps until 0.9**t < 0.01."""
    expected = math.ceil(math.log(0.01) / math.log(0.9))
    return _check(answer, expected, "solve 0.9**t < 0.01 for t: t > log(0.01) / log(0.9).")


def _check_word(answer: Any, accepted: set[str], hint: str) -> bool:
    if answer is None:
        print(f"Replace None with your answer. Hint: {hint}")
        return False
    if not isinstance(answer, str):
        return _verdict(False, f"expected a string, got {answer!r}. {hint}")
    return _verdict(answer.strip().lower().replace("_", "-") in accepted, hint)


def check_loop_doubling(answer: Any) -> bool:
    """06_speed_lab: doubling T multiplies a sequential loop's time by 2."""
    return _check(answer, 2.0, "each of the T steps costs the same and none can start before the "
                  "previous one ends: time = T x (cost of one step).", cast=float, close=0.01)


def check_bandwidth_floor(answer: Any) -> bool:
    """06_speed_lab: the copy is the floor of any memory-bound method."""
    return _check_word(answer, {"copy"}, "a scan must at least read its inputs once and write its "
                       "output once: which method does exactly that and nothing else?")
