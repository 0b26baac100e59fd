"""`tf.nn`: activations and small building blocks."""
from __future__ import annotations

from .graph import Node
from .ops import elementwise as ew


def relu(features, name: str | None = None) -> Node:
    return ew.relu(features, name=name)


def sigmoid(x, name: str | None = None) -> Node:
    return ew.sigmoid(x, name=name)


def tanh(x, name: str | None = None) -> Node:
    return ew.tanh(x, name=name)


def bias_add(value, bias, name: str | None = None) -> Node:
    return ew.add(value, bias, name=name)


def l2_loss(t, name: str | None = None) -> Node:
    """sum(t ** 2) / 2."""
    from . import reduce_sum
    return reduce_sum(ew.square(t)) * 0.5


def softmax(logits, axis: int = -1, name: str | None = None) -> Node:
    from .ops import OPS
    return OPS["softmax"](logits, dim=int(axis), name=name)


def log_softmax(logits, axis: int = -1, name: str | None = None) -> Node:
    from .ops import OPS
    return OPS["log_softmax"](logits, dim=int(axis), name=name)


def leaky_relu(features, alpha: float = 0.2, name: str | None = None) -> Node:
    from .ops import OPS
    return OPS["leaky_relu"](features, negative_slope=float(alpha), name=name)


def conv2d_nchw(x, filters, bias=None, stride=(1, 1), padding=(0, 0), name: str | None = None) -> Node:
    """PyTorch's layout and meaning (NCHW input, (O, C, kH, kW) filters, symmetric zero padding),
    not TF's NHWC `tf.nn.conv2d`."""
    from .ops import OPS
    ins = (x, filters) + ((bias,) if bias is not None else ())
    return OPS["conv2d"](*ins, stride=tuple(stride), padding=tuple(padding), dilation=(1, 1),
                         name=name)


def max_pool2d_nchw(x, kernel_size=(2, 2), stride=(2, 2), name: str | None = None) -> Node:
    from .ops import OPS
    return OPS["max_pool2d"](x, kernel_size=tuple(kernel_size), stride=tuple(stride),
                             padding=(0, 0), dilation=(1, 1), name=name)
