"""Constant padding of the last dimensions (F.pad)."""
from __future__ import annotations

from ...autograd.function import Op
from ...backend import array_module_of


class ConstantPadNd(Op):
    rule = "grad_x = grad with the padding cut off"

    def forward(self, x, widths=(), value=0.0):
        self.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return array_module_of(x).pad(x, widths, constant_values=value)

    def backward(self, grad):
        return (grad[self.slices],)
