"""Throughput: `nbgrader autograde` vs `python -m autograder grade` on the same synthetic class.

Builds a class of N (default 40) submissions of the demo assignment (tests/fixtures/course):
correct, partially wrong, broken (syntax error, exception, unimplemented), in a private course
copy, grades it with both at one BLAS thread (OPENBLAS/OMP/MKL_NUM_THREADS=1 for both, as on a
shared grading server), and prints submissions/second for each and the ratio (target: >= 3x).

    python bench/grading.py [N] [--jobs J]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=40)
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    args = ap.parse_args()
    import nbformat

    from autograder import notebook as nbmod
    from course_helpers import FIXTURE_COURSE, make_course, submit
    from test_autograder_attacks import CORRECT, WRONG
    A = "00_demo"
    kinds = [
        ("correct", CORRECT),
        ("partial", dict(CORRECT, softmax_answer=WRONG["softmax_answer"])),
        ("wrong", WRONG),
        ("syntax", dict(CORRECT, linear_answer="def linear(x, W, b)\n    oops\n")),
        ("raises", dict(CORRECT, sigmoid_answer="def sigmoid(x):\n    raise ValueError('nope')\n")),
        ("untouched", None),
    ]
    with tempfile.TemporaryDirectory(prefix="ember-bench-") as tmp:
        tmp = Path(tmp)
        roots = {}
        for which in ("nbgrader", "ember"):
            (tmp / which).mkdir()
            root = make_course(tmp / which, FIXTURE_COURSE, [A])
            src = nbformat.read(root / "source" / A / f"{A}.ipynb", as_version=4)
            rel = nbformat.read(root / "release" / A / f"{A}.ipynb", as_version=4)
            for i in range(args.n):
                name, answers = kinds[i % len(kinds)]
                nb = rel if answers is None else nbmod.apply_replacements(src, answers)
                submit(root, f"s{i:03d}_{name}", A, nb)
            roots[which] = root
        env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
                   OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", A, "--create", "--force",
                            "--ExecutePreprocessor.timeout=60"], cwd=roots["nbgrader"], env=env,
                           capture_output=True, text=True)
        t_nb = time.monotonic() - t0
        if r.returncode != 0:
            print(r.stderr[-3000:])
        n_nb = len(list((roots["nbgrader"] / "autograded").glob(f"*/{A}/{A}.ipynb")))
        t0 = time.monotonic()
        r2 = subprocess.run([sys.executable, "-m", "autograder", "grade", A, "--course", str(roots["ember"]),
                             "-j", str(args.jobs), "--quiet"], env=env, capture_output=True, text=True)
        t_em = time.monotonic() - t0
        if r2.returncode not in (0, 1):   # 1: some submissions need attention (the broken ones)
            print(r2.stderr[-3000:])
        n_em = len(list((roots["ember"] / "autograded").glob(f"*/{A}/ember-result.json")))
        tp_nb, tp_em = n_nb / t_nb, n_em / t_em
        print(f"class: {args.n} submissions ({', '.join(k for k, _ in kinds)}), {os.cpu_count()} CPUs")
        print(f"nbgrader autograde : {n_nb:3d} graded in {t_nb:6.1f} s  -> {tp_nb:6.2f} submissions/s")
        print(f"autograder grade -j{args.jobs}: {n_em:3d} graded in {t_em:6.1f} s  -> {tp_em:6.2f} submissions/s")
        print(f"ratio: {tp_em / tp_nb:.1f}x")
        print(f"target: >= 3x ({'met' if tp_em >= 3 * tp_nb else 'NOT met'})")
        ok = n_em == args.n and tp_em >= 3 * tp_nb
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
