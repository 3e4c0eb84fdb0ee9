"""A/B of the SRU backward's batch sum in the kernel (``SUM_B_IN_KERNEL``: one launch fewer a
training step) against the torch sum after it, on the GPU, in one process:

    python scripts/sru_sumb_ab.py OUT.json [ROUNDS]
    python scripts/sru_sumb_ab.py --warm D DTYPE ON   (compile one setting's kernels and time
                                                      nothing: processes side by side fill
                                                      Triton's cache for the timed run)

A one-layer SRU training step (the bench's ``_fwd_bwd``: forward, then the gradients of every
parameter and of x) at the paper's l = 128, B = 32, d = 256 and 512, fp32 and bf16 autocast,
timed back to back (where the step is the host's) and as graph replays (the GPU's time),
the two settings alternating over ROUNDS rounds (a VM's host speed drifts); the median
round of each is reported, with the largest difference between their gradients."""
from __future__ import annotations

import json
import statistics
import sys

import torch

from rnnviz.bench.core import time_ms
from rnnviz.bench.sru import _fwd_bwd
from rnnviz.kernels.sru import fused_recurrent
from rnnviz.models import SRU


def setting(d: int, dtype: str, dev: torch.device):
    """The model, input and training step of one setting (the same weights every time)."""
    torch.manual_seed(0)
    model = SRU(d, d, 1).to(dev)
    x = torch.randn(128, 32, d, device=dev, requires_grad=True)
    return _fwd_bwd(model, x, dtype)


def main() -> None:
    dev = torch.device("cuda")
    if sys.argv[1] == "--warm":
        fused_recurrent.SUM_B_IN_KERNEL = sys.argv[4] == "1"
        setting(int(sys.argv[2]), sys.argv[3], dev)()
        return
    out, rounds = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5
    rows = []
    for d in (256, 512):
        for dtype in ("fp32", "bf16"):
            step = setting(d, dtype, dev)
            grads, times = {}, {(on, mode): [] for on in (False, True)
                                for mode in ("back-to-back", "graph")}
            for r in range(rounds):
                for on in (False, True):
                    fused_recurrent.SUM_B_IN_KERNEL = on
                    if r == 0:
                        grads[on] = [g.float() for g in step()]
                    for mode in ("back-to-back", "graph"):
                        times[on, mode].append(1e3 * time_ms(step, dev, warmup=5, mode=mode))
            diff = max((a - b).abs().max().item() for a, b in zip(grads[False], grads[True]))
            for (on, mode), us in times.items():
                row = dict(d=d, dtype=dtype, sum_b_in_kernel=on, mode=mode,
                           us=statistics.median(us), rounds_us=us, max_abs_grad_diff=diff)
                rows.append(row)
                print(json.dumps({k: v for k, v in row.items() if k != "rounds_us"}), flush=True)
    fused_recurrent.SUM_B_IN_KERNEL = False
    json.dump({"rows": rows}, open(out, "w"), indent=1)


if __name__ == "__main__":
    main()
