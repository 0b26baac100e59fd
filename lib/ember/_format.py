"""`repr(tensor)` the way PyTorch prints it: `tensor([1., 2.], requires_grad=True)`."""
from __future__ import annotations

import numpy as np

from .backend import to_numpy


def _float_formatter(arr: np.ndarray):
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return None
    amax, amin = np.abs(finite).max(), np.abs(finite).min()
    if np.all(finite == np.round(finite)) and amax < 1e8:
        return lambda x: f"{x:.0f}." if np.isfinite(x) else str(x)
    if amax >= 1e8 or (amin < 1e-4 and amin != 0) or (amin != 0 and amax / amin > 1e3):
        return lambda x: f"{x:.4e}"
    return lambda x: f"{x:.4f}" if np.isfinite(x) else str(x)


def format_tensor(t) -> str:
    arr = to_numpy(t._data)
    prefix = "tensor("
    opts = dict(separator=", ", prefix=prefix, threshold=1000, edgeitems=3, max_line_width=80)
    if arr.dtype.kind == "f":
        fmt = _float_formatter(arr)
        if fmt is not None:
            sample = arr.reshape(-1) if arr.size <= 1000 else np.concatenate(
                [arr.reshape(-1)[:500], arr.reshape(-1)[-500:]])
            width = max(len(fmt(v)) for v in sample)
            opts["formatter"] = {"float_kind": lambda v: fmt(v).rjust(width)}
    if arr.size == 0:
        body = "[]" if arr.ndim == 1 else f"[], size={tuple(arr.shape)}"
    else:
        body = np.array2string(arr, **opts)
    extras = []
    if t._device.type != "cpu":
        extras.append(f"device='{t._device}'")
    if t.dtype.name not in ("float32", "int64", "bool"):
        extras.append(f"dtype=ember.{t.dtype.name}")
    if t._grad_fn is not None:
        extras.append(f"grad_fn=<{t._grad_fn.name()}>")
    elif t._requires_grad:
        extras.append("requires_grad=True")
    return prefix + body + "".join(", " + e for e in extras) + ")"
