"""Pooling ops: the max or the mean of each window, and adaptive average pooling.

Windows are strided views of the padded input (`fold._windows`). With ceil_mode the last window
may hang over the padded input; the input is then padded further on the bottom and right (with
-inf for max, with zeros for the mean, whose divisor leaves that part out, as in PyTorch).
"""
from __future__ import annotations

from ...autograd.function import Op
from ...backend import array_module_of
from .fold import _offset, _windows, blocks_to_image


def pool_out_size(size: int, k: int, stride: int, pad: int, dil: int, ceil_mode: bool) -> int:
    """PyTorch's pooling_output_shape: with ceil_mode a last partial window counts, unless it
    would start past the input and the left padding."""
    span = size + 2 * pad - dil * (k - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _geometry(shape, k, stride, pad, dil, ceil_mode):
    """Output size and the padding (before, after) of both spatial dimensions."""
    out, pads = [], []
    for size, kk, s, p, d in zip(shape[2:], k, stride, pad, dil):
        o = pool_out_size(size, kk, s, p, d, ceil_mode)
        extra = max(0, (o - 1) * s + d * (kk - 1) + 1 - (size + 2 * p))
        out.append(o)
        pads.append((p, p + extra))
    return tuple(out), tuple(pads)


def _pad2(x, pads, value):
    if pads == ((0, 0), (0, 0)):
        return x
    xp = array_module_of(x)
    return xp.pad(x, ((0, 0), (0, 0)) + pads, constant_values=value)


def _scatter(grad_at, k, stride, dil, out_hw, pads, shape, dtype):
    """The input's gradient: each kernel offset's grad_at(i, j) (an array shaped like the
    output) added into the positions it covered, one strided add per offset."""
    xp = array_module_of(grad_at(0, 0))
    n, c, h, w = shape
    gpad = xp.zeros((n, c, h + sum(pads[0]), w + sum(pads[1])), dtype=dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            gpad[_offset(i, j, stride, dil, out_hw)] += grad_at(i, j)
    return gpad[:, :, pads[0][0]:pads[0][0] + h, pads[1][0]:pads[1][0] + w]


class MaxPool2d(Op):
    """The largest value of each window; its gradient goes to that one position (the first
    one on ties), so backward needs only the argmax of each window."""
    rule = "grad_x = grad routed to the argmax of each window, 0 elsewhere"

    def forward(self, x, kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1),
                ceil_mode=False):
        n, c = x.shape[:2]
        out_hw, pads = _geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
        win = _windows(_pad2(x, pads, -float("inf")), kernel_size, stride, dilation, out_hw)
        flat = win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c, *out_hw, -1)
        self.arg = flat.argmax(axis=-1)
        self.x_shape, self.geom = x.shape, (kernel_size, stride, dilation, out_hw, pads)
        return flat.max(axis=-1)

    def backward(self, grad):
        k, stride, dil, out_hw, pads = self.geom
        kw = k[1]
        return (_scatter(lambda i, j: grad * (self.arg == i * kw + j), k, stride, dil, out_hw,
                         pads, self.x_shape, grad.dtype),)

    def vjp(self, grad):
        k, stride, dil, out_hw, pads = self.geom
        xp = array_module_of(self.arg)
        hit = self.const((self.arg[..., None] == xp.arange(k[0] * k[1])).astype(grad._data.dtype))
        blocks = (grad.unsqueeze(-1) * hit).reshape(*grad.shape, *k)
        return (blocks_to_image(blocks, self.x_shape, (k, stride, pads, dil, out_hw)),)


def max_pool2d_indices(x, kernel_size, stride, padding, dilation, ceil_mode):
    """PyTorch's return_indices: where each maximum is, as an index into the flattened H * W
    plane of its (sample, channel)."""
    xp = array_module_of(x)
    n, c, h, w = x.shape
    out_hw, pads = _geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    win = _windows(_pad2(x, pads, -float("inf")), kernel_size, stride, dilation, out_hw)
    arg = win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c, *out_hw, -1).argmax(axis=-1)
    i, j = arg // kernel_size[1], arg % kernel_size[1]
    rows = xp.arange(out_hw[0]).reshape(-1, 1) * stride[0] + i * dilation[0] - padding[0]
    cols = xp.arange(out_hw[1]) * stride[1] + j * dilation[1] - padding[1]
    return (rows * w + cols).astype("int64")


def _divisor(shape, k, stride, pad, out_hw, count_include_pad, divisor_override, dtype, xp):
    """How many elements each window's sum is divided by, shape (Ho, Wo) (PyTorch's rule)."""
    if divisor_override:
        return xp.asarray(divisor_override, dtype=dtype)
    sizes = []
    for size, kk, s, p, o in zip(shape[2:], k, stride, pad, out_hw):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + kk, size + p)
        if not count_include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, size)
        sizes.append((end - start).astype(dtype))
    return sizes[0].reshape(-1, 1) * sizes[1]


class AvgPool2d(Op):
    """The mean of each window. By default zero padding counts toward the mean (PyTorch's
    count_include_pad=True); divisor_override replaces the count."""
    rule = "grad_x = grad / (window count) spread over each window"

    def forward(self, x, kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), ceil_mode=False,
                count_include_pad=True, divisor_override=None):
        out_hw, pads = _geometry(x.shape, kernel_size, stride, padding, (1, 1), ceil_mode)
        win = _windows(_pad2(x, pads, 0.0), kernel_size, stride, (1, 1), out_hw)
        self.x_shape, self.geom = x.shape, (kernel_size, stride, out_hw, pads)
        if not ceil_mode and count_include_pad and not divisor_override:
            self.div = kernel_size[0] * kernel_size[1]
            return win.mean(axis=(2, 3))
        xp = array_module_of(x)
        self.div = _divisor(x.shape, kernel_size, stride, padding, out_hw, count_include_pad,
                            divisor_override, x.dtype, xp)
        return win.sum(axis=(2, 3)) / self.div

    def backward(self, grad):
        k, stride, out_hw, pads = self.geom
        share = grad / self.div
        return (_scatter(lambda i, j: share, k, stride, (1, 1), out_hw, pads, self.x_shape,
                         grad.dtype),)

    def vjp(self, grad):
        k, stride, out_hw, pads = self.geom
        div = self.div if isinstance(self.div, int) else self.const(self.div)
        share = (grad / div).reshape(*grad.shape, 1, 1).expand(*grad.shape, *k)
        return (blocks_to_image(share, self.x_shape, (k, stride, pads, (1, 1), out_hw)),)


def adaptive_windows(size: int, out: int, xp, dtype):
    """An (out, size) matrix averaging rows start..end of each window, where window i spans
    floor(i * size / out) to ceil((i + 1) * size / out), as PyTorch's adaptive pooling."""
    i = xp.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    pos = xp.arange(size)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class AdaptiveAvgPool2d(Op):
    """Average pooling to a fixed output size: out = A_h @ x @ A_w.T per (sample, channel),
    A_h and A_w holding each window's 1/count weights (windows may overlap)."""
    rule = "grad_x = A_h.T @ grad @ A_w"

    def forward(self, x, output_size=(1, 1)):
        xp = array_module_of(x)
        self.ah = adaptive_windows(x.shape[2], output_size[0], xp, x.dtype)
        self.aw = adaptive_windows(x.shape[3], output_size[1], xp, x.dtype)
        return xp.matmul(xp.matmul(self.ah, x), self.aw.T)

    def backward(self, grad):
        xp = array_module_of(grad)
        return (xp.matmul(xp.matmul(self.ah.T, grad), self.aw),)

    def vjp(self, grad):
        return (self.const(self.ah.T).matmul(grad).matmul(self.const(self.aw)),)
