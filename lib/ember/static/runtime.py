"""Running graphs: `interpret` (the reference: one node at a time, fresh arrays) and `Plan` (what a
Session runs: kernels bound once to their attributes and, after buffer reuse, to preallocated
output buffers, so a training step allocates almost nothing)."""
from __future__ import annotations

from functools import partial

import numpy as np

from .graph import Graph, Node
from .ops import OPS
from .ops.state import FailedPreconditionError
from .rewrite import schedule


class Runtime:
    """What outlives one run: the values of the Variables (by name) and compiled subgraphs."""

    def __init__(self, state: dict | None = None):
        self.state: dict = {} if state is None else state
        self._subplans: dict = {}

    def run_graph(self, graph: Graph, inputs) -> list:
        """Run a function-like graph (a cond branch, a loop body) on positional inputs."""
        plan = self._subplans.get(id(graph))
        if plan is None:
            plan = self._subplans[id(graph)] = Plan(self, graph)
        return plan.run(inputs)


def kernel(node: Node, rt: Runtime, out=None):
    """The callable that computes `node` from its input arrays, bound to its attributes."""
    opdef = OPS[node.op]
    if opdef.compile is not None:
        return opdef.compile(node, rt, out)
    fn = opdef.fn
    attrs = {k: v for k, v in node.attrs.items() if k != "buffer"}
    if out is not None:
        attrs["out"] = out
    return partial(fn, **attrs) if attrs else fn


class Plan:
    """A graph compiled for repeated runs: `run(input_values) -> output values`.

    Compiling writes the graph out as straight-line Python, one line per node (`plan.code`),
    calling each node's kernel, already bound to its attributes and buffer, on local variables:
    what is left per run is the kernels' own work."""

    def __init__(self, rt: Runtime, graph: Graph, buffers: dict | None = None):
        self.graph = graph
        order = schedule(graph)
        buffers = buffers or {}
        fed = set(graph.inputs)
        snapshot = _aliases_state(graph) & set(graph.outputs)
        var = {n: f"v{k}" for k, n in enumerate(order)}
        env = {}
        lines = [f"def run({', '.join(var[n] for n in graph.inputs)}):"]
        for n in order:
            if n in fed:
                continue
            if n.op in ("const", "group") and n not in snapshot:  # no call needed: a value
                env[f"c_{var[n]}"] = n.attrs["value"] if n.op == "const" else None
                lines.append(f"    {var[n]} = c_{var[n]}  # {n.name} = {n.op}")
                continue
            if n.op == "variable" and n not in snapshot:  # checked before the run (self.reads)
                env["state"] = rt.state
                lines.append(f"    {var[n]} = state.get({n.attrs['var']!r})  # {n.name} = variable")
                continue
            k = kernel(n, rt, buffers.get(n))
            env[f"k_{var[n]}"] = _copying(k) if n in snapshot else k
            lines.append(f"    {var[n]} = k_{var[n]}({', '.join(var[i] for i in n.inputs)})"
                         f"  # {n.name} = {n.op}")
        lines.append(f"    return [{', '.join(var[n] for n in graph.outputs)}]")
        self.code = "\n".join(lines)
        exec(compile(self.code, f"<ember.static plan of {len(order)} nodes>", "exec"), env)
        self._run = env["run"]
        self.state = rt.state
        self.reads = _variable_reads(graph)

    def run(self, input_values) -> list:
        state = self.state
        for key, name in self.reads:
            if key not in state:
                raise FailedPreconditionError(
                    f"Variable '{name}' is used before it was initialized: run "
                    f"sess.run(tf.global_variables_initializer()) (or its .initializer) first")
        return self._run(*input_values)


def _aliases_state(graph: Graph) -> set:
    """Nodes whose value may be a Variable's own array (a read, or a view of one)."""
    out = set()
    for n in graph.nodes:
        if n.op == "variable" or OPS[n.op].view and any(i in out for i in n.inputs):
            out.add(n)
    return out


def _copying(fn):
    """A fetched Variable read is copied when read: later assigns in the run change the array."""
    return lambda *xs: np.array(fn(*xs), copy=True)


def _variable_reads(graph: Graph) -> list:
    """(state key, name) of each Variable whose value the graph reads (assigning is not reading)."""
    reads = {}
    outs = set(graph.outputs)
    for n in graph.nodes:
        for k, i in enumerate(n.inputs):
            if i.op == "variable" and not (k == 0 and n.op == "assign"):
                reads[i.attrs["var"]] = i.name
    for n in outs:
        if n.op == "variable":
            reads[n.attrs["var"]] = n.name
    return list(reads.items())


def interpret(graph: Graph, env: dict | None = None, outputs=None, state: dict | None = None):
    """Evaluate `outputs` (default: graph.outputs) of `graph` one node at a time, in list order.
    `env` maps nodes (placeholders, or any node, whose value is then taken as given) to arrays;
    `state` holds Variable values by name and is updated by assign ops."""
    rt = Runtime(state)
    env = dict(env or {})
    outputs = graph.outputs if outputs is None else outputs
    from .rewrite import needed
    want = needed(outputs, env)
    vals = dict(env)
    for n in schedule(graph):
        if n in vals or n not in want:
            continue
        vals[n] = kernel(n, rt)(*[vals[i] for i in n.inputs])
        if n.op == "variable" and vals[n] is None:
            raise FailedPreconditionError(f"Variable '{n.name}' has no value in `state`")
    return [vals[o] for o in outputs]


def as_array(value):
    return value if isinstance(value, np.ndarray) or value is None else np.asarray(value)
