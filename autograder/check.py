"""Checks for test cells: `from autograder import check`.

    check.close(got, expected, rtol=1e-5, atol=1e-8, hint="...")   # numbers, arrays, tensors
    check.equal(got, expected, hint="...")                          # ints, strings, shapes, tuples
    check.at_least(got, minimum, hint="...")                        # thresholds: one number
    check.at_most(got, maximum, hint="...")

`hint` is a string, or a dict tying hints to the diagnosed cause ({"sign": "...", "else": "..."},
causes in `compare.CAUSES`). `check.close(..., before=value_before_the_step)` lets a result that never
changed be diagnosed as such. In a student's notebook a failing check raises CheckFailed, shown as
its message alone (no grader frames), and a test cell whose checks all pass prints one line. When the
course is graded, the grader runs these cells with `expected` removed and only *records* `got`; the
comparison happens in the grader's own process against the instructor's expected values (see
course/AUTHORING.md).
"""
from __future__ import annotations

import sys

from . import blame
from .compare import diagnose, pick_hint, plain

# Set by the grading driver (autograder._driver); None in a normal notebook.
_recorder = None

__all__ = ["close", "equal", "at_least", "at_most", "CheckFailed"]

# per-kernel state: checks in the running cell, and the functions blamed by failing test cells
_cell = {"checks": 0, "last_ok_line": 0}
_blamed: dict[str, str] = {}      # function name -> source of the test cell that blamed it


class CheckFailed(AssertionError):
    """A failed check; IPython shows its message only (`_render_traceback_`), not the grader's frames."""

    def _render_traceback_(self):
        return ["\x1b[1;31mCheck failed\x1b[0m: " + str(self).replace("\n", "\n  ")]


def _caller():
    """The frame of the test cell that called check.*."""
    f = sys._getframe(1)
    while f is not None and f.f_globals.get("__name__") == __name__:
        f = f.f_back
    return f


def _cell_source(frame) -> str:
    import linecache
    return "".join(linecache.getlines(frame.f_code.co_filename)) if frame is not None else ""


def _defined(frame) -> set[str]:
    """Names of functions and classes the notebook itself defined (its __main__)."""
    if frame is None:
        return set()
    return {k for k, v in frame.f_globals.items()
            if getattr(v, "__module__", None) == "__main__" and callable(v) and not k.startswith("_")}


def _fail(msg: str, hint) -> None:
    frame = _caller()
    src, line = _cell_source(frame), frame.f_lineno if frame is not None else 0
    if src:
        defined = _defined(frame)
        key = src.strip()
        earlier = {n for n in blame.used_before(src, line, defined) if _blamed.get(n, key) != key}
        if earlier:
            msg = blame.fix_first(earlier) + "\n" + msg
        for n in blame.suspects(src, line, defined):
            _blamed.setdefault(n, key)
        code = src.splitlines()[line - 1].strip() if 0 < line <= len(src.splitlines()) else ""
        if code:
            msg += f"\n  (line {line} of the test: {code})"
    raise CheckFailed(msg + (f"\nhint: {hint}" if hint else ""))


def _check(kind, got, expected, rtol, atol, hint, before=None):
    if _recorder is not None:
        _recorder(kind, got, expected, rtol, atol, hint, before=before)
        return
    __tracebackhide__ = True
    _hook_ipython()
    try:
        g = plain(got)
    except TypeError as e:
        _fail(f"result has the wrong type: {e}", pick_hint(hint, "type"))
    b = None
    if before is not None:
        try:
            b = plain(before)
        except TypeError:
            b = None
    ok, msg, cause = diagnose(kind, g, plain(expected), rtol, atol, show_values=True, before=b)
    if not ok:
        _fail(msg, pick_hint(hint, cause))
    _cell["checks"] += 1


def close(got, expected=None, rtol: float = 1e-5, atol: float = 1e-8, hint: str | dict | None = None,
          before=None):
    """Pass when `got` has `expected`'s shape and its values are within atol + rtol*|expected|.
    `before`: the value `got` had before the step under test (diagnoses "unchanged")."""
    _check("close", got, expected, rtol, atol, hint, before)


def equal(got, expected=None, hint: str | dict | None = None):
    """Pass when `got` equals `expected` exactly (types must agree: a bool is not a number)."""
    _check("equal", got, expected, 0.0, 0.0, hint)


def at_least(got, expected=None, hint: str | dict | None = None):
    """Pass when the number `got` is >= `expected` (a threshold: an accuracy, a number of steps)."""
    _check("at_least", got, expected, 0.0, 0.0, hint)


def at_most(got, expected=None, hint: str | dict | None = None):
    """Pass when the number `got` is <= `expected` (a threshold: a final loss, an error)."""
    _check("at_most", got, expected, 0.0, 0.0, hint)


# ---------------------------------------------------------------- IPython: one line per passing cell
_hooked = []


def _pre_run_cell(*_):
    _cell["checks"] = 0


def _post_run_cell(result=None):
    n, _cell["checks"] = _cell["checks"], 0
    if not n or result is None or not getattr(result, "success", False):
        return
    src = (getattr(getattr(result, "info", None), "raw_cell", "") or "").strip()
    for name in [k for k, v in _blamed.items() if v == src]:
        del _blamed[name]
    print(f"\u2714 passed ({n} check{'s' if n != 1 else ''})")


def _hook_ipython() -> None:
    """Register the pre/post cell callbacks once, when running in IPython."""
    if _hooked or "IPython" not in sys.modules:
        return
    try:
        ip = sys.modules["IPython"].get_ipython()
    except Exception:
        return
    if ip is not None and hasattr(ip, "events"):
        _hooked.append(True)
        ip.events.register("pre_run_cell", _pre_run_cell)
        ip.events.register("post_run_cell", _post_run_cell)
