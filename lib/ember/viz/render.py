"""SVG drawing of a laid-out graph. Plain strings, no JavaScript.

Every node is a `<g class="ember-node ember-kind-KIND" data-id="...">` holding a box, its label,
its shape and a `<title>` (the browser shows it on hover). Every edge is a
`<path class="ember-edge" data-src=".." data-dst=".." data-arg="k">`. Highlights used by the
backprop stepper: `current` (the node running), `done` (already run), `hot_edges` (edges carrying
the gradient just computed) and `selected` (the node the info panel shows).
"""
from __future__ import annotations

import html

from .layout import LINE_H, _shape_text

STYLE = {   # kind -> (fill, stroke, dash)
    "input": ("#e3f2fd", "#1e88e5", ""),
    "parameter": ("#fff3e0", "#ef6c00", ""),
    "op": ("#f5f5f5", "#616161", ""),
    "output": ("#e8f5e9", "#2e7d32", ""),
    "constant": ("#fafafa", "#9e9e9e", "4 2"),
    "group": ("#ede7f6", "#5e35b1", ""),
}
MARKS = {   # what a pass did to a node -> (fill, stroke, dash)
    "removed": ("#ffebee", "#c62828", "5 3"),
    "added": ("#e8f5e9", "#2e7d32", ""),
    "changed": ("#fff8e1", "#f9a825", ""),
}
CURRENT = "#d81b60"
FONT_PX = 12          # label size in the drawing's own units
MIN_FONT_PX = 11      # shrinking to fit a container stops here (legible labels)
DONE_FILL = "#fce4ec"


def node_dom_id(node_id) -> str:
    """The string written in data-id / data-src / data-dst for a node id."""
    if isinstance(node_id, tuple):
        return ":".join(str(p) for p in node_id)
    return str(node_id)


def _esc(s) -> str:
    return html.escape(str(s), quote=True)


def _path(points, vertical: bool = False) -> str:
    (x0, y0), rest = points[0], points[1:]
    d = [f"M{x0:.1f},{y0:.1f}"]
    px, py = x0, y0
    for x, y in rest:                    # tangents along the flow at every point: S-curves
        if vertical:
            my = (py + y) / 2
            d.append(f"C{px:.1f},{my:.1f} {x:.1f},{my:.1f} {x:.1f},{y:.1f}")
        else:
            mx = (px + x) / 2
            d.append(f"C{mx:.1f},{py:.1f} {mx:.1f},{y:.1f} {x:.1f},{y:.1f}")
        px, py = x, y
    return " ".join(d)


def render_svg(desc, lay, *, current=None, done=(), hot_edges=(), selected=None,
               tooltips=None, title: str | None = None, max_width: float | None = None,
               pick: dict | None = None, onclick: str = "", marks: dict | None = None) -> str:
    """`tooltips`: optional dict id -> extra text for the node's <title>. `max_width`: with it,
    the drawing may shrink to fit a narrower container, but never below MIN_FONT_PX labels
    (then it scrolls instead). `pick`: optional dict id -> index written as `data-pick` (the
    graph widget's click-to-select uses it); `onclick`: JavaScript run when the drawing is clicked.
    `marks`: optional dict id -> "removed" | "added" | "changed" (what a graph pass did to the
    node; `compare` uses it): class `ember-removed` etc. and a coloured, thicker outline."""
    marks = marks or {}
    done = set(done)
    hot = set(hot_edges)
    tooltips = tooltips or {}
    title = desc.title if title is None else title
    top = 22 if title else 0
    w, h = max(lay.width, len(title or "") * 7.3 + 16), lay.height + top
    # shrink to the container, but labels stay legible: at most to MIN_FONT_PX / FONT_PX
    style = (f' style="max-width:100%;min-width:{w * MIN_FONT_PX / FONT_PX:.0f}px;height:auto"'
             if max_width is not None else "")
    vertical = getattr(lay, "direction", "LR") == "TB"
    pick = pick or {}
    onclick = f' onclick="{_esc(onclick)}"' if onclick else ""
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="ember-graph" width="{w:.0f}" '
           f'height="{h:.0f}" viewBox="0 0 {w:.0f} {h:.0f}" font-family="DejaVu Sans Mono, '
           f'Menlo, Consolas, monospace" font-size="{FONT_PX}" data-nodes="{len(lay.boxes)}" '
           f'data-edges="{len(lay.edges)}" data-direction="{"TB" if vertical else "LR"}"'
           f'{style}{onclick}>',
           '<defs><marker id="ember-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
           'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
           '<path d="M0,0 L10,5 L0,10 z" fill="#757575"/></marker>'
           '<marker id="ember-arrow-hot" viewBox="0 0 10 10" refX="9" refY="5" '
           'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
           f'<path d="M0,0 L10,5 L0,10 z" fill="{CURRENT}"/></marker></defs>',
           '<rect width="100%" height="100%" fill="white"/>']
    if title:
        out.append(f'<text x="8" y="16" font-weight="bold" fill="#333">{_esc(title)}</text>')
    out.append(f'<g transform="translate(0,{top})">')
    for e in lay.edges:
        is_hot = (e.src, e.dst) in hot or (e.src, e.dst, e.arg) in hot
        # a hot edge carries a gradient backward: its arrowhead sits at the input's end
        color, width, marker = ((CURRENT, 2.5, 'marker-start="url(#ember-arrow-hot)"') if is_hot
                                else ("#9e9e9e", 1.2, 'marker-end="url(#ember-arrow)"'))
        cls = "ember-edge ember-hot" if is_hot else "ember-edge"
        out.append(f'<path class="{cls}" data-src="{_esc(node_dom_id(e.src))}" '
                   f'data-dst="{_esc(node_dom_id(e.dst))}" data-arg="{e.arg}" '
                   f'd="{_path(e.points, vertical)}" fill="none" stroke="{color}" stroke-width="{width}" '
                   f'{marker}/>')
    for nid, b in lay.boxes.items():
        n = desc[nid]
        fill, stroke, dash = STYLE[n.kind]
        sw = 1.3
        cls = [f"ember-node ember-kind-{n.kind}"]
        if nid in done:
            fill = DONE_FILL
            cls.append("ember-done")
        if nid == current:
            stroke, sw = CURRENT, 3.0
            cls.append("ember-current")
        if nid == selected:
            cls.append("ember-selected")
        if nid in marks:
            fill, stroke, dash = MARKS[marks[nid]]
            sw = 2.6
            cls.append(f"ember-{marks[nid]}")
        rx = {"input": 12, "output": 12, "parameter": 3, "group": 8}.get(n.kind, 5)
        tip = [f"{n.label}  [{n.kind}]"]
        if n.shape is not None:
            tip.append(f"shape {_shape_text(n.shape)}")
        if n.info.get("name") and n.info["name"] != n.label:
            tip.append(f"name {n.info['name']}" + (f", op {n.info['op']}" if n.info.get("op") else ""))
        if n.info.get("rule"):
            tip.append(f"rule: {n.info['rule']}")
        if n.kind == "group":
            tip.append(f"{n.info.get('summary', '')} (collapsed: select it and press expand)")
        if nid in marks:
            tip.append({"removed": "removed by this step", "added": "new in this step",
                        "changed": "changed by this step (op or inputs)"}[marks[nid]])
        if nid in tooltips:
            tip.append(tooltips[nid])
        pick_attr = f' data-pick="{pick[nid]}" style="cursor:pointer"' if nid in pick else ""
        out.append(f'<g class="{" ".join(cls)}" data-id="{_esc(node_dom_id(nid))}"{pick_attr}>'
                   f'<title>{_esc(chr(10).join(tip))}</title>')
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        if n.kind == "group":        # a stacked look: a second box peeking out behind
            out.append(f'<rect x="{b.x + 4:.1f}" y="{b.y - 4:.1f}" width="{b.w:.1f}" '
                       f'height="{b.h:.1f}" rx="{rx}" fill="{fill}" stroke="{stroke}" '
                       f'stroke-width="1" opacity="0.6"/>')
        out.append(f'<rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" '
                   f'rx="{rx}" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"{dash_attr}/>')
        if nid == selected:
            out.append(f'<rect x="{b.x - 3:.1f}" y="{b.y - 3:.1f}" width="{b.w + 6:.1f}" '
                       f'height="{b.h + 6:.1f}" rx="{rx + 2}" fill="none" stroke="#212121" '
                       f'stroke-width="1.2" stroke-dasharray="3 2"/>')
        lines = [(n.label, "bold", "#212121")]
        if n.kind == "group" and n.info.get("summary"):
            lines.append((n.info["summary"], "normal", "#5e35b1"))
        if n.shape is not None:
            lines.append((_shape_text(n.shape), "normal", "#616161"))
        y0 = b.cy - LINE_H * (len(lines) - 1) / 2 + 4
        for k, (text, weight, color) in enumerate(lines):
            out.append(f'<text x="{b.cx:.1f}" y="{y0 + k * LINE_H:.1f}" text-anchor="middle" '
                       f'font-weight="{weight}" fill="{color}">{_esc(text)}</text>')
        out.append("</g>")
    for gid, (b, nid) in getattr(lay, "ghosts", {}).items():
        n = desc[nid]
        fill, stroke, _ = STYLE[n.kind]
        lines = [(n.label, "bold", "#555")]
        if n.shape is not None:
            lines.append((_shape_text(n.shape), "normal", "#777"))
        out.append(f'<g class="ember-ghost ember-kind-{n.kind}" data-ghost-of='
                   f'"{_esc(node_dom_id(nid))}"><title>{_esc(n.label)} (drawn again here: '
                   f'the same node as above, read here too)</title>'
                   f'<rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" '
                   f'rx="5" fill="{fill}" stroke="{stroke}" stroke-width="1.2" '
                   f'stroke-dasharray="5 3" opacity="0.85"/>')
        y0 = b.cy - LINE_H * (len(lines) - 1) / 2 + 4
        for k, (text, weight, color) in enumerate(lines):
            out.append(f'<text x="{b.cx:.1f}" y="{y0 + k * LINE_H:.1f}" text-anchor="middle" '
                       f'font-weight="{weight}" fill="{color}">{_esc(text)}</text>')
        out.append("</g>")
    out.append("</g></svg>")
    return "".join(out)


def legend_html() -> str:
    items = []
    for kind in ("input", "parameter", "op", "output", "group"):
        fill, stroke, _ = STYLE[kind]
        items.append(f"<span style='display:inline-block;margin-right:10px'><span style='display:"
                     f"inline-block;width:12px;height:12px;background:{fill};border:1.5px solid "
                     f"{stroke};vertical-align:middle;margin-right:3px'></span>{kind}</span>")
    items.append("<span style='display:inline-block'><span style='display:inline-block;width:12px;"
                 "height:12px;border:1.5px dashed #888;vertical-align:middle;margin-right:3px'>"
                 "</span>dashed: constant (grey), or a node drawn again next to a far-away reader</span>")
    return f"<div style='font-size:11px;color:#555'>{''.join(items)}</div>"
