"""LossPlot: throttled redraws (a fake clock, no wall time), series, runs, PNG output."""
import numpy as np
import pytest

from ember.viz import LossPlot
from ember.viz.lossplot import smooth


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def make(clock, draw_cost, **kw):
    p = LossPlot(clock=clock, **kw)
    real = p.render_png

    def slow_render():                      # a redraw "costs" draw_cost seconds of fake time
        clock.t += draw_cost
        return b"png"
    p.render_png = slow_render
    p._real_render = real
    return p


def test_redraw_count_keeps_plotting_under_budget():
    clock = FakeClock()
    p = make(clock, draw_cost=0.05, budget=0.05, min_interval=0.1)  # budget given explicitly
    step_time = 0.001                       # a fast loop: 1 ms a step
    for step in range(20000):
        clock.t += step_time
        p.update(step, loss=1.0 / (step + 1))
    assert p.n_updates == 20000
    total = clock.t
    assert p.draw_time / total <= 0.05 + 1e-9     # at most 5% of the loop spent plotting
    # and it does redraw regularly: a draw (0.05 s) then a wait of 0.05 / 5% = 1 s of loop time
    assert p.n_draws == pytest.approx(total / (0.05 + 1.0), rel=0.1)


def test_min_interval_bounds_cheap_redraws():
    clock = FakeClock()
    p = make(clock, draw_cost=0.0, min_interval=0.5)
    for step in range(1000):
        clock.t += 0.01                     # 10 s in all
        p.update(step, loss=1.0)
    assert p.n_draws == pytest.approx(10 / 0.5, abs=2)


def test_first_update_draws_and_flush_draws_the_rest():
    clock = FakeClock()
    p = make(clock, draw_cost=0.01)
    assert p.update(0, loss=2.0) is True
    assert p.update(1, loss=1.5) is False
    p.flush()
    assert p.n_draws == 2
    p.flush()                               # nothing new: no redraw
    assert p.n_draws == 2
    with p:
        p.update(2, loss=1.0)
    assert p.n_draws == 3


def test_series_runs_and_errors():
    p = LossPlot(min_interval=1e9)
    p.update(0, loss=1.0, lr=0.1, accuracy=0.5)
    p.update(0, val_loss=1.2, val_accuracy=0.4)
    p.update(1, loss=np.float32(0.5), run="adam")
    p.update(2, loss=0.25)                  # stays on the current run
    assert list(p.runs) == ["run", "adam"]
    assert p.runs["adam"].data["loss"] == ([1, 2], [0.5, 0.25])
    assert p.runs["run"].data["lr"] == ([0], [0.1])
    with pytest.raises(TypeError, match="unknown series"):
        p.update(3, los=1.0)


def test_smoothing_is_debiased_ema():
    assert smooth([1.0, 1.0, 1.0], 0.9) == pytest.approx([1.0, 1.0, 1.0])
    s = smooth([0.0, 10.0], 0.5)
    assert s[0] == 0.0 and s[1] == pytest.approx(10 * 0.5 / 0.75)
    assert smooth([3.0, 4.0], 0.0).tolist() == [3.0, 4.0]


def test_png_output_and_static_fallbacks(tmp_path):
    p = LossPlot(title="demo", min_interval=0)
    for step in range(50):
        p.update(step, loss=np.exp(-step / 10), lr=0.1 * 0.97 ** step, run="sgd")
        p.update(step, loss=np.exp(-step / 5), run="adam")
        if step % 10 == 0:
            p.update(step, val_loss=np.exp(-step / 8), val_accuracy=step / 50, run="adam")
    png = p._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    bundle = p._repr_mimebundle_()
    assert "image/png" in bundle and "text/plain" in bundle
    assert p._image.value[:8] == b"\x89PNG\r\n\x1a\n"
    p.flush()
    out = tmp_path / "curve.png"
    p.save(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "adam" in p._status.value and "sgd" in p._status.value
    assert LossPlot()._repr_png_() is None   # nothing to draw yet


def test_accuracy_panel_lr_axis_and_log_scale():
    p = LossPlot(logy=True, min_interval=1e9)
    for s in range(20):
        p.update(s, loss=1.0 / (s + 1), accuracy=s / 20, lr=0.1)
    fig = p.figure()
    assert len(fig.axes) == 3                        # loss, its lr twin, accuracy below
    assert fig.axes[0].get_yscale() == "log"
    fig = LossPlot(accuracy=False, lr=False)
    fig.update(0, loss=1.0, accuracy=0.5, lr=0.1)
    assert len(fig.figure().axes) == 1


def test_long_runs_are_subsampled_for_drawing():
    p = LossPlot(min_interval=1e9)
    for s in range(20000):
        p.update(s, loss=1.0)
    fig = p.figure()
    lines = fig.axes[0].get_lines()
    assert max(len(l.get_xdata()) for l in lines) <= 2 * 3000


def test_idle_time_is_not_saved_up_for_a_burst_of_redraws():
    clock = FakeClock()
    p = make(clock, draw_cost=0.05, budget=0.05, min_interval=0.1)
    for step in range(1000):                  # 1 s of training
        clock.t += 0.001
        p.update(step, loss=1.0)
    clock.t += 600                            # ten minutes of nothing
    before_draws, before_time = p.n_draws, p.draw_time
    start = clock.t
    for step in range(1000, 6000):            # 5 s more
        clock.t += 0.001
        p.update(step, loss=1.0)
    assert (p.draw_time - before_time) / (clock.t - start) <= 0.05 + 1e-9
    assert p.n_draws - before_draws <= 6
