"""Vanilla recurrent networks: h_t = tanh(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh).

Built from linear ops and a Python loop over time steps: backpropagation through time is just
autograd walking back through that unrolled loop.
"""
from __future__ import annotations

import math

from ... import creation
from ...errors import ShapeError
from ...ops.elementwise import relu, tanh
from ...ops.shape import stack
from ...tensor import Tensor
from .. import functional as F, init
from ..module import Module
from ..parameter import Parameter

_ACTIVATIONS = {"tanh": tanh, "relu": relu}


def _activation(nonlinearity: str):
    if nonlinearity not in _ACTIVATIONS:
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
    return _ACTIVATIONS[nonlinearity]


class RNNCell(Module):
    """One step: h' = tanh(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).

    Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as in PyTorch."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.nonlinearity = nonlinearity
        self._act = _activation(nonlinearity)
        kw = dict(dtype=dtype, device=device)
        self.weight_ih = Parameter(creation.empty(hidden_size, input_size, **kw))
        self.weight_hh = Parameter(creation.empty(hidden_size, hidden_size, **kw))
        if bias:
            self.bias_ih = Parameter(creation.empty(hidden_size, **kw))
            self.bias_hh = Parameter(creation.empty(hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        if input.ndim not in (1, 2) or input._data.shape[-1] != self.input_size:
            raise ShapeError(f"{self!r} expected input of shape (N, {self.input_size}) or "
                             f"({self.input_size},), got {tuple(input.shape)}")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            hx = creation.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
        elif not batched:
            hx = hx.unsqueeze(0)
        h = self._act(F.linear(x, self.weight_ih, self.bias_ih)
                      + F.linear(hx, self.weight_hh, self.bias_hh))
        return h if batched else h.squeeze(0)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNN(Module):
    """A stack of num_layers recurrent layers run over a whole sequence.

    input: (L, N, input_size), or (N, L, input_size) with batch_first=True, or (L, input_size).
    Returns (output, h_n): output holds the last layer's h_t for every t, (L, N, hidden_size)
    (batch first if batch_first); h_n holds every layer's last h, (num_layers, N, hidden_size)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None):
        super().__init__()
        if bidirectional:
            raise NotImplementedError("RNN: bidirectional=True is not supported by ember")
        if num_layers < 1:
            raise ValueError(f"RNN: num_layers must be at least 1, got {num_layers}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.nonlinearity, self.bias, self.batch_first = nonlinearity, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self._act = _activation(nonlinearity)
        kw = dict(dtype=dtype, device=device)
        for k in range(num_layers):
            n_in = input_size if k == 0 else hidden_size
            setattr(self, f"weight_ih_l{k}", Parameter(creation.empty(hidden_size, n_in, **kw)))
            setattr(self, f"weight_hh_l{k}", Parameter(creation.empty(hidden_size, hidden_size, **kw)))
            if bias:
                setattr(self, f"bias_ih_l{k}", Parameter(creation.empty(hidden_size, **kw)))
                setattr(self, f"bias_hh_l{k}", Parameter(creation.empty(hidden_size, **kw)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if input.ndim not in (2, 3) or input._data.shape[-1] != self.input_size:
            layout = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
            raise ShapeError(f"{self!r} expected input of shape {layout} or (L, H_in) with "
                             f"H_in = {self.input_size}, got {tuple(input.shape)}")
        batched = input.ndim == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        steps, n = x._data.shape[0], x._data.shape[1]
        if hx is None:
            hx = creation.zeros(self.num_layers, n, self.hidden_size, dtype=x.dtype, device=x.device)
        elif not batched:
            hx = hx.unsqueeze(1)
        if tuple(hx.shape) != (self.num_layers, n, self.hidden_size):
            raise ShapeError(f"{self!r} expected hidden state of shape "
                             f"{(self.num_layers, n, self.hidden_size)}, got {tuple(hx.shape)}")
        seq = [x[t] for t in range(steps)]
        last = []
        for k in range(self.num_layers):
            w_ih, w_hh = getattr(self, f"weight_ih_l{k}"), getattr(self, f"weight_hh_l{k}")
            b_ih = getattr(self, f"bias_ih_l{k}") if self.bias else None
            b_hh = getattr(self, f"bias_hh_l{k}") if self.bias else None
            if k > 0 and self.dropout and self.training:
                seq = [F.dropout(s, self.dropout) for s in seq]
            h = hx[k]
            out = []
            for xt in seq:
                h = self._act(F.linear(xt, w_ih, b_ih) + F.linear(h, w_hh, b_hh))
                out.append(h)
            seq = out
            last.append(h)
        output, h_n = stack(seq), stack(last)
        if batched and self.batch_first:
            output = output.transpose(0, 1)
        if not batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
        return output, h_n

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        return s
