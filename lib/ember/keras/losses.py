"""Keras losses: functions(y_true, y_pred) -> a scalar tensor, on the model's outputs as they
are (after its last activation: probabilities for the cross-entropies, as in Keras)."""
from __future__ import annotations

from ..tensor import Tensor

_EPS = 1e-7


def same_rank(y_true: Tensor, y_pred: Tensor) -> tuple[Tensor, Tensor]:
    """Keras's squeeze_or_expand_to_same_rank: targets of shape (N,) against outputs of shape
    (N, 1) are compared row by row, not broadcast into an (N, N) grid."""
    if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        return y_true.unsqueeze(-1), y_pred
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        return y_true.squeeze(-1), y_pred
    return y_true, y_pred


def mean_squared_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """mean((y_pred - y_true)^2) over every element."""
    y_true, y_pred = same_rank(y_true, y_pred)
    return (y_pred - y_true.to(y_pred.dtype)).pow(2).mean()


def mean_absolute_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """mean(|y_pred - y_true|) over every element."""
    y_true, y_pred = same_rank(y_true, y_pred)
    return (y_pred - y_true.to(y_pred.dtype)).abs().mean()


def categorical_crossentropy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """y_true one-hot (or soft) rows, y_pred probabilities."""
    p = y_pred / y_pred.sum(dim=-1, keepdim=True)
    return -(y_true * p.clamp(min=_EPS, max=1 - _EPS).log()).sum(dim=-1).mean()


def sparse_categorical_crossentropy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """y_true class indices, y_pred probabilities."""
    from ..nn.functional import one_hot
    onehot = one_hot(y_true.reshape(-1).long(), y_pred.shape[-1]).to(y_pred.dtype)
    return categorical_crossentropy(onehot, y_pred)


def binary_crossentropy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """y_true 0/1 (or soft) labels, y_pred probabilities (after a sigmoid)."""
    p = y_pred.clamp(min=_EPS, max=1 - _EPS)
    t = y_true.to(y_pred.dtype).reshape(p.shape)
    return -(t * p.log() + (1 - t) * (1 - p).log()).mean()


ALIASES = {"mse": mean_squared_error, "mae": mean_absolute_error,
           "mean_squared_error": mean_squared_error, "mean_absolute_error": mean_absolute_error,
           "categorical_crossentropy": categorical_crossentropy,
           "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
           "binary_crossentropy": binary_crossentropy}


def get(spec):
    """A loss function(y_true, y_pred) from a Keras name or a function."""
    if callable(spec):
        return spec
    if isinstance(spec, str) and spec.lower() in ALIASES:
        return ALIASES[spec.lower()]
    raise ValueError(f"unknown loss {spec!r}; use one of {sorted(ALIASES)} or a function"
                     f"(y_true, y_pred)")
