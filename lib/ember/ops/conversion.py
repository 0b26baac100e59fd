"""Ops that move or re-type data: dtype casts, device copies, clone."""
from __future__ import annotations

from .. import backend
from ..autograd.function import Op
from ..dtypes import DType
from ..tensor import Tensor


class ToDtype(Op):
    rule = "grad_x = grad cast back to x's dtype"

    def forward(self, x, dtype):
        return x.astype(dtype.np)

    def backward(self, grad):
        return (grad,)  # the engine casts it to the input's dtype

    vjp = backward


class ToDevice(Op):
    rule = "grad_x = grad copied back to x's device"

    def forward(self, x, device):
        self.src = backend.device_of(x)
        return backend.to_device(x, device)

    def backward(self, grad):
        return (backend.to_device(grad, self.src),)

    def vjp(self, grad):
        return (grad.to(self.src),)


class Clone(Op):
    rule = "grad_x = grad"

    def forward(self, x):
        return x.copy()

    def backward(self, grad):
        return (grad,)

    vjp = backward


def to_dtype(x: Tensor, dtype: DType) -> Tensor:
    if x._data.dtype == dtype.np:
        return x
    if dtype.is_floating_point and x._data.dtype.kind == "f":
        return ToDtype.apply(x, dtype=dtype)
    out = Tensor._make(x._data.astype(dtype.np), x._device)  # to or from integers: no gradient
    return out


def to_device(x: Tensor, device) -> Tensor:
    out = ToDevice.apply(x, device=device)
    out._device = device
    return out


def clone(x: Tensor) -> Tensor:
    """A copy with its own memory that stays in the graph (gradients flow back to x)."""
    return Clone.apply(x)


METHODS = {"clone": clone}
