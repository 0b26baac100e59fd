"""matmul + bias + ReLU and conv + ReLU fusion: `relu(x @ w + b)` (or `maximum(x @ w + b, 0)`)
becomes one `matmul_bias_relu` node that writes the product into its buffer and adds and clamps
in place; `relu(conv2d(x, w, b))` becomes `conv2d_relu`. The intermediate results must have no
other users (a gradient that needs the pre-activation keeps them apart)."""
from __future__ import annotations

from ..graph import Graph
from ..rewrite import Rewriter, users


def _is_relu(n) -> bool:
    if n.op == "relu":
        return True
    if n.op == "maximum":
        c = n.inputs[1]
        return c.op == "const" and c.attrs["value"].size == 1 and float(c.attrs["value"]) == 0.0 \
            and n.shape == n.inputs[0].shape
    return False


def _bias_ok(add, m) -> bool:
    b = add.inputs[1]
    return add.inputs[0] is m and add.shape == m.shape and b.ndim <= 1 and None not in add.shape


def fuse_matmul_bias_relu(graph: Graph) -> Graph:
    """relu(x @ w + b) -> matmul_bias_relu; relu(conv2d(x, w, b)) -> conv2d_relu."""
    uses = users(graph)
    outs = set(graph.outputs)

    def only_user(n):
        u = uses[n]
        return u[0] if len(u) == 1 and n not in outs else None

    plan = {}   # last node of a pattern -> (matmul, bias node or None, relu?)
    covered = set()
    for m in graph.nodes:
        r = only_user(m) if m.op == "conv2d" else None
        if r is not None and _is_relu(r) and r.inputs[0] is m:
            plan[r] = (m, None, True)
            covered.update({m, r})
            continue
        if m.op != "matmul" or m.ndim != 2:
            continue
        last, bias, relu = m, None, False
        nxt = only_user(m)
        if nxt is not None and nxt.op == "add" and _bias_ok(nxt, m):
            last, bias = nxt, nxt.inputs[1]
            nxt = only_user(nxt)
        if nxt is not None and _is_relu(nxt) and nxt.inputs[0] is last:
            last, relu = nxt, True
        if last is not m:
            plan[last] = (m, bias, relu)
            covered.update({m, last} | ({only_user(m)} if bias is not None else set()))
    rw = Rewriter(graph)
    for n in graph.nodes:
        if n in plan and plan[n][0].op == "conv2d":
            m = plan[n][0]
            rw.map[n] = rw.emit("conv2d_relu", [rw[i] for i in m.inputs], dict(m.attrs), n.name)
        elif n in plan:
            m, bias, relu = plan[n]
            ins = [rw[m.inputs[0]], rw[m.inputs[1]]] + ([rw[bias]] if bias is not None else [])
            attrs = {k: v for k, v in m.attrs.items() if k != "buffer"}
            rw.map[n] = rw.emit("matmul_bias_relu" if relu else "matmul_bias", ins, attrs, n.name)
        elif n not in covered:
            rw.copy(n)
    return rw.finish()

