"""2-d convolution by im2col.

im2col (fold.py) views every (kh, kw) patch of the padded input without copying (numpy stride
tricks) and copies the patches into one matrix; convolution is then a single matrix product with
the flattened kernels. Backward scatters patch gradients back with col2im, one strided add per
kernel offset.
"""
from __future__ import annotations

from ...autograd.function import Op
from .fold import Col2Im, Im2Col, col2im, im2col


def out_size(size: int, k: int, stride: int, pad: int, dil: int) -> int:
    return (size + 2 * pad - dil * (k - 1) - 1) // stride + 1


class Convolution(Op):
    """out[n, o] = sum over c, i, j of w[o, c, i, j] * x_padded[n, c, y*s + i*d, x*s + j*d] + b[o].

    With groups=g the channels split into g independent convolutions: output channels of group k
    see only input channels of group k (a batched matmul, one matrix per group)."""
    rule = "grad_w = grad-matrix.T @ patches ; grad_x = patches of (grad-matrix @ w) added back"
    saves = (0, 1)

    def forward(self, x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
        n, c, h, wd = x.shape
        o, _, kh, kw = w.shape
        ho = out_size(h, kh, stride[0], padding[0], dilation[0])
        wo = out_size(wd, kw, stride[1], padding[1], dilation[1])
        pads = ((padding[0], padding[0]), (padding[1], padding[1]))
        self.geom = ((kh, kw), stride, pads, dilation, (ho, wo))
        cols = im2col(x, *self.geom)
        if groups == 1:
            out = cols @ w.reshape(o, -1).T
        else:  # group k's columns are a contiguous block: (g, N*Ho*Wo, C/g*kh*kw)
            out = (_by_group(cols, groups) @ w.reshape(groups, o // groups, -1).transpose(0, 2, 1)
                   ).transpose(1, 0, 2).reshape(n * ho * wo, o)
        if b is not None:
            out += b
        self.x, self.cols, self.w, self.groups = x, cols, w, groups
        return out.reshape(n, ho, wo, o).transpose(0, 3, 1, 2)

    def backward(self, grad):
        w, g = self.w, self.groups
        o = w.shape[0]
        g2 = grad.transpose(0, 2, 3, 1).reshape(-1, o)
        if g > 1:
            g3 = _by_group(g2, g)
            w3 = w.reshape(g, o // g, -1)
        gx = gw = gb = None
        if self.needs(0):
            dcols = g2 @ w.reshape(o, -1) if g == 1 else \
                (g3 @ w3).transpose(1, 0, 2).reshape(len(g2), -1)
            gx = col2im(dcols, self.x.shape, *self.geom)
        if self.needs(1):
            gw = (g2.T @ self.cols if g == 1 else
                  g3.transpose(0, 2, 1) @ _by_group(self.cols, g)).reshape(w.shape)
        if len(self.next_functions) > 2 and self.needs(2):
            gb = grad.sum(axis=(0, 2, 3))
        return gx, gw, gb

    def vjp(self, grad):
        """Recorded backward (create_graph=True): the same products, with im2col and col2im as
        ops, so gradient penalties can differentiate through a convolution."""
        x, w, g = self.saved_input(0, self.x), self.saved_input(1, self.w), self.groups
        o = w.shape[0]
        g2 = grad.permute(0, 2, 3, 1).reshape(-1, o)
        if g > 1:
            g3 = g2.reshape(g2.shape[0], g, o // g).permute(1, 0, 2)
            w3 = w.reshape(g, o // g, -1)
        gx = gw = gb = None
        if self.needs(0):
            dcols = g2.matmul(w.reshape(o, -1)) if g == 1 else \
                g3.matmul(w3).permute(1, 0, 2).reshape(g2.shape[0], -1)
            gx = Col2Im.apply(dcols, x_shape=self.x.shape, geom=self.geom)
        if self.needs(1):
            cols = Im2Col.apply(x, geom=self.geom)
            if g == 1:
                gw = g2.t().matmul(cols).reshape(tuple(w.shape))
            else:
                cols3 = cols.reshape(cols.shape[0], g, -1).permute(1, 0, 2)
                gw = g3.permute(0, 2, 1).matmul(cols3).reshape(tuple(w.shape))
        if len(self.next_functions) > 2 and self.needs(2):
            gb = grad.sum((0, 2, 3))
        return gx, gw, gb


def _by_group(m, groups: int):
    """(rows, g * k) -> (g, rows, k): the column block of each group, batched first."""
    return m.reshape(m.shape[0], groups, -1).transpose(1, 0, 2)
