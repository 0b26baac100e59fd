"""The trusted grader and nbgrader's gradebook in a real course directory: export with manual
grades, names and late penalties; feedback that `nbgrader release_feedback` can hand out; a
regrade after a test change; cached reference results; one owner of autograded/."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import nbformat
import pytest

from autograder import notebook as nbmod
from autograder.course import load_config
from course_helpers import FIXTURE_COURSE, make_course, submit
from test_autograder_attacks import CORRECT, WRONG

A = "00_demo"
pytestmark = pytest.mark.slow


def cli(*args, ok=(0, 1)):
    r = subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True, timeout=300)
    assert r.returncode in ok, r.stdout + r.stderr
    return r


def gradebook(root):
    from nbgrader.api import Gradebook
    cfg = load_config(root)
    return Gradebook(cfg.CourseDirectory.db_url, cfg.CourseDirectory.course_id)


@pytest.fixture()
def course(tmp_path):
    root = make_course(tmp_path, FIXTURE_COURSE, [A])
    src = nbformat.read(root / "source" / A / f"{A}.ipynb", as_version=4)
    submit(root, "alice", A, nbmod.apply_replacements(src, CORRECT), "2026-01-01 12:00:00.000000 UTC")
    submit(root, "bob", A, nbmod.apply_replacements(src, dict(CORRECT, softmax_answer=WRONG["softmax_answer"])),
           "2026-01-03 12:00:00.000000 UTC")
    (root / "submitted" / "bob" / A / "submission_secret.txt").write_text("bob-secret")
    (root / "submitted" / "alice" / A / "submission_secret.txt").write_text("alice-secret")
    cli("grade", A, "--course", str(root), "-j", "2", "--quiet")
    return root


def test_export_has_manual_grades_names_and_late_penalties(course):
    with open(course / "nbgrader_config.py", "a") as f:
        f.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    with gradebook(course) as gb:
        gb.update_or_create_student("bob", first_name="Bob", last_name="Builder", email="bob@example.org")
        gb.update_or_create_assignment(A, duedate="2026-01-02 00:00:00 UTC")
        gb.find_grade("test_softmax", A, A, "bob").manual_score = 2     # formgrader's manual grade
        gb.db.commit()
    cli("grade", A, "--course", str(course), "--student", "bob", "--quiet")  # a regrade keeps the hand score
    with gradebook(course) as gb:                                   # and records the penalty, as nbgrader does
        nb = gb.find_submission_notebook(A, A, "bob")
        assert nb.score == 7 and nb.late_submission_penalty == 7
        assert gb.find_submission_notebook(A, A, "alice").late_submission_penalty is None
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(cli("export", "--course", str(course)).stdout))}
    bob, alice = rows["bob"], rows["alice"]
    assert (bob["first_name"], bob["last_name"], bob["email"]) == ("Bob", "Builder", "bob@example.org")
    assert float(bob["raw_score"]) == 7 and bob["manual"] == "yes"         # 5 automatic + 2 by hand
    assert float(bob["seconds_late"]) == 36 * 3600
    assert float(bob["late_penalty"]) == 7 and float(bob["score"]) == 0    # "zero": late means no points
    assert float(alice["score"]) == 10 and float(alice["late_penalty"]) == 0
    assert alice["timestamp"].startswith("2026-01-01 12:00:00") and alice["duedate"].startswith("2026-01-02")
    data = json.loads(cli("export", "--course", str(course), "--format", "json").stdout)
    t = {x["grade_id"]: x for x in next(r for r in data if r["student"] == "bob")["tests"]}
    assert t["test_softmax"]["manual_score"] == 2 and t["test_softmax"]["auto_score"] == 0
    assert "axis 1" in t["test_softmax"]["message"]
    cli("feedback", A, "--course", str(course))      # students see the grade set by hand
    fb = json.loads((course / "feedback" / "bob" / A / "feedback.json").read_text())
    assert fb["score"] == 7 and fb["status"] == "reviewed"
    assert "set by your instructor" in next(t for t in fb["tests"] if t["grade_id"] == "test_softmax")["message"]


def test_feedback_goes_through_nbgraders_exchange(course, tmp_path):
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeFetchFeedback, ExchangeReleaseFeedback
    fb = course / "feedback" / "bob" / A
    assert (fb / "timestamp.txt").read_text() == "2026-01-03 12:00:00.000000 UTC"
    assert (fb / "submission_secret.txt").read_text() == "bob-secret"
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    cfg = load_config(course, **{"Exchange.root": str(exchange)})

    def run(cls, cfg, **kw):
        cd = CourseDirectory(config=cfg)
        for k, v in kw.items():
            setattr(cd, k, v)
        cls(coursedir=cd, authenticator=Authenticator(config=cfg), config=cfg).start()

    run(ExchangeReleaseFeedback, cfg, assignment_id=A)
    # bob's side: fetch_feedback finds his submission in his nbgrader cache (where `submit` left it)
    home, cache = tmp_path / "bob", tmp_path / "cache"
    mine = cache / "ember" / f"bob+{A}+2026-01-03 12:00:00.000000 UTC"
    mine.mkdir(parents=True)
    for f in ("timestamp.txt", "submission_secret.txt"):
        (mine / f).write_text((fb / f).read_text())
    (mine / f"{A}.ipynb").write_text("{}")
    scfg = load_config(course, **{"Exchange.root": str(exchange), "Exchange.assignment_dir": str(home),
                                  "Exchange.cache": str(cache)})
    run(ExchangeFetchFeedback, scfg, assignment_id=A, student_id="bob")
    pages = list(home.glob(f"{A}/feedback/*/{A}.html"))
    assert len(pages) == 1 and f"{A}: 5 / 10" in pages[0].read_text()


def _edit_tests(root, edit):
    path = root / "source" / A / f"{A}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for cell in nb.cells for c in edit(cell)]
    nbformat.write(nb, path)


def test_regrading_after_a_test_change_updates_the_gradebook(course):
    def edit(cell):
        gid = nbmod.nbmeta(cell).get("grade_id")
        if gid == "test_linear_hidden":
            return []                                          # a test removed
        if gid == "test_sigmoid":
            cell.metadata["nbgrader"]["points"] = 3            # points changed
            new = nbformat.from_dict(json.loads(json.dumps(cell)))
            new.metadata["nbgrader"].update(grade_id="test_sigmoid_again", points=1)
            new.id = "test-sigmoid-again"
            return [cell, new]                                 # a test added
        return [cell]

    _edit_tests(course, edit)
    cli("grade", A, "--course", str(course), "-j", "2", "--quiet")
    with gradebook(course) as gb:
        for student, want in (("alice", 11), ("bob", 6)):
            sub = gb.find_submission(A, student)
            grades = {g.name: (g.score, g.max_score) for g in sub.notebooks[0].grades}
            assert sub.max_score == 11 and sub.score == want, grades
            assert grades["test_sigmoid"] == (3, 3) and grades["test_sigmoid_again"] == (1, 1)
            assert "test_linear_hidden" not in grades


def test_reference_results_are_cached_per_source(course):
    from autograder import refcache
    cache = course / refcache.CACHE_DIR / f"reference-{A}.json"
    data = json.loads(cache.read_text())
    # poison the cached expected values: a regrade with the same source must use them (bob now fails
    # test_sigmoid), and a changed source must not (back to the true values)
    ref = refcache._dec(data["reference"])
    for rec in ref["test_sigmoid"]:
        rec["expected"] = -rec["expected"] - 1
    data["reference"] = refcache._enc(ref)
    cache.write_text(json.dumps(data))
    cli("grade", A, "--course", str(course), "--student", "bob", "--quiet")
    res = json.loads((course / "autograded" / "bob" / A / "ember-result.json").read_text())
    assert not next(t for t in res["tests"] if t["grade_id"] == "test_sigmoid")["passed"]
    _edit_tests(course, lambda c: [c] if nbmod.nbmeta(c).get("grade_id") != "intro" else
                [nbformat.from_dict(dict(c, source=c.source + "\n\nA new sentence."))])
    cli("grade", A, "--course", str(course), "--student", "bob", "--quiet")
    res = json.loads((course / "autograded" / "bob" / A / "ember-result.json").read_text())
    assert next(t for t in res["tests"] if t["grade_id"] == "test_sigmoid")["passed"]


def test_autograded_has_one_owner(course):
    import shutil
    # nbgrader autograde refuses students the trusted grader graded...
    env_path = subprocess.run([sys.executable, "-c", "import sys, os; print(os.path.dirname(sys.executable))"],
                              capture_output=True, text=True).stdout.strip()
    import os
    env = dict(os.environ, PATH=env_path + os.pathsep + os.environ.get("PATH", ""))
    r = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", A, "--force"], cwd=course, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "belongs to the trusted grader" in r.stdout + r.stderr
    assert (course / "autograded" / "alice" / A / "ember-result.json").exists()
    # ...and the trusted grader refuses to replace what nbgrader autograde wrote, unless asked
    shutil.rmtree(course / "autograded" / "bob")
    (course / "autograded" / "bob" / A).mkdir(parents=True)
    (course / "autograded" / "bob" / A / f"{A}.ipynb").write_text("{}")
    r = cli("grade", A, "--course", str(course), "--quiet", ok=(2,))
    assert "--replace-nbgrader" in r.stderr and "bob" in r.stderr
    cli("grade", A, "--course", str(course), "--quiet", "--replace-nbgrader")
    assert (course / "autograded" / "bob" / A / "ember-result.json").exists()
