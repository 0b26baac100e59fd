"""Synthetic students against the trusted grader: correct, partial, broken, and every attack in
the issue. All submissions are graded in one parallel batch (a session fixture); each test then
checks one student's recorded outcome."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import nbformat
import pytest

from autograder import notebook as nbmod
from autograder.sandbox import Limits, isolation_mode, uid_isolation_problem
from course_helpers import FIXTURE_COURSE, copy_nb, make_course, submit

A = "00_demo"
pytestmark = pytest.mark.slow  # one parallel batch of ~45 submissions (~40 s)
ISOLATION = isolation_mode(Limits())  # "uid" as root, "userns" as a user where the kernel allows it
needs_isolation = pytest.mark.skipif(ISOLATION == "none", reason="needs root or unprivileged user namespaces "
                                     f"(private uids: {uid_isolation_problem()})")
needs_private_uid = pytest.mark.skipif(ISOLATION != "uid", reason="needs a private uid per submission, as root: "
                                       f"{uid_isolation_problem()}")

# wrong but harmless answers: every attack below is combined with these, so any credit is stolen
WRONG = {
    "sigmoid_answer": "def sigmoid(x):\n    return np.zeros_like(x)\n",
    "softmax_answer": "def softmax(z):\n    return np.zeros_like(z)\n",
    "linear_answer": "def linear(x, W, b):\n    return np.zeros((x.shape[0], W.shape[1]))\n",
}
CORRECT = {
    "sigmoid_answer": "def sigmoid(x):\n    return 1.0 / (1.0 + np.exp(-x))\n",
    "softmax_answer": ("def softmax(z):\n    e = np.exp(z - z.max(axis=1, keepdims=True))\n"
                      "    return e / e.sum(axis=1, keepdims=True)\n"),
    "linear_answer": "def linear(x, W, b):\n    return SCALE * (x @ W + b)\n",
}


def attack(code, base=WRONG, cell="sigmoid_answer"):
    """Answers from base, with `code` put in front of one answer cell."""
    d = dict(base)
    d[cell] = textwrap.dedent(code) + "\n" + d[cell]
    return d


def read_solution(course: str) -> dict:
    """Wrong answers, plus code that runs the solution cells it finds in the course directory."""
    return attack(f"""
        import json, glob
        _code = ""
        for p in [{course!r} + "/source/00_demo/00_demo.ipynb", {course!r} + "/release/00_demo/00_demo.ipynb"] + \\
                glob.glob({course!r} + "/autograded/*/00_demo/*.json"):
            try:
                nb = json.load(open(p))
                _code += "\\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"
                                    and c["metadata"].get("nbgrader", {{}}).get("solution"))
            except Exception:
                pass
        if _code:
            exec(_code.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""), globals())
        """, WRONG, cell="linear_answer")


def write_gradebook(course: str) -> dict:
    """Wrong answers, plus code that overwrites the gradebook and grade files."""
    return attack(f"""
        import os
        for p in [{course!r} + "/gradebook.db", {course!r} + "/autograded/write_gradebook/00_demo/ember-result.json",
                  {course!r} + "/feedback/write_gradebook/00_demo/feedback.json"]:
            try:
                os.makedirs(os.path.dirname(p), exist_ok=True)
                open(p, "w").write("hacked")
            except OSError:
                pass
        """)


def _src(root):
    return nbformat.read(root / "source" / A / f"{A}.ipynb", as_version=4)


def build_students(root: Path) -> dict:
    src = _src(root)
    course = str(root)
    S = {}
    # --- ordinary students
    S["correct"] = CORRECT
    S["all_wrong"] = WRONG
    S["partial"] = dict(CORRECT, softmax_answer=WRONG["softmax_answer"])
    S["broken_syntax"] = dict(CORRECT, sigmoid_answer="def sigmoid(x)\n    return x\n")
    S["noisy_warnings"] = attack("""
        import warnings, sys
        warnings.warn("a deprecation the student ignores", DeprecationWarning)
        warnings.warn("some UserWarning")
        print("noise on stderr", file=sys.stderr)
        """, CORRECT)
    # --- attacks that must earn nothing (answers are all wrong)
    S["patch_numpy"] = attack("""
        np.allclose = lambda *a, **k: True
        np.array_equal = lambda *a, **k: True
        np.isclose = lambda *a, **k: np.ones(np.shape(a[0]), bool)
        np.testing.assert_allclose = lambda *a, **k: None
        """)
    S["patch_check_helpers"] = attack("""
        import autograder.check as c, autograder.compare as m, autograder
        c.close = lambda *a, **k: None
        c.equal = lambda *a, **k: None
        m.compare = lambda *a, **k: (True, "")
        m.plain = lambda x, *a: 0.0
        """)
    S["forward_expected"] = attack("""
        import autograder.check as c
        _orig = c._check
        def _fake(kind, got, expected, rtol, atol, hint):
            return _orig(kind, expected, expected, rtol, atol, hint)
        c._check = _fake
        """)
    S["patch_builtins"] = attack("""
        import builtins, types
        _imp = builtins.__import__
        fake = types.ModuleType("autograder")
        fake.check = types.SimpleNamespace(close=lambda *a, **k: None, equal=lambda *a, **k: None)
        def _import(name, *a, **k):
            return fake if name == "autograder" else _imp(name, *a, **k)
        builtins.__import__ = _import
        builtins.AssertionError = type("Nope", (Exception,), {})
        """)
    S["input_transformer"] = attack("""
        try:
            ip = get_ipython()
            ip.input_transformers_cleanup.append(lambda lines: [])
            ip.input_transformers_post.append(lambda lines: [])
        except Exception:
            pass
        import sys
        sys.settrace(lambda *a: None)
        """)
    S["cell_magics"] = attack("""
        %config InlineBackend.figure_format = 'retina'
        !echo PASSED 10/10
        %load_ext autoreload
        """)
    S["magic_cell"] = dict(WRONG, sigmoid_answer="%%capture\n" + WRONG["sigmoid_answer"])
    S["fake_results"] = attack("""
        import os, struct, json, sys
        print("test_sigmoid PASSED 2/2\\nscore: 10/10")
        for idx in range(12):
            h = json.dumps({"event": "done", "index": idx, "status": "ok", "records": [], "blobs": []}).encode()
            p = struct.pack("<I", len(h)) + h
            for fd in range(3, 12):
                try:
                    os.write(fd, struct.pack("<Q", len(p)) + p)
                except OSError:
                    pass
        """)
    S["liar_objects"] = dict(WRONG, sigmoid_answer=textwrap.dedent("""
        class Liar:
            shape = (3, 4)
            def __eq__(self, o): return True
            def __array__(self, *a, **k): raise TypeError
            def detach(self): return self
            def numpy(self): return self
        class LiarArray(np.ndarray):
            def __eq__(self, o): return np.ones(self.shape, bool)
        def sigmoid(x):
            return Liar() if x.ndim == 2 else np.zeros_like(x).view(LiarArray)
        """), softmax_answer="def softmax(z):\n    return np.full(z.shape, np.nan)\n",
        linear_answer="class F(float):\n    def __eq__(self, o): return True\n"
                      "def linear(x, W, b):\n    return [[F(0.0)] * W.shape[1]] * x.shape[0]\n")
    S["seed_tampering"] = attack("""
        class ZeroRng:
            def normal(self, *a, size=None, **k): return np.zeros(size)
            def __getattr__(self, n): return lambda *a, size=None, **k: np.zeros(size)
        np.random.default_rng = lambda *a, **k: ZeroRng()
        np.random.seed = lambda *a, **k: None
        """, dict(WRONG, sigmoid_answer="def sigmoid(x):\n    return np.full(np.shape(x), 0.5)\n"))
    S["edit_tests"] = "EDIT_TESTS"
    S["delete_tests"] = "DELETE_TESTS"
    S["read_solution"] = read_solution(course)
    if ISOLATION != "none":  # without isolation it would succeed, and break grading for the rest
        S["write_gradebook"] = write_gradebook(course)
    S["hidden_leak"] = dict(WRONG, linear_answer=textwrap.dedent("""
        def linear(x, W, b):
            import gc
            found = [o for o in gc.get_objects() if isinstance(o, str) and "softmax(" in o and "big" in o]
            raise ValueError("LEAK " + " | ".join(found))
        """))
    # --- robustness (correct answers, one problem): recorded outcome, partial credit
    S["sys_exit"] = attack("import sys\nsys.exit(0)\n", CORRECT, "softmax_answer")
    S["os_exit"] = dict(CORRECT, softmax_answer="import os\ndef softmax(z):\n    os._exit(3)\n")
    S["ignore_sigint_loop"] = dict(CORRECT, softmax_answer=(
        "import signal\ndef softmax(z):\n    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n    while True:\n        pass\n"))
    S["toplevel_loop"] = attack("while True:\n    pass\n", CORRECT, "sigmoid_answer")
    S["memory_bomb"] = dict(CORRECT, softmax_answer="def softmax(z):\n    return bytearray(1 << 40)\n")
    S["memory_creep"] = dict(CORRECT, softmax_answer=(
        "def softmax(z):\n    a = []\n    while True:\n        a.append(np.ones(1 << 22))\n"))
    S["huge_output"] = dict(CORRECT, softmax_answer="def softmax(z):\n    while True:\n        print('x' * 100000)\n")
    if ISOLATION == "uid":
        S["fork_bomb"] = dict(CORRECT, softmax_answer=(
            "import os\ndef softmax(z):\n    while True:\n        try:\n            os.fork()\n"
            "        except OSError:\n            pass\n"))
    S["duplicated_cell"] = "DUPLICATE"
    S["reordered_cells"] = "REORDER"
    S["retyped_cell"] = "RETYPE"
    S["deleted_answer"] = "DELETE_ANSWER"
    S["extra_cells"] = "EXTRA"
    S["unreadable"] = "UNREADABLE"

    subs = {}
    for name, spec in S.items():
        if isinstance(spec, dict):
            nb = nbmod.apply_replacements(src, spec)
        else:
            nb = nbmod.apply_replacements(src, CORRECT)
            cells = nb.cells
            if spec == "EDIT_TESTS":
                nb = nbmod.apply_replacements(src, WRONG)
                for c in nb.cells:
                    if nbmod.is_test(c):
                        c.source = "pass"
            elif spec == "DELETE_TESTS":
                nb = nbmod.apply_replacements(src, WRONG)
                nb.cells = [c for c in nb.cells if not nbmod.is_test(c)]
            elif spec == "DUPLICATE":
                i = next(k for k, c in enumerate(cells) if nbmod.nbmeta(c).get("grade_id") == "softmax_answer")
                cells.insert(i, copy_nb(cells[i]))
            elif spec == "REORDER":
                nb.cells = list(reversed(cells))
            elif spec == "RETYPE":
                for c in cells:
                    if nbmod.nbmeta(c).get("grade_id") == "linear_answer":
                        c["cell_type"] = "markdown"
                        c.pop("outputs", None)
                        c.pop("execution_count", None)
            elif spec == "DELETE_ANSWER":
                nb.cells = [c for c in cells if nbmod.nbmeta(c).get("grade_id") != "linear_answer"]
            elif spec == "EXTRA":
                nb.cells.insert(3, nbformat.v4.new_code_cell("def helper(x):\n    return -x\n"))
                for c in nb.cells:
                    if nbmod.nbmeta(c).get("grade_id") == "sigmoid_answer":
                        c.source = "def sigmoid(x):\n    return 1.0 / (1.0 + np.exp(helper(x)))\n"
            elif spec == "UNREADABLE":
                subs[name] = submit(root, name, A, "{ this is not json")
                continue
        subs[name] = submit(root, name, A, nb)
    return subs


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    from autograder.grade import grade_assignment
    root = make_course(tmp_path_factory.mktemp("attacks"), FIXTURE_COURSE, [A])
    build_students(root)
    limits = Limits(cell_timeout=3.0, total_timeout=60.0, memory_mb=1024, output_bytes=2 << 20)
    results = grade_assignment(root, A, limits=limits, jobs=2, progress=False)
    return root, results


def score(graded, name):
    return graded[1][name]["score"]


def by_test(graded, name):
    return {t["grade_id"]: t for t in graded[1][name]["tests"]}


def test_every_submission_has_a_recorded_outcome(graded):
    root, results = graded
    for name, r in results.items():
        assert r["status"] in ("graded", "needs_attention"), name
        if r["status"] == "needs_attention":
            assert r["reasons"], name
        assert (root / "autograded" / name / A / "ember-result.json").exists()
        assert (root / "feedback" / name / A / f"{A}.html").exists()


def test_correct_and_partial(graded):
    assert graded[1]["correct"]["status"] == "graded"
    assert graded[1]["correct"]["isolation"] == ISOLATION
    assert score(graded, "correct") == 10
    assert score(graded, "all_wrong") == 0
    assert score(graded, "partial") == 5
    t = by_test(graded, "partial")
    assert not t["test_softmax"]["passed"] and "values differ" in t["test_softmax"]["message"]
    assert t["test_softmax_hidden"]["message"] == "hidden test failed"


def test_syntax_error_fails_only_its_tests(graded):
    assert score(graded, "broken_syntax") == 8


def test_warnings_on_stderr_do_not_fail(graded):
    r = graded[1]["noisy_warnings"]
    assert r["score"] == 10 and r["status"] == "graded"


NO_CREDIT = ["patch_numpy", "patch_check_helpers", "forward_expected", "patch_builtins", "input_transformer",
             "cell_magics", "magic_cell", "fake_results", "liar_objects", "seed_tampering", "edit_tests",
             "delete_tests", "hidden_leak"]


@pytest.mark.parametrize("name", NO_CREDIT)
def test_attack_earns_nothing(graded, name):
    assert score(graded, name) == 0, by_test(graded, name)


@needs_isolation
def test_reading_the_solution_from_disk_fails(graded):
    assert score(graded, "read_solution") == 0


@needs_isolation
def test_gradebook_and_grade_files_cannot_be_written(graded):
    root, results = graded
    assert score(graded, "write_gradebook") == 0, by_test(graded, "write_gradebook")
    assert (root / "gradebook.db").read_bytes()[:15] == b"SQLite format 3"
    r = json.loads((root / "autograded" / "write_gradebook" / A / "ember-result.json").read_text())
    assert r["score"] == 0


def test_hidden_tests_never_reach_students(graded):
    root, results = graded
    secrets = ["1000.0", "big", "default_rng(3)", "size=(1, 4)", "BEGIN HIDDEN", "LEAK"]
    for name in results:
        for f in (root / "feedback" / name / A).iterdir():
            text = f.read_text()
            for s in secrets:
                assert s not in text, (name, f.name, s)
    t = by_test(graded, "hidden_leak")
    assert "LEAK" not in json.dumps(t)


@pytest.mark.parametrize("name,expect,reason", [
    ("sys_exit", 5, None),  # like Jupyter: SystemExit ends the cell before softmax is defined
    ("os_exit", 5, "exit code 3"),
    ("ignore_sigint_loop", 5, "time limit"),
    ("toplevel_loop", 8, "time limit"),
    ("memory_bomb", 5, "memory"),
    ("memory_creep", 5, "memory"),
    ("huge_output", 5, "output limit"),
    ("deleted_answer", 7, "missing answer cell"),
    ("unreadable", 0, "unreadable"),
])
def test_robustness_outcomes(graded, name, expect, reason):
    r = graded[1][name]
    assert r["score"] == expect, r
    if reason:
        assert r["status"] == "needs_attention" and reason in "; ".join(r["reasons"]), r["reasons"]


@needs_private_uid
def test_fork_bomb_is_contained(graded):
    r = graded[1]["fork_bomb"]
    assert r["score"] == 5 and r["status"] == "needs_attention"


@pytest.mark.parametrize("name", ["duplicated_cell", "reordered_cells", "retyped_cell", "extra_cells"])
def test_cell_surgery_is_handled(graded, name):
    r = graded[1][name]
    assert r["score"] == 10, r


def test_no_stray_processes_left():
    import subprocess
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "autograder._driver" not in out
