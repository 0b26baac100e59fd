"""ember.viz costs: LossPlot's overhead on a fast training loop, and graph layout/drawing time.

    python bench/viz.py            (make bench runs every bench/*.py)

LossPlot promises that plotting never costs more than ~5% of a fast loop; this measures it on a
small ember MLP trained with plain SGD (about a millisecond per step) and prints the ratio.
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import ember  # noqa: E402
import ember.viz as viz  # noqa: E402


def make_step():
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


def loop(seconds: float, plot=None) -> tuple:
    step = make_step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        loss = step()
        if plot is not None:
            plot.update(n, loss=loss, lr=0.01)
        n += 1
    return n, time.perf_counter() - t0


def main():
    seconds = float(os.environ.get("BENCH_VIZ_SECONDS", "6"))
    base, with_plot, draw_frac = [], [], []
    for _ in range(3):              # alternate, keep the best of each: the machine may be busy
        n0, t0 = loop(seconds)
        base.append(t0 / n0)
        plot = viz.LossPlot(title="bench")
        n1, t1 = loop(seconds, plot)
        with_plot.append(t1 / n1)
        draw_frac.append(plot.draw_time / t1)
    per_step, per_step_plot = min(base), min(with_plot)
    quiet = viz.LossPlot(min_interval=float("inf"))
    quiet.update(0, loss=1.0)
    t = time.perf_counter()
    for k in range(100_000):
        quiet.update(k, loss=0.5, lr=0.01)
    per_update = (time.perf_counter() - t) / 100_000
    print(f"LossPlot on a fast loop ({per_step * 1e3:.3f} ms/step; 3 x {seconds:.0f} s each way):")
    print(f"  redraws {plot.n_draws} in the last run, {plot.draw_time / plot.n_draws * 1e3:.0f} ms "
          f"each; drawing = {max(draw_frac):.1%} of the loop at most")
    print(f"  update() without a redraw: {per_update * 1e6:.2f} us "
          f"({per_update / per_step:.1%} of a step)")
    print(f"  plotting overhead (drawing + updates) = {max(draw_frac) + per_update / per_step:.1%}")
    print(f"  wall-clock ratio, best step time with / without = {per_step_plot / per_step:.3f} "
          f"(noisy on a shared machine)")

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
        lay = viz.layout(d)
        svg = viz.render_svg(d, lay)
        dt = time.perf_counter() - t
        print(f"graph of {len(d):4d} nodes: describe + layout + SVG in {dt * 1e3:7.1f} ms "
              f"({len(svg) / 1024:.0f} KiB, {lay.crossings} crossings)")


if __name__ == "__main__":
    main()
