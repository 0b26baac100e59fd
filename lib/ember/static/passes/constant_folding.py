"""Constant folding: a node whose inputs are all constants is computed once, now, and replaced by
a constant (inputs read only for their shape, as in `fill_like(x)`, need only a known shape)."""
from __future__ import annotations

import numpy as np

from ..graph import Graph
from ..ops import OPS
from ..rewrite import Rewriter

NEVER = {"const", "placeholder", "variable", "group"}


def constant_folding(graph: Graph) -> Graph:
    rw = Rewriter(graph)
    for n in graph.nodes:
        opdef = OPS[n.op]
        ins = [rw[i] for i in n.inputs]
        if n.op in NEVER or opdef.stateful or not n.inputs and n.op != "fill" or None in n.shape \
                or not all(i.op == "const" or (k in opdef.shape_only and None not in i.shape)
                           for k, i in enumerate(ins)):
            rw.copy(n)
            continue
        args = [i.attrs["value"] if i.op == "const" else np.broadcast_to(np.zeros((), i.dtype), i.shape)
                for i in ins]
        attrs = {k: v for k, v in n.attrs.items() if k != "buffer"}
        value = np.asarray(opdef.fn(*args, **attrs), dtype=n.dtype)
        rw.map[n] = rw.emit("const", (), {"value": value}, n.name)
    return rw.finish()
