"""The whole instructor flow on a real nbgrader course directory: nbgrader generate_assignment,
release_assignment, students fetch + submit through nbgrader's exchange, nbgrader collect, then
`python -m autograder grade`, feedback, export (CSV and JSON), and a student's `check`."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import nbformat
import pytest

from autograder import notebook as nbmod
from course_helpers import FIXTURE_COURSE, REPO, make_course
from test_autograder_attacks import CORRECT, WRONG

A = "00_demo"
pytestmark = pytest.mark.slow


def _exchange(cls, cfg, **kw):
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    cd = CourseDirectory(config=cfg)
    for k, v in kw.items():
        setattr(cd, k, v)
    app = cls(coursedir=cd, authenticator=Authenticator(config=cfg), config=cfg)
    app.start()
    return app


def run_cli(*args, cwd=None, returncode=0):
    r = subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True, cwd=cwd,
                       timeout=300)
    assert r.returncode == returncode, r.stdout + r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    from nbgrader.exchange.default import (ExchangeCollect, ExchangeFetchAssignment, ExchangeReleaseAssignment,
                                           ExchangeSubmit)

    from autograder.course import load_config
    tmp = tmp_path_factory.mktemp("flow")
    root = make_course(tmp, FIXTURE_COURSE, [A])
    exchange = tmp / "exchange"
    exchange.mkdir()
    os.chmod(exchange, 0o777)
    cfg = load_config(root, **{"Exchange.root": str(exchange)})
    _exchange(ExchangeReleaseAssignment, cfg, assignment_id=A)
    students = {"alice": CORRECT, "bob": dict(CORRECT, softmax_answer=WRONG["softmax_answer"]),
                "carol": dict(CORRECT, linear_answer="def linear(x, W, b)\n    oops\n"),
                "dave": dict(WRONG, sigmoid_answer="np.allclose = lambda *a, **k: True\n" + WRONG["sigmoid_answer"])}
    for s, answers in students.items():
        home = tmp / "home" / s
        home.mkdir(parents=True)
        scfg = load_config(root, **{"Exchange.root": str(exchange), "Exchange.assignment_dir": str(home)})
        _exchange(ExchangeFetchAssignment, scfg, assignment_id=A)
        path = home / A / f"{A}.ipynb"
        nb = nbformat.read(path, as_version=4)
        for c in nb.cells:
            gid = nbmod.nbmeta(c).get("grade_id")
            if gid in answers:
                c.source = answers[gid]
        nbformat.write(nb, path)
        _exchange(ExchangeSubmit, scfg, assignment_id=A, student_id=s)
    _exchange(ExchangeCollect, cfg, assignment_id=A)
    out = run_cli("grade", A, "--course", str(root), "-j", "2", "--quiet")
    return tmp, root, out


def test_collect_put_submissions_in_place(flow):
    tmp, root, _ = flow
    for s in ("alice", "bob", "carol", "dave"):
        assert (root / "submitted" / s / A / f"{A}.ipynb").exists()


def test_gradebook_has_the_scores(flow):
    from nbgrader.api import Gradebook

    from autograder.course import load_config
    tmp, root, _ = flow
    cfg = load_config(root)
    with Gradebook(cfg.CourseDirectory.db_url, cfg.CourseDirectory.course_id) as gb:
        scores = {s: gb.find_submission(A, s).score for s in ("alice", "bob", "carol", "dave")}
    assert scores == {"alice": 10, "bob": 5, "carol": 7, "dave": 0}


def test_feedback_files(flow):
    tmp, root, _ = flow
    for s in ("alice", "bob", "carol", "dave"):
        html = (root / "feedback" / s / A / f"{A}.html").read_text()
        assert "test_sigmoid" in html and "1000.0" not in html
    fb = json.loads((root / "feedback" / "bob" / A / "feedback.json").read_text())
    t = {x["grade_id"]: x for x in fb["tests"]}
    assert "axis 1" in t["test_softmax"]["message"]
    assert t["test_softmax_hidden"]["message"] == "hidden test failed"
    assert "output_tail" not in json.dumps(fb)


def test_export_csv_and_json(flow):
    tmp, root, _ = flow
    rows = list(csv.DictReader(io.StringIO(run_cli("export", "--course", str(root)))))
    assert {r["student"]: float(r["score"]) for r in rows} == {"alice": 10, "bob": 5, "carol": 7, "dave": 0}
    data = json.loads(run_cli("export", "--course", str(root), "--format", "json"))
    bob = next(r for r in data if r["student"] == "bob")
    assert [t["grade_id"] for t in bob["tests"]][:2] == ["test_sigmoid", "test_softmax"]
    assert bob["tests"][1]["passed"] is False


def test_regrading_one_student_and_feedback_command(flow):
    tmp, root, _ = flow
    run_cli("grade", A, "--course", str(root), "--student", "alice", "--quiet")
    run_cli("feedback", A, "--course", str(root))
    assert (root / "feedback" / "alice" / A / "feedback.json").exists()


def test_self_check_on_a_fetched_notebook(flow):
    tmp, root, _ = flow
    out = run_cli("check", str(tmp / "home" / "bob" / A / f"{A}.ipynb"), returncode=1)  # a test fails
    assert "FAIL test_softmax" in out and "PASS test_sigmoid" in out
    assert "hint: softmax over axis 1" in out
    assert "visible tests: 4 / 7" in out
