"""`cond` and `while_loop`: data-dependent control flow inside a graph. The branch and loop
functions are called once, now, to build subgraphs; at run time the data picks which to run."""
from __future__ import annotations

from ..errors import DTypeError, ShapeError
from .graph import Graph, GraphError, Node, get_default_graph, known_rank
from .ops import as_node, emit, show_shape


def _build(fn, outer: Graph, n_inputs_like=()) -> tuple[Graph, list]:
    """Call `fn` on fresh placeholders (one per loop variable) inside a new subgraph."""
    sub = Graph(parent=outer)
    with sub.as_default():
        args = [emit("placeholder", (), {"shape": v.shape, "dtype": v.dtype}, f"arg{i}", sub)
                for i, v in enumerate(n_inputs_like)]
        result = fn(*args)
        many = isinstance(result, (list, tuple))
        outs = [as_node(r, sub) for r in (result if many else [result])]
    sub.inputs = args
    sub.outputs = outs
    return sub, many


def _align(graphs, n_args: int) -> list:
    """Give every subgraph the same inputs after its own arguments: one placeholder per outer
    node captured by any of them. Returns those outer nodes (the op's extra inputs)."""
    outer = []
    for g in graphs:
        for o, _ in g.captures:
            if o not in outer:
                outer.append(o)
    for g in graphs:
        have = dict(g.captures)
        extra = [have[o] if o in have else g.capture(o) for o in outer]
        g.inputs = g.inputs[:n_args] + extra
    return outer


def _merge(a: tuple, b: tuple, what: str) -> tuple:
    if len(a) != len(b):
        raise ShapeError(f"{what}: the branches return ranks {len(a)} and {len(b)}")
    return tuple(x if x == y else None for x, y in zip(a, b))


def cond(pred, true_fn, false_fn, name: str | None = None):
    """`true_fn()` if pred else `false_fn()`, decided at run time; only the chosen branch's ops run.
    Both functions must return the same number of values with matching dtypes."""
    outer = get_default_graph()
    pred = as_node(pred, outer)
    if (known_rank(pred.shape) and pred.shape not in ((), (1,))) or pred.dtype.kind != "b":
        raise DTypeError(f"cond: the predicate must be a bool scalar, got '{pred.name}' of dtype "
                         f"{pred.dtype.name} and shape {show_shape(pred.shape)}")
    tg, many = _build(true_fn, outer)
    fg, _ = _build(false_fn, outer)
    if len(tg.outputs) != len(fg.outputs):
        raise GraphError(f"cond: true_fn returns {len(tg.outputs)} values, false_fn "
                         f"{len(fg.outputs)}")
    specs = []
    for t, f in zip(tg.outputs, fg.outputs):
        if t.dtype != f.dtype:
            raise DTypeError(f"cond: the branches return dtypes {t.dtype.name} and {f.dtype.name}")
        specs.append((_merge(t.shape, f.shape, "cond"), t.dtype))
    captured = _align([tg, fg], 0)
    node = emit("cond", (pred, *captured), {"branches": (tg, fg), "out_specs": tuple(specs)}, name)
    if len(specs) == 1:
        return [node] if many else node
    return _unpack(node, len(specs), outer)


def while_loop(cond, body, loop_vars, maximum_iterations: int | None = None, name: str | None = None):
    """Repeat `loop_vars = body(*loop_vars)` while `cond(*loop_vars)`; every loop variable must keep
    its dtype and rank. Returns the final loop variables (a list, or one node)."""
    outer = get_default_graph()
    many = isinstance(loop_vars, (list, tuple))
    init = [as_node(v, outer) for v in (loop_vars if many else [loop_vars])]
    cg, _ = _build(cond, outer, init)
    bg, _ = _build(body, outer, init)
    if len(cg.outputs) != 1 or cg.outputs[0].dtype.kind != "b":
        raise DTypeError("while_loop: cond must return one bool scalar")
    if len(bg.outputs) != len(init):
        raise GraphError(f"while_loop: body returns {len(bg.outputs)} values for {len(init)} "
                         f"loop variables")
    specs = []
    for v, o in zip(init, bg.outputs):
        if v.dtype != o.dtype:
            raise DTypeError(f"while_loop: the body turns loop variable '{v.name}' from "
                             f"{v.dtype.name} into {o.dtype.name}")
        specs.append((_merge(v.shape, o.shape, "while_loop"), v.dtype))
    captured = _align([cg, bg], len(init))
    node = emit("while_loop", (*init, *captured),
                {"cond_graph": cg, "body_graph": bg, "n_vars": len(init), "out_specs": tuple(specs),
                 "maximum_iterations": maximum_iterations}, name)
    if len(init) == 1:
        return [node] if many else node
    return _unpack(node, len(init), outer)


def _unpack(node: Node, n: int, outer: Graph) -> list:
    """One `tuple_get` node per output of a multi-output cond / while_loop."""
    name = node.name[len(outer._scope):]
    return [emit("tuple_get", (node,), {"index": i}, f"{name}/out{i}") for i in range(n)]


def cond_gradient(node: Node, g, needs) -> list:
    """d cond / d inputs = cond(pred, gradients of the true branch, gradients of the false one):
    each gradient branch replays its forward branch and differentiates it symbolically. `g` is
    one node, or (several outputs) a list with a node or None per output."""
    pred, captured = node.inputs[0], node.inputs[1:]
    specs = node.attrs["out_specs"]
    gs = list(g) if isinstance(g, list) else [g]
    gs += [None] * (len(specs) - len(gs))
    outs = [k for k, gk in enumerate(gs) if gk is not None and specs[k][1].kind == "f"]
    which = [i for i, n in enumerate(needs[1:]) if n]
    if not outs or not which:
        return [None] * len(node.inputs)
    seeds = [gs[k] for k in outs]
    tg, fg = node.attrs["branches"]
    grads = cond(pred, lambda: _replay_grad(tg, captured, seeds, outs, which),
                 lambda: _replay_grad(fg, captured, seeds, outs, which), name=f"{node.name}_grad")
    it = iter(grads if isinstance(grads, list) else [grads])
    return [None] + [next(it) if n else None for n in needs[1:]]


def _replay_grad(sub: Graph, captured, seeds: list, outs: list, which: list) -> list:
    """Inside a new branch: copy the forward branch `sub` here, then differentiate it."""
    from .autodiff import gradients
    from .rewrite import Rewriter
    here = get_default_graph()
    rw = Rewriter(sub)
    rw.new = here
    for p, c in zip(sub.inputs, captured):
        rw.map[p] = here.capture(c)
    for n in sub.nodes:
        if n not in rw.map:
            rw.copy(n)
    xs = [rw.map[sub.inputs[i]] for i in which]
    grads = gradients([rw.map[sub.outputs[k]] for k in outs], xs,
                      grad_ys=[here.capture(s) for s in seeds])
    return [gr if gr is not None else emit("fill_like", (x,), {"value": 0.0}, None, here)
            for gr, x in zip(grads, xs)]
