"""`python -m autograder check`: names the unfinished function, explains hidden tests, blames an
earlier function, shows warnings cells emitted, and exits 1 when a visible test fails."""
from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from autograder.selfcheck import warnings_by_cell


def _cell(src, gid=None, solution=False, grade=False, points=0):
    c = nbformat.v4.new_code_cell(src)
    if gid:
        c.metadata["nbgrader"] = {"grade_id": gid, "solution": solution, "grade": grade, "locked": grade,
                                  "points": points, "schema_version": 3}
    return c


def _notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _cell("import warnings\nimport numpy as np"),
        _cell("def l2_loss(p, t):\n    return 2 * float(np.sum((p - t) ** 2))   # a factor 2 too many\n", "loss_answer", solution=True),
        _cell("def unfinished(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n", "todo_answer", solution=True),
        _cell("from autograder import check\ncheck.close(l2_loss(np.ones(2), np.zeros(2)), 2.0, hint='sum of squares')\n",
              "test_loss", grade=True, points=1),
        _cell("from autograder import check\nv = l2_loss(np.ones(3), np.zeros(3))\nwarnings.warn('reading .grad of a non-leaf')\n"
              "check.close(v + 1, 4.0)\n", "test_uses_loss", grade=True, points=1),
        _cell("from autograder import check\ncheck.close(unfinished(1.0), 1.0)\n", "test_todo", grade=True, points=1),
        _cell("from autograder import check\n# hidden tests are stripped from a student's copy\n", "test_hidden", grade=True, points=2),
        _cell("from autograder import check\ncheck.equal(1 + 1, 2)\n", "test_ok", grade=True, points=1),
    ]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_self_check_explains_each_failure(tmp_path):
    path = _notebook(tmp_path)
    r = subprocess.run([sys.executable, "-m", "autograder", "check", str(path)], capture_output=True, text=True,
                       timeout=300)
    out = r.stdout
    assert r.returncode == 1, out + r.stderr
    assert "PASS test_ok" in out and "FAIL test_loss" in out and "hint: sum of squares" in out
    assert "CheckFailed" not in out and "exactly 2 times the expected value" in out
    assert "`unfinished` (cell todo_answer) still raises NotImplementedError" in out
    assert "`l2_loss` is wrong" in out.split("FAIL test_uses_loss")[1].split("FAIL test_todo")[0]
    assert "warning: UserWarning: reading .grad of a non-leaf" in out
    assert "test_hidden" in out and "graded by your instructor" in out
    assert "visible tests: 1 / 4" in out


def test_warnings_are_grouped_by_cell():
    out = ("<cell test_x>:3: UserWarning: careful\n  more\n/lib/ember/tensor.py:10: DeprecationWarning: old\n"
           "<cell test_x>:3: UserWarning: careful\n")
    assert warnings_by_cell(out) == {"test_x": ["UserWarning: careful"], "": ["DeprecationWarning: old"]}


def test_relative_path_with_a_data_file(tmp_path):
    """The README's form, `check notebooks/x.ipynb` from the checkout: the data file beside the
    notebook reaches the sandbox (a relative source path once broke the copy into its new root)."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "data.txt").write_text("42")
    nb = nbformat.v4.new_notebook()
    nb.cells = [_cell("from autograder import check\ncheck.equal(open('data.txt').read(), '42')\n",
                      "test_data", grade=True, points=1)]
    nbformat.write(nb, folder / "nb.ipynb")
    r = subprocess.run([sys.executable, "-m", "autograder", "check", "notebooks/nb.ipynb"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "PASS test_data" in r.stdout, r.stdout + r.stderr
