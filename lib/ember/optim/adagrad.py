"""Adagrad (Duchi et al.): each coordinate's step shrinks with its summed squared gradients.

    clr = lr / (1 + (t - 1) * lr_decay)
    g   = grad (+ weight_decay * p)
    sum = sum + g**2
    p   = p - clr * g / (sqrt(sum) + eps)
"""
from __future__ import annotations

from .. import backend
from ..tensor import Tensor
from .optimizer import Optimizer


class Adagrad(Optimizer):
    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *,
                 maximize: bool = False):
        for name, value in (("learning rate", lr), ("lr_decay", lr_decay), ("eps", eps),
                            ("weight_decay", weight_decay),
                            ("initial_accumulator_value", initial_accumulator_value)):
            if value < 0.0:
                raise ValueError(f"Adagrad: invalid {name} {value} (must be >= 0)")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _init_state(self, p, group):
        xp = backend.array_module_of(p._data)
        total = xp.full_like(p._data, group["initial_accumulator_value"])
        self.state[p] = {"step": self._new_step(), "sum": Tensor._make(total, p._device)}

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self._init_state(p, group)

    def _update(self, p, grad, state, group):
        xp = backend.array_module_of(p._data)
        if not state:
            self._init_state(p, group)
            state = self.state[p]
        t = self._count_step(state)
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p._data
        clr = group["lr"] / (1 + (t - 1) * group["lr_decay"])
        s = state["sum"]._data
        s += grad * grad
        p._data -= clr * grad / (xp.sqrt(s) + group["eps"])
