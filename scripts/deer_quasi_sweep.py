"""One quasi-DEER linearisation of a GRU on a GPU, the two ways rnnviz can run it.

    python scripts/deer_quasi_sweep.py [--out DIR] [--T 10000] [--B 1,16] [--D 16,64,128,256]

- "unfused": what the solver did before ``gru_gemm_linearize``: the shifted iterate
  (torch.cat), gh = h_{t-1} W_hh^T + b_hh (cuBLAS, tf32 off) and the fused elementwise
  kernel ``gru_linearize`` (mode "diag");
- "gemm-in-kernel": ``gru_gemm_linearize`` (mode "diag") under each tl.dot input precision and a few
  tiles (rows, state columns, K block).

For B in {1, 16}, D in {16, 64, 128, 256}: median ms and the max error of a and b against
the float64 torch linearisation, plus what the rest of a quasi iteration costs (the scan
and h + delta) for scale. Writes deer-quasi-sweep.json to --out.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from rnnviz.bench.core import bench_device, provenance, record_failure, time_ms
from rnnviz.deer.cells import GRUSpec
from rnnviz.kernels.deer import gru_gemm_linearize, gru_linearize
from rnnviz.ops.linear_scan import linear_scan

# (rows, state columns, K block[, warps]); None: gemm_plan's choice
TILES = [None, (64, 64, 32), (32, 32, 32), (32, 64, 64), (32, 128, 32), (16, 64, 32),
         (32, 64, 32, 8), (64, 64, 32, 8), (128, 64, 32, 8), (64, 128, 32, 8)]
PRECISIONS = [None, "tf32x3", "ieee", "tf32"]  # None: gemm_plan's choice


def _problem(B: int, T: int, D: int, dev: torch.device):
    cell = nn.GRUCell(D, D).to(dev)
    x = torch.randn(B, T, D, device=dev)
    h = torch.tanh(torch.randn(B, T, D, device=dev))
    h0 = torch.tanh(torch.randn(B, D, device=dev))
    return cell, x, h, h0


def _reference(cell, x, h, h0):
    """a, b in float64 from the torch linearisation at the shifted iterate."""
    c64 = GRUSpec(nn.GRUCell(cell.input_size, cell.hidden_size).to(x.device).double())
    c64.module.load_state_dict({k: v.double() for k, v in cell.state_dict().items()})
    with torch.no_grad():
        hp = torch.cat([h0[:, None], h[:, :-1]], 1).double()
        lin = c64.linearize(c64.prepare(x.double()), hp, h.double(), "diag")
    return lin.J, lin.b


def run(out: Path, T: int, Bs: list[int], Ds: list[int]) -> None:
    dev = bench_device()
    rows = []
    for B in Bs:
        for D in Ds:
            torch.manual_seed(D)
            cell, x, h, h0 = _problem(B, T, D, dev)
            spec = GRUSpec(cell)
            with torch.no_grad():
                gx, wd = spec.prepare(x)
                res = torch.zeros(1, device=dev)
                ref_a, ref_b = _reference(cell, x, h, h0)
                R = B * T

                def unfused():
                    hp = torch.cat([h0[:, None], h[:, :-1]], 1)
                    gh = F.linear(hp, cell.weight_hh, cell.bias_hh)
                    return gru_linearize(gx.view(R, -1), gh.view(R, -1), hp.view(R, D),
                                         h.view(R, D), cell.weight_hh, wd, res, "diag")

                a, b, _ = unfused()
                base = {"B": B, "T": T, "D": D}
                rows.append({**base, "variant": "unfused", "ms": time_ms(unfused, dev),
                             "err_a": (a.view_as(ref_a) - ref_a).abs().max().item(),
                             "err_b": (b.view_as(ref_b) - ref_b).abs().max().item()})
                print(rows[-1], flush=True)
                for prec in PRECISIONS:
                    for tiles in TILES if prec is None else [None]:
                        def fused(prec=prec, tiles=tiles):
                            return gru_gemm_linearize(gx.view(R, -1), h, h0, cell.weight_hh,
                                                      cell.bias_hh, wd, res, "diag", 1.0, False,
                                                      prec, tiles and tiles[:3],
                                                      num_warps=tiles[3] if tiles and len(tiles) > 3 else None)
                        name = f"gemm-in-kernel {prec or 'plan'} {tiles or 'plan'}"
                        error = record_failure(fused)  # a tile that does not compile
                        if error is None:
                            a, b, _ = fused()
                            rows.append({**base, "variant": name, "ms": time_ms(fused, dev),
                                         "err_a": (a.view_as(ref_a) - ref_a).abs().max().item(),
                                         "err_b": (b.view_as(ref_b) - ref_b).abs().max().item()})
                        else:
                            rows.append({**base, "variant": name, "error": error})
                        print(rows[-1], flush=True)
                delta = torch.randn_like(h)
                rows.append({**base, "variant": "rest: linear_scan(a, b)",
                             "ms": time_ms(lambda: linear_scan(a.view_as(h), b.view_as(h)), dev)})
                rows.append({**base, "variant": "rest: h + delta", "ms": time_ms(lambda: h + delta, dev)})
                print(rows[-2], rows[-1], flush=True)
            del cell, x, h, h0, gx, ref_a, ref_b
            torch.cuda.empty_cache()
    out.mkdir(parents=True, exist_ok=True)
    doc = {"provenance": provenance("deer-quasi-sweep"), "rows": rows}
    (out / "deer-quasi-sweep.json").write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(".out"))
    ap.add_argument("--T", type=int, default=10_000)
    ap.add_argument("--B", default="1,16", help="batch sizes, comma-separated")
    ap.add_argument("--D", default="16,64,128,256", help="state sizes, comma-separated")
    args = ap.parse_args()
    run(args.out, args.T, [int(b) for b in args.B.split(",")], [int(d) for d in args.D.split(",")])
