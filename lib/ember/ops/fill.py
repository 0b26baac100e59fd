"""In-place writes that replace values outright: zero_, fill_, copy_, and random fills.

Recorded in the graph like PyTorch: the overwritten values get no gradient, the source of copy_
gets all of it.
"""
from __future__ import annotations

from .. import backend
from ..autograd.function import Op
from ..autograd.grad_mode import _state
from ..errors import ShapeError
from ..tensor import Tensor
from .dispatch import inplace, to_tensor


class Fill(Op):
    rule = "grad_x = 0 (its old values were overwritten)"

    def forward(self, x, value=0):
        return backend.array_module_of(x).full_like(x, value)

    def backward(self, grad):
        return (None,)

    vjp = backward


class CopyFrom(Op):
    rule = "grad_x = 0 ; grad_src = grad (summed over broadcast dimensions)"

    def forward(self, x, src):
        xp = backend.array_module_of(x)
        return xp.broadcast_to(src, x.shape).astype(x.dtype)

    def backward(self, grad):
        return None, grad

    vjp = backward


def _overwrite(x: Tensor, name: str, write, op_cls, others=(), **attrs) -> Tensor:
    if _state.enabled:
        if x._requires_grad or others and any(o._requires_grad for o in others):
            return inplace(x, op_cls, others, name, **attrs)
        if x._no_grad_view:
            from .dispatch import no_grad_view_error
            raise no_grad_view_error(name)
    write(x._data)  # nothing recorded, so nothing else for check_inplace to refuse
    x._vc[0] += 1
    return x


def _fill_zero(a):
    a.fill(0)


def zero_(x: Tensor) -> Tensor:
    return _overwrite(x, "zero_", _fill_zero, Fill, value=0)


def fill_(x: Tensor, value) -> Tensor:
    v = value.item() if isinstance(value, Tensor) else value
    return _overwrite(x, "fill_", lambda a: a.fill(v), Fill, value=v)


def copy_(x: Tensor, src) -> Tensor:
    """Copy src's values into x (broadcasting src; casting to x's dtype and device)."""
    src = to_tensor(src, x)
    if src._device is not x._device:
        src = src.to(x._device)
    try:
        x.xp.broadcast_to(src._data, x._data.shape)
    except ValueError:
        raise ShapeError(f"copy_: source of shape {tuple(src.shape)} can't be broadcast to the "
                         f"destination's shape {tuple(x.shape)}") from None
    return _overwrite(x, "copy_", lambda a: a.__setitem__(Ellipsis, src._data), CopyFrom, (src,))


def _random_fill(x: Tensor, name: str, sample) -> Tensor:
    data = backend.to_device(sample.astype(x._data.dtype), x._device)
    return _overwrite(x, name, lambda a: a.__setitem__(Ellipsis, data), CopyFrom,
                      (Tensor._make(data, x._device),))


def uniform_(x: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    from ..random import get_rng
    return _random_fill(x, "uniform_", get_rng(generator).uniform(a, b, size=x._data.shape))


def normal_(x: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    from ..random import get_rng
    return _random_fill(x, "normal_", get_rng(generator).normal(mean, std, size=x._data.shape))


METHODS = {"zero_": zero_, "fill_": fill_, "copy_": copy_, "uniform_": uniform_,
           "normal_": normal_}
