"""One training step of the lecture's two-layer net: ember autograd vs numpy manual backprop.

    python bench/step.py

Targets: ember <= 1.3x numpy at the lecture size (64x1000x100x10), in float32 and float64; at
8x32x32x4, ember's overhead per step over numpy at most half of PyTorch CPU's (measured when torch
is importable; it is not a dependency). For scale, a bare pure-Python autograd
(bench/bare_autograd.py: the same ops and engine shape as ember, none of its checks) runs in the
same loop: the floor for eager autograd in Python here. All are first checked to make the same
update from the same weights.
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


def _data(N: int, D: int, H: int, O: int, dtype=np.float32):
    rng = np.random.default_rng(0)
    return tuple(rng.standard_normal(s).astype(dtype) for s in ((N, D), (N, O), (D, H), (H, O)))


def make_steps(N: int, D: int, H: int, O: int, lr: float = 1e-6, dtype=np.float32):
    """numpy_step, ember_step; each has .weights() -> (w1, w2) as numpy arrays."""
    x, y, w1_init, w2_init = _data(N, D, H, O, dtype)
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


def torch_step_or_none(N: int, D: int, H: int, O: int, lr: float = 1e-6, dtype=np.float32):
    """The same step in PyTorch (CPU, one thread), or None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    x, y, w1_init, w2_init = (torch.from_numpy(a.copy()) for a in _data(N, D, H, O, dtype))
    w1, w2 = w1_init.requires_grad_(), w2_init.requires_grad_()

    def step():
        loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            w1.sub_(lr * w1.grad)
            w2.sub_(lr * w2.grad)
            w1.grad.zero_()
            w2.grad.zero_()

    step.weights = lambda: (w1.detach().numpy(), w2.detach().numpy())
    return step


def check_same_update(N: int, D: int, H: int, O: int, lr: float = 1e-4, dtype=np.float32) -> None:
    """Two steps of each implementation from the same weights land on the same weights."""
    numpy_step, ember_step = make_steps(N, D, H, O, lr, dtype)
    bare_step, bare_weights = bare_autograd.make_step(*_data(N, D, H, O), lr)
    torch_step = torch_step_or_none(N, D, H, O, lr, dtype)
    steps = [numpy_step, ember_step, bare_step] + ([torch_step] if torch_step else [])
    for step in steps + steps:
        step()
    for got in (ember_step.weights(), bare_weights()) + ((torch_step.weights(),) if torch_step else ()):
        for a, b in zip(numpy_step.weights(), got):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * np.abs(a).max())


def main() -> dict:
    ratios = {}
    cases = (((64, 1000, 100, 10), 300, np.float32), ((64, 1000, 100, 10), 300, np.float64),
             ((8, 32, 32, 4), 3000, np.float32))
    for (N, D, H, O), repeats, dtype in cases:
        check_same_update(N, D, H, O, dtype=dtype)
        numpy_step, ember_step = make_steps(N, D, H, O, dtype=dtype)
        steps = {"numpy manual backprop": numpy_step, "ember autograd": ember_step}
        if dtype == np.float32:
            steps["bare Python autograd"] = bare_autograd.make_step(*_data(N, D, H, O), 1e-6)[0]
        torch_step = torch_step_or_none(N, D, H, O, dtype=dtype)
        if torch_step:
            steps["PyTorch CPU"] = torch_step
        med = compare(steps, repeats=repeats)
        name = np.dtype(dtype).name
        report(f"two-layer net step, N,D,H,O = {N},{D},{H},{O}, {name} (median of {repeats})", med,
               "numpy manual backprop")
        ratios[(N, D, H, O, name)] = med["ember autograd"] / med["numpy manual backprop"]
        if torch_step and (N, D, H, O) == (8, 32, 32, 4):
            over = {k: med[k] - med["numpy manual backprop"] for k in ("ember autograd", "PyTorch CPU")}
            print(f"  overhead over numpy: ember {over['ember autograd'] * 1e6:.1f} us, PyTorch "
                  f"{over['PyTorch CPU'] * 1e6:.1f} us: ember/PyTorch = "
                  f"{over['ember autograd'] / over['PyTorch CPU']:.2f} (target <= 0.5)")
    return ratios


if __name__ == "__main__":
    main()
