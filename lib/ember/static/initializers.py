"""Initializers: callables `init(shape, dtype) -> node` giving a Variable's initial value.
Xavier/Glorot keeps the variance of activations about equal from layer to layer:
Var(w) = 2 / (fan_in + fan_out)."""
from __future__ import annotations

import math

from .graph import Node


def _fans(shape) -> tuple[int, int]:
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    def __call__(self, shape, dtype=None) -> Node:
        raise NotImplementedError

    def _dtype(self, dtype):
        from . import float32
        return float32 if dtype is None else dtype


class zeros(Initializer):
    def __call__(self, shape, dtype=None) -> Node:
        from . import zeros as z
        return z(shape, self._dtype(dtype))


class ones(Initializer):
    def __call__(self, shape, dtype=None) -> Node:
        from . import ones as o
        return o(shape, self._dtype(dtype))


class constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None) -> Node:
        from . import fill, cast
        return cast(fill(shape, float(self.value)), self._dtype(dtype))


class random_normal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 1.0, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None) -> Node:
        from . import random_normal as rn
        return rn(shape, self.mean, self.stddev, self._dtype(dtype), seed=self.seed)


class random_uniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None) -> Node:
        from . import random_uniform as ru
        return ru(shape, self.minval, self.maxval, self._dtype(dtype), seed=self.seed)


class glorot_uniform(Initializer):
    """Uniform on [-a, a], a = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None) -> Node:
        fan_in, fan_out = _fans(shape)
        a = math.sqrt(6.0 / (fan_in + fan_out))
        return random_uniform(-a, a, self.seed)(shape, dtype)


class glorot_normal(Initializer):
    """Normal with stddev sqrt(2 / (fan_in + fan_out))."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None) -> Node:
        fan_in, fan_out = _fans(shape)
        return random_normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), self.seed)(shape, dtype)


class he_normal(Initializer):
    """Normal with stddev sqrt(2 / fan_in), for ReLU nets (He et al., 2015)."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None) -> Node:
        return random_normal(0.0, math.sqrt(2.0 / _fans(shape)[0]), self.seed)(shape, dtype)


def xavier_initializer(uniform: bool = True, seed=None) -> Initializer:
    """tf.contrib.layers.xavier_initializer: Glorot uniform (or normal)."""
    return glorot_uniform(seed) if uniform else glorot_normal(seed)


xavier_uniform = glorot_uniform
zeros_initializer = zeros
random_normal_initializer = random_normal
glorot_uniform_initializer = glorot_uniform
