"""An answer cell that hangs (or exits) at its top level after a correct definition: the cell is
re-run up to the statement that hung, so the definitions made before it keep their credit (as when
nbgrader interrupts the kernel), and the reason reaches the result, feedback and formgrader."""
from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest

from autograder import notebook as nbmod
from course_helpers import FIXTURE_COURSE, make_course, submit
from test_autograder_attacks import CORRECT

A = "00_demo"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("hang"), FIXTURE_COURSE, [A])
    src = nbformat.read(root / "source" / A / f"{A}.ipynb", as_version=4)
    students = {
        # a correct function, then a leftover loop
        "loops": dict(CORRECT, sigmoid_answer=CORRECT["sigmoid_answer"] + "\nwhile True:\n    pass\n"),
        # the loop first: what follows it was never defined, in a kernel either
        "loops_first": dict(CORRECT, softmax_answer="import time\nwhile True:\n    time.sleep(0.01)\n"
                            + CORRECT["softmax_answer"]),
        # exits the process after defining the function
        "exits": dict(CORRECT, linear_answer=CORRECT["linear_answer"] + "import os\nos._exit(3)\n"),
    }
    for s, answers in students.items():
        submit(root, s, A, nbmod.apply_replacements(src, answers))
    r = subprocess.run([sys.executable, "-m", "autograder", "grade", A, "--course", str(root), "--timeout", "3",
                        "-j", "2", "--quiet"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr          # graded, some need attention
    return root, {s: json.loads((root / "autograded" / s / A / "ember-result.json").read_text()) for s in students}


def _passed(res):
    return {t["grade_id"]: t["passed"] for t in res["tests"]}


def test_definitions_before_a_hang_keep_their_credit(graded):
    root, res = graded
    r = res["loops"]
    assert r["score"] == 10, r["tests"]
    assert any("time limit" in x and "'sigmoid_answer' at line 4" in x for x in r["reasons"]), r["reasons"]
    assert r["status"] == "needs_attention"


def test_what_follows_the_hang_is_not_defined(graded):
    root, res = graded
    p = _passed(res["loops_first"])
    assert p["test_sigmoid"] and p["test_linear"] and not p["test_softmax"]
    assert "time limit" in " ".join(res["loops_first"]["reasons"])


def test_an_exit_keeps_the_definitions_before_it(graded):
    root, res = graded
    assert res["exits"]["score"] == 10
    assert any("'linear_answer' at line 4" in x for x in res["exits"]["reasons"]), res["exits"]["reasons"]


def test_formgrader_and_feedback_show_the_time_limit(graded):
    root, res = graded
    nb = nbformat.read(root / "autograded" / "loops" / A / f"{A}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if nbmod.nbmeta(c).get("grade_id") == "sigmoid_answer")
    assert "time limit" in cell.outputs[0]["text"] and "NameError" not in json.dumps(nb)
    html = (root / "feedback" / "loops" / A / f"{A}.html").read_text()
    assert "time limit" in html and "10 / 10" in html
