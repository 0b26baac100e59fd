"""ember.viz costs: LossPlot's redraw rate and overhead during training, and graph drawing time.

    python bench/viz.py            (make bench runs every bench/*.py)

LossPlot promises a plot that moves (at least 2 redraws per second of training) for a plotting
overhead of at most 5% even on a very fast loop. Two loops are measured, each alternately with
and without a plot: a numpy two-layer-net SGD step of about 0.06 ms (the fast case) and a small
ember MLP step (about a millisecond). Printed: redraws per second of wall time, the cost of one
redraw, and the overhead = time spent drawing (plus serializing the picture for the browser, as a
kernel does) + update() calls, as a fraction of the loop's time.
"""
from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import numpy as np  # noqa: E402

import ember  # noqa: E402
import ember.viz as viz  # noqa: E402


def numpy_step():
    """A two-layer net's forward, backward and SGD update in numpy: ~0.06 ms."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((128, 48)), rng.standard_normal((128, 1))
    w1, w2 = rng.standard_normal((48, 64)) * 0.2, rng.standard_normal((64, 1)) * 0.2

    def step():
        nonlocal w1, w2
        h = np.maximum(x @ w1, 0)
        d = h @ w2 - y
        gh = (d @ w2.T) * (h > 0)
        w2 -= 1e-3 * (h.T @ d)
        w1 -= 1e-3 * (x.T @ gh)
        return float((d * d).mean())
    return step


def ember_step():
    ember.manual_seed(0)
    x = ember.randn(32, 8)
    y = ember.randn(32, 1)
    w1 = ember.randn(8, 16, requires_grad=True)
    w2 = ember.randn(16, 1, requires_grad=True)
    params = [w1, w2]

    def step():
        loss = (((x @ w1).relu() @ w2 - y) ** 2).mean()
        loss.backward()
        with ember.no_grad():
            for p in params:
                p.data = p.data - 0.01 * p.grad
                p.grad = None
        return loss.item()
    return step


class Serialized(viz.LossPlot):
    """A LossPlot that also pays for turning each picture into the JSON a kernel sends."""

    def draw(self):
        t = self.clock()
        super().draw()
        json.dumps({"value": self._svg.value, "status": self._status.value})
        extra = self.clock() - t - (self.draw_time - getattr(self, "_seen", 0.0))
        self.draw_time += extra
        self._spent += extra
        self._seen = self.draw_time


def loop(make_step, seconds: float, plot=None) -> tuple:
    step = make_step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        loss = step()
        if plot is not None:
            plot.update(n, loss=loss, lr=0.01)
        n += 1
    if plot is not None:
        plot.flush()
    return n, time.perf_counter() - t0


def measure(name, make_step, seconds):
    base, with_plot, rates, fracs, costs = [], [], [], [], []
    for _ in range(3):              # alternate, keep the best of each: the machine may be busy
        n0, t0 = loop(make_step, seconds)
        base.append(t0 / n0)
        plot = Serialized(title="bench", lr=True)
        n1, t1 = loop(make_step, seconds, plot)
        with_plot.append(t1 / n1)
        rates.append(plot.n_draws / t1)
        fracs.append(plot.draw_time / t1)
        costs.append(plot.draw_time / plot.n_draws)
    per_step, per_step_plot = min(base), min(with_plot)
    quiet = viz.LossPlot(min_interval=float("inf"))
    quiet.update(0, loss=1.0)
    t = time.perf_counter()
    for k in range(100_000):
        quiet.update(k, loss=0.5, lr=0.01)
    per_update = (time.perf_counter() - t) / 100_000
    overhead = max(fracs) + per_update / per_step
    print(f"LossPlot on {name} ({per_step * 1e3:.3f} ms/step; 3 x {seconds:.0f} s each way):")
    print(f"  redraws per second of training: {min(rates):.1f} (at least 2 wanted)")
    print(f"  one redraw: {np.median(costs) * 1e3:.1f} ms (SVG text + JSON for the browser)")
    print(f"  update() without a redraw: {per_update * 1e6:.2f} us "
          f"({per_update / per_step:.1%} of a step)")
    print(f"  overhead ratio (drawing + updates) / loop time = {overhead:.1%} (at most 5% wanted)")
    print(f"  wall-clock ratio, best step time with / without = {per_step_plot / per_step:.3f} "
          f"(noisy on a shared machine)")


def main():
    seconds = float(os.environ.get("BENCH_VIZ_SECONDS", "4"))
    measure("a numpy step", numpy_step, seconds)
    measure("an ember MLP step", ember_step, seconds)

    for n_layers in (4, 16, 40):
        ember.manual_seed(0)
        h = ember.randn(16, 32)
        for _ in range(n_layers):
            w = ember.randn(32, 32, requires_grad=True)
            b = ember.zeros(32, requires_grad=True)
            h = (h @ w + b).relu()
        loss = h.mean()
        t = time.perf_counter()
        d = viz.describe(loss)
        lay = viz.layout(d, direction="auto")
        svg = viz.render_svg(d, lay)
        dt = time.perf_counter() - t
        print(f"graph of {len(d):4d} nodes: describe + layout + SVG in {dt * 1e3:7.1f} ms "
              f"({len(svg) / 1024:.0f} KiB, {lay.direction}, {lay.width:.0f} px wide, "
              f"{lay.crossings} crossings)")


if __name__ == "__main__":
    main()
