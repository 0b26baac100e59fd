"""One time step of a recurrent network: RNNCell, LSTMCell, GRUCell.

The step functions below are shared with the sequence layers (nn.RNN, nn.LSTM, nn.GRU), which
call them once per time step; backpropagation through time is autograd walking back through
that unrolled loop. Gates are stacked in PyTorch's order, so weights load from PyTorch models:
LSTM (input, forget, cell, output), GRU (reset, update, new).
"""
from __future__ import annotations

import math

from ... import creation
from ...errors import ShapeError
from ...ops.elementwise import relu, sigmoid, tanh
from ...ops.shape import chunk
from ...tensor import Tensor
from .. import functional as F, init
from ..module import Module
from ..parameter import Parameter

_ACTIVATIONS = {"tanh": tanh, "relu": relu}


def activation(nonlinearity: str):
    if nonlinearity not in _ACTIVATIONS:
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
    return _ACTIVATIONS[nonlinearity]


def rnn_step(gx: Tensor, h: Tensor, w_hh, b_hh, act) -> Tensor:
    """h' = act(gx + h @ w_hh.T + b_hh), where gx = x @ w_ih.T + b_ih."""
    return act(gx + F.linear(h, w_hh, b_hh))


def lstm_step(gx: Tensor, h: Tensor, c: Tensor, w_hh, b_hh) -> tuple[Tensor, Tensor]:
    """i, f, o = sigmoid(...), g = tanh(...); c' = f * c + i * g; h' = o * tanh(c')."""
    i, f, g, o = chunk(gx + F.linear(h, w_hh, b_hh), 4, 1)
    c = sigmoid(f) * c + sigmoid(i) * tanh(g)
    return sigmoid(o) * tanh(c), c


def gru_step(gx: Tensor, h: Tensor, w_hh, b_hh) -> Tensor:
    """r, z = sigmoid(...); n = tanh(x_n + r * (h @ W_hn.T + b_hn)); h' = (1 - z) * n + z * h."""
    xr, xz, xn = chunk(gx, 3, 1)
    hr, hz, hn = chunk(F.linear(h, w_hh, b_hh), 3, 1)
    n = tanh(xn + sigmoid(xr + hr) * hn)
    return n + sigmoid(xz + hz) * (h - n)


def check_input_size(module: Module, input: Tensor, batched_ndim: int) -> None:
    if input.ndim not in (batched_ndim - 1, batched_ndim):
        raise ShapeError(f"{module._get_name()}: Expected input to be {batched_ndim - 1}D or "
                         f"{batched_ndim}D, got {input.ndim}D instead (shape "
                         f"{tuple(input.shape)})")
    if input._data.shape[-1] != module.input_size:
        raise ShapeError(f"{module._get_name()}: input.size(-1) must be equal to input_size. "
                         f"Expected {module.input_size}, got {input._data.shape[-1]}")


class RNNCellBase(Module):
    """weight_ih (gates*hidden, input), weight_hh (gates*hidden, hidden), bias_ih, bias_hh, all
    ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) as in PyTorch."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        kw = dict(dtype=dtype, device=device)
        n = self.gates * hidden_size
        self.weight_ih = Parameter(creation.empty(n, input_size, **kw))
        self.weight_hh = Parameter(creation.empty(n, hidden_size, **kw))
        if bias:
            self.bias_ih = Parameter(creation.empty(n, **kw))
            self.bias_hh = Parameter(creation.empty(n, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _prepare(self, input: Tensor, hx: Tensor | None, what: str = "hx") -> tuple:
        """(input as a batch, hx as a batch or zeros, whether the input was batched)."""
        check_input_size(self, input, 2)
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            return x, creation.zeros(x._data.shape[0], self.hidden_size, dtype=x.dtype,
                                     device=x.device), batched
        if hx.ndim != input.ndim:
            raise ShapeError(f"{self._get_name()}: Expected {what} to be {input.ndim}D for a "
                             f"{input.ndim}D input, got {hx.ndim}D (shape {tuple(hx.shape)})")
        h = hx if batched else hx.unsqueeze(0)
        if h._data.shape[0] != x._data.shape[0]:
            raise ShapeError(f"{self._get_name()}: Input batch size {x._data.shape[0]} doesn't "
                             f"match hidden0 batch size {h._data.shape[0]}")
        if h._data.shape[1] != self.hidden_size:
            raise ShapeError(f"{self._get_name()}: {what} has size {h._data.shape[1]} in its last "
                             f"dimension, expected hidden_size = {self.hidden_size}")
        return x, h, batched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """One step: h' = tanh(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        self._act = activation(nonlinearity)
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h, batched = self._prepare(input, hx)
        h = rnn_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh,
                     self._act)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: `h', c' = cell(x, (h, c))`; weights stack the input, forget, cell and
    output gates, 4 * hidden_size rows."""

    gates = 4

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple:
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTMCell: hx must be a tuple (h, c) of two tensors, got "
                            f"{type(hx).__name__}")
        x, h, batched = self._prepare(input, None if hx is None else hx[0], "h")
        c = self._prepare(input, None if hx is None else hx[1], "c")[1]
        h, c = lstm_step(F.linear(x, self.weight_ih, self.bias_ih), h, c, self.weight_hh,
                         self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: h' = (1 - z) * n + z * h, with reset gate r, update gate z and new gate n
    stacked in that order, 3 * hidden_size rows."""

    gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h, batched = self._prepare(input, hx)
        h = gru_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)
        return h if batched else h.squeeze(0)
