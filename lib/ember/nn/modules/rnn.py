"""Recurrent layers run over whole sequences: RNN, LSTM, GRU (the cells are in rnn_cell.py).

A Python loop over time steps calls the cell's step function: backpropagation through time is
just autograd walking back through that unrolled loop. Parameters are named and shaped as in
PyTorch (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ..._l1, ...), so state_dicts move
between the two.
"""
from __future__ import annotations

import math
import numbers
import warnings

from ... import creation
from ...errors import ShapeError
from ...ops.shape import cat, stack
from ...tensor import Tensor
from .. import functional as F, init
from ..module import Module
from ..parameter import Parameter
from .rnn_cell import RNNCell, activation, check_input_size, gru_step, lstm_step, rnn_step

__all__ = ["RNN", "LSTM", "GRU", "RNNCell"]


class RNNBase(Module):
    """A stack of num_layers recurrent layers over a sequence.

    input: (L, N, input_size), or (N, L, input_size) with batch_first=True, or unbatched
    (L, input_size). The output holds the last layer's h_t for every t; the final states hold
    every layer's last h (and c for LSTM), shape (num_layers, N, hidden_size).

    bidirectional=True adds a second layer per level that reads the sequence backwards
    (parameters suffixed _reverse); outputs of both directions are concatenated (2 * hidden_size
    features) and the final states are ordered layer 0 forward, layer 0 backward, layer 1, ..."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size={proj_size} is not supported by ember")
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"hidden_size must be a positive integer, got {hidden_size}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"num_layers must be a positive integer, got {num_layers}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"dropout option adds dropout after all but last recurrent layer, so "
                          f"non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        kw = dict(dtype=dtype, device=device)
        n, dirs = self.gates * hidden_size, self._suffixes()
        for k in range(num_layers):
            n_in = input_size if k == 0 else hidden_size * len(dirs)
            for d in dirs:
                setattr(self, f"weight_ih_l{k}{d}", Parameter(creation.empty(n, n_in, **kw)))
                setattr(self, f"weight_hh_l{k}{d}", Parameter(creation.empty(n, hidden_size, **kw)))
                if bias:
                    setattr(self, f"bias_ih_l{k}{d}", Parameter(creation.empty(n, **kw)))
                    setattr(self, f"bias_hh_l{k}{d}", Parameter(creation.empty(n, **kw)))
        self.reset_parameters()

    def flatten_parameters(self) -> None:
        """Nothing to do: PyTorch packs the weights into one buffer for cuDNN here."""

    @property
    def all_weights(self) -> list[list]:
        """The parameters of each layer (and direction): [[w_ih, w_hh, b_ih, b_hh], ...]."""
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh") if self.bias else \
            ("weight_ih", "weight_hh")
        return [[getattr(self, f"{n}_l{k}{d}") for n in names]
                for k in range(self.num_layers) for d in self._suffixes()]

    def _suffixes(self) -> tuple[str, ...]:
        return ("", "_reverse") if self.bidirectional else ("",)

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _layer(self, name: str) -> tuple:
        get = self.__dict__.get
        return (get(f"weight_ih_{name}"), get(f"bias_ih_{name}"), get(f"weight_hh_{name}"),
                get(f"bias_hh_{name}"))

    def _sequence(self, input: Tensor) -> tuple[Tensor, bool]:
        """The input as (L, N, H_in), and whether it was batched."""
        check_input_size(self, input, 3)
        batched = input.ndim == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        return x, batched

    def _state(self, hx: Tensor | None, x: Tensor, batched: bool, which: str) -> Tensor:
        n = x._data.shape[1]
        expected = (self.num_layers * len(self._suffixes()), n, self.hidden_size)
        if hx is None:
            return creation.zeros(*expected, dtype=x.dtype, device=x.device)
        if hx.ndim != (3 if batched else 2):
            kind = "batched 3-D" if batched else "unbatched 2-D"
            raise ShapeError(f"{self._get_name()}: for a {kind} input, {which} should also be "
                             f"{3 if batched else 2}-D but got {hx.ndim}-D (shape "
                             f"{tuple(hx.shape)})")
        h = hx if batched else hx.unsqueeze(1)
        if tuple(h.shape) != expected:
            raise ShapeError(f"{self._get_name()}: Expected {which} size {expected}, got "
                             f"{list(h.shape)} (num_layers * num_directions, batch, "
                             f"hidden_size)")
        return h

    def _run(self, x: Tensor, states: list[list[Tensor]], step) -> tuple[Tensor, list]:
        """Run every layer (and direction) over the sequence; states[j][i] is state j (h, or h
        and c) of layer-direction i, replaced by the final one."""
        seq = [x[t] for t in range(x._data.shape[0])]
        dirs = self._suffixes()
        for k in range(self.num_layers):
            if k > 0 and self.dropout and self.training:
                seq = [F.dropout(s, self.dropout) for s in seq]
            outs = []
            for d, suffix in enumerate(dirs):
                w_ih, b_ih, w_hh, b_hh = self._layer(f"l{k}{suffix}")
                i = k * len(dirs) + d
                layer_state = tuple(s[i] for s in states)
                out = []
                for xt in (reversed(seq) if suffix else seq):
                    layer_state = step(F.linear(xt, w_ih, b_ih), layer_state, w_hh, b_hh)
                    out.append(layer_state[0])
                outs.append(out[::-1] if suffix else out)
                for s, final in zip(states, layer_state):
                    s[i] = final
            seq = outs[0] if len(dirs) == 1 else [cat(ht, -1) for ht in zip(*outs)]
        return stack(seq), states

    def _output(self, output: Tensor, batched: bool) -> Tensor:
        if not batched:
            return output.squeeze(1)
        return output.transpose(0, 1) if self.batch_first else output

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
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class _SingleState(RNNBase):
    """RNN and GRU: one state h, forward(input, h_0) -> (output, h_n)."""

    def _step(self, gx, state, w_hh, b_hh):
        raise NotImplementedError

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x, batched = self._sequence(input)
        h0 = self._state(hx, x, batched, "hidden")
        output, (h,) = self._run(x, [list(h0)], self._step)
        h_n = stack(h)
        return self._output(output, batched), h_n if batched else h_n.squeeze(1)


class RNN(_SingleState):
    """Elman RNN: h_t = tanh(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None):
        self._act = activation(nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def _step(self, gx, state, w_hh, b_hh):
        return (rnn_step(gx, state[0], w_hh, b_hh, self._act),)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (f", nonlinearity={self.nonlinearity}" if self.nonlinearity != "tanh" else "")


class GRU(_SingleState):
    """Gated recurrent unit (Cho et al., 2014): gates r, z, n stacked in weight_ih_l{k}
    (3 * hidden_size rows); see GRUCell for one step's equations."""

    gates = 3

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)

    def _step(self, gx, state, w_hh, b_hh):
        return (gru_step(gx, state[0], w_hh, b_hh),)


class LSTM(RNNBase):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997): gates i, f, g, o stacked in
    weight_ih_l{k} (4 * hidden_size rows). forward(input, (h_0, c_0)) -> output, (h_n, c_n)."""

    gates = 4

    @staticmethod
    def _step(gx, state, w_hh, b_hh):
        return lstm_step(gx, state[0], state[1], w_hh, b_hh)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple:
        x, batched = self._sequence(input)
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTM: hx must be a tuple (h_0, c_0) of two tensors of shape "
                            f"(num_layers, batch, hidden_size), got {type(hx).__name__}")
        h0 = self._state(None if hx is None else hx[0], x, batched, "hidden[0]")
        c0 = self._state(None if hx is None else hx[1], x, batched, "hidden[1]")
        output, (h, c) = self._run(x, [list(h0), list(c0)], self._step)
        h_n, c_n = stack(h), stack(c)
        if not batched:
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return self._output(output, batched), (h_n, c_n)
