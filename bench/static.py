"""The lecture's two-layer net training step three ways: numpy manual backprop, ember eager
(autograd), and the ember.static graph (symbolic gradients, update by assign inside the graph),
optimized (fusion, buffer reuse) and not.

    python bench/static.py

Targets (issue 5): optimized static <= 1.0x numpy, and faster than eager, at 64x1000x100x10.
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import ember.static as tf  # noqa: E402
from step import make_steps  # noqa: E402
from timing import compare, report  # noqa: E402


def make_static_step(N: int, D: int, H: int, O: int, lr: float = 1e-6, optimize: bool = True):
    """The lecture's TF-1 program (sum of squares loss, as the numpy reference), same data."""
    rng = np.random.default_rng(0)
    xv = rng.standard_normal((N, D)).astype(np.float32)
    yv = rng.standard_normal((N, O)).astype(np.float32)
    w1_init = rng.standard_normal((D, H)).astype(np.float32)
    w2_init = rng.standard_normal((H, O)).astype(np.float32)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, shape=(N, D))
        y = tf.placeholder(tf.float32, shape=(N, O))
        w1, w2 = tf.Variable(w1_init), tf.Variable(w2_init)
        h = tf.maximum(tf.matmul(x, w1), 0)
        y_pred = tf.matmul(h, w2)
        loss = tf.reduce_sum((y_pred - y) ** 2)
        grad_w1, grad_w2 = tf.gradients(loss, [w1, w2])
        updates = tf.group(w1.assign(w1 - lr * grad_w1), w2.assign(w2 - lr * grad_w2))
        init = tf.global_variables_initializer()
    sess = tf.Session(graph=graph, optimize=optimize)
    sess.run(init)
    feeds = {x: xv, y: yv}
    return (lambda: sess.run(updates, feeds)), sess, updates, feeds


def main() -> dict:
    ratios = {}
    for (N, D, H, O), repeats in (((64, 1000, 100, 10), 400), ((8, 32, 32, 4), 3000)):
        numpy_step, eager_step = make_steps(N, D, H, O)
        static_step, sess, updates, feeds = make_static_step(N, D, H, O)
        plain_step = make_static_step(N, D, H, O, optimize=False)[0]
        med = compare({"numpy manual backprop": numpy_step, "ember eager": eager_step,
                       "ember.static optimized": static_step, "ember.static unoptimized": plain_step},
                      repeats=repeats, warmup=50)
        report(f"two-layer net training step, N,D,H,O = {N},{D},{H},{O} (median of {repeats})", med,
               "numpy manual backprop")
        s = med["ember.static optimized"]
        print(f"  static/numpy = {s / med['numpy manual backprop']:.2f}x   "
              f"static/eager = {s / med['ember eager']:.2f}x")
        ratios[(N, D, H, O)] = {"static/numpy": s / med["numpy manual backprop"],
                                "static/eager": s / med["ember eager"]}
    print("\nthe optimized graph of the 64x1000x100x10 step:")
    numpy_step, eager_step = make_steps(64, 1000, 100, 10)
    _, sess, updates, feeds = make_static_step(64, 1000, 100, 10)
    print(sess.compiled_graph(updates, feeds).listing())
    return ratios


if __name__ == "__main__":
    main()
