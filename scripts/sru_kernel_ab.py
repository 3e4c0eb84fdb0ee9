"""A/B/C of the SRU recurrence kernel: e5143ef's ("old"), the pointer-stream version 942b2ce ("mid")
and the working tree's ("new"), one process, l = d = 1024, B = 32, as the bench counts bytes.
"old" and "mid" are copied in beside the kernel first (git show e5143ef:kernels/sru/fused_recurrent.py
> kernels/sru/fused_recurrent_old.py, and 942b2ce's as fused_recurrent_mid.py). It made
benchmarks/sru-kernel-ab-h100.json (the device calls are in git history at 7ae88b7, scripts/gpu_next.sh).
Any other version NAME is timed the same way once copied in as kernels/sru/fused_recurrent_NAME.py;
the first kernel named is the one the others' outputs are compared with. A 4th argument keeps
only those passes ("fwd-inference,fwd-training"); WARM=1 in the environment runs each of them
once and times nothing (compiling the unrolled kernel takes a minute: processes started side by
side fill Triton's cache for the timed run). SHAPE=T,B,H in the environment times another shape
than l = d = 1024, B = 32."""
import importlib, json, os, sys, torch
from rnnviz.bench.core import time_ms, copy_bandwidth_gbs
# argv: the JSON's path, then optionally the dtypes and the kernels ("bfloat16 old,new")
DTYPES = [getattr(torch, n) for n in sys.argv[2].split(",")] if len(sys.argv) > 2 else [torch.float32, torch.bfloat16]
KERNELS = sys.argv[3].split(",") if len(sys.argv) > 3 else ["old", "mid", "new"]
PASSES = sys.argv[4].split(",") if len(sys.argv) > 4 else None
WARM = os.environ.get("WARM") == "1"
MODULES = {k: importlib.import_module("rnnviz.kernels.sru.fused_recurrent" + ("" if k == "new" else "_" + k))
           for k in KERNELS}
dev = torch.device("cuda"); copy = copy_bandwidth_gbs(dev)
T, B, H = (int(n) for n in os.environ.get("SHAPE", "1024,32,1024").split(","))
rows = []
for dt in DTYPES:
    U = torch.randn(T, B, 3 * H, device=dev, dtype=dt); x = torch.randn(T, B, H, device=dev, dtype=dt)
    wc = torch.randn(2 * H, device=dev) * 0.5; bias = torch.randn(2 * H, device=dev)
    kw = dict(D=1, H=H, K=3, scale_x=1.0, tanh=True, batch_first=False)
    e, n = U.element_size(), T * B * H
    outs = {}
    for name, m in MODULES.items():
        if WARM:  # compile the passes asked for, and nothing else
            c_all, gh = torch.zeros(T, B, H, device=dev), torch.zeros(T, B, H, device=dev, dtype=dt)
            for ps in PASSES:
                if ps == "bwd":
                    m.sru_bwd(U, x, wc, bias, None, None, c_all, gh, None, **kw)
                else:
                    m.sru_fwd(U, x, wc, bias, None, None, store_c=ps == "fwd-training", record=False, **kw)
            continue
        h, cn, c_all, _, _ = m.sru_fwd(U, x, wc, bias, None, None, store_c=True, record=False, **kw)
        gh = torch.randn(T, B, H, device=dev, dtype=dt) if "gh" not in outs else outs["gh"]
        outs["gh"] = gh
        g = m.sru_bwd(U, x, wc, bias, None, None, c_all, gh, None, **kw)
        outs[name] = (h.float(), cn, c_all, [t.float() if t is not None else None for t in g])
        cases = [("fwd-inference", lambda: m.sru_fwd(U, x, wc, bias, None, None, store_c=False, record=False, **kw), n * 5 * e),
                 ("fwd-training", lambda: m.sru_fwd(U, x, wc, bias, None, None, store_c=True, record=False, **kw), n * (5 * e + 4)),
                 ("bwd", lambda: m.sru_bwd(U, x, wc, bias, None, None, c_all, gh, None, **kw), n * (5 * e + 4 + 4 * e))]
        for ps, fn, nb in cases:
            if PASSES is not None and ps not in PASSES:
                continue
            for mode in ("back-to-back", "graph"):
                ms = time_ms(fn, dev, warmup=2, budget_ms=100, mode=mode)
                r = dict(kernel=name, dtype=str(dt)[6:], pass_=ps, mode=mode, us=ms * 1e3, frac_copy=nb / (ms * 1e-3) / 1e9 / copy)
                rows.append(r); print(json.dumps(r), flush=True)
    for k in KERNELS[1:] if not WARM else []:
        o, w = outs[KERNELS[0]], outs[k]
        diff = max([(o[0] - w[0]).abs().max().item(), (o[1] - w[1]).abs().max().item(), (o[2] - w[2]).abs().max().item()] +
                   [(a - b).abs().max().item() for a, b in zip(o[3], w[3]) if a is not None])
        r = {"dtype": str(dt)[6:], f"max_abs_diff_{KERNELS[0]}_{k}": diff}
        print(json.dumps(r), flush=True); rows.append(r)
json.dump({"copy_gbs": copy, "rows": rows}, open(sys.argv[1], "w"), indent=1)
