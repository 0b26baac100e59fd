"""In-place writes that replace values outright: zero_, fill_, copy_, and random fills."""
from __future__ import annotations

from ..autograd.grad_mode import _state
from ..tensor import Tensor
from .dispatch import check_inplace


def _overwrite(x: Tensor, name: str, write) -> Tensor:
    check_inplace(x, name, _state.enabled and x._requires_grad)
    write(x._data)
    if _state.enabled and x._grad_fn is not None:
        x._grad_fn = None  # the old values no longer matter: nothing flows back through them
        x._requires_grad = False
    x._vc[0] += 1
    return x


def zero_(x: Tensor) -> Tensor:
    return _overwrite(x, "zero_", lambda a: a.fill(0))


def fill_(x: Tensor, value) -> Tensor:
    return _overwrite(x, "fill_", lambda a: a.fill(value.item() if isinstance(value, Tensor) else value))


def copy_(x: Tensor, src: Tensor) -> Tensor:
    """Copy src's values into x (broadcasting src; casting to x's dtype and device)."""
    from .. import backend
    from ..errors import ShapeError
    data = src._data if isinstance(src, Tensor) else src
    data = backend.to_device(data, x._device) if isinstance(src, Tensor) else x.xp.asarray(data)
    try:
        x.xp.broadcast_to(data, x._data.shape)
    except ValueError:
        raise ShapeError(f"copy_: source of shape {tuple(getattr(data, 'shape', ()))} can't be "
                         f"broadcast to the destination's shape {tuple(x.shape)}") from None
    if isinstance(src, Tensor) and src._requires_grad and _state.enabled:
        check_inplace(x, "copy_", True)
        from .conversion import clone
        r = clone(src.to(dtype=x.dtype).expand(tuple(x.shape)))
        x._data[...] = r._data
        x._grad_fn, x._requires_grad = r._grad_fn, True
        x._vc[0] += 1
        return x
    return _overwrite(x, "copy_", lambda a: a.__setitem__(Ellipsis, data))


def uniform_(x: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    from ..random import get_rng
    from .. import backend
    sample = get_rng(generator).uniform(a, b, size=x._data.shape).astype(x._data.dtype)
    return _overwrite(x, "uniform_", lambda arr: arr.__setitem__(Ellipsis, backend.to_device(sample, x._device)))


def normal_(x: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    from ..random import get_rng
    from .. import backend
    sample = get_rng(generator).normal(mean, std, size=x._data.shape).astype(x._data.dtype)
    return _overwrite(x, "normal_", lambda arr: arr.__setitem__(Ellipsis, backend.to_device(sample, x._device)))


METHODS = {"zero_": zero_, "fill_": fill_, "copy_": copy_, "uniform_": uniform_,
           "normal_": normal_}
