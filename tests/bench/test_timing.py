"""rnnviz.bench.core's timer: the three CUDA timing modes and what provenance records."""
from __future__ import annotations

import pytest
import torch

from rnnviz.bench.core import FLUSH_ENV, TIMING_ENV, flush_mode, provenance, time_ms, timing_mode


def test_timing_mode_defaults_to_back_to_back_and_is_recorded(monkeypatch):
    monkeypatch.delenv(TIMING_ENV, raising=False)
    assert timing_mode() == "back-to-back" and provenance("x")["timing"] == "back-to-back"
    monkeypatch.setenv(TIMING_ENV, "isolated")
    assert timing_mode() == "isolated" and provenance("x")["timing"] == "isolated"


def test_provenance_names_the_settings_and_the_commit(monkeypatch):
    """The RNNVIZ_* settings lead the recorded command (they change what is measured), and
    the commit is this checkout's."""
    import re
    import subprocess

    monkeypatch.setenv("RNNVIZ_BENCH_T", "4096")
    monkeypatch.setenv(TIMING_ENV, "graph")
    cmd = provenance("scan")["command"]
    assert cmd.startswith("RNNVIZ_BENCH_T=4096 RNNVIZ_TIMING=graph ") and "-m rnnviz.bench" in cmd
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    commit = provenance("scan")["commit"]
    if head:
        assert re.fullmatch("[0-9a-f]{12}(-dirty)?", commit) and head.startswith(commit[:12])
    else:
        assert commit is None


def test_autograd_threads_setting_is_applied_and_recorded(monkeypatch):
    from rnnviz.bench.core import AUTOGRAD_THREADS_ENV, apply_autograd_threads

    try:
        monkeypatch.setenv(AUTOGRAD_THREADS_ENV, "0")
        assert apply_autograd_threads() is False
        assert torch.autograd.is_multithreading_enabled() is False
        assert provenance("x")["autograd_multithreading"] is False
        monkeypatch.setenv(AUTOGRAD_THREADS_ENV, "maybe")
        with pytest.raises(ValueError, match="must be '0' or '1', got 'maybe'"):
            apply_autograd_threads()
    finally:
        torch.autograd.set_multithreading_enabled(True)
    monkeypatch.delenv(AUTOGRAD_THREADS_ENV)
    assert apply_autograd_threads() is True and provenance("x")["autograd_multithreading"]


def test_every_suite_has_a_run():
    """``python -m rnnviz.bench all`` runs each suite's run(); shared modules are not suites."""
    import importlib

    from rnnviz.bench.__main__ import suites

    assert {"scan", "sru", "mingru", "deer"} <= set(suites())
    for name in suites():
        assert callable(getattr(importlib.import_module(f"rnnviz.bench.{name}"), "run", None)), name


def test_an_unknown_timing_mode_is_refused_by_name(monkeypatch):
    monkeypatch.setenv(TIMING_ENV, "fast")
    with pytest.raises(ValueError, match="'isolated', 'back-to-back', 'graph', got 'fast'"):
        provenance("x")


@pytest.mark.parametrize("mode", ["isolated", "graph"])
def test_cpu_timing_counts_every_call(mode, monkeypatch):
    """On a CPU every mode is the wall clock around each call (there is no graph to capture)."""
    monkeypatch.setenv(TIMING_ENV, mode)
    calls = []
    ms = time_ms(lambda: calls.append(1), "cpu", warmup=2, reps=5)
    assert ms >= 0 and len(calls) == 2 + 1 + 5


def test_a_slow_call_is_warmed_up_once():
    """A call that takes a third of the budget is warmed up once, then timed 3 times."""
    import time

    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.05)

    time_ms(slow, "cpu", warmup=3, budget_ms=90)
    assert len(calls) == 1 + 1 + 3
    calls.clear()
    time_ms(lambda: calls.append(1), "cpu", warmup=3, budget_ms=90)
    assert len(calls) >= 3 + 1 + 3  # a fast call gets every warm-up


def test_provenance_names_the_tree_commit_where_told(monkeypatch):
    """Where the checkout's .git is not the tree's (the device tool copies a working tree
    beside a stale .git), TREE_COMMIT names the commit; elsewhere git does."""
    monkeypatch.delenv("TREE_COMMIT", raising=False)
    from_git = provenance("x")["commit"]
    monkeypatch.setenv("TREE_COMMIT", "0123456789ab")
    assert provenance("x")["commit"] == "0123456789ab" != from_git


def test_the_l2_flush_is_clean_unless_asked_and_recorded(monkeypatch):
    """RNNVIZ_FLUSH: "clean" by default, "dirty" (as triton's do_bench) when asked, anything
    else refused with the choices named, by the setting and by time_ms's argument alike;
    provenance records which."""
    monkeypatch.delenv(FLUSH_ENV, raising=False)
    assert flush_mode() == "clean" and provenance("x")["l2_flush"] == "clean"
    assert provenance("x")["host_pace"] is (timing_mode() == "back-to-back")
    monkeypatch.setenv(FLUSH_ENV, "dirty")
    assert flush_mode() == "dirty" and provenance("x")["l2_flush"] == "dirty"
    monkeypatch.setenv(FLUSH_ENV, "cold")
    with pytest.raises(ValueError, match="RNNVIZ_FLUSH must be one of 'clean', 'dirty', got 'cold'"):
        flush_mode()
    monkeypatch.delenv(FLUSH_ENV)
    with pytest.raises(ValueError, match="flush must be one of 'clean', 'dirty', got 'cold'"):
        time_ms(lambda: None, "cpu", reps=1, flush="cold")


@pytest.mark.gpu
@pytest.mark.parametrize("flush", ["dirty", "clean"])
def test_gpu_timing_after_either_flush(gpu, flush):
    """time_ms flushes either way before each repetition of a 48 MB add: every call
    happens and is timed (no speed is asserted)."""
    a, b = (torch.randn(1 << 22, device=gpu) for _ in range(2))
    out = torch.empty_like(a)
    calls = []

    def fn():
        calls.append(1)
        torch.add(a, b, out=out)

    ms = time_ms(fn, gpu, warmup=1, reps=5, mode="back-to-back", flush=flush)
    assert 0 < ms < 1e3 and len(calls) == 1 + 1 + 5 + 5  # (then 5 at the host's pace)


@pytest.mark.gpu
@pytest.mark.parametrize("mode", ["isolated", "back-to-back"])
def test_gpu_timing_modes_time_every_call(gpu, mode, monkeypatch):
    """Both eager modes bracket each call with its own events (no speed is asserted)."""
    monkeypatch.setenv(TIMING_ENV, mode)
    src = torch.randn(1 << 24, device=gpu)
    dst = torch.empty_like(src)
    calls = []

    def fn():
        calls.append(1)
        dst.copy_(src)

    ms = time_ms(fn, gpu, warmup=1, reps=7)
    paced = 7 if mode == "back-to-back" else 0  # (host_pace_ms's calls)
    assert 0 < ms < 1e3 and len(calls) == 1 + 1 + 7 + paced


@pytest.mark.gpu
@pytest.mark.parametrize("flush", ["dirty", "clean"])
@pytest.mark.parametrize("mode", ["isolated", "back-to-back"])
def test_gpu_a_host_bound_call_is_timed_at_the_hosts_pace(gpu, mode, flush):
    """A call whose host work (a 1 ms sleep) dwarfs its GPU work: the flush queued before
    it gives the host a head start of the flush's GPU time, which the events alone would
    not count; in both eager modes the time is still at least the host's millisecond."""
    import time

    x = torch.zeros(1024, device=gpu)

    def fn():
        time.sleep(1e-3)  # (sleeps at least this long)
        x.add_(1.0)

    assert time_ms(fn, gpu, warmup=1, reps=10, mode=mode, flush=flush) >= 1.0


@pytest.mark.gpu
def test_gpu_graph_timing_replays_what_was_captured(gpu, monkeypatch):
    """Python runs fn for the side-stream warm-up and the capture only (a capture records,
    it does not execute); every later call is a replay, which does the work: the counter
    counts the 2 eager warm-ups, then 2 warm-up replays, 1 sizing replay and 5 timed ones."""
    monkeypatch.setenv(TIMING_ENV, "graph")
    acc = torch.zeros((), device=gpu)
    calls = []

    def fn():
        calls.append(1)
        acc.add_(1.0)

    ms = time_ms(fn, gpu, warmup=2, reps=5)
    assert 0 < ms < 1e3 and len(calls) == 2 + 1
    assert acc.item() == 2 + 2 + 1 + 5


@pytest.mark.gpu
def test_gpu_graph_timing_names_a_call_it_cannot_capture(gpu):
    """In a process of its own (an aborted capture can leave CUDA state behind): the error
    names the mode, and random numbers on the GPU still work afterwards."""
    import subprocess
    import sys

    code = f"""
import os, torch
os.environ["{TIMING_ENV}"] = "graph"
from rnnviz.bench.core import time_ms
x = torch.ones(8, device="{gpu}")
try:
    time_ms(lambda: x.sum().item(), "{gpu}", warmup=1, reps=1)
except RuntimeError as e:
    print("ERROR", str(e).splitlines()[0])
print("RANDN", torch.randn(4, device="{gpu}").shape[0])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "ERROR RNNVIZ_TIMING=graph: the call cannot be captured" in out.stdout, out.stderr[-2000:]
    assert "RANDN 4" in out.stdout, out.stderr[-2000:]


def test_time_in_rounds_interleaves_the_calls_and_times_a_slow_one_once(monkeypatch):
    """Round r times every call before round r + 1; a call slower than slow_ms is timed in
    the first round only; each call gets one time per round it ran in."""
    from rnnviz.bench import core

    order = []
    fake = {"lstm": 7.0, "sru": 0.6, "loop": 90.0}
    monkeypatch.setattr(core, "time_ms", lambda fn, device, **kw: order.append(fn()) or fake[fn()])
    fns = {name: (lambda name=name: name) for name in fake}
    times = core.time_in_rounds(fns, "cpu", rounds=3, slow_ms=50.0)
    assert order == ["lstm", "sru", "loop", "lstm", "sru", "lstm", "sru"]
    assert times == {"lstm": [7.0] * 3, "sru": [0.6] * 3, "loop": [90.0]}
    rows = [{"method": "sru", "ms": None}, {"method": "sru-pkg", "ms": None}]
    core.record_rounds(rows, {"sru": [0.7, 0.5, 0.6]})
    assert rows == [{"method": "sru", "ms": 0.6, "ms_rounds": [0.7, 0.5, 0.6]},
                    {"method": "sru-pkg", "ms": None}]


def test_time_in_rounds_times_named_loops_in_every_round(monkeypatch):
    """A method named in each_round (a Python loop, warmed by its probe) is timed in every
    round with one call and no warm-up, however slow; the others as before."""
    from rnnviz.bench import core

    calls = []
    fake = {"mingru": 1.5, "loop": 2000.0, "other-slow": 90.0}

    def fake_time_ms(fn, device, **kw):
        calls.append((fn(), kw.get("warmup"), kw.get("reps")))
        return fake[fn()]

    monkeypatch.setattr(core, "time_ms", fake_time_ms)
    fns = {name: (lambda name=name: name) for name in fake}
    times = core.time_in_rounds(fns, "cpu", rounds=3, slow_ms=50.0, warmup=1, each_round=["loop"])
    assert times == {"mingru": [1.5] * 3, "loop": [2000.0] * 3, "other-slow": [90.0]}
    assert [c for c in calls if c[0] == "loop"] == [("loop", 0, 1)] * 3
    assert [c[0] for c in calls] == ["mingru", "loop", "other-slow", "mingru", "loop", "mingru", "loop"]


def test_gpu_state_reads_nvidia_smis_line():
    """Clocks, temperature and power as numbers, the slowdown mask as written, a field the
    driver cannot read as None, and a line of another shape refused."""
    from rnnviz.bench.core import parse_gpu_state

    assert parse_gpu_state("1980, 3201, 61, 412.50, 0x0000000000000000\n") == {
        "sm_mhz": 1980.0, "mem_mhz": 3201.0, "temp_c": 61.0, "power_w": 412.5,
        "slowdown": "0x0000000000000000"}
    state = parse_gpu_state("1410, 3201, 83, [N/A], [N/A]")
    assert state["sm_mhz"] == 1410 and state["power_w"] is None and state["slowdown"] is None
    assert parse_gpu_state("") is None
    assert parse_gpu_state("1980, 3201") is None


def test_gpu_state_asks_nvidia_smi_for_the_devices_gpu(tmp_path, monkeypatch):
    """Without CUDA there is no state; for a CUDA device the query names its index and
    every field, and a failing nvidia-smi gives None rather than an error."""
    from rnnviz.bench.core import GPU_STATE_FIELDS, gpu_state

    assert gpu_state("cpu") is None
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    fake = tmp_path / "nvidia-smi"
    log = tmp_path / "args"
    fake.write_text(f'#!/bin/sh\necho "$@" > {log}\necho "1755, 2619, 70, 650.1, 0x4"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{__import__('os').environ['PATH']}")
    assert gpu_state("cuda:1") == {"sm_mhz": 1755.0, "mem_mhz": 2619.0, "temp_c": 70.0,
                                   "power_w": 650.1, "slowdown": "0x4"}
    args = log.read_text()
    assert "--id=1" in args and all(f in args for f in GPU_STATE_FIELDS.values())
    fake.write_text("#!/bin/sh\nexit 9\n")
    assert gpu_state("cuda:1") is None
    # a driver older than 535 knows the slowdown field by its old name only
    fake.write_text('#!/bin/sh\ncase "$*" in *clocks_event_reasons*) exit 6;; esac\n'
                    'echo "1410, 2619, 80, 700, 0x20"\n')
    assert gpu_state("cuda:0")["slowdown"] == "0x20"


@pytest.mark.gpu
def test_gpu_state_on_the_gpu(gpu):
    from rnnviz.bench.core import gpu_state

    state = gpu_state(gpu)
    assert state is not None and state["sm_mhz"] > 0 and state["mem_mhz"] > 0


def test_nvidia_smi_is_asked_for_the_gpu_torch_sees(monkeypatch):
    """CUDA_VISIBLE_DEVICES renumbers torch's GPUs, not nvidia-smi's."""
    from rnnviz.bench.core import nvidia_smi_id

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert nvidia_smi_id(1) == "1"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3, GPU-8f0c")
    assert nvidia_smi_id(0) == "3" and nvidia_smi_id(1) == "GPU-8f0c"


def test_provenance_records_the_hosts_speed():
    """Two probes of the host (a Python loop, autograd's fixed cost), so that host-bound rows
    of runs on different VMs can be told apart: positive microseconds, the loop's in a sane range."""
    speed = provenance("x")["host_speed_us"]
    assert set(speed) == {"sum_range_10000", "autograd_grad"}
    assert all(v > 0 for v in speed.values())
    assert 1 < speed["sum_range_10000"] < 1e5
