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


def check_stacked_critical_path(answer: Any) -> bool:
    """01: an L-layer LSTM over T steps: cell (l, t) waits for (l, t-1) and (l-1, t), so the
    longest chain visits T + L - 1 cells (a wavefront)."""
    return _check(answer, 100 + 3 - 1, "walk from layer 1, step 1 to layer 3, step 100: each move "
                  "goes one step right or one layer up, and every cell on the way must wait for "
                  "the one before it.")


def check_conv_layers_for_receptive_field(answer: Any) -> bool:
    """01: L causal width-3 layers see 2L + 1 inputs; 2L + 1 >= 64 needs L = 32."""
    return _check(answer, math.ceil((64 - 1) / 2), "each layer extends how far back an output "
                  "sees by 2 steps: L layers see 1 + 2L inputs. Solve 1 + 2L >= 64.")


def check_sru_gemms(answer: Any) -> bool:
    """02: one GEMM per SRU layer, whatever T (the gates do not read h_{t-1})."""
    return _check(answer, 1, "the gates read x_t (and c_{t-1} only elementwise), never h_{t-1}: "
                  "so all the products W x_t can be done before the recurrence starts.")


def check_sru_c10(answer: Any) -> bool:
    """02: c_t = 0.9 c_{t-1} + 0.1, c_0 = 0 -> c_10 = 1 - 0.9**10."""
    return _check(answer, 1 - 0.9 ** 10, "c_t = 0.9 c_(t-1) + (1 - 0.9) * 1; unrolled, "
                  "c_t = 1 - 0.9**t.", cast=float, close=0.005)


def check_instruction_balance(answer: Any) -> bool:
    """02: a warp step moves 32 x 20 bytes; at 4200 GB/s against 528 schedulers x 0.64
    instructions a cycle x 1.98 GHz, the instructions that take as long: about 102."""
    issue = 528 * 0.64 * 1.98e9  # warp instructions a second, the whole GPU
    expected = 32 * 20 / 4200e9 * issue
    return _check(answer, expected, "time of the bytes of one warp step = 32 x 20 bytes / 4200e9 "
                  "bytes a second; the GPU issues 528 x 0.64 x 1.98e9 warp instructions a second; "
                  "how many instructions take the same time?", cast=float, close=0.05)


def check_graph_speedup(answer: Any) -> bool:
    """02: issued back to back, a step takes the slower of host (0.30 ms) and GPU (0.18 ms);
    a CUDA graph's replay leaves the GPU's time alone."""
    return _check(answer, 0.30 / 0.18, "back to back, the GPU waits whenever the host is slower, "
                  "so a step takes max(host, GPU); a graph replay takes the GPU's time only. "
                  "Divide the first by the second.", cast=float, close=0.03)


def check_hillis_steele_depth(answer: Any) -> bool:
    """03: Hillis-Steele over n = 1024 elements has log2(1024) = 10 levels."""
    return _check(answer, 10, "at level d every element combines with the one 2**d to its left; "
                  "after d levels each element covers 2**d steps. When does 2**d reach 1024?")


def check_scan_floor_ms(answer: Any) -> bool:
    """03: 3 tensors x 16*4096*4096 float32 at 3000 GB/s = 1.07 ms."""
    expected = 3 * 16 * 4096 * 4096 * 4 / 3000e9 * 1e3
    return _check(answer, expected, "bytes = 3 tensors x B*T*D elements x 4 bytes; time = bytes / "
                  "(3000e9 bytes per second); answer in milliseconds.", cast=float, close=0.03)


def check_chunks_in_flight(answer: Any) -> bool:
    """07: 4.2e6 bytes / (4096 channels x 16 steps x 2 inputs x 2 bytes) = 16 chunks."""
    return _check(answer, 4.2e6 / (4096 * 16 * 2 * 2), "one chunk in flight is 4096 channels x "
                  "16 steps x 2 inputs (a and b) x 2 bytes (bfloat16); how many of those make "
                  "4.2e6 bytes?", cast=float, close=0.05)


def check_step_stride_bytes(answer: Any) -> bool:
    """07: on [B, T, D] memory a channel's next step is D elements on: 64 x 4 bytes."""
    return _check(answer, 64 * 4, "in [B, T, D] memory the D channels of one step come first, "
                  "then the next step's: how many elements lie between t and t + 1 of one "
                  "channel, and how many bytes is a float32?")


def check_flush_head_start_us(answer: Any) -> bool:
    """07: the GPU reaches the start event when the 110 us flush ends; the step's one kernel
    is queued at 300 us and ends at 350: the events read 350 - 110."""
    return _check(answer, 240, "draw the GPU's timeline: the flush from 0 to 110, the start "
                  "event right after it, the kernel from the moment the host queues it (300) for "
                  "50 us, the end event right after it. The events read end minus start.",
                  cast=float, close=0.01)


def check_quadratic_error(answer: Any) -> bool:
    """05: 1e-2 squared three times: 1e-4, 1e-8, 1e-16."""
    if answer is None:
        print("Replace None with your answer. Hint: square 1e-2, then square the result, then "
              "once more.")
        return False
    try:
        ok = float(answer) > 0 and abs(math.log10(float(answer)) + 16) < 0.5
    except (TypeError, ValueError):
        ok = False
    return _verdict(ok, "quadratic convergence squares the error each step: 1e-2 -> 1e-4 -> ...")


def check_deer_worst_case(answer: Any) -> bool:
    """05: after T iterations all T steps are exact."""
    return _check(answer, 1000, "each iteration makes (at least) one more time step exact, "
                  "starting from the first one.")


def check_mingru_parameters(answer: Any) -> bool:
    """04: linear_z and linear_h, each 128 x 128 weights + 128 biases."""
    return _check(answer, 2 * (128 * 128 + 128), "minGRU has two nn.Linear(128, 128) layers "
                  "(linear_z and linear_h); each has a weight matrix and a bias vector.")


def check_mingru_b(answer: Any) -> bool:
    """04: b_t = z_t * h~_t = 0.25 * 2."""
    return _check(answer, 0.5, "h_t = (1 - z_t) h_(t-1) + z_t h~_t: the part that does not "
                  "multiply h_(t-1) is b_t.", cast=float, close=0.001)
