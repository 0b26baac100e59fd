"""Comparing a result with an expected value, and explaining the difference.

Used twice: by `autograder.check` in a student's own kernel (messages while they work), and by the
trusted grader, which calls `compare` on data it decoded itself (never on student objects).

A diagnosis is only offered when its cause is plausible (a constant factor needs several values, or
an exact integer ratio), and each one has a name (`CAUSES`) so that a hint can be tied to it:
`check.close(got, expected, hint={"sign": "...", "else": "..."})` shows the "sign" hint only when
the values have the opposite sign (see `pick_hint`).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

NUMERIC_KINDS = "biuf"


def plain(x, _depth=0):
    """Convert a result into plain data: ndarray (bool/int/float/complex), int, float, bool, str,
    None, tuple, list, dict with str keys. Raises TypeError for anything else."""
    if _depth > 20:
        raise TypeError("result nested too deeply")
    if x is None or type(x) in (bool, int, float, str, complex):
        return x
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in NUMERIC_KINDS + "c":
            raise TypeError(f"array of dtype {x.dtype} (expected numbers)")
        return np.array(x, copy=True)
    if isinstance(x, np.generic):
        return plain(x.item(), _depth + 1)
    # ember / torch-like tensors
    for attr in ("detach",):
        if hasattr(x, attr) and hasattr(x, "shape"):
            try:
                d = x.detach()
                arr = d.numpy() if hasattr(d, "numpy") else np.asarray(d.data)
                return plain(np.asarray(arr), _depth + 1)
            except Exception:
                pass
    if hasattr(x, "data") and isinstance(getattr(x, "data", None), np.ndarray) and hasattr(x, "shape"):
        return plain(x.data, _depth + 1)
    if isinstance(x, tuple) and not hasattr(x, "_fields"):
        return tuple(plain(v, _depth + 1) for v in x)
    if isinstance(x, tuple):  # namedtuple, torch.Size-like
        return tuple(plain(v, _depth + 1) for v in x)
    if isinstance(x, list):
        return [plain(v, _depth + 1) for v in x]
    if isinstance(x, dict):
        if not all(isinstance(k, str) for k in x):
            raise TypeError("dict keys must be strings")
        return {k: plain(v, _depth + 1) for k, v in x.items()}
    if isinstance(x, numbers.Integral):
        return int(x)
    if isinstance(x, numbers.Real):
        return float(x)
    if hasattr(x, "__len__") and hasattr(x, "__iter__") and type(x).__name__ in ("Size",):
        return tuple(plain(v, _depth + 1) for v in x)
    raise TypeError(f"cannot compare a {type(x).__name__}")


# The causes a message can name; a hint dict is keyed by these (and "else").
CAUSES = ("type", "shape", "transpose", "sign", "scale", "offset", "nan", "inf", "shift", "int_zero",
          "unchanged", "constant", "chance", "below", "above", "length", "keys", "values")


def pick_hint(hint, cause: str | None) -> str | None:
    """The hint to show for a failure with `cause`: a plain string always; from a dict, the entry for
    the cause, else its "else" entry (None when neither is there)."""
    if isinstance(hint, dict):
        h = hint.get(cause) if cause else None
        return h if h is not None else hint.get("else")
    return hint


def _describe(v) -> str:
    if isinstance(v, np.ndarray):
        return f"array of shape {v.shape}, dtype {v.dtype}"
    return type(v).__name__


def _short(a, n=6) -> str:
    a = np.asarray(a)
    with np.printoptions(precision=4, suppress=True, threshold=n, edgeitems=2):
        return np.array2string(a.ravel()[: max(n, 1)] if a.size > n else a, separator=", ")


def _is_num(v) -> bool:
    return (isinstance(v, (int, float, complex)) and not isinstance(v, bool)) or (
        isinstance(v, np.ndarray) and v.dtype.kind in "iufc")


def _is_int(v) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, np.ndarray) and v.dtype.kind in "iu")


def _numbers(seq):
    """A float array from a list/tuple of plain numbers (or equal-shape arrays); None otherwise."""
    if not isinstance(seq, (list, tuple, np.ndarray)) or len(seq) == 0:
        return None
    if isinstance(seq, np.ndarray):
        return seq.astype(np.float64) if seq.dtype.kind in "iuf" else None
    if not all(_is_num(v) and not isinstance(v, complex) for v in seq):
        return None
    try:
        return np.array([np.asarray(v, dtype=np.float64) for v in seq])
    except ValueError:
        return None


def _steps_diagnosis(g, e, rtol, atol) -> tuple[str, str]:
    """(cause, text) for sequences along the first axis (losses, trajectories): the same value at every
    step, or the expected sequence shifted by one. ("", "") when neither fits."""
    if g is None or e is None or g.shape != e.shape or g.ndim == 0 or len(g) < 3:
        return "", ""
    close = lambda a, b: a.shape == b.shape and bool(np.allclose(a, b, rtol=max(rtol, 1e-9), atol=max(atol, 1e-12)))
    if close(g, np.broadcast_to(g[0], g.shape)) and not close(e, np.broadcast_to(e[0], e.shape)):
        return "constant", (" (the same value at every step: nothing changes from one step to the next; "
                            "is the update applied, and is nothing reset inside the loop?)")
    if close(g[:-1], e[1:]):
        return "shift", " (shifted by one: each value is the one expected a step later: recorded after the update instead of before?)"
    if close(g[1:], e[:-1]):
        return "shift", " (shifted by one: each value is the one expected a step earlier: an off-by-one in a range or index?)"
    return "", ""


def _compare_dicts(got, expected: dict, where: str, compare):
    """(ok, message, cause) for dicts: the same keys, and `compare(got_value, expected_value, where)`
    passing for each, in the expected dict's order."""
    if not isinstance(got, dict) or set(got) != set(expected):
        return False, f"{where}: expected a dict with keys {sorted(expected)}", "keys"
    for k in expected:
        res = compare(got[k], expected[k], f"{where}[{k!r}]")
        if not res[0]:
            return res
    return True, "", None


def _ratio_hint(gf, ef, finite) -> str:
    """A constant factor, only where plausible: several nonzero values sharing one ratio, or a single
    number off by an exact integer factor (2, 1/2, 1/N...)."""
    denom = ef[finite]
    nz = np.abs(denom) > 1e-12
    if nz.sum() == 0:
        return ""
    ratio = gf[finite][nz] / denom[nz]
    r0 = np.real(ratio.ravel()[0])
    if not np.allclose(ratio, r0, rtol=1e-6) or abs(r0) < 1e-12 or np.isclose(r0, 1.0):
        return ""
    if nz.sum() >= 2:
        return f" (off by a constant factor of {r0:.4g}: a missing 1/N, a factor 2, or mean vs sum?)"
    for r in (abs(r0), 1 / abs(r0)):
        n = round(r)
        if n >= 2 and abs(r - n) <= 1e-6 * n:
            return f" (exactly {r0:.4g} times the expected value: a missing 1/N, a factor 2, or mean vs sum?)"
    return ""


def compare_close(got, expected, rtol=1e-5, atol=1e-8, show_values=True, where="result"):
    """(ok, message, cause) for check.close on plain data."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return False, f"{where}: expected a sequence of {len(expected)} values, got {_describe(got)}", "type"
        if len(got) != len(expected):
            return False, f"{where}: expected {len(expected)} values, got {len(got)}", "length"
        for i, (g, e) in enumerate(zip(got, expected)):
            res = compare_close(g, e, rtol, atol, show_values, f"{where}[{i}]")
            if not res[0]:
                gn, en = _numbers(got), _numbers(expected)
                cause, text = _steps_diagnosis(gn, en, rtol, atol)
                if cause:
                    values = f"\n  expected {_short(en)}\n  got      {_short(gn)}" if show_values else ""
                    return False, f"{where}: values differ{text}{values}", cause
                return res
        return True, "", None
    if isinstance(expected, dict):
        return _compare_dicts(got, expected, where,
                              lambda g, e, w: compare_close(g, e, rtol, atol, show_values, w))
    if isinstance(expected, bool) or (isinstance(expected, np.ndarray) and expected.dtype.kind == "b"):
        return compare_equal(got, expected, show_values, where)
    if not _is_num(expected):
        return compare_equal(got, expected, show_values, where)
    if isinstance(got, bool) or not _is_num(got):
        return False, f"{where}: expected numbers, got {_describe(got)}", "type"
    g = np.asarray(got)
    e = np.asarray(expected)
    if g.shape != e.shape:
        msg = f"{where}: wrong shape: expected {e.shape}, got {g.shape}"
        cause = "shape"
        if g.ndim == e.ndim and g.shape == e.shape[::-1] and g.ndim >= 2:
            msg += " (transposed? check the order of a matmul or a missing .T)"
            cause = "transpose"
        elif g.size == e.size:
            msg += " (same number of elements: a reshape, squeeze or keepdims problem?)"
        elif g.ndim == 0 or g.size == 1:
            msg += " (a single number: did you sum/average over every axis?)"
        return False, msg, cause
    gf = g.astype(np.complex128 if (g.dtype.kind == "c" or e.dtype.kind == "c") else np.float64)
    ef = e.astype(gf.dtype)
    g_nan, e_nan = np.isnan(gf), np.isnan(ef)
    if g_nan.any() and not (g_nan == e_nan).all():
        return False, f"{where}: contains NaN ({int(g_nan.sum())} of {g.size} values): overflow, log(0) or 0/0?", "nan"
    if np.isinf(gf).any() and not (np.isinf(ef) & (gf == ef)).sum() == np.isinf(gf).sum():
        return False, f"{where}: contains inf: overflow? (subtract the max before exp, clip before log)", "inf"
    ok = bool(np.all((gf == ef) | (np.abs(gf - ef) <= atol + rtol * np.abs(ef)) | (g_nan & e_nan)))
    if ok:
        return True, "", None
    msg = f"{where}: values differ"
    finite = ~(g_nan | e_nan)
    hint, cause = "", "values"
    real = gf.dtype.kind != "c"
    if real:
        cause, hint = _steps_diagnosis(gf, ef, rtol, atol)
        cause = cause or "values"
    if hint:
        pass
    elif _is_int(got) and not np.any(gf) and real and np.all((np.abs(ef) < 1) & (ef != 0)):
        hint, cause = " (the integer 0 where a fraction was expected: integer division (//), or an int count divided too late?)", "int_zero"
    elif np.allclose(gf[finite], -ef[finite], rtol=rtol, atol=atol) and np.abs(ef[finite]).max(initial=0) > atol:
        hint, cause = " (every value has the opposite sign: check the sign)", "sign"
    elif gf.ndim == 2 and gf.shape[0] == gf.shape[1] and np.allclose(gf.T, ef, rtol=rtol, atol=atol):
        hint, cause = " (it is the transpose of the expected value)", "transpose"
    else:
        hint = _ratio_hint(gf, ef, finite)
        if hint:
            cause = "scale"
        elif gf.size > 1 and np.abs(ef[finite]).max(initial=0) > atol and np.allclose(
                gf[finite] - ef[finite], (gf - ef)[finite].ravel()[0], rtol=1e-6, atol=atol):
            hint, cause = f" (off by a constant {np.real((gf - ef)[finite].ravel()[0]):.4g} everywhere)", "offset"
    msg += hint
    if show_values:
        diff = np.array(np.abs(gf - ef))  # an array even for 0-d inputs (scalars refuse item assignment)
        diff[~finite] = np.inf
        idx = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
        gv, ev = (gf[idx], ef[idx])
        at = f" at index {tuple(int(i) for i in idx)}" if idx else ""
        msg += f"; largest difference{at}: expected {np.real_if_close(ev):.6g}, got {np.real_if_close(gv):.6g}"
        if g.size > 1:
            msg += f"\n  expected {_short(e)}\n  got      {_short(g)}"
    return False, msg, cause


def compare_equal(got, expected, show_values=True, where="result"):
    """(ok, message, cause) for check.equal on plain data: exact, with types that must agree
    (bool vs number, str vs number, sequence vs scalar)."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return False, f"{where}: expected a sequence, got {_describe(got)}" + (
                f" (expected {expected!r})" if show_values else ""), "type"
        if len(got) != len(expected):
            return False, f"{where}: expected {len(expected)} items, got {len(got)}" + (
                f" (expected {expected!r}, got {got!r})" if show_values else ""), "length"
        for i, (g, e) in enumerate(zip(got, expected)):
            res = compare_equal(g, e, show_values, f"{where}[{i}]")
            if not res[0]:
                if len(got) >= 3 and (list(got[1:]) == list(expected[:-1]) or list(got[:-1]) == list(expected[1:])):
                    return False, f"{where}: shifted by one position: an off-by-one in a range or index?" + (
                        f" (expected {expected!r}, got {got!r})" if show_values else ""), "shift"
                return res
        return True, "", None
    if isinstance(expected, dict):
        return _compare_dicts(got, expected, where,
                              lambda g, e, w: compare_equal(g, e, show_values, w))
    if isinstance(expected, np.ndarray) or isinstance(got, np.ndarray):
        if not isinstance(got, np.ndarray) or not isinstance(expected, np.ndarray):
            if isinstance(got, np.ndarray) and got.ndim == 0 and not isinstance(expected, (str, type(None))):
                got = got.item()
                return compare_equal(got, expected, show_values, where)
            return False, f"{where}: expected {_describe(expected)}, got {_describe(got)}", "type"
        if got.shape != expected.shape:
            return False, f"{where}: wrong shape: expected {expected.shape}, got {got.shape}", "shape"
        if (got.dtype.kind == "b") != (expected.dtype.kind == "b"):
            return False, f"{where}: expected dtype {expected.dtype}, got {got.dtype}", "type"
        if np.array_equal(got, expected):
            return True, "", None
        n = int((got != expected).sum())
        return False, f"{where}: {n} of {got.size} values differ" + (
            f"\n  expected {_short(expected)}\n  got      {_short(got)}" if show_values else ""), "values"
    # scalars
    cause = "values"
    if type(expected) is bool or type(got) is bool:
        ok = type(got) is bool and type(expected) is bool and got == expected
        cause = "values" if type(got) is type(expected) else "type"
    elif isinstance(expected, str) or isinstance(got, str):
        ok = isinstance(got, str) and isinstance(expected, str) and got == expected
        cause = "values" if type(got) is type(expected) else "type"
    elif expected is None or got is None:
        ok = got is None and expected is None
    elif _is_num(expected) and _is_num(got):
        ok = got == expected and not (isinstance(got, float) and math.isnan(got))
    else:
        ok, cause = False, "type"
    if ok:
        return True, "", None
    if show_values:
        return False, f"{where}: expected {expected!r}, got {got!r}", cause
    return False, f"{where}: wrong value", cause


def _chance(got: float, threshold: float) -> str:
    """How `got`, far below a threshold that is a fraction, compares with guessing: about 1/k (the
    accuracy of guessing among k classes, 2 <= k <= 20), or below 0.15 (guessing, or worse)."""
    if not 0 <= got <= 0.6 or not 0 < threshold <= 1 or threshold < 1.5 * got:
        return ""
    k = round(1 / got) if got > 0 else 0
    if 2 <= k <= 20 and abs(got * k - 1) <= 0.3:
        return f"about 1/{k}: chance level"
    return "no better than guessing" if got < 0.15 else ""


def compare_bound(kind: str, got, bound, show_values=True, where="result"):
    """(ok, message, cause) for check.at_least / check.at_most: one real number against a bound."""
    if isinstance(got, np.ndarray) and got.size == 1 and got.dtype.kind in "iuf":
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return False, f"{where}: expected one number, got {_describe(got)}", "type"
    if math.isnan(got):
        return False, f"{where}: is NaN: overflow, log(0) or 0/0?", "nan"
    if (got >= bound) if kind == "at_least" else (got <= bound):
        return True, "", None
    word, cause = ("below the required minimum", "below") if kind == "at_least" else ("above the allowed maximum", "above")
    msg = f"{where}: {got:.4g} is {word} {bound:.4g}" if show_values else f"{where}: {word}"
    level = _chance(got, bound) if kind == "at_least" else ""
    if level:
        msg += (f" ({level}, what guessing gets: the model learns nothing; inputs and labels out of step, "
                "or no optimizer step?)")
        cause = "chance"
    return False, msg, cause


def diagnose(kind: str, got, expected, rtol=1e-5, atol=1e-8, show_values=True, before=None):
    """(ok, message, cause) for one check. `before` (optional) is the value the result had before the
    step under test: a result still equal to it is diagnosed as "unchanged"."""
    if kind in ("at_least", "at_most"):
        return compare_bound(kind, got, expected, show_values)
    if kind == "close":
        res = compare_close(got, expected, rtol, atol, show_values)
    else:
        res = compare_equal(got, expected, show_values)
    if not res[0] and before is not None and compare_close(got, before, rtol, atol, False)[0] \
            and not compare_close(expected, before, rtol, atol, False)[0]:
        return False, ("result: unchanged: still the value from before the step (the update never reached it: "
                       "rebound with `p = p - ...` instead of updated in place, or the step never ran?)"), "unchanged"
    return res


def compare(kind: str, got, expected, rtol=1e-5, atol=1e-8, show_values=True, before=None):
    """(ok, message) for one check; see `diagnose` for the cause as well."""
    return diagnose(kind, got, expected, rtol, atol, show_values, before)[:2]
