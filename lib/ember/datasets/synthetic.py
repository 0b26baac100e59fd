"""Generated datasets: the spirals of CS231n's neural-network case study, and linear regression."""
from __future__ import annotations

import numpy as np

from ..creation import from_numpy
from ..tensor import Tensor


def make_spirals(n: int = 100, classes: int = 3, noise: float = 0.2, seed: int = 0
                 ) -> tuple[Tensor, Tensor]:
    """`classes` interleaved spiral arms of `n` points each (not linearly separable).

    Returns X float32 (n * classes, 2) and y int64 (n * classes,), ordered by class.
    """
    if n <= 0 or classes <= 0:
        raise ValueError(f"make_spirals: n and classes must be positive, got n={n}, "
                         f"classes={classes}")
    rng = np.random.default_rng(seed)
    X = np.zeros((n * classes, 2), dtype=np.float32)
    y = np.zeros(n * classes, dtype=np.int64)
    for k in range(classes):
        rows = slice(n * k, n * (k + 1))
        r = np.linspace(0.0, 1.0, n)
        theta = np.linspace(k * 4.0, (k + 1) * 4.0, n) + rng.standard_normal(n) * noise
        X[rows] = np.c_[r * np.sin(theta), r * np.cos(theta)]
        y[rows] = k
    return from_numpy(X), from_numpy(y)


def make_regression(n_samples: int = 100, n_features: int = 1, noise: float = 0.1,
                    seed: int = 0, coef: bool = False):
    """y = X @ w + b + noise with X ~ N(0, 1), w ~ U(-2, 2), b ~ U(-1, 1).

    Returns X float32 (n_samples, n_features) and y float32 (n_samples, 1) (shaped for
    `nn.Linear(n_features, 1)` and `nn.MSELoss`); with coef=True also the true (w, b) as numpy.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    w = rng.uniform(-2.0, 2.0, size=(n_features, 1))
    b = rng.uniform(-1.0, 1.0)
    y = X @ w + b + noise * rng.standard_normal((n_samples, 1))
    out = from_numpy(X.astype(np.float32)), from_numpy(y.astype(np.float32))
    return (*out, (w, b)) if coef else out
