"""The device scripts: a call on the GPU machine is scarce (minutes a session), so a script
that fails to parse, or a stage its usage names but its case does not run, wastes one."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "scripts").glob("*.sh"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_every_device_script_parses(script):
    out = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert out.returncode == 0, f"{script.name}: {out.stderr}"


def test_gpu_next_runs_every_stage_it_names():
    """The stages in the usage line, the accepted ones and the case's branches agree, and
    each stage is documented in the header."""
    text = (ROOT / "scripts" / "gpu_next.sh").read_text()
    accepted = re.search(r'case "\$1" in ([\w|]+)\) ;;', text).group(1).split("|")
    usage = re.search(r"usage: bash scripts/gpu_next.sh ([\w|]+)", text).group(1).split("|")
    branches = re.findall(r"^  ([\w|]+)\)$", text, flags=re.M)
    ran = [s for b in branches for s in b.split("|")]
    # a stage named twice runs its first branch only (a call of 2026-12-06 ran an old stage so)
    assert len(ran) == len(set(ran)), sorted(s for s in ran if ran.count(s) > 1)
    ran = set(ran)
    assert accepted == usage and set(accepted) == ran, (accepted, usage, ran)
    header = [line for line in text.splitlines() if line.startswith("#")]
    for stage in accepted:
        assert any(f"gpu_next.sh {stage}" in line for line in header), f"{stage} undocumented"


def test_gpu_next_bash_rejects_an_unknown_stage(tmp_path):
    out = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_next.sh"), "nonsense"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2 and "usage" in out.stdout


def test_scan_entry_ab_variants_launch_what_they_ask(monkeypatch):
    """Every candidate of scripts/scan_entry_ab.py, put in the table as the script puts it
    (``use``), plans launches that its own check (``ran_as_asked``) accepts, at the D=64
    class it was written for and at B=4, D=256: a candidate that failed it would end a GPU
    call with nothing timed."""
    import importlib.util

    import rnnviz.kernels.linear_scan.launch as launch

    spec = importlib.util.spec_from_file_location("scan_entry_ab",
                                                  ROOT / "scripts" / "scan_entry_ab.py")
    ab = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ab)
    monkeypatch.setattr(launch, "interpreting", lambda: False)
    monkeypatch.setattr(launch, "gpu_key", lambda index=None: "H100")
    monkeypatch.setattr(launch, "_tuned_for", launch._tuned_for)  # (restored after)

    def launches(B, T, D, backward, elem):
        cfg = launch.choose_config(B, T, D, elem, backward=backward)
        s = (T * D, D, 1)
        flags = (False, False, backward, backward, backward, False)
        plan = launch._plan(cfg, (B, T, D), s, s, s, flags, False)
        plans = [*plan.before[:2], plan] if plan.before else [plan]
        return [(p.kernel.kernel.fn.__name__, bool(p.constexprs.get("launch_pdl")),
                 bool(p.constexprs.get("SPLIT")), p.constexprs.get("VEC", 0),
                 bool(p.constexprs.get("PACKED")),
                 (p.constexprs.get("AHEAD", 0), bool(p.constexprs.get("EVICT_LAST"))),
                 bool(p.constexprs.get("FEWER_TRIPS")))
                for p in plans]

    shipped = launch._tuned_for
    # (variants that keep the rest of their own class's entry are checked in that class)
    d64 = [n for n in ab.VARIANTS
           if not n.startswith("medium") and n not in ("split16", "mh32pk8b", "h200long", "pfh264kb",
                                                           "pfh264kbft", "ftfew", "ftfewh")
           and not n.startswith(("ftfew32", "ftfewh"))]
    for shape, names, elem in [((1, 65536, 64), d64, 4), ((1, 65536, 64), ["ch64h", "ch64hr8", "ch64hr32", "rtsh"], 2),
                               ((1, 2 ** 20, 16), ["shipped", "split16", "ch32", "ch32f", "ftfew",
                                                 "ftfew32r8", "ftfew32r16", "ftfew32r32"], 4),
                               ((1, 2 ** 20, 16), ["shipped", "ftfew32r16b", "rtsfew"], 4),
                               ((2, 131072, 8), ["shipped", "ftfew32r16b", "rtsfew"], 4),
                               ((1, 2 ** 20, 16), ["shipped", "ftfewh", "ftfewh16", "ftfewh32"], 2),
                               ((4, 16384, 256), ["shipped", "mediumscan", "mediumsplit", "ch32",
                                                  *ab.MEDIUM_LOOKBACK, "m1lbr16b", "lbseg",
                                                  "mediumpk4", "mediumpk8", "mediumpk16",
                                                  "mediumpk8b", "m1lbr8lb8", "m1lbr8lb4",
                                                  "m1lbr16lb8", "pf132", "pf264", "pf528",
                                                  "pf264k", "ft"], 4),
                               ((4, 16384, 256), ["shipped", "m1lbr16b", *ab.MEDIUM_LOOKBACK_BF16,
                                                  "mh32pk8", "mh32pk16", "mh32pk8b", "pfh264",
                                                  "pfh264k", "pfh264kb", "pfh264kbft", "pfh264kft"], 2),
                               ((4, 131072, 256), ["shipped", "h200long", "mh32", "mh32pk8",
                                                   "mh16lb4", "mh32lb8", "pfh264", "pfh528",
                                                   "pfh264k", "pfh264kf", "pfh264kft"], 2),
                               ((4, 131072, 256), ["shipped", "mediumscan", "mediumsplit", "ch32",
                                                   "m1lbr16", "m1lbr16b", "lbseg", "pf264"], 4)]:
        for variant in names:
            launch._tuned_for = shipped
            ab.use(variant, *shape, elem)
            made = launches(*shape, False, elem) + launches(*shape, True, elem)
            assert ab.ran_as_asked(variant, made), (variant, shape, made)
    launch._tuned_for = shipped
    launch.forget_choices()
    # and it does refuse launches not its own
    none = (0, False)
    assert not ab.ran_as_asked("split", [("scan_reduce_kernel", True, False, 0, False, none, False)])
    assert not ab.ran_as_asked("ch32", [("scan_reduce_kernel", True, False, 0, False, none, False),
                                        ("scan_apply_kernel", True, False, 0, False, none, False)])
    assert not ab.ran_as_asked("mediumpk8",
                               [("scan_seqpar_kernel", False, False, 0, False, none, False)] * 2)
    assert not ab.ran_as_asked("pf264k",
                               [("scan_seqpar_kernel", False, False, 0, False, (264, False), False)] * 2)
    assert not ab.ran_as_asked("ft", [("scan_seqpar_kernel", False, False, 0, False, none, False)] * 2)


def test_mingru_trips_ab_shapes_take_the_look_back(monkeypatch):
    """scripts/mingru_trips_ab.py times minGRU's look-back: each of its shapes, in each dtype,
    must take the sequence path (it stops at one that does not, on the GPU, after its start)."""
    import sys

    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    monkeypatch.delitem(sys.modules, "mingru_trips_ab", raising=False)
    import mingru_trips_ab

    from rnnviz.kernels.mingru import choose_config

    for B, T, H in mingru_trips_ab.shapes_from_env():
        for dtype in mingru_trips_ab.DTYPES.values():
            assert choose_config(B, T, H, dtype.itemsize).path == "sequence", (B, T, H, dtype)
    monkeypatch.setenv("RNNVIZ_AB_SHAPES", "1x4096x64;2x1024x8")
    assert mingru_trips_ab.shapes_from_env() == [(1, 4096, 64), (2, 1024, 8)]
