"""ember-grade / python -m autograder: release, grade, export, feedback, check."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


GRADE_EXIT = """exit status:
  0  every submission graded and stored
  1  all stored, but some submissions need attention (time or memory limit, crash, unreadable
     notebook, missing cells, a result that could not be stored): printed with the reasons and
     flagged in the gradebook; the other students' results are complete
  2  the grader itself failed (the instructor's notebook fails its own tests, the course
     directory or gradebook cannot be used, bad arguments): nothing can be trusted"""


def _add_course(p):
    p.add_argument("--course", help="nbgrader course directory (default: ./course or the repo's course/)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("release", help="student notebooks in notebooks/ from course/source (nbgrader generate_assignment)")
    _add_course(p)
    p.add_argument("assignments", nargs="*")
    p.add_argument("--dest", help="output folder (default: the repo's notebooks/)")

    p = sub.add_parser("grade", help="grade submitted/<student>/<assignment> into the gradebook, autograded/ and feedback",
                       epilog=GRADE_EXIT, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_course(p)
    p.add_argument("assignment")
    p.add_argument("--student", action="append", help="only these students (repeatable); default all")
    p.add_argument("-j", "--jobs", type=int, default=0, help="parallel graders (default: CPU count)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per cell (default 30)")
    p.add_argument("--total-timeout", type=float, default=300.0, help="seconds per submission (default 300)")
    p.add_argument("--memory-mb", type=int, default=2048, help="address-space limit per submission (MiB)")
    p.add_argument("--scratch-mb", type=int, default=256,
                   help="private /tmp, /var/tmp, /dev/shm and working folder per submission, in all (MiB)")
    p.add_argument("--no-feedback", action="store_true", help="do not write feedback files")
    p.add_argument("--shard", help="K/N: grade only the K-th of N slices of the students (fan-out over machines)")
    p.add_argument("--results", help="write per-submission results (JSON) here instead of the gradebook (for --shard)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--replace-nbgrader", action="store_true",
                   help="replace autograded/ folders that `nbgrader autograde` wrote (refused otherwise)")

    p = sub.add_parser("merge", help="merge result files from sharded `grade --results` runs into the gradebook",
                       epilog=GRADE_EXIT, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_course(p)
    p.add_argument("assignment")
    p.add_argument("results", nargs="+")

    p = sub.add_parser("export", help="export grades: CSV (one row per student x assignment) or JSON (per test)")
    _add_course(p)
    p.add_argument("--assignment", action="append")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("-o", "--output", default="-")

    p = sub.add_parser("feedback", help="(re)write feedback files from stored results")
    _add_course(p)
    p.add_argument("assignment")
    p.add_argument("--student", action="append")

    p = sub.add_parser("check", help="self-check: run your own notebook's visible tests in a sandbox")
    p.add_argument("notebook")
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    args = ap.parse_args(argv)

    if args.cmd == "release":
        from .release import release
        release(args.course, args.assignments or None, Path(args.dest) if args.dest else None)
        return 0
    if args.cmd == "grade":
        from .grade import grade_command
        if not _one_owner(args):
            return 2
        return grade_command(args)
    if args.cmd == "merge":
        from .grade import merge_command
        return merge_command(args)
    if args.cmd == "export":
        from .export import export_command
        return export_command(args)
    if args.cmd == "feedback":
        from .grade import feedback_command
        return feedback_command(args)
    if args.cmd == "check":
        from .selfcheck import check_command
        return check_command(args)
    ap.print_help()
    return 2


def _one_owner(args) -> bool:
    """autograded/ has one owner: refuse to replace what `nbgrader autograde` wrote, unless asked."""
    if args.results or args.replace_nbgrader:
        return True
    from .course import course_root
    from .gradebook import nbgrader_autograded
    theirs = nbgrader_autograded(course_root(args.course), args.assignment, args.student)
    if theirs:
        print(f"error: autograded/<student>/{args.assignment} of {len(theirs)} student(s) ({', '.join(theirs[:5])}"
              f"{', ...' if len(theirs) > 5 else ''}) was written by `nbgrader autograde`; grading would replace "
              f"those notebooks and their gradebook scores. Re-run with --replace-nbgrader to do so.",
              file=sys.stderr)
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
