"""The graph IR: a flat, topologically ordered list of nodes, each one op with its inputs.

A `Node` is both an IR record (`id, op, inputs, attrs, shape, dtype`) and, while a program is
being defined, the symbolic value the user combines with `+`, `@`, `tf.matmul`... Nothing is
computed when a node is made; only its output shape and dtype are inferred (shapes may hold
`None`, "any size", for the batch dimension of a placeholder).
"""
from __future__ import annotations

import contextlib

import numpy as np

from ..errors import EmberError


class GraphError(EmberError, RuntimeError):
    """Misuse of a static graph: a node of another graph, a lint failure after a pass."""


class UnknownShape(tuple):
    """The shape of a node whose rank is unknown until a value is fed (`placeholder(shape=None)`).
    It equals only itself; every Session run re-infers shapes from the fed arrays."""

    def __new__(cls):
        return super().__new__(cls, ())

    def __eq__(self, other):
        return isinstance(other, UnknownShape)

    def __ne__(self, other):
        return not isinstance(other, UnknownShape)

    __hash__ = tuple.__hash__

    def __repr__(self):
        return "<unknown>"


UNKNOWN = UnknownShape()


def known_rank(shape) -> bool:
    return not isinstance(shape, UnknownShape)


class Node:
    """One op application in a Graph; its value exists only inside `Session.run`."""

    __slots__ = ("id", "op", "inputs", "attrs", "shape", "dtype", "name", "graph", "__weakref__",
                 "__dict__")

    def __init__(self, graph: "Graph", op: str, inputs: tuple, attrs: dict, shape: tuple,
                 dtype, name: str):
        self.graph, self.op, self.inputs, self.attrs = graph, op, tuple(inputs), attrs
        self.shape = shape if isinstance(shape, UnknownShape) else tuple(shape)
        self.dtype, self.name = np.dtype(dtype), name
        self.device = _device[-1]
        self.id = -1

    # ---- description ------------------------------------------------------------------------
    def __repr__(self):
        return f"<ember.static node '{self.name}' op={self.op} shape={_fmt_shape(self.shape)} " \
               f"dtype={self.dtype.name}>"

    def get_shape(self) -> tuple:
        return self.shape

    @property
    def ndim(self) -> int:
        return len(self.shape)

    __hash__ = object.__hash__

    def __eq__(self, other):  # identity, as in TF-1: nodes are keys of feed_dict
        return self is other

    def __bool__(self):
        raise TypeError(
            f"the truth value of graph node '{self.name}' is not known while the graph is being "
            f"built: it only gets a value inside Session.run. Use ember.static.cond(pred, "
            f"true_fn, false_fn) for data-dependent branches (a Python `if` runs only once, now)")

    def __iter__(self):
        raise TypeError(f"graph node '{self.name}' is not iterable while the graph is built: "
                        f"it has no value yet. For a loop whose length is only known at run time, use "
                        f"ember.static.while_loop(cond, body, loop_vars) (tf.while_loop)")

    def __index__(self):
        raise TypeError(f"graph node '{self.name}' can't be used as a Python int (a range() "
                        f"bound, a size or an index) while the graph is built: it only gets a "
                        f"value inside Session.run. For a loop run a node's number of times, use "
                        f"ember.static.while_loop(cond, body, loop_vars) (tf.while_loop)")

    # ---- operators build nodes (installed from the op modules) ------------------------------
    def eval(self, feed_dict: dict | None = None, session=None):
        """The value of this node in `session` (default: the innermost `with Session()`)."""
        from .session import Session
        sess = session or Session._current()
        return sess.run(self, feed_dict)


class Graph:
    """A flat list of nodes in topological order, plus the collections TF-1 keeps per graph."""

    def __init__(self, parent: "Graph | None" = None):
        self.nodes: list[Node] = []
        self.parent = parent
        self.variables: list = []
        self.inputs: list[Node] = []    # a function-like graph's parameters (traced, loaded, branch)
        self.outputs: list[Node] = []   # ... and results
        self.captures: list[tuple[Node, Node]] = []  # (outer node, inner placeholder) of a branch
        self._names: dict[str, int] = {}
        self._next_id = 0
        self._scope = ""

    # ---- building ---------------------------------------------------------------------------
    def unique_name(self, base: str) -> str:
        base = self._scope + (base or "node")
        n = self._names.get(base)
        if n is None:
            self._names[base] = 0
            return base
        while True:
            n += 1
            name = f"{base}_{n}"
            if name not in self._names:
                self._names[base] = n
                self._names[name] = 0
                return name

    def add(self, node: Node) -> Node:
        node.id = self._next_id
        self._next_id += 1
        self.nodes.append(node)
        return node

    def capture(self, outer: Node, state: bool = False) -> Node:
        """The placeholder that stands for `outer` (a node of an enclosing graph) in this one;
        with `state`, a Variable itself (shared by name), for an assign inside a branch."""
        for o, inner in self.captures:
            if o is outer:
                return inner
        if state and outer.op == "variable":
            for n in self.nodes:
                if n.op == "variable" and n.attrs["var"] == outer.attrs["var"]:
                    return n
            return self.add(Node(self, "variable", (), dict(outer.attrs), outer.shape, outer.dtype,
                                 self.unique_name(outer.name)))
        if self.parent is None:
            raise GraphError(f"node '{outer.name}' belongs to another graph; nodes of two graphs "
                             f"can't be combined")
        if outer.graph is not self.parent:
            outer = self.parent.capture(outer)
            for o, inner in self.captures:
                if o is outer:
                    return inner
        inner = self.add(Node(self, "placeholder", (), {"shape": outer.shape, "dtype": outer.dtype,
                                                       "capture": True}, outer.shape, outer.dtype,
                              self.unique_name(outer.name.split("/")[-1])))
        self.captures.append((outer, inner))
        return inner

    @contextlib.contextmanager
    def name_scope(self, prefix: str):
        """Prefix the names of the nodes made inside, e.g. `gradients/mul`."""
        old = self._scope
        self._scope = f"{old}{prefix}/"
        try:
            yield
        finally:
            self._scope = old

    @contextlib.contextmanager
    def as_default(self):
        """Make this the graph that `placeholder`, `matmul`... add nodes to."""
        _stack.append(self)
        try:
            yield self
        finally:
            _stack.pop()

    # ---- reading ----------------------------------------------------------------------------
    @property
    def num_nodes(self) -> int:
        return len(self.nodes)

    def __len__(self):
        return len(self.nodes)

    def __iter__(self):
        return iter(self.nodes)

    def get(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"no node named {name!r} in this graph")

    def op_counts(self) -> dict:
        counts: dict = {}
        for n in self.nodes:
            counts[n.op] = counts.get(n.op, 0) + 1
        return counts

    def listing(self, indent: str = "") -> str:
        """The graph as text, one node a line: `name: dtype[shape] = op(inputs) {attrs}`."""
        head = f"{indent}graph with {len(self.nodes)} nodes"
        if self.inputs:
            head += f", inputs ({', '.join(n.name for n in self.inputs)})"
        lines = [head]
        for n in self.nodes:
            lines.append(indent + "  " + format_node(n))
            for key, sub in _subgraphs(n):
                lines.append(f"{indent}    {key}:")
                lines.append(sub.listing(indent + "      "))
        if self.outputs:
            lines.append(f"{indent}  return {', '.join(n.name for n in self.outputs)}")
        return "\n".join(lines)

    def __str__(self):
        return self.listing()

    def __repr__(self):
        return f"<ember.static.Graph with {len(self.nodes)} nodes>"

    def _repr_pretty_(self, p, cycle):
        p.text(self.listing())


def format_node(n: Node) -> str:
    args = ", ".join(i.name for i in n.inputs)
    shown = []
    for k, v in n.attrs.items():
        if isinstance(v, Graph) or k.startswith("_") or v is False or v is None or k in _INTERNAL \
                or (k in ("shape", "dtype") and n.op in _SPEC_OPS) or (k == "var" and v == n.name) \
                or (isinstance(v, (tuple, list)) and v and isinstance(v[0], Graph)):
            continue
        if k == "program":
            from .ops.fused import program_text
            shown.append(f"expr={program_text(v)}")
        else:
            shown.append(f"{k}={_fmt_attr(v)}")
    text = f"{n.name}: {n.dtype.name}{_fmt_shape(n.shape)} = {n.op}({args})"
    return text + (f"  {{{', '.join(shown)}}}" if shown else "")


_INTERNAL = {"out_specs", "n_vars", "capture"}
_SPEC_OPS = {"placeholder", "variable", "fused_elementwise", "random_normal", "random_uniform",
             "fill"}


def _subgraphs(n: Node):
    for k, v in n.attrs.items():
        if isinstance(v, Graph):
            yield k, v
        elif isinstance(v, (tuple, list)) and v and isinstance(v[0], Graph):
            for i, g in enumerate(v):
                yield ("if true", "if false")[i] if k == "branches" else f"{k}[{i}]", g


def _fmt_shape(shape) -> str:
    if isinstance(shape, UnknownShape):
        return "[*]"
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


def _fmt_attr(v) -> str:
    if isinstance(v, np.ndarray):
        if v.size <= 4:
            return np.array2string(v, precision=4, separator=",").replace("\n", "")
        return f"array{_fmt_shape(v.shape)}"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, np.dtype):
        return v.name
    return repr(v)


_device: list = [None]   # the innermost `tf.device(...)`: recorded on the nodes made inside it
_root = Graph()
_stack: list[Graph] = [_root]


def parse_device(name) -> str | None:
    """'/gpu:0', '/device:GPU:0', 'gpu', 'cuda:0', '/cpu:0' -> 'gpu:0' / 'cpu:0' (None: no
    device)."""
    if name is None or name == "":
        return None
    import re
    text = str(name).strip().lower()
    m = re.fullmatch(r"/?(?:job:\w+/)?(?:replica:\d+/)?(?:task:\d+/)?(?:device:)?(cpu|gpu|cuda)"
                     r"(?::(\d+))?", text)
    if m is None:
        raise ValueError(f"tf.device: can't read the device {name!r}; write '/cpu:0' or '/gpu:0'")
    kind = "gpu" if m.group(1) in ("gpu", "cuda") else "cpu"
    return f"{kind}:{m.group(2) or 0}"


@contextlib.contextmanager
def device_scope(name):
    _device.append(parse_device(name))
    try:
        yield
    finally:
        _device.pop()


def get_default_graph() -> Graph:
    return _stack[-1]


def reset_default_graph() -> Graph:
    """Start a fresh default graph (the old one and its nodes are forgotten)."""
    global _root
    if len(_stack) > 1:
        raise GraphError("reset_default_graph() can't be called inside `with graph.as_default()`")
    _root = Graph()
    _stack[0] = _root
    return _root
