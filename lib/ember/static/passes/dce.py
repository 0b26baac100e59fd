"""Dead-code elimination: drop every node the outputs do not need."""
from __future__ import annotations

from ..graph import Graph
from ..rewrite import Rewriter, needed


def dead_code_elimination(graph: Graph) -> Graph:
    keep = needed(graph.outputs) | set(graph.inputs)
    rw = Rewriter(graph)
    for n in graph.nodes:
        if n in keep:
            rw.copy(n)
    return rw.finish()
