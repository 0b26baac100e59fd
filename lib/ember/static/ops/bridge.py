"""Ops borrowed from eager ember's nn: convolution, pooling, softmax, leaky ReLU.

Their math is defined once, in `ember.nn.ops`; here each becomes a static op whose evaluation
runs the eager op's `forward` on arrays, and whose gradient is a `<name>_grad` node that runs the
eager op's `backward` (after recomputing its forward, which is what backward reads).
"""
from __future__ import annotations

from ...errors import ShapeError
from . import OPS, like_first, op, show_shape


def _run_forward(cls, arrays, attrs):
    node = cls.__new__(cls)
    return node, node.forward(*arrays, **attrs)


def bridge(name: str, cls, infer):
    """Register static op `name` (and `name_grad`) backed by the eager Op class `cls`."""
    def forward(*arrays, **attrs):
        return _run_forward(cls, arrays, attrs)[1]
    fwd = op(name, infer)(forward)

    def grad_infer(nodes, attrs):
        return nodes[1 + attrs["which"]].shape, nodes[0].dtype

    def grad_fn(g, *arrays, which, **attrs):
        node, _ = _run_forward(cls, arrays, attrs)
        node.next_functions = tuple((True if k == which else None, 0) for k in range(len(arrays)))
        return node.backward(g)[which]
    grad = op(f"{name}_grad", grad_infer)(grad_fn)

    @fwd.gradient
    def _(node, g, needs):
        return [grad(g, *node.inputs, which=k, **node.attrs) if need else None
                for k, need in enumerate(needs)]
    return fwd


def _out(size, k, stride, pad, dil):
    return None if size is None else (size + 2 * pad - dil * (k - 1) - 1) // stride + 1


def _conv_spec(nodes, attrs):
    x, w = nodes[0], nodes[1]
    if x.ndim != 4 or w.ndim != 4:
        raise ShapeError(f"conv2d takes a (N, C, H, W) input and an (O, C, kH, kW) kernel, got "
                         f"{show_shape(x.shape)} and {show_shape(w.shape)}")
    if x.shape[1] is not None and x.shape[1] != w.shape[1]:
        raise ShapeError(f"input has {x.shape[1]} channels but the kernel expects {w.shape[1]}")
    s, p, d = attrs.get("stride", (1, 1)), attrs.get("padding", (0, 0)), attrs.get("dilation", (1, 1))
    return (x.shape[0], w.shape[0], _out(x.shape[2], w.shape[2], s[0], p[0], d[0]),
            _out(x.shape[3], w.shape[3], s[1], p[1], d[1])), x.dtype


def _pool_spec(nodes, attrs):
    x = nodes[0]
    k, s, p = attrs["kernel_size"], attrs["stride"], attrs.get("padding", (0, 0))
    d = attrs.get("dilation", (1, 1))
    return (x.shape[0], x.shape[1], _out(x.shape[2], k[0], s[0], p[0], d[0]),
            _out(x.shape[3], k[1], s[1], p[1], d[1])), x.dtype


def _register():
    from ...nn.ops.activation import LeakyRelu, LogSoftmax, Softmax
    from ...nn.ops.conv import Convolution
    from ...nn.ops.pool import AvgPool2d, MaxPool2d
    bridge("conv2d", Convolution, _conv_spec)
    bridge("max_pool2d", MaxPool2d, _pool_spec)
    bridge("avg_pool2d", AvgPool2d, _pool_spec)
    bridge("softmax", Softmax, like_first)
    bridge("log_softmax", LogSoftmax, like_first)
    bridge("leaky_relu", LeakyRelu, like_first)


@op("conv2d_relu", _conv_spec)
def conv2d_relu(x, w, *b, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """relu(conv2d(x, w, b)), made by the fusion pass: the ReLU runs in the conv's own output."""
    import numpy as np
    out = OPS["conv2d"].fn(x, w, *b, stride=stride, padding=padding, dilation=dilation)
    return np.maximum(out, 0, out=out)


_register()
