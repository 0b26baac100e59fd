"""Adapters: turn what the student has into a GraphDescription.

`describe(obj)` dispatches on type:

* a `GraphDescription` is returned as is;
* anything registered with `register_adapter(predicate, fn)` (checked first, newest first);
* an object with `__viz_graph__()` returning a GraphDescription or a list of node dicts (how a
  graph kind can support viz without importing it);
* an ember Tensor, an autograd Node, or a list of tensors: the eager autograd graph
  (`from_autograd`, reading only the public API of DESIGN.md);
* anything with a `.nodes` sequence (the static / traced graph IR): `from_static`, duck-typed.
"""
from __future__ import annotations

from .description import GraphDescription, VizNode, from_dicts

_ADAPTERS: list = []


def register_adapter(predicate, fn):
    """`predicate(obj) -> bool`, `fn(obj, **options) -> GraphDescription`."""
    _ADAPTERS.insert(0, (predicate, fn))


def _is_tensor(x) -> bool:
    return hasattr(x, "grad_fn") and hasattr(x, "requires_grad") and hasattr(x, "shape")


def _is_node(x) -> bool:
    return hasattr(x, "next_functions") and callable(getattr(x, "name", None))


def is_autograd(obj) -> bool:
    """Whether `describe(obj)` reads an eager autograd graph (tensor, node, list of tensors)."""
    if isinstance(obj, GraphDescription) or hasattr(obj, "__viz_graph__"):
        return False
    if any(pred(obj) for pred, _ in _ADAPTERS):
        return False
    return _is_tensor(obj) or _is_node(obj) or (
        isinstance(obj, (list, tuple)) and bool(obj) and all(_is_tensor(t) for t in obj))


def describe(obj, **options) -> GraphDescription:
    if isinstance(obj, GraphDescription):
        return obj
    for pred, fn in _ADAPTERS:
        if pred(obj):
            return fn(obj, **options)
    if hasattr(obj, "__viz_graph__"):
        got = obj.__viz_graph__()
        return got if isinstance(got, GraphDescription) else from_dicts(got)
    if is_autograd(obj):
        return from_autograd(obj, **options)
    if hasattr(obj, "nodes"):
        return from_static(obj, **options)
    if hasattr(getattr(obj, "graph", None), "nodes"):  # a traced function or module
        return from_static(obj.graph, **options)
    raise TypeError(f"ember.viz can't draw a {type(obj).__name__}: give it an ember Tensor (its "
                    f"autograd graph), a static graph (something with .nodes) or a "
                    f"GraphDescription")


# ---------------------------------------------------------------------------------------------
# eager autograd graph


def _names_by_identity(names) -> dict:
    if not names:
        return {}
    return {id(t): str(k) for k, t in dict(names).items() if _is_tensor(t)}


def _model_params(model) -> tuple:
    """(id(param) -> dotted name, id(param) -> group name) from an nn.Module-like object."""
    pname, pgroup = {}, {}
    if model is None:
        return pname, pgroup
    for name, p in model.named_parameters():
        pname[id(p)] = name
    modules = list(model.named_modules()) if hasattr(model, "named_modules") else [("", model)]
    for mname, m in modules:
        direct = getattr(m, "_parameters", None)
        if isinstance(direct, dict):
            params = [p for p in direct.values() if p is not None]
        else:
            try:
                params = [p for _, p in m.named_parameters(recurse=False)]
            except TypeError:
                params = []
        label = f"{mname}: {type(m).__name__}" if mname else type(m).__name__
        for p in params:
            pgroup.setdefault(id(p), label)
    return pname, pgroup


def from_autograd(root, *, names=None, model=None, show_constants: bool = False,
                  title: str | None = None, grads: dict | None = None) -> GraphDescription:
    """The autograd graph that produced `root` (a tensor, a list of tensors or a Node).

    `names`: {name: tensor} used to label leaves and intermediate results (e.g. `locals()`); a
    module among its values is used as `model` when none is given.
    `model`: an nn.Module; its parameters are labelled with their names, and the ops between a
    module's own parameters form a collapsible group named after the module.
    `grads`: a dict node -> gradient Tensor that a recorder fills during backward (the widgets
    pass theirs so op nodes can show the gradient flowing through them).
    `show_constants`: draw inputs that don't require grad (absent from the autograd graph).
    """
    from ember.autograd.graph import backward_order

    roots = list(root) if isinstance(root, (list, tuple)) else [root]
    if model is None and names:          # names=locals() often holds the model: use it
        model = next((m for m in dict(names).values()
                      if hasattr(m, "named_parameters") and hasattr(m, "named_modules")), None)
    by_name = _names_by_identity(names)
    pname, pgroup = _model_params(model)
    grads = {} if grads is None else grads
    tensors_of_node: dict = {}            # id(grad_fn) -> tensor, for values of intermediates
    start = []
    for t in roots:
        if _is_node(t):
            start.append(t)
            continue
        if t.grad_fn is None and not t.requires_grad:
            raise ValueError("this tensor has no autograd graph: none of the tensors it was "
                             "computed from requires grad (create inputs or parameters with "
                             "requires_grad=True, and don't compute it under no_grad())")
        start.append(t.grad_fn if t.grad_fn is not None else t)
        if t.grad_fn is not None:
            tensors_of_node[id(t.grad_fn)] = t
    if names:
        for k, t in dict(names).items():
            if _is_tensor(t) and t.grad_fn is not None:
                tensors_of_node.setdefault(id(t.grad_fn), t)

    order = list(reversed(backward_order(start)))      # producers first
    nid = {id(n): f"n{k}" for k, n in enumerate(order)}
    nodes = []
    for n in order:
        ins = []
        for k, (nxt, _) in enumerate(n.next_functions):
            if nxt is not None:
                ins.append(nid[id(nxt)])
            elif show_constants:
                cid = f"{nid[id(n)]}.c{k}"
                nodes.append(VizNode(cid, "constant", "constant", None, []))
                ins.append(cid)
        if n.name() == "AccumulateGrad" and hasattr(n, "variable"):
            v = n.variable
            is_param = id(v) in pname or type(v).__name__ == "Parameter"
            label = by_name.get(id(v)) or pname.get(id(v)) or ("param" if is_param else "leaf")
            nodes.append(VizNode(
                nid[id(n)], label, "parameter" if is_param else "input", tuple(v.shape), ins,
                value=(lambda v=v: v), grad=(lambda v=v: v.grad), group=pgroup.get(id(v)),
                info={"rule": getattr(n, "rule", ""), "node": n}))
            continue
        t = tensors_of_node.get(id(n))
        label = n.name()
        if t is not None and id(t) in by_name:
            label = f"{by_name[id(t)]}: {label}"
        md = getattr(n, "metadata", {}) or {}
        shape = getattr(n, "output_shape", None)
        nodes.append(VizNode(
            nid[id(n)], label, "op", tuple(shape) if shape is not None else None, ins,
            value=(lambda t=t: t) if t is not None else None,
            grad=(lambda n=n, t=t: grads.get(n, t.grad if t is not None and t.retains_grad
                                                else None)),
            group=md.get("group") or md.get("module"),
            info={"rule": getattr(n, "rule", ""), "node": n}))

    if model is not None:
        _group_between_parameters(nodes)
    for k, t in enumerate(roots):
        if _is_node(t) or t.grad_fn is None:
            continue
        label = by_name.get(id(t)) or ("output" if len(roots) == 1 else f"output {k}")
        nodes.append(VizNode(f"out{k}", label, "output", tuple(t.shape), [nid[id(t.grad_fn)]],
                             value=(lambda t=t: t),
                             grad=(lambda t=t: grads.get(t.grad_fn, t.grad if t.retains_grad
                                                         else None)),
                             info={"tensor": t}))
    if title is None:
        title = f"autograd graph: {sum(1 for n in nodes if n.kind == 'op')} ops"
    return GraphDescription(nodes, title, source=root)


def _group_between_parameters(nodes):
    """Put an op in a parameter's group when it lies on a path from one of the group's
    parameters to an op that reads one of them directly (e.g. T, Mm and Add of a Linear)."""
    by_id = {n.id: n for n in nodes}
    succ: dict = {n.id: [] for n in nodes}
    for n in nodes:
        for i in n.inputs:
            succ[i].append(n.id)
    params: dict = {}
    for n in nodes:
        if n.kind == "parameter" and n.group:
            params.setdefault(n.group, []).append(n.id)
    for g, ps in params.items():
        seeds = {s for p in ps for s in succ[p]}
        down, stack = set(), list(ps)
        while stack:
            for s in succ[stack.pop()]:
                if s not in down:
                    down.add(s)
                    stack.append(s)
        up, stack = set(seeds), list(seeds)
        while stack:
            for i in by_id[stack.pop()].inputs:
                if i not in up:
                    up.add(i)
                    stack.append(i)
        for i in down & up:
            if by_id[i].kind == "op" and by_id[i].group is None:
                by_id[i].group = g


# ---------------------------------------------------------------------------------------------
# static / traced graph (duck-typed until ember.static lands)

_KIND_WORDS = {
    "input": "input", "placeholder": "input", "arg": "input",
    "parameter": "parameter", "param": "parameter", "variable": "parameter", "get_attr": "parameter", "weight": "parameter",
    "constant": "constant", "const": "constant", "literal": "constant",
    "output": "output", "return": "output",
}


def _static_kind(node) -> str:
    for attr in ("kind", "op", "opcode", "type"):
        v = getattr(node, attr, None)
        if isinstance(v, str) and v.lower() in _KIND_WORDS:
            return _KIND_WORDS[v.lower()]
    return "op"


def _static_id(node, k):
    for attr in ("id", "name"):
        v = getattr(node, attr, None)
        if isinstance(v, (str, int)):
            return v
    return k


def from_static(graph, *, title: str | None = None, **_ignored) -> GraphDescription:
    """A reading of a static graph: `graph.nodes` whose items have an id or name, an op/kind,
    `inputs` (or `args`) that are nodes or ids, and optionally `shape`, `value`, `grad`,
    `group`/`scope`. A name scope (`dense/matmul`, `gradients/mul_1`) becomes the node's group
    (collapsible into one box) and its label the name's last part (`matmul_1`, `kernel`), or the
    op where the name does not say it (`assign` for `dense/kernel/init`); the full name and the op
    stay in `info["name"]` and `info["op"]`, and the hover text shows them."""
    raw = list(graph.nodes.values() if isinstance(graph.nodes, dict) else graph.nodes)
    ids = {id(n): _static_id(n, k) for k, n in enumerate(raw)}
    known = set(ids.values())
    nodes = []
    for k, n in enumerate(raw):
        ins = []
        for a in (getattr(n, "inputs", None) or getattr(n, "args", None) or ()):
            ref = ids.get(id(a), a if isinstance(a, (str, int)) and a in known else None)
            if ref is not None:
                ins.append(ref)
        op = getattr(n, "op", None) or getattr(n, "target", None) or getattr(n, "kind", None)
        name = getattr(n, "label", None) or getattr(n, "name", None)
        full = str(name or op or type(n).__name__)
        group = getattr(n, "group", None) or getattr(n, "scope", None) or None
        label = full
        if group is None and isinstance(name, str) and "/" in name.strip("/"):
            group, label = name.split("/")[0], name.rstrip("/").split("/")[-1]
        kind = _static_kind(n)
        if kind == "op" and op is not None and str(op).lower() not in label.lower():
            label = str(op)        # `init: assign` reads as `assign`; the name is in the tooltip
        shape = getattr(n, "shape", None)
        val, grd = getattr(n, "value", None), getattr(n, "grad", None)
        nodes.append(VizNode(
            ids[id(n)], label, kind, tuple(shape) if shape is not None else None, ins,
            value=val if callable(val) else ((lambda v=val: v) if val is not None else None),
            grad=grd if callable(grd) else ((lambda g=grd: g) if grd is not None else None),
            group=group, info={"rule": getattr(n, "rule", ""), "name": full,
                               "op": None if op is None else str(op)}))
    _tidy_scopes(nodes)
    return GraphDescription(nodes, title or f"graph: {len(nodes)} nodes", source=graph)


def _tidy_scopes(nodes):
    """A node named like a scope joins it (a Variable `w` and its initializer `w/init`); a
    scope with a single node is no group."""
    count: dict = {}
    for n in nodes:
        if n.group is None and n.info.get("name") in {m.group for m in nodes}:
            n.group = n.info["name"]
        if n.group is not None:
            count[n.group] = count.get(n.group, 0) + 1
    for n in nodes:
        if n.group is not None and count[n.group] < 2:
            n.group = None
