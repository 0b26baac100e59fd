"""`ember.viz.LossPlot`: a live training curve, updated with one call per step.

    plot = ember.viz.LossPlot(lr=True, accuracy=True)
    for step, (x, y) in enumerate(loader):
        ...
        plot.update(step, loss=loss.item(), lr=opt.param_groups[0]["lr"])
    plot.update(step, val_loss=vl, val_accuracy=va)     # any subset of series, any time
    plot.flush()                                         # final redraw (also on `with` exit)
    plot.save("curve.png")

Every call stores its numbers (a few list appends); the picture is redrawn while training runs,
at most every `min_interval` seconds (0.3: about three times a second) and only while drawing
stays within `budget` (3%) of the wall time since the first update (a pause of more than
`IDLE_RESET` seconds starts the account afresh, so idle time is never spent later as a burst of
redraws). The live picture is SVG text that the browser draws (plot_svg.py): a redraw costs a few
milliseconds, so a loop of any speed sees it move (bench/viz.py measures rate and overhead).
The first update draws at once.

Every line has a legend entry and its own colour: one run shows train loss, validation loss,
accuracies and the learning rate (second y axis, dotted) in distinct colours; several runs
(`run="adam"`) get a colour each, train solid and validation dashed. Smoothed values (exponential
moving average, debiased like TensorBoard's) are drawn over the raw ones, faint. Curves that lie on
top of each other get markers and a note saying so. `save()`, `figure()` and the static picture
where widgets don't run (`_repr_png_`, e.g. nbconvert) are drawn with matplotlib from the same data.
"""
from __future__ import annotations

import base64
import io
import math
import time

import ipywidgets as widgets
import numpy as np

from . import plot_svg
from .plot_svg import Line, Panel

IDLE_RESET = 2.0     # seconds without updates after which the drawing budget starts afresh
MAX_POINTS = 3000    # points per line in matplotlib pictures; longer series are subsampled
SERIES = ("loss", "val_loss", "accuracy", "val_accuracy", "lr")
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
SERIES_COLORS = {"loss": "#1f77b4", "val_loss": "#ff7f0e", "accuracy": "#2ca02c",
                 "val_accuracy": "#9467bd", "lr": "#7f7f7f"}        # one unnamed run
LR_COLORS = ("#7f7f7f", "#8c564b", "#bcbd22", "#17becf")           # lr lines of several runs
DEFAULT_RUN = "run"


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
    def __init__(self, name, color, weight, named=True):
        self.name, self.color, self.weight, self.named = name, color, weight, named
        self.data = {s: ([], []) for s in SERIES}       # what update() appends to: plain lists
        self._arrays = {s: (np.empty(0), np.empty(0)) for s in SERIES}
        self._smoothed = {s: np.empty(0) for s in SERIES}
        self._ema = {s: (0.0, 0.0) for s in SERIES}

    def add(self, series, step, value):
        xs, ys = self.data[series]
        xs.append(step)
        ys.append(value)

    def arrays(self, series) -> tuple:
        """(steps, values) as float arrays, converting only what arrived since the last call."""
        xs, ys = self.data[series]
        ax, ay = self._arrays[series]
        n = len(ys)
        if len(ay) < n:
            m = len(ay)
            ax = np.concatenate([ax, np.asarray(xs[m:n], dtype=np.float64)])
            ay = np.concatenate([ay, np.asarray(ys[m:n], dtype=np.float64)])
            self._arrays[series] = (ax, ay)
        return ax[:n], ay[:n]

    def smoothed(self, series) -> np.ndarray:
        """The EMA of a series, computed only for the points added since the last call."""
        _, ys = self.arrays(series)
        out = self._smoothed[series]
        if len(out) < len(ys):
            new, state = _ema(ys[len(out):], self.weight, self._ema[series])
            self._ema[series] = state
            out = self._smoothed[series] = np.concatenate([out, new])
        return out


def _ema(v: np.ndarray, w: float, state: tuple) -> tuple:
    """Debiased EMA of `v` continuing from `state` = (acc, norm); returns (values, state).
    Vectorized in blocks short enough that w**-k stays finite; non-finite values pass through
    without entering the average."""
    acc, norm = state
    out = np.empty_like(v)
    block = max(1, min(4096, int(250 / max(-math.log10(w), 1e-3)))) if 0 < w < 1 else 1
    for a in range(0, len(v), block):
        x = v[a:a + block]
        if not np.isfinite(x).all() or block == 1:
            for k, xi in enumerate(x):
                if math.isfinite(xi):
                    acc, norm = w * acc + (1 - w) * xi, w * norm + (1 - w)
                    out[a + k] = acc / norm
                else:
                    out[a + k] = xi
            continue
        k = np.arange(1, len(x) + 1)
        wk = w ** k                                   # w^k, and w^(k-j) = w^k / w^j
        accs = wk * (acc + (1 - w) * np.cumsum(x / wk))
        norms = wk * (norm + (1 - w) * np.cumsum(1 / wk))
        out[a:a + len(x)] = accs / norms
        acc, norm = float(accs[-1]), float(norms[-1])
    return out, (acc, norm)


class LossPlot(widgets.VBox):
    """A live plot of training curves; see the module docstring. Feed it with `update`."""

    def __init__(self, *, title: str = "training", smoothing: float = 0.6, logy: bool = False,
                 accuracy: bool | None = None, lr: bool | None = None, budget: float = 0.03,
                 min_interval: float = 0.3, width: float = 7.0, height: float = 3.6,
                 dpi: int = 100, clock=time.perf_counter):
        super().__init__()
        self.add_class("ember-lossplot-widget")
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
        self._last_update = -math.inf
        self._next_draw = -math.inf      # clock time from which the next redraw is due
        self._data = None                # the current run's series
        self._cost = 0.0                 # typical seconds per draw (recent draws)
        self._dirty = False
        self._svg = widgets.HTML(layout=widgets.Layout(width=f"{int(width * dpi)}px",
                                                       max_width="100%"))
        self._svg.add_class("ember-lossplot-view")
        self._status = widgets.HTML()
        self._status.add_class("ember-lossplot-status")
        self.children = [self._svg, self._status]

    # ---- feeding ------------------------------------------------------------------------------
    def new_run(self, name: str):
        """Start (or switch to) a run: later updates without `run=` go to it."""
        if name not in self.runs:
            self.runs[name] = _Run(name, COLORS[len(self.runs) % len(COLORS)],
                                   min(max(self.smoothing, 0.0), 0.999),
                                   named=name != DEFAULT_RUN)
        self.current = name
        self._data = self.runs[name].data
        return self

    def update(self, step, *, run: str | None = None, force: bool = False, **values) -> bool:
        """Record `values` (loss, val_loss, accuracy, val_accuracy, lr) at `step`; redraw if due.

        Returns whether it redrew. Costs a few list appends when it does not."""
        if run is not None or self._data is None:
            self.new_run(run if run is not None else (self.current or DEFAULT_RUN))
        data = self._data
        for k, v in values.items():
            if v is None:
                continue
            try:
                xs, ys = data[k]
            except KeyError:
                raise TypeError(f"LossPlot.update got unknown series {k!r}; known: "
                                f"{', '.join(SERIES)}") from None
            xs.append(step)
            ys.append(v if type(v) is float else _scalar(v))
        self.n_updates += 1
        now = self.clock()
        if now - self._last_update > IDLE_RESET:      # a new stretch of training: fresh budget
            self._start, self._spent = now, 0.0
            self._schedule()
        self._last_update = now
        self._dirty = True
        if force or now >= self._next_draw:
            self.draw()
            return True
        return False

    def _schedule(self):
        """When the next redraw is due: `min_interval` after the last one, and once the time
        spent drawing plus one more redraw fits within `budget` of the time since the start."""
        if self._last_draw_end is None:
            self._next_draw = -math.inf
        elif self.budget <= 0:
            self._next_draw = math.inf
        else:
            self._next_draw = max(self._last_draw_end + self.min_interval,
                                  self._start + (self._spent + self._cost) / self.budget)

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
        """Redraw the live picture now."""
        t0 = self.clock()
        self.n_draws += 1
        self._svg.value = self.svg()
        self._status.value = self._status_html()
        t1 = self.clock()
        cost = max(0.0, t1 - t0)
        self.draw_time += cost
        self._spent += cost
        self._dirty = False
        self._last_draw_end = t1
        self._cost = cost if self.n_draws == 1 else 0.5 * (self._cost + cost)
        if self._start is None:
            self._start = t0
        self._schedule()

    def svg(self) -> str:
        """The live picture: SVG text of the current data."""
        return plot_svg.render(self.panels(), title=self.title, width=int(self.size[0] * self.dpi),
                               height=int(self.size[1] * self.dpi), draws=self.n_draws)

    def _status_html(self):
        parts = []
        for r in self.runs.values():
            bits = []
            step = max([d[0][-1] for d in r.data.values() if d[0]], default=0)
            bits.append(f"step {step}")
            for key, name in (("loss", "loss"), ("val_loss", "val loss"),
                              ("accuracy", "acc"), ("val_accuracy", "val acc")):
                ys = r.data[key][1]
                if ys:
                    bits.append(f"{name} {ys[-1]:.4g}")
            head = (f"<b style='color:{r.color}'>{r.name}</b> " if r.named or len(self.runs) > 1
                    else "")
            parts.append(head + " · ".join(bits))
        return (f"<span style='font-size:12px;color:#444' data-draws='{self.n_draws}'>"
                + " &nbsp;|&nbsp; ".join(parts) + "</span>")

    def _has(self, series):
        return any(r.data[series][1] for r in self.runs.values())

    def panels(self) -> list:
        """What is drawn, as plot_svg Panels (loss, and accuracy below when there is some)."""
        acc = self._has("accuracy") or self._has("val_accuracy")
        acc = acc if self.show_accuracy is None else (self.show_accuracy and acc)
        lr = self._has("lr") if self.show_lr is None else (self.show_lr and self._has("lr"))
        one = len(self.runs) == 1 and not next(iter(self.runs.values())).named
        smoothed = self.smoothing > 0
        main = Panel(ylabel="loss", right_label="learning rate" if lr else "", log=self.logy)
        below = Panel(ylabel="accuracy") if acc else None
        names = {"loss": "train loss", "val_loss": "val loss", "accuracy": "train acc",
                 "val_accuracy": "val acc"}
        for k, r in enumerate(self.runs.values()):
            for series, panel in (("loss", main), ("val_loss", main), ("accuracy", below),
                                  ("val_accuracy", below)):
                if panel is None or not r.data[series][1]:
                    continue
                xs, ys = r.arrays(series)
                color = SERIES_COLORS[series] if one else r.color
                dash = "6 3" if series.startswith("val") else ""
                label = names[series] if one else f"{r.name} {names[series].split()[0]}"
                few = series.startswith("val") and len(ys) < 30
                if smoothed and not series.startswith("val") and len(ys) > 1:
                    panel.lines.append(Line(xs, ys, color, None, dash, 1.0, 0.25))
                    ys = r.smoothed(series)
                panel.lines.append(Line(xs, ys, color, label, dash, 1.8, 1.0,
                                        "circle" if few else None))
            if lr and r.data["lr"][1]:
                color = SERIES_COLORS["lr"] if one else LR_COLORS[k % len(LR_COLORS)]
                main.lines.append(Line(*r.arrays("lr"), color,
                                       "learning rate" if one else f"{r.name} lr", "2 3", 1.4,
                                       right=True))
        panels = [main] + ([below] if below is not None else [])
        for panel in panels:
            plot_svg.mark_coinciding(panel)
            if smoothed and any(l.label is None for l in panel.lines):
                panel.note = "; ".join(x for x in ("faint: raw, solid: smoothed", panel.note) if x)
        return panels

    # ---- static pictures (matplotlib) ---------------------------------------------------------
    def figure(self):
        """A matplotlib Figure of the current data (the same lines as the live picture)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        panels = self.panels()
        fig = Figure(figsize=self.size, dpi=self.dpi)
        FigureCanvasAgg(fig)
        if len(panels) > 1:
            axes = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
        else:
            axes = [fig.subplots(1, 1)]
        marks = {"circle": "o", "square": "s", "triangle": "^", "diamond": "D"}
        for ax, panel in zip(axes, panels):
            twin = ax.twinx() if any(l.right for l in panel.lines) else None
            for l in panel.lines:
                axis = twin if l.right else ax
                k = max(1, len(l.y) // MAX_POINTS)
                ls = "--" if l.dash.startswith("6") else (":" if l.dash else "-")
                axis.plot(l.x[::k], l.y[::k], ls, color=l.color, lw=l.width, alpha=l.opacity,
                          label=l.label, marker=marks.get(l.marker, ""),
                          markevery=None if len(l.y) <= 30 else max(1, len(l.y) // 6),
                          markerfacecolor="white", markersize=5)
            if panel.log:
                ax.set_yscale("log")
            ax.set_ylabel(panel.ylabel)
            ax.grid(alpha=0.3)
            handles, labels = ax.get_legend_handles_labels()
            if twin is not None:
                twin.set_ylabel(panel.right_label, color="#666")
                h2, l2 = twin.get_legend_handles_labels()
                handles, labels = handles + h2, labels + l2
            if handles:
                ax.legend(handles, labels, fontsize=8, loc="upper right",
                          title=panel.note or None, title_fontsize=7)
        axes[0].set_title(self.title, fontsize=11)
        axes[-1].set_xlabel("step")
        fig.tight_layout()
        return fig

    def render_png(self) -> bytes:
        """PNG of the current data (matplotlib; for pictures that outlive the widget)."""
        buf = io.BytesIO()
        self.figure().canvas.print_png(buf)
        return buf.getvalue()

    def save(self, path, dpi: int | None = None):
        """Save the current plot as PNG (or any format matplotlib knows, by extension); `.svg`
        writes the live picture itself."""
        if str(path).endswith(".svg"):
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.svg())
            return path
        self.figure().savefig(path, dpi=dpi or 100)
        return path

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
        return f"<ember.viz.LossPlot: {len(self.runs)} run(s), {n} loss points>"
