"""Reading and writing along a dimension with an index tensor: gather, scatter, scatter_add,
index_select, index_add (PyTorch's semantics and checks)."""
from __future__ import annotations

from .. import backend
from ..autograd.function import Op
from ..errors import DTypeError, IndexBoundsError, ShapeError
from ..tensor import Tensor, _wrap_dim
from .dispatch import inplace, to_tensor
from .index import GetItem, IndexGrad, along_dim


def _xp(a):
    return backend.array_module_of(a)


def _head(a, shape: tuple):
    """The leading `shape` block of `a` (scatter reads only that much of a larger src)."""
    if a.ndim == 0 or a.shape == shape:
        return a
    return a[tuple(slice(0, n) for n in shape)]


def _pad(g, shape: tuple):
    """g placed in the leading block of zeros of `shape` (the gradient of `_head`)."""
    if g.shape == shape or len(shape) == 0:
        return g
    full = _xp(g).zeros(shape, dtype=g.dtype)
    full[tuple(slice(0, n) for n in g.shape)] = g
    return full


def _pad_t(g: Tensor, shape: tuple) -> Tensor:
    """_pad, recorded (for vjp)."""
    if tuple(g.shape) == shape or len(shape) == 0:
        return g
    from .shape import cat
    for d, (n, m) in enumerate(zip(g.shape, shape)):
        if n < m:
            zeros = Tensor._make(g.xp.zeros(g.shape[:d] + (m - n,) + g.shape[d + 1:],
                                            dtype=g._data.dtype), g._device)
            g = cat([g, zeros], d)
    return g


class _Read(Op):
    """Reads x at the positions `self.where` (set by forward): the gradient is added back there."""

    def backward(self, grad):
        full = _xp(grad).zeros(self.shape, dtype=self.dtype)
        backend.index_add(_xp(grad), full, self.where, grad)
        return (full,)

    def vjp(self, grad):
        return (IndexGrad.apply(grad, shape=self.shape, dtype=self.dtype, index=self.where,
                                basic=False),)


class Gather(_Read):
    rule = "grad_x = zeros like x, with grad added at the gathered positions"

    def forward(self, x, index=None, dim=0):
        self.shape, self.dtype = x.shape, x.dtype
        self.where = along_dim(_xp(x), index, dim)
        return x[self.where]


class IndexSelect(_Read):
    rule = "grad_x = zeros like x, with grad added at the selected slices"

    def forward(self, x, index=None, dim=0):
        self.shape, self.dtype = x.shape, x.dtype
        self.where = (slice(None),) * dim + (index,)
        return x[self.where]


class Scatter(Op):
    rule = "grad_x = grad with the written positions zeroed ; grad_src = grad at those positions"

    def forward(self, x, src, index=None, dim=0):
        self.src_shape = src.shape
        self.where = along_dim(_xp(x), index, dim)
        out = x.copy()
        out[self.where] = _head(src, index.shape)
        return out

    def backward(self, grad):
        gx = gs = None
        if self.needs(0):
            gx = grad.copy()
            gx[self.where] = 0
        if self.needs(1):
            gs = _pad(grad[self.where], self.src_shape)
        return gx, gs

    def vjp(self, grad):
        gx = gs = None
        if self.needs(0):
            keep = _xp(grad._data).ones_like(grad._data)
            keep[self.where] = 0
            gx = grad * self.const(keep)
        if self.needs(1):
            gs = _pad_t(GetItem.apply(grad, index=self.where, basic=False), self.src_shape)
        return gx, gs


class ScatterAdd(Op):
    rule = "grad_x = grad ; grad_src = grad at the positions src was added to"

    def forward(self, x, src, index=None, dim=0):
        self.src_shape = src.shape
        self.where = along_dim(_xp(x), index, dim)
        out = x.copy()
        backend.index_add(_xp(x), out, self.where, _head(src, index.shape))
        return out

    def backward(self, grad):
        return grad, (_pad(grad[self.where], self.src_shape) if self.needs(1) else None)

    def vjp(self, grad):
        gs = None
        if self.needs(1):
            gs = _pad_t(GetItem.apply(grad, index=self.where, basic=False), self.src_shape)
        return grad, gs


class IndexAdd(Op):
    rule = "grad_x = grad ; grad_source = alpha * grad at the slices source was added to"

    def forward(self, x, source, index=None, dim=0, alpha=1):
        self.where, self.alpha = (slice(None),) * dim + (index,), alpha
        out = x.copy()
        backend.index_add(_xp(x), out, self.where, source if alpha == 1 else source * alpha)
        return out

    def backward(self, grad):
        gs = None
        if self.needs(1):
            gs = grad[self.where]
            if self.alpha != 1:
                gs = gs * self.alpha
        return grad, gs

    def vjp(self, grad):
        gs = None
        if self.needs(1):
            gs = GetItem.apply(grad, index=self.where, basic=False)
            if self.alpha != 1:
                gs = gs * self.alpha
        return grad, gs


# ---- checks: PyTorch's rules, with what was wrong ---------------------------------------------
def _int_index(index, op: str):
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): index must be an integer Tensor, got {type(index).__name__}")
    if index._data.dtype.kind not in "iu":
        raise DTypeError(f"{op}(): expected dtype int64 (or int32) for index, got {index.dtype}")
    return index._data


def _bounds(idx, size: int, dim: int, op: str):
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= size):
        bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
        raise IndexBoundsError(f"{op}(): index {bad} is out of bounds for dimension {dim} with size "
                         f"{size}")


def _along_args(x: Tensor, dim: int, index, op: str, src=None):
    """(dim, index array) checked as torch.gather/scatter check them."""
    idx = _int_index(index, op)
    d = _wrap_dim(dim, x.ndim, op)
    if x.ndim == 0:
        if idx.ndim > 1 or idx.size > 1:
            raise ShapeError(f"{op}(): a 0-d tensor takes a 0-d (or one-element) index, got "
                             f"shape {tuple(idx.shape)}")
        _bounds(idx, 1, 0, op)
        return d, idx
    if idx.ndim != x.ndim:
        raise ShapeError(f"{op}(): index must have the same number of dimensions as the input: "
                         f"index has shape {tuple(idx.shape)}, input {tuple(x.shape)}")
    for i, (n, m) in enumerate(zip(idx.shape, x._data.shape)):
        if i != d and n > m:
            raise ShapeError(f"{op}(): index of shape {tuple(idx.shape)} must be no larger than "
                             f"the input {tuple(x.shape)} apart from dimension {d}")
    if src is not None and src.ndim and any(n > m for n, m in zip(idx.shape, src._data.shape)):
        raise ShapeError(f"{op}(): index of shape {tuple(idx.shape)} must be no larger than src "
                         f"{tuple(src.shape)} in every dimension")
    _bounds(idx, x._data.shape[d], d, op)
    return d, idx.astype("int64", copy=False)


def _zero_d(fn, x: Tensor, idx, *rest):
    """Ops along a dim on a 0-d tensor: run on its one-element 1-d form, then reshape back."""
    one = fn(x.reshape(1), 0, Tensor._make(idx.reshape(1), x._device), *rest)
    return one.reshape(())


# ---- public functions --------------------------------------------------------------------------
def gather(x: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """out[i][j] = x[i][index[i][j]] for dim=1 (as torch.gather; sparse_grad is accepted and
    ignored: ember's gradients are dense)."""
    d, idx = _along_args(x, dim, index, "gather")
    if x.ndim == 0:
        return _zero_d(gather, x, idx)
    return Gather.apply(x, index=idx, dim=d)


def _src(x: Tensor, src, op: str) -> Tensor:
    s = src if isinstance(src, Tensor) else to_tensor(src, x)
    if s._data.dtype != x._data.dtype:
        s = s.to(dtype=x.dtype)
    return s


def scatter(x: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None) -> Tensor:
    """A copy of x with out[i][index[i][j]] = src[i][j] for dim=1 (src may be a number)."""
    if reduce is not None:
        if reduce != "add":
            raise NotImplementedError(f"scatter(reduce={reduce!r}): ember supports reduce='add'")
        return scatter_add(x, dim, index, _src(x, value if src is None else src, "scatter"))
    s = _src(x, value if src is None else src, "scatter")
    d, idx = _along_args(x, dim, index, "scatter", s)
    if x.ndim == 0:
        return _zero_d(scatter, x, idx, s.reshape(1) if s.ndim else s)
    return Scatter.apply(x, s, index=idx, dim=d)


def scatter_add(x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of x with src[i][j] added at out[i][index[i][j]] for dim=1 (repeats add up)."""
    s = _src(x, src, "scatter_add")
    d, idx = _along_args(x, dim, index, "scatter_add", s)
    if x.ndim == 0:
        return _zero_d(scatter_add, x, idx, s.reshape(1) if s.ndim else s)
    return ScatterAdd.apply(x, s, index=idx, dim=d)


def scatter_(x: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None) -> Tensor:
    s = _src(x, value if src is None else src, "scatter_")
    if reduce is not None and reduce != "add":
        raise NotImplementedError(f"scatter_(reduce={reduce!r}): ember supports reduce='add'")
    d, idx = _along_args(x, dim, index, "scatter_", s)
    return inplace(x, ScatterAdd if reduce else Scatter, (s,), "scatter_", index=idx, dim=d)


def scatter_add_(x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    s = _src(x, src, "scatter_add_")
    d, idx = _along_args(x, dim, index, "scatter_add_", s)
    return inplace(x, ScatterAdd, (s,), "scatter_add_", index=idx, dim=d)


def _select_index(x: Tensor, dim: int, index, op: str):
    idx = _int_index(index, op)
    if idx.ndim > 1:
        raise IndexError(f"{op}(): index must be a vector (1-d) or a number, got shape "
                         f"{tuple(idx.shape)}")
    d = _wrap_dim(dim, x.ndim, op)
    _bounds(idx, x._data.shape[d] if x.ndim else 1, d, op)
    return d, idx.reshape(-1).astype("int64", copy=False)


def index_select(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of x along `dim` at the positions in `index` (a 1-d integer tensor)."""
    d, idx = _select_index(x, dim, index, "index_select")
    if x.ndim == 0:
        return x.reshape(1)[Tensor._make(idx, x._device)].reshape(())
    return IndexSelect.apply(x, index=idx, dim=d)


def _index_add_args(x: Tensor, dim: int, index, source, op: str):
    d, idx = _select_index(x, dim, index, op)
    s = _src(x, source, op)
    want = x._data.shape[:d] + (idx.size,) + x._data.shape[d + 1:]
    if s._data.shape != want and not (s.ndim == 0 and idx.size == 1):
        raise ShapeError(f"{op}(): source must have shape {want} (x's shape with dimension {d} "
                         f"the index's length {idx.size}), got {tuple(s.shape)}")
    return d, idx, s


def index_add(x: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of x with source's slices added at the positions in `index` along `dim`."""
    d, idx, s = _index_add_args(x, dim, index, source, "index_add")
    return IndexAdd.apply(x, s, index=idx, dim=d, alpha=alpha)


def index_add_(x: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    d, idx, s = _index_add_args(x, dim, index, source, "index_add_")
    return inplace(x, IndexAdd, (s,), "index_add_", index=idx, dim=d, alpha=alpha)


def unbind(x: Tensor, dim: int = 0) -> tuple:
    """The slices of x along `dim`, as a tuple of views."""
    if x.ndim == 0:
        raise IndexError("unbind(): a 0-d tensor has no dimension to unbind")
    d = _wrap_dim(dim, x.ndim, "unbind")
    from .views import mark_multi_view
    return mark_multi_view([x[(slice(None),) * d + (i,)] for i in range(x._data.shape[d])],
                           "Unbind")


METHODS = {"gather": gather, "scatter": scatter, "scatter_add": scatter_add,
           "scatter_": scatter_, "scatter_add_": scatter_add_, "index_select": index_select,
           "index_add": index_add, "index_add_": index_add_, "unbind": unbind}
