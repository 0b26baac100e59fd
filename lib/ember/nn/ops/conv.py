"""2-d convolution and pooling by im2col.

`_windows` views every (kh, kw) patch of the padded input without copying (numpy stride tricks);
convolution then copies the patches into one matrix and does a single matrix product with the
flattened kernels. Backward scatters patch gradients back with one strided add per kernel offset.
"""
from __future__ import annotations

from ...autograd.function import Op
from ...backend import array_module_of


def out_size(size: int, k: int, stride: int, pad: int, dil: int) -> int:
    return (size + 2 * pad - dil * (k - 1) - 1) // stride + 1


def _pad(x, pad, value=0.0):
    if pad == (0, 0):
        return x
    xp = array_module_of(x)
    return xp.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])), constant_values=value)


def _windows(xpad, k, stride, dil, out_hw):
    """A (N, C, kh, kw, Ho, Wo) view: [n, c, i, j, y, x] = xpad[n, c, y*sh + i*dh, x*sw + j*dw]."""
    xp = array_module_of(xpad)
    sn, sc, sh, sw = xpad.strides
    shape = xpad.shape[:2] + tuple(k) + tuple(out_hw)
    strides = (sn, sc, sh * dil[0], sw * dil[1], sh * stride[0], sw * stride[1])
    return xp.lib.stride_tricks.as_strided(xpad, shape=shape, strides=strides)


def _offset(i, j, stride, dil, out_hw):
    """The slice of the padded input that kernel offset (i, j) touches, for every output."""
    return (slice(None), slice(None),
            slice(i * dil[0], i * dil[0] + stride[0] * (out_hw[0] - 1) + 1, stride[0]),
            slice(j * dil[1], j * dil[1] + stride[1] * (out_hw[1] - 1) + 1, stride[1]))


def _unpad(gpad, pad, shape):
    return gpad[:, :, pad[0]:pad[0] + shape[2], pad[1]:pad[1] + shape[3]]


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
        win = _windows(_pad(x, padding), (kh, kw), stride, dilation, (ho, wo))
        cols = win.transpose(0, 4, 5, 1, 2, 3).reshape(n * ho * wo, c * kh * kw)
        if groups == 1:
            out = cols @ w.reshape(o, -1).T
        else:  # group k's columns are a contiguous block: (g, N*Ho*Wo, C/g*kh*kw)
            out = (_by_group(cols, groups) @ w.reshape(groups, o // groups, -1).transpose(0, 2, 1)
                   ).transpose(1, 0, 2).reshape(n * ho * wo, o)
        if b is not None:
            out += b
        self.cols, self.w, self.x_shape, self.groups = cols, w, x.shape, groups
        self.geom = (stride, padding, dilation, (ho, wo))
        return out.reshape(n, ho, wo, o).transpose(0, 3, 1, 2)

    def backward(self, grad):
        xp = array_module_of(grad)
        stride, padding, dilation, out_hw = self.geom
        w, g = self.w, self.groups
        o, cg, kh, kw = w.shape
        c = cg * g
        g2 = grad.transpose(0, 2, 3, 1).reshape(-1, o)
        if g > 1:
            g3 = _by_group(g2, g)
            w3 = w.reshape(g, o // g, -1)
        gx = gw = gb = None
        if self.needs(0):
            n, _, h, wd = self.x_shape
            dcols = g2 @ w.reshape(o, -1) if g == 1 else \
                (g3 @ w3).transpose(1, 0, 2).reshape(len(g2), -1)
            dcols = dcols.reshape(n, out_hw[0], out_hw[1], c, kh, kw)
            gpad = xp.zeros((n, c, h + 2 * padding[0], wd + 2 * padding[1]), dtype=grad.dtype)
            for i in range(kh):
                for j in range(kw):
                    gpad[_offset(i, j, stride, dilation, out_hw)] += \
                        dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
            gx = _unpad(gpad, padding, self.x_shape)
        if self.needs(1):
            gw = (g2.T @ self.cols if g == 1 else
                  g3.transpose(0, 2, 1) @ _by_group(self.cols, g)).reshape(w.shape)
        if len(self.next_functions) > 2 and self.needs(2):
            gb = grad.sum(axis=(0, 2, 3))
        return gx, gw, gb


def _by_group(m, groups: int):
    """(rows, g * k) -> (g, rows, k): the column block of each group, batched first."""
    return m.reshape(m.shape[0], groups, -1).transpose(1, 0, 2)


from .pool import AvgPool2d, MaxPool2d  # noqa: E402,F401  (their old home; static uses it)
