"""Gradient clipping: keep one bad batch from throwing the weights far away (RNNs especially).

Gradients are changed in place, between `loss.backward()` and `optimizer.step()`:

    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
"""
from __future__ import annotations

import math
from typing import Iterable

from numpy import errstate

from ...autograd.grad_mode import no_grad
from ...backend import array_module_of
from ...tensor import Tensor


def _tensors(tensors, what: str) -> list[Tensor]:
    items = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    for t in items:
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: expected Tensors (e.g. model.parameters()), got "
                            f"{type(t).__name__}")
    return items


def _norm_type(norm_type) -> float:
    return math.inf if norm_type in ("inf", math.inf) else float(norm_type)


def _vector_norm(a, p: float):
    xp = array_module_of(a)
    a = xp.abs(a)
    if p == math.inf:
        return a.max() if a.size else xp.zeros((), a.dtype)
    if p == 0:
        return (a != 0).sum().astype(a.dtype)
    if p == 1:
        return a.sum()
    return (a ** p).sum() ** (1.0 / p)


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float | str = 2.0,
                   error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The norm of all the tensors together, as if concatenated into one vector."""
    items = _tensors(tensors, "get_total_norm")
    p = _norm_type(norm_type)
    if not items:
        from ...creation import tensor
        return tensor(0.0)
    norms = [_vector_norm(t._data, p) for t in items]
    xp = array_module_of(items[0]._data)
    total = _vector_norm(xp.stack([xp.asarray(n) for n in norms]), p)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"The total norm of order {p} for gradients from `parameters` is "
                           f"non-finite, so it cannot be clipped. To disable this error and scale "
                           f"the gradients by the non-finite norm anyway, set "
                           f"`error_if_nonfinite=False`")
    return Tensor._make(xp.asarray(total), items[0]._device)


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                          total_norm: Tensor, foreach=None) -> None:
    """Scale every .grad by min(1, max_norm / (total_norm + 1e-6)), in place."""
    grads = [p._grad for p in _tensors(parameters, "clip_grads_with_norm_") if p._grad is not None]
    if not grads:
        return
    coef = min(float(max_norm) / (float(total_norm) + 1e-6), 1.0)
    with no_grad(), errstate(invalid="ignore"):  # inf * 0 is nan, as in PyTorch
        for g in grads:
            g._data *= g._data.dtype.type(coef)
            g._vc[0] += 1


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float | str = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Rescale the gradients so that their total norm is at most max_norm; returns the total
    norm before clipping (worth logging: it shows when training blows up)."""
    params = _tensors(parameters, "clip_grad_norm_")
    grads = [p._grad for p in params if p._grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach=None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    c = float(clip_value)
    with no_grad():
        for p in _tensors(parameters, "clip_grad_value_"):
            g = p._grad
            if g is not None:
                array_module_of(g._data).clip(g._data, -c, c, out=g._data)
                g._vc[0] += 1
