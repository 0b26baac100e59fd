"""Checks for test cells: `from autograder import check`.

    check.close(got, expected, rtol=1e-5, atol=1e-8, hint="...")   # numbers, arrays, tensors
    check.equal(got, expected, hint="...")                          # ints, strings, shapes, tuples

In a student's notebook a failing check raises AssertionError with a diagnosis (wrong shape,
transposed, wrong sign, constant factor, NaN...) and the hint. When the course is graded, the grader
runs these cells with `expected` removed and only *records* `got`; the comparison happens in the
grader's own process against the instructor's expected values (see course/AUTHORING.md).
"""
from __future__ import annotations

from .compare import compare, plain

# Set by the grading driver (autograder._driver); None in a normal notebook.
_recorder = None

__all__ = ["close", "equal", "CheckFailed"]


class CheckFailed(AssertionError):
    pass


def _check(kind, got, expected, rtol, atol, hint):
    if _recorder is not None:
        _recorder(kind, got, expected, rtol, atol, hint)
        return
    try:
        g = plain(got)
    except TypeError as e:
        raise CheckFailed(f"result has the wrong type: {e}" + (f"\nhint: {hint}" if hint else "")) from None
    e_ = plain(expected)
    ok, msg = compare(kind, g, e_, rtol, atol, show_values=True)
    if not ok:
        raise CheckFailed(msg + (f"\nhint: {hint}" if hint else ""))


def close(got, expected=None, rtol: float = 1e-5, atol: float = 1e-8, hint: str | None = None):
    """Pass when `got` has `expected`'s shape and its values are within atol + rtol*|expected|."""
    _check("close", got, expected, rtol, atol, hint)


def equal(got, expected=None, hint: str | None = None):
    """Pass when `got` equals `expected` exactly (types must agree: a bool is not a number)."""
    _check("equal", got, expected, 0.0, 0.0, hint)
