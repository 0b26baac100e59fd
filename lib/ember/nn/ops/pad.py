"""Padding of the last dimensions (F.pad): with a constant, or by reflecting, replicating or
wrapping around the input's own values."""
from __future__ import annotations

from ... import backend
from ...autograd.function import Op
from ...backend import array_module_of


class ConstantPadNd(Op):
    rule = "grad_x = grad with the padding cut off"

    def forward(self, x, widths=(), value=0.0):
        self.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return array_module_of(x).pad(x, widths, constant_values=value)

    def backward(self, grad):
        return (grad[self.slices],)

    def vjp(self, grad):
        return (grad[self.slices],)


def pad_index(n: int, lo: int, hi: int, mode: str, xp):
    """For each position of the padded dimension, the input position it copies."""
    p = xp.arange(-lo, n + hi)
    if mode == "reflect":
        p = xp.abs(p)
        return xp.where(p >= n, 2 * (n - 1) - p, p)
    if mode == "replicate":
        return xp.clip(p, 0, n - 1)
    return p % n  # circular


class IndexPad(Op):
    """Reflect / replicate / circular padding: every output element copies one input element,
    chosen per padded dimension by an index array; backward adds each gradient back to the
    element it was copied from (border elements are copied, so they collect several)."""
    rule = "grad_x[i] = sum of grad at the positions that copied x[i]"

    def forward(self, x, indices=()):
        xp = array_module_of(x)
        self.indices, self.shapes = indices, []
        for axis, idx in indices:
            self.shapes.append(x.shape)
            x = xp.take(x, idx, axis=axis)
        return x

    def backward(self, grad):
        xp = array_module_of(grad)
        for (axis, idx), shape in zip(reversed(self.indices), reversed(self.shapes)):
            g = xp.zeros(shape, dtype=grad.dtype)
            backend.index_add(xp, xp.moveaxis(g, axis, 0), idx, xp.moveaxis(grad, axis, 0))
            grad = g
        return (grad,)

    def vjp(self, grad):
        from ...creation import zeros
        for (axis, idx), shape in zip(reversed(self.indices), reversed(self.shapes)):
            base = zeros(*shape, dtype=grad.dtype, device=grad.device)
            grad = base.index_add(axis, self.const(idx), grad)
        return (grad,)
