"""Reductions over all elements or some axes (TF's `axis`, `keepdims`), and their gradients, which
spread the reduced gradient back over the input's shape."""
from __future__ import annotations

import numpy as np

from ...errors import ShapeError
from . import op, require_float


def normalize_axes(axis, ndim: int, opname: str):
    if axis is None:
        return None
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ShapeError(f"{opname}: axis {a} is out of range for an input of rank {ndim}")
        out.append(a % max(ndim, 1))
    return tuple(sorted(set(out)))


def _reduced_shape(shape, axes, keepdims):
    from ..graph import UNKNOWN, known_rank
    if not known_rank(shape):
        return () if axes is None and not keepdims else UNKNOWN
    if axes is None:
        return tuple(1 for _ in shape) if keepdims else ()
    axes = {a % max(len(shape), 1) for a in axes}
    return tuple((1 if keepdims else None) if i in axes else d for i, d in enumerate(shape)
                 if keepdims or i not in axes)


def _reduce_spec(nodes, attrs):
    return _reduced_shape(nodes[0].shape, attrs.get("axis"), attrs.get("keepdims", False)), \
        nodes[0].dtype


def _float_reduce_spec(nodes, attrs):
    require_float(nodes[0], "reduce_mean")
    return _reduce_spec(nodes, attrs)


@op("reduce_sum", _reduce_spec, out=True)
def reduce_sum(x, axis=None, keepdims=False, out=None):
    return np.sum(x, axis=axis, keepdims=keepdims, out=out)


@op("reduce_mean", _float_reduce_spec, out=True)
def reduce_mean(x, axis=None, keepdims=False, out=None):
    return np.mean(x, axis=axis, keepdims=keepdims, out=out)


@op("reduce_max", _reduce_spec)
def reduce_max(x, axis=None, keepdims=False):
    return np.max(x, axis=axis, keepdims=keepdims)


@op("expand_reduced", lambda nodes, attrs: (nodes[1].shape, nodes[0].dtype), view=True,
    shape_only=(1,))
def expand_reduced(g, x, axis=None, keepdims=False, mean=False):
    """g (the shape of a reduction of x) broadcast back to x's shape, divided by the number of
    reduced elements when `mean`."""
    if not keepdims:
        g = np.expand_dims(g, axis) if axis is not None else np.reshape(g, (1,) * x.ndim)
    if mean:
        n = x.size if axis is None else int(np.prod([x.shape[a] for a in axis]))
        g = g / np.asarray(n, dtype=g.dtype)
    return np.broadcast_to(g, x.shape)


@expand_reduced.gradient
def _(node, g, needs):
    a = node.attrs
    s = reduce_mean(g, axis=a["axis"], keepdims=a["keepdims"]) if a.get("mean") else \
        reduce_sum(g, axis=a["axis"], keepdims=a["keepdims"])
    return s, None


def _spread(node, g, mean):
    a = node.attrs
    return expand_reduced(g, node.inputs[0], axis=a.get("axis"), keepdims=a.get("keepdims", False),
                          mean=mean)


reduce_sum.gradient(lambda node, g, needs: (_spread(node, g, False),))
reduce_mean.gradient(lambda node, g, needs: (_spread(node, g, True),))


@reduce_max.gradient
def _(node, g, needs):
    from .elementwise import cast, div, equal, mul
    x = node.inputs[0]
    axis = node.attrs.get("axis")
    hits = cast(equal(x, _spread(node, node, False)), dtype=x.dtype)
    count = reduce_sum(hits, axis=axis, keepdims=True)
    share = div(hits, expand_reduced(count, x, axis=axis, keepdims=True))
    return (mul(_spread(node, g, False), share),)
