"""Export grades: CSV (one row per student and assignment) or JSON (with per-test detail)."""
from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

from .course import assignments, course_root


def collect(root, names=None) -> list[dict]:
    from .grade import load_results
    root = Path(course_root(root))
    names = names or assignments(root)
    rows = []
    for a in names:
        for student, r in load_results(root, a).items():
            rows.append(r)
    return rows


def to_csv(rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["assignment", "student", "score", "max_score", "status", "reasons"])
    for r in sorted(rows, key=lambda r: (r["assignment"], r["student"])):
        w.writerow([r["assignment"], r["student"], f"{r['score']:g}", f"{r['max_score']:g}", r["status"],
                    "; ".join(r.get("reasons", []))])
    return buf.getvalue()


def to_json(rows) -> str:
    keep = ("assignment", "student", "score", "max_score", "status", "reasons", "notes", "tests", "elapsed")
    return json.dumps([{k: r.get(k) for k in keep} for r in sorted(rows, key=lambda r: (r["assignment"], r["student"]))],
                      indent=1, sort_keys=True)


def export_command(args) -> int:
    rows = collect(args.course, args.assignment)
    text = to_csv(rows) if args.format == "csv" else to_json(rows)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
    return 0
