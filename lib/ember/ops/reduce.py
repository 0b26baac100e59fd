"""Reductions over all elements or over `dim`s, with `keepdim`, as in PyTorch."""
from __future__ import annotations

import builtins
from collections import namedtuple

from ..autograd.function import Op
from ..backend import array_module_of
from ..tensor import Tensor, _wrap_dim
from .dispatch import to_tensor


def _axes(dim, ndim: int, op: str):
    if dim is None:
        return None
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    return tuple(sorted({_wrap_dim(d, ndim, op) for d in dims}))


def _expand(grad, shape, axes, keepdim):
    """A reduced gradient reshaped so it broadcasts against the input again."""
    if axes is None or keepdim:  # one number, or dimensions kept: it broadcasts already
        return grad
    keep = list(grad.shape)
    for a in axes:
        keep.insert(a, 1)
    return grad.reshape(keep)


class Sum(Op):
    rule = "grad_x = grad broadcast back to x's shape"

    def forward(self, x, axes=None, keepdim=False):
        self.shape, self.axes, self.keepdim = x.shape, axes, keepdim
        return x.sum() if axes is None and not keepdim else x.sum(axis=axes, keepdims=keepdim)

    def backward(self, grad):
        return (_spread(_expand(grad, self.shape, self.axes, self.keepdim), self.shape),)

    def vjp(self, grad):
        return (_expand_t(grad, self.shape, self.axes, self.keepdim),)


class Mean(Op):
    rule = "grad_x = grad / N broadcast back to x's shape"

    def forward(self, x, axes=None, keepdim=False):
        self.shape, self.axes, self.keepdim = x.shape, axes, keepdim
        self.n = x.size if axes is None else _count(x.shape, axes)
        return x.mean(axis=axes, keepdims=keepdim)

    def backward(self, grad):
        return (_spread(_expand(grad, self.shape, self.axes, self.keepdim) / self.n, self.shape),)

    def vjp(self, grad):
        return (_expand_t(grad / self.n, self.shape, self.axes, self.keepdim),)


class Var(Op):
    rule = "grad_x = grad * 2 (x - mean) / (N - correction)"
    saves = (0,)

    def forward(self, x, axes=None, keepdim=False, correction=1):
        self.x, self.axes, self.keepdim = x, axes, keepdim
        self.n = x.size if axes is None else _count(x.shape, axes)
        self.ddof = correction
        return x.var(axis=axes, keepdims=keepdim, ddof=correction)

    def backward(self, grad):
        x = self.x
        centered = x - x.mean(axis=self.axes, keepdims=True)
        g = _expand(grad, x.shape, self.axes, self.keepdim)
        return (g * centered * (2.0 / builtins.max(self.n - self.ddof, 1)),)

    def vjp(self, grad):
        x = self.saved_input(0, self.x)
        centered = x - x.mean(self.axes, keepdim=True)
        g = _expand_t(grad, self.x.shape, self.axes, self.keepdim)
        return (g * centered * (2.0 / builtins.max(self.n - self.ddof, 1)),)


class Extremum(Op):
    """max / min: the gradient goes to the elements that attain it (shared evenly on ties)."""
    rule = "grad_x = grad at the position(s) of the max/min, 0 elsewhere"
    saves = (0,)

    def forward(self, x, axes=None, keepdim=False, kind="max"):
        self.x, self.axes, self.keepdim = x, axes, keepdim
        out = x.max(axis=axes, keepdims=True) if kind == "max" else x.min(axis=axes, keepdims=True)
        self.out_k = out
        return out if keepdim else (out.reshape(()) if axes is None else out.squeeze(axis=axes))

    def backward(self, grad):
        mask = self.x == self.out_k
        count = mask.sum(axis=self.axes, keepdims=True)
        g = _expand(grad, self.x.shape, self.axes, self.keepdim)
        return (g * mask / count,)

    def vjp(self, grad):
        mask = self.x == self.out_k
        share = mask / mask.sum(axis=self.axes, keepdims=True)
        return (_expand_t(grad, self.x.shape, self.axes, self.keepdim) * self.const(share),)


class ExtremumAt(Op):
    """max / min over one dim: the gradient goes to the returned index alone, as in PyTorch."""
    rule = "grad_x = grad at the returned index, 0 elsewhere"

    def forward(self, x, dim=0, keepdim=False, arg=None, kind="max"):
        from .index import along_dim
        self.shape, self.dtype, self.dim, self.keepdim = x.shape, x.dtype, dim, keepdim
        self.where = along_dim(array_module_of(x), array_module_of(x).expand_dims(arg, dim), dim)
        out = x[self.where]
        return out if keepdim else out.squeeze(axis=dim)

    def backward(self, grad):
        full = array_module_of(grad).zeros(self.shape, dtype=self.dtype)
        full[self.where] = grad if self.keepdim else array_module_of(grad).expand_dims(grad, self.dim)
        return (full,)

    def vjp(self, grad):
        onehot = array_module_of(grad._data).zeros(self.shape, dtype=self.dtype)
        onehot[self.where] = 1
        return (_expand_t(grad, self.shape, (self.dim,), self.keepdim) * self.const(onehot),)


class Prod(Op):
    rule = "grad_x = grad * (product of the other elements), exact where x has zeros"
    saves = (0,)

    def forward(self, x, dim=None, keepdim=False):
        self.x, self.dim, self.keepdim = x, dim, keepdim
        return x.prod() if dim is None else x.prod(axis=dim, keepdims=keepdim)

    def backward(self, grad):
        x, dim = self.x, self.dim
        xp = array_module_of(x)
        flat, ax = (x.reshape(-1), 0) if dim is None else (x, dim)
        # the product of the others: everything before (exclusive cumprod) times everything after
        before = _exclusive_cumprod(xp, flat, ax)
        after = xp.flip(_exclusive_cumprod(xp, xp.flip(flat, ax), ax), ax)
        others = (before * after).reshape(x.shape)
        g = grad if dim is None else _expand(grad, x.shape, (dim,), self.keepdim)
        return (g * others,)

    def vjp(self, grad):
        if not self.x.all():
            from ..errors import AutogradError
            raise AutogradError(f"{self.name()}: create_graph through prod() of a tensor with "
                                f"zeros is not supported by ember yet (its first gradient is)")
        x, dim = self.saved_input(0, self.x), self.dim
        out = x.prod() if dim is None else x.prod(dim, keepdim=True)
        g = grad if dim is None else _expand_t(grad, self.x.shape, (dim,), self.keepdim)
        return (g * out / x,)


def _exclusive_cumprod(xp, a, axis):
    """[1, a0, a0*a1, ...] along axis: the product of everything before each element."""
    c = xp.cumprod(a, axis=axis)
    first, body = [slice(None)] * a.ndim, [slice(None)] * a.ndim
    first[axis], body[axis] = slice(0, 1), slice(0, -1)
    return xp.concatenate([xp.ones_like(c[tuple(first)]), c[tuple(body)]], axis=axis)


class Cumsum(Op):
    rule = "grad_x = reversed cumulative sum of grad"

    def forward(self, x, dim=0):
        self.dim = dim
        return array_module_of(x).cumsum(x, axis=dim)

    def backward(self, grad):
        xp = array_module_of(grad)
        return (xp.flip(xp.cumsum(xp.flip(grad, self.dim), axis=self.dim), self.dim),)

    def vjp(self, grad):
        return (grad.sum(self.dim, keepdim=True) - grad.cumsum(self.dim) + grad,)


def _expand_t(grad: Tensor, shape, axes, keepdim) -> Tensor:
    """_expand then broadcast to `shape`, recorded (for vjp)."""
    if axes is not None and not keepdim:
        keep = list(grad.shape)
        for a in axes:
            keep.insert(a, 1)
        grad = grad.reshape(tuple(keep))
    return grad.expand(tuple(shape))


def _spread(grad, shape):
    """A (read-only) broadcast of grad to `shape`; a full array when grad is a single number."""
    if grad.size == 1:
        out = array_module_of(grad).empty(shape, dtype=grad.dtype)
        out.fill(grad.reshape(()))  # xp.full without its per-call overhead
        return out
    return array_module_of(grad).broadcast_to(grad, shape)


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def sum(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    if dim is None and not keepdim and dtype is None and x._data.dtype.kind == "f":
        return Sum.apply(x)
    x = to_tensor(x)
    if x._data.dtype.kind == "b":
        from .conversion import to_dtype
        from ..dtypes import int64
        x = to_dtype(x, int64)
    out = Sum.apply(x, axes=_axes(dim, x.ndim, "sum"), keepdim=keepdim)
    return out if dtype is None else out.to(dtype)


def mean(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    x = to_tensor(x)
    if x._data.dtype.kind != "f":
        raise _float_only("mean", x)
    return Mean.apply(x, axes=_axes(dim, x.ndim, "mean"), keepdim=keepdim)


def var(x: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: int | None = None) -> Tensor:
    """Variance; like PyTorch, unbiased (divides by N - 1) unless correction=0 / unbiased=False."""
    if x._data.dtype.kind != "f":
        raise _float_only("var", x)
    if correction is None:
        correction = 0 if unbiased is False else 1
    return Var.apply(x, axes=_axes(dim, x.ndim, "var"), keepdim=keepdim, correction=correction)


def std(x: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: int | None = None) -> Tensor:
    return var(x, dim, unbiased, keepdim, correction=correction).sqrt()


def _ints_to_int64(x: Tensor, dtype) -> Tensor:
    """As PyTorch: sums and products of bools and integers are int64 (unless dtype= says)."""
    from .conversion import to_dtype
    from ..dtypes import as_dtype, int64
    if dtype is not None:
        return to_dtype(x, as_dtype(dtype))
    return to_dtype(x, int64) if x._data.dtype.kind in "biu" else x


def prod(x: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of all elements, or along one dim."""
    x = _ints_to_int64(to_tensor(x), dtype)
    if dim is None or x.ndim == 0:
        return Prod.apply(x)
    if not isinstance(dim, int):
        raise TypeError(f"prod(): dim must be a single int, got {dim!r}")
    return Prod.apply(x, dim=_wrap_dim(dim, x.ndim, "prod"), keepdim=keepdim)


def cumsum(x: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sums along dim: out[i] = x[0] + ... + x[i]."""
    x = _ints_to_int64(to_tensor(x), dtype)
    if x.ndim == 0:
        return x
    return Cumsum.apply(x, dim=_wrap_dim(dim, x.ndim, "cumsum"))


def softmax(x: Tensor, dim: int, dtype=None) -> Tensor:
    """`x.softmax(dim)` / `ember.softmax(x, dim)`: the same op as nn.functional.softmax."""
    from ..nn.functional import softmax as f
    return f(x, dim, dtype)


def log_softmax(x: Tensor, dim: int, dtype=None) -> Tensor:
    from ..nn.functional import log_softmax as f
    return f(x, dim, dtype)


def _float_only(op, x):
    from ..errors import DTypeError
    return DTypeError(f"{op}() needs a floating point tensor, got {x.dtype}; call .float() first")


_MaxResult = namedtuple("max", ["values", "indices"])
_MinResult = namedtuple("min", ["values", "indices"])


def _extremum(x: Tensor, dim, keepdim, kind):
    if x._data.size == 0:
        from ..errors import ArgumentError
        raise ArgumentError(f"{kind}(): can't reduce an empty tensor (it has no largest or "
                            f"smallest element)")
    if isinstance(dim, Tensor):  # max(a, b) elementwise, as torch.max(a, b)
        from .elementwise import maximum, minimum
        return (maximum if kind == "max" else minimum)(x, dim)
    axes = _axes(dim, x.ndim, kind)
    if dim is None:
        return Extremum.apply(x, axes=axes, keepdim=keepdim, kind=kind)
    if len(axes) != 1:
        raise TypeError(f"{kind}(): dim must be a single int, got {dim!r}; use amax/amin for "
                        f"several dimensions")
    d = axes[0]
    arg = x._data.argmax(axis=d) if kind == "max" else x._data.argmin(axis=d)
    values = ExtremumAt.apply(x, dim=d, keepdim=keepdim, arg=arg, kind=kind)
    if keepdim:
        arg = x.xp.expand_dims(arg, d)
    idx = Tensor._make(arg.astype("int64"), x._device)
    return (_MaxResult if kind == "max" else _MinResult)(values, idx)


def max(x: Tensor, dim=None, keepdim: bool = False):
    """`x.max()` -> the largest value; `x.max(dim)` -> (values, indices) like PyTorch."""
    return _extremum(x, dim, keepdim, "max")


def min(x: Tensor, dim=None, keepdim: bool = False):
    return _extremum(x, dim, keepdim, "min")


def amax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return Extremum.apply(x, axes=_axes(dim, x.ndim, "amax"), keepdim=keepdim, kind="max")


def amin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return Extremum.apply(x, axes=_axes(dim, x.ndim, "amin"), keepdim=keepdim, kind="min")


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return Tensor._make(x.xp.asarray(x._data.argmax(), dtype="int64"), x._device)
    d = _wrap_dim(dim, x.ndim, "argmax")
    arg = x._data.argmax(axis=d)
    return Tensor._make((x.xp.expand_dims(arg, d) if keepdim else arg).astype("int64"), x._device)


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return argmax(-x.detach(), dim, keepdim)


def all(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return Tensor._make(x.xp.asarray(x._data.all(axis=_axes(dim, x.ndim, "all"), keepdims=keepdim)),
                        x._device)


def any(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return Tensor._make(x.xp.asarray(x._data.any(axis=_axes(dim, x.ndim, "any"), keepdims=keepdim)),
                        x._device)


def logsumexp(x: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) computed stably: the max is taken out before exponentiating."""
    m = amax(x, dim, keepdim=True).detach()
    out = (x - m).exp().sum(dim, keepdim=True).log() + m
    return out if keepdim else out.squeeze(dim)


METHODS = {"sum": sum, "mean": mean, "var": var, "std": std, "max": max, "min": min,
           "amax": amax, "amin": amin, "argmax": argmax, "argmin": argmin, "all": all, "any": any,
           "logsumexp": logsumexp, "prod": prod, "cumsum": cumsum, "softmax": softmax,
           "log_softmax": log_softmax}
