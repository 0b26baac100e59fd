"""Matrix products, with TF's `transpose_a/transpose_b` flags so gradients need no transpose nodes
(numpy hands the transposed view straight to BLAS)."""
from __future__ import annotations

from functools import partial

import numpy as np

from ...errors import ShapeError
from . import broadcast_shapes, op, same_dtype, show_shape
from .elementwise import _unbroadcast


def _matmul_spec(nodes, attrs):
    a, b = nodes
    from ..graph import UNKNOWN, known_rank
    if not (known_rank(a.shape) and known_rank(b.shape)):
        return UNKNOWN, same_dtype(nodes)
    if a.ndim < 2 or b.ndim < 2:
        raise ShapeError(f"matmul needs inputs of rank >= 2, got shapes {show_shape(a.shape)} and "
                         f"{show_shape(b.shape)}; reshape vectors to (1, n) or (n, 1)")
    dtype = same_dtype(nodes)
    m, ka = (a.shape[-1], a.shape[-2]) if attrs.get("transpose_a") else a.shape[-2:]
    kb, n = (b.shape[-1], b.shape[-2]) if attrs.get("transpose_b") else b.shape[-2:]
    if ka is not None and kb is not None and ka != kb:
        raise ShapeError(f"shapes {show_shape(a.shape)} and {show_shape(b.shape)} can't be "
                         f"multiplied: inner dimensions {ka} and {kb} differ. Did you forget a "
                         f"transpose or swap the operands?")
    batch = broadcast_shapes(a.shape[:-2], b.shape[:-2]) if a.ndim > 2 or b.ndim > 2 else ()
    return batch + (m, n), dtype


def _t(x, flag):
    return x.swapaxes(-1, -2) if flag else x


@op("matmul", _matmul_spec, out=True)
def matmul(a, b, transpose_a=False, transpose_b=False, out=None):
    return np.matmul(_t(a, transpose_a), _t(b, transpose_b), out=out)


@matmul.gradient
def _(node, g, needs):
    a, b = node.inputs
    ta, tb = node.attrs.get("transpose_a", False), node.attrs.get("transpose_b", False)
    ga = gb = None
    if needs[0]:
        ga = (matmul(b, g, transpose_a=tb, transpose_b=True) if ta
              else matmul(g, b, transpose_b=not tb))
        ga = _unbroadcast(ga, a)
    if needs[1]:
        gb = (matmul(g, a, transpose_a=True, transpose_b=ta) if tb
              else matmul(a, g, transpose_a=not ta))
        gb = _unbroadcast(gb, b)
    return ga, gb


@matmul.compiler
def _(node, rt, out=None):
    """2-d products call BLAS through numpy on `.T` views directly, no flags tested per run.
    np.dot has less overhead than np.matmul, except (measured) with a transposed first operand."""
    ta, tb = node.attrs.get("transpose_a", False), node.attrs.get("transpose_b", False)
    if node.inputs[0].ndim != 2 or node.inputs[1].ndim != 2:
        return lambda a, b: matmul.fn(a, b, ta, tb, out=out)
    mm, dot = np.matmul, np.dot
    if ta and tb:
        return lambda a, b: mm(a.T, b.T, out=out)
    if ta:
        return lambda a, b: mm(a.T, b, out=out)
    if tb:
        return lambda a, b: dot(a, b.T, out=out)
    return partial(dot, out=out) if out is not None else dot
