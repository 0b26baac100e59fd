"""LossPlot: throttled redraws (a fake clock, no wall time), series, runs, the live SVG picture
(legend, colours, coinciding curves) and PNG output."""
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from ember.viz import LossPlot
from ember.viz.lossplot import smooth

SVG = "{http://www.w3.org/2000/svg}"


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def make(clock, draw_cost, **kw):
    p = LossPlot(clock=clock, **kw)

    def slow_render():                      # a redraw "costs" draw_cost seconds of fake time
        clock.t += draw_cost
        return "<svg/>"
    p.svg = slow_render
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
    assert p._svg.value.startswith("<svg") and 'class="ember-lossplot"' in p._svg.value
    p.flush()
    out = tmp_path / "curve.png"
    p.save(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "adam" in p._status.value and "sgd" in p._status.value
    p.save(tmp_path / "curve.svg")
    ET.parse(tmp_path / "curve.svg")                 # the live picture, well-formed
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


def legend(svg):
    root = ET.fromstring(svg)
    lines = [l for l in root.iter(SVG + "polyline") if l.get("data-label")]
    return {l.get("data-label"): l for l in lines}


def test_every_line_in_the_legend_with_its_own_colour():
    p = LossPlot(min_interval=1e9, smoothing=0.6)
    for s in range(100):
        p.update(s, loss=1.0 / (s + 1), lr=0.1 * 0.99 ** s, accuracy=s / 100)
        if s % 20 == 0:
            p.update(s, val_loss=1.5 / (s + 1), val_accuracy=s / 120)
    svg = p.svg()
    lines = legend(svg)
    assert set(lines) == {"train loss", "val loss", "learning rate", "train acc", "val acc"}
    colours = [l.get("stroke") for l in lines.values()]
    assert len(set(colours)) == len(colours)                  # the lr line is not the loss's
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter(SVG + "text")]
    for label in lines:                                       # and the legend names each
        assert label in texts
    faint = [l for l in root.iter(SVG + "polyline") if not l.get("data-label")]
    assert len(faint) == 2 and any("raw" in (t or "") for t in texts)  # raw loss and raw acc


def test_status_line_has_no_internals():
    p = LossPlot(min_interval=0)
    p.update(0, loss=2.0)
    p.update(1, loss=1.0, val_loss=1.5)
    status = p.flush()._status.value
    assert "redraw" not in status and "run" not in status
    assert "step 1" in status and "loss 1" in status and "val loss 1.5" in status
    p.update(2, loss=0.5, run="adam")
    assert "adam" in p.flush()._status.value


def test_coinciding_curves_get_markers_and_a_note():
    p = LossPlot(min_interval=1e9, smoothing=0.0)
    for s in range(200):
        p.update(s, loss=1.0 / (s + 1), run="shuffled")
    for s in range(200):
        p.update(s, loss=1.0 / (s + 1), run="sorted")
    (main,) = p.panels()
    named = [l for l in main.lines if l.label]
    assert len(named) == 2 and all(l.marker for l in named)
    assert named[0].marker != named[1].marker                 # a shape each
    assert "on top of each other" in main.note
    svg = p.svg()
    assert "on top of each other" in svg
    apart = LossPlot(min_interval=1e9, smoothing=0.0)
    for s in range(200):
        apart.update(s, loss=1.0 / (s + 1), run="a")
        apart.update(s, loss=2.0 / (s + 1), run="b")
    (main,) = apart.panels()
    assert not any(l.marker for l in main.lines) and main.note == ""


def test_live_picture_is_cheap_to_redraw():
    import time
    p = LossPlot(min_interval=1e9, lr=True)
    for s in range(20000):
        p.update(s, loss=float(np.exp(-s / 5000)), lr=0.1)
    p.svg()                                               # smoothing catches up once
    t = time.perf_counter()
    svg = p.svg()
    assert time.perf_counter() - t < 0.5                  # generous: the bench measures it
    pts = max(len(l.get("points").split()) for l in ET.fromstring(svg).iter(SVG + "polyline"))
    assert pts <= 700                                     # long runs are thinned for drawing


@pytest.mark.parametrize("weight", [0.01, 0.6, 0.99, 0.999])
def test_incremental_smoothing_matches_the_plain_ema(weight):
    from ember.viz.lossplot import _Run
    rng = np.random.default_rng(0)
    v = rng.standard_normal(5000).cumsum()
    v[[7, 2000, 4999]] = [np.nan, np.inf, np.nan]           # non-finite values pass through
    r = _Run("r", "#000", weight)
    got = []
    for a, b in ((0, 1), (1, 1500), (1500, 1501), (1501, 5000)):   # drawn in pieces
        for k in range(a, b):
            r.add("loss", k, float(v[k]))
        got = r.smoothed("loss")
    want = smooth(v, weight)
    assert len(got) == 5000
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
