"""Export grades for an LMS from nbgrader's gradebook: CSV (one row per student and assignment) or
JSON (the same rows with per-test detail).

The gradebook is the authority: a score changed by hand in formgrader is what exports (each test's
manual score replaces the automatic one, extra credit is added), with the student's name, email and
LMS id, the submission's timestamp, the assignment's due date, how late it was and the late penalty
of nbgrader's LateSubmissionPlugin (`c.LateSubmissionPlugin.penalty_method` in nbgrader_config.py,
or your own plugin class via `c.AssignLatePenalties.plugin_class`). The trusted grader's results
(autograded/<student>/<a>/ember-result.json) add the status and its reasons."""
from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

from .course import course_root, load_config
from .gradebook import late_penalty, late_plugin

COLUMNS = ["assignment", "student", "first_name", "last_name", "email", "lms_user_id", "timestamp",
           "duedate", "seconds_late", "raw_score", "late_penalty", "score", "max_score", "manual", "status",
           "reasons"]


def _iso(ts) -> str:
    return ts.isoformat(sep=" ") if ts is not None else ""


def collect(root, names=None) -> list[dict]:
    """One row per (assignment, student) known to the gradebook, plus per-test detail."""
    from nbgrader.api import Gradebook, MissingEntry

    from .store import load_results
    root = Path(course_root(root))
    cfg = load_config(root)
    plugin = late_plugin(cfg)
    rows = []
    with Gradebook(cfg.CourseDirectory.db_url, cfg.CourseDirectory.course_id) as gb:
        wanted = names or [a.name for a in gb.assignments]
        for a in sorted(wanted):
            try:
                assignment = gb.find_assignment(a)
            except MissingEntry:
                continue
            results = load_results(root, a)
            for student in sorted(gb.students, key=lambda s: s.id):
                row = {"assignment": a, "student": student.id, "first_name": student.first_name or "",
                       "last_name": student.last_name or "", "email": student.email or "",
                       "lms_user_id": student.lms_user_id or "", "duedate": _iso(assignment.duedate),
                       "max_score": float(assignment.max_score), "tests": [], "notes": []}
                try:
                    sub = gb.find_submission(a, student.id)
                except MissingEntry:
                    rows.append(row | {"timestamp": "", "seconds_late": 0.0, "raw_score": 0.0, "late_penalty": 0.0,
                                       "score": 0.0, "manual": False, "status": "missing", "reasons": []})
                    continue
                res = results.get(student.id, {})
                by_test = {t["grade_id"]: t for t in res.get("tests", [])}
                manual = False
                tests = []
                for nb in sub.notebooks:
                    for g in nb.grades:
                        t = dict(by_test.get(g.name, {"grade_id": g.name, "points": g.max_score}))
                        t["auto_score"] = g.auto_score
                        t["manual_score"] = g.manual_score
                        t["extra_credit"] = g.extra_credit or 0.0
                        t["score"] = float(g.score)
                        manual |= g.manual_score is not None or bool(g.extra_credit)
                        tests.append(t)
                raw = float(sub.score)
                late = float(sub.total_seconds_late or 0.0)
                penalty = late_penalty(plugin, student.id, raw, late)
                status = res.get("status", "not graded")
                if manual and status == "needs_attention":
                    status = "graded by hand"
                rows.append(row | {
                    "timestamp": _iso(sub.timestamp), "seconds_late": late, "raw_score": raw,
                    "late_penalty": penalty, "score": max(raw - penalty, 0.0), "manual": manual,
                    "status": status, "reasons": list(res.get("reasons", [])), "notes": list(res.get("notes", [])),
                    "tests": tests, "elapsed": res.get("elapsed")})
    return rows


def _cell(v):
    if isinstance(v, bool):
        return "yes" if v else ""
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return "; ".join(v)
    return v


def to_csv(rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([_cell(r.get(k, "")) for k in COLUMNS])
    return buf.getvalue()


def to_json(rows) -> str:
    return json.dumps(rows, indent=1, sort_keys=True, default=str)


def export_command(args) -> int:
    rows = collect(args.course, args.assignment)
    text = to_csv(rows) if args.format == "csv" else to_json(rows)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
    return 0
