"""The neutral graph description every viz widget draws.

Widgets never walk an autograd graph or a static IR themselves: an *adapter* (see `adapters.py`)
turns whatever the student has into a `GraphDescription`, a flat list of `VizNode`s. That keeps the
drawing code independent of how ember stores graphs, and lets a new graph kind plug in by writing
one small function.

A node has an `id` (unique, hashable), a `label`, a `kind` (one of `KINDS`), a `shape` (tuple or
None), `inputs` (ids of the nodes it reads, in argument order, duplicates allowed), optional
`value`/`grad` getters (zero-argument callables returning an array-like or None, called lazily so
the widget shows the *current* value), an optional `group` (a name: nodes sharing it can be
collapsed into one box), and a free-form `info` dict (e.g. `rule`, the local gradient rule).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Optional

KINDS = ("input", "parameter", "op", "output", "constant", "group")


@dataclass
class VizNode:
    id: Hashable
    label: str
    kind: str = "op"
    shape: Optional[tuple] = None
    inputs: list = field(default_factory=list)
    value: Optional[Callable[[], Any]] = None
    grad: Optional[Callable[[], Any]] = None
    group: Optional[str] = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"VizNode {self.id!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.shape is not None:
            self.shape = tuple(None if s is None else int(s) for s in self.shape)
        self.inputs = list(self.inputs)


@dataclass
class GraphDescription:
    """An ordered list of nodes (any order; inputs need not come first) plus a title."""

    nodes: list
    title: str = ""
    source: Any = None          # what the adapter was given (the tensor, the static graph, ...)
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.nodes = list(self.nodes)
        self._index = {}
        for n in self.nodes:
            if n.id in self._index:
                raise ValueError(f"duplicate node id {n.id!r}")
            self._index[n.id] = n
        for n in self.nodes:
            for i in n.inputs:
                if i not in self._index:
                    raise ValueError(f"node {n.id!r} reads unknown node {i!r}")

    def __len__(self):
        return len(self.nodes)

    def __iter__(self):
        return iter(self.nodes)

    def __getitem__(self, node_id):
        return self._index[node_id]

    def __contains__(self, node_id):
        return node_id in self._index

    def edges(self) -> list:
        """(src, dst, argument index) for every input of every node, duplicates kept."""
        return [(src, n.id, k) for n in self.nodes for k, src in enumerate(n.inputs)]

    def groups(self) -> dict:
        """group name -> list of member ids, in node order."""
        out: dict = {}
        for n in self.nodes:
            if n.group is not None:
                out.setdefault(n.group, []).append(n.id)
        return out

    def collapsed(self, expanded=()) -> "GraphDescription":
        """A view where every group not in `expanded` is one node of kind 'group'.

        The group node's inputs are the outside nodes its members read; outside readers of any
        member read the group node instead. Its shape is the shape of the member read from outside
        (the group's output), if there is exactly one such shape.
        """
        expanded = set(expanded)
        groups = {g: ids for g, ids in self.groups().items() if g not in expanded}
        if not groups:
            return self
        owner = {i: g for g, ids in groups.items() for i in ids}

        def gid(g):
            return ("group", g)

        def mapped(i):
            return gid(owner[i]) if i in owner else i

        out_nodes, emitted = [], set()
        read_from_outside: dict = {g: [] for g in groups}
        for n in self.nodes:
            for i in n.inputs:
                if i in owner and owner.get(n.id) != owner[i] and i not in read_from_outside[owner[i]]:
                    read_from_outside[owner[i]].append(i)
        for n in self.nodes:
            if n.id not in owner:
                out_nodes.append(VizNode(n.id, n.label, n.kind, n.shape,
                                         [mapped(i) for i in n.inputs], n.value, n.grad,
                                         n.group, n.info))
                continue
            g = owner[n.id]
            if g in emitted:
                continue
            emitted.add(g)
            members = [self[i] for i in groups[g]]
            inputs = []
            for m in members:
                for i in m.inputs:
                    if owner.get(i) != g and mapped(i) not in inputs:
                        inputs.append(mapped(i))
            outs = [self[i] for i in read_from_outside[g]]
            shapes = {o.shape for o in outs}
            shape = shapes.pop() if len(shapes) == 1 else None
            head = outs[-1] if outs else members[-1]
            n_ops = sum(1 for m in members if m.kind == "op")
            n_par = sum(1 for m in members if m.kind == "parameter")
            out_nodes.append(VizNode(
                gid(g), g, "group", shape, inputs, head.value, head.grad, None,
                {"members": [m.id for m in members], "ops": n_ops, "parameters": n_par,
                 "summary": f"{n_ops} ops, {n_par} parameters"}))
        return GraphDescription(out_nodes, self.title, self.source, dict(self.meta))


def from_dicts(items, title: str = "") -> GraphDescription:
    """Build a description from plain dicts (`{"id":..., "label":..., "kind":..., ...}`): the
    form a graph kind can produce without importing ember.viz."""
    nodes = []
    for d in items:
        d = dict(d)
        nodes.append(VizNode(d.pop("id"), str(d.pop("label", "")), d.pop("kind", "op"),
                             d.pop("shape", None), d.pop("inputs", ()), d.pop("value", None),
                             d.pop("grad", None), d.pop("group", None), d.pop("info", {}) or {}))
    return GraphDescription(nodes, title)
