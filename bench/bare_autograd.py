"""A bare reverse-mode autograd on numpy, for scale in bench/step.py: how fast eager autograd in
pure Python can be once everything ember adds is left out (device and dtype checks, type
promotion, in-place version checks, hooks, freeing, error messages, the PyTorch-shaped API).

Same ops, same numpy calls and the same engine shape as ember (nodes with saved arrays, a heap
of ready nodes, newest first), so the gap between this and ember is the cost of those features,
and the gap between this and numpy is the cost of recording a graph in Python at all.
"""
from __future__ import annotations

from heapq import heappop, heappush
from itertools import count

import numpy as np

_seq = count()


class Value:
    __slots__ = ("data", "node", "requires_grad", "grad", "accum")

    def __init__(self, data, node=None, requires_grad=False):
        self.data, self.node, self.grad, self.accum = data, node, None, None
        self.requires_grad = requires_grad or node is not None


class Node:
    __slots__ = ("nexts", "seq", "__dict__")


class Accumulate(Node):
    __slots__ = ("leaf",)


def _edge(v: Value):
    if v.node is not None:
        return v.node
    if v.accum is None:
        v.accum = Accumulate()
        v.accum.leaf, v.accum.seq, v.accum.nexts = v, next(_seq), ()
    return v.accum


def apply(op, a: Value, b=None) -> Value:
    node = op()
    b_value = isinstance(b, Value)
    out = node.forward(a.data, b.data if b_value else b)
    b_grad = b_value and b.requires_grad
    if not (a.requires_grad or b_grad):
        return Value(out)
    node.nexts = (_edge(a) if a.requires_grad else None, _edge(b) if b_grad else None)
    node.seq = next(_seq)
    return Value(out, node)


class MatMul(Node):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a.dot(b)

    def backward(self, g):
        return (g.dot(self.b.T) if self.nexts[0] else None,
                self.a.T.dot(g) if self.nexts[1] else None)


class ClampMin(Node):
    def forward(self, a, lo):
        self.a, self.lo = a, lo
        return np.maximum(a, lo)

    def backward(self, g):
        return g * (self.a >= self.lo).astype(g.dtype), None


class Sub(Node):
    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, (-g if self.nexts[1] else None)


class Square(Node):
    def forward(self, a, _):
        self.a = a
        return a ** 2

    def backward(self, g):
        return g * (self.a + self.a), None


class Sum(Node):
    def forward(self, a, _):
        self.shape = a.shape
        return np.asarray(a.sum())

    def backward(self, g):
        out = np.empty(self.shape, g.dtype)
        out.fill(g)
        return out, None


def backward(root: Value) -> None:
    pending = {root.node: np.ones((), root.data.dtype)}
    heap = [(-root.node.seq, root.node)]
    while heap:
        node = heappop(heap)[1]
        g = pending.pop(node)
        if node.__class__ is Accumulate:
            leaf = node.leaf
            if leaf.grad is None:
                leaf.grad = g.copy()
            else:
                leaf.grad += g
            continue
        grads = node.backward(g)
        node.__dict__.clear()
        for nxt, gi in zip(node.nexts, grads):
            if nxt is None or gi is None:
                continue
            prev = pending.get(nxt)
            if prev is None:
                pending[nxt] = gi
                heappush(heap, (-nxt.seq, nxt))
            else:
                pending[nxt] = prev + gi


def make_step(x, y, w1_init, w2_init, lr: float):
    """One step of the lecture's two-layer net: forward, backward, SGD update, zeroed grads."""
    ex, ey = Value(x), Value(y)
    w1, w2 = Value(w1_init.copy(), requires_grad=True), Value(w2_init.copy(), requires_grad=True)

    def step():
        y_pred = apply(MatMul, apply(ClampMin, apply(MatMul, ex, w1), 0), w2)
        loss = apply(Sum, apply(Square, apply(Sub, y_pred, ey)))
        backward(loss)
        w1.data -= lr * w1.grad
        w2.data -= lr * w2.grad
        w1.grad.fill(0)
        w2.grad.fill(0)

    return step, lambda: (w1.data, w2.data)
