"""Backward that is itself recorded (`create_graph=True`): gradients of gradients.

The same walk as `engine._run`, but gradients are Tensors and each node runs `vjp(grad)`, its
backward written with ember's own differentiable ops, under enable_grad: the gradients it returns
are in the graph, so they can be differentiated again (gradient penalties, Hessian-vector
products). A node whose backward has no `vjp` raises, naming the op.
"""
from __future__ import annotations

from heapq import heappop, heappush

from ..errors import AutogradError, ShapeError
from ..tensor import Tensor
from .grad_mode import enable_grad
from .engine import call_tensor_hooks
from .node import AccumulateGrad, Node, ensure_not_freed


def run_graph(roots, grads, retain_graph: bool, capture: set | None = None) -> dict:
    """Backward from `roots` seeded with `grads` (Tensors), recording every step."""
    pending: dict = {}
    heap: list = []
    for node, g in zip(roots, grads):
        if node in pending:
            pending[node] = pending[node] + g
        else:
            pending[node] = g
            heappush(heap, (-node._seq, node))
    captured = {}
    with enable_grad():
        while heap:
            node = heappop(heap)[1]
            g = conform(pending.pop(node), node.output_shape, node.output_dtype)
            if node._pre_hooks:
                g = _call_tensor_hooks(node, g)
            if capture is not None and node in capture:
                captured[node] = g
            if node.__class__ is AccumulateGrad:
                if capture is None:
                    leaf = node.variable
                    leaf._grad = g if leaf._grad is None else leaf._grad + g
                continue
            if node._freed:
                ensure_not_freed(node)
            node._check_versions()
            in_grads = node.vjp(g)
            if node._hooks:
                for fn in list(node._hooks):
                    fn(tuple(in_grads), (g,))
            if not retain_graph:
                node._release()
            for (nxt, _), ig in zip(node.next_functions, in_grads):
                if nxt is None or ig is None:
                    continue
                if not isinstance(ig, Tensor):
                    ig = Tensor._make(ig, g._device)
                prev = pending.get(nxt)
                if prev is None:
                    pending[nxt] = ig
                    heappush(heap, (-nxt._seq, nxt))
                else:
                    shape, dtype = nxt.output_shape, nxt.output_dtype
                    pending[nxt] = conform(prev, shape, dtype) + conform(ig, shape, dtype)
    return captured


def conform(g: Tensor, shape: tuple, dtype) -> Tensor:
    """g summed over broadcast dimensions and cast (recorded ops), to fit `shape` and `dtype`."""
    if g._data.shape != shape:
        g = sum_to(g, shape)
    if dtype is not None and g._data.dtype != dtype:
        from ..dtypes import from_numpy_dtype
        g = g.to(from_numpy_dtype(dtype))
    return g


def sum_to(g: Tensor, shape: tuple) -> Tensor:
    """The recorded form of engine.unbroadcast."""
    extra = g.ndim - len(shape)
    if extra < 0:
        return g.reshape(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, s in enumerate(shape)
                                       if s == 1 and g._data.shape[i + extra] != 1)
    if axes:
        g = g.sum(axes, keepdim=True)
    if extra:
        g = g.reshape(shape)
    if g._data.shape != shape:
        raise ShapeError(f"internal: gradient of shape {tuple(g.shape)} does not fit input {shape}")
    return g


def _call_tensor_hooks(node: Node, g: Tensor) -> Tensor:
    """The hooks on a node's gradient (a recorded Tensor here), checked as engine's are."""
    return call_tensor_hooks(node, g, _same, _same, lambda old, g, t: g if old is None else old + g)


def _same(x):
    return x


def no_vjp(node: Node):
    """The error for a node whose backward can't be recorded yet."""
    return AutogradError(
        f"{node.name()}: ember can't differentiate this op's backward yet, which "
        f"create_graph=True (a gradient of a gradient) needs. Ops that can: arithmetic, exp, log, "
        f"sqrt, tanh, sigmoid, relu, sin, cos, abs, clamp, pow, sum, mean, var, max/min, cumsum, "
        f"reshape/view, permute, expand, cat, indexing and index assignment, where, gather, "
        f"scatter, index_select, index_add, matmul, norms (p = 1, 2, inf), softmax, "
        f"log_softmax, leaky_relu, linear, cross_entropy, nll_loss, mse_loss and your own "
        f"autograd.Functions.")
