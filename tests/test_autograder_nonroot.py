"""The grader run by an ordinary user (as instructors usually grade): student code must still not
read the solution, hidden tests or the grader's home, write outside its working folder, signal the
grader or outlive its attempt. The protection is an unprivileged user namespace (userns.py).

As root (CI), the grader itself runs as `nobody` in a private mount namespace where only the
interpreter's folder under a 0700 /root is opened up; otherwise it runs as the current user."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from autograder import isolation, notebook as nbmod
from course_helpers import FIXTURE_COURSE, make_course, submit
from test_autograder_attacks import (CORRECT, LEAK_ERROR, LEAK_GOT, SPY, STEAL, attack, leftovers, proc_root,
                                     read_solution, steal, write_gradebook)

A = "00_demo"
pytestmark = pytest.mark.slow  # a grader process and 14 submissions (~35 s: the fork bomb runs to its time limit)
USER = 65534  # nobody: the instructor, when the tests run as root


def _as_user():
    """preexec_fn (as root): private mounts with the interpreter reachable, then become USER."""
    plan = isolation.mount_plan()

    def pre():
        if isolation.LIBC.unshare(isolation.CLONE_NEWNS) != 0:
            raise OSError("unshare(CLONE_NEWNS) failed")
        isolation.isolate_fs(plan, [])
        os.setgroups([])
        os.setgid(USER)
        os.setuid(USER)
    return pre if isolation.IS_ROOT else None


def run_grader_side(args, home: Path, **kw):
    env = dict(os.environ, HOME=str(home))
    return subprocess.run([sys.executable, "-I", *args], preexec_fn=_as_user(), env=env, cwd=home,
                          capture_output=True, text=True, timeout=300, **kw)


def _why_no_userns() -> str:
    out = []
    for f in ("/proc/sys/kernel/unprivileged_userns_clone", "/proc/sys/user/max_user_namespaces",
              "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"):
        if os.path.exists(f):
            out.append(f"{f} = {Path(f).read_text().strip()}")
    return "; ".join(out) or "unshare(CLONE_NEWUSER) refused"


def students(course: str, home: str) -> dict:
    S = {"correct": CORRECT, "read_solution": read_solution(course), "write_gradebook": write_gradebook(course)}
    # the instructor keeps a copy of the solution in their home; runs it if it can read it
    S["read_home"] = attack(f"""
        try:
            exec(open({home!r} + "/solution.py").read(), globals())
        except OSError:
            pass
        """)
    # plants code where the grader (same user) would find it on its next run
    S["plant_code"] = attack(f"""
        for p in [{home!r} + "/planted.py", {course!r} + "/planted.py", "/tmp/planted.py"]:
            try:
                open(p, "w").write("print('pwned')")
            except OSError:
                pass
        """)
    # kills every process it can name: without a PID namespace that is the grader and the whole session
    S["kill_everyone"] = attack("""
        import os, signal
        for p in os.listdir("/proc"):
            if p.isdigit() and int(p) != os.getpid():
                try:
                    os.kill(int(p), signal.SIGKILL)
                except OSError:
                    pass
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        """)
    # leaves a process behind in its own session, out of reach of the process-group kill
    S["linger"] = attack("""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(600)
            os._exit(0)
        """, CORRECT)
    # forks until the process limit, in every child: the PID namespace and RLIMIT_NPROC contain it
    S["fork_bomb"] = dict(CORRECT, softmax_answer=(
        "import os\ndef softmax(z):\n    while True:\n        try:\n            os.fork()\n"
        "        except OSError:\n            pass\n"))
    # issue 14: the solution anywhere (the checkout's .git included), through the grader's /proc/PID/root,
    # hidden-test text in feedback, leftovers in the shared temporary folders
    S["read_git"] = steal(STEAL)
    S["proc_root"] = steal(proc_root(course))
    S["leak_got"] = dict(CORRECT, softmax_answer=CORRECT["softmax_answer"] + SPY, linear_answer=LEAK_GOT)
    S["leak_error"] = dict(CORRECT, softmax_answer=CORRECT["softmax_answer"] + SPY, linear_answer=LEAK_ERROR)
    S["leftovers"] = attack(leftovers("nonroot"), CORRECT)
    return S


@pytest.fixture(scope="module")
def graded():
    if not isolation.IS_ROOT:
        from autograder import userns
        if not userns.works():
            pytest.skip(f"unprivileged user namespaces unavailable: {_why_no_userns()}")
    base = Path(tempfile.mkdtemp(prefix="ember-nonroot-"))
    try:
        root = make_course(base, FIXTURE_COURSE, [A])
        home = base / "home"
        home.mkdir()
        (home / "solution.py").write_text("import numpy as np\n" + "\n".join(CORRECT.values()))
        source = nbformat.read(root / "source" / A / f"{A}.ipynb", as_version=4)
        for name, answers in students(str(root), str(home)).items():
            submit(root, name, A, nbmod.apply_replacements(source, answers))
        bad = json.loads(json.dumps(nbmod.apply_replacements(source, CORRECT)))
        bad["nbformat"] = 5  # nbformat.write refused it, and stopped the write phase for everyone after
        submit(root, "nbformat_5", A, json.dumps(bad))
        if isolation.IS_ROOT:
            for dp, dns, fns in os.walk(base):
                for n in [dp] + [os.path.join(dp, f) for f in fns + dns]:
                    os.chown(n, USER, USER)
            probe = run_grader_side(["-c", "from autograder import userns; print(userns.works())"], home)
            if probe.stdout.strip() != "True":
                pytest.skip(f"the grader cannot run as {USER}: "
                            f"{isolation.uid_problem(probe.stderr, isolation.needed_paths())}; {_why_no_userns()}")
        r = run_grader_side(["-m", "autograder", "grade", A, "--course", str(root), "-j", "2", "--timeout", "5",
                             "--memory-mb", "1024", "--quiet"], home)
        results = {f.parts[-3]: json.loads(f.read_text()) for f in root.glob(f"autograded/*/{A}/ember-result.json")}
        yield base, root, home, r, results
    finally:
        if isolation.IS_ROOT:  # anything of USER still alive means an attempt escaped
            isolation.kill_uid(USER)
        shutil.rmtree(base, ignore_errors=True)


def test_grader_runs_as_an_ordinary_user_with_namespaces(graded):
    base, root, home, r, results = graded
    assert r.returncode == 1, r.stdout + r.stderr  # graded; the fork bomb needs attention
    assert "needs attention: fork_bomb:" in r.stderr and "needs attention: correct" not in r.stderr, r.stderr
    assert "without isolation" not in r.stderr and "user namespaces are not available" not in r.stderr, r.stderr
    assert set(results) == {"correct", "read_solution", "write_gradebook", "read_home", "plant_code",
                            "kill_everyone", "linger", "fork_bomb", "read_git", "proc_root", "leak_got",
                            "leak_error", "leftovers", "nbformat_5"}
    for name in results:
        assert (root / "feedback" / name / A / f"{A}.html").exists(), name
    assert results["nbformat_5"]["score"] == 10 and results["nbformat_5"]["status"] == "graded"
    assert {res["isolation"] for res in results.values()} == {"userns"}
    assert results["correct"]["score"] == 10 and results["correct"]["status"] == "graded"


@pytest.mark.parametrize("name", ["read_solution", "write_gradebook", "read_home", "plant_code", "kill_everyone",
                                  "read_git", "proc_root"])
def test_attack_earns_nothing(graded, name):
    assert graded[4][name]["score"] == 0, graded[4][name]


def test_nothing_of_the_checkout_or_course_is_visible(graded):
    for name in ("read_git", "proc_root"):
        assert "FOUND []" in graded[4][name]["output_tail"], graded[4][name]["output_tail"]
    assert "GITS []" in graded[4]["read_git"]["output_tail"]


@pytest.mark.parametrize("name,expect", [("leak_got", 8), ("leak_error", 7)])
def test_hidden_test_text_never_reaches_feedback(graded, name, expect):
    base, root, home, r, results = graded
    assert "big = np.array([[1000.0" in results[name]["output_tail"]  # the attack had the hidden test's code
    assert results[name]["score"] == expect, results[name]
    for f in (root / "feedback" / name / A).iterdir():
        assert "1000.0" not in f.read_text() and "softmax(big)" not in f.read_text(), f


def test_temporary_folders_are_private_capped_and_removed(graded):
    import re
    res = graded[4]["leftovers"]
    assert res["score"] == 10 and res["status"] == "graded", res
    assert 0 < int(re.search(r"SHM_MB (\d+)", res["output_tail"]).group(1)) <= 256
    for d in ("/tmp", "/var/tmp", "/dev/shm"):
        assert not os.path.exists(f"{d}/ember-left-nonroot"), d
        assert not any(f.startswith("ember-fill-nonroot") for f in os.listdir(d)), d


def test_fork_bomb_is_contained(graded):
    r = graded[4]["fork_bomb"]
    assert r["score"] == 5 and r["status"] == "needs_attention", r


def test_files_outside_the_working_folder_are_untouched(graded):
    base, root, home, r, results = graded
    assert (root / "gradebook.db").read_bytes()[:15] == b"SQLite format 3"
    assert not (home / "planted.py").exists() and not (root / "planted.py").exists()
    assert not Path("/tmp/planted.py").exists()


def test_no_process_outlives_its_attempt(graded):
    assert graded[4]["linger"]["score"] == 10
    uid = USER if isolation.IS_ROOT else os.getuid()
    out = subprocess.run(["ps", "-o", "pid,args", "-u", str(uid)], capture_output=True, text=True).stdout
    assert "autograder._driver" not in out, out
