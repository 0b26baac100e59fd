"""ember.static: define-then-run graphs with the TensorFlow-1 API of the lecture.

    import ember.static as tf
    x = tf.placeholder(tf.float32, shape=(None, 1000))
    w1 = tf.Variable(tf.random_normal((1000, 100)))
    h = tf.maximum(tf.matmul(x, w1), 0)             # nothing is computed yet: h is a graph node
    grad_w1, = tf.gradients(tf.reduce_sum(h), [w1])  # new nodes: the backward pass, symbolically
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        value = sess.run(h, feed_dict={x: np.random.randn(64, 1000)})
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from . import ops as _ops
from .autodiff import gradients
from .control_flow import cond, while_loop
from . import graph as _graph
from .graph import Graph, GraphError, Node, get_default_graph, reset_default_graph
from .ops import constant, np_dtype as _np_dtype
from .ops import elementwise as _ew, matmul as _mm, reduce as _red, shape as _sh, state as _st
from .ops.state import FailedPreconditionError
from .runtime import interpret
from .session import InteractiveSession, Session
from .variables import (Variable, global_variables, global_variables_initializer,
                        trainable_variables, variables_initializer)

float16, float32, float64 = _dt.float16, _dt.float32, _dt.float64
int32, int64, uint8 = _dt.int32, _dt.int64, _dt.uint8
bool = _dt.bool_
Tensor = Node


def placeholder(dtype, shape=None, name: str | None = None) -> Node:
    """An input fed at run time; `None` in `shape` accepts any size (e.g. the batch), and
    `shape=None` any shape at all (each run specializes the graph to the fed shapes)."""
    shape = _graph.UNKNOWN if shape is None else \
        tuple(None if d in (None, -1) else int(d) for d in shape)
    return _st.placeholder(shape=shape, dtype=_np_dtype(dtype), name=name or "Placeholder")


def disable_v2_behavior() -> None:
    """`tf.compat.v1.disable_v2_behavior()`: nothing to do, ember.static is TF-1 already."""


disable_eager_execution = disable_v2_behavior


def device(name: str):
    """`with tf.device('/gpu:0'):` records the device on the nodes made inside (`node.device`).
    ember.static runs every node with numpy on the CPU: like TF's soft placement, a node placed
    on a GPU runs where ember can run it."""
    return _graph.device_scope(name)


def foldl(fn, elems, initializer=None, name: str | None = None, **unused):
    """`a = fn(a, x)` for each row x of `elems` (first to last), starting from `initializer` (or
    the first row): a `while_loop` over a run-time number of rows, so gradients go through it."""
    from .ops.shape import dim_size, row
    graph = get_default_graph()
    elems = _ops.as_node(elems, graph)
    with graph.name_scope(name or "foldl"):
        if initializer is None:
            start, acc = 1, row(elems, constant(0, dtype=int64))
        else:
            many = isinstance(initializer, (list, tuple))
            start = 0
            acc = [_ops.as_node(a, graph) for a in initializer] if many else \
                _ops.as_node(initializer, graph)
        n = dim_size(elems, axis=0)
        accs = acc if isinstance(acc, list) else [acc]

        def body(i, *a):
            out = fn(a if len(a) > 1 else a[0], row(elems, i))
            outs = list(out) if isinstance(out, (list, tuple)) else [out]
            if len(outs) != len(accs):
                raise GraphError(f"foldl: fn returned {len(outs)} value(s) but the accumulator "
                                 f"has {len(accs)}: fn(acc, x) must return a new acc of the "
                                 f"initializer's structure")
            return [add(i, 1), *outs]
        result = while_loop(lambda i, *a: less(i, n), body,
                            [constant(start, dtype=int64), *accs])
    return result[1:] if isinstance(acc, list) else result[1]


def _spec(shape, dtype):
    return tuple(int(d) for d in (shape if isinstance(shape, (tuple, list)) else (shape,))), \
        _np_dtype(dtype)


def zeros(shape, dtype=float32, name: str | None = None) -> Node:
    shape, dtype = _spec(shape, dtype)
    return _st.fill(value=0, shape=shape, dtype=dtype, name=name or "zeros")


def ones(shape, dtype=float32, name: str | None = None) -> Node:
    shape, dtype = _spec(shape, dtype)
    return _st.fill(value=1, shape=shape, dtype=dtype, name=name or "ones")


def fill(dims, value, name: str | None = None) -> Node:
    shape, dtype = _spec(dims, np.asarray(value).dtype if not isinstance(value, float) else float32)
    return _st.fill(value=value, shape=shape, dtype=dtype, name=name)


def zeros_like(x, dtype=None, name: str | None = None) -> Node:
    return _st.fill_like(x, value=0, dtype=None if dtype is None else _np_dtype(dtype), name=name)


def ones_like(x, dtype=None, name: str | None = None) -> Node:
    return _st.fill_like(x, value=1, dtype=None if dtype is None else _np_dtype(dtype), name=name)


def random_normal(shape, mean: float = 0.0, stddev: float = 1.0, dtype=float32, seed=None,
                  name: str | None = None) -> Node:
    """Fresh standard normals at every run (seeded by ember.manual_seed, or by `seed`)."""
    shape, dtype = _spec(shape, dtype)
    return _st.random_normal(shape=shape, dtype=dtype, mean=float(mean), stddev=float(stddev),
                             seed=seed, name=name)


def random_uniform(shape, minval: float = 0.0, maxval: float = 1.0, dtype=float32, seed=None,
                   name: str | None = None) -> Node:
    shape, dtype = _spec(shape, dtype)
    return _st.random_uniform(shape=shape, dtype=dtype, minval=float(minval), maxval=float(maxval),
                              seed=seed, name=name)


def matmul(a, b, transpose_a: bool = False, transpose_b: bool = False, name: str | None = None) -> Node:
    return _mm.matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b, name=name)


def _binary(opdef):
    def fn(x, y, name: str | None = None) -> Node:
        return opdef(x, y, name=name)
    fn.__name__ = opdef.name
    return fn


add, subtract, multiply, divide, pow, maximum, minimum = (
    _binary(o) for o in (_ew.add, _ew.sub, _ew.mul, _ew.div, _ew.pow, _ew.maximum, _ew.minimum))
greater, greater_equal, less, less_equal, equal, not_equal, logical_and, logical_or = (
    _binary(o) for o in (_ew.greater, _ew.greater_equal, _ew.less, _ew.less_equal, _ew.equal,
                         _ew.not_equal, _ew.logical_and, _ew.logical_or))
truediv = divide


def _unary(opdef):
    def fn(x, name: str | None = None) -> Node:
        return opdef(x, name=name)
    fn.__name__ = opdef.name
    return fn


negative, exp, log, sqrt, square, abs, sign, tanh, sigmoid, logical_not = (
    _unary(o) for o in (_ew.neg, _ew.exp, _ew.log, _ew.sqrt, _ew.square, _ew.abs, _ew.sign,
                        _ew.tanh, _ew.sigmoid, _ew.logical_not))


def _reduction(opdef):
    def fn(input_tensor, axis=None, keepdims: bool = False, name: str | None = None) -> Node:
        x = _ops.as_node(input_tensor, get_default_graph())
        return opdef(x, axis=_red.normalize_axes(axis, x.ndim, opdef.name), keepdims=True if keepdims else False,
                     name=name)
    fn.__name__ = opdef.name
    return fn


reduce_sum, reduce_mean, reduce_max = (_reduction(o) for o in
                                       (_red.reduce_sum, _red.reduce_mean, _red.reduce_max))


def reshape(x, shape, name: str | None = None) -> Node:
    return _sh.reshape(x, shape=tuple(-1 if d is None else int(d) for d in shape), name=name)


def transpose(x, perm=None, name: str | None = None) -> Node:
    return _sh.transpose(x, perm=None if perm is None else tuple(int(p) for p in perm), name=name)


def expand_dims(x, axis: int, name: str | None = None) -> Node:
    return _sh.expand_dims(x, axis=int(axis), name=name)


def squeeze(x, axis=None, name: str | None = None) -> Node:
    return _sh.squeeze(x, axis=axis, name=name)


def cast(x, dtype, name: str | None = None) -> Node:
    return _ew.cast(x, dtype=_np_dtype(dtype), name=name)


def where(condition, x, y, name: str | None = None) -> Node:
    return _ew.where(condition, x, y, name=name)


def identity(x, name: str | None = None) -> Node:
    return _st.identity(x, name=name)


def stop_gradient(x, name: str | None = None) -> Node:
    return _st.stop_gradient(x, name=name)


def group(*inputs, name: str | None = None) -> Node:
    """One op that runs all `inputs` (typically updates); fetching it gives None."""
    flat = [i for x in inputs for i in (x if isinstance(x, (list, tuple)) else (x,))]
    return _st.group(*flat, name=name or "group")


def assign(ref: Variable, value, name: str | None = None) -> Node:
    return ref.assign(value, name=name)


def assign_add(ref: Variable, value, name: str | None = None) -> Node:
    return ref.assign_add(value, name=name)


def assign_sub(ref: Variable, value, name: str | None = None) -> Node:
    return ref.assign_sub(value, name=name)


def add_n(inputs, name: str | None = None) -> Node:
    total = inputs[0]
    for x in inputs[1:]:
        total = add(total, x)
    return total


def name_scope(name: str):
    return get_default_graph().name_scope(name)


def set_random_seed(seed: int) -> None:
    """Seed the random ops (ember's global generator)."""
    from ..random import manual_seed
    manual_seed(seed)


# ---- operators on nodes: x + y, x @ w, -x, x ** 2, x > 0 ----------------------------------------
def _install_operators():
    def rev(f):
        return lambda a, b: f(b, a)
    table = {"__add__": _ew.add, "__sub__": _ew.sub, "__mul__": _ew.mul, "__truediv__": _ew.div,
             "__pow__": _ew.pow, "__matmul__": _mm.matmul, "__gt__": _ew.greater,
             "__ge__": _ew.greater_equal, "__lt__": _ew.less, "__le__": _ew.less_equal}
    for name, f in table.items():
        setattr(Node, name, lambda a, b, f=f: f(a, b))
    for name, f in {"__radd__": _ew.add, "__rsub__": _ew.sub, "__rmul__": _ew.mul,
                    "__rtruediv__": _ew.div, "__rpow__": _ew.pow, "__rmatmul__": _mm.matmul}.items():
        setattr(Node, name, lambda a, b, f=f: f(b, a))
    Node.__neg__ = lambda a: _ew.neg(a)
    Node.__abs__ = lambda a: _ew.abs(a)
    Node.__array_ufunc__ = None  # numpy arrays defer to these operators: ndarray + node -> node


_install_operators()

from . import contrib, initializers, layers, losses, nn, train  # noqa: E402


def __getattr__(name):
    if name in ("passes", "serialize", "onnx"):
        import importlib
        return importlib.import_module(f".{name}", __name__)
    if name in ("save", "load"):
        from . import serialize
        return getattr(serialize, name)
    raise AttributeError(f"module 'ember.static' has no attribute {name!r}")
