"""Student feedback: feedback/<student>/<assignment>/<assignment>.html and feedback.json.

Only test names, points, pass/fail and trusted messages (never student output, never hidden test
code, inputs or expected values: hidden tests carry no message beyond pass/fail). Scores an
instructor changed in formgrader (manual score, extra credit) replace the automatic ones, so
`python -m autograder feedback A` after manual grading gives students the grade that exports."""
from __future__ import annotations

import html
import json
import os
from pathlib import Path

SAFE_KEYS = ("grade_id", "points", "score", "passed", "hidden", "message")


def student_view(res: dict, adjusted: dict | None = None) -> dict:
    """What the student may see; adjusted: {grade_id: score} set by hand in the gradebook."""
    adjusted = adjusted or {}
    tests = []
    for t in res["tests"]:
        v = {k: t[k] for k in SAFE_KEYS}
        if t["hidden"]:
            v["message"] = "hidden test failed" if not t["passed"] else ""
        if t["grade_id"] in adjusted:
            v["score"] = adjusted[t["grade_id"]]
            v["message"] = (v["message"] + "\n" if v["message"] else "") + "score set by your instructor"
        tests.append(v)
    return {
        "assignment": res["assignment"], "student": res["student"],
        "score": float(sum(t["score"] for t in tests)) if adjusted else res["score"],
        "max_score": res["max_score"],
        "status": "reviewed" if adjusted else res["status"], "reasons": list(res.get("reasons", [])),
        "tests": tests,
    }


_ADJUSTED: dict = {}


def manual_scores(root, assignment: str) -> dict:
    """{student: {grade_id: score}} for grades changed by hand in formgrader (read once per
    gradebook version)."""
    from nbgrader.api import Gradebook, MissingEntry

    from .course import load_config
    db = Path(root) / "gradebook.db"
    if not db.exists():
        return {}
    key = (str(db), db.stat().st_mtime_ns, assignment)
    if key not in _ADJUSTED:
        out = {}
        cfg = load_config(root)
        with Gradebook(cfg.CourseDirectory.db_url, cfg.CourseDirectory.course_id) as gb:
            try:
                subs = gb.find_assignment(assignment).submissions
            except MissingEntry:
                subs = []
            for sub in subs:
                for nb in sub.notebooks:
                    for g in nb.grades:
                        if g.manual_score is not None or g.extra_credit:
                            out.setdefault(sub.student.id, {})[g.name] = float(g.score)
        _ADJUSTED.clear()
        _ADJUSTED[key] = out
    return _ADJUSTED[key]


def render_html(view: dict) -> str:
    rows = []
    for t in view["tests"]:
        mark = "&#10004;" if t["passed"] else "&#10008;"
        kind = " (hidden)" if t["hidden"] else ""
        msg = f"<pre>{html.escape(t['message'])}</pre>" if t["message"] else ""
        rows.append(f"<tr class='{'pass' if t['passed'] else 'fail'}'><td>{mark}</td>"
                    f"<td>{html.escape(str(t['grade_id']))}{kind}</td><td>{t['score']:g} / {t['points']:g}</td>"
                    f"<td>{msg}</td></tr>")
    note = ""
    if view["status"] == "reviewed":
        note = "<p>Reviewed by your instructor.</p>"
    elif view["status"] != "graded":
        note = ("<p class='attention'>Your submission needs the instructor's attention: "
                + html.escape("; ".join(view["reasons"])) + "</p>")
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(view['assignment'])} feedback</title>
<style>body{{font-family:sans-serif;margin:2em}} td{{padding:4px 10px;vertical-align:top}}
tr.pass td:first-child{{color:#080}} tr.fail td:first-child{{color:#b00}} pre{{margin:0;white-space:pre-wrap}}
.attention{{color:#b60}}</style></head><body>
<h1>{html.escape(view['assignment'])}: {view['score']:g} / {view['max_score']:g}</h1>
{note}
<table><tr><th></th><th>test</th><th>points</th><th>message</th></tr>
{''.join(rows)}
</table></body></html>
"""


# nbgrader's release_feedback reads these beside the HTML (the secret names the exchange file that
# only this submission's student can find with fetch_feedback)
SUBMISSION_FILES = ("timestamp.txt", "submission_secret.txt")


def write_feedback(root, assignment: str, student: str, res: dict) -> Path:
    """feedback/<student>/<a>/: <a>.html, feedback.json and, from submitted/, the files that let
    `nbgrader release_feedback` put the HTML in the exchange for this student alone."""
    d = Path(root) / "feedback" / student / assignment
    d.mkdir(parents=True, exist_ok=True)
    try:
        adjusted = manual_scores(root, assignment).get(student)
    except Exception:  # no usable gradebook: the automatic scores
        adjusted = None
    view = student_view(res, adjusted)
    (d / f"{assignment}.html").write_text(render_html(view))
    (d / "feedback.json").write_text(json.dumps(view, indent=1, sort_keys=True))
    # readable by the student once release_feedback copies it (it keeps the mode), as nbgrader's own
    # generate_feedback leaves it; group-writable in a course shared by several staff accounts
    shared = Path(root).stat().st_mode & 0o2000
    want = 0o664 if shared else 0o644
    for f in (d / f"{assignment}.html", d / "feedback.json"):
        st = f.stat()
        if st.st_mode & 0o777 != want and st.st_uid == os.getuid():
            os.chmod(f, want)
    sub = Path(root) / "submitted" / student / assignment
    for name in SUBMISSION_FILES:
        if (sub / name).exists():
            (d / name).write_text((sub / name).read_text())
    return d
