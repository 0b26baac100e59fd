"""Numbers and pictures of one tensor: shape, min/max/mean, and a small heat map.

Accepts ember Tensors, numpy or CuPy arrays, Python numbers; never modifies what it is given.
"""
from __future__ import annotations

import html

import numpy as np

MAX_CELLS = 24          # a heat map shows at most MAX_CELLS x MAX_CELLS cells (block means)


def to_numpy(x):
    """A numpy array for an ember Tensor, a numpy/CuPy array or a number; None stays None."""
    if x is None or isinstance(x, np.ndarray):
        return x
    if type(x).__module__.startswith("cupy"):
        return x.get()
    try:
        return np.asarray(x)                     # ember Tensors convert through __array__
    except Exception:                            # noqa: BLE001 - anything that is not an array
        return None


def summarize(x) -> dict | None:
    a = to_numpy(x)
    if a is None:
        return None
    out = {"shape": tuple(a.shape), "dtype": str(a.dtype), "size": int(a.size)}
    if a.size and a.dtype.kind in "fiub":
        f = a.astype(np.float64, copy=False)
        finite = np.isfinite(f)
        out["nonfinite"] = int(f.size - finite.sum())
        g = f[finite] if out["nonfinite"] else f
        if g.size:
            out.update(min=float(g.min()), max=float(g.max()), mean=float(g.mean()),
                       std=float(g.std()), norm=float(np.sqrt((g * g).sum())))
    return out


def fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def summary_text(x) -> str:
    s = summarize(x)
    if s is None:
        return "not available"
    parts = [f"shape {s['shape']}"]
    if "min" in s:
        parts.append(f"min {fmt(s['min'])}  max {fmt(s['max'])}  mean {fmt(s['mean'])}")
    if s.get("nonfinite"):
        parts.append(f"{s['nonfinite']} non-finite")
    return " · ".join(parts)


def _as_matrix(a):
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(1, -1)
    if a.ndim > 2:
        return a.reshape(-1, a.shape[-1])
    return a


def _block_mean(m, cells):
    r, c = m.shape
    rr, cc = min(r, cells), min(c, cells)
    if (rr, cc) == (r, c):
        return m
    ri = np.linspace(0, r, rr + 1).astype(int)
    ci = np.linspace(0, c, cc + 1).astype(int)
    out = np.empty((rr, cc))
    for a in range(rr):
        for b in range(cc):
            out[a, b] = m[ri[a]:ri[a + 1], ci[b]:ci[b + 1]].mean()
    return out


def _color(t) -> str:
    """Diverging blue-white-red for t in [-1, 1]."""
    t = max(-1.0, min(1.0, float(t)))
    if t >= 0:
        r, g, b = 255, int(255 - 155 * t), int(255 - 175 * t)
    else:
        r, g, b = int(255 + 175 * t), int(255 + 115 * t), 255
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap_svg(x, cell: int | None = None, cells: int = MAX_CELLS, title: str = "",
                colorbar: bool = True) -> str:
    """A small SVG heat map (0 is white, positive red, negative blue; scaled by max |x|), with a
    colour scale beside it saying which value each colour stands for."""
    a = to_numpy(x)
    if a is None or a.size == 0 or a.dtype.kind not in "fiub":
        return ""
    m = _block_mean(np.nan_to_num(_as_matrix(a.astype(np.float64))), cells)
    scale = float(np.abs(m).max()) or 1.0
    h, w = m.shape
    if cell is None:                 # about 160 px across, cells between 6 and 22 px
        cell = int(max(6, min(22, 160 // max(h, w))))
    W, H = w * cell, h * cell
    bar_h = max(H, 48)
    total_w = W + (64 if colorbar else 0)
    total_h = bar_h if colorbar else H
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="ember-heatmap" width="{total_w}" '
             f'height="{total_h}" viewBox="0 0 {total_w} {total_h}">']
    if title:
        parts.append(f"<title>{html.escape(title)}</title>")
    for r in range(h):
        for c in range(w):
            parts.append(f'<rect x="{c * cell}" y="{r * cell}" width="{cell}" height="{cell}" '
                         f'fill="{_color(m[r, c] / scale)}"/>')
    parts.append(f'<rect x="0" y="0" width="{W}" height="{H}" fill="none" '
                 f'stroke="#999" stroke-width="0.5"/>')
    if colorbar:
        x0, bw = W + 6, 9
        steps = 16
        for k in range(steps):                      # top (+max) to bottom (-max)
            t = 1 - 2 * (k + 0.5) / steps
            parts.append(f'<rect x="{x0}" y="{k * bar_h / steps:.2f}" width="{bw}" '
                         f'height="{bar_h / steps + 0.3:.2f}" fill="{_color(t)}"/>')
        parts.append(f'<rect class="ember-colorbar" x="{x0}" y="0" width="{bw}" height="{bar_h}" '
                     f'fill="none" stroke="#999" stroke-width="0.5"/>')
        for y, text, base in ((0, fmt(scale), "hanging"), (bar_h / 2, "0", "middle"),
                              (bar_h, fmt(-scale), "text-after-edge")):
            parts.append(f'<text x="{x0 + bw + 3}" y="{y:.1f}" font-size="10" fill="#444" '
                         f'dominant-baseline="{base}">{html.escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def summary_html(x, name: str = "value") -> str:
    """A compact block: name, statistics on two short lines, and a heat map beside them."""
    s = summarize(x)
    box = ("display:inline-flex;gap:8px;align-items:flex-start;vertical-align:top;"
           "margin:2px 14px 6px 0;font-size:11px;line-height:1.35")
    if s is None:
        return f"<div class='ember-summary' style='{box}'><b>{html.escape(name)}</b>: –</div>"
    a = to_numpy(x)
    head = f"<b>{html.escape(name)}</b>"
    if a.size == 1 and a.dtype.kind in "fiub":
        head += f" = {html.escape(fmt(float(a.reshape(-1)[0])))}"
    lines = [head, f"shape {s['shape']} · {html.escape(s['dtype'])}"]
    if "min" in s and a.size > 1:
        lines.append(f"min {fmt(s['min'])} · max {fmt(s['max'])}")
        lines.append(f"mean {fmt(s['mean'])} · std {fmt(s['std'])} · norm {fmt(s['norm'])}")
    if s.get("nonfinite"):
        lines.append(f"<span style='color:#c62828'>{s['nonfinite']} non-finite</span>")
    hm = heatmap_svg(x, title=name) if a.size > 1 else ""
    return (f"<div class='ember-summary' style='{box}'><div>{'<br>'.join(lines)}</div>{hm}</div>")
