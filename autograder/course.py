"""The course directory: where it is, which assignments it has, nbgrader's API on top of it."""
from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# nbgrader's Gradebook runs the `alembic` executable: make the running interpreter's scripts findable
# even when the virtualenv is not activated (`.venv/bin/python -m autograder ...`).
_bindir = os.path.dirname(sys.executable)
if _bindir not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bindir + os.pathsep + os.environ.get("PATH", "")


def course_root(path: str | os.PathLike | None = None) -> Path:
    """The nbgrader course directory (the folder holding nbgrader_config.py and source/)."""
    if path:
        return Path(path).resolve()
    env = os.environ.get("EMBER_COURSE")
    if env:
        return Path(env).resolve()
    here = Path.cwd()
    for cand in (here, here / "course"):
        if (cand / "nbgrader_config.py").exists() and (cand / "source").is_dir():
            return cand.resolve()
    return (REPO_ROOT / "course").resolve()


def assignments(root: Path) -> list[str]:
    """Assignment names in source/, sorted (a folder counts when it holds <name>/<name>.ipynb)."""
    src = Path(root) / "source"
    if not src.is_dir():
        return []
    return sorted(p.name for p in src.iterdir() if p.is_dir() and (p / f"{p.name}.ipynb").is_file())


def source_notebook(root: Path, assignment: str) -> Path:
    return Path(root) / "source" / assignment / f"{assignment}.ipynb"


def load_config(root: Path, **overrides):
    """The course's nbgrader Config (course/nbgrader_config.py), with dotted overrides applied:
    load_config(root, **{"CourseDirectory.root": "/tmp/x"})."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    cfg_file = Path(root) / "nbgrader_config.py"
    cfg = Config()
    if cfg_file.exists():
        cfg = PyFileConfigLoader(cfg_file.name, path=str(cfg_file.parent)).load_config()
    cfg.CourseDirectory.root = str(Path(root).resolve())
    cfg.CourseDirectory.db_url = "sqlite:///" + str(Path(root).resolve() / "gradebook.db")
    for key, value in overrides.items():
        section, name = key.rsplit(".", 1)
        sub = cfg
        for part in section.split("."):
            sub = sub[part]
        sub[name] = value
    return cfg


def nbgrader_api(root: Path, **overrides):
    """nbgrader's NbGraderAPI for this course directory (in process, quiet)."""
    import logging

    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    cfg = load_config(root, **overrides)
    cfg.NbGraderAPI.log_level = logging.WARNING
    coursedir = CourseDirectory(config=cfg)
    return NbGraderAPI(coursedir=coursedir, config=cfg)


def ignore_patterns(root: Path) -> list[str]:
    cfg = load_config(root)
    try:
        return list(cfg.CourseDirectory.ignore)
    except Exception:
        return [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "wrong.py"]


def not_course_files(folder: str, names: list[str]) -> set[str]:
    """shutil.copytree's ignore= for an assignment folder: checkpoints, caches, and anything that is
    not a file or folder (a running kernel's IPC sockets beside a notebook) stay out of the copy."""
    paths = {n: os.path.join(folder, n) for n in names}
    return {n for n, p in paths.items()
            if n in (".ipynb_checkpoints", "__pycache__") or not (os.path.isfile(p) or os.path.isdir(p))}


def data_files(root: Path, assignment: str) -> list[Path]:
    """Files beside the source notebook that students get (no notebooks, nothing ignored)."""
    import fnmatch

    src = Path(root) / "source" / assignment
    pats = ignore_patterns(root) + ["*.ipynb", "wrong.py"]
    out = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if not any(fnmatch.fnmatch(d, p) for p in pats))
        for f in sorted(filenames):
            if any(fnmatch.fnmatch(f, p) for p in pats) or not os.path.isfile(os.path.join(dirpath, f)):
                continue
            out.append(Path(dirpath) / f)
    return out
