"""Control flow as ops: `cond` and `while_loop` hold their branches / body as subgraphs and run
only what the data picks, at run time. (A Python `if` runs once, while the graph is built.)"""
from __future__ import annotations

import numpy as np

from ...errors import ShapeError
from . import op
from .state import VOID


def _out_spec(nodes, attrs):
    specs = attrs["out_specs"]
    return specs[0] if len(specs) == 1 else ((), VOID)


@op("cond", _out_spec, stateful=True, view=True)
def cond(pred, *captured, branches, out_specs):
    raise RuntimeError("cond runs inside a session")


@cond.compiler
def _(node, rt, out=None):
    true_g, false_g = node.attrs["branches"]
    single = len(node.attrs["out_specs"]) == 1

    def run(pred, *captured):
        outs = rt.run_graph(true_g if bool(pred) else false_g, captured)
        return outs[0] if single else tuple(outs)
    return run


@cond.gradient
def _(node, g, needs):
    from ..control_flow import cond_gradient
    return cond_gradient(node, g, needs)


@op("while_loop", _out_spec, stateful=True, view=True)
def while_loop(*inputs, cond_graph, body_graph, n_vars, out_specs, maximum_iterations=None):
    raise RuntimeError("while_loop runs inside a session")


@while_loop.compiler
def _(node, rt, out=None):
    a = node.attrs
    cg, bg, n, limit = a["cond_graph"], a["body_graph"], a["n_vars"], a.get("maximum_iterations")
    single = n == 1

    def run(*inputs):
        vals, captured = list(inputs[:n]), tuple(inputs[n:])
        i = 0
        while (limit is None or i < limit) and bool(rt.run_graph(cg, (*vals, *captured))[0]):
            new = rt.run_graph(bg, (*vals, *captured))
            for v, w, spec in zip(vals, new, a["out_specs"]):
                if len(w.shape) != len(spec[0]) or any(d is not None and d != s
                                                       for d, s in zip(spec[0], w.shape)):
                    raise ShapeError(f"while_loop '{node.name}': the body changed a loop "
                                     f"variable's shape from {v.shape} to {w.shape}")
            vals = [w.copy() if hasattr(w, "copy") else w for w in new]
            i += 1
        return vals[0] if single else tuple(vals)
    return run


@while_loop.gradient
def _(node, g, needs):
    from ..loop_gradient import while_loop_gradient
    return while_loop_gradient(node, g, needs)


@op("while_loop_grad", _out_spec, stateful=True, view=True)
def while_loop_grad(*inputs, cond_graph, body_graph, grad_graph, n_vars, float_vars,
                    captured_grads, out_specs, maximum_iterations=None):
    raise RuntimeError("while_loop_grad runs inside a session")


@while_loop_grad.compiler
def _(node, rt, out=None):
    """Replay the loop recording each step's variables, then run the step gradient backwards."""
    a = node.attrs
    cg, bg, gg, n = a["cond_graph"], a["body_graph"], a["grad_graph"], a["n_vars"]
    limit, fl, cap = a.get("maximum_iterations"), a["float_vars"], a["captured_grads"]
    n_cap = len(node.inputs) - n - len(fl)

    def run(*inputs):
        vals, captured = list(inputs[:n]), tuple(inputs[n:n + n_cap])
        grads = list(inputs[n + n_cap:])
        steps, i = [], 0
        while (limit is None or i < limit) and bool(rt.run_graph(cg, (*vals, *captured))[0]):
            steps.append(vals)
            vals = [w.copy() if hasattr(w, "copy") else w for w in
                    rt.run_graph(bg, (*vals, *captured))]
            i += 1
        sums = [np.zeros(np.shape(captured[j]), dtype=np.asarray(captured[j]).dtype) for j in cap]
        for vals in reversed(steps):
            outs = rt.run_graph(gg, (*vals, *captured, *grads))
            grads = [np.array(o, copy=True) for o in outs[:len(fl)]]
            for s, o in zip(sums, outs[len(fl):]):
                s += o
        res = [np.asarray(g) for g in grads] + sums
        return res[0] if len(res) == 1 else tuple(res)
    return run


@op("tuple_get", lambda nodes, attrs: nodes[0].attrs["out_specs"][attrs["index"]], view=True)
def tuple_get(t, index):
    return t[index]


@tuple_get.gradient
def _(node, g, needs):
    from ..loop_gradient import TupleGrad
    return (TupleGrad(node.attrs["index"], g),)
