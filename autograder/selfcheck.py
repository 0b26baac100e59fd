"""`python -m autograder check NOTEBOOK`: a self-learner grades their own notebook locally.

Runs the notebook's own code cells top to bottom in the sandbox (time and memory limits), with
checks comparing in place, and reports each visible test's points and message: which function still
raises NotImplementedError, which earlier function a failure depends on, and the warnings cells
emitted. Cells whose tests are all hidden are graded by the instructor only. Exits 1 when a visible
test fails."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from . import blame
from . import notebook as nbmod
from .sandbox import Limits, run_steps

HIDDEN = "graded by your instructor when you submit (hidden tests do not run here)"
_WARNING = re.compile(r"^(?:<cell (?P<cell>[^>]+)>|(?P<file>\S+)):(?P<line>\d+): (?P<cat>\w*Warning): (?P<msg>.*)$", re.M)


def _defines(src: str) -> set[str]:
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))} | {
        t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}


def _unfinished(nb) -> dict[str, str]:
    """{name: grade_id} of what answer cells still raising NotImplementedError define."""
    out = {}
    for c in nb.cells:
        if c.get("cell_type") == "code" and nbmod.is_answer(c) and "raise NotImplementedError" in c.source:
            for name in _defines(c.source):
                out[name] = nbmod.nbmeta(c).get("grade_id")
    return out


def _not_implemented(src: str, line, unfinished: dict) -> str:
    names = blame.used_before(src, line, unfinished) or blame.used_before(src, None, unfinished)
    if not names:
        return "not implemented yet (NotImplementedError): finish the answer cells above"
    listed = ", ".join(f"`{n}` (cell {unfinished[n]})" for n in names)
    return f"not implemented yet: {listed} still raises NotImplementedError: write your code where it says # YOUR CODE HERE"


def warnings_by_cell(output: str) -> dict[str, list[str]]:
    """Warnings printed while the cells ran, grouped by the cell (grade_id or index) that emitted
    them, or "" when raised inside a library."""
    out: dict[str, list[str]] = {}
    for m in _WARNING.finditer(output):
        text = f"{m['cat']}: {m['msg'].strip()}"
        key = m["cell"] or ""
        if text not in out.setdefault(key, []):
            out[key].append(text)
    return out


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
    unfinished = _unfinished(nb)
    defined = set()
    for c in nb.cells:
        if c.get("cell_type") == "code" and not nbmod.is_test(c):
            defined |= _defines(c.source)
    warned = warnings_by_cell(run.output)
    blamed: dict[str, str] = {}
    tests = []
    for s in steps:
        if s["kind"] != "test":
            continue
        c = nb.cells[s["index"]]
        gid = s["grade_id"]
        pts = float(nbmod.nbmeta(c).get("points") or 0)
        if "check." not in c.source:
            tests.append({"grade_id": gid, "points": pts, "score": None, "passed": None, "message": HIDDEN,
                          "warnings": warned.get(gid, [])})
            continue
        r = run.steps.get(s["index"], {})
        ok = r.get("status") == "ok"
        msg = ""
        if not ok:
            line = r.get("line")
            if r.get("exc") == "NotImplementedError":
                msg = _not_implemented(c.source, line, unfinished)
            else:
                msg = f"{r.get('exc', r.get('status'))}: {r.get('msg') or r.get('reason', '')}".strip()
                if r.get("exc") == "CheckFailed":       # the message says it all
                    msg = r.get("msg", "")
                if line:
                    earlier = [n for n in blame.used_before(c.source, line, defined) if blamed.get(n, gid) != gid]
                    if earlier:
                        msg = blame.fix_first(earlier) + "\n" + msg
                    for n in blame.suspects(c.source, line, defined):
                        blamed.setdefault(n, gid)
        tests.append({"grade_id": gid, "points": pts, "score": pts if ok else 0.0, "passed": ok,
                      "message": msg, "warnings": warned.get(gid, [])})
    visible = [t for t in tests if t["passed"] is not None]
    answer_warnings = {k: v for k, v in warned.items() if k not in {t["grade_id"] for t in tests}}
    return {"notebook": str(path), "tests": tests, "score": sum(t["score"] for t in visible),
            "max_score": sum(t["points"] for t in visible), "problems": run.attention,
            "warnings": answer_warnings, "failed": sum(1 for t in visible if not t["passed"])}


def check_command(args) -> int:
    res = self_check(args.notebook, Limits(cell_timeout=args.timeout))
    if args.json:
        print(json.dumps(res, indent=1))
        return 1 if res.get("error") or res.get("failed") else 0
    if res.get("error"):
        print(res["error"])
        return 1
    for t in res["tests"]:
        mark = "  -  " if t["passed"] is None else ("PASS " if t["passed"] else "FAIL ")
        pts = f"{t['points']:g} hidden: {HIDDEN}" if t["score"] is None else f"{t['score']:g}/{t['points']:g}"
        print(f"{mark}{t['grade_id']:30s} {pts}")
        for line in t["message"].splitlines() if t["message"] and t["passed"] is False else []:
            print("        " + line)
        for w in t.get("warnings", []):
            print("        warning: " + w)
    for cell, ws in res.get("warnings", {}).items():
        for w in ws:
            print(f"warning in {'cell ' + cell if cell else 'the library'}: {w}")
    for p in res.get("problems", []):
        print("problem:", p)
    print(f"visible tests: {res['score']:g} / {res['max_score']:g}")
    return 1 if res["failed"] else 0
