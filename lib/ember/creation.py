"""Making tensors: from data, filled with a value, random, or ranges. PyTorch's names and defaults."""
from __future__ import annotations

import numbers

import numpy as np

from . import backend
from .backend import CPU, Device
from .dtypes import DEFAULT_FLOAT, DType, as_dtype, float32, from_numpy_dtype, int64
from .errors import DTypeError, ShapeError
from .random import get_rng
from .tensor import Tensor


def _as_array(data, dtype: DType | None, device: Device):
    """An array of `device` from nested lists, scalars, numpy arrays or tensors (always a copy)."""
    if isinstance(data, Tensor) or (backend.is_array(data) and not isinstance(data, np.ndarray)):
        arr = data._data if isinstance(data, Tensor) else data  # stays on its device until moved
        dt = dtype if dtype is not None else from_numpy_dtype(arr.dtype)
        return backend.to_device(arr, device).astype(dt.np)   # astype copies
    if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) and d._data.size != 1 for d in data):
        raise ShapeError("only one element tensors can be converted to Python scalars: tensor() got a list of "
                         "tensors; to join tensors into one, use ember.stack([...]) (a new dimension) or "
                         "ember.cat([...])")
    try:
        arr = np.array(data)
    except ValueError as e:
        raise ShapeError(f"can't make a tensor from ragged nested sequences: {e}") from None
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise DTypeError(f"can't make a tensor from {type(data).__name__} holding "
                         f"{arr.dtype} values; expected numbers or bools")
    if dtype is None:
        if arr.dtype.kind == "f" and not isinstance(data, (np.ndarray, np.generic)):
            dtype = DEFAULT_FLOAT
        elif arr.dtype.kind == "c":
            raise DTypeError("ember has no complex dtypes")
        else:
            dtype = as_dtype(arr.dtype)
    arr = np.asarray(arr, dtype=dtype.np)
    return backend.to_device(arr, device) if device.type != "cpu" else arr


def _finish(arr, device: Device, requires_grad: bool) -> Tensor:
    if device.type != "cpu":
        arr = backend.to_device(arr, device)
    t = Tensor._make(arr, device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, numbers.Integral) or s < 0:
            raise ShapeError(f"sizes must be non-negative integers, got {tuple(size)}")
    return tuple(int(s) for s in size)


def _dev(device) -> Device:
    return CPU if device is None else Device(device)


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data`; floats default to float32, ints to int64."""
    dev = _dev(device)
    return _finish(_as_array(data, as_dtype(dtype) if dtype is not None else None, dev), dev,
                   requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a numpy array: edits to either show in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    as_dtype(array.dtype)
    return Tensor._make(array)


def _filled(fill, size, dtype, device, requires_grad, default=float32) -> Tensor:
    dt = as_dtype(dtype) if dtype is not None else default
    dev = _dev(device)
    xp = backend.get_array_module(dev)
    return _finish(xp.full(_size(size), fill, dtype=dt.np), dev, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _filled(0, size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _filled(1, size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _filled(0, size, dtype, device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    default = (float32 if isinstance(fill_value, float) else
               as_dtype(bool) if isinstance(fill_value, bool) else int64)
    return _filled(fill_value, (size,) if isinstance(size, int) else tuple(size), dtype, device,
                   requires_grad, default)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt = as_dtype(dtype) if dtype is not None else float32
    return _finish(np.eye(n, m, dtype=dt.np), _dev(device), requires_grad)


def _random(sample, size, dtype, device, requires_grad) -> Tensor:
    dt = as_dtype(dtype) if dtype is not None else float32
    if not dt.is_floating_point:
        raise DTypeError(f"random floats can't have dtype {dt}; use a floating point dtype")
    return _finish(sample(_size(size)).astype(dt.np, copy=False), _dev(device), requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """Samples from the standard normal distribution."""
    return _random(get_rng(generator).standard_normal, size, dtype, device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """Samples uniformly from [0, 1)."""
    return _random(get_rng(generator).random, size, dtype, device, requires_grad)


def randint(low: int, high: int | None = None, size=None, *, dtype=None, device=None,
            generator=None) -> Tensor:
    """Integers drawn uniformly from [low, high) (`randint(high, size)` also works)."""
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if high is None or size is None:
        raise TypeError("randint(low=0, high, size) needs high and size, e.g. randint(0, 10, (3,))")
    dt = as_dtype(dtype) if dtype is not None else int64
    arr = get_rng(generator).integers(low, high, size=_size((size,) if isinstance(size, int) else size))
    return _finish(arr.astype(dt.np), _dev(device), False)


def randperm(n: int, *, dtype=None, device=None, generator=None) -> Tensor:
    dt = as_dtype(dtype) if dtype is not None else int64
    return _finish(get_rng(generator).permutation(n).astype(dt.np), _dev(device), False)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        dtype = float32 if is_float else int64
    arr = np.arange(start, end, step, dtype=np.float64 if as_dtype(dtype).is_floating_point else None)
    return _finish(arr.astype(as_dtype(dtype).np), _dev(device), requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt = as_dtype(dtype) if dtype is not None else float32
    return _finish(np.linspace(start, end, steps).astype(dt.np), _dev(device), requires_grad)


def _like(fn, t: Tensor, dtype, device, requires_grad, *args, **kwargs) -> Tensor:
    return fn(*args, *t.shape, dtype=dtype or t.dtype, device=device or t.device,
              requires_grad=requires_grad, **kwargs)


def zeros_like(t, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(zeros, t, dtype, device, requires_grad)


def ones_like(t, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(ones, t, dtype, device, requires_grad)


def empty_like(t, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(empty, t, dtype, device, requires_grad)


def full_like(t, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return full(tuple(t.shape), fill_value, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)


def randn_like(t, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(randn, t, dtype, device, requires_grad)


def rand_like(t, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(rand, t, dtype, device, requires_grad)


def randint_like(t, low: int, high: int | None = None, *, dtype=None, device=None) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(t.shape), dtype=dtype or t.dtype, device=device or t.device)


# ---- tensor methods that make new tensors like this one (installed on Tensor by ops/) ---------
def _new(fn):
    def method(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False):
        return fn(*size, dtype=dtype or self.dtype, device=device or self.device,
                  requires_grad=requires_grad)
    method.__name__ = f"new_{fn.__name__}"
    method.__doc__ = f"{fn.__name__}(...) with this tensor's dtype and device by default."
    return method


def new_full(self: Tensor, size, fill_value, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


def new_tensor(self: Tensor, data, *, dtype=None, device=None, requires_grad: bool = False):
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                  requires_grad=requires_grad)


def type_as(self: Tensor, other: Tensor) -> Tensor:
    return self.to(other.dtype)


METHODS = {"new_zeros": _new(zeros), "new_ones": _new(ones), "new_empty": _new(empty),
           "new_full": new_full, "new_tensor": new_tensor, "type_as": type_as}
