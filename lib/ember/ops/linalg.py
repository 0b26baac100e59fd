"""Norms: vector p-norms as one op (exact gradients at 0, as PyTorch), matrix norms composed."""
from __future__ import annotations

import math

from ..autograd.function import Op
from ..backend import array_module_of
from ..errors import ArgumentError, DTypeError
from ..tensor import Tensor
from .reduce import _axes, _expand, _expand_t, amax, amin
from .reduce import sum as _sum


class VectorNorm(Op):
    rule = "grad_x = grad * x * |x|**(p-2) / norm**(p-1)  (0 where the norm is 0)"
    saves = (0,)
    saves_output = True

    def forward(self, x, ord=2.0, axes=None, keepdim=False):
        xp = array_module_of(x)
        self.x, self.ord, self.axes, self.keepdim = x, ord, axes, keepdim
        if ord == 2:
            out = xp.sqrt((x * x).sum(axis=axes, keepdims=True))
        elif ord == 0:
            out = (x != 0).sum(axis=axes, keepdims=True).astype(x.dtype)
        elif ord == 1:
            out = xp.abs(x).sum(axis=axes, keepdims=True)
        elif ord == math.inf:
            out = xp.abs(x).max(axis=axes, keepdims=True)
        elif ord == -math.inf:
            out = xp.abs(x).min(axis=axes, keepdims=True)
        else:
            out = (xp.abs(x) ** ord).sum(axis=axes, keepdims=True) ** (1.0 / ord)
        self.out_k = out
        if keepdim:
            return out
        return out.reshape(()) if axes is None else out.squeeze(axis=axes)

    def backward(self, grad):
        x, p, n = self.x, self.ord, self.out_k
        xp = array_module_of(x)
        g = _expand(grad, x.shape, self.axes, self.keepdim)
        if p == 0:
            return (xp.zeros_like(x),)
        if p == 1:
            return (g * xp.sign(x),)
        if p in (math.inf, -math.inf):  # shared evenly among the elements that attain it
            mask = xp.abs(x) == n
            return (g * xp.sign(x) * mask / mask.sum(axis=self.axes, keepdims=True),)
        with xp.errstate(divide="ignore", invalid="ignore"):
            if p == 2:
                scale = x / n
            else:
                scale = x * xp.abs(x) ** (p - 2) / n ** (p - 1)
        return (g * xp.where(n == 0, 0, scale),)

    def vjp(self, grad):
        x, p = self.x, self.ord
        xp = array_module_of(x)
        g = _expand_t(grad, x.shape, self.axes, self.keepdim)
        if p == 2:
            xt = self.saved_input(0, x)
            n = (xt * xt).sum(self.axes, keepdim=True).sqrt()
            zero = self.const(self.out_k == 0)
            from .index import where
            return (g * xt / where(zero, 1.0, n) * self.const((self.out_k != 0).astype(x.dtype)),)
        if p == 1:
            return (g * self.const(xp.sign(x)),)
        if p == 0:
            return (g * 0,)
        if p in (math.inf, -math.inf):
            mask = xp.abs(x) == self.out_k
            return (g * self.const(xp.sign(x) * mask / mask.sum(axis=self.axes, keepdims=True)),)
        from ..autograd.higher import no_vjp
        raise no_vjp(self)


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """(sum |x|**ord) ** (1/ord) over dim (all elements when dim is None); ord may be inf,
    -inf or 0 (the count of non-zeros)."""
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind != "f":
        raise DTypeError(f"linalg.vector_norm: expected a floating point tensor, got {x.dtype}; "
                         f"call .float() first")
    return VectorNorm.apply(x, ord=float(ord), axes=_axes(dim, x.ndim, "vector_norm"),
                            keepdim=keepdim)


def matrix_norm(x: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False) -> Tensor:
    """'fro', 1, -1, inf or -inf norm of the matrices in the last two dims (or `dim`)."""
    if x.ndim < 2:
        raise ArgumentError(f"linalg.matrix_norm: expected a tensor with 2 or more dimensions, got "
                         f"shape {tuple(x.shape)}")
    if ord == "fro":
        return vector_norm(x, 2, dim, keepdim)
    if ord in ("nuc", 2, -2):
        raise NotImplementedError(f"linalg.matrix_norm(ord={ord!r}) needs singular values, which "
                                  f"ember does not compute; use 'fro', 1, -1, inf or -inf")
    if ord not in (1, -1, math.inf, -math.inf):
        raise ArgumentError(f"linalg.matrix_norm: ord must be 'fro', 'nuc', 1, -1, 2, -2, inf or "
                         f"-inf, got {ord!r}")
    rows, cols = (d % x.ndim for d in dim)
    summed, other = (rows, cols) if ord in (1, -1) else (cols, rows)  # 1: column sums
    s = _sum(x.abs(), summed, keepdim=True)
    out = (amax if ord > 0 else amin)(s, other, keepdim=True)
    return out if keepdim else out.squeeze((rows, cols))


def norm(x: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """ember.linalg.norm: the 2-norm of all elements by default; a vector norm when dim is an
    int (or x is 1-d), a matrix norm when dim is a pair (or x is 2-d and ord is given)."""
    if dtype is not None:
        x = x.to(dtype)
    if ord is None:
        return vector_norm(x, 2, dim, keepdim)
    if isinstance(dim, int) or (dim is None and x.ndim == 1):
        return vector_norm(x, ord, dim, keepdim)
    if dim is None and x.ndim != 2:
        raise ArgumentError(f"linalg.norm: with ord={ord!r} the input must be 1-d or 2-d (or give "
                         f"dim), got shape {tuple(x.shape)}")
    return matrix_norm(x, ord, (-2, -1) if dim is None else tuple(dim), keepdim)


def tensor_norm(x: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """`x.norm(p)` / `ember.norm`: the p-norm of all elements (or over dim); 'fro' is p=2."""
    if p == "fro":
        p = 2
    elif p == "nuc":
        return matrix_norm(x, "nuc", (-2, -1) if dim is None else dim, keepdim)
    return vector_norm(x, p, dim, keepdim, dtype=dtype)


METHODS = {"norm": tensor_norm}
