"""Move a scalar factor into a matmul's smaller operand: `lr * (x.T @ g)` -> `x.T @ (lr * g)`.
Same value (up to float rounding), far fewer multiplications when the product is bigger than an
operand, as for a weight gradient (1000x100) made from a batch (64x100); the scaled operand then
fuses with the elementwise chain that produced it."""
from __future__ import annotations

import math

from ..graph import Graph
from ..rewrite import Rewriter, users


def _scalar(n) -> bool:
    return n.op == "const" and n.attrs["value"].size == 1


def scale_matmul(graph: Graph) -> Graph:
    uses = users(graph)
    rw = Rewriter(graph)
    for n in graph.nodes:
        if n.op == "mul" and None not in n.shape:
            a, b = n.inputs
            c, m = (a, b) if _scalar(a) else (b, a)
            if _scalar(c) and m.op == "matmul" and uses[m] == [n] and m.shape == n.shape \
                    and m not in graph.outputs and c.dtype == n.dtype \
                    and None not in m.inputs[0].shape + m.inputs[1].shape:
                x, w = m.inputs
                k = 0 if math.prod(x.shape) <= math.prod(w.shape) else 1
                ins = [rw[x], rw[w]]
                ins[k] = rw.emit("mul", (ins[k], rw[c]), {}, f"{n.name}/scaled")
                rw.copy(n, op="matmul", inputs=ins, attrs=dict(m.attrs))
                continue
        rw.copy(n)
    return rw.finish()
