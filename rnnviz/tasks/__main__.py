"""``python -m rnnviz.tasks [TASK ...] [--steps N] [--max-seconds S] [--cells ...] [--out DIR]``

Train minGRU / minLSTM on the course's tasks and write what happened, with provenance, to
``<out>/tasks-<gpu or cpu>.json``: per task and cell, the sizes, the steps run, the time per
step, the loss every few steps, and the end result (accuracy on a fresh selective-copying
batch, validation loss of the character model).

The defaults are the sizes of a GPU run (``--quick``: the course's CPU sizes):

- selective copying as in Gu & Dao (2023), which Feng et al. (2024) train minGRU and minLSTM
  on: sequences of 4096 positions, 16 data tokens to copy, a vocabulary of 16, batch 64; here
  3 residual layers of width 64;
- the character model on the shipped text with nanoGPT's shakespeare-char context and batch
  (256, 64); here 3 layers of width 384.

What a 22-second run of each on the H200 showed (benchmarks/tasks-h200.json): the character
model's loss falls from 4.4 to 0.06 in about 1500 steps, memorising the shipped 277 KB text
(validation loss 5.1: a model this wide needs more text, or dropout); selective copying at
T = 4096 sits at ln 14 (a uniform guess among the data tokens) for 800-900 steps and has only
begun to fall (2.61 for minGRU): Feng et al. train it for 400k steps.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

import torch

from rnnviz.tasks.train import TrainResult, train_char_lm, train_selective_copying

TASKS = ("selective-copying", "char-lm")
CELLS = ("mingru", "minlstm")
GPU_SIZES = {"selective-copying": dict(batch_size=64, seq_len=4096, n_tokens=16, vocab_size=16,
                                       d_model=64, num_layers=3),
             "char-lm": dict(batch_size=64, seq_len=256, d_model=384, num_layers=3)}
QUICK_SIZES = {"selective-copying": dict(batch_size=32, seq_len=64, n_tokens=4, vocab_size=8,
                                         d_model=64, num_layers=2),
               "char-lm": dict(batch_size=16, seq_len=64, d_model=64, num_layers=2)}
LOSS_POINTS = 200  # the loss curve kept in the file, at most


def run_task(task: str, cell: str, sizes: dict[str, int], steps: int,
             max_seconds: float | None, device: torch.device, progress: bool) -> dict[str, Any]:
    """One training run; its row for the result file."""
    fn = train_selective_copying if task == "selective-copying" else train_char_lm
    res: TrainResult = fn(steps=steps, cell=cell, device=device, progress=progress,
                          max_seconds=max_seconds, **sizes)
    done = len(res.losses)
    every = max(1, done // LOSS_POINTS)
    smooth = res.smoothed(10)
    row = {"task": task, "cell": cell, "mode": "parallel", **sizes, "steps": steps,
           "steps_run": done, "seconds": res.seconds, "ms_per_step": 1e3 * res.seconds / done,
           "loss_first10": sum(res.losses[:10]) / min(10, done), "loss_last10": smooth[-1],
           "loss_every": every, "losses": res.losses[::every]}
    for k in ("accuracy", "val_loss"):
        if k in res.extra:
            row[k] = res.extra[k]
    return row


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m rnnviz.tasks", description=__doc__.split("\n")[0])
    p.add_argument("tasks", nargs="*", default=list(TASKS), help=f"of {TASKS} (default: both)")
    p.add_argument("--cells", nargs="+", default=list(CELLS), choices=CELLS)
    p.add_argument("--steps", type=int, default=2000, help="the schedule's length")
    p.add_argument("--max-seconds", type=float, default=None,
                   help="stop each run after this long (the row says where)")
    p.add_argument("--quick", action="store_true", help="the course's CPU sizes")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--out", default=None, help="directory for the JSON (default: benchmarks/)")
    args = p.parse_args(argv)
    bad = [t for t in args.tasks if t not in TASKS]
    if bad:
        p.error(f"unknown task(s) {bad}: expected some of {list(TASKS)}")
    from rnnviz.bench.core import bench_device, write_result

    device = bench_device()
    sizes = QUICK_SIZES if args.quick else GPU_SIZES
    rows, path = [], None
    for task in args.tasks:
        for cell in args.cells:
            row = run_task(task, cell, sizes[task], args.steps, args.max_seconds, device,
                           not args.no_progress)
            rows.append(row)
            end = (f"accuracy {row['accuracy']:.3f}" if "accuracy" in row
                   else f"val loss {row['val_loss']:.3f}")
            print(f"{task:18s} {cell:8s} {row['steps_run']:5d} steps, "
                  f"{row['ms_per_step']:.1f} ms/step, loss {row['loss_first10']:.3f} -> "
                  f"{row['loss_last10']:.3f}, {end}", flush=True)
            # after every run: a run cut short by a time limit keeps the ones before
            path = write_result("tasks", rows, {"sizes": sizes}, args.out, module="rnnviz.tasks")
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
