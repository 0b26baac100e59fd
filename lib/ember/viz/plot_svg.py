"""A LossPlot drawn as SVG text: cheap enough (a few ms) to redraw several times a second while
training runs, and drawn by the browser, so no image is encoded.

`render(panels, ...)` takes plain data: panels of lines (x, y, colour, dash, label, ...) and
returns an `<svg class="ember-lossplot">`; `mark_coinciding(panel)` gives lines that lie on top
of each other markers and a note. Nice tick values, a log scale, a second y axis for
the learning rate, a legend with every line, and sparse markers (a different shape per line,
staggered) so that curves lying on top of each other can still be told apart.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import numpy as np

MAX_DRAWN = 600        # points drawn per line (long series are thinned, keeping min and max)
MARKERS = ("circle", "square", "triangle", "diamond")
COINCIDE = 0.005     # two lines closer than this fraction of the axis range are "coinciding"
FONT = 12


@dataclass(eq=False)
class Line:
    x: np.ndarray
    y: np.ndarray
    color: str
    label: str | None = None         # None: not in the legend (e.g. the faint raw values)
    dash: str = ""
    width: float = 1.8
    opacity: float = 1.0
    marker: str | None = None
    marker_phase: float = 0.0        # 0..1: where along the line the markers start
    right: bool = False              # on the second (right) y axis


@dataclass
class Panel:
    lines: list = field(default_factory=list)
    ylabel: str = ""
    right_label: str = ""
    log: bool = False
    note: str = ""                   # a short line under the legend (e.g. "curves coincide")


def _coincide(a: Line, b: Line, span: float) -> bool:
    """Whether two lines lie on top of each other where both have points."""
    lo, hi = max(a.x[0], b.x[0]), min(a.x[-1], b.x[-1])
    if hi <= lo or span <= 0:
        return False
    grid = np.linspace(lo, hi, 50)
    d = np.abs(np.interp(grid, a.x, a.y) - np.interp(grid, b.x, b.y))
    return bool(np.nanmax(d) <= COINCIDE * span)


def mark_coinciding(panel):
    """Give lines that lie on top of each other markers (a shape each, staggered) and say so."""
    for right in (False, True):
        lines = [l for l in panel.lines if l.label and l.right == right and len(l.y) > 1]
        if len(lines) < 2:
            continue
        ys = np.concatenate([l.y[np.isfinite(l.y)] for l in lines])
        if ys.size == 0:
            continue
        lines_cmp = lines
        if panel.log and not right and (ys > 0).all():      # compare on the log scale
            lines_cmp = [Line(l.x, np.log10(l.y), l.color) for l in lines]
            ys = np.concatenate([c.y for c in lines_cmp])
        span = float(ys.max() - ys.min())
        pairs = []
        for a in range(len(lines)):
            for b in range(a + 1, len(lines)):
                if _coincide(lines_cmp[a], lines_cmp[b], span):
                    pairs.append((lines[a], lines[b]))
        hit = []
        for a, b in pairs:
            for l in (a, b):
                if l not in hit:
                    hit.append(l)
        for k, l in enumerate(hit):
            l.marker = MARKERS[k % len(MARKERS)]
            l.marker_phase = k / max(2, len(hit))
        if pairs:
            said = ", ".join(f"{a.label} = {b.label}" for a, b in pairs[:2])
            panel.note = f"on top of each other: {said}"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list:
    """About `n` round numbers covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        lo, hi = lo - 0.5 if lo == 0 else lo - abs(lo) * 0.1, hi + 0.5 if hi == 0 else hi + abs(hi) * 0.1
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    out, t = [], start
    while t <= hi + step * 1e-9:
        out.append(round(t, 12))
        t += step
    return out


def log_ticks(lo: float, hi: float) -> list:
    """log10 of round values (1, 2, 5 times a power of ten) in [lo, hi] (given as log10)."""
    out = [float(k) for k in range(math.floor(lo), math.ceil(hi) + 1) if lo <= k <= hi]
    if len(out) < 3:
        out = sorted({round(math.log10(m) + k, 12) for k in range(math.floor(lo), math.ceil(hi) + 1)
                      for m in (1, 2, 5) if lo <= math.log10(m) + k <= hi})
    return out


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e4 or a < 1e-3:
        return f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e")
    return f"{v:.4g}"


def thin(x, y, limit: int = MAX_DRAWN):
    """At most ~`limit` points: each bucket keeps its first point and its extremes."""
    n = len(x)
    if n <= limit:
        return x, y
    k = int(math.ceil(n / (limit / 3)))
    m = (n // k) * k
    yb = y[:m].reshape(-1, k)
    lo, hi = yb.argmin(1), yb.argmax(1)
    base = np.arange(0, m, k)
    idx = np.sort(np.unique(np.concatenate([base, base + lo, base + hi, [n - 1]])))
    return x[idx], y[idx]


def _range(values, log):
    v = np.concatenate([a[np.isfinite(a)] for a in values]) if values else np.array([])
    if log:
        v = v[v > 0]
    if v.size == 0:
        return (0.1, 1.0) if log else (0.0, 1.0)
    lo, hi = float(v.min()), float(v.max())
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5, hi + 0.5
        return lo, hi
    if hi - lo < 1e-12:
        pad = abs(hi) * 0.1 or 0.5
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.05
    return lo - pad, hi + pad


def _marker(kind, x, y, color, r=3.4) -> str:
    if kind == "square":
        return (f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" '
                f'fill="white" stroke="{color}" stroke-width="1.4"/>')
    if kind == "triangle":
        return (f'<path d="M{x:.1f},{y - r - 0.6:.1f} L{x + r:.1f},{y + r * 0.8:.1f} '
                f'L{x - r:.1f},{y + r * 0.8:.1f} Z" fill="white" stroke="{color}" '
                f'stroke-width="1.4"/>')
    if kind == "diamond":
        return (f'<path d="M{x:.1f},{y - r - 0.6:.1f} L{x + r + 0.6:.1f},{y:.1f} '
                f'L{x:.1f},{y + r + 0.6:.1f} L{x - r - 0.6:.1f},{y:.1f} Z" fill="white" '
                f'stroke="{color}" stroke-width="1.4"/>')
    return (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="white" stroke="{color}" '
            f'stroke-width="1.4"/>')


def render(panels, *, title: str = "", width: int = 700, height: int = 360, xlabel: str = "step",
           draws: int = 0) -> str:
    """The SVG of `panels` (a list of Panel; the first is the tallest) sharing one x axis."""
    right = any(l.right for p in panels for l in p.lines)
    left_m, right_m, top_m, bottom_m = 62, (64 if right else 18), (28 if title else 12), 40
    xs = [l.x for p in panels for l in p.lines if len(l.x)]
    xlo = min((float(a.min()) for a in xs), default=0.0)
    xhi = max((float(a.max()) for a in xs), default=1.0)
    if xhi <= xlo:
        xhi = xlo + 1
    pw = width - left_m - right_m
    weights = [2.0] + [1.0] * (len(panels) - 1)
    gap = 14
    avail = height - top_m - bottom_m - gap * (len(panels) - 1)
    heights = [avail * w / sum(weights) for w in weights]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="ember-lossplot" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Arial, '
           f'sans-serif" font-size="{FONT}" data-draws="{draws}" '
           f'style="max-width:100%;height:auto">',
           '<rect width="100%" height="100%" fill="white"/>']
    if title:
        out.append(f'<text x="{width / 2:.0f}" y="18" text-anchor="middle" font-weight="bold" '
                   f'font-size="13" fill="#222">{html.escape(title)}</text>')

    def sx(v):
        return left_m + (v - xlo) / (xhi - xlo) * pw

    y0 = top_m
    for pi, (panel, ph) in enumerate(zip(panels, heights)):
        last = pi == len(panels) - 1
        out.append(f'<g class="ember-plot-panel" data-panel="{pi}">')
        out.append(f'<rect x="{left_m}" y="{y0:.1f}" width="{pw}" height="{ph:.1f}" fill="none" '
                   f'stroke="#bbb"/>')
        for side in (False, True):
            lines = [l for l in panel.lines if l.right == side and len(l.y)]
            if side and not lines:
                continue
            log = panel.log and not side
            lo, hi = _range([l.y for l in lines], log)
            ticks = log_ticks(lo, hi) if log else nice_ticks(lo, hi, 4 if ph < 150 else 5)
            ticks = [t for t in ticks if lo - 1e-12 <= t <= hi + 1e-12] or [lo, hi]

            def sy(v, lo=lo, hi=hi, log=log):
                if log:
                    v = np.log10(np.where(v > 0, v, np.nan))
                return y0 + ph - (v - lo) / (hi - lo) * ph

            for t in ticks:
                ty = float(sy(10 ** t if log else t))
                label = _fmt(10 ** t if log else t)
                if side:
                    out.append(f'<text x="{left_m + pw + 6}" y="{ty + 4:.1f}" fill="#666" '
                               f'font-size="11">{label}</text>')
                else:
                    out.append(f'<line x1="{left_m}" x2="{left_m + pw}" y1="{ty:.1f}" '
                               f'y2="{ty:.1f}" stroke="#eee"/>'
                               f'<text x="{left_m - 6}" y="{ty + 4:.1f}" text-anchor="end" '
                               f'fill="#444" font-size="11">{label}</text>')
            lab = panel.right_label if side else panel.ylabel
            if lab:
                lx = left_m + pw + 52 if side else 16
                out.append(f'<text transform="translate({lx},{y0 + ph / 2:.1f}) rotate(-90)" '
                           f'text-anchor="middle" fill="{"#666" if side else "#333"}">'
                           f'{html.escape(lab)}</text>')
            for line in lines:
                x, y = thin(line.x, line.y)
                py = sy(y)
                ok = np.isfinite(py)
                if not ok.any():
                    continue
                px = left_m + (x - xlo) / (xhi - xlo) * pw
                pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px[ok], py[ok]))
                dash = f' stroke-dasharray="{line.dash}"' if line.dash else ""
                cls = "ember-plot-line" + (" ember-plot-legend-line" if line.label else "")
                out.append(f'<polyline class="{cls}" points="{pts}" fill="none" '
                           f'stroke="{line.color}" stroke-width="{line.width}" '
                           f'stroke-opacity="{line.opacity}"{dash} data-label='
                           f'"{html.escape(line.label or "")}"/>')
                if line.marker and ok.sum() > 1:
                    n = 6 if ok.sum() > 12 else int(ok.sum())
                    px, py = px[ok], py[ok]
                    for k in range(n):
                        f = (k + line.marker_phase) / n
                        j = min(len(px) - 1, int(round(f * (len(px) - 1))))
                        out.append(_marker(line.marker, px[j], py[j], line.color))
        # legend: every labelled line, top right inside the panel
        items = [l for l in panel.lines if l.label]
        if items:
            lw = max(max(len(l.label) for l in items) * 7 + 44, len(panel.note) * 6.2 + 14)
            lx, ly = left_m + pw - lw - 8, y0 + 8
            lh = 17 * len(items) + 6 + (15 if panel.note else 0)
            out.append(f'<g class="ember-plot-legend"><rect x="{lx}" y="{ly:.1f}" width="{lw}" '
                       f'height="{lh}" fill="white" fill-opacity="0.85" stroke="#ddd"/>')
            for k, l in enumerate(items):
                yy = ly + 13 + 17 * k
                dash = f' stroke-dasharray="{l.dash}"' if l.dash else ""
                out.append(f'<line x1="{lx + 6}" x2="{lx + 30}" y1="{yy:.1f}" y2="{yy:.1f}" '
                           f'stroke="{l.color}" stroke-width="{l.width}"{dash}/>')
                if l.marker:
                    out.append(_marker(l.marker, lx + 18, yy, l.color))
                out.append(f'<text x="{lx + 36}" y="{yy + 4:.1f}" fill="#222">'
                           f'{html.escape(l.label)}</text>')
            if panel.note:
                out.append(f'<text x="{lx + 6}" y="{ly + lh - 6:.1f}" fill="#555" font-size="11">'
                           f'{html.escape(panel.note)}</text>')
            out.append("</g>")
        if last:
            for t in nice_ticks(xlo, xhi, 6):
                if xlo <= t <= xhi:
                    tx = sx(t)
                    out.append(f'<text x="{tx:.1f}" y="{y0 + ph + 16:.1f}" text-anchor="middle" '
                               f'fill="#444" font-size="11">{_fmt(t)}</text>')
            out.append(f'<text x="{left_m + pw / 2:.0f}" y="{y0 + ph + 33:.1f}" '
                       f'text-anchor="middle" fill="#333">{html.escape(xlabel)}</text>')
        out.append("</g>")
        y0 += ph + gap
    out.append("</svg>")
    return "".join(out)
