"""Indexing: reading with t[idx] (basic, integer-array and boolean-mask) and writing t[idx] = v."""
from __future__ import annotations

from .. import backend
from ..autograd.function import Op
from ..autograd.grad_mode import _state
from ..errors import DeviceError, ShapeError
from ..tensor import Tensor
from .dispatch import binary_operands, check_inplace, commit_inplace, to_tensor
from .views import as_view


def _raw_index(idx, x: Tensor):
    """The index with tensors replaced by their arrays (and lists turned into arrays), on x's
    device: like PyTorch, CPU indices may index a CUDA tensor, but not the other way round."""
    if isinstance(idx, tuple):
        return tuple(_raw_index(i, x) for i in idx)
    if isinstance(idx, Tensor):
        if idx._device is not x._device:
            if idx._device.type != "cpu":
                raise DeviceError(f"indexing: a tensor on {x._device} can't be indexed by a "
                                  f"tensor on {idx._device}; move the index with .to({str(x._device)!r})")
            return backend.to_device(idx._data, x._device)
        return idx._data
    if isinstance(idx, list):
        return x.xp.asarray(idx)
    if backend.is_array(idx):
        return backend.to_device(idx, x._device)
    return idx


def _is_basic(idx) -> bool:
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items)


class GetItem(Op):
    rule = "grad_x = zeros like x, with grad added at the indexed positions"

    def forward(self, x, index=None, basic=True):
        self.shape, self.dtype, self.index, self.basic = x.shape, x.dtype, index, basic
        if basic:
            return x[index]
        out = x[index]  # a new array; numpy may lay it out column-first, PyTorch never does
        return out if out.flags.c_contiguous else backend.array_module_of(x).ascontiguousarray(out)

    def backward(self, grad):
        xp = backend.array_module_of(grad)
        full = xp.zeros(self.shape, dtype=self.dtype)
        if self.basic or _is_mask(self.index):
            full[self.index] = grad
        else:
            backend.index_add(xp, full, self.index, grad)
        return (full,)

    def vjp(self, grad):
        return (IndexGrad.apply(grad, shape=self.shape, dtype=self.dtype, index=self.index,
                                basic=self.basic),)


class IndexGrad(Op):
    """GetItem's backward as an op of its own, so create_graph can differentiate it: the
    gradient placed into zeros at the indexed positions (repeats add up)."""
    rule = "grad_g = grad[index]"

    def forward(self, g, shape=(), dtype=None, index=None, basic=True):
        self.index, self.basic = index, basic
        xp = backend.array_module_of(g)
        full = xp.zeros(shape, dtype=dtype)
        if basic or _is_mask(index):
            full[index] = g
        else:
            backend.index_add(xp, full, index, g)
        return full

    def backward(self, grad):
        return (grad[self.index],)

    def vjp(self, grad):
        return (GetItem.apply(grad, index=self.index, basic=self.basic),)


def _is_mask(index) -> bool:
    return getattr(index, "dtype", None) is not None and index.dtype.kind == "b"


class IndexPut(Op):
    rule = "grad_x = grad with the assigned positions zeroed ; grad_value = grad at those positions"

    def forward(self, x, value, index=None):
        self.index = index
        out = x.copy()
        out[index] = value
        return out

    def backward(self, grad):
        gx = None
        if self.needs(0):
            gx = grad.copy()
            gx[self.index] = 0
        gv = grad[self.index] if self.needs(1) else None
        return gx, gv

    def vjp(self, grad):
        gx = gv = None
        if self.needs(0):
            keep = backend.array_module_of(grad._data).ones_like(grad._data)
            keep[self.index] = 0
            gx = grad * self.const(keep)
        if self.needs(1):
            gv = GetItem.apply(grad, index=self.index, basic=_is_basic(self.index))
        return gx, gv


def getitem(x: Tensor, index) -> Tensor:
    raw = _raw_index(index, x)
    basic = _is_basic(raw)
    try:
        out = GetItem.apply(x, index=raw, basic=basic)
    except IndexError as e:
        if str(e).startswith("only integers"):
            raise IndexError(f"index {_show(index)}: only integers, slices (`:`), ellipsis (`...`), None and "
                             f"integer or bool tensors are valid indices; a float index? use int(i), or // "
                             f"for integer division") from None
        raise IndexError(f"index {_show(index)} is out of range for a tensor of shape "
                         f"{tuple(x.shape)}: {e}") from None
    return as_view(out, x, (GetItem, {"index": raw, "basic": True})) if basic else out


def setitem(x: Tensor, index, value) -> None:
    """`x[index] = value` in place; recorded in the graph like PyTorch's index_put_."""
    raw = _raw_index(index, x)
    recording = _state.enabled and (x._requires_grad or (isinstance(value, Tensor) and value._requires_grad))
    check_inplace(x, "index assignment x[...] = value", recording)
    v = value if isinstance(value, Tensor) else to_tensor(value, x)
    if v._data.dtype != x._data.dtype:
        v = v.to(dtype=x.dtype)
    try:
        if recording:
            commit_inplace(x, IndexPut.apply(x, v, index=raw), "index assignment")
        else:
            x._data[raw] = v._data
    except (ValueError, IndexError) as e:
        raise ShapeError(f"x[{_show(index)}] = value: can't assign a value of shape "
                         f"{tuple(v.shape)} into a tensor of shape {tuple(x.shape)} ({e})") from None
    x._vc[0] += 1


def _show(index) -> str:
    items = index if isinstance(index, tuple) else (index,)
    def one(i):
        if isinstance(i, Tensor):
            return f"<{i.dtype.name} tensor of shape {tuple(i.shape)}>"
        return repr(i)
    return ", ".join(one(i) for i in items)


class Where(Op):
    rule = "grad_a = grad where cond ; grad_b = grad where not cond"

    def forward(self, a, b, cond=None):
        from ..backend import array_module_of
        self.cond = cond
        return array_module_of(a).where(cond, a, b)

    def backward(self, grad):
        return (grad * self.cond if self.needs(0) else None,
                grad * ~self.cond if self.needs(1) else None)

    def vjp(self, grad):
        dtype = grad._data.dtype
        return (grad * self.const(self.cond.astype(dtype)) if self.needs(0) else None,
                grad * self.const((~self.cond).astype(dtype)) if self.needs(1) else None)


def where(condition: Tensor, a=None, b=None) -> Tensor:
    """Elementwise choice: a where condition is true, b elsewhere (broadcasting all three;
    a and b may be Python numbers). `where(condition)` alone is `nonzero(condition, as_tuple=True)`."""
    if a is None and b is None:
        from .sort import nonzero
        return nonzero(condition, as_tuple=True)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        from ..creation import tensor
        a = tensor(a, device=condition.device if isinstance(condition, Tensor) else None)
    a, b = binary_operands(a, b, "where")
    if isinstance(condition, Tensor) and condition._device is not a._device:
        raise DeviceError(f"where: condition is on {condition.device} but the values are on "
                          f"{a.device}; move them to one device first")
    cond = condition._data if isinstance(condition, Tensor) else a.xp.asarray(condition)
    if cond.dtype.kind != "b":
        cond = cond.astype(bool)
    try:
        shape = a.xp.broadcast_shapes(cond.shape, a._data.shape, b._data.shape)
    except ValueError:
        raise ShapeError(f"where: condition {tuple(cond.shape)}, a {tuple(a.shape)} and b "
                         f"{tuple(b.shape)} can't be broadcast together") from None
    if a._data.shape != shape:
        a = a.expand(shape)
    return Where.apply(a, b, cond=cond)


def masked_fill(x: Tensor, mask: Tensor, value) -> Tensor:
    return where(mask, to_tensor(value, x), x)


def masked_fill_(x: Tensor, mask: Tensor, value) -> Tensor:
    setitem(x, mask if mask.shape == x.shape else mask.expand(tuple(x.shape)), value)
    return x


def along_dim(xp, index, dim: int) -> tuple:
    """The fancy index that picks `index[i][j]` along `dim` at every other position (i, j):
    numpy's indices(sparse=True), which CuPy lacks, with `index` in place of dimension `dim`."""
    shape = index.shape
    idx = [xp.arange(n).reshape([n if j == i else 1 for j in range(len(shape))])
           for i, n in enumerate(shape)]
    idx[dim] = index
    return tuple(idx)


METHODS = {"__getitem__": getitem, "__setitem__": setitem, "masked_fill": masked_fill,
           "masked_fill_": masked_fill_}
