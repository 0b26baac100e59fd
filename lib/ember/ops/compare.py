"""Comparisons and logic: they give bool tensors and carry no gradient."""
from __future__ import annotations

import operator

from ..tensor import Tensor
from .dispatch import binary_operands, broadcast_error


def _compare(fn, name):
    def op(a, b) -> Tensor:
        a, b = binary_operands(a, b, name)
        try:
            return Tensor._make(fn(a._data, b._data), a._device)
        except ValueError:
            raise broadcast_error(name, a, b) from None
    op.__name__ = name
    return op


eq = _compare(operator.eq, "eq")
ne = _compare(operator.ne, "ne")
lt = _compare(operator.lt, "lt")
le = _compare(operator.le, "le")
gt = _compare(operator.gt, "gt")
ge = _compare(operator.ge, "ge")
logical_and = _compare(operator.and_, "logical_and")
logical_or = _compare(operator.or_, "logical_or")
logical_xor = _compare(operator.xor, "logical_xor")


def logical_not(x: Tensor) -> Tensor:
    return Tensor._make(~x._data if x._data.dtype.kind == "b" else x._data == 0, x._device)


def isnan(x: Tensor) -> Tensor:
    return Tensor._make(x.xp.isnan(x._data), x._device)


def isfinite(x: Tensor) -> Tensor:
    return Tensor._make(x.xp.isfinite(x._data), x._device)


def equal(a: Tensor, b: Tensor) -> bool:
    """True when both have the same shape and the same values."""
    return tuple(a.shape) == tuple(b.shape) and bool((a._data == b._data).all())


def allclose(a: Tensor, b: Tensor, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    a, b = binary_operands(a, b, "allclose")
    return bool(a.xp.allclose(a._data, b._data, rtol=rtol, atol=atol))


METHODS = {"__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
           "__and__": logical_and, "__or__": logical_or, "__xor__": logical_xor,
           "__invert__": logical_not, "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge,
           "logical_and": logical_and, "logical_or": logical_or, "logical_not": logical_not,
           "isnan": isnan, "isfinite": isfinite, "equal": equal, "allclose": allclose}
