"""Eager op -> static nodes: how each of ember's eager ops (by class name) is written in the
graph IR. An op missing here can't be traced, and says so."""
from __future__ import annotations

import math

from ..static.ops import emit
from ..static.ops.reduce import normalize_axes


def _bin(opname):
    return lambda ins, a, out: emit(opname, ins, {})


def _un(opname):
    return lambda ins, a, out: emit(opname, ins[:1], {})


def _reduce(opname):
    def f(ins, a, out):
        x = ins[0]
        axes = normalize_axes(a.get("axes"), x.ndim, opname)
        return emit(opname, (x,), {"axis": axes, "keepdims": bool(a.get("keepdim", False))})
    return f


def _extremum(ins, a, out):
    if a.get("kind", "max") != "max":
        neg = emit("neg", ins[:1], {})
        return emit("neg", (_reduce("reduce_max")((neg,), a, out),), {})
    return _reduce("reduce_max")(ins, a, out)


def _clamp(ins, a, out):
    x = ins[0]
    if a.get("min") is not None:
        x = emit("maximum", (x, a["min"]), {})
    if a.get("max") is not None:
        x = emit("minimum", (x, a["max"]), {})
    return x


def _new_shape(x, out) -> tuple:
    """The traced reshape's target. When it keeps the (free) batch dimension first, i.e. each
    row of x becomes one row of the result, that dimension stays free: -1."""
    shape = tuple(out.shape)
    if shape and x.shape and x.shape[0] is None and None not in x.shape[1:] \
            and math.prod(shape[1:]) == math.prod(x.shape[1:]):
        return (-1, *shape[1:])
    return shape


def _linear(ins, a, out):
    """nn.Linear's Addmm: x @ W.T + b."""
    x, w = ins[0], ins[1]
    if x.ndim != 2:
        raise NotImplementedError("jit.trace: nn.Linear on inputs of rank != 2")
    y = emit("matmul", (x, w), {"transpose_b": True})
    return emit("add", (y, ins[2]), {}) if len(ins) > 2 and ins[2] is not None else y


def _where(ins, a, out):
    """The condition is the traced comparison when there is one, else the value it had."""
    from ..static.graph import Node
    from ..static.ops import constant
    cond = a["cond"] if isinstance(a["cond"], Node) else constant(a["cond"])
    return emit("where", (cond, ins[0], ins[1]), {})


def _cast(ins, a, out):
    return emit("cast", ins[:1], {"dtype": out._data.dtype})


def _conv(ins, a, out):
    _refuse_extra("Convolution", a, ("stride", "padding", "dilation"))
    attrs = {k: tuple(a.get(k, d)) for k, d in (("stride", (1, 1)), ("padding", (0, 0)),
                                                ("dilation", (1, 1)))}
    return emit("conv2d", [i for i in ins if i is not None], attrs)


def _refuse_extra(opname, a, keys):
    """Options the static op lacks (ceil_mode, groups, ...) must not be dropped silently."""
    extra = sorted(k for k in a if k not in keys)
    if extra:
        raise NotImplementedError(f"jit.trace: {opname} with {', '.join(extra)} has no "
                                  f"ember.static equivalent yet, so code using it can't be traced")


def _getitem(ins, a, out):
    """x[k] for an integer k (other indexing can't be traced yet)."""
    import numpy as np
    from ..static.ops import constant
    k = a.get("index")
    if isinstance(k, (int, np.integer)) or isinstance(k, np.ndarray) and k.ndim == 0 \
            and k.dtype.kind in "iu":
        return emit("row", (ins[0], constant(np.asarray(int(k), dtype=np.int64))), {})
    raise NotImplementedError(f"jit.trace: indexing with {k!r} can't be traced yet (an integer "
                              f"index can)")


def _attrs(opname, keys):
    def rule(ins, a, out):
        _refuse_extra(opname, a, keys)
        return emit(opname, [i for i in ins if i is not None], {k: a[k] for k in keys if k in a})
    return rule


RULES = {
    "Add": _bin("add"), "Sub": _bin("sub"), "Mul": _bin("mul"), "Div": _bin("div"),
    "Pow": _bin("pow"), "Maximum": _bin("maximum"), "Minimum": _bin("minimum"),
    "Neg": _un("neg"), "Exp": _un("exp"), "Log": _un("log"), "Sqrt": _un("sqrt"),
    "Abs": _un("abs"), "Tanh": _un("tanh"), "Sigmoid": _un("sigmoid"), "Relu": _un("relu"),
    "Sign": _un("sign"),
    "Clone": _un("identity"), "Clamp": _clamp,
    "MatMul": lambda ins, a, out: emit("matmul", ins, {}),
    "Sum": _reduce("reduce_sum"), "Mean": _reduce("reduce_mean"), "Extremum": _extremum,
    "ExtremumAt": lambda ins, a, out: _extremum(ins, {"axes": (a["dim"],), "keepdim": a["keepdim"],
                                                      "kind": a["kind"]}, out),
    "Reshape": lambda ins, a, out: emit("reshape", ins[:1], {"shape": _new_shape(ins[0], out)}),
    "Permute": lambda ins, a, out: emit("transpose", ins[:1], {"perm": tuple(a["dims"])}),
    "GetItem": _getitem,
    "Addmm": _linear, "Mm": _linear, "Where": _where, "ToDtype": _cast, "Convolution": _conv,
    "MaxPool2d": _attrs("max_pool2d", ("kernel_size", "stride", "padding", "dilation")),
    "AvgPool2d": _attrs("avg_pool2d", ("kernel_size", "stride", "padding")),
    "Softmax": _attrs("softmax", ("dim",)), "LogSoftmax": _attrs("log_softmax", ("dim",)),
    "LeakyRelu": _attrs("leaky_relu", ("negative_slope",)),
}


def convert(opname: str, ins: list, attrs: dict, out):
    rule = RULES.get(opname)
    if rule is None:
        raise NotImplementedError(
            f"jit.trace: ember op '{opname}' has no ember.static equivalent yet, so code using "
            f"it can't be traced (traceable: {', '.join(sorted(RULES))})")
    return rule(ins, attrs, out)
