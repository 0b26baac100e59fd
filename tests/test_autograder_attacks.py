"""Synthetic students against the trusted grader: correct, partial, broken, and every attack in
the issue. All submissions are graded in one parallel batch (a session fixture); each test then
checks one student's recorded outcome."""
from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from autograder import notebook as nbmod
from autograder.sandbox import Limits, isolation_mode, uid_isolation_problem
from course_helpers import FIXTURE_COURSE, copy_nb, make_course, submit

A = "00_demo"
pytestmark = pytest.mark.slow  # one parallel batch of ~55 submissions and a memory probe (~60 s)
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


# Code that collects the instructor's solution cells from every notebook it can read into _found,
# then defines them. Used after a wrong sigmoid with the other answers left empty: any credit at
# all means the solution was read.
TAKE = """
import json as _json
_found = {}
def _take(text):
    try:
        nb = _json.loads(text)
        for c in nb.get("cells", []):
            m = c.get("metadata", {}).get("nbgrader", {})
            if m.get("solution") and c.get("cell_type") == "code":
                _found.setdefault(m.get("grade_id"), "".join(c["source"]))
    except Exception:
        pass
"""
USE = """
print("FOUND", sorted(_found))
if {"sigmoid_answer", "softmax_answer", "linear_answer"} <= set(_found):
    exec("\\n".join(_found[k] for k in ("sigmoid_answer", "softmax_answer", "linear_answer")), globals())
"""
# Walks the whole file system (as a determined student would) for notebooks and git repositories;
# reads git objects with `git` and, for loose objects, with zlib alone.
STEAL = TAKE + """
import os, subprocess, zlib
_gits = []
for _top, _dirs, _files in os.walk("/"):
    _dirs[:] = [d for d in _dirs if not (_top == "/" and d in ("proc", "sys", "dev", "usr"))
                and d not in ("site-packages", "node_modules", "__pycache__")]
    for _f in _files:
        if _f.endswith(".ipynb"):
            try:
                _take(open(os.path.join(_top, _f), encoding="utf-8").read())
            except (OSError, UnicodeDecodeError):
                pass
    if _top.endswith("/.git"):
        _gits.append(_top)
        try:
            _names = subprocess.run(["git", "--git-dir", _top, "ls-tree", "-r", "--name-only", "HEAD"],
                                    capture_output=True, text=True, timeout=20).stdout.split()
            for _n in _names:
                if _n.endswith("00_demo/00_demo.ipynb") and "/source/" in "/" + _n:
                    _take(subprocess.run(["git", "--git-dir", _top, "show", "HEAD:" + _n],
                                         capture_output=True, text=True, timeout=20).stdout)
        except Exception:
            pass
        for _d, _, _objs in os.walk(os.path.join(_top, "objects")):
            for _o in _objs:
                try:
                    _raw = zlib.decompress(open(os.path.join(_d, _o), "rb").read())
                    if b"BEGIN SOLUTION" in _raw:
                        _take(_raw.split(b"\\0", 1)[1].decode())
                except Exception:
                    pass
print("GITS", _gits)
"""


def steal(code: str) -> dict:
    """A wrong sigmoid followed by `code` (which fills _found), the other answers empty."""
    return dict(sigmoid_answer=WRONG["sigmoid_answer"] + code + USE, softmax_answer="pass\n",
                linear_answer="pass\n")


def proc_root(course: str) -> str:
    """Through /proc/PID/root: the file system as another process (the grader) sees it."""
    return TAKE + f"""
import os
for _p in os.listdir("/proc"):
    if _p.isdigit():
        for _rel in ("/source/00_demo/00_demo.ipynb", "/release/00_demo/00_demo.ipynb"):
            try:
                _take(open("/proc/" + _p + "/root" + {course!r} + _rel).read())
            except OSError:
                pass
"""


def leftovers(tag: str) -> str:
    """Files left in the machine's shared temporary folders, and /dev/shm filled as far as it goes."""
    return f"""
import os
for _d in ("/tmp", "/var/tmp", "/dev/shm"):
    try:
        open(os.path.join(_d, "ember-left-{tag}"), "w").write("left behind")
    except OSError:
        pass
_mb = 0
try:
    while _mb < 4096:
        with open("/dev/shm/ember-fill-{tag}-%d" % _mb, "wb") as _f:
            _f.write(b"x" * (16 << 20))
        _mb += 16
except OSError:
    pass
print("SHM_MB", _mb)
for _f in os.listdir("/dev/shm"):
    if _f.startswith("ember-fill"):
        os.remove(os.path.join("/dev/shm", _f))
"""


# Put after the softmax answer, before the hidden softmax test: records the code of every cell the
# driver compiles from then on. The two attacks below (linear, called after the hidden test) then
# try to get that test's code into test_linear's feedback.
SPY = """
import builtins
_seen, _compile = [], builtins.compile
def _spy(src, *a, **k):
    if isinstance(src, str):
        _seen.append(src)
    return _compile(src, *a, **k)
builtins.compile = _spy
"""
LEAK_GOT = """
class _Shape(np.ndarray):
    @property
    def shape(self):
        found = [s for s in _seen if "softmax(big)" in s]
        print("SECRET", found[:1])
        return (found[0] if found else "nothing", 2)
def linear(x, W, b):
    return (SCALE * (x @ W + b)).view(_Shape)
"""
LEAK_ERROR = """
import json, os, struct, sys
def linear(x, W, b):
    found = [s for s in _seen if "softmax(big)" in s]
    print("SECRET", found[:1])
    f = sys._getframe()
    while f is not None and "res_fd" not in f.f_locals:
        f = f.f_back
    h = json.dumps({"event": "done", "index": f.f_locals["idx"], "status": "error", "exc": "big_1000_0",
                    "msg": found[0] if found else "nothing", "records": [], "blobs": []}).encode()
    p = struct.pack("<I", len(h)) + h
    os.write(f.f_locals["res_fd"], struct.pack("<Q", len(p)) + p)
    return SCALE * (x @ W + b)
"""


def read_solution(course: str) -> dict:
    """Code that runs the solution cells it finds in the course directory (source, release,
    autograded notebooks), after a wrong sigmoid with the other answers empty."""
    return steal(TAKE + f"""
import glob
for _p in [{course!r} + "/source/00_demo/00_demo.ipynb", {course!r} + "/release/00_demo/00_demo.ipynb"] + \\
        glob.glob({course!r} + "/autograded/*/00_demo/00_demo.ipynb"):
    try:
        _take(open(_p).read())
    except OSError:
        pass
""")


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
            for fd in range(3, 256):  # the result pipe is one of them
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
            found = [o for o in gc.get_objects() if isinstance(o, str) and "softmax(big)" in o and "gc." not in o]
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
    # --- issue 14: the solution anywhere on the machine, hidden-test text, leftovers, HTML, bad notebooks
    S["read_git"] = steal(STEAL)
    S["proc_root"] = steal(proc_root(course))
    if ISOLATION != "none":
        S["leftovers"] = attack(leftovers("attacks"), CORRECT)
    S["leak_got"] = dict(CORRECT, softmax_answer=CORRECT["softmax_answer"] + SPY, linear_answer=LEAK_GOT)
    S["leak_error"] = dict(CORRECT, softmax_answer=CORRECT["softmax_answer"] + SPY, linear_answer=LEAK_ERROR)
    S["script_cells"] = "SCRIPT"
    S["nbformat_5"] = "NBFORMAT5"
    S["grade_id_list"] = "GRADE_ID_LIST"
    S["store_blocked"] = CORRECT  # its autograded/ folder cannot be made (see `graded`)
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
            elif spec == "SCRIPT":
                nb.cells.insert(1, nbformat.v4.new_markdown_cell(SCRIPT_MARKDOWN))
                nb.cells.insert(2, nbformat.v4.new_raw_cell("<script>alert('raw')</script>"))
                nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
                    "state": {}, "version_major": 2, "version_minor": 0, "x": "</script><script>alert('w')</script>"}}
            elif spec in ("NBFORMAT5", "GRADE_ID_LIST"):
                d = json.loads(json.dumps(nb))
                if spec == "NBFORMAT5":
                    d["nbformat"] = 5
                else:
                    d["cells"].insert(1, {"cell_type": "markdown", "metadata": {"nbgrader": {"grade_id": ["x"]}},
                                          "source": "a list"})
                    d["cells"].insert(2, {"cell_type": "code", "metadata": {"nbgrader": {"grade_id": {"a": 1}}},
                                          "source": "x = 1", "outputs": [], "execution_count": None})
                subs[name] = submit(root, name, A, json.dumps(d))
                continue
        subs[name] = submit(root, name, A, nb)
    return subs


SCRIPT_MARKDOWN = ("<script>alert('md')</script><img src=x onerror=\"alert('img')\"> [click](javascript:alert('a'))\n"
                   "[ref]: javascript:alert('ref')\n![i](javascript:alert('i')) <a href='javascript:alert(1)'>a</a>")
SCRATCH_MB = 64


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    from autograder.grade import grade_assignment
    root = make_course(tmp_path_factory.mktemp("attacks"), FIXTURE_COURSE, [A])
    build_students(root)
    (root / "autograded").mkdir(exist_ok=True)
    (root / "autograded" / "store_blocked").write_text("a file where the grader needs a folder")
    limits = Limits(cell_timeout=3.0, total_timeout=60.0, memory_mb=1024, output_bytes=2 << 20,
                    scratch_mb=SCRATCH_MB)
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
        if name != "store_blocked":
            assert (root / "autograded" / name / A / "ember-result.json").exists(), name
            assert (root / "autograded" / name / A / f"{A}.ipynb").exists(), name
        assert (root / "feedback" / name / A / f"{A}.html").exists(), name


def test_a_student_whose_results_cannot_be_stored_needs_attention_alone(graded):
    root, results = graded
    r = results["store_blocked"]
    assert r["score"] == 10 and r["status"] == "needs_attention", r
    assert any(x.startswith("results not stored: ") for x in r["reasons"]), r["reasons"]
    assert "needs the instructor" in (root / "feedback" / "store_blocked" / A / f"{A}.html").read_text()
    assert sum(x["status"] == "graded" for x in results.values()) > 10


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
    assert "FOUND []" in graded[1]["read_solution"]["output_tail"]
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
    """No driver of this checkout's interpreter outlives grading (another checkout's grader, e.g.
    a second test run on the machine, is not ours to judge)."""
    import subprocess
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    ours = [a for a in out.splitlines() if "autograder._driver" in a and a.split()[0] == sys.executable]
    assert not ours, ours


# ---------------------------------------------------------------- issue 14

@needs_isolation
@pytest.mark.parametrize("name", ["read_git", "proc_root"])
def test_the_solution_cannot_be_read_from_anywhere(graded, name):
    r = graded[1][name]
    assert "FOUND []" in r["output_tail"], r["output_tail"][-2000:]
    assert r["score"] == 0, by_test(graded, name)


@needs_isolation
def test_no_git_repository_is_visible(graded):
    assert "GITS []" in graded[1]["read_git"]["output_tail"]


def test_the_thief_finds_the_solution_where_nothing_is_hidden():
    """Control for the two tests above: the same code, run on the checkout outside the sandbox,
    does find every solution cell (in the fixture course, and through git)."""
    import subprocess
    import sys
    from course_helpers import REPO
    code = STEAL.replace('os.walk("/")', f"os.walk({str(REPO)!r})") + USE
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    found = next(line for line in r.stdout.splitlines() if line.startswith("FOUND"))
    assert {"'sigmoid_answer'", "'softmax_answer'", "'linear_answer'"} <= set(found[6:].strip("[]").split(", ")), \
        r.stdout + r.stderr


@needs_isolation
def test_temporary_folders_are_private_capped_and_removed(graded):
    import os
    import re
    r = graded[1]["leftovers"]
    assert r["score"] == 10 and r["status"] == "graded", r
    mb = int(re.search(r"SHM_MB (\d+)", r["output_tail"]).group(1))
    assert 0 < mb <= SCRATCH_MB, mb
    for d in ("/tmp", "/var/tmp", "/dev/shm"):
        assert not os.path.exists(f"{d}/ember-left-attacks"), d
        assert not any(f.startswith("ember-fill-attacks") for f in os.listdir(d)), d


@pytest.mark.parametrize("name,expect", [("leak_got", 8), ("leak_error", 7)])  # leak_error fails linear_hidden too
def test_hidden_test_text_never_reaches_feedback(graded, name, expect):
    root, results = graded
    r = results[name]
    assert "big = np.array([[1000.0" in r["output_tail"], r["output_tail"][-2000:]  # it had the text
    assert r["score"] == expect, r
    t = by_test(graded, name)["test_linear"]
    assert not t["passed"] and "big" not in t["message"] and "1000" not in t["message"], t
    for f in (root / "feedback" / name / A).iterdir():
        assert "1000.0" not in f.read_text() and "softmax(big)" not in f.read_text(), f


class _Active:
    """Script that a browser would run: <script> with the attacks' alert, on* handlers, javascript: URLs."""

    def __init__(self, html_text):
        from html.parser import HTMLParser
        found, state = [], {"script": False}

        class P(HTMLParser):
            def handle_starttag(self, tag, attrs):
                state["script"] = tag == "script"
                for k, v in attrs:
                    if k.startswith("on") or (v or "").strip().lower().startswith("javascript:"):
                        found.append((tag, k, v))

            def handle_data(self, data):
                if state["script"] and "alert(" in data:
                    found.append(("script", data[:80]))

            def handle_endtag(self, tag):
                state["script"] = False
        P().feed(html_text)
        self.found = found


def test_student_html_cannot_run_in_the_instructors_browser(graded):
    from nbconvert import HTMLExporter
    root, results = graded
    assert results["script_cells"]["score"] == 10
    submitted = nbformat.read(root / "submitted" / "script_cells" / A / f"{A}.ipynb", as_version=4)
    assert len(_Active(HTMLExporter().from_notebook_node(submitted)[0]).found) >= 4  # the attack is real
    nb = nbformat.read(root / "autograded" / "script_cells" / A / f"{A}.ipynb", as_version=4)
    body = HTMLExporter().from_notebook_node(nb)[0]
    assert _Active(body).found == []
    assert "alert(&#x27;md&#x27;)" in body or "alert('md')" in body  # still there, as text


@pytest.mark.parametrize("name", ["nbformat_5", "grade_id_list"])
def test_malformed_notebooks_are_graded_and_stored(graded, name):
    root, results = graded
    assert results[name]["score"] == 10 and results[name]["status"] == "graded", results[name]
    assert (root / "autograded" / name / A / f"{A}.ipynb").exists()


BLOWUP = """
import os, struct
_h = b"[" + b"[]," * 10_000_000 + b"[]]"
_p = struct.pack("<I", len(_h)) + _h
for _fd in range(3, 256):  # the result pipe is one of them
    try:
        os.write(_fd, struct.pack("<Q", len(_p)) + _p)
    except OSError:
        pass
"""


def test_grader_memory_stays_bounded_whatever_a_submission_sends(tmp_path):
    """Three students send a 30 MB result header of `[[],[],...]` (json.loads would need ~900 MB):
    the grader's peak memory while grading them grows by far less than that."""
    import subprocess
    import sys
    root = make_course(tmp_path, FIXTURE_COURSE, [A])
    src = _src(root)
    for i in range(3):
        submit(root, f"blowup{i}", A, nbmod.apply_replacements(src, attack(BLOWUP, CORRECT)))
    submit(root, "correct", A, nbmod.apply_replacements(src, CORRECT))
    script = f"""
import json, resource
from autograder.grade import AssignmentGrader, find_submissions
from autograder.sandbox import Limits
g = AssignmentGrader({str(root)!r}, {A!r}, Limits(cell_timeout=20, memory_mb=1024), jobs=2)
g.reference()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
res = g.grade_many(find_submissions(g.root, {A!r}), progress=False)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"grown_mb": (after - before) / 1024, "res": {{s: [r["score"], r["reasons"]] for s, r in res.items()}}}}))
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["grown_mb"] < 100, out
    assert out["res"]["correct"][0] == 10
    for i in range(3):
        score, reasons = out["res"][f"blowup{i}"]
        assert score == 8 and any("malformed result" in x for x in reasons), out
