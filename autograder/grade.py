"""Grading an assignment: reference values, parallel trusted grading in sandboxes, the grade /
merge / feedback commands (storing the results is store.py's)."""
from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nbformat

from . import notebook as nbmod
from .compare import compare, diagnose, pick_hint
from .course import course_root, data_files, source_notebook
from .sandbox import Limits, run_steps, security_warnings
from .store import find_submissions, load_results, store_results

# What feedback may echo of a test that ran after a hidden test in the same process (the student's
# code may have read the hidden test and encode it in anything it returns): a fixed phrase per
# diagnosis, builtin exception names, nothing the submission chose.
BUILTIN_EXCEPTIONS = frozenset(n for n, v in vars(__import__("builtins")).items()
                               if isinstance(v, type) and issubclass(v, BaseException))
PRIVATE_CAUSES = {"shape": "wrong shape", "transpose": "wrong shape or transposed", "sign": "wrong sign",
                  "scale": "off by a constant factor", "offset": "off by a constant", "nan": "contains NaN",
                  "inf": "contains inf", "type": "wrong type", "keys": "wrong dict keys", "length": "wrong length",
                  "shift": "shifted by one step", "constant": "the same value at every step",
                  "int_zero": "an integer 0 where a fraction was expected", "unchanged": "unchanged by the step",
                  "chance": "at chance level", "below": "below the required minimum",
                  "above": "above the allowed maximum"}
PRIVATE_NOTE = " (details are not shown for a test that runs after a hidden test)"
MAX_ECHO = 200     # a student's string longer than this is never echoed
MAX_MESSAGE = 1500


class InstructorError(RuntimeError):
    """The instructor's notebook fails its own tests (or breaks AUTHORING.md's rules)."""


def _step_payload(plan: nbmod.Plan, mode: str) -> list[dict]:
    out = []
    for s in plan.steps:
        src = s.source
        if s.kind == "test" and mode == "grade":
            src = nbmod.student_version(src)
        out.append({"index": s.index, "kind": s.kind, "source": src, "grade_id": s.grade_id,
                    "hidden": s.hidden})
    return out


class AssignmentGrader:
    def __init__(self, root, assignment: str, limits: Limits | None = None, jobs: int = 0,
                 source_nb=None):
        self.root = Path(course_root(root))
        self.assignment = assignment
        import dataclasses
        self.limits = dataclasses.replace(limits or Limits(), hide=tuple(limits.hide if limits else ()) + (str(self.root),))
        self.jobs = jobs or os.cpu_count() or 1
        self.source_nb = source_nb if source_nb is not None else nbformat.read(
            source_notebook(self.root, assignment), as_version=4)
        src_dir = self.root / "source" / assignment
        self.files = [(f, str(f.relative_to(src_dir))) for f in data_files(self.root, assignment)]
        self._reference = None
        self.tests = [c for c in self.source_nb.cells if nbmod.is_test(c)]
        self.max_score = float(sum(float(nbmod.nbmeta(c).get("points") or 0) for c in self.tests))

    # ------------------------------------------------------------ reference
    def reference(self) -> dict:
        """{grade_id: [record, ...]} from running the instructor's notebook (got, expected, tolerances)."""
        if self._reference is not None:
            return self._reference
        problems = nbmod.lint_notebook(self.source_nb)
        if problems:
            raise InstructorError(f"{self.assignment}: " + "; ".join(problems))
        from . import refcache
        key = refcache.reference_key(nbformat.writes(self.source_nb), self.files)
        cached = refcache.load(self.root, self.assignment, key)
        if cached is not None:
            self._reference = cached
            return cached
        plan = nbmod.build_plan(self.source_nb, self.source_nb)
        run = run_steps(_step_payload(plan, "reference"), "reference", self.limits, self.files)
        ref = {}
        errors = []
        for t in plan.tests:
            r = run.steps.get(t.index, {})
            if r.get("status") != "ok":
                errors.append(f"test {t.grade_id!r}: {r.get('exc') or r.get('status')}: "
                              f"{r.get('msg') or r.get('reason', '')}")
                continue
            for rec in r["records"]:
                if "got_error" in rec:
                    errors.append(f"test {t.grade_id!r}: {rec['got_error']}")
                    continue
                ok, msg = compare(rec["kind"], rec["got"], rec["expected"], rec["rtol"], rec["atol"])
                if not ok:
                    errors.append(f"test {t.grade_id!r} fails on the instructor's solution: {msg}")
            if not any(not isinstance(rec.get("expected"), bool) for rec in r["records"]):
                errors.append(f"test {t.grade_id!r}: no check with a non-boolean expected value")
            ref[t.grade_id] = r["records"]
        if errors:
            raise InstructorError(f"{self.assignment}: " + "; ".join(errors) + ("\n" + run.output[-2000:]))
        self._reference = ref
        refcache.store(self.root, self.assignment, key, ref)
        return ref

    # ------------------------------------------------------------ one submission
    def grade_notebook(self, path: Path | None, student: str = "") -> dict:
        t0 = time.monotonic()
        ref = self.reference()
        result = {"student": student, "assignment": self.assignment, "status": "graded", "reasons": [],
                  "notes": [], "score": 0.0, "max_score": self.max_score, "tests": [], "elapsed": 0.0,
                  "output_tail": ""}
        nb, err = (None, "missing notebook") if path is None or not Path(path).exists() else \
            nbmod.read_notebook_safely(path)
        if nb is None:
            result["status"] = "needs_attention"
            result["reasons"].append(err)
            result["tests"] = [self._test_entry(c, False, "not graded: " + err) for c in self.tests]
            result["elapsed"] = time.monotonic() - t0
            return result
        plan = nbmod.build_plan(self.source_nb, nb)
        result["notes"] += plan.notes
        result["reasons"] += plan.attention
        run = run_steps(_step_payload(plan, "grade"), "grade", self.limits, self.files)
        result["reasons"] += run.attention
        result["isolation"] = run.isolation
        result["output_tail"] = run.output[-4000:]
        for t in plan.tests:
            r = run.steps.get(t.index, {"status": "notrun", "reason": "not run"})
            passed, msg = self._judge(t, r, ref.get(t.grade_id, []))
            if r.get("exc") == "MemoryError":
                result["reasons"].append(f"memory limit in test {t.grade_id!r}")
            cell = next(c for c in self.tests if nbmod.nbmeta(c).get("grade_id") == t.grade_id)
            result["tests"].append(self._test_entry(cell, passed, msg))
        result["score"] = float(sum(x["score"] for x in result["tests"]))
        if result["reasons"]:
            result["status"] = "needs_attention"
        result["elapsed"] = time.monotonic() - t0
        return result

    def _test_entry(self, cell, passed, msg):
        m = nbmod.nbmeta(cell)
        pts = float(m.get("points") or 0)
        hidden = nbmod.has_hidden(cell.source)
        return {"grade_id": m.get("grade_id"), "points": pts, "score": pts if passed else 0.0,
                "passed": bool(passed), "hidden": hidden,
                "message": "" if passed else ("hidden test failed" if hidden else msg)}

    def _judge(self, test: nbmod.Step, r: dict, ref_records: list) -> tuple[bool, str]:
        """The trusted decision for one test: only decoded data and the reference are used."""
        hidden = test.hidden
        st = r.get("status")
        if st in ("timeout", "crash", "output", "notrun", "startup"):
            return False, f"{r.get('reason', st)} while running this test"
        private = bool(r.get("after_hidden"))
        if st == "error":
            exc = r.get("exc", "Exception")
            if private and exc not in BUILTIN_EXCEPTIONS:
                exc = "Exception"
            line = r.get("line")
            msg = f"{exc}"
            if r.get("msg") and not hidden and not private:
                msg += f": {r['msg'][:500]}"
            if line and not hidden:
                lines = test.source.splitlines()
                if 0 < line <= len(lines):
                    msg += f"\n  at line {line} of the test: {lines[line - 1].strip()}"
            if exc == "NotImplementedError":
                msg = "not implemented yet (NotImplementedError)"
            return False, msg
        recs = r.get("records", [])
        if len(recs) != len(ref_records):
            if private:
                return False, "the test did not run all its checks" + PRIVATE_NOTE
            return False, f"the test stopped after {len(recs)} of {len(ref_records)} checks"
        hints = dict(nbmod.hints(test.source))
        for i, (got, want) in enumerate(zip(recs, ref_records)):
            hint = hints.get(want.get("line"))
            if got.get("kind") != want["kind"]:
                return False, f"check {i + 1}: unexpected check"
            if "got_error" in got:
                hint = pick_hint(hint, "type")
                err = "the result is not plain data" + PRIVATE_NOTE if private else got["got_error"]
                return False, f"check {i + 1}: {err}" + (f"\nhint: {hint}" if hint else "")
            ok, msg, cause = diagnose(want["kind"], got["got"], want["expected"], want["rtol"], want["atol"],
                                      show_values=not (hidden or private or _long_strings(got["got"])),
                                      before=want.get("before"))
            hint = pick_hint(hint, cause)
            if not ok:
                where = f" (line {want['line']})" if want.get("line") else ""
                if private:
                    msg = PRIVATE_CAUSES.get(cause, "wrong value") + PRIVATE_NOTE
                msg = msg if len(msg) <= MAX_MESSAGE else msg[:MAX_MESSAGE] + " ..."
                return False, f"check {i + 1}{where}: {msg}" + (f"\nhint: {hint}" if hint else "")
        return True, ""

    # ------------------------------------------------------------ many
    def grade_many(self, submissions: dict, progress: bool = True) -> dict:
        self.reference()
        results = {}
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=len(submissions), desc=f"grading {self.assignment}", unit="nb", file=sys.stderr)
        with ThreadPoolExecutor(max_workers=self.jobs) as ex:
            futs = {ex.submit(self._safe_grade, path, student): student for student, path in submissions.items()}
            for f in as_completed(futs):
                results[futs[f]] = f.result()
                if bar:
                    bar.update(1)
        if bar:
            bar.close()
        return results

    def _safe_grade(self, path, student):
        try:
            return self.grade_notebook(path, student)
        except InstructorError:
            raise
        except Exception as e:  # never abort the batch
            import traceback
            return {"student": student, "assignment": self.assignment, "status": "needs_attention",
                    "reasons": [f"grader error: {type(e).__name__}: {e}"], "notes": [], "score": 0.0,
                    "max_score": self.max_score, "elapsed": 0.0, "output_tail": traceback.format_exc()[-2000:],
                    "tests": [self._test_entry(c, False, "not graded (grader error)") for c in self.tests]}


def _long_strings(v, depth=0) -> bool:
    """Does a decoded value hold a string too long to echo (or nest too deep to look at)?"""
    if isinstance(v, str):
        return len(v) > MAX_ECHO
    if isinstance(v, (list, tuple)):
        return depth > 20 or any(_long_strings(x, depth + 1) for x in v)
    if isinstance(v, dict):
        return depth > 20 or any(_long_strings(x, depth + 1) for x in v.values())
    return False


# ================================================================ course-level commands

def grade_assignment(root, assignment: str, students=None, limits: Limits | None = None, jobs: int = 0,
                     feedback: bool = True, progress: bool = True, gradebook: bool = True,
                     shard: str | None = None) -> dict:
    root = Path(course_root(root))
    subs = find_submissions(root, assignment, students)
    if shard:
        k, n = (int(x) for x in shard.split("/"))
        subs = {s: p for i, (s, p) in enumerate(sorted(subs.items())) if i % n == k - 1}
    g = AssignmentGrader(root, assignment, limits, jobs)
    results = g.grade_many(subs, progress=progress)
    if gradebook:
        store_results(root, assignment, results, g.source_nb, subs, feedback)
    return results


EXIT_GRADED, EXIT_ATTENTION, EXIT_FAILED = 0, 1, 2  # documented in `grade --help` (cli.py)


def grade_command(args) -> int:
    try:
        return _grade_command(args)
    except Exception as e:
        import traceback
        traceback.print_exc()
        print(f"error: the grader failed: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_FAILED


def _grade_command(args) -> int:
    root = Path(course_root(args.course))
    limits = Limits(cell_timeout=args.timeout, total_timeout=args.total_timeout, memory_mb=args.memory_mb,
                    scratch_mb=getattr(args, "scratch_mb", 256))
    for w in security_warnings(root):
        print("warning:", w, file=sys.stderr)
    t0 = time.monotonic()
    to_gradebook = not args.results
    results = grade_assignment(root, args.assignment, args.student, limits, args.jobs,
                               feedback=not args.no_feedback, progress=not args.quiet,
                               gradebook=to_gradebook, shard=args.shard)
    if args.results:
        Path(args.results).write_text(json.dumps(results, indent=1, sort_keys=True))
    dt = time.monotonic() - t0
    att = {s: r for s, r in results.items() if r["status"] != "graded"}
    if not args.quiet:
        for s, r in sorted(results.items()):
            flag = "" if r["status"] == "graded" else "  NEEDS ATTENTION: " + "; ".join(r["reasons"])
            print(f"{s:20s} {r['score']:6g} / {r['max_score']:g}{flag}")
        print(f"{len(results)} submissions in {dt:.1f} s; {len(att)} need attention", file=sys.stderr)
    elif att:
        for s, r in sorted(att.items()):
            print(f"needs attention: {s}: " + "; ".join(r["reasons"]), file=sys.stderr)
    weak = sorted(s for s, r in results.items() if r.get("isolation") == "none")
    if weak:
        print(f"warning: {len(weak)} submissions graded without isolation (\"isolation\": \"none\" in "
              f"their results): their code could read the course directory", file=sys.stderr)
    return EXIT_ATTENTION if att else EXIT_GRADED


def merge_command(args) -> int:
    root = Path(course_root(args.course))
    results = {}
    for f in args.results:
        results.update(json.loads(Path(f).read_text()))
    store_results(root, args.assignment, results)
    print(f"merged {len(results)} results into the gradebook")
    att = sorted(s for s, r in results.items() if r["status"] != "graded")
    for s in att:
        print(f"needs attention: {s}: " + "; ".join(results[s]["reasons"]), file=sys.stderr)
    return EXIT_ATTENTION if att else EXIT_GRADED


def feedback_command(args) -> int:
    from .feedback import write_feedback
    root = Path(course_root(args.course))
    res = load_results(root, args.assignment, args.student)
    for s, r in res.items():
        write_feedback(root, args.assignment, s, r)
    print(f"wrote feedback for {len(res)} students")
    return 0
