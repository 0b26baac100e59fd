"""Matrix products: the op deep learning spends its time in."""
from __future__ import annotations

from ..autograd.function import Op
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from .dispatch import binary_operands


class MatMul(Op):
    rule = "grad_a = grad @ b.T ; grad_b = a.T @ grad"
    saves = (0, 1)

    def forward(self, a, b):
        self.a, self.b = a, b
        # for two matrices ndarray.dot is the same product as @, with less overhead per call
        return a.dot(b) if a.ndim == 2 and b.ndim == 2 else a @ b

    def backward(self, grad):
        a, b = self.a, self.b
        if a.ndim == 2 and b.ndim == 2:
            (to_a, _), (to_b, _) = self.next_functions  # what needs(0) and needs(1) read
            return (None if to_a is None else grad.dot(b.T),
                    None if to_b is None else a.T.dot(grad))
        # 1-d operands are treated as a row (a) or a column (b) vector, as numpy and PyTorch do
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad
        if a.ndim == 1:
            g = g[..., None, :] if b.ndim > 1 else g[..., None]
        if b.ndim == 1:
            g = g[..., None]
        ga = gb = None
        if self.needs(0):
            ga = g @ b2.swapaxes(-1, -2)
            if a.ndim == 1:
                ga = ga[..., 0, :]
        if self.needs(1):
            gb = a2.swapaxes(-1, -2) @ g
            if b.ndim == 1:
                gb = gb[..., 0]
        return ga, gb

    def vjp(self, grad):
        a, b = self.saved_input(0, self.a), self.saved_input(1, self.b)
        if a.ndim == 2 and b.ndim == 2:
            return (grad.matmul(b.t()) if self.needs(0) else None,
                    a.t().matmul(grad) if self.needs(1) else None)
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = b.unsqueeze(-1) if b.ndim == 1 else b
        g = grad
        if a.ndim == 1:
            g = g.unsqueeze(-2) if b.ndim > 1 else g.unsqueeze(-1)
        if b.ndim == 1:
            g = g.unsqueeze(-1)
        ga = gb = None
        if self.needs(0):
            ga = g.matmul(b2.transpose(-1, -2))
            if a.ndim == 1:
                ga = ga.squeeze(-2)
        if self.needs(1):
            gb = a2.transpose(-1, -2).matmul(g)
            if b.ndim == 1:
                gb = gb.squeeze(-1)
        return ga, gb


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with numpy/PyTorch semantics (1-d vectors, batched broadcasting)."""
    a, b = binary_operands(a, b, "matmul")
    try:
        return MatMul.apply(a, b)
    except ValueError:
        pass
    raise _matmul_error(a, b)


def _matmul_error(a: Tensor, b: Tensor) -> ShapeError:
    if a.ndim == 0 or b.ndim == 0:
        return ShapeError(f"matmul: both arguments need at least 1 dimension, got shapes "
                          f"{tuple(a.shape)} and {tuple(b.shape)}; use * for scaling")
    k_a = a._data.shape[-1]
    k_b = b._data.shape[-2] if b.ndim > 1 else b._data.shape[0]
    if k_a != k_b:
        return ShapeError(
            f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} can't be multiplied: the inner "
            f"dimensions {k_a} (last of the first) and {k_b} (first of the second) must be equal. "
            f"Did you forget a transpose (.t()) or swap the operands?")
    return ShapeError(f"matmul: batch dimensions of {tuple(a.shape)} and {tuple(b.shape)} "
                      f"can't be broadcast together")


def mm(a: Tensor, b: Tensor) -> Tensor:
    """Product of two matrices (2-d only, like torch.mm)."""
    if not isinstance(b, Tensor):
        raise TypeError(f"mm: the second argument must be a Tensor, got {type(b).__name__}")
    x, y = a._data, b._data
    if x.ndim != 2 or y.ndim != 2:
        raise ShapeError(f"mm: expects two 2-d matrices, got shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}; use matmul (@) for vectors or batches")
    if x.dtype != y.dtype:
        raise DTypeError(f"mm: expected both matrices to have the same dtype, got {a.dtype} and "
                         f"{b.dtype} (as in PyTorch, mm does not promote); convert one, e.g. "
                         f"a.to({b.dtype})")
    if a._device is not b._device:
        return matmul(a, b)
    try:
        return MatMul.apply(a, b)
    except ValueError:  # checked only on failure: it costs every good call otherwise
        if x.shape[1] != y.shape[0]:
            raise _matmul_error(a, b) from None
        raise


def bmm(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 3 or b.ndim != 3:
        raise ShapeError(f"bmm: expects two 3-d batches of matrices, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    return matmul(a, b)


def dot(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"dot: expects two 1-d tensors, got {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


METHODS = {"matmul": matmul, "__matmul__": matmul, "__rmatmul__": lambda a, b: matmul(b, a),
           "mm": mm, "bmm": bmm, "dot": dot}
