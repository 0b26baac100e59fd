"""Saving a graph with its weights, and loading it where the code that built it is absent.

A saved graph is a directory of two files:

* `graph.json`: `{"format": "ember.static.graph", "version": 1, "inputs": [names],
  "outputs": [names], "nodes": [node, ...]}`, nodes in topological order, each
  `{"name", "op", "inputs": [names], "attrs": {...}, "shape": [int | null], "dtype": "float32"}`.
  Attribute values are JSON values; tuples are `{"tuple": [...]}`, dtypes `{"dtype": "float32"}`,
  arrays `{"array": key}` (stored in weights.npz) and subgraphs (cond branches, loop bodies)
  `{"graph": {... the same layout, plus "captures": [[outer name, inner name], ...]}}`.
* `weights.npz`: `var/<name>` for each Variable's value, `const/<k>` for the constant arrays.

No pickle anywhere: loading runs no code from the file, it only rebuilds nodes (and re-infers and
checks every shape on the way).
"""
from __future__ import annotations

import json
import os

import numpy as np

from .graph import Graph, GraphError, Node
from .ops import emit

FORMAT, VERSION = "ember.static.graph", 1


def save(path, outputs, session=None, inputs=None) -> None:
    """Save what `outputs` need (a node or a list) with the Variable values of `session`."""
    from .rewrite import extract
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    graph, _ = extract(outputs[0].graph, outputs, {})
    graph.inputs = [n for n in graph.nodes if n.op == "placeholder"] if inputs is None else \
        [graph.get(i.name) for i in inputs]
    state = {}
    variables = {n.attrs["var"] for n in _all_nodes(graph) if n.op == "variable"}
    if variables:
        if session is None:
            raise ValueError("save: the graph has Variables; pass the session holding their values")
        values = session._rt.state
        missing = sorted(variables - set(values))
        if missing:
            raise GraphError(f"save: Variable(s) {missing} are not initialized in this session")
        state = {k: values[k] for k in variables}
    save_graph(path, graph, state)


def save_graph(path, graph: Graph, state: dict) -> None:
    os.makedirs(path, exist_ok=True)
    arrays = {f"var/{k}": np.asarray(v) for k, v in state.items()}
    doc = {"format": FORMAT, "version": VERSION, **_encode_graph(graph, arrays)}
    with open(os.path.join(path, "graph.json"), "w") as f:
        json.dump(doc, f, indent=1)
    np.savez(os.path.join(path, "weights.npz"), **arrays)


def load(path) -> Graph:
    """The saved graph; a `Session(graph=g)` on it starts with the saved Variable values."""
    with open(os.path.join(path, "graph.json")) as f:
        doc = json.load(f)
    if doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise GraphError(f"{path}: not an ember.static graph (format {doc.get('format')!r}, "
                         f"version {doc.get('version')!r})")
    with np.load(os.path.join(path, "weights.npz"), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    graph = _decode_graph(doc, arrays, None)
    graph.initial_state = {k[4:]: v for k, v in arrays.items() if k.startswith("var/")}
    return graph


# ---- encoding ---------------------------------------------------------------------------------
def _encode_graph(graph: Graph, arrays: dict) -> dict:
    nodes = [{"name": n.name, "op": n.op, "inputs": [i.name for i in n.inputs],
              "attrs": {k: _enc(v, arrays) for k, v in n.attrs.items()},
              "shape": list(n.shape), "dtype": n.dtype.name} for n in graph.nodes]
    return {"inputs": [n.name for n in graph.inputs], "outputs": [n.name for n in graph.outputs],
            "captures": [[o.name, i.name] for o, i in graph.captures], "nodes": nodes}


def _enc(v, arrays: dict):
    if isinstance(v, Graph):
        return {"graph": _encode_graph(v, arrays)}
    if isinstance(v, np.dtype):
        return {"dtype": v.name}
    if isinstance(v, np.ndarray):
        key = f"const/{len(arrays)}"
        arrays[key] = v
        return {"array": key}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, tuple):
        return {"tuple": [_enc(x, arrays) for x in v]}
    if isinstance(v, list):
        return [_enc(x, arrays) for x in v]
    if isinstance(v, dict):
        return {"dict": {k: _enc(x, arrays) for k, x in v.items()}}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise GraphError(f"save: can't store an attribute of type {type(v).__name__}")


def _dec(v, arrays: dict, parent: Graph):
    if isinstance(v, list):
        return [_dec(x, arrays, parent) for x in v]
    if not isinstance(v, dict):
        return v
    if "tuple" in v:
        return tuple(_dec(x, arrays, parent) for x in v["tuple"])
    if "dtype" in v:
        return np.dtype(v["dtype"])
    if "array" in v:
        return arrays[v["array"]]
    if "dict" in v:
        return {k: _dec(x, arrays, parent) for k, x in v["dict"].items()}
    if "graph" in v:
        return _decode_graph(v["graph"], arrays, parent)
    raise GraphError(f"load: unknown attribute encoding {sorted(v)}")


def _decode_graph(doc: dict, arrays: dict, parent: Graph | None) -> Graph:
    graph = Graph(parent=parent)
    by_name: dict[str, Node] = {}
    outer = {o: i for o, i in doc.get("captures", [])}
    for spec in doc["nodes"]:
        attrs = {k: _dec(v, arrays, graph) for k, v in spec["attrs"].items()}
        try:
            inputs = [by_name[i] for i in spec["inputs"]]
        except KeyError as e:
            raise GraphError(f"load: node '{spec['name']}' uses {e} before it is defined") from None
        node = emit(spec["op"], inputs, attrs, spec["name"], graph)
        if node.name != spec["name"] or list(node.shape) != spec["shape"] \
                or node.dtype.name != spec["dtype"]:
            raise GraphError(f"load: node '{spec['name']}' does not match its recorded name, "
                             f"shape or dtype (got {node.name}, {node.shape}, {node.dtype.name})")
        by_name[node.name] = node
    graph.inputs = [by_name[n] for n in doc["inputs"]]
    graph.outputs = [by_name[n] for n in doc["outputs"]]
    if parent is not None:
        graph.captures = [(parent.get(o), by_name[i]) for o, i in outer.items()]
    return graph


def _all_nodes(graph: Graph):
    for n in graph.nodes:
        yield n
        for v in n.attrs.values():
            for g in (v if isinstance(v, (tuple, list)) else (v,)):
                if isinstance(g, Graph):
                    yield from _all_nodes(g)
