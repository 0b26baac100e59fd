"""Losses, built from the ops."""
from __future__ import annotations

from .graph import Node


def mean_squared_error(labels, predictions, name: str | None = None) -> Node:
    """mean((labels - predictions) ** 2) over all elements."""
    from . import reduce_mean, square, subtract
    return reduce_mean(square(subtract(predictions, labels)), name=name or "mean_squared_error")


def absolute_difference(labels, predictions, name: str | None = None) -> Node:
    from . import abs, reduce_mean, subtract
    return reduce_mean(abs(subtract(predictions, labels)), name=name or "absolute_difference")
