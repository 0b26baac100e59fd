"""Softmax, log-softmax and leaky ReLU.

Softmax-type ops subtract the row maximum before exponentiating, so logits like 1000 give finite
results (exp(1000) overflows; exp(1000 - 1000) does not), and log-softmax never takes log(0).
"""
from __future__ import annotations

from ...autograd.function import Op
from ...backend import array_module_of


class Softmax(Op):
    rule = "grad_x = s * (grad - sum(grad * s, dim)), s = softmax(x)"
    saves_output = True

    def forward(self, x, dim=-1):
        xp = array_module_of(x)
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        self.out, self.dim = e, dim
        return e

    def backward(self, grad):
        s = self.out
        return (s * (grad - (grad * s).sum(axis=self.dim, keepdims=True)),)

    def vjp(self, grad):
        """Recorded backward (create_graph=True), with ember's own ops."""
        s = self.saved_output(self.out)
        return (s * (grad - (grad * s).sum(self.dim, keepdim=True)),)


class LogSoftmax(Op):
    rule = "grad_x = grad - softmax(x) * sum(grad, dim)"
    saves_output = True

    def forward(self, x, dim=-1):
        xp = array_module_of(x)
        shifted = x - x.max(axis=dim, keepdims=True)
        shifted -= xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        self.out, self.dim = shifted, dim
        return shifted

    def backward(self, grad):
        xp = array_module_of(grad)
        return (grad - xp.exp(self.out) * grad.sum(axis=self.dim, keepdims=True),)

    def vjp(self, grad):
        """Recorded backward (create_graph=True), with ember's own ops."""
        return (grad - self.saved_output(self.out).exp() * grad.sum(self.dim, keepdim=True),)


class LeakyRelu(Op):
    rule = "grad_x = grad where x > 0, grad * negative_slope elsewhere"

    def forward(self, x, negative_slope=0.01):
        self.positive = x > 0
        self.slope = negative_slope
        return array_module_of(x).where(self.positive, x, x * negative_slope)

    def backward(self, grad):
        return (array_module_of(grad).where(self.positive, grad, grad * self.slope),)

    def vjp(self, grad):
        """Recorded backward (create_graph=True), with ember's own ops."""
        slope = array_module_of(self.positive).where(self.positive, 1.0, self.slope)
        return (grad * self.const(slope.astype(grad._data.dtype)),)
