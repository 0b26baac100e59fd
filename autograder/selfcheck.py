"""`python -m autograder check NOTEBOOK`: a self-learner grades their own notebook locally.

Runs the notebook's own code cells top to bottom in the sandbox (time and memory limits), with
checks comparing in place, and reports each visible test's points and message. Cells whose tests
are all hidden are reported as graded by the instructor only."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from . import notebook as nbmod
from .sandbox import Limits, run_steps


def self_check(path, limits: Limits | None = None) -> dict:
    path = Path(path)
    nb, err = nbmod.read_notebook_safely(path)
    if nb is None:
        return {"notebook": str(path), "error": err, "tests": [], "score": 0, "max_score": 0}
    steps = []
    for i, c in enumerate(nb.cells):
        if c.get("cell_type") != "code":
            continue
        kind = "test" if nbmod.is_test(c) else "answer"
        steps.append({"index": i, "kind": kind, "source": c.source, "grade_id": nbmod.nbmeta(c).get("grade_id"),
                      "hidden": False})
    files = [(f, f.name) for f in path.parent.iterdir() if f.is_file() and f.suffix != ".ipynb"]
    run = run_steps(steps, "local", limits or Limits(), files)
    tests = []
    for s in steps:
        if s["kind"] != "test":
            continue
        c = nb.cells[s["index"]]
        pts = float(nbmod.nbmeta(c).get("points") or 0)
        if "check." not in c.source:
            tests.append({"grade_id": s["grade_id"], "points": pts, "score": None, "passed": None,
                          "message": "hidden tests: graded by the instructor"})
            continue
        r = run.steps.get(s["index"], {})
        ok = r.get("status") == "ok"
        msg = ""
        if not ok:
            msg = f"{r.get('exc', r.get('status'))}: {r.get('msg') or r.get('reason', '')}".strip()
        tests.append({"grade_id": s["grade_id"], "points": pts, "score": pts if ok else 0.0, "passed": ok,
                      "message": msg})
    visible = [t for t in tests if t["passed"] is not None]
    return {"notebook": str(path), "tests": tests, "score": sum(t["score"] for t in visible),
            "max_score": sum(t["points"] for t in visible), "problems": run.attention}


def check_command(args) -> int:
    res = self_check(args.notebook, Limits(cell_timeout=args.timeout))
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    if res.get("error"):
        print(res["error"])
        return 1
    for t in res["tests"]:
        mark = "  -  " if t["passed"] is None else ("PASS " if t["passed"] else "FAIL ")
        pts = "" if t["score"] is None else f"{t['score']:g}/{t['points']:g}"
        print(f"{mark}{t['grade_id']:30s} {pts}")
        if t["message"] and t["passed"] is not None:
            for line in t["message"].splitlines():
                print("        " + line)
    for p in res.get("problems", []):
        print("problem:", p)
    print(f"visible tests: {res['score']:g} / {res['max_score']:g}")
    return 0
