"""ember's dtypes and PyTorch's type-promotion rules.

float32 is the default floating dtype, as in PyTorch: `ember.tensor([1.0])` is float32 even though
numpy would make float64.
"""
from __future__ import annotations

import numpy as np

from .errors import DTypeError


class DType:
    """A tensor element type; `ember.float32` etc. Compares equal to the numpy dtype it wraps."""

    __slots__ = ("name", "np", "is_floating_point", "itemsize", "_rank")

    def __init__(self, name: str, np_dtype, rank: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.itemsize = self.np.itemsize
        self._rank = rank  # bool < integers < floats, then by size

    def __repr__(self):
        return f"ember.{self.name}"

    def __eq__(self, other):
        if isinstance(other, DType):
            return self is other
        try:
            return self.np == np.dtype(other)
        except TypeError:
            return False

    def __hash__(self):
        return hash(self.np)

    def __reduce__(self):
        return (as_dtype, (self.name,))


bool_ = DType("bool", np.bool_, 0)
uint8 = DType("uint8", np.uint8, 1)
int32 = DType("int32", np.int32, 2)
int64 = DType("int64", np.int64, 3)
float16 = DType("float16", np.float16, 4)
float32 = DType("float32", np.float32, 5)
float64 = DType("float64", np.float64, 6)

_ALL = (bool_, uint8, int32, int64, float16, float32, float64)
_BY_NP = {d.np: d for d in _ALL}
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update({"float": float32, "double": float64, "long": int64, "int": int32, "half": float16})
DEFAULT_FLOAT = float32


def as_dtype(dtype) -> DType:
    """An ember DType from an ember dtype, a numpy dtype, a Python type or a name."""
    if isinstance(dtype, DType):
        return dtype
    if dtype is float:
        return DEFAULT_FLOAT
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    if isinstance(dtype, str) and dtype in _BY_NAME:
        return _BY_NAME[dtype]
    try:
        npd = np.dtype(dtype)
    except TypeError:
        npd = None
    if npd is not None and npd in _BY_NP:
        return _BY_NP[npd]
    if npd is not None and npd.kind in "iu":
        return int64
    known = ", ".join(f"ember.{d.name}" for d in _ALL)
    raise DTypeError(f"unknown dtype {dtype!r}; ember supports {known}")


def from_numpy_dtype(npd) -> DType:
    d = _BY_NP.get(npd)
    if d is None:
        d = as_dtype(npd)
    return d


def promote_types(a: DType, b: DType) -> DType:
    """PyTorch's promotion for two tensors: the higher category wins, then the wider type."""
    return a if a._rank >= b._rank else b


def result_type(a: DType, scalar) -> DType:
    """Promotion of a tensor with a Python scalar: the scalar only lifts the category.

    float32 tensor * 2.5 stays float32; int64 tensor * 2.5 becomes the default float dtype.
    """
    if isinstance(scalar, bool):
        return a
    if isinstance(scalar, int):
        return int64 if a is bool_ else a
    if isinstance(scalar, float):
        return a if a.is_floating_point else DEFAULT_FLOAT
    raise DTypeError(f"cannot combine a tensor with {type(scalar).__name__} {scalar!r}")
