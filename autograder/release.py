"""`python -m autograder release`: student notebooks in notebooks/ from course/source, reproducibly.

nbgrader's generate_assignment does the work (solution regions and hidden tests removed, cells
locked, checksums); it runs on a private copy of the course so nothing in course/ changes. The
result is normalized (no outputs, no execution counts, deterministic cell ids, stable JSON) so two
runs give byte-identical files.
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

import nbformat

from .course import (assignments, course_root, data_files, nbgrader_api, not_course_files, source_notebook,
                     REPO_ROOT)

VOLATILE_CELL_METADATA = ("collapsed", "scrolled", "execution", "ExecuteTime", "jupyter")


def normalize(nb, source_nb=None):
    """Strip outputs and volatile metadata; give every cell a deterministic id."""
    nb.metadata.pop("widgets", None)
    src_cells = source_nb.cells if source_nb is not None else []
    used = set()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.pop("attachments", None) if not cell.get("attachments") else None
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        cid = None
        if i < len(src_cells) and src_cells[i].get("id"):
            cid = src_cells[i]["id"]
        if not cid or cid in used:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id") or str(i)
            cid = "cell-" + hashlib.sha1(f"{i}:{gid}".encode()).hexdigest()[:12]
        used.add(cid)
        if nb.nbformat == 4 and nb.nbformat_minor >= 5:
            cell["id"] = cid
    return nb


def dumps(nb) -> str:
    return nbformat.writes(nb, version=4)  # sorted keys, indent=1: stable


def generate(root: Path, names: list[str], workdir: Path) -> dict[str, Path]:
    """Run nbgrader generate_assignment for `names` on a copy of the course in `workdir`.
    Returns {assignment: release folder}."""
    work_course = workdir / "course"
    (work_course / "source").mkdir(parents=True, exist_ok=True)
    if (root / "nbgrader_config.py").exists():
        shutil.copy(root / "nbgrader_config.py", work_course / "nbgrader_config.py")
    for a in names:
        shutil.copytree(root / "source" / a, work_course / "source" / a, ignore=not_course_files)
    api = nbgrader_api(work_course)
    out = {}
    for a in names:
        res = api.generate_assignment(a, force=True, create=True)
        if not res.get("success"):
            raise RuntimeError(f"nbgrader generate_assignment {a} failed:\n{res.get('error', '')}\n{res.get('log', '')}")
        out[a] = work_course / "release" / a
    return out


def release(root: Path | None = None, names: list[str] | None = None, dest: Path | None = None,
            quiet: bool = False) -> list[Path]:
    root = course_root(root)
    dest = Path(dest) if dest else REPO_ROOT / "notebooks"
    names = list(names) if names else assignments(root)
    unknown = [a for a in names if a not in assignments(root)]
    if unknown:
        raise SystemExit(f"no such assignment in {root / 'source'}: {', '.join(unknown)}")
    dest.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if not names:
        if not quiet:
            print(f"no assignments in {root / 'source'}")
        return written
    with tempfile.TemporaryDirectory(prefix="ember-release-") as tmp:
        folders = generate(root, names, Path(tmp))
        data_owner: dict[str, str] = {}
        for a in names:
            nb = nbformat.read(folders[a] / f"{a}.ipynb", as_version=4)
            src = nbformat.read(source_notebook(root, a), as_version=4)
            text = dumps(normalize(nb, src))
            target = dest / f"{a}.ipynb"
            if not target.exists() or target.read_text() != text:
                target.write_text(text)
            written.append(target)
            for f in data_files(root, a):
                rel = f.relative_to(root / "source" / a)
                out = dest / rel
                if str(rel) in data_owner and out.read_bytes() != f.read_bytes():
                    raise SystemExit(f"data file {rel} differs between {data_owner[str(rel)]} and {a}")
                data_owner[str(rel)] = a
                out.parent.mkdir(parents=True, exist_ok=True)
                if not out.exists() or out.read_bytes() != f.read_bytes():
                    shutil.copyfile(f, out)
                written.append(out)
            if not quiet:
                print(f"released {a} -> {target.relative_to(dest.parent) if dest.parent in target.parents else target}")
    return written
