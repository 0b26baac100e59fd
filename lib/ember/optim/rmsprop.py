"""RMSprop (Hinton's lecture 6e), PyTorch's variant with momentum and the centered option.

    g = grad (+ weight_decay * p)
    v = alpha * v + (1 - alpha) * g**2
    centered:  g_avg = alpha * g_avg + (1 - alpha) * g ;  v~ = v - g_avg**2   else v~ = v
    momentum > 0:  buf = momentum * buf + g / (sqrt(v~) + eps) ;  p = p - lr * buf
    otherwise:     p = p - lr * g / (sqrt(v~) + eps)
"""
from __future__ import annotations

from .. import backend
from .optimizer import Optimizer


class RMSprop(Optimizer):
    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False):
        for name, value in (("learning rate", lr), ("eps", eps), ("momentum", momentum),
                            ("weight_decay", weight_decay), ("alpha", alpha)):
            if value < 0.0:
                raise ValueError(f"RMSprop: invalid {name} {value} (must be >= 0)")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _update(self, p, grad, state, group):
        xp = backend.array_module_of(p._data)
        alpha, wd, mom = group["alpha"], group["weight_decay"], group["momentum"]
        if not state:
            state["step"] = self._new_step()
            state["square_avg"] = self._zeros_like(p)
            if mom > 0:
                state["momentum_buffer"] = self._zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = self._zeros_like(p)
        self._count_step(state)
        if wd != 0:
            grad = grad + wd * p._data
        v = state["square_avg"]._data
        v *= alpha
        v += (1 - alpha) * grad * grad
        if group["centered"]:
            g_avg = state.setdefault("grad_avg", self._zeros_like(p))._data
            g_avg *= alpha
            g_avg += (1 - alpha) * grad
            avg = xp.sqrt(v - g_avg * g_avg)
        else:
            avg = xp.sqrt(v)
        avg += group["eps"]
        if mom > 0:
            buf = state.setdefault("momentum_buffer", self._zeros_like(p))._data
            buf *= mom
            buf += grad / avg
            p._data -= group["lr"] * buf
        else:
            p._data -= group["lr"] * (grad / avg)
