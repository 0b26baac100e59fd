"""How long each course notebook takes to run top to bottom, with its solutions (course/source).

    python bench/notebooks.py               # every assignment
    python bench/notebooks.py 01 06         # the ones whose name starts with these

Each notebook runs in a fresh kernel (nbclient, as `Run All` does), in its own folder, with the
environment this script has (so ember's one-BLAS-thread default applies, as in JupyterLab). The
target: under TARGET_S seconds each on a 2-core machine, also when it is busy. Printed: the time
per notebook (kernel start excluded), its three slowest cells, and whether it meets the target.
Exit status 1 if a notebook fails or misses it.
"""
from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "course" / "source"
TARGET_S = 20.0


def _cell_seconds(cell) -> float:
    t = cell.get("metadata", {}).get("execution", {})
    try:
        a = datetime.fromisoformat(t["iopub.execute_input"].replace("Z", "+00:00"))
        b = datetime.fromisoformat(t["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return 0.0
    return (b - a).total_seconds()


def run(path: Path) -> tuple:
    """(seconds for all cells, [(seconds, cell index, first line), ...] slowest first, error)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(path.parent)}})
    error = None
    with client.setup_kernel():
        t = time.perf_counter()
        try:
            for k, cell in enumerate(nb.cells):
                client.execute_cell(cell, k)
        except Exception as e:          # noqa: BLE001 - reported, and the bench fails
            error = f"{type(e).__name__}: {str(e).strip().splitlines()[-1][:200]}"
        total = time.perf_counter() - t
    cells = []
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            first = next((l for l in cell.source.splitlines() if l.strip()), "")[:60]
            cells.append((_cell_seconds(cell), k, first))
    cells.sort(reverse=True)
    return total, cells, error


def main(argv) -> int:
    paths = sorted(SOURCE.glob("*/*.ipynb"))
    if argv:
        paths = [p for p in paths if any(p.stem.startswith(a) for a in argv)]
    if not paths:
        print(f"no notebooks match {argv} in {SOURCE}")
        return 1
    bad = 0
    print(f"course notebooks with solutions, Run All in a fresh kernel (target < {TARGET_S:.0f} s)")
    for p in paths:
        total, cells, error = run(p)
        ok = error is None and total < TARGET_S
        bad += not ok
        verdict = "ok" if ok else ("FAILED" if error else "TOO SLOW")
        print(f"{p.stem:<28} {total:6.1f} s  {verdict}")
        for s, k, first in cells[:3]:
            print(f"    cell {k:3d} {s:6.2f} s  {first}")
        if error:
            print(f"    error: {error}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
