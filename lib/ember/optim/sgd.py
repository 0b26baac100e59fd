"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay (PyTorch's SGD).

    g   = grad (+ weight_decay * p)
    buf = g                                  on the first step with momentum
    buf = momentum * buf + (1 - dampening) * g   afterwards
    g   = g + momentum * buf  (nesterov)  or  buf
    p   = p - lr * g
"""
from __future__ import annotations

from ..tensor import Tensor
from .optimizer import Optimizer


class SGD(Optimizer):
    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False):
        if lr < 0.0:
            raise ValueError(f"SGD: invalid learning rate {lr} (must be >= 0)")
        if momentum < 0.0:
            raise ValueError(f"SGD: invalid momentum {momentum} (must be >= 0)")
        if weight_decay < 0.0:
            raise ValueError(f"SGD: invalid weight_decay {weight_decay} (must be >= 0)")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _update(self, p, grad, state, group):
        wd, mom = group["weight_decay"], group["momentum"]
        if wd != 0:
            grad = grad + wd * p._data
        if mom != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                state["momentum_buffer"] = Tensor._make(grad.copy(), p._device)
                buf = state["momentum_buffer"]._data
            else:
                buf = buf._data
                buf *= mom
                damp = group["dampening"]
                buf += grad if damp == 0 else (1 - damp) * grad  # no extra pass over memory
            grad = grad + mom * buf if group["nesterov"] else buf
        p._data -= group["lr"] * grad
