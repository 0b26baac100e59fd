"""`verify(graph)`: the lint every pass's result must pass. It catches what a buggy rewrite
leaves behind: uses before definitions, nodes of other graphs, stale shapes, unknown ops."""
from __future__ import annotations

from ..graph import Graph, GraphError
from ..ops import OPS


def verify(graph: Graph, after: str = "") -> Graph:
    where = f" after pass '{after}'" if after else ""
    seen, names = set(), set()
    for n in graph.nodes:
        def fail(msg):
            raise GraphError(f"verify{where}: node '{n.name}' ({n.op}): {msg}")
        if n.graph is not graph:
            fail("belongs to another graph")
        if n.op not in OPS:
            fail("unknown op")
        if n.name in names:
            fail("duplicate name")
        for i in n.inputs:
            if i not in seen:
                fail(f"input '{i.name}' is not defined before it (or not in this graph)")
        try:
            shape, dtype = OPS[n.op].infer(n.inputs, n.attrs)
        except Exception as e:  # a rewrite made inputs the op can't take
            fail(f"shape inference fails: {e}")
        if shape != n.shape or dtype != n.dtype:
            fail(f"recorded {n.dtype.name}{list(n.shape)} but inference gives "
                 f"{dtype.name}{list(shape)}")
        if "buffer" in n.attrs and None in n.shape:
            fail("has a buffer but an unknown shape")
        seen.add(n)
        names.add(n.name)
    for n in list(graph.outputs) + list(graph.inputs):
        if n not in seen:
            raise GraphError(f"verify{where}: graph input/output '{n.name}' is not in the graph")
    return graph
