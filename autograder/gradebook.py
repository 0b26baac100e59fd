"""nbgrader's gradebook kept in step with source/, and one owner for autograded/.

Changing a test (its points, its code, a new or removed test cell) and regrading must not leave
formgrader with the old tests (21/20, a new test silently skipped): `sync_gradebook` re-runs
nbgrader's generate_assignment when the gradebook's grade cells differ from the source's, then
gives every existing submission a grade row for each test cell."""
from __future__ import annotations

from pathlib import Path

from . import notebook as nbmod
from .course import load_config, nbgrader_api, source_notebook
from .store import RESULT_FILE


class GradebookError(RuntimeError):
    """The gradebook cannot be brought in step with source/ (the message says how to fix it)."""


def _source_tests(root: Path, assignment: str) -> dict:
    import nbformat
    nb = nbformat.read(source_notebook(root, assignment), as_version=4)
    return {nbmod.nbmeta(c)["grade_id"]: (float(nbmod.nbmeta(c).get("points") or 0), c.source.strip())
            for c in nb.cells if nbmod.is_test(c)}


def sync_gradebook(root, assignment: str) -> bool:
    """Bring the gradebook's copy of `assignment` up to date with source/; True when it changed."""
    from nbgrader.api import Gradebook, MissingEntry
    root = Path(root)
    cfg = load_config(root)
    want = _source_tests(root, assignment)
    with Gradebook(cfg.CourseDirectory.db_url, cfg.CourseDirectory.course_id) as gb:
        try:
            nb = gb.find_notebook(assignment, assignment)
            sources = {c.name: (c.source or "").strip() for c in nb.source_cells}
            have = {g.name: (float(g.max_score), sources.get(g.name, "")) for g in nb.grade_cells}
        except MissingEntry:
            have = None
    changed = have != want
    if changed and have is not None and set(have) != set(want):
        _add_and_remove_tests(cfg, assignment, want)
    if changed:
        r = nbgrader_api(root).generate_assignment(assignment, force=True, create=True)
        if not r.get("success"):
            raise GradebookError(
                f"the gradebook still has the old tests of {assignment} (nbgrader generate_assignment failed: "
                f"{(r.get('error') or '').strip()[-600:]})\nfix the source, then run: "
                f"make nbgrader ARGS=\"generate_assignment {assignment} --force\"")
    _add_missing_grades(cfg, assignment)
    return changed


def _add_and_remove_tests(cfg, assignment: str, want: dict):
    """nbgrader refuses to add or remove cells once there are submissions; for test cells the trusted
    grader does it: a new test gets its cells (and, below, a grade per submission), a removed test
    loses its cells and grades. generate_assignment then fills in points, source and checksums."""
    from nbgrader.api import Gradebook, Grade
    with Gradebook(cfg.CourseDirectory.db_url, cfg.CourseDirectory.course_id) as gb:
        nb = gb.find_notebook(assignment, assignment)
        answers = {c.name for c in nb.solution_cells}
        for cell in list(nb.grade_cells):
            if cell.name not in want and cell.name not in answers:
                for g in gb.db.query(Grade).filter(Grade.cell_id == cell.id).all():
                    gb.db.delete(g)
                for sc in [x for x in nb.source_cells if x.name == cell.name]:
                    gb.db.delete(sc)
                gb.db.delete(cell)
        gb.db.commit()
        for name, (points, source) in want.items():
            gb.update_or_create_grade_cell(name, assignment, assignment, max_score=points, cell_type="code")
            gb.update_or_create_source_cell(name, assignment, assignment, source=source, cell_type="code",
                                            locked=True)
        gb.db.commit()


def _add_missing_grades(cfg, assignment: str):
    """A test cell added after students submitted gets a grade row in each submission."""
    from nbgrader.api import Gradebook, Grade, MissingEntry
    with Gradebook(cfg.CourseDirectory.db_url, cfg.CourseDirectory.course_id) as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            return
        for nb in a.notebooks:
            for sub in nb.submissions:
                have = {g.cell_id for g in sub.grades}
                for cell in nb.grade_cells:
                    if cell.id not in have:
                        gb.db.add(Grade(cell_id=cell.id, notebook=sub, needs_manual_grade=True))
        gb.db.commit()


def nbgrader_autograded(root, assignment: str, students=None) -> list[str]:
    """Students whose autograded/<student>/<a>/ was written by `nbgrader autograde` (a notebook
    and no trusted result): the trusted grader would replace it."""
    base = Path(root) / "autograded"
    if not base.is_dir():
        return []
    return sorted(d.name for d in base.iterdir()
                  if (not students or d.name in students) and (d / assignment).is_dir()
                  and list((d / assignment).glob("*.ipynb")) and not (d / assignment / RESULT_FILE).exists())


def trusted_autograded(root) -> list[Path]:
    """autograded/<student>/<a>/ folders owned by the trusted grader."""
    base = Path(root) / "autograded"
    return sorted(base.glob(f"*/*/{RESULT_FILE}")) if base.is_dir() else []


def refuse_nbgrader_autograde(root, argv: list[str]):
    """Called by course/nbgrader_config.py when nbgrader starts: `nbgrader autograde A` stops before
    touching anything when the trusted grader owns autograded/<student>/A of some student."""
    import os
    if os.environ.get("EMBER_ALLOW_NBGRADER_AUTOGRADE") or argv[1:2] != ["autograde"]:
        return
    names = [a for a in argv[2:] if not a.startswith("-")][:1]
    owned = sorted({p.parent.name for p in trusted_autograded(root) if not names or p.parent.name == names[0]})
    if owned:
        raise SystemExit(
            f"nbgrader autograde: autograded/<student>/{owned[0]} belongs to the trusted grader; "
            f"nbgrader would overwrite its notebooks and gradebook scores. Grade with "
            f"`python -m autograder grade {owned[0]}` (or set EMBER_ALLOW_NBGRADER_AUTOGRADE=1 to hand "
            f"this course to nbgrader autograde).")


def late_plugin(cfg):
    """nbgrader's late-submission plugin as the course configures it (AssignLatePenalties.plugin_class,
    LateSubmissionPlugin.penalty_method)."""
    from nbgrader.plugins import LateSubmissionPlugin
    from traitlets.utils.importstring import import_item
    cls = cfg.AssignLatePenalties.get("plugin_class", LateSubmissionPlugin)
    try:
        cls = import_item(cls) if isinstance(cls, str) else cls
    except ImportError:
        cls = LateSubmissionPlugin
    plugin = cls(config=cfg)
    plugin.log.setLevel("WARNING")
    return plugin


def late_penalty(plugin, student: str, score: float, seconds_late: float) -> float:
    """Points a submission `seconds_late` seconds after the due date loses (0 when on time)."""
    if seconds_late <= 0:
        return 0.0
    return float(plugin.late_submission_penalty(student, score, seconds_late) or 0.0)


def set_late_penalty(gb, cfg, assignment: str, student: str):
    """The submission's late penalty in the gradebook, as nbgrader autograde records it (formgrader
    shows it); `export` recomputes it from the due date it finds then."""
    from nbgrader.api import MissingEntry
    try:
        nb = gb.find_submission_notebook(assignment, assignment, student)
    except MissingEntry:
        return
    late = float(nb.assignment.total_seconds_late or 0.0)
    nb.late_submission_penalty = late_penalty(late_plugin(cfg), student, float(nb.score), late) if late > 0 else None
    gb.db.commit()
