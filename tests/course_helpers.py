"""Shared helpers for the course and autograder tests: temporary nbgrader course directories."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
# overridable so the course tests can be exercised on another course (e.g. the fixture one)
COURSE = Path(os.environ.get("EMBER_TEST_COURSE", REPO / "course"))
NOTEBOOKS = Path(os.environ.get("EMBER_TEST_NOTEBOOKS", REPO / "notebooks"))
FIXTURE_COURSE = Path(__file__).parent / "fixtures" / "course"


def make_course(tmp: Path, source_root: Path, names=None, generate=True) -> Path:
    """A private (0700) nbgrader course in tmp/course with the repo's nbgrader_config.py and the
    given assignments; nbgrader generate_assignment run for them (gradebook + release/)."""
    from autograder.course import assignments, nbgrader_api, not_course_files
    tmp = Path(tmp)
    os.chmod(tmp, 0o700)
    root = tmp / "course"
    (root / "source").mkdir(parents=True)
    shutil.copy(REPO / "course" / "nbgrader_config.py", root / "nbgrader_config.py")
    names = names if names is not None else assignments(source_root)
    for a in names:
        shutil.copytree(source_root / "source" / a, root / "source" / a, ignore=not_course_files)
    if generate:
        api = nbgrader_api(root)
        for a in names:
            r = api.generate_assignment(a, force=True, create=True)
            assert r["success"], r.get("error", "") + r.get("log", "")
    return root


def submit(root: Path, student: str, assignment: str, nb, timestamp="2026-01-01 12:00:00.000000 UTC"):
    """Place a submission where `nbgrader collect` puts it: submitted/<student>/<assignment>/."""
    d = Path(root) / "submitted" / student / assignment
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{assignment}.ipynb"
    if isinstance(nb, (str, bytes)):
        path.write_text(nb if isinstance(nb, str) else nb.decode("latin-1"))
    else:
        nbformat.write(nb, path)
    (d / "timestamp.txt").write_text(timestamp)
    return path


def read_nb(path):
    return nbformat.read(path, as_version=4)


def replace_cells(nb, repl: dict):
    from autograder.notebook import apply_replacements
    return apply_replacements(nb, repl)


def copy_nb(nb):
    return nbformat.from_dict(json.loads(json.dumps(nb)))


def parse_wrong_answers(text: str) -> list[dict]:
    """The wrong answers of a wrong.py (see course/AUTHORING.md): [{name, fails, says, cells}], where
    `cells` maps answer-cell grade_ids to replacement code, `fails` lists the visible test cells it
    must fail and `says` the words their message must contain."""
    import re
    out, cur, cell = [], None, None
    for line in text.splitlines():
        m = re.match(r"^#\s*%%%\s*(\S+)\s*$", line)
        if m:
            cur = {"name": m.group(1), "fails": [], "says": [], "cells": {}}
            out.append(cur)
            cell = None
            continue
        if cur is None:
            continue
        m = re.match(r"^#\s*%%\s*(\S+)\s*$", line)
        if m:
            cell = m.group(1)
            cur["cells"][cell] = []
            continue
        m = re.match(r"^#\s*(fails|says):\s*(.+?)\s*$", line)
        if m and cell is None:
            cur[m.group(1)] += [s.strip() for s in m.group(2).split(";" if m.group(1) == "says" else ",") if s.strip()]
            continue
        if cell is not None:
            cur["cells"][cell].append(line)
    for w in out:
        w["cells"] = {k: "\n".join(v).strip("\n") + "\n" for k, v in w["cells"].items()}
    return out
