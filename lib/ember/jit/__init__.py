"""ember.jit: turn eager ember code into a static graph by running it once and recording the ops.

    traced = ember.jit.trace(model, (example_x,))
    print(traced)              # the graph listing: what will run, whatever the Python code did
    y = traced(x)              # runs the graph (optimized), not the Python code

    @ember.jit.script          # compiles `if`/`while` on tensors into cond / while_loop nodes
    def f(x): ...
"""
from .function import TracedFunction
from .script import ScriptError, ScriptFunction, script
from .trace import TracerWarning, trace

__all__ = ["trace", "script", "load", "TracedFunction", "ScriptFunction", "TracerWarning",
           "ScriptError"]


def load(path) -> TracedFunction:
    """A traced function saved with `traced.save(path)`, callable without the code that made it."""
    from ..static.serialize import load as _load
    graph = _load(path)
    return TracedFunction(graph, graph.initial_state, [], len(graph.outputs) > 1)
