"""Which earlier function a failing test depends on: "`l2_loss` is wrong, fix it first".

A test cell that fails names the notebook functions it called since its last passing check (the
suspects); a later test that fails after calling one of them is told to fix that one first. Used by
`autograder.check` in a student's kernel and by the self-check after a run."""
from __future__ import annotations

import ast


def calls(src: str) -> list[tuple[int, str]]:
    """(line, name) of every call of a plain name (f(...), Cls.apply(...) counts as Cls) in src."""
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            while isinstance(f, ast.Attribute):
                f = f.value
            if isinstance(f, ast.Name):
                out.append((node.lineno, f.id))
    return sorted(set(out))


def check_lines(src: str) -> list[int]:
    """Lines of the check.* calls in a test cell."""
    return sorted({ln for ln, name in calls(src) if name == "check"})


def suspects(src: str, line: int, defined) -> list[str]:
    """The notebook functions (names in `defined`) a test cell called before its check at `line`
    failed, after the last check before it (all calls before `line` when there is none)."""
    prev = max((ln for ln in check_lines(src) if ln < line), default=0)
    used = [name for ln, name in calls(src) if name in defined and ln <= line]
    recent = [name for ln, name in calls(src) if name in defined and prev < ln <= line]
    return sorted(set(recent or used))


def used_before(src: str, line: int | None, defined) -> list[str]:
    """Notebook functions a test cell calls up to `line` (all of them when line is None)."""
    return sorted({name for ln, name in calls(src) if name in defined and (line is None or ln <= line)})


def fix_first(names) -> str:
    """The sentence that sends a student to the earlier failure."""
    names = sorted(names)
    if not names:
        return ""
    listed = ", ".join(f"`{n}`" for n in names)
    return (f"{listed} {'is' if len(names) == 1 else 'are'} wrong (its own test above failed): fix it first; "
            "this test uses it, so it may fail only because of that.")
