"""Algebraic simplification: rewrites that never change a value.

* `x * 1`, `x + 0`, `x - 0`, `x / 1` -> `x` (when x already has the result's shape)
* shape no-ops: `sum_to`, `broadcast_like`, `reshape_like` to x's own shape, `identity` -> `x`
* `x ** 2`, `x * x` -> `square(x)`; `-(-x)` -> `x`
* `v.assign(v - d)` -> `v.assign_sub(d)` (and `+` -> `assign_add`): the update happens in place
"""
from __future__ import annotations

import numpy as np

from ..graph import Graph
from ..rewrite import Rewriter, users

SHAPE_NOOPS = {"sum_to", "broadcast_like", "reshape_like"}


def _const_is(n, value) -> bool:
    if n.op != "const":
        return False
    v = n.attrs["value"]
    return v.size <= 1 << 20 and bool(np.all(v == value))


def _same(x, n) -> bool:
    return x.shape == n.shape and None not in n.shape and x.dtype == n.dtype


def _rule(n, ins, uses):
    op = n.op
    if op == "identity":
        return ins[0]
    if op in SHAPE_NOOPS and _same(ins[0], n):
        return ins[0]
    if op == "expand_reduced" and not n.attrs.get("mean") and _same(ins[0], n):
        return ins[0]
    if len(ins) == 2:
        a, b = ins
        if op == "mul":
            if _const_is(b, 1) and _same(a, n):
                return a
            if _const_is(a, 1) and _same(b, n):
                return b
            if a is b:
                return ("square", (a,), {})
        if op in ("add", "sub") and _const_is(b, 0) and _same(a, n):
            return a
        if op == "add" and _const_is(a, 0) and _same(b, n):
            return b
        if op == "div" and _const_is(b, 1) and _same(a, n):
            return a
        if op == "pow" and _const_is(b, 2) and b.attrs["value"].size == 1 and _same(a, n):
            return ("square", (a,), {})
    if op == "neg" and ins[0].op == "neg":
        return ins[0].inputs[0]
    if op == "assign":
        var, value = n.inputs
        if value.op in ("sub", "add") and len(uses[value]) == 1:
            a, b = value.inputs
            if a is var and _same(b, value):
                return ("assign_sub" if value.op == "sub" else "assign_add", (ins[0], None), {"_d": b})
            if value.op == "add" and b is var and _same(a, value):
                return ("assign_add", (ins[0], None), {"_d": a})
    return None


def simplify(graph: Graph) -> Graph:
    uses = users(graph)
    rw = Rewriter(graph)
    for n in graph.nodes:
        ins = [rw[i] for i in n.inputs]
        r = _rule(n, ins, uses)
        if r is None:
            rw.copy(n)
        elif isinstance(r, tuple):
            opname, args, extra = r
            if "_d" in extra:
                args = (args[0], rw[extra["_d"]])
            rw.copy(n, op=opname, inputs=args, attrs={})
        else:
            rw.map[n] = r
    return rw.finish()
