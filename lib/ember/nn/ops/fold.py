"""im2col and col2im: the two linear maps convolution and pooling are made of, as ops.

Im2Col copies every kernel-sized patch of the padded input into one row of a matrix; Col2Im adds
such rows back into an image. Each is the other's adjoint, so each one's backward is the other:
that is what lets convolution and pooling record their own backward (create_graph=True).
Matrix layout, as Convolution uses it: row (n, y, x), column (c, i, j).
"""
from __future__ import annotations

from ...autograd.function import Op
from ...backend import array_module_of

# pads: ((top, bottom), (left, right)); out_hw: the number of window positions


def _windows(xpad, k, stride, dil, out_hw):
    """A (N, C, kh, kw, Ho, Wo) view: [n, c, i, j, y, x] = xpad[n, c, y*sh + i*dh, x*sw + j*dw]
    (numpy stride tricks: no copy)."""
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


def im2col(x, k, stride, pads, dil, out_hw):
    xp = array_module_of(x)
    n, c = x.shape[:2]
    if pads != ((0, 0), (0, 0)):
        x = xp.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    win = _windows(x, k, stride, dil, out_hw)
    return win.transpose(0, 4, 5, 1, 2, 3).reshape(n * out_hw[0] * out_hw[1], c * k[0] * k[1])


def col2im(cols, x_shape, k, stride, pads, dil, out_hw):
    xp = array_module_of(cols)
    n, c, h, w = x_shape
    blocks = cols.reshape(n, out_hw[0], out_hw[1], c, k[0], k[1])
    gpad = xp.zeros((n, c, h + sum(pads[0]), w + sum(pads[1])), dtype=cols.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            gpad[_offset(i, j, stride, dil, out_hw)] += \
                blocks[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return gpad[:, :, pads[0][0]:pads[0][0] + h, pads[1][0]:pads[1][0] + w]


class Im2Col(Op):
    rule = "grad_x = col2im(grad)"

    def forward(self, x, geom=None):
        self.x_shape, self.geom = x.shape, geom
        return im2col(x, *geom)

    def backward(self, grad):
        return (col2im(grad, self.x_shape, *self.geom),)

    def vjp(self, grad):
        return (Col2Im.apply(grad, x_shape=self.x_shape, geom=self.geom),)


class Col2Im(Op):
    rule = "grad_cols = im2col(grad)"

    def forward(self, cols, x_shape=None, geom=None):
        self.geom = geom
        return col2im(cols, x_shape, *geom)

    def backward(self, grad):
        return (im2col(grad, *self.geom),)

    def vjp(self, grad):
        return (Im2Col.apply(grad, geom=self.geom),)


def blocks_to_image(blocks, x_shape, geom):
    """Tensor (N, C, Ho, Wo, kh, kw) of per-window contributions -> their sum in the image."""
    n, c, ho, wo, kh, kw = blocks.shape
    cols = blocks.permute(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)
    return Col2Im.apply(cols, x_shape=x_shape, geom=geom)
