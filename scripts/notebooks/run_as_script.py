"""Run notebooks' code cells as plain Python, one namespace per notebook, and time them.

For machines without Jupyter (the GPU device): needs only the packages the notebooks import.
Figures are built but not shown. Prints one line per notebook and writes a JSON summary.

    python scripts/notebooks/run_as_script.py notebooks/0[1-6]*.ipynb [--out timings.json]
"""
from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path


def run(path: Path) -> dict:
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    ns: dict = {"__name__": "__main__"}
    t0 = time.perf_counter()
    for i, cell in enumerate(cells):
        src = "".join(cell["source"])
        try:
            exec(compile(src, f"{path.name}[{i}]", "exec"), ns)  # noqa: S102 - our notebooks
        except Exception:  # noqa: BLE001 - reported, then the next notebook runs
            return {"notebook": path.name, "ok": False, "seconds": time.perf_counter() - t0,
                    "cell": i, "error": traceback.format_exc(limit=3)}
    return {"notebook": path.name, "ok": True, "seconds": time.perf_counter() - t0}


def main(argv: list[str]) -> int:
    out = None
    if "--out" in argv:
        k = argv.index("--out")
        out, argv = argv[k + 1], argv[:k] + argv[k + 2:]
    results = []
    for p in argv:
        r = run(Path(p))
        results.append(r)
        print(f"{r['notebook']:<28} {'ok' if r['ok'] else 'FAILED at code cell ' + str(r['cell'])}"
              f"  {r['seconds']:.1f} s", flush=True)
        if not r["ok"]:
            print(r["error"], flush=True)
        if out:  # after each notebook: a run cut short keeps what it measured
            Path(out).write_text(json.dumps(results, indent=1))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
