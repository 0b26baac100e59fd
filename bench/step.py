"""One training step of the lecture's two-layer net: ember autograd vs numpy manual backprop.

    python bench/step.py

Targets (issue 2): ember <= 1.3x numpy at the lecture size (64x1000x100x10), <= 3x at 8x32x32x4.
For scale, a bare pure-Python autograd (bench/bare_autograd.py: the same ops and engine shape as
ember, none of its checks) runs in the same loop: the floor for eager autograd in Python here.
The three are first checked to make the same update from the same weights.
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import bare_autograd  # noqa: E402
import ember  # noqa: E402
from timing import compare, report  # noqa: E402


def _data(N: int, D: int, H: int, O: int):
    rng = np.random.default_rng(0)
    return tuple(rng.standard_normal(s).astype(np.float32) for s in ((N, D), (N, O), (D, H), (H, O)))


def make_steps(N: int, D: int, H: int, O: int, lr: float = 1e-6):
    """numpy_step, ember_step; each has .weights() -> (w1, w2) as numpy arrays."""
    x, y, w1_init, w2_init = _data(N, D, H, O)
    nw = {"w1": w1_init.copy(), "w2": w2_init.copy()}

    def numpy_step():
        w1, w2 = nw["w1"], nw["w2"]
        h = x.dot(w1)
        h_relu = np.maximum(h, 0)
        y_pred = h_relu.dot(w2)
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.T.dot(grad_y_pred)
        grad_h = grad_y_pred.dot(w2.T)
        grad_h[h < 0] = 0
        grad_w1 = x.T.dot(grad_h)
        w1 -= lr * grad_w1
        w2 -= lr * grad_w2

    ex, ey = ember.from_numpy(x), ember.from_numpy(y)
    w1 = ember.tensor(w1_init, requires_grad=True)
    w2 = ember.tensor(w2_init, requires_grad=True)

    def ember_step():
        nonlocal w1, w2
        y_pred = ex.mm(w1).clamp(min=0).mm(w2)
        loss = (y_pred - ey).pow(2).sum()
        loss.backward()
        with ember.no_grad():
            w1 -= lr * w1.grad
            w2 -= lr * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()

    numpy_step.weights = lambda: (nw["w1"], nw["w2"])
    ember_step.weights = lambda: (w1.detach().numpy(), w2.detach().numpy())
    return numpy_step, ember_step


def check_same_update(N: int, D: int, H: int, O: int, lr: float = 1e-4) -> None:
    """Two steps of each implementation from the same weights land on the same weights."""
    numpy_step, ember_step = make_steps(N, D, H, O, lr)
    bare_step, bare_weights = bare_autograd.make_step(*_data(N, D, H, O), lr)
    for step in (numpy_step, ember_step, bare_step, numpy_step, ember_step, bare_step):
        step()
    for got in (ember_step.weights(), bare_weights()):
        for a, b in zip(numpy_step.weights(), got):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * np.abs(a).max())


def main() -> dict:
    ratios = {}
    for (N, D, H, O), repeats in (((64, 1000, 100, 10), 300), ((8, 32, 32, 4), 3000)):
        check_same_update(N, D, H, O)
        numpy_step, ember_step = make_steps(N, D, H, O)
        bare_step, _ = bare_autograd.make_step(*_data(N, D, H, O), 1e-6)
        med = compare({"numpy manual backprop": numpy_step, "ember autograd": ember_step,
                       "bare Python autograd": bare_step}, repeats=repeats)
        report(f"two-layer net step, N,D,H,O = {N},{D},{H},{O} (median of {repeats})", med,
               "numpy manual backprop")
        ratios[(N, D, H, O)] = med["ember autograd"] / med["numpy manual backprop"]
    return ratios


if __name__ == "__main__":
    main()
