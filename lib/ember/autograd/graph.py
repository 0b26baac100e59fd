"""Reading the backward graph (public API for widgets and teaching)."""
from .engine import backward_order
from .node import AccumulateGrad, Node


def nodes(root) -> list[Node]:
    """Every node reachable from a tensor's grad_fn, in the engine's execution order."""
    return backward_order(root)


__all__ = ["backward_order", "nodes", "Node", "AccumulateGrad"]
