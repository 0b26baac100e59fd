"""Reading notebooks: cell roles, the grading plan, test-cell rewriting, the authoring lint."""
from __future__ import annotations

import ast
import gc
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

CHECK_FUNCS = ("close", "equal", "at_least", "at_most")
_EXP_BEGIN = re.compile(r"^\s*#+\s*BEGIN EXPECTED\s*$")
_EXP_END = re.compile(r"^\s*#+\s*END EXPECTED\s*$")
_HID_BEGIN = re.compile(r"BEGIN HIDDEN TESTS")
_HID_END = re.compile(r"END HIDDEN TESTS")
_SOL_BEGIN = re.compile(r"BEGIN SOLUTION")
_SOL_END = re.compile(r"END SOLUTION")


def nbmeta(cell) -> dict:
    m = cell.get("metadata", {}).get("nbgrader", {})
    return m if isinstance(m, dict) else {}


def is_test(cell) -> bool:
    m = nbmeta(cell)
    return cell.get("cell_type") == "code" and bool(m.get("grade")) and not m.get("solution")


def is_answer(cell) -> bool:
    return bool(nbmeta(cell).get("solution"))


def region_lines(source: str, begin: re.Pattern, end: re.Pattern) -> list[str]:
    out, inside = [], False
    for line in source.splitlines():
        if begin.search(line):
            inside = True
            continue
        if end.search(line):
            inside = False
            continue
        if inside:
            out.append(line)
    return out


def solution_lines(src: str) -> list[str]:
    return region_lines(src, _SOL_BEGIN, _SOL_END)


def hidden_lines(src: str) -> list[str]:
    return region_lines(src, _HID_BEGIN, _HID_END)


def has_hidden(src: str) -> bool:
    return bool(_HID_BEGIN.search(src))


_AST_LOCK = threading.Lock()


def _parse(src: str) -> ast.Module:
    """ast.parse, safe in a grading thread. CPython 3.11 keeps one AST recursion counter per
    interpreter: a parse that starts while another is being built (in another thread, or in a
    garbage-collector finalizer that formats a traceback) makes the outer one fail with
    "SystemError: AST constructor recursion depth mismatch". Our parses take a lock, and the
    collector is off while the tree is built, so no Python code can run in the middle of one."""
    with _AST_LOCK:
        collecting = gc.isenabled()
        gc.disable()
        try:
            return ast.parse(src)
        finally:
            if collecting:
                gc.enable()


def strip_expected(src: str) -> str:
    """Blank the lines of ### BEGIN EXPECTED ... ### END EXPECTED regions (line numbers kept)."""
    out, inside = [], False
    for line in src.splitlines():
        if _EXP_BEGIN.match(line):
            inside = True
            out.append("")
            continue
        if _EXP_END.match(line):
            inside = False
            out.append("")
            continue
        out.append("" if inside else line)
    return "\n".join(out)


def _check_calls(tree):
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in CHECK_FUNCS and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "check"):
            yield node


class _StripExpected(ast.NodeTransformer):
    def visit_Call(self, node):
        self.generic_visit(node)
        if node in self.calls:
            if len(node.args) >= 2:
                node.args[1] = ast.copy_location(ast.Constant(None), node.args[1])
            node.keywords = [ast.keyword(arg=k.arg, value=ast.Constant(None)) if k.arg == "expected" else k
                             for k in node.keywords]
        return node


def student_version(src: str) -> str:
    """The test cell as it runs against a student's code: EXPECTED regions removed and the
    `expected` argument of every check call replaced by None."""
    tree = _parse(strip_expected(src))
    t = _StripExpected()
    t.calls = set(_check_calls(tree))
    tree = ast.fix_missing_locations(t.visit(tree))
    return ast.unparse(tree)


def hints(src: str) -> list[tuple[int, str | dict | None]]:
    """(line, literal hint or None) of each check call, in source order: a string, or a dict of
    strings keyed by cause (compare.pick_hint chooses)."""
    out = []
    try:
        tree = _parse(src)
    except SyntaxError:
        return out
    for call in sorted(_check_calls(tree), key=lambda c: (c.lineno, c.col_offset)):
        h = None
        for k in call.keywords:
            if k.arg == "hint" and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str):
                h = k.value.value
            elif k.arg == "hint" and isinstance(k.value, ast.Dict):
                try:
                    d = ast.literal_eval(k.value)
                except ValueError:
                    d = None
                if all(isinstance(a, str) and isinstance(b, str) for a, b in (d or {}).items()):
                    h = d or None
        out.append((call.lineno, h))
    return out


def lint_test_cell(src: str) -> list[str]:
    """AUTHORING.md's rules for one test cell; returns problems (empty when fine)."""
    problems = []
    try:
        tree = _parse(src)
    except SyntaxError as e:
        return [f"syntax error: {e}"]
    calls = list(_check_calls(tree))
    if not calls:
        problems.append("no check.close/check.equal call: the grader has nothing it can trust")
    if "from autograder import check" not in src:
        problems.append("missing `from autograder import check` in the cell")
    if re.search(r"^\s*[%!]", src, re.M):
        problems.append("magics are not allowed in test cells")
    # names assigned outside EXPECTED regions
    try:
        outer = _parse(strip_expected(src))
    except SyntaxError as e:
        return problems + [f"syntax error once EXPECTED regions are removed: {e}"]
    assigned = set()
    for node in ast.walk(outer):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            assigned.add(node.id)
    for call in calls:
        exp = call.args[1] if len(call.args) >= 2 else next(
            (k.value for k in call.keywords if k.arg == "expected"), None)
        if exp is None:
            problems.append(f"line {call.lineno}: check without an expected value")
        elif isinstance(exp, ast.Name) and exp.id in assigned:
            problems.append(f"line {call.lineno}: expected value `{exp.id}` is computed in the cell where "
                            "student code can see it; write it in the check call or in a ### BEGIN EXPECTED region")
    try:
        student_version(src)
    except Exception as e:  # pragma: no cover
        problems.append(f"cannot rewrite the cell for grading: {e}")
    return problems


def lint_notebook(nb) -> list[str]:
    problems = []
    ids = {}
    for i, cell in enumerate(nb.cells):
        m = nbmeta(cell)
        gid = m.get("grade_id")
        if gid:
            if gid in ids:
                problems.append(f"cell {i}: duplicate grade_id {gid!r}")
            ids[gid] = i
        if is_test(cell):
            if not m.get("points"):
                problems.append(f"test cell {gid!r}: no points")
            for p in lint_test_cell(cell.source):
                problems.append(f"test cell {gid!r}: {p}")
    return problems


# ---------------------------------------------------------------- wrong answers


def parse_wrong(text: str) -> dict[str, str]:
    """`# %% <grade_id>` sections of a wrong.py -> {grade_id: code}."""
    out: dict[str, list[str]] = {}
    cur = None
    for line in text.splitlines():
        m = re.match(r"^#\s*%%\s*(\S+)\s*$", line)
        if m:
            cur = m.group(1)
            out[cur] = []
        elif cur is not None:
            out[cur].append(line)
    return {k: "\n".join(v).strip("\n") + "\n" for k, v in out.items()}


def apply_replacements(nb, repl: dict[str, str]):
    """A copy of nb with the answer cells named in repl replaced (KeyError for unknown ids)."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    seen = set()
    for cell in nb.cells:
        gid = nbmeta(cell).get("grade_id")
        if gid in repl:
            cell.source = repl[gid]
            seen.add(gid)
    missing = set(repl) - seen
    if missing:
        raise KeyError(f"wrong.py names unknown cells: {sorted(missing)}")
    return nb


# ---------------------------------------------------------------- grading plan


@dataclass
class Step:
    kind: str               # "setup" (instructor code), "answer" (student code), "test"
    source: str
    grade_id: str | None = None
    points: float = 0.0
    hidden: bool = False
    index: int = 0          # position in the plan


@dataclass
class Plan:
    steps: list[Step]
    tests: list[Step]
    notes: list[str] = field(default_factory=list)
    attention: list[str] = field(default_factory=list)


MAX_NOTEBOOK_BYTES = 16 << 20  # parsing JSON takes up to ~20x its size: a submission must not sink the grader


def read_notebook_safely(path: Path):
    """(nb, error) - a notebook that cannot be read (or is over MAX_NOTEBOOK_BYTES) gives (None, reason)."""
    try:
        size = Path(path).stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            return None, f"unreadable notebook: {size >> 20} MiB (at most {MAX_NOTEBOOK_BYTES >> 20} MiB; clear the outputs)"
        raw = Path(path).read_text(encoding="utf-8", errors="replace")
        data = json.loads(raw)
        if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
            return None, "unreadable notebook: no cell list"
        nb = nbformat.from_dict(data)
        if type(nb.get("nbformat")) is int and nb["nbformat"] < 4:
            nb = nbformat.convert(nb, 4)
        nb["nbformat"], nb["nbformat_minor"] = 4, 5  # whatever it claims (5, "x"): read as version 4
        for c in nb.cells:
            if not isinstance(c, dict):
                return None, "unreadable notebook: a cell is not an object"
            if isinstance(c.get("source"), list):
                c["source"] = "".join(x for x in c["source"] if isinstance(x, str))
            if not isinstance(c.get("source", ""), str):
                c["source"] = ""
            if c.get("cell_type") not in ("code", "markdown", "raw"):
                c["cell_type"] = "raw"
            if not isinstance(c.get("metadata"), dict):
                c["metadata"] = nbformat.NotebookNode()
            m = c["metadata"].get("nbgrader")
            if m is not None and (not isinstance(m, dict) or not isinstance(m.get("grade_id", ""), str)):
                del c["metadata"]["nbgrader"]  # a grade_id that is a list or a dict names no cell
        return nb, None
    except Exception as e:
        return None, f"unreadable notebook: {type(e).__name__}: {str(e)[:200]}"


def safe_markdown(src: str) -> str:
    """A student's markdown as the instructor may render it (nbconvert, formgrader): no HTML (no `<`
    or `&` survives, so no tag or entity), no link or image targets (`javascript:` URLs)."""
    src = src.replace("&", "&amp;").replace("<", "&lt;").replace("](", "] (")
    return re.sub(r"^(\s{0,3})\[", r"\1\\[", src, flags=re.M)  # reference definitions: [x]: url


def safe_raw(src: str) -> str:
    """A student's raw cell as text: HTML exporters copy raw cells verbatim."""
    return src.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_plan(source_nb, student_nb) -> Plan:
    """The program that grading runs: the instructor's cells in the instructor's order, each answer
    cell taken from the student's notebook (matched by grade_id), student-added code cells kept
    after the answer they follow, test cells always the instructor's."""
    notes, attention = [], []
    student_cells: dict[str, list[str]] = {}
    extra_after: dict[str | None, list[str]] = {}
    known_ids = {nbmeta(c).get("grade_id") for c in source_nb.cells if nbmeta(c).get("grade_id")}
    answer_ids = [nbmeta(c)["grade_id"] for c in source_nb.cells if is_answer(c) and nbmeta(c).get("grade_id")]
    last_answer = None
    for c in student_nb.cells if student_nb is not None else []:
        gid = nbmeta(c).get("grade_id")
        if gid in answer_ids:
            if c.get("cell_type") != "code" and any(
                    nbmeta(s).get("grade_id") == gid and s.cell_type == "code" for s in source_nb.cells):
                notes.append(f"answer cell {gid!r} was turned into a {c.get('cell_type')} cell; run as code")
            student_cells.setdefault(gid, []).append(c.get("source", ""))
            last_answer = gid
        elif gid in known_ids:
            continue  # instructor cell (maybe edited): the instructor's version is used
        elif c.get("cell_type") == "code" and c.get("source", "").strip():
            extra_after.setdefault(last_answer, []).append(c.get("source", ""))
    for gid, srcs in student_cells.items():
        if len(srcs) > 1:
            notes.append(f"answer cell {gid!r} appears {len(srcs)} times; all copies run in order")
    steps: list[Step] = []
    for gid_extra in extra_after.get(None, []):
        steps.append(Step("answer", gid_extra, None))
    for c in source_nb.cells:
        m = nbmeta(c)
        gid = m.get("grade_id")
        if is_answer(c):
            if c.cell_type != "code":
                continue  # manually graded text answer
            srcs = student_cells.get(gid)
            if srcs is None:
                attention.append(f"missing answer cell {gid!r}")
                srcs = []
            for s in srcs:
                steps.append(Step("answer", s, gid))
            for s in extra_after.get(gid, []):
                steps.append(Step("answer", s, None))
        elif is_test(c):
            steps.append(Step("test", c.source, gid, float(m.get("points") or 0), has_hidden(c.source)))
        elif c.cell_type == "code":
            steps.append(Step("setup", c.source, gid))
    for i, s in enumerate(steps):
        s.index = i
    return Plan(steps, [s for s in steps if s.kind == "test"], notes, attention)
