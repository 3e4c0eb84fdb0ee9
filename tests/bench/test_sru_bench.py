"""The SRU benchmark: its record of why the official ``sru`` package failed, and what a run
cut off by its time limit keeps."""
from __future__ import annotations

from rnnviz.bench.sru import summarise_failure

JIT_NOTICE = ("/tmp/site/sru/cuda_functional.py:23: UserWarning: Just-in-time loading and "
              "compiling the CUDA kernels of SRU")


def test_the_exception_not_the_jit_warning_is_the_failure():
    text = "\n".join([JIT_NOTICE, "Traceback (most recent call last):", '  File "x.py"',
                      "ImportError: libcudart.so.11.0: cannot open shared object file"])
    assert summarise_failure(text, 1) == ("ImportError: libcudart.so.11.0: cannot open "
                                          "shared object file")


def test_the_compilers_complaint_comes_first():
    text = "\n".join([JIT_NOTICE, 'sru_cuda_kernel.cu(12): error: no suitable conversion '
                      'function from "const at::DeprecatedTypeProperties"',
                      "subprocess.CalledProcessError: Command ninja returned 1",
                      "RuntimeError: Error building extension 'sru_cuda'"])
    got = summarise_failure(text, 1)
    assert got.startswith("sru_cuda_kernel.cu(12): error: no suitable conversion")
    assert got.endswith("RuntimeError: Error building extension 'sru_cuda'")


def test_no_output_says_so():
    assert summarise_failure(JIT_NOTICE, -9) == "exit status -9, no output"


def test_the_device_runs_own_failure():
    """The output of `import sru` + one forward on the device's H200 (torch 2.11, CUDA 13):
    the extension does not compile, and the forward then raises."""
    from pathlib import Path

    text = (Path(__file__).parent / "data" / "sru-pkg-h200.log").read_text()
    got = summarise_failure(text, 1)
    assert got.startswith("/tmp/site/sru/csrc/sru_cuda_kernel.cu(845): error: no suitable "
                          'conversion function from "const at::DeprecatedTypeProperties"')
    assert got.endswith(" | RuntimeError: Caught an unknown exception!")


def test_a_run_cut_off_keeps_the_rows_measured_before_the_models(tmp_path, monkeypatch):
    """The partial file (RNNVIZ_BENCH_PARTIAL) holds the kernel rows, timed first, with each
    model group: a GPU run stopped by its time limit once lost them."""
    import json

    import torch

    from rnnviz.bench.sru import model_rows

    monkeypatch.setenv("RNNVIZ_BENCH_PARTIAL", str(tmp_path))
    kernel_row = {"method": "rnnviz-sru", "scope": "recurrence kernel", "ms": 1.0, "error": None}
    rows = model_rows(True, torch.device("cpu"), "not installed", before=[kernel_row])
    (path,) = tmp_path.glob("sru-partial-*.json")
    saved = json.loads(path.read_text())["rows"]
    assert saved[0] == kernel_row and saved[1:] == json.loads(json.dumps(rows))


def test_scan_rows_time_both_routes_at_each_length(monkeypatch):
    """The kernel against the scan route per (T, B); RNNVIZ_BENCH_T limits the lengths; the
    GPU's time alone (graph_ms) only where there is a GPU."""
    import torch

    from rnnviz.bench.sru import scan_rows

    rows = scan_rows(True, torch.device("cpu"))
    assert [(r["T"], r["B"], r["recurrence"]) for r in rows] == [
        (64, 1, "kernel"), (64, 1, "scan"), (64, 4, "kernel"), (64, 4, "scan")]
    assert all(r["ms"] > 0 and r["error"] is None and "graph_ms" not in r for r in rows)
    monkeypatch.setenv("RNNVIZ_BENCH_T", "8,16")
    rows = scan_rows(False, torch.device("cpu"))
    assert sorted({(r["T"], r["B"]) for r in rows}) == [(t, b) for t in (8, 16) for b in (1, 4, 32)]
    assert len(rows) == 12 and all(r["D"] == 256 for r in rows)


def test_kernel_rows_follow_the_lengths_asked_for(monkeypatch):
    """The kernel rows are at l = 1024: a run limited to l = 128 (RNNVIZ_BENCH_T) skips them,
    and the quick run keeps its own tiny shape."""
    import torch

    from rnnviz.bench.sru import kernel_rows

    monkeypatch.setenv("RNNVIZ_BENCH_T", "128")
    assert kernel_rows(False, torch.device("cpu"), 1.0) == []
    rows = kernel_rows(True, torch.device("cpu"), 1.0)
    assert [r["T"] for r in rows if r.get("scope") == "recurrence kernel"] == [64, 64, 64]
