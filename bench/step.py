"""One training step of the lecture's two-layer net: ember autograd vs numpy manual backprop.

    python bench/step.py

Targets (issue 2): ember <= 1.3x numpy at the lecture size (64x1000x100x10), <= 3x at 8x32x32x4.
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import ember  # noqa: E402
from timing import compare, report  # noqa: E402


def make_steps(N: int, D: int, H: int, O: int, lr: float = 1e-6):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, D)).astype(np.float32)
    y = rng.standard_normal((N, O)).astype(np.float32)
    w1_init = rng.standard_normal((D, H)).astype(np.float32)
    w2_init = rng.standard_normal((H, O)).astype(np.float32)

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

    return numpy_step, ember_step


def main() -> dict:
    ratios = {}
    for (N, D, H, O), repeats in (((64, 1000, 100, 10), 300), ((8, 32, 32, 4), 3000)):
        numpy_step, ember_step = make_steps(N, D, H, O)
        med = compare({"numpy manual backprop": numpy_step, "ember autograd": ember_step},
                      repeats=repeats)
        report(f"two-layer net step, N,D,H,O = {N},{D},{H},{O} (median of {repeats})", med,
               "numpy manual backprop")
        ratios[(N, D, H, O)] = med["ember autograd"] / med["numpy manual backprop"]
    return ratios


if __name__ == "__main__":
    main()
