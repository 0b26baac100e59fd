"""Elementwise ops: numpy ufuncs that can write into a preallocated `out=` buffer (which is what
elementwise fusion and buffer reuse build on), each with its symbolic gradient rule."""
from __future__ import annotations

import numpy as np

from ...errors import DTypeError
from . import broadcast, like_first, op, require_float, same_dtype

BOOL = np.dtype(bool)


def _unbroadcast(g, like):
    """g summed down to like's shape (undoing broadcasting), as a graph node."""
    if g.shape == like.shape and None not in like.shape and like.shape.__class__ is tuple:
        return g
    return sum_to(g, like)


def _sum_to_spec(nodes, attrs):
    return nodes[1].shape, nodes[0].dtype


@op("sum_to", _sum_to_spec, shape_only=(1,), view=True)  # returns g itself when no sum is needed
def sum_to(g, like):
    shape = like.shape
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, d in enumerate(shape)
                                      if d == 1 and g.shape[i + lead] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


@sum_to.gradient
def _(node, g, needs):
    return (broadcast_like(g, node.inputs[0]), None)


@op("broadcast_like", lambda nodes, attrs: (nodes[1].shape, nodes[0].dtype), shape_only=(1,),
    view=True)
def broadcast_like(x, like):
    return np.broadcast_to(x, like.shape)


@broadcast_like.gradient
def _(node, g, needs):
    return (_unbroadcast(g, node.inputs[0]), None)


# ---- binary arithmetic -------------------------------------------------------------------------
@op("add", broadcast, ufunc="add")
def add(a, b, out=None):
    return np.add(a, b, out=out)


@add.gradient
def _(node, g, needs):
    a, b = node.inputs
    return _unbroadcast(g, a), _unbroadcast(g, b)


@op("sub", broadcast, ufunc="subtract")
def sub(a, b, out=None):
    return np.subtract(a, b, out=out)


@sub.gradient
def _(node, g, needs):
    a, b = node.inputs
    return _unbroadcast(g, a), (_unbroadcast(neg(g), b) if needs[1] else None)


@op("mul", broadcast, ufunc="multiply")
def mul(a, b, out=None):
    return np.multiply(a, b, out=out)


@mul.gradient
def _(node, g, needs):
    a, b = node.inputs
    return (_unbroadcast(mul(g, b), a) if needs[0] else None,
            _unbroadcast(mul(g, a), b) if needs[1] else None)


@op("div", broadcast, ufunc="true_divide")
def div(a, b, out=None):
    return np.true_divide(a, b, out=out)


@div.gradient
def _(node, g, needs):
    a, b = node.inputs
    return (_unbroadcast(div(g, b), a) if needs[0] else None,
            _unbroadcast(neg(div(mul(g, node), b)), b) if needs[1] else None)


@op("pow", broadcast, ufunc="power")
def pow(a, b, out=None):
    return np.power(a, b, out=out)


@pow.gradient
def _(node, g, needs):
    a, b = node.inputs
    ga = gb = None
    if needs[0]:
        if b.op == "const" and b.attrs["value"].size == 1 and float(b.attrs["value"]) == 2.0:
            ga = mul(g, mul(a, 2.0))
        else:
            ga = mul(g, mul(b, pow(a, sub(b, 1.0))))
        ga = _unbroadcast(ga, a)
    if needs[1]:
        gb = _unbroadcast(mul(g, mul(node, log(a))), b)
    return ga, gb


@op("maximum", broadcast, ufunc="maximum")
def maximum(a, b, out=None):
    return np.maximum(a, b, out=out)


@op("minimum", broadcast, ufunc="minimum")
def minimum(a, b, out=None):
    return np.minimum(a, b, out=out)


@op("select_grad", lambda nodes, attrs: (broadcast(nodes, attrs)[0], same_dtype(nodes)), out=True,
    elementwise=True, inplace=(1, 2))
def select_grad(g, a, b, sign=1.0, out=None):
    """g * share, share = 1 where a wins, 0 where b wins, 1/2 on ties ("wins" = is larger if
    sign=1, smaller if sign=-1), as eager ember's maximum/minimum. Ties (rare with real data)
    are looked for first, as `out` may be a's or b's buffer."""
    wins = np.greater(a, b) if sign > 0 else np.less(a, b)
    ties = np.equal(a, b)
    if not ties.any():
        ties = None
    out = np.multiply(g, wins, out=out)
    if ties is not None:
        out += np.multiply(g, ties) * out.dtype.type(0.5)
    return out


def _extremum_grad(sign):
    def rule(node, g, needs):
        a, b = node.inputs
        return (_unbroadcast(select_grad(g, a, b, sign=sign), a) if needs[0] else None,
                _unbroadcast(select_grad(g, b, a, sign=sign), b) if needs[1] else None)
    return rule


maximum.gradient(_extremum_grad(1.0))
minimum.gradient(_extremum_grad(-1.0))


# ---- unary -------------------------------------------------------------------------------------
@op("neg", like_first, ufunc="negative")
def neg(x, out=None):
    return np.negative(x, out=out)


neg.gradient(lambda node, g, needs: (neg(g),))


def _float_unary(name, ufunc):
    def spec(nodes, attrs):
        require_float(nodes[0], name)
        return like_first(nodes, attrs)
    f = getattr(np, ufunc)
    return op(name, spec, ufunc=ufunc)(lambda x, out=None: f(x, out=out))


exp = _float_unary("exp", "exp")
log = _float_unary("log", "log")
sqrt = _float_unary("sqrt", "sqrt")
tanh = _float_unary("tanh", "tanh")
exp.gradient(lambda node, g, needs: (mul(g, node),))
log.gradient(lambda node, g, needs: (div(g, node.inputs[0]),))
sqrt.gradient(lambda node, g, needs: (div(g, mul(node, 2.0)),))
tanh.gradient(lambda node, g, needs: (mul(g, sub(1.0, mul(node, node))),))


@op("square", like_first, ufunc="square")
def square(x, out=None):
    return np.square(x, out=out)


square.gradient(lambda node, g, needs: (mul(g, mul(node.inputs[0], 2.0)),))


@op("abs", like_first, ufunc="absolute")
def abs(x, out=None):
    return np.absolute(x, out=out)


@op("sign", like_first, ufunc="sign", differentiable=False)
def sign(x, out=None):
    return np.sign(x, out=out)


abs.gradient(lambda node, g, needs: (mul(g, sign(node.inputs[0])),))


@op("relu", like_first, elementwise=True, out=True, inplace=(0,))
def relu(x, out=None):
    return np.maximum(x, 0, out=out) if out is not None else np.maximum(x, x.dtype.type(0))


@op("relu_grad", like_first, elementwise=True, out=True, inplace=(1,))
def relu_grad(g, y, out=None):
    """g where the ReLU output y is positive, else 0: g * sign(y), as y >= 0."""
    out = np.sign(y, out=out)
    return np.multiply(out, g, out=out)


relu.gradient(lambda node, g, needs: (relu_grad(g, node),))


def _sigmoid_spec(nodes, attrs):
    require_float(nodes[0], "sigmoid")
    return like_first(nodes, attrs)


@op("sigmoid", _sigmoid_spec, elementwise=True, out=True, inplace=(0,))
def sigmoid(x, out=None):
    with np.errstate(over="ignore"):
        out = np.negative(x, out=out)
        np.exp(out, out=out)
        np.add(out, 1, out=out)
        return np.reciprocal(out, out=out)


@op("sigmoid_grad", like_first, elementwise=True, out=True)
def sigmoid_grad(g, y, out=None):
    """g * y * (1 - y), y = sigmoid(x)."""
    out = np.subtract(1, y, out=out)
    np.multiply(out, y, out=out)
    return np.multiply(out, g, out=out)


sigmoid.gradient(lambda node, g, needs: (sigmoid_grad(g, node),))


# ---- comparisons and casts (not differentiable) ------------------------------------------------
def _compare(name, ufunc):
    def spec(nodes, attrs):
        return broadcast(nodes, attrs)[0], BOOL
    f = getattr(np, ufunc)
    return op(name, spec, ufunc=ufunc, differentiable=False)(lambda a, b, out=None: f(a, b, out=out))


greater = _compare("greater", "greater")
greater_equal = _compare("greater_equal", "greater_equal")
less = _compare("less", "less")
less_equal = _compare("less_equal", "less_equal")
equal = _compare("equal", "equal")
not_equal = _compare("not_equal", "not_equal")
logical_and = _compare("logical_and", "logical_and")
logical_or = _compare("logical_or", "logical_or")


@op("logical_not", lambda nodes, attrs: (nodes[0].shape, BOOL), ufunc="logical_not",
    differentiable=False)
def logical_not(x, out=None):
    return np.logical_not(x, out=out)


@op("cast", lambda nodes, attrs: (nodes[0].shape, attrs["dtype"]))
def cast(x, dtype):
    return x.astype(dtype)


@cast.gradient
def _(node, g, needs):
    x = node.inputs[0]
    if x.dtype.kind != "f":
        raise DTypeError(f"can't differentiate through cast '{node.name}' from {x.dtype.name}")
    return (cast(g, dtype=x.dtype),)


@op("where", lambda nodes, attrs: (_where_shape(nodes), same_dtype(nodes[1:])))
def where(cond, a, b):
    return np.where(cond, a, b)


def _where_shape(nodes):
    from . import broadcast_shapes
    if nodes[0].dtype != BOOL:
        raise DTypeError(f"the condition must be bool, got {nodes[0].dtype.name}")
    return broadcast_shapes(*[n.shape for n in nodes])


@where.gradient
def _(node, g, needs):
    c, a, b = node.inputs
    zero = fill_like(g, value=0.0)
    return (None, _unbroadcast(where(c, g, zero), a) if needs[1] else None,
            _unbroadcast(where(c, zero, g), b) if needs[2] else None)


from .state import fill_like  # noqa: E402

BINARY = {"add", "sub", "mul", "div", "pow", "maximum", "minimum"}
