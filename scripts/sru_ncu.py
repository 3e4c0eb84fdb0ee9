"""The SRU recurrence kernel's launches that ``benchmarks/sru-ncu-h200.txt`` profiles: the
inference forward (h stored, c not) at T=1024, B=32, H=1024, three fp32 launches then three
bf16 ones. Run under Nsight Compute on the GPU machine:

    ncu --kernel-name regex:sru_fwd --launch-skip 2 --launch-count 4 \\
        --section SpeedOfLight --section Occupancy --section WarpStateStats \\
        --section InstructionStats --section LaunchStats --section SchedulerStats \\
        --section MemoryWorkloadAnalysis python3 scripts/sru_ncu.py > sru-ncu.txt

(the last fp32 launch and the three bf16 ones); ``scripts/ncu_to_json.py`` makes the JSON.
"""
import torch

from rnnviz.kernels.sru import sru_fwd

dev = torch.device("cuda")
T, B, H = 1024, 32, 1024
for dt in (torch.float32, torch.bfloat16):
    U = torch.randn(T, B, 3 * H, device=dev, dtype=dt)
    x = torch.randn(T, B, H, device=dev, dtype=dt)
    wc = torch.randn(2 * H, device=dev) * 0.5
    bias = torch.randn(2 * H, device=dev)
    kw = dict(D=1, H=H, K=3, scale_x=1.0, tanh=True, batch_first=False)
    for _ in range(3):
        sru_fwd(U, x, wc, bias, None, None, store_c=False, record=False, **kw)
    torch.cuda.synchronize()
