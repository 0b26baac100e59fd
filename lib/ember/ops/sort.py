"""Ordering and finding: sort, argsort, topk, nonzero (values are gathered, so they carry
gradients; indices don't)."""
from __future__ import annotations

from collections import namedtuple

from ..errors import IndexBoundsError
from ..tensor import Tensor, _wrap_dim

_Sort = namedtuple("sort", ["values", "indices"])
_TopK = namedtuple("topk", ["values", "indices"])


def _order(x: Tensor, dim: int, descending: bool):
    """Stable order along dim; descending keeps equal elements in their original order too."""
    a = x._data
    if descending:
        a = -a if a.dtype.kind != "b" else ~a
    return x.xp.argsort(a, axis=dim, kind="stable")


def argsort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort x along dim."""
    if x.ndim == 0:
        return Tensor._make(x.xp.zeros((), dtype="int64"), x._device)
    d = _wrap_dim(dim, x.ndim, "argsort")
    return Tensor._make(_order(x, d, descending).astype("int64", copy=False), x._device)


def sort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """(values, indices) sorted along dim; the values' gradient goes back to where each came from."""
    from .scatter import gather
    idx = argsort(x, dim, descending)
    if x.ndim == 0:
        return _Sort(x.clone(), idx)
    return _Sort(gather(x, dim, idx), idx)


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """(values, indices) of the k largest (or smallest) elements along dim."""
    from .scatter import gather
    d = _wrap_dim(dim, x.ndim, "topk")
    n = x._data.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise IndexBoundsError(f"topk: k ({k}) is out of range for dimension {d} of size {n}")
    if x.ndim == 0:
        return _TopK(x.clone(), Tensor._make(x.xp.zeros((), dtype="int64"), x._device))
    order = _order(x, d, largest)
    sl = [slice(None)] * x.ndim
    sl[d] = slice(0, k)
    idx = Tensor._make(order[tuple(sl)].astype("int64"), x._device)
    return _TopK(gather(x, d, idx), idx)


def nonzero(x: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one 1-d tensor per dim."""
    found = x.xp.nonzero(x._data if x.ndim else x._data.reshape(1))
    if as_tuple:
        return tuple(Tensor._make(i.astype("int64"), x._device) for i in found)
    return Tensor._make(x.xp.stack(found, axis=1).astype("int64") if x.ndim
                        else x.xp.zeros((len(found[0]), 0), dtype="int64"), x._device)


METHODS = {"argsort": argsort, "sort": sort, "topk": topk, "nonzero": nonzero}
