"""Flatten parameters into one vector and back (for optimizers and tools that want one vector)."""
from __future__ import annotations

from typing import Iterable

from ...autograd.grad_mode import no_grad
from ...ops.shape import cat
from ...tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """One 1-d tensor holding every parameter, flattened, in order (differentiable)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of `vec` into the parameters (parameters_to_vector's inverse)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    n = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != n:
        raise ValueError(f"vector_to_parameters: vec has shape {tuple(vec.shape)} but the "
                         f"parameters hold {n} numbers; expected shape ({n},)")
    i = 0
    with no_grad():
        for p in params:
            k = p.numel()
            p.copy_(vec[i:i + k].reshape(p.shape))
            i += k
