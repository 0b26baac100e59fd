"""Storing graded results: nbgrader's gradebook, autograded/ (the instructor's view of each
submission) and the result JSON. Each student's storing is one unit that may fail alone."""
from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat

from . import notebook as nbmod
from .course import source_notebook

RESULT_FILE = "ember-result.json"


def find_submissions(root: Path, assignment: str, students=None) -> dict:
    sub = Path(root) / "submitted"
    out = {}
    if not sub.is_dir():
        return out
    for sdir in sorted(sub.iterdir()):
        if not sdir.is_dir() or (students and sdir.name not in students):
            continue
        adir = sdir / assignment
        if adir.is_dir():
            out[sdir.name] = adir / f"{assignment}.ipynb"
    return out


def write_gradebook(root: Path, assignment: str, results: dict):
    from nbgrader.api import Gradebook

    from .course import load_config
    cfg = load_config(root)
    from nbgrader.coursedir import CourseDirectory
    cd = CourseDirectory(config=cfg)
    with Gradebook(cfg.CourseDirectory.db_url, cfg.CourseDirectory.course_id) as gb:
        for student, res in results.items():
            try:
                _gradebook_entry(gb, cd, assignment, student, res)
            except Exception as e:  # this student needs attention; the others are still written
                gb.db.rollback()
                needs_attention(res, f"gradebook not updated: {type(e).__name__}: {str(e)[:200]}")


def needs_attention(res: dict, reason: str):
    """Mark one student's result as needing the instructor's attention, with the reason."""
    res["status"] = "needs_attention"
    res.setdefault("reasons", []).append(reason)


def _gradebook_entry(gb, cd, assignment, student, res):
    """One student's scores and flag in nbgrader's gradebook."""
    from nbgrader.api import MissingEntry
    gb.update_or_create_student(student)
    src = cd.format_path(cd.submitted_directory, student, assignment)
    ts = cd.get_existing_timestamp(src) if os.path.isdir(src) else None
    if ts:
        gb.update_or_create_submission(assignment, student, timestamp=ts)
    else:
        gb.update_or_create_submission(assignment, student)
    for t in res["tests"]:
        try:
            g = gb.find_grade(t["grade_id"], assignment, assignment, student)
        except MissingEntry:
            continue
        g.auto_score = t["score"]
        g.needs_manual_grade = res["status"] != "graded"
    try:
        nb = gb.find_submission_notebook(assignment, assignment, student)
        nb.flagged = res["status"] != "graded"
    except MissingEntry:
        pass
    gb.db.commit()
    from .gradebook import set_late_penalty
    set_late_penalty(gb, cd.config, assignment, student)


def ensure_assignment_in_gradebook(root: Path, assignment: str):
    """The gradebook's tests match source/ (regenerated after a test change; see gradebook.py)."""
    from .gradebook import sync_gradebook
    sync_gradebook(root, assignment)


def write_autograded(root: Path, assignment: str, student: str, res: dict, source_nb, sub_path):
    """autograded/<student>/<a>/: the submission (instructor cells restored) with each test cell's
    result as its output, plus the full result JSON. Instructor-only, like nbgrader's."""
    d = _write_result(root, assignment, student, res)
    nb = None
    if sub_path and Path(sub_path).exists():
        nb, _ = nbmod.read_notebook_safely(sub_path)
    if nb is None:
        nb = nbformat.from_dict(json.loads(json.dumps(source_nb)))
    by_id = {nbmod.nbmeta(c).get("grade_id"): c for c in source_nb.cells if nbmod.nbmeta(c).get("grade_id")}
    tests = {t["grade_id"]: t for t in res["tests"]}
    seen = set()
    cells = []
    for c in nb.cells:
        gid = nbmod.nbmeta(c).get("grade_id")
        if gid in by_id and not nbmod.is_answer(by_id[gid]):
            if gid in seen:
                continue
            c = nbformat.from_dict(json.loads(json.dumps(by_id[gid])))
        else:
            c = _student_cell(c, by_id.get(gid))
        if gid:
            seen.add(gid)
        if c.get("cell_type") == "code":
            c["outputs"] = []
            c["execution_count"] = None
            stopped = [r for r in res.get("reasons", []) if gid and f" in cell {gid!r} at line " in r]
            if stopped:  # formgrader shows why the answer cell did not run to its end
                c["outputs"] = [nbformat.v4.new_output("stream", name="stderr", text="\n".join(stopped) + "\n")]
            if gid in tests:
                t = tests[gid]
                text = f"{'PASSED' if t['passed'] else 'FAILED'} {t['score']:g}/{t['points']:g}\n"
                if t["message"]:
                    text += t["message"] + "\n"
                c["outputs"] = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        cells.append(c)
    nb = nbformat.v4.new_notebook(cells=cells, metadata=json.loads(json.dumps(source_nb.metadata)))
    nbformat.write(nb, d / f"{assignment}.ipynb")
    ts = Path(root) / "submitted" / student / assignment / "timestamp.txt"
    if ts.exists():
        (d / "timestamp.txt").write_text(ts.read_text())


def _student_cell(c, instructor_cell):
    """A student's cell as instructors will render it: source only (HTML and link targets of
    markdown and raw cells neutralised), the instructor's metadata for an answer cell, no other
    metadata, attachments or outputs (formgrader shows nbconvert's HTML unsanitised)."""
    meta = json.loads(json.dumps(instructor_cell.metadata)) if instructor_cell is not None else {}
    src = c.get("source", "")
    if c.get("cell_type") == "code":
        return nbformat.v4.new_code_cell(src, metadata=meta)
    if c.get("cell_type") == "markdown":
        return nbformat.v4.new_markdown_cell(nbmod.safe_markdown(src), metadata=meta)
    return nbformat.v4.new_raw_cell(nbmod.safe_raw(src), metadata=meta)


def store_results(root, assignment, results, source_nb=None, subs=None, feedback=True):
    root = Path(root)
    if source_nb is None:
        source_nb = nbformat.read(source_notebook(root, assignment), as_version=4)
    subs = subs or find_submissions(root, assignment)
    from .feedback import write_feedback
    ensure_assignment_in_gradebook(root, assignment)
    for student, res in results.items():  # each student's files are one unit that may fail alone
        try:
            write_autograded(root, assignment, student, res, source_nb, subs.get(student))
            if feedback:
                write_feedback(root, assignment, student, res)
        except Exception as e:
            needs_attention(res, f"results not stored: {type(e).__name__}: {str(e)[:200]}")
            _store_fallback(root, assignment, student, res, feedback)
    write_gradebook(root, assignment, results)
    for student, res in results.items():
        if any(r.startswith("gradebook not updated") for r in res.get("reasons", [])):
            _store_fallback(root, assignment, student, res, feedback)


def _store_fallback(root, assignment, student, res, feedback):
    """After a storing failure: at least the result JSON and the feedback, saying why."""
    from .feedback import write_feedback
    for write in (lambda: _write_result(root, assignment, student, res),
                  lambda: feedback and write_feedback(root, assignment, student, res)):
        try:
            write()
        except Exception:
            pass


def _write_result(root, assignment, student, res) -> Path:
    """autograded/<student>/<a>/ with the result JSON in it; returns the folder."""
    d = Path(root) / "autograded" / student / assignment
    d.mkdir(parents=True, exist_ok=True)
    (d / RESULT_FILE).write_text(json.dumps(res, indent=1, sort_keys=True))
    return d


def load_results(root, assignment, students=None) -> dict:
    out = {}
    base = Path(root) / "autograded"
    if not base.is_dir():
        return out
    for sdir in sorted(base.iterdir()):
        f = sdir / assignment / RESULT_FILE
        if f.exists() and (not students or sdir.name in students):
            out[sdir.name] = json.loads(f.read_text())
    return out
