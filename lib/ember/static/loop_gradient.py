"""The gradient of `while_loop`: a loop that runs backwards.

The body's gradient is built once, symbolically, as a graph of its own (`grad_graph`: loop
variables of one step, the captured values and the gradients flowing into the step's outputs ->
the gradients of its inputs). At run time `while_loop_grad` replays the forward loop to record each
step's loop variables (TF-1 keeps them on a stack during the forward run; replaying costs one more
forward loop and keeps no hidden state), then runs `grad_graph` once per step, last step first,
summing the gradients of the captured values (weights used by every step) over the steps.
"""
from __future__ import annotations

from .graph import Graph, GraphError, Node, get_default_graph
from .ops import emit
from .ops.state import fill_like

_REPLAY_UNSAFE = {"random_normal", "random_uniform", "assign", "assign_add", "assign_sub"}


class TupleGrad:
    """The gradient reaching output `index` of a multi-output node (through its tuple_get)."""

    def __init__(self, index: int, g: Node):
        self.index, self.g = index, g


def _is_float(spec) -> bool:
    return spec[1].kind == "f"


def while_loop_gradient(node: Node, g, needs) -> list:
    a = node.attrs
    n, specs = a["n_vars"], a["out_specs"]
    init, captured = node.inputs[:n], node.inputs[n:]
    gs = g if isinstance(g, list) else [g]
    bg = a["body_graph"]
    for inner in bg.nodes:
        if inner.op in _REPLAY_UNSAFE:
            raise GraphError(f"gradients through while_loop '{node.name}': its body has a "
                             f"'{inner.op}' op ('{inner.name}'); the backward loop replays the "
                             f"body, which would draw or assign again. Move it out of the loop")
    fl = tuple(k for k in range(n) if _is_float(specs[k]))
    cap = tuple(j for j, c in enumerate(captured) if needs[n + j] and c.dtype.kind == "f")
    if not fl:
        return [None] * len(node.inputs)
    grad_graph = _body_gradient(bg, n, len(captured), fl, cap, node.graph)
    seeds = [gs[k] if gs[k] is not None else fill_like(init[k], value=0.0) for k in fl]
    out_specs = tuple((init[k].shape, init[k].dtype) for k in fl) + \
        tuple((captured[j].shape, captured[j].dtype) for j in cap)
    gnode = emit("while_loop_grad", (*init, *captured, *seeds),
                 {"cond_graph": a["cond_graph"], "body_graph": bg, "grad_graph": grad_graph,
                  "n_vars": n, "float_vars": fl, "captured_grads": cap,
                  "maximum_iterations": a.get("maximum_iterations"), "out_specs": out_specs},
                 f"{node.name}_grad")
    if len(out_specs) == 1:
        outs = [gnode]
    else:
        outs = [emit("tuple_get", (gnode,), {"index": i}, f"{node.name}_grad/out{i}")
                for i in range(len(out_specs))]
    result = [None] * len(node.inputs)
    for k, o in zip(fl, outs[:len(fl)]):
        result[k] = o if needs[k] else None
    for j, o in zip(cap, outs[len(fl):]):
        result[n + j] = o
    return result


def _body_gradient(bg: Graph, n: int, n_cap: int, fl: tuple, cap: tuple, outer: Graph) -> Graph:
    """(vars_t, captured, d out_t) -> (d vars_t for the float vars, d captured for `cap`)."""
    from .autodiff import gradients
    from .rewrite import Rewriter
    g = Graph(parent=outer)
    rw = Rewriter(bg)
    rw.new = g
    with g.as_default():
        args = [emit("placeholder", (), {"shape": p.shape, "dtype": p.dtype}, f"arg{i}", g)
                for i, p in enumerate(bg.inputs)]
        for p, a in zip(bg.inputs, args):
            rw.map[p] = a
        for node in bg.nodes:
            if node not in rw.map:
                rw.copy(node)
        seeds = [emit("placeholder", (), {"shape": bg.outputs[k].shape,
                                          "dtype": bg.outputs[k].dtype}, f"grad{k}", g) for k in fl]
        xs = [args[k] for k in fl] + [args[n + j] for j in cap]
        ys = [rw.map[bg.outputs[k]] for k in fl]
        grads = gradients(ys, xs, grad_ys=seeds, name="step_gradients")
        outs = [gr if gr is not None else fill_like(x, value=0.0) for gr, x in zip(grads, xs)]
    g.inputs = args + seeds
    g.outputs = outs
    return g


def total(parts: list):
    """Several gradient contributions to one node, summed; for a multi-output node, a list with
    one summed gradient (or None) per output."""
    from .ops.elementwise import add
    if not isinstance(parts[0], TupleGrad):
        g = parts[0]
        for p in parts[1:]:
            g = add(g, p)
        return g
    size = max(p.index for p in parts) + 1
    out = [None] * size
    for p in parts:
        out[p.index] = p.g if out[p.index] is None else add(out[p.index], p.g)
    return out
