"""Graph -> Graph passes, each in its own file, each checked by `verify` after it runs.

    optimized = ember.static.passes.optimize(graph, verbose=True)   # prints node counts per pass
"""
from __future__ import annotations

from ..graph import Graph
from .buffer_reuse import allocate_buffers, buffer_reuse
from .constant_folding import constant_folding
from .cse import common_subexpression_elimination
from .dce import dead_code_elimination
from .fuse_elementwise import fuse_elementwise
from .fuse_matmul import fuse_matmul_bias_relu
from .scale_matmul import scale_matmul
from .simplify import simplify
from .verify import verify

DEFAULT = (constant_folding, simplify, scale_matmul, common_subexpression_elimination,
           dead_code_elimination, fuse_matmul_bias_relu, fuse_elementwise, dead_code_elimination,
           buffer_reuse)


def optimize(graph: Graph, passes=DEFAULT, outputs=None, verbose: bool = False) -> Graph:
    """Run `passes` in order, verifying the graph after each. `outputs` (default: the graph's
    outputs, else its nodes nobody uses) are what must be preserved."""
    if outputs is not None or not graph.outputs:
        from ..rewrite import extract, users
        outs = list(outputs) if outputs is not None else \
            [n for n, u in users(graph).items() if not u]
        graph, _ = extract(graph, outs, {})
        graph.inputs = [n for n in graph.nodes if n.op == "placeholder"]
    verify(graph)
    if verbose:
        print(f"{'start':<36} {graph.num_nodes:4d} nodes")
    for p in passes:
        before = graph.num_nodes
        graph = verify(p(graph), after=p.__name__)
        if verbose:
            print(f"{p.__name__:<36} {before:4d} -> {graph.num_nodes:4d} nodes")
    return graph


__all__ = ["optimize", "verify", "DEFAULT", "allocate_buffers", "buffer_reuse", "constant_folding",
           "common_subexpression_elimination", "dead_code_elimination", "fuse_elementwise",
           "fuse_matmul_bias_relu", "scale_matmul", "simplify"]
