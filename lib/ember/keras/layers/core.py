"""Keras's core layers as ember Modules. A Dense layer holds `kernel` (in, units) and `bias`, as in
Keras, and is built (its weights made) as soon as its input size is known: from `input_dim` /
`input_shape`, from the layer before it in a Sequential, or from its first input."""
from __future__ import annotations

import difflib

from ... import nn
from ...nn import functional as F
from ...nn.parameter import Parameter
from ...tensor import Tensor

ACTIVATIONS = {"linear": lambda x: x, "relu": F.relu, "tanh": lambda x: x.tanh(),
               "sigmoid": lambda x: x.sigmoid(), "softmax": lambda x: F.softmax(x, dim=-1),
               "leaky_relu": F.leaky_relu, "exp": lambda x: x.exp()}


def activation(name):
    """A Keras activation: a name ('relu', 'softmax'...), None ('linear') or a function."""
    if name is None:
        return ACTIVATIONS["linear"]
    if callable(name):
        return name
    if name not in ACTIVATIONS:
        close = difflib.get_close_matches(str(name), ACTIVATIONS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown activation {name!r}{hint} (known: {', '.join(ACTIVATIONS)})")
    return ACTIVATIONS[name]


class Layer(nn.Module):
    """A Keras layer: an nn.Module that knows its output size once built (`units`, or None if
    it keeps its input's size)."""

    def output_size(self, in_size):
        return in_size

    def build(self, in_size) -> None:
        pass


def _no_extra(cls, kwargs):
    if kwargs:
        key = next(iter(kwargs))
        raise TypeError(f"{cls}: unknown keyword argument {key!r}")


class Dense(Layer):
    """activation(x @ kernel + bias). `output_dim` is Keras 1's name for `units`."""

    def __init__(self, units: int | None = None, activation=None, use_bias: bool = True,
                 kernel_initializer: str = "glorot_uniform", bias_initializer: str = "zeros",
                 input_dim: int | None = None, input_shape=None, output_dim: int | None = None,
                 name: str | None = None, **kwargs):
        super().__init__()
        _no_extra("Dense", kwargs)
        units = units if units is not None else output_dim
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"Dense: units must be a positive int, got {units!r}")
        if kernel_initializer not in ("glorot_uniform", "zeros", "he_normal", "glorot_normal"):
            raise ValueError(f"Dense: kernel_initializer {kernel_initializer!r} is not supported "
                             f"(glorot_uniform, glorot_normal, he_normal, zeros)")
        self.units, self.use_bias, self.name = units, use_bias, name
        self.activation_name = activation
        self._activation = globals()["activation"](activation)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel = self.bias = None
        in_size = input_dim if input_dim is not None else (input_shape[-1] if input_shape else None)
        if in_size is not None:
            self.build(in_size)

    @property
    def built(self) -> bool:
        return self.kernel is not None

    def output_size(self, in_size):
        return self.units

    def build(self, in_size) -> None:
        if self.built:
            if self.kernel.shape[0] != in_size:
                raise ValueError(f"Dense({self.units}) was built for inputs of size "
                                 f"{self.kernel.shape[0]} but gets inputs of size {in_size}")
            return
        from ... import empty, zeros
        kernel = empty(int(in_size), self.units)
        {"glorot_uniform": nn.init.xavier_uniform_, "glorot_normal": nn.init.xavier_normal_,
         "he_normal": lambda t: nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"),
         "zeros": nn.init.zeros_}[self.kernel_initializer](kernel)
        self.kernel = Parameter(kernel)
        if self.use_bias:
            self.bias = Parameter(zeros(self.units))

    def forward(self, x: Tensor) -> Tensor:
        self.build(x.shape[-1])
        out = x @ self.kernel
        if self.bias is not None:
            out = out + self.bias
        return self._activation(out)

    def extra_repr(self) -> str:
        ins = self.kernel.shape[0] if self.built else "?"
        return f"{ins} -> {self.units}, activation={self.activation_name or 'linear'}"


class Activation(Layer):
    """An activation as its own layer: `Activation('relu')`."""

    def __init__(self, activation, **kwargs):
        super().__init__()
        _no_extra("Activation", kwargs)
        self.activation_name = activation
        self._activation = globals()["activation"](activation)

    def forward(self, x: Tensor) -> Tensor:
        return self._activation(x)

    def extra_repr(self) -> str:
        return repr(self.activation_name)


class Dropout(Layer):
    """Zeroes a share `rate` of the inputs while training (Keras's `rate` is PyTorch's `p`)."""

    def __init__(self, rate: float, **kwargs):
        super().__init__()
        _no_extra("Dropout", kwargs)
        self.rate = rate
        self.drop = nn.Dropout(p=rate)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(x)


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...): keeps the batch, flattens the rest."""

    def __init__(self, **kwargs):
        super().__init__()
        _no_extra("Flatten", kwargs)

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1)

    def output_size(self, in_size):
        return None
