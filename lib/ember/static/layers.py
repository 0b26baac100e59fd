"""`layers.dense`: a fully connected layer that makes its own Variables (kernel and bias)."""
from __future__ import annotations

from .graph import Node, get_default_graph
from .initializers import glorot_uniform, zeros
from .ops import as_node
from .variables import Variable, root_graph


def dense(inputs, units: int, activation=None, use_bias: bool = True, kernel_initializer=None,
          bias_initializer=None, name: str | None = None) -> Node:
    """activation(inputs @ kernel + bias); kernel (in, units) drawn by `kernel_initializer`
    (default Glorot uniform, as TF-1), bias zeros."""
    from . import matmul
    graph = get_default_graph()
    x = as_node(inputs, graph)
    if x.ndim != 2 or x.shape[-1] is None:
        raise ValueError(f"dense: inputs must be (batch, features) with a known number of "
                         f"features, got shape {x.shape}")
    name = root_graph(graph).unique_name(name or "dense")
    init = kernel_initializer or glorot_uniform()
    root = root_graph(graph)
    with root.as_default(), root.name_scope(name):  # Variables live in the outermost graph
        kernel = Variable(init((x.shape[-1], units), x.dtype), name="kernel")
        bias = Variable((bias_initializer or zeros())((units,), x.dtype), name="bias") \
            if use_bias else None
    with graph.name_scope(name):
        out = matmul(x, kernel)
        if bias is not None:
            out = out + bias
        if activation is not None:
            out = activation(out)
    return out
