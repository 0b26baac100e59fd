"""Keras optimizers: settings now, an ember optimizer over the model's weights at compile/fit.
Keras 2 named the step size `lr`, Keras 3 `learning_rate`: both are accepted."""
from __future__ import annotations

from .. import optim


class Optimizer:
    """A Keras optimizer's settings; `build(params)` makes the ember optimizer that steps."""

    ember_class = None
    default_lr = 0.01

    def __init__(self, learning_rate: float | None = None, lr: float | None = None, **settings):
        if learning_rate is not None and lr is not None:
            raise TypeError(f"{type(self).__name__}: give learning_rate or lr, not both")
        self.learning_rate = learning_rate if learning_rate is not None else \
            lr if lr is not None else self.default_lr
        self.settings = settings

    def build(self, params) -> optim.Optimizer:
        """The ember optimizer that updates `params` with these settings."""
        return self.ember_class(params, lr=self.learning_rate, **self._ember_settings())

    def _ember_settings(self) -> dict:
        return {}

    def __repr__(self):
        return f"{type(self).__name__}(learning_rate={self.learning_rate})"


class SGD(Optimizer):
    """Keras SGD: ember.optim.SGD (default learning_rate 0.01)."""
    ember_class = optim.SGD

    def __init__(self, learning_rate=None, momentum: float = 0.0, nesterov: bool = False,
                 lr=None):
        super().__init__(learning_rate, lr)
        self.momentum, self.nesterov = momentum, nesterov

    def _ember_settings(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Keras Adam: ember.optim.Adam with Keras's defaults (lr 0.001, epsilon 1e-7)."""
    ember_class = optim.Adam
    default_lr = 0.001

    def __init__(self, learning_rate=None, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, lr=None):
        super().__init__(learning_rate, lr)
        self.betas, self.epsilon = (beta_1, beta_2), epsilon

    def _ember_settings(self):
        return {"betas": self.betas, "eps": self.epsilon}


class RMSprop(Optimizer):
    """Keras RMSprop: ember.optim.RMSprop, Keras's `rho` is PyTorch's `alpha`."""
    ember_class = optim.RMSprop
    default_lr = 0.001

    def __init__(self, learning_rate=None, rho: float = 0.9, epsilon: float = 1e-7, lr=None):
        super().__init__(learning_rate, lr)
        self.rho, self.epsilon = rho, epsilon

    def _ember_settings(self):
        return {"alpha": self.rho, "eps": self.epsilon}


class Adagrad(Optimizer):
    """Keras Adagrad: ember.optim.Adagrad with Keras's defaults (lr 0.001, accumulators starting
    at 0.1, epsilon 1e-7; PyTorch's are 0.01, 0 and 1e-10)."""
    ember_class = optim.Adagrad
    default_lr = 0.001

    def __init__(self, learning_rate=None, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, lr=None):
        super().__init__(learning_rate, lr)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _ember_settings(self):
        return {"initial_accumulator_value": self.initial_accumulator_value, "eps": self.epsilon}


_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad}


def get(spec) -> Optimizer | optim.Optimizer:
    """A Keras optimizer from a name ('sgd', 'adam'...), a Keras optimizer, or an ember one."""
    if isinstance(spec, (Optimizer, optim.Optimizer)):
        return spec
    if isinstance(spec, str) and spec.lower() in _BY_NAME:
        return _BY_NAME[spec.lower()]()
    raise ValueError(f"unknown optimizer {spec!r}; use one of {sorted(_BY_NAME)}, a "
                     f"keras.optimizers object or an ember.optim optimizer")
