"""Where values come from: placeholders (fed), constants, variables (session state), random
numbers, and the ops that change state (assign) or only order things (group)."""
from __future__ import annotations

import numpy as np

from ...errors import DTypeError, ShapeError
from ...random import get_rng
from . import OPS, like_first, op

VOID = np.dtype("V")


class FailedPreconditionError(RuntimeError):
    """A node can't be evaluated yet: an unfed placeholder, an uninitialized Variable."""


def _attr_spec(nodes, attrs):
    return attrs["shape"], attrs["dtype"]


@op("placeholder", _attr_spec, stateful=True, differentiable=False)
def placeholder(**attrs):
    raise FailedPreconditionError("placeholder evaluated without a feed")


@placeholder.compiler
def _(node, rt, out=None):
    def unfed():
        raise FailedPreconditionError(
            f"placeholder '{node.name}' (shape {_shape(node.shape)}, {node.dtype.name}) must be fed: "
            f"session.run(..., feed_dict={{{node.name}: value}})")
    return unfed


@op("const", lambda nodes, attrs: (attrs["value"].shape, attrs["value"].dtype),
    differentiable=False)
def const(value):
    return value


@op("fill", lambda nodes, attrs: (tuple(attrs["shape"]), attrs["dtype"]), differentiable=False)
def fill(value, shape, dtype):
    return np.full(shape, value, dtype=dtype)


@op("fill_like", lambda nodes, attrs: (nodes[0].shape, attrs.get("dtype") or nodes[0].dtype),
    differentiable=False, shape_only=(0,))
def fill_like(x, value, dtype=None):
    return np.full(x.shape, value, dtype=dtype or x.dtype)


@op("identity", like_first, view=True)
def identity(x):
    return x


@identity.gradient
def _(node, g, needs):
    return (g,)


@op("stop_gradient", like_first, differentiable=False, view=True)
def stop_gradient(x):
    return x


# ---- variables: values that live in the Session between runs ---------------------------------
@op("variable", _attr_spec, stateful=True, differentiable=False)
def variable(**attrs):
    raise FailedPreconditionError("variable read outside a session")


@variable.compiler
def _(node, rt, out=None):
    state, key = rt.state, node.attrs["var"]
    return lambda: state.get(key)


def _assign_spec(nodes, attrs):
    var, value = nodes
    if var.op != "variable":
        raise DTypeError(f"the first input must be a Variable, got '{var.name}' ({var.op})")
    if value.dtype != var.dtype:
        raise DTypeError(f"can't assign a {value.dtype.name} value to the {var.dtype.name} "
                         f"Variable '{var.attrs['var']}'; convert it with tf.cast")
    _check_fits(var, value.shape)
    return var.shape, var.dtype


def _check_fits(var, shape):
    if len(shape) != len(var.shape) or any(a is not None and b is not None and a != b
                                           for a, b in zip(shape, var.shape)):
        raise ShapeError(f"a value of shape {_shape(shape)} can't be assigned to Variable "
                         f"'{var.attrs['var']}' of shape {_shape(var.shape)}")


@op("assign", _assign_spec, stateful=True, differentiable=False)
def assign(var, value):
    raise FailedPreconditionError("assign evaluated outside a session")


@assign.compiler
def _(node, rt, out=None):
    state, var = rt.state, node.inputs[0]
    key = var.attrs["var"]

    def run(_current, value):
        cur = state.get(key)
        if cur is not None and cur.shape == value.shape:
            np.copyto(cur, value)
            return cur
        if value.shape != tuple(var.shape):
            _check_fits(var, value.shape)
        state[key] = np.array(value, dtype=var.dtype, copy=True)
        return state[key]
    return run


def _update(opname, ufunc):
    @op(opname, _assign_spec, stateful=True, differentiable=False)
    def update(var, value):
        raise FailedPreconditionError(f"{opname} evaluated outside a session")

    @update.compiler
    def _(node, rt, out=None):
        f = getattr(np, ufunc)
        return lambda cur, value: f(cur, value, out=cur)
    return update


assign_add = _update("assign_add", "add")
assign_sub = _update("assign_sub", "subtract")


@op("group", lambda nodes, attrs: ((), VOID), differentiable=False)
def group(*xs):
    return None


# ---- random numbers: a fresh draw at every run --------------------------------------------------
def _random_spec(nodes, attrs):
    return tuple(attrs["shape"]), attrs["dtype"]


@op("random_normal", _random_spec, stateful=True, differentiable=False)
def random_normal(shape, dtype, mean=0.0, stddev=1.0, seed=None):
    return (get_rng().standard_normal(shape) * stddev + mean).astype(dtype)


@op("random_uniform", _random_spec, stateful=True, differentiable=False)
def random_uniform(shape, dtype, minval=0.0, maxval=1.0, seed=None):
    return get_rng().uniform(minval, maxval, shape).astype(dtype)


@random_normal.compiler
def _(node, rt, out=None):
    a = dict(node.attrs)
    seed = a.pop("seed", None)
    if seed is None:
        return lambda: random_normal.fn(**a)
    rng = np.random.default_rng(seed)
    return lambda: (rng.standard_normal(a["shape"]) * a.get("stddev", 1.0)
                    + a.get("mean", 0.0)).astype(a["dtype"])


def _shape(shape) -> str:
    from . import show_shape
    return show_shape(shape)


STATE_OPS = {"assign", "assign_add", "assign_sub"}
SOURCE_OPS = {"placeholder", "variable"}
assert all(n in OPS for n in STATE_OPS | SOURCE_OPS)
