"""`Variable`: a node whose value lives in the Session and survives from one run to the next."""
from __future__ import annotations

from ..errors import ShapeError
from .graph import Graph, GraphError, Node, get_default_graph
from .ops import as_node, emit, np_dtype
from .ops import elementwise as ew
from .ops.state import assign as _assign, assign_add as _assign_add, assign_sub as _assign_sub


class Variable(Node):
    """`tf.Variable(initial_value)`: created uninitialized in every Session; running its
    `initializer` (or `global_variables_initializer()`) assigns `initial_value`."""

    def __init__(self, initial_value, name: str | None = None, dtype=None, trainable: bool = True):
        graph = get_default_graph()
        if graph.parent is not None:  # inside a cond branch or loop body: Variables live outside
            if isinstance(initial_value, Node) and initial_value.graph is graph:
                raise GraphError(f"Variable {name or ''}: create Variables outside cond/while_loop "
                                 f"bodies (or give a constant initial value); their initial "
                                 f"value can't be computed inside one")
            graph = root_graph(graph)
        init = as_node(initial_value, graph)
        if dtype is not None and init.dtype != np_dtype(dtype):
            init = ew.cast(init, dtype=np_dtype(dtype))
        if None in init.shape:
            raise ShapeError(f"Variable {name or ''}: the initial value must have a fully known "
                             f"shape, got {init.shape}")
        label = graph.unique_name(((get_default_graph()._scope if graph is not get_default_graph()
                                    else "") + (name or "Variable")))
        super().__init__(graph, "variable", (), {"var": label, "shape": init.shape,
                                                 "dtype": init.dtype}, init.shape, init.dtype, label)
        graph.add(self)
        self.initial_value = init
        self.trainable = trainable
        with graph.name_scope(label):
            self.initializer = emit("assign", (self, init), {}, "init")
        graph.variables.append(self)

    def assign(self, value, name: str | None = None) -> Node:
        """A node that, when run, stores `value` in this variable (and evaluates to it)."""
        return _assign(self, value, name=name)

    def assign_add(self, delta, name: str | None = None) -> Node:
        return _assign_add(self, delta, name=name)

    def assign_sub(self, delta, name: str | None = None) -> Node:
        return _assign_sub(self, delta, name=name)

    def read_value(self) -> Node:
        return self

    def value(self) -> Node:
        return self

    def load(self, value, session) -> None:
        """Set the value in `session` directly (without running a graph)."""
        import numpy as np
        session._rt.state[self.attrs["var"]] = np.array(value, dtype=self.dtype)

    def __repr__(self):
        return f"<ember.static.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}>"


def global_variables(graph: Graph | None = None) -> list:
    return list((graph if graph is not None else get_default_graph()).variables)


def trainable_variables(graph: Graph | None = None) -> list:
    return [v for v in global_variables(graph) if v.trainable]


def variables_initializer(var_list, name: str = "init") -> Node:
    from .ops.state import group
    return group(*[v.initializer for v in var_list], name=name)


def global_variables_initializer() -> Node:
    """One op that initializes every Variable of the default graph."""
    return variables_initializer(global_variables())


def root_graph(graph: Graph) -> Graph:
    while graph.parent is not None:
        graph = graph.parent
    return graph
