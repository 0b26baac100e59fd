"""Common subexpression elimination: two nodes with the same op, inputs and attributes compute
the same value, so the second is replaced by the first (stateful ops, e.g. random, excepted)."""
from __future__ import annotations

import numpy as np

from ..graph import Graph
from ..ops import OPS
from ..rewrite import Rewriter


def _key(n, ins):
    if n.op == "const":
        v = n.attrs["value"]
        return ("const", v.dtype.str, v.shape, v.tobytes()) if v.size <= 1024 else None
    attrs = []
    for k, v in sorted(n.attrs.items()):
        if isinstance(v, np.ndarray) or hasattr(v, "nodes"):
            return None
        attrs.append((k, repr(v)))
    return (n.op, tuple(id(i) for i in ins), tuple(attrs))


def common_subexpression_elimination(graph: Graph) -> Graph:
    rw = Rewriter(graph)
    seen: dict = {}
    for n in graph.nodes:
        ins = [rw[i] for i in n.inputs]
        key = None if OPS[n.op].stateful or n in graph.inputs else _key(n, ins)
        if key is not None and key in seen:
            rw.map[n] = seen[key]
            continue
        new = rw.copy(n)
        if key is not None:
            seen[key] = new
    return rw.finish()
