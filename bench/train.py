"""Training steps with ember.nn (and ember.optim) against the same step written in plain numpy.

    python bench/train.py

Section 1, nn: the lecture's two-layer net as nn.Sequential(Linear, ReLU, Linear) with
MSELoss(reduction='sum'), forward + backward + a hand-written SGD update, against the same net
in raw ember ops and in numpy with manual backprop. Target: nn <= 1.15x raw ember ops at the
lecture size (64x1000x100x10); the layers must not add much over the ops they run.

Section 2, optim: the same model stepped by an optimizer (Adam) against numpy; see
`optim_section` below, where the optimizer benchmarks go.
"""
from __future__ import annotations

import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import ember  # noqa: E402
from timing import compare, report  # noqa: E402

SIZES = (((64, 1000, 100, 10), 300), ((8, 32, 32, 4), 3000))


def _data(N: int, D: int, O: int):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((N, D)).astype(np.float32),
            rng.standard_normal((N, O)).astype(np.float32))


def make_model(D: int, H: int, O: int):
    ember.manual_seed(0)
    return ember.nn.Sequential(ember.nn.Linear(D, H), ember.nn.ReLU(), ember.nn.Linear(H, O))


def nn_steps(N: int, D: int, H: int, O: int, lr: float = 1e-6) -> tuple[dict, dict]:
    """One SGD step of the same net (same initial weights) three ways, and for each a function
    returning its current weights as numpy arrays."""
    x, y = _data(N, D, O)
    model = make_model(D, H, O)
    w1, b1, w2, b2 = (p.detach().numpy().copy() for p in model.parameters())

    def numpy_step():
        h = x @ w1.T + b1
        h_relu = np.maximum(h, 0)
        y_pred = h_relu @ w2.T + b2
        grad_y = 2.0 * (y_pred - y)
        grad_w2 = grad_y.T @ h_relu
        grad_b2 = grad_y.sum(0)
        grad_h = grad_y @ w2
        grad_h[h < 0] = 0
        grad_w1 = grad_h.T @ x
        grad_b1 = grad_h.sum(0)
        for p, g in ((w1, grad_w1), (b1, grad_b1), (w2, grad_w2), (b2, grad_b2)):
            p -= lr * g

    ex, ey = ember.from_numpy(x), ember.from_numpy(y)
    raw = [ember.tensor(a, requires_grad=True) for a in (w1, b1, w2, b2)]

    def raw_step():
        rw1, rb1, rw2, rb2 = raw
        y_pred = (ex.mm(rw1.t()) + rb1).clamp(min=0).mm(rw2.t()) + rb2
        loss = (y_pred - ey).pow(2).sum()
        loss.backward()
        with ember.no_grad():
            for p in raw:
                p -= lr * p.grad
                p.grad = None

    loss_fn = ember.nn.MSELoss(reduction="sum")
    params = list(model.parameters())

    def nn_step():
        loss = loss_fn(model(ex), ey)
        model.zero_grad()
        loss.backward()
        with ember.no_grad():
            for p in params:
                p -= lr * p.grad

    steps = {"numpy manual backprop": numpy_step, "ember raw ops": raw_step, "ember nn": nn_step}
    weights = {"numpy manual backprop": lambda: [w1, b1, w2, b2],
               "ember raw ops": lambda: [p.detach().numpy() for p in raw],
               "ember nn": lambda: [p.detach().numpy() for p in params]}
    return steps, weights


def check_same_steps(N: int = 16, D: int = 20, H: int = 8, O: int = 3) -> None:
    """The three candidates compute the same thing: equal weights after a few steps."""
    steps, weights = nn_steps(N, D, H, O, lr=1e-3)
    for fn in steps.values():
        for _ in range(3):
            fn()
    ref = weights["numpy manual backprop"]()
    for name, get in weights.items():
        for a, b in zip(ref, get()):
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6, err_msg=name)


def nn_section() -> dict:
    check_same_steps()
    ratios = {}
    for (N, D, H, O), repeats in SIZES:
        med = compare(nn_steps(N, D, H, O)[0], repeats=repeats)
        report(f"nn: two-layer net step, N,D,H,O = {N},{D},{H},{O} (median of {repeats})", med,
               "numpy manual backprop")
        ratios[(N, D, H, O)] = {"nn/numpy": med["ember nn"] / med["numpy manual backprop"],
                                "nn/raw": med["ember nn"] / med["ember raw ops"]}
        print(f"  ember nn / ember raw ops: {ratios[(N, D, H, O)]['nn/raw']:.2f}x")
    return ratios


def adam_steps(D: int, H: int, O: int, lr: float = 1e-3) -> tuple[dict, dict]:
    """`Adam.step()` on make_model's parameters (gradients fixed) against the same update in
    numpy, written as efficiently in place; and for each a function returning the weights."""
    model = make_model(D, H, O)
    params = list(model.parameters())
    rng = np.random.default_rng(1)
    for p in params:
        p.grad = ember.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32))
    opt = ember.optim.Adam(params, lr=lr)
    b1, b2, eps = 0.9, 0.999, 1e-8
    ws = [p.detach().numpy().copy() for p in params]
    gs = [p.grad.numpy() for p in params]
    ms, vs = [np.zeros_like(w) for w in ws], [np.zeros_like(w) for w in ws]
    t = [0]

    def numpy_adam():
        t[0] += 1
        step_size = lr / (1 - b1 ** t[0])
        root_bc2 = math.sqrt(1 - b2 ** t[0])  # a Python float: np.float64 would upcast to float64
        for w, g, m, v in zip(ws, gs, ms, vs):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            denom = np.sqrt(v)
            denom /= root_bc2
            denom += eps
            w -= step_size * m / denom

    steps = {"numpy Adam": numpy_adam, "ember optim.Adam": opt.step}
    weights = {"numpy Adam": lambda: ws,
               "ember optim.Adam": lambda: [p.detach().numpy() for p in params]}
    return steps, weights


def optim_section() -> dict:
    """Adam.step() against numpy Adam. Target: <= 1.2x at the lecture size (the update is a
    handful of array ops per parameter; the optimizer must not add much around them)."""
    steps, weights = adam_steps(20, 8, 3)
    for fn in steps.values():
        for _ in range(3):
            fn()
    for a, b in zip(weights["numpy Adam"](), weights["ember optim.Adam"]()):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)
    ratios = {}
    for (N, D, H, O), repeats in SIZES:
        med = compare(adam_steps(D, H, O)[0], repeats=repeats)
        report(f"optim: Adam step of the D,H,O = {D},{H},{O} net (median of {repeats})", med,
               "numpy Adam")
        ratios[(D, H, O)] = med["ember optim.Adam"] / med["numpy Adam"]
    return ratios


def main() -> dict:
    return {"nn": nn_section(), "optim": optim_section()}


if __name__ == "__main__":
    main()
