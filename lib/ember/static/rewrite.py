"""Tools the passes and the Session share to make a new graph from an old one."""
from __future__ import annotations

from .graph import Graph, Node
from .ops import emit
from .ops.state import STATE_OPS


class Rewriter:
    """Copy a graph node by node into a new Graph, letting the caller replace some of them.
    Every copy goes through `emit`, so shapes and dtypes are inferred (and checked) again."""

    def __init__(self, old: Graph):
        self.old = old
        self.new = Graph(parent=old.parent)
        self.map: dict[Node, Node] = {}

    def __getitem__(self, node: Node) -> Node:
        return self.map[node]

    def emit(self, op: str, inputs, attrs: dict, name: str | None = None) -> Node:
        return emit(op, inputs, attrs, name, self.new)

    def copy(self, node: Node, op: str | None = None, inputs=None, attrs: dict | None = None) -> Node:
        ins = [self.map[i] for i in node.inputs] if inputs is None else inputs
        new = self.emit(op or node.op, ins, dict(node.attrs) if attrs is None else attrs, node.name)
        new.device = node.device
        self.map[node] = new
        return new

    def finish(self) -> Graph:
        g = self.new
        g.inputs = [self.map[n] for n in self.old.inputs if n in self.map]
        g.outputs = [self.map[n] for n in self.old.outputs]
        g.captures = [(o, self.map[i]) for o, i in self.old.captures if i in self.map]
        return g


def users(graph: Graph) -> dict:
    """node -> list of the nodes that take it as an input (outputs count as one use each)."""
    out = {n: [] for n in graph.nodes}
    for n in graph.nodes:
        for i in n.inputs:
            out[i].append(n)
    for o in graph.outputs:
        out[o].append(None)
    return out


def needed(outputs, stop=()) -> set:
    """The nodes `outputs` depend on, not looking past the nodes in `stop` (fed nodes)."""
    seen, stack = set(), list(outputs)
    stop = set(stop)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if n not in stop:
            stack.extend(n.inputs)
    return seen


def schedule(graph: Graph) -> list:
    """Execution order: topological, with the state updates (assign) and all that depends on them
    last, so every read of a Variable in one run sees its value from before the run."""
    late = set()
    for n in graph.nodes:
        if n.op in STATE_OPS or any(i in late for i in n.inputs):
            late.add(n)
    return [n for n in graph.nodes if n not in late] + [n for n in graph.nodes if n in late]


def extract(graph: Graph, outputs, feeds: dict) -> tuple[Graph, list]:
    """The part of `graph` that `outputs` need, as a new graph whose inputs are the fed nodes,
    turned into placeholders of the fed arrays' exact shapes (so every shape becomes known).
    Returns the graph and the original fed nodes in the order of its inputs."""
    keep = needed(outputs, feeds)
    rw = Rewriter(graph)
    inputs, fed = [], []
    for n in graph.nodes:
        if n not in keep:
            continue
        if n in feeds:
            shape, dtype = feeds[n]
            new = rw.emit("placeholder", (), {"shape": tuple(shape), "dtype": dtype}, n.name)
            rw.map[n] = new
            inputs.append(new)
            fed.append(n)
        else:
            rw.copy(n)
    g = rw.new
    g.inputs = inputs
    g.outputs = [rw.map[o] for o in outputs]
    return g, fed
