"""`ember.viz.LossPlot`: a live training curve, updated with one call per step.

    plot = ember.viz.LossPlot(lr=True, accuracy=True)
    for step, (x, y) in enumerate(loader):
        ...
        plot.update(step, loss=loss.item(), lr=opt.param_groups[0]["lr"])
    plot.update(step, val_loss=vl, val_accuracy=va)     # any subset of series, any time
    plot.flush()                                         # final redraw (also on `with` exit)
    plot.save("curve.png")

Every call stores its numbers (a few list appends and the running smoothed value); the figure is
redrawn only when it fits the time budget: a redraw happens when at least `min_interval` seconds
passed since the last one and the time spent drawing so far plus one more redraw (estimated from
the recent ones) stays within `budget` (2.5%) of the wall time since the first update (a pause of
more than `IDLE_RESET` seconds starts the account afresh, so idle time is never spent later as a
burst of redraws). With the
~1 us an update costs, plotting stays within ~5% of even a very fast loop (bench/viz.py measures
it); the first update draws at once.

Several runs overlay (`run="adam"`), each in its own colour: train solid, validation dashed,
smoothed (exponential moving average, debiased like TensorBoard's) over the raw values drawn
faintly. Learning rate goes on a second y axis, accuracy in a panel below.
Drawn with matplotlib's Agg canvas into PNG bytes shown in an `ipywidgets.Image` (no pyplot, no
backend switching); `_repr_png_` gives the same PNG where widgets don't run.
"""
from __future__ import annotations

import base64
import io
import math
import time

import ipywidgets as widgets
import numpy as np

IDLE_RESET = 2.0     # seconds without updates after which the drawing budget starts afresh
MAX_POINTS = 3000    # points drawn per line; longer series are subsampled
SERIES = ("loss", "val_loss", "accuracy", "val_accuracy", "lr")
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def _scalar(v) -> float:
    if hasattr(v, "item"):
        v = v.item()
    return float(v)


def smooth(values, weight: float) -> np.ndarray:
    """Debiased exponential moving average (weight 0 = raw, 0.99 = very smooth)."""
    v = np.asarray(values, dtype=np.float64)
    if weight <= 0 or v.size == 0:
        return v
    out = np.empty_like(v)
    acc, norm = 0.0, 0.0
    for k, x in enumerate(v):
        if not math.isfinite(x):
            out[k] = x
            continue
        acc = weight * acc + (1 - weight) * x
        norm = weight * norm + (1 - weight)
        out[k] = acc / norm
    return out


class _Run:
    def __init__(self, name, color, weight):
        self.name, self.color, self.weight = name, color, weight
        self.data = {s: ([], []) for s in SERIES}
        self._smoothed = {s: [] for s in SERIES}     # debiased EMA, extended at draw time
        self._ema = {s: (0.0, 0.0) for s in SERIES}

    def add(self, series, step, value):
        xs, ys = self.data[series]
        xs.append(step)
        ys.append(value)

    def smoothed(self, series) -> list:
        """The EMA of a series, computed only for the points added since the last call."""
        ys, out = self.data[series][1], self._smoothed[series]
        acc, norm = self._ema[series]
        w = self.weight
        for v in ys[len(out):]:
            if math.isfinite(v):
                acc, norm = w * acc + (1 - w) * v, w * norm + (1 - w)
                out.append(acc / norm)
            else:
                out.append(v)
        self._ema[series] = (acc, norm)
        return out


_WARM = False


def _warm_up():
    """Pay matplotlib's one-off costs (imports, fonts: ~0.1 s) when a plot is made, not at the
    first update inside the training loop."""
    global _WARM
    if _WARM:
        return
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(2, 1), dpi=40)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="x")
    ax.legend()
    ax.set_title("warm")
    ax.twinx().set_ylabel("y")
    FigureCanvasAgg(fig).print_png(io.BytesIO())
    _WARM = True


class LossPlot(widgets.VBox):
    def __init__(self, *, title: str = "training", smoothing: float = 0.6, logy: bool = False,
                 accuracy: bool | None = None, lr: bool | None = None, budget: float = 0.025,
                 min_interval: float = 0.25, width: float = 7.0, height: float = 3.6,
                 dpi: int = 100, clock=time.perf_counter):
        super().__init__()
        self.title, self.smoothing, self.logy = title, float(smoothing), logy
        self.show_accuracy, self.show_lr = accuracy, lr
        self.budget, self.min_interval = float(budget), float(min_interval)
        self.size, self.dpi = (width, height), dpi
        self.clock = clock
        self.runs: dict = {}
        self.current = None
        self.n_updates = 0
        self.n_draws = 0
        self.draw_time = 0.0             # seconds spent drawing, in total
        self._last_draw_end = None
        self._start = None               # clock at the first update of this stretch of training
        self._spent = 0.0                # seconds spent drawing since then
        self._last_update = 0.0
        self._cost = 0.0                 # typical seconds per draw (recent draws)
        self._dirty = False
        self._png = b""
        self._fig = self._fig_key = self._fig_lines = None
        _warm_up()
        self._image = widgets.Image(format="png", layout=widgets.Layout(
            width=f"{int(width * dpi)}px", max_width="100%"))      # never blurred by upscaling
        self._image.add_class("ember-lossplot-image")
        self._status = widgets.HTML()
        self._status.add_class("ember-lossplot-status")
        self.children = [self._image, self._status]

    # ---- feeding ------------------------------------------------------------------------------
    def new_run(self, name: str):
        """Start (or switch to) a run: later updates without `run=` go to it."""
        if name not in self.runs:
            self.runs[name] = _Run(name, COLORS[len(self.runs) % len(COLORS)],
                                   min(max(self.smoothing, 0.0), 0.999))
        self.current = name
        return self

    def update(self, step, *, run: str | None = None, force: bool = False, **values) -> bool:
        """Record `values` (loss, val_loss, accuracy, val_accuracy, lr) at `step`; redraw if due.

        Returns whether it redrew. Costs a few list appends when it does not."""
        if run is not None:
            self.new_run(run)
        elif self.current is None:
            self.new_run("run")
        r = self.runs[self.current]
        data = r.data
        for k, v in values.items():
            if v is None:
                continue
            if k not in data:
                raise TypeError(f"LossPlot.update got unknown series {k!r}; known: "
                                f"{', '.join(SERIES)}")
            xs, ys = data[k]
            xs.append(step)
            ys.append(v if type(v) is float else _scalar(v))
        self.n_updates += 1
        now = self.clock()
        if self._start is None or now - self._last_update > IDLE_RESET:
            self._start, self._spent = now, 0.0     # a new stretch of training: fresh budget
        self._last_update = now
        self._dirty = True
        if force or self._due(now):
            self.draw()
            return True
        return False

    def _due(self, now) -> bool:
        if self._last_draw_end is None:
            return True
        if now - self._last_draw_end < self.min_interval:
            return False
        return self._spent + self._cost <= self.budget * (now - self._start)

    def flush(self):
        """Redraw now if anything arrived since the last redraw (call once after training)."""
        if self._dirty:
            self.draw()
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.flush()

    # ---- drawing ------------------------------------------------------------------------------
    def draw(self):
        t0 = self.clock()
        self._png = self.render_png()
        self._image.value = self._png
        t1 = self.clock()
        cost = max(0.0, t1 - t0)
        self.draw_time += cost
        self._spent += cost
        self.n_draws += 1
        self._dirty = False
        self._last_draw_end = t1
        self._cost = cost if self.n_draws == 1 else 0.5 * (self._cost + cost)
        self._status.value = self._status_html()

    def _status_html(self):
        parts = []
        for r in self.runs.values():
            xs, ys = r.data["loss"]
            last = f"loss {ys[-1]:.4g}" if ys else ""
            vx, vy = r.data["val_loss"]
            if vy:
                last += f" · val {vy[-1]:.4g}"
            step = max([d[0][-1] for d in r.data.values() if d[0]], default=0)
            parts.append(f"<b style='color:{r.color}'>{r.name}</b> step {step} {last}")
        return (f"<span style='font-size:11px;color:#555' data-draws='{self.n_draws}'>"
                + " &nbsp;|&nbsp; ".join(parts) + f" &nbsp;({self.n_draws} redraws)</span>")

    def _figure(self):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        fig = Figure(figsize=self.size, dpi=self.dpi)
        FigureCanvasAgg(fig)
        return fig

    def _has(self, series):
        return any(r.data[series][1] for r in self.runs.values())

    def render_png(self) -> bytes:
        """PNG of the current data. The figure is kept between redraws and only its lines'
        data change, unless a run or a series appeared (then it is rebuilt)."""
        key = self._structure()
        if self._fig is None or key != self._fig_key:
            self._fig, self._fig_lines = self._build(key)
            self._fig_key = key
        self._fill(self._fig, self._fig_lines)
        buf = io.BytesIO()
        self._fig.canvas.print_png(buf)
        return buf.getvalue()

    def figure(self):
        """A fresh matplotlib Figure of the current data."""
        fig, lines = self._build(self._structure())
        self._fill(fig, lines)
        return fig

    def _structure(self) -> tuple:
        acc = self._has("accuracy") or self._has("val_accuracy")
        acc = acc if self.show_accuracy is None else (self.show_accuracy and acc)
        lr = self._has("lr") if self.show_lr is None else (self.show_lr and self._has("lr"))
        runs = tuple((r.name, tuple(k for k in SERIES if r.data[k][1]))
                     for r in self.runs.values())
        return bool(acc), bool(lr), runs, self.logy, self.smoothing > 0, self.title, self.size

    def _build(self, key):
        acc, lr, _, logy, smoothed, title, _ = key
        fig = self._figure()
        if acc:
            ax, ax_acc = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
        else:
            ax, ax_acc = fig.subplots(1, 1), None
        ax_lr = ax.twinx() if lr else None
        lines = []                  # (Line2D, run, series, smoothed?)
        many = len(self.runs) > 1

        def add(axis, r, series, style, what):
            if not r.data[series][1]:
                return
            label = f"{r.name} {what}" if many else what
            if smoothed:
                lines.append((axis.plot([], [], style, color=r.color, alpha=0.2, lw=1)[0],
                              r, series, False))
            lines.append((axis.plot([], [], style, color=r.color, lw=1.6, label=label)[0],
                          r, series, smoothed))

        for r in self.runs.values():
            add(ax, r, "loss", "-", "train")
            add(ax, r, "val_loss", "--", "val")
            if ax_acc is not None:
                add(ax_acc, r, "accuracy", "-", "train acc")
                add(ax_acc, r, "val_accuracy", "--", "val acc")
            if ax_lr is not None and r.data["lr"][1]:
                lines.append((ax_lr.plot([], [], ":", color=r.color, alpha=0.8, lw=1.2)[0],
                              r, "lr", False))
        ax.set_ylabel("loss")
        if logy and self._has("loss"):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.set_title(title, fontsize=11)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="upper right")
        if ax_lr is not None:
            ax_lr.set_ylabel("learning rate", color="#777")
            ax_lr.tick_params(axis="y", labelcolor="#777", labelsize=8)
        if ax_acc is not None:
            ax_acc.set_ylabel("accuracy")
            ax_acc.grid(alpha=0.3)
            ax_acc.set_xlabel("step")
        else:
            ax.set_xlabel("step")
        fig.subplots_adjust(left=0.09, right=0.89 if ax_lr is not None else 0.97, top=0.91,
                            bottom=0.13, hspace=0.08)     # fixed: tight_layout costs half a draw
        return fig, lines

    def _fill(self, fig, lines):
        for line, r, series, smoothed in lines:
            xs, ys = r.data[series]
            if smoothed:
                ys = r.smoothed(series)
            k = max(1, len(ys) // MAX_POINTS)             # long runs: plot every k-th point
            line.set_data(xs[::k], ys[::k])
            few = len(ys) < 30 and series.startswith("val")
            line.set_marker("o" if few else "")
            line.set_markersize(3)
        for ax in fig.axes:
            ax.relim()
            ax.autoscale_view()

    def save(self, path, dpi: int | None = None):
        """Save the current plot as PNG (or any format matplotlib knows, by extension)."""
        fig = self.figure()
        fig.savefig(path, dpi=dpi or 100)
        return path

    # ---- static fallbacks ----------------------------------------------------------------------
    def _repr_png_(self):
        return self.render_png() if self.runs else None

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        if isinstance(data, tuple):
            data = data[0]
        data = dict(data)
        if self.runs:
            data["image/png"] = base64.b64encode(self.render_png()).decode("ascii")
        data["text/plain"] = repr(self)
        return data

    def __repr__(self):
        n = sum(len(r.data["loss"][1]) for r in self.runs.values())
        return f"<ember.viz.LossPlot: {len(self.runs)} run(s), {n} loss points, {self.n_draws} redraws>"
