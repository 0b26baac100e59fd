"""Embedding lookup: row i of the output is row index[i] of the weight table."""
from __future__ import annotations

from ... import backend
from ...autograd.function import Op


class Embedding(Op):
    rule = "grad_weight[k] = sum of grad rows whose index is k (none for padding_idx)"

    def forward(self, weight, index=None, padding_idx=None):
        self.index, self.shape, self.padding_idx = index, weight.shape, padding_idx
        return weight[index]

    def backward(self, grad):
        xp = backend.array_module_of(grad)
        gw = xp.zeros(self.shape, dtype=grad.dtype)
        backend.index_add(xp, gw, self.index.reshape(-1), grad.reshape(-1, self.shape[1]))
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return (gw,)

    def vjp(self, grad):
        from ...creation import zeros
        g = grad.reshape(-1, self.shape[1])
        if self.padding_idx is not None:
            keep = self.const((self.index.reshape(-1, 1) != self.padding_idx).astype(g._data.dtype))
            g = g * keep
        base = zeros(*self.shape, dtype=grad.dtype, device=grad.device)
        return (base.index_add(0, self.const(self.index.reshape(-1)), g),)
