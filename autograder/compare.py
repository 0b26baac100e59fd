"""Comparing a result with an expected value, and explaining the difference.

Used twice: by `autograder.check` in a student's own kernel (messages while they work), and by the
trusted grader, which calls `compare` on data it decoded itself (never on student objects).
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


def _compare_dicts(got, expected: dict, where: str, compare) -> tuple[bool, str]:
    """(ok, message) for dicts: the same keys, and `compare(got_value, expected_value, where)`
    passing for each, in the expected dict's order."""
    if not isinstance(got, dict) or set(got) != set(expected):
        return False, f"{where}: expected a dict with keys {sorted(expected)}"
    for k in expected:
        ok, msg = compare(got[k], expected[k], f"{where}[{k!r}]")
        if not ok:
            return ok, msg
    return True, ""


def compare_close(got, expected, rtol=1e-5, atol=1e-8, show_values=True, where="result"):
    """(ok, message) for check.close on plain data."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return False, f"{where}: expected a sequence of {len(expected)} values, got {_describe(got)}"
        if len(got) != len(expected):
            return False, f"{where}: expected {len(expected)} values, got {len(got)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            ok, msg = compare_close(g, e, rtol, atol, show_values, f"{where}[{i}]")
            if not ok:
                return ok, msg
        return True, ""
    if isinstance(expected, dict):
        return _compare_dicts(got, expected, where,
                              lambda g, e, w: compare_close(g, e, rtol, atol, show_values, w))
    if isinstance(expected, bool) or (isinstance(expected, np.ndarray) and expected.dtype.kind == "b"):
        return compare_equal(got, expected, show_values, where)
    if not _is_num(expected):
        return compare_equal(got, expected, show_values, where)
    if isinstance(got, bool) or not _is_num(got):
        return False, f"{where}: expected numbers, got {_describe(got)}"
    g = np.asarray(got)
    e = np.asarray(expected)
    if g.shape != e.shape:
        msg = f"{where}: wrong shape: expected {e.shape}, got {g.shape}"
        if g.ndim == e.ndim and g.shape == e.shape[::-1] and g.ndim >= 2:
            msg += " (transposed? check the order of a matmul or a missing .T)"
        elif g.size == e.size:
            msg += " (same number of elements: a reshape, squeeze or keepdims problem?)"
        elif g.ndim == 0 or g.size == 1:
            msg += " (a single number: did you sum/average over every axis?)"
        return False, msg
    gf = g.astype(np.complex128 if (g.dtype.kind == "c" or e.dtype.kind == "c") else np.float64)
    ef = e.astype(gf.dtype)
    g_nan, e_nan = np.isnan(gf), np.isnan(ef)
    if g_nan.any() and not (g_nan == e_nan).all():
        return False, f"{where}: contains NaN ({int(g_nan.sum())} of {g.size} values): overflow, log(0) or 0/0?"
    if np.isinf(gf).any() and not (np.isinf(ef) & (gf == ef)).sum() == np.isinf(gf).sum():
        return False, f"{where}: contains inf: overflow? (subtract the max before exp, clip before log)"
    ok = bool(np.all((gf == ef) | (np.abs(gf - ef) <= atol + rtol * np.abs(ef)) | (g_nan & e_nan)))
    if ok:
        return True, ""
    msg = f"{where}: values differ"
    finite = ~(g_nan | e_nan)
    hint = ""
    if np.allclose(gf[finite], -ef[finite], rtol=rtol, atol=atol) and np.abs(ef[finite]).max(initial=0) > atol:
        hint = " (every value has the opposite sign: check the sign)"
    elif gf.ndim == 2 and gf.shape[0] == gf.shape[1] and np.allclose(gf.T, ef, rtol=rtol, atol=atol):
        hint = " (it is the transpose of the expected value)"
    else:
        denom = ef[finite]
        nz = np.abs(denom) > 1e-12
        if nz.sum() >= 1:
            ratio = gf[finite][nz] / denom[nz]
            r0 = ratio.ravel()[0]
            if np.allclose(ratio, r0, rtol=1e-6) and abs(r0) > 1e-12 and not np.isclose(r0, 1.0):
                hint = f" (off by a constant factor of {np.real(r0):.4g}: a missing 1/N, a factor 2, or mean vs sum?)"
        if not hint and np.allclose(gf[finite] - ef[finite], (gf - ef)[finite].ravel()[0], rtol=1e-6, atol=atol) \
                and gf.size > 1:
            hint = f" (off by a constant {np.real((gf - ef)[finite].ravel()[0]):.4g} everywhere)"
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
    return False, msg


def compare_equal(got, expected, show_values=True, where="result"):
    """(ok, message) for check.equal on plain data: exact, with types that must agree
    (bool vs number, str vs number, sequence vs scalar)."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return False, f"{where}: expected a sequence, got {_describe(got)}" + (
                f" (expected {expected!r})" if show_values else "")
        if len(got) != len(expected):
            return False, f"{where}: expected {len(expected)} items, got {len(got)}" + (
                f" (expected {expected!r}, got {got!r})" if show_values else "")
        for i, (g, e) in enumerate(zip(got, expected)):
            ok, msg = compare_equal(g, e, show_values, f"{where}[{i}]")
            if not ok:
                return ok, msg
        return True, ""
    if isinstance(expected, dict):
        return _compare_dicts(got, expected, where,
                              lambda g, e, w: compare_equal(g, e, show_values, w))
    if isinstance(expected, np.ndarray) or isinstance(got, np.ndarray):
        if not isinstance(got, np.ndarray) or not isinstance(expected, np.ndarray):
            if isinstance(got, np.ndarray) and got.ndim == 0 and not isinstance(expected, (str, type(None))):
                got = got.item()
                return compare_equal(got, expected, show_values, where)
            return False, f"{where}: expected {_describe(expected)}, got {_describe(got)}"
        if got.shape != expected.shape:
            return False, f"{where}: wrong shape: expected {expected.shape}, got {got.shape}"
        if (got.dtype.kind == "b") != (expected.dtype.kind == "b"):
            return False, f"{where}: expected dtype {expected.dtype}, got {got.dtype}"
        if np.array_equal(got, expected):
            return True, ""
        n = int((got != expected).sum())
        return False, f"{where}: {n} of {got.size} values differ" + (
            f"\n  expected {_short(expected)}\n  got      {_short(got)}" if show_values else "")
    # scalars
    if type(expected) is bool or type(got) is bool:
        ok = type(got) is bool and type(expected) is bool and got == expected
    elif isinstance(expected, str) or isinstance(got, str):
        ok = isinstance(got, str) and isinstance(expected, str) and got == expected
    elif expected is None or got is None:
        ok = got is None and expected is None
    elif _is_num(expected) and _is_num(got):
        ok = got == expected and not (isinstance(got, float) and math.isnan(got))
    else:
        ok = False
    if ok:
        return True, ""
    if show_values:
        return False, f"{where}: expected {expected!r}, got {got!r}"
    return False, f"{where}: wrong value"


def compare(kind: str, got, expected, rtol=1e-5, atol=1e-8, show_values=True):
    if kind == "close":
        return compare_close(got, expected, rtol, atol, show_values)
    return compare_equal(got, expected, show_values)
