"""What every benchmark suite shares: timing, the copy-bandwidth ceiling, provenance, JSON.

Timings are medians: CUDA events after warm-up on a GPU (``triton.testing.do_bench``-style,
inputs made once per shape, random, never zeros); ``time.perf_counter`` on a CPU.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import torch

RESULTS_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


def bench_device(seed: int = 0) -> torch.device:
    """The device a suite measures on (CUDA if present), with tf32 off for matmuls and cuDNN
    so every method computes in the same precision, and the RNG seeded."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(seed)
    return device


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


TIMING_ENV = "RNNVIZ_TIMING"  # "back-to-back" (the default), "isolated" or "graph"
TIMING_MODES = ("isolated", "back-to-back", "graph")
TIMING_PER_ROW = "all three, per row"  # a file whose rows carry a time for each mode


def timing_mode() -> str:
    """How ``time_ms`` times a CUDA call (``RNNVIZ_TIMING``), recorded in provenance:

    - "back-to-back" (the default): the calls queued one after another with no wait between
      them (as ``triton.testing.do_bench`` does), each bracketed by its own events: the host
      prepares call i + 1 while the GPU runs call i, so a GPU-bound call is timed without
      its launch latency and a host-bound one at the host's pace. What a call costs inside
      a training loop, which keeps the GPU's queue full. The flush before each call gives
      the host a head start (``host_pace_ms``), so the time is the larger of the events'
      median and the host's pace over calls issued with no flush between them (since
      2026-12-06; before, a host-bound call came out up to the flush's time too fast).
    - "isolated": each call alone, the host waiting for it, and for the flush, before the
      next. The time then also includes getting the call onto an idle GPU (the host's
      launch path: Python, the Triton launcher, the autograd engine), as one call in an
      idle program pays. (The default until 2026-12-03: files without a "timing" field
      were timed so. The wait for the flush since 2026-12-06.)
    - "graph": the call captured once in a CUDA graph and the graph replayed: the GPU's own
      time for the call's kernels, with no Python, no Triton launcher and no autograd
      engine on the host in between. What the kernels cost; the gap to the other modes is
      the host's share. A call that cannot be captured (it synchronises, say) raises.
    """
    mode = os.environ.get(TIMING_ENV, "back-to-back")
    if mode not in TIMING_MODES:
        raise ValueError(f"{TIMING_ENV} must be one of {', '.join(map(repr, TIMING_MODES))}, "
                         f"got {mode!r}")
    return mode


FLUSH_ENV = "RNNVIZ_FLUSH"  # how time_ms empties the L2 between repetitions: "clean" or "dirty"
FLUSH_MODES = ("clean", "dirty")
FLUSH_BYTES = 64 * 1024 * 1024  # more than an H100's or H200's L2 (50 / 60 MB)
_CLEAN_READS: dict = {}  # per device: the buffer read to leave the L2 clean


def flush_mode(flush: str | None = None) -> str:
    """How ``time_ms`` empties the GPU's L2 before each repetition: ``flush`` if given, else
    ``RNNVIZ_FLUSH``, recorded in provenance:

    - "clean" (the default since 2026-12-06): 64 MB of zeros written, then 256 MB read, so
      the dirty lines go back to memory before the timed call starts and the L2 holds clean
      lines of another buffer: the call finds none of its data in the L2 and pays for no
      one else's writes.
    - "dirty" (as ``triton.testing.do_bench``): the zeros only. The L2 then holds those dirty
      lines, and the timed call's first misses must write them back to memory: up to the
      L2's size in writes that its own work did not make. On the H100 an add of the D=64
      scan's 50 MB took 23.2 us so, 17.8 us with the L2 clean (72% and 94% of the 1 GB
      copy's bandwidth, graph replays; benchmarks/flush-ab-h100.json); every call of that
      size carried 3-9 us, baselines alike. Small next to a call that moves
      gigabytes.
    (scripts/flush_ab.py times calls under both.)
    """
    mode, source = (flush, "flush") if flush else (os.environ.get(FLUSH_ENV, "clean"), FLUSH_ENV)
    if mode not in FLUSH_MODES:
        raise ValueError(f"{source} must be one of {', '.join(map(repr, FLUSH_MODES))}, "
                         f"got {mode!r}")
    return mode


def _flusher(device: torch.device, mode: str) -> Callable[[], None]:
    """What empties the L2 before a repetition under flush ``mode`` (``flush_mode``)."""
    zeros = torch.empty(FLUSH_BYTES, dtype=torch.int8, device=device)
    if mode == "dirty":
        return zeros.zero_
    key = (device.type, device.index)
    if key not in _CLEAN_READS:  # (kept: 256 MB allocated and freed every call costs time)
        _CLEAN_READS[key] = torch.zeros(4 * FLUSH_BYTES, dtype=torch.int8, device=device)
    clean = _CLEAN_READS[key]

    def flush():
        zeros.zero_()
        clean.max()  # a read of all of it: one reduction kernel, its result unused
    return flush


def _end_aborted_capture() -> None:
    """An aborted capture (the call synchronised, say) never runs the CUDA generator's
    capture epilogue: every later random op then fails ("Offset increment outside graph
    capture"). An empty capture runs prologue and epilogue again."""
    try:
        with torch.cuda.graph(torch.cuda.CUDAGraph()):
            pass
    except Exception:  # noqa: BLE001 - best effort; the caller raises the real error
        pass


def _captured(fn: Callable[[], Any], warmup: int) -> Callable[[], Any]:
    """``fn`` captured in a CUDA graph (warmed up on a side stream first, as capture needs:
    compilation, cuBLAS workspaces); returns the replay."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(max(1, warmup)):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    try:
        with torch.cuda.graph(graph):
            fn()
    except Exception as e:  # noqa: BLE001 - say which mode failed, keep the cause
        _end_aborted_capture()
        raise RuntimeError(f"{TIMING_ENV}=graph: the call cannot be captured in a CUDA graph "
                           f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
                           ) from e
    return graph.replay


def time_ms(fn: Callable[[], Any], device: torch.device | str, *, warmup: int = 3,
            reps: int | None = None, budget_ms: float = 400.0, mode: str | None = None,
            flush: str | None = None) -> float:
    """Median milliseconds of ``fn()`` on ``device``.

    ``reps`` defaults to as many as fit in ``budget_ms`` (at least 3, at most 100), measured
    from the warm-up. A call that alone takes a third of the budget is warmed up once, not
    ``warmup`` times: the slow baselines (a Python loop, log-space at T = 2^20: seconds a
    call) would otherwise spend most of a suite's time warming up. On CUDA each repetition
    is bracketed by events; the L2 is flushed between repetitions so repeated runs do not
    measure the cache; ``timing_mode()`` says whether the host waits for each repetition
    before queuing the next, or whether what is timed is the replay of a CUDA graph of
    ``fn`` (the GPU's time alone); ``mode`` overrides it. ``flush_mode(flush)`` says how
    the L2 is flushed. Back to back, a call of at most a third of the budget is also timed
    at the host's pace (``host_pace_ms``, kept in ``LAST_PACE``) and the larger time is
    returned.
    """
    device = torch.device(device)
    mode = (mode or timing_mode()) if device.type == "cuda" else "cpu"
    fmode = flush_mode(flush)
    if mode == "graph":
        fn = _captured(fn, warmup)
    for _ in range(warmup):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        if (time.perf_counter() - t0) * 1e3 > budget_ms / 3:
            break  # long enough that one warm-up did what warming up does
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    once = max((time.perf_counter() - t0) * 1e3, 1e-3)
    n = reps or int(min(100, max(3, budget_ms / once)))
    times = []
    if device.type == "cuda":
        wait = mode == "isolated"
        empty_l2 = _flusher(device, fmode)
        events = []
        for _ in range(n):
            empty_l2()
            if wait:  # (the GPU idle when the call starts: see timing_mode)
                _sync(device)
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            fn()
            e.record()
            events.append((s, e))
            if wait:
                e.synchronize()
        _sync(device)
        times = [s.elapsed_time(e) for s, e in events]
    else:
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    LAST_TIMES[:] = times
    median = float(statistics.median(times))
    LAST_PACE[:] = []
    if mode == "back-to-back" and once <= budget_ms / 3:
        LAST_PACE.append(host_pace_ms(fn, device, min(n, PACE_CALLS)))
        median = max(median, LAST_PACE[0])
    return median


PACE_CALLS = 20  # calls issued back to back, unflushed, to find the host's pace (host_pace_ms)


def host_pace_ms(fn: Callable[[], Any], device: torch.device, calls: int) -> float:
    """Milliseconds a call of ``fn`` when ``calls`` of them are issued back to back with no
    flush between them: the host's pace where the host is slower than the GPU.

    ``time_ms``'s flush is GPU work queued before each timed call, so while the GPU empties
    the L2 the host is already issuing the call: the call's events miss up to the flush's
    GPU time (~110 us for "clean", ~25 us for "dirty") of its host work. A host-bound call's
    time is then this pace; a GPU-bound call's pace is its time with the L2 warm, below its
    flushed median, which stands (``time_ms`` takes the larger)."""
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    _sync(device)
    return (time.perf_counter() - t0) * 1e3 / calls


# The repetitions' times of the last ``time_ms`` call, for a suite that records their spread:
# a median alone hides whether every repetition was slower or a few were.
LAST_TIMES: list[float] = []
# The host's pace in the last back-to-back ``time_ms`` call (``host_pace_ms``), if measured:
# where it exceeds the events' median, the call was host-bound and the pace is its time.
LAST_PACE: list[float] = []


ROUNDS = 3  # fast calls of a comparison are timed in turns (see time_in_rounds)
SLOW_MS = 50.0  # a call slower than this is timed in the first round only


def time_in_rounds(fns: dict[str, Callable[[], Any]], device: torch.device | str, *,
                   rounds: int = ROUNDS, slow_ms: float = SLOW_MS, warmup: int = 2,
                   budget_ms: float = 150.0, each_round: Iterable[str] = ()) -> dict[str, list[float]]:
    """The calls of one comparison timed side by side: round r times each call once
    (``time_ms``) before round r + 1 starts, so a drift in the host's speed (a shared VM's
    CPU varies from second to second) falls on every method alike instead of on whichever
    was timed during it. Returns each call's times, one per round; a call slower than
    ``slow_ms`` is timed in the first round only, except those named in ``each_round``
    (Python loops of seconds, already warmed by a first call): they are timed in every
    round, one call each, since their speed is the host's and drifts with it. Ratios are
    then taken from medians of the same moments."""
    each_round = set(each_round)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for r in range(rounds):
        for name, fn in fns.items():
            if name in each_round:
                times[name].append(time_ms(fn, device, warmup=0, reps=1))
                continue
            if r and times[name][0] >= slow_ms:
                continue
            times[name].append(time_ms(fn, device, warmup=warmup if r == 0 else 1,
                                       budget_ms=budget_ms))
    return times


def record_rounds(rows: list[dict[str, Any]], times: dict[str, list[float]]) -> None:
    """Each row whose method was timed in rounds gets the median ``ms`` and ``ms_rounds``."""
    for row in rows:
        if row["method"] in times:
            row["ms"] = statistics.median(times[row["method"]])
            row["ms_rounds"] = times[row["method"]]


def copy_bandwidth_gbs(device: torch.device | str, nbytes: int = 1 << 30) -> float:
    """The device's measured copy bandwidth in GB/s, counting bytes read plus bytes written."""
    device = torch.device(device)
    if device.type != "cuda":
        nbytes = min(nbytes, 1 << 27)
    src = torch.randn(nbytes // 4, device=device)
    dst = torch.empty_like(src)
    # Back-to-back in every mode: the ceiling is the GPU's own copy speed. (A graph would
    # capture the copy as a memcpy node, which the copy engines run at ~2.7 TB/s on an
    # H200, not the SMs' ~4.2; isolated adds a launch to a 0.5 ms copy.)
    ms = time_ms(lambda: dst.copy_(src), device, mode="back-to-back")
    return 2 * nbytes / (ms * 1e-3) / 1e9


# nvidia-smi's names for what decides a kernel's pace besides the code: the SM and memory
# clocks, and why the SM clock is below its maximum (a bit mask: 0x1 idle, 0x4 software
# power cap, 0x20 software thermal slowdown, 0x40 hardware thermal, ...)
GPU_STATE_FIELDS = {"sm_mhz": "clocks.sm", "mem_mhz": "clocks.mem", "temp_c": "temperature.gpu",
                    "power_w": "power.draw", "slowdown": "clocks_event_reasons.active"}
# the slowdown field's name before driver 535, for an older driver that refuses the new one
OLD_SLOWDOWN_FIELD = "clocks_throttle_reasons.active"


def gpu_state(device: torch.device | str | None = None) -> dict[str, Any] | None:
    """The GPU's state now: clocks, temperature, power draw and the active slowdown reasons
    (``GPU_STATE_FIELDS``, from nvidia-smi), or None without a CUDA device or nvidia-smi.

    A benchmark records it beside a row, right after timing it, so that a row slower than
    the same code timed alone can be told apart from a GPU that was clocked down (a long run
    heats the GPU and draws power; the copy ceiling is measured at the start)."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type != "cuda":
        return None
    index = device.index if device.index is not None else torch.cuda.current_device()
    fields = list(GPU_STATE_FIELDS.values())
    for query in (fields, fields[:-1] + [OLD_SLOWDOWN_FIELD]):
        try:
            out = subprocess.run(["nvidia-smi", f"--id={nvidia_smi_id(index)}",
                                  "--format=csv,noheader,nounits",
                                  "--query-gpu=" + ",".join(query)],
                                 capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            return None
        if out.returncode == 0:
            return parse_gpu_state(out.stdout)
    return None


def nvidia_smi_id(index: int) -> str:
    """nvidia-smi's name for torch's CUDA device ``index``: nvidia-smi ignores
    CUDA_VISIBLE_DEVICES, so where that lists the GPUs (indices or UUIDs, both of which
    ``--id`` takes) torch's device i is its i-th entry."""
    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")
               if v.strip()]
    return visible[index] if index < len(visible) else str(index)


def parse_gpu_state(line: str) -> dict[str, Any] | None:
    """One CSV line of ``gpu_state``'s query as a dict (numbers as floats, the slowdown mask
    as nvidia-smi writes it; a field the driver cannot read, "[N/A]", as None)."""
    values = [v.strip() for v in line.strip().split(",")]
    if len(values) != len(GPU_STATE_FIELDS):
        return None
    state: dict[str, Any] = {}
    for key, v in zip(GPU_STATE_FIELDS, values):
        if key == "slowdown":
            state[key] = v if v.startswith("0x") else None
            continue
        try:
            state[key] = float(v)
        except ValueError:
            state[key] = None
    return state


def env_lengths(default: list[int]) -> list[int]:
    """RNNVIZ_BENCH_T="4096,512" limits a suite's sequence lengths (a short GPU run)."""
    v = os.environ.get("RNNVIZ_BENCH_T")
    return [int(t) for t in v.split(",")] if v else default


AUTOGRAD_THREADS_ENV = "RNNVIZ_AUTOGRAD_THREADS"  # "1" (torch's default) or "0"


def apply_autograd_threads() -> bool:
    """``RNNVIZ_AUTOGRAD_THREADS=0`` runs every backward of the run on the calling thread
    (``torch.autograd.set_multithreading_enabled(False)``), for every method alike. By
    default torch hands a CUDA backward to a device thread of its own; on a slow host that
    hand-off dominates small steps: the SRU step at l=128, d=512 took 1276 µs of wall time
    with it and 802 without (benchmarks/profile-host-h200.txt). Returns the setting, which
    ``provenance`` records."""
    value = os.environ.get(AUTOGRAD_THREADS_ENV, "1")
    if value not in ("0", "1"):
        raise ValueError(f"{AUTOGRAD_THREADS_ENV} must be '0' or '1', got {value!r}")
    torch.autograd.set_multithreading_enabled(value == "1")
    return value == "1"


TREE_COMMIT_ENV = "TREE_COMMIT"  # set where the checkout's .git is not the tree's (below)


def _commit() -> str | None:
    """The git commit of the code measured, "-dirty" when the tree has uncommitted changes
    (None outside a git checkout). A copy of a working tree may carry an older .git: the
    device tool's does, so there ``TREE_COMMIT`` says what the copy was made from
    (scripts/gpu_next.sh sets it from .whl/tree-commit, written here before each call)."""
    if os.environ.get(TREE_COMMIT_ENV):
        return os.environ[TREE_COMMIT_ENV]
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"],
                             capture_output=True, text=True,
                             timeout=10, cwd=os.path.dirname(os.path.abspath(__file__)))
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def host_speed_us(repeat: int = 7) -> dict[str, float]:
    """How fast this run's host is, in microseconds (the median of ``repeat``): a pure Python
    loop, ``sum(range(10000))``, and one ``torch.autograd.grad`` of ``(x * 2).sum()`` on a
    CPU scalar (the autograd engine's own fixed cost). On the device's VMs the first moved
    from 121 to 202 us between sessions, and small calls are host-bound: a run's times there
    compare with another run's only beside these two numbers."""
    x = torch.ones((), requires_grad=True)
    probes = {"sum_range_10000": lambda: sum(range(10000)),
              "autograd_grad": lambda: torch.autograd.grad((x * 2).sum(), x)}
    out = {}
    for name, fn in probes.items():
        fn()
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        out[name] = round(statistics.median(times) * 1e6, 1)
    return out


def provenance(suite: str, module: str | None = None) -> dict[str, Any]:
    """Where, when and with what a result was measured (``module``: what ran, a ``python -m``
    module or a script's path; by default the script run, or ``-m rnnviz.bench``)."""
    if module is None:
        script = sys.argv[0] if sys.argv else ""
        module = (os.path.relpath(script) if script.endswith(".py")
                  and os.path.basename(script) != "__main__.py" else "rnnviz.bench")
    info: dict[str, Any] = {
        "suite": suite,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        # the RNNVIZ_* settings first, as one would type them: they change what is measured
        "command": " ".join([f"{k}={v}" for k, v in sorted(os.environ.items())
                             if k.startswith("RNNVIZ_")]
                            + [os.path.basename(sys.executable)]
                            + ([module] if module.endswith(".py") else ["-m", module])
                            + sys.argv[1:]),
        "commit": _commit(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "host": platform.node(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_threads": torch.get_num_threads(),
        "timing": timing_mode(),
        "l2_flush": flush_mode(),
        # back to back, the larger of the events' median and the host's pace (files without
        # the field: the events' median alone)
        "host_pace": timing_mode() == "back-to-back",
        "autograd_multithreading": torch.autograd.is_multithreading_enabled(),
        "host_speed_us": host_speed_us(),
    }
    try:
        import triton

        info["triton"] = triton.__version__
    except ImportError:
        info["triton"] = None
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        try:
            info["driver"] = subprocess.run(
                ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            info["driver"] = None
        info["tf32"] = torch.backends.cuda.matmul.allow_tf32
    else:
        info["gpu"] = None
    return info


def write_result(suite: str, rows: list[dict[str, Any]], extra: dict[str, Any] | None = None,
                 out_dir: str | os.PathLike | None = None, module: str | None = None) -> Path:
    """Write ``{"provenance": ..., "rows": ...}`` to ``<out_dir>/<suite>-<gpu or cpu>.json``."""
    prov = provenance(suite, module)
    prov.update(extra or {})
    where = "cpu" if prov["gpu"] is None else prov["gpu"].replace("NVIDIA ", "").split()[0].lower()
    out = Path(out_dir or RESULTS_DIR)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{suite}-{where}.json"
    path.write_text(json.dumps({"provenance": prov, "rows": rows}, indent=1))
    return path


def progress(items: Iterable[Any], desc: str) -> Iterable[Any]:
    """``items`` with a progress bar on stderr (a suite's groups take seconds to minutes
    each on a GPU): tqdm's where it is installed, else a line per item with the time so far
    (the device image may lack tqdm)."""
    items = list(items)
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _progress_lines(items, desc)
    return tqdm(items, desc=desc, file=sys.stderr, unit="group")


def _progress_lines(items: list[Any], desc: str) -> Iterable[Any]:
    t0 = time.perf_counter()
    for i, item in enumerate(items):
        print(f"{desc} [{i + 1}/{len(items)}] {item} at {time.perf_counter() - t0:.0f} s",
              file=sys.stderr, flush=True)
        yield item


def save_partial(suite: str, rows: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> None:
    """With RNNVIZ_BENCH_PARTIAL=<folder>, write the rows measured so far to
    ``<folder>/<suite>-partial-<gpu>.json``: a GPU run cut off by its time limit keeps them."""
    folder = os.environ.get("RNNVIZ_BENCH_PARTIAL")
    if folder:
        write_result(f"{suite}-partial", rows, {**(extra or {}), "partial": True}, folder)


def load_result(path: str | os.PathLike) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def shipped_results() -> dict[str, Path]:
    """The GPU results shipped with the package (``rnnviz.results``), by file stem."""
    from importlib import resources

    root = resources.files("rnnviz.results")
    return {p.name[:-5]: Path(str(p)) for p in root.iterdir() if p.name.endswith(".json")}


def record_failure(fn: Callable[[], Any]) -> str | None:
    """Run ``fn`` once; None if it worked, else the error as one line (baselines that fail
    are recorded, not hidden)."""
    try:
        fn()
        return None
    except Exception as e:  # noqa: BLE001 - a baseline's failure is data here
        return f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
