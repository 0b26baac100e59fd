"""Reverse-mode automatic differentiation: the graph, the engine and custom Functions."""
from .engine import backward_order, grad
from .function import Function, FunctionCtx, Op
from .gradcheck import gradcheck, gradgradcheck, numerical_grad
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .node import AccumulateGrad, Node
from . import functional, graph


def backward(tensors, grad_tensors=None, retain_graph=None):
    """`ember.autograd.backward(loss)`, the same as `loss.backward()`."""
    from ..tensor import Tensor
    if isinstance(tensors, Tensor):
        tensors, grad_tensors = [tensors], [grad_tensors]
    for t, g in zip(tensors, grad_tensors or [None] * len(tensors)):
        t.backward(g, retain_graph=True if retain_graph is None and len(tensors) > 1 else retain_graph)


def Variable(data, requires_grad: bool = False):
    """Old PyTorch (< 0.4) wrapper, kept so lecture code runs: returns the tensor itself."""
    from ..tensor import Tensor
    t = data if isinstance(data, Tensor) else Tensor(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


__all__ = ["Function", "FunctionCtx", "Op", "Node", "AccumulateGrad", "grad", "backward",
           "backward_order", "gradcheck", "gradgradcheck", "numerical_grad", "no_grad", "enable_grad",
           "set_grad_enabled", "is_grad_enabled", "Variable", "graph", "functional"]
