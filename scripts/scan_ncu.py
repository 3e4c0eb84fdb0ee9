"""The [B, T, D] scan forward's launches that Nsight Compute profiles at B=1, D=64, T=65536
(fp32, the shipped config: reduce-then-scan, three launches). Run on the GPU machine:

    ncu --kernel-name regex:"scan_(reduce|apply|channel)_kernel" --launch-skip 6 \\
        --launch-count 3 --cache-control none --section SpeedOfLight \\
        --section MemoryWorkloadAnalysis --section WarpStateStats --section Occupancy \\
        --section LaunchStats python3 scripts/scan_ncu.py > scan-ncu.txt

``--cache-control none`` leaves the L2 as the launches before left it, as in a real call:
the apply launch reads a and b a second time, mostly from the L2 (33.5 MB of a 50 MB L2).
RNNVIZ_NCU_SHAPE (BxTxD) profiles another shape. Why the D=64 forward stays at 43% of copy
(its reduce at about 78%) is what this is for (benchmarks/README, "Still to run").
"""
import os

import torch

from rnnviz.kernels.linear_scan import scan_fwd

B, T, D = map(int, os.environ.get("RNNVIZ_NCU_SHAPE", "1x65536x64").split("x"))
dev = torch.device("cuda")
a = torch.rand(B, T, D, device=dev).mul_(0.5).add_(0.5)
b = torch.randn(B, T, D, device=dev)
for _ in range(3):  # three launches a call: the third call's are profiled (launch-skip 6)
    scan_fwd(a, b)
torch.cuda.synchronize()
