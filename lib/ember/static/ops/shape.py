"""Ops that rearrange elements without computing: reshape, transpose, expand_dims, squeeze."""
from __future__ import annotations

import math

import numpy as np

from ...errors import ShapeError
from ..graph import known_rank
from . import op, show_shape


def _reshape_spec(nodes, attrs):
    x, shape = nodes[0], tuple(attrs["shape"])
    if shape.count(-1) > 1:
        raise ShapeError(f"at most one dimension of the new shape can be -1, got {shape}")
    if None not in x.shape and known_rank(x.shape):
        n = math.prod(x.shape)
        known = math.prod(d for d in shape if d != -1)
        if -1 in shape:
            if known == 0 or n % known:
                raise ShapeError(f"can't reshape {show_shape(x.shape)} ({n} elements) to {shape}")
            shape = tuple(n // known if d == -1 else d for d in shape)
        elif known != n:
            raise ShapeError(f"can't reshape {show_shape(x.shape)} ({n} elements) to "
                             f"{show_shape(shape)} ({known} elements)")
        return shape, x.dtype
    return tuple(None if d == -1 else d for d in shape), x.dtype


@op("reshape", _reshape_spec, view=True)
def reshape(x, shape):
    return np.reshape(x, shape)


@op("reshape_like", lambda nodes, attrs: (nodes[1].shape, nodes[0].dtype), view=True,
    shape_only=(1,))
def reshape_like(x, like):
    return np.reshape(x, like.shape)


reshape.gradient(lambda node, g, needs: (reshape_like(g, node.inputs[0]),))
reshape_like.gradient(lambda node, g, needs: (reshape_like(g, node.inputs[0]), None))


def _transpose_spec(nodes, attrs):
    x = nodes[0]
    perm = attrs.get("perm")
    if perm is None:
        return x.shape[::-1], x.dtype
    if sorted(perm) != list(range(x.ndim)):
        raise ShapeError(f"perm {tuple(perm)} is not a permutation of the {x.ndim} axes of "
                         f"{show_shape(x.shape)}")
    return tuple(x.shape[p] for p in perm), x.dtype


@op("transpose", _transpose_spec, view=True)
def transpose(x, perm=None):
    return np.transpose(x, perm)


@transpose.gradient
def _(node, g, needs):
    perm = node.attrs.get("perm")
    return (transpose(g, perm=None if perm is None else tuple(int(i) for i in np.argsort(perm))),)


def _expand_dims_spec(nodes, attrs):
    x, axis = nodes[0], attrs["axis"]
    axis = axis % (x.ndim + 1)
    return x.shape[:axis] + (1,) + x.shape[axis:], x.dtype


@op("expand_dims", _expand_dims_spec, view=True)
def expand_dims(x, axis):
    return np.expand_dims(x, axis)


expand_dims.gradient(lambda node, g, needs: (reshape_like(g, node.inputs[0]),))


def _squeeze_spec(nodes, attrs):
    x, axis = nodes[0], attrs.get("axis")
    axes = range(x.ndim) if axis is None else [a % x.ndim for a in
                                               (axis if isinstance(axis, (tuple, list)) else (axis,))]
    for a in axes:
        if axis is not None and x.shape[a] not in (1, None):
            raise ShapeError(f"can't squeeze axis {a} of size {x.shape[a]}")
    return tuple(d for i, d in enumerate(x.shape) if not (i in axes and d == 1)), x.dtype


@op("squeeze", _squeeze_spec, view=True)
def squeeze(x, axis=None):
    return np.squeeze(x, axis)


squeeze.gradient(lambda node, g, needs: (reshape_like(g, node.inputs[0]),))


# ---- one row at a run-time index (what tf.foldl / tf.scan read each step) ------------------------
def _dim_spec(nodes, attrs):
    x = nodes[0]
    if known_rank(x.shape) and not -x.ndim <= attrs["axis"] < x.ndim:
        raise ShapeError(f"axis {attrs['axis']} is out of range for shape {show_shape(x.shape)}")
    return (), np.dtype(np.int64)


@op("dim_size", _dim_spec, differentiable=False, shape_only=(0,))
def dim_size(x, axis):
    """The size of `x` along `axis`, known only at run time (an int64 scalar)."""
    return np.asarray(x.shape[axis], dtype=np.int64)


def _row_spec(nodes, attrs):
    x, i = nodes
    if i.dtype.kind not in "iu" or i.shape != ():
        raise ShapeError(f"the row index must be an integer scalar, got '{i.name}' "
                         f"{i.dtype.name}{show_shape(i.shape)}")
    if not known_rank(x.shape):
        return x.shape, x.dtype
    if x.ndim == 0:
        raise ShapeError("can't take a row of a scalar")
    return x.shape[1:], x.dtype


@op("row", _row_spec, view=True)
def row(x, i):
    """x[i] for a run-time index i (numpy's negative indices allowed)."""
    return x[int(i)]


@row.gradient
def _(node, g, needs):
    return (row_grad(g, node.inputs[0], node.inputs[1]), None)


@op("row_grad", lambda nodes, attrs: (nodes[1].shape, nodes[0].dtype), shape_only=(1,))
def row_grad(g, x, i):
    """The gradient of x[i]: zeros shaped like x, with g in row i."""
    out = np.zeros(x.shape, dtype=g.dtype)
    out[int(i)] = g
    return out


@row_grad.gradient
def _(node, g, needs):
    return (row(g, node.inputs[2]), None, None)
