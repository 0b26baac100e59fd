"""Symbolic differentiation: graph in, bigger graph out. `gradients(ys, xs)` walks the graph
backwards from ys and, for every op on a path from xs to ys, calls its gradient rule, which adds
new nodes (the backward pass) to the same graph. Nothing is computed here; the eager tape of
`ember.autograd` is not involved."""
from __future__ import annotations

from ..errors import DTypeError
from .graph import GraphError, Node
from .ops import OPS
from .loop_gradient import total
from .ops.state import fill_like


def gradients(ys, xs, grad_ys=None, name: str = "gradients") -> list:
    """d(sum of ys)/d(x) for each x in xs, as new graph nodes (None where x does not reach ys)."""
    ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    single = not isinstance(xs, (list, tuple))
    xs = [xs] if single else list(xs)
    xs = [x._as_graph_node() if hasattr(x, "_as_graph_node") else x for x in xs]
    graph = ys[0].graph
    for n in ys + xs:
        if not isinstance(n, Node):
            raise TypeError(f"gradients takes graph nodes, got {type(n).__name__}")
        if n.graph is not graph:
            raise GraphError(f"'{n.name}' belongs to another graph than '{ys[0].name}'")
    for x in xs:
        if x.dtype.kind != "f":
            raise DTypeError(f"gradients: '{x.name}' has dtype {x.dtype.name}; only floating point "
                             f"nodes have gradients")
    on_path = _between(xs, ys)
    grads: dict[Node, list] = {}
    with graph.as_default(), graph.name_scope(name):
        seeds = grad_ys if grad_ys is not None else [None] * len(ys)
        for y, gy in zip(ys, seeds if isinstance(seeds, (list, tuple)) else [seeds]):
            if y in on_path:
                grads.setdefault(y, []).append(gy if gy is not None else fill_like(y, value=1.0))
        wanted = set(xs)
        for node in reversed([n for n in graph.nodes if n in on_path]):
            parts = grads.get(node)
            if not parts:
                continue
            g = total(parts)
            grads[node] = [g]
            if node in wanted and not any(i in on_path for i in node.inputs):
                continue
            needs = [i in on_path for i in node.inputs]
            if not any(needs):
                continue
            rule = OPS[node.op].grad
            if rule is None:
                raise GraphError(f"no gradient is defined for op '{node.op}' (node '{node.name}'), "
                                 f"which lies between the outputs and the inputs of gradients()")
            for inp, gi, need in zip(node.inputs, rule(node, g, needs), needs):
                if need and gi is not None:
                    grads.setdefault(inp, []).append(gi)
    return [grads[x][0] if x in grads else None for x in xs] if not single else \
        (grads[xs[0]][0] if xs[0] in grads else None)


def _between(xs, ys) -> set:
    """Nodes that depend on some x (through differentiable, floating point ops) and that some y
    depends on: the only ones whose gradients are needed."""
    graph = ys[0].graph
    from_x = set(xs)
    for n in graph.nodes:
        if n not in from_x and _carries_gradient(n) and OPS[n.op].differentiable \
                and any(i in from_x for i in n.inputs):
            from_x.add(n)
    to_y, stack = set(), [y for y in ys if y in from_x]
    while stack:
        n = stack.pop()
        if n in to_y:
            continue
        to_y.add(n)
        stack.extend(i for i in n.inputs if i in from_x)
    return to_y


def _carries_gradient(n: Node) -> bool:
    """Floating point nodes, and multi-output control flow with a floating point output."""
    if n.dtype.kind == "f":
        return True
    return n.op in ("while_loop", "cond") and any(s[1].kind == "f" for s in n.attrs["out_specs"])
