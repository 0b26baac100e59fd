"""Layered layout of a GraphDescription (a small Sugiyama-style layout), left to right or, for
long chains that would not fit the page's width, top to bottom (`direction="TB"`; "auto" picks).

1. Layers: a node sits one layer right of its rightmost input (longest path); then, from the
   outputs back, every node is pulled right to sit just before its first reader, so a weight (and
   its transpose) appears next to the op that uses it rather than far away at the left edge.
2. Long edges are split by invisible dummy nodes, one per layer crossed, so they route around boxes.
3. Order within a layer: barycenter sweeps (left to right and back) keeping the ordering with the
   fewest edge crossings seen.
4. Coordinates: columns as wide as their widest box; in each column boxes are stacked in order and
   pulled toward the mean height of their neighbours, never closer than `node_gap`. Top to
   bottom is the same computation with the axes swapped (layers are rows).

Pure Python, no drawing: `render.py` turns a `Layout` into SVG.
"""
from __future__ import annotations

from dataclasses import dataclass, field

COORD_SWEEPS = 8   # alternating sweeps: down (follow the inputs), up (follow the readers)
CHAR_W = 7.0        # width of one character at the 12px font the renderer uses
LINE_H = 15.0


@dataclass
class Box:
    id: object
    x: float
    y: float
    w: float
    h: float
    layer: int
    dummy: bool = False

    @property
    def cx(self):
        return self.x + self.w / 2

    @property
    def cy(self):
        return self.y + self.h / 2

    def overlaps(self, other, pad=0.0) -> bool:
        return not (self.x + self.w + pad <= other.x or other.x + other.w + pad <= self.x or
                    self.y + self.h + pad <= other.y or other.y + other.h + pad <= self.y)


@dataclass
class Edge:
    src: object
    dst: object
    arg: int                      # which input of dst this edge feeds
    points: list                  # [(x, y), ...] from src's right side to dst's left side


@dataclass
class Layout:
    boxes: dict                   # id -> Box, real nodes only
    edges: list                   # one Edge per (src, dst, arg): every input of every node
    layers: list                  # [[id, ...], ...] real and dummy ids, in drawing order
    width: float
    height: float
    crossings: int = 0
    dummies: dict = field(default_factory=dict)
    direction: str = "LR"         # "LR": edges run left to right; "TB": top to bottom
    ghosts: dict = field(default_factory=dict)   # ghost id -> (Box, id of the node it copies)


def node_size(node) -> tuple:
    """Width and height of a node's box: a label line, a shape line, and for groups a summary."""
    lines = [node.label, _shape_text(node.shape)]
    if node.kind == "group":
        lines.append(node.info.get("summary", ""))
    w = max(60.0, max(len(s) for s in lines) * CHAR_W + 18)
    h = 10 + LINE_H * sum(1 for s in lines if s)
    return w, max(h, 26.0)


def _shape_text(shape) -> str:
    if shape is None:
        return ""
    return "(" + ", ".join(str(s) for s in shape) + ")" if len(shape) != 1 else f"({shape[0]},)"


FIT_WIDTH = 900.0   # JupyterLab's output area at its default width, in px


def layout(desc, *, direction: str = "LR", max_width: float = FIT_WIDTH,
           ghost_span: int | None = None, layer_gap: float | None = None,
           node_gap: float | None = None,
           margin: float = 16, sweeps: int = 8) -> Layout:
    """Place every node of `desc` (see the module docstring).

    direction: "LR" (data flows left to right), "TB" (top to bottom: long chains, e.g. a static
    graph with its gradients, fit the page's width) or "auto": LR when it is at most `max_width`
    px wide, else whichever of the two is narrower.
    """
    if direction == "auto":
        lr = layout(desc, direction="LR", ghost_span=ghost_span, layer_gap=layer_gap,
                    node_gap=node_gap, margin=margin, sweeps=sweeps)
        if lr.width <= max_width:
            return lr
        tb = layout(desc, direction="TB", ghost_span=ghost_span, layer_gap=layer_gap,
                    node_gap=node_gap, margin=margin, sweeps=sweeps)
        return tb if tb.width < lr.width else lr
    if direction not in ("LR", "TB"):
        raise ValueError(f"layout direction must be 'LR', 'TB' or 'auto', got {direction!r}")
    tb = direction == "TB"
    if layer_gap is None:
        layer_gap = 36 if tb else 56
    if ghost_span is None:
        ghost_span = 2 if tb else 0
    if node_gap is None:
        node_gap = 8 if tb else 14
    nodes = {n.id: n for n in desc.nodes}
    order = list(nodes)
    preds = {i: list(dict.fromkeys(nodes[i].inputs)) for i in order}
    succs: dict = {i: [] for i in order}
    for i in order:
        for p in preds[i]:
            succs[p].append(i)

    topo = _toposort(order, preds, succs)
    layer = {}
    for i in topo:
        layer[i] = 1 + max((layer[p] for p in preds[i]), default=-1)
    for i in reversed(topo):          # then every node slides right, next to its first reader:
        if succs[i]:                  # a weight and its transpose sit just before their matmul
            layer[i] = min(layer[s] for s in succs[i]) - 1
    n_layers = 1 + max(layer.values(), default=0)

    # a source node (no inputs: input, parameter, constant) read far below gets a ghost copy
    # next to that reader instead of an edge across the whole drawing
    ghosts = {}
    src_of = {i: {p: p for p in preds[i]} for i in order}
    if ghost_span:
        for i in order:
            for p in preds[i]:
                if not preds[p] and layer[i] - layer[p] > ghost_span:
                    g = ("ghost", p, i)
                    ghosts[g] = p
                    layer[g] = layer[i] - 1
                    src_of[i][p] = g

    # dummy chains for edges spanning several layers
    vpreds = {i: [] for i in list(order) + list(ghosts)}
    dummies = {}
    for i in order:
        for p0 in preds[i]:
            p = src_of[i][p0]
            prev = p
            for lay in range(layer[p] + 1, layer[i]):
                d = ("~", p, i, lay)
                dummies[d] = (p, i)
                layer[d] = lay
                vpreds[d] = [prev]
                prev = d
            vpreds[i].append(prev)
    vsuccs = {i: [] for i in vpreds}
    for i, ps in vpreds.items():
        for p in ps:
            vsuccs[p].append(i)

    layers = [[] for _ in range(n_layers)]
    for i in topo:                                 # initial order: discovery order, dummies after
        layers[layer[i]].append(i)
    for g in ghosts:
        layers[layer[g]].append(g)
    for d in dummies:
        layers[layer[d]].append(d)
    layers = _order(layers, vpreds, vsuccs, sweeps)
    crossings = _crossings(layers, vsuccs)

    # sizes as (extent along the flow, extent across it): LR (w, h), TB (h, w)
    sizes = {}
    for i in order:
        w, h = node_size(nodes[i])
        sizes[i] = (h, w) if tb else (w, h)
    for g, p in ghosts.items():
        sizes[g] = sizes[p]
    for d in dummies:
        sizes[d] = (0.0, 6.0)
    across = _coordinates(layers, sizes, vpreds, vsuccs, node_gap)
    across = _deskew(layers, sizes, across)

    starts, pos = [], margin
    for lay in layers:
        starts.append(pos)
        pos += max((sizes[i][0] for i in lay), default=0.0) + layer_gap
    low = min(across.values(), default=0.0)
    boxes, dboxes, gboxes = {}, {}, {}
    for li, lay in enumerate(layers):
        band = max((sizes[i][0] for i in lay), default=0.0)
        for i in lay:
            a, c = sizes[i]
            along, acr = starts[li] + (band - a) / 2, across[i] - low + margin
            b = (Box(i, acr, along, c, a, li, i in dummies) if tb else
                 Box(i, along, acr, a, c, li, i in dummies))
            (dboxes if i in dummies else gboxes if i in ghosts else boxes)[i] = b
    extent = pos - layer_gap + margin
    far = max(((b.x + b.w) if tb else (b.y + b.h) for b in list(boxes.values()) +
               list(dboxes.values()) + list(gboxes.values())), default=0.0) + margin
    width, height = (far, extent) if tb else (extent, far)

    edges = []
    for i in order:
        n_in = len(nodes[i].inputs)
        b = boxes[i]
        routes = []
        for k, p0 in enumerate(nodes[i].inputs):
            p = src_of[i][p0]
            a = gboxes[p] if p in ghosts else boxes[p]
            pts = [(a.cx, a.y + a.h) if tb else (a.x + a.w, a.cy)]
            pts += [(dboxes[("~", p, i, lay)].cx, dboxes[("~", p, i, lay)].cy)
                    for lay in range(a.layer + 1, b.layer)]
            routes.append((pts[-1][0] if tb else pts[-1][1], k, p0, pts))
        # entry points spread along the box's near side in the order the edges arrive
        for slot, (_, k, p, pts) in enumerate(sorted(routes, key=lambda r: (r[0], r[1]))):
            frac = (slot + 1) / (n_in + 1)
            pts.append((b.x + b.w * frac, b.y) if tb else (b.x, b.y + b.h * frac))
            edges.append(Edge(p, i, k, pts))
    ghost_boxes = {g: (gboxes[g], p) for g, p in ghosts.items()}
    return Layout(boxes, edges, layers, width, height, crossings, dboxes, direction, ghost_boxes)


def _toposort(order, preds, succs) -> list:
    indeg = {i: len(preds[i]) for i in order}
    ready = [i for i in order if indeg[i] == 0]
    out = []
    while ready:
        i = ready.pop(0)
        out.append(i)
        for s in succs[i]:
            indeg[s] -= 1
            if indeg[s] == 0:
                ready.append(s)
    if len(out) != len(order):
        stuck = [i for i in order if indeg[i] > 0][:5]
        raise ValueError(f"graph has a cycle through {stuck}; only DAGs can be laid out")
    return out


def _order(layers, vpreds, vsuccs, sweeps) -> list:
    best, best_c = [list(l) for l in layers], _crossings(layers, vsuccs)
    cur = [list(l) for l in layers]
    for it in range(sweeps):
        if best_c == 0:
            break
        down = it % 2 == 0
        rng = range(1, len(cur)) if down else range(len(cur) - 2, -1, -1)
        for li in rng:
            ref = cur[li - 1] if down else cur[li + 1]
            pos = {v: k for k, v in enumerate(ref)}
            nbrs = vpreds if down else vsuccs
            keyed = []
            for k, v in enumerate(cur[li]):
                ps = [pos[u] for u in nbrs[v] if u in pos]
                keyed.append((sum(ps) / len(ps) if ps else k, k, v))
            cur[li] = [v for _, _, v in sorted(keyed, key=lambda t: (t[0], t[1]))]
        c = _crossings(cur, vsuccs)
        if c < best_c:
            best, best_c = [list(l) for l in cur], c
    if best_c:
        _transpose(best, vpreds, vsuccs)
    return best


def _transpose(layers, vpreds, vsuccs, rounds: int = 6):
    """Swap neighbours within a layer while that removes crossings with the layers on either
    side (the 'transpose' step of Gansner et al.), in place."""
    def pair_crossings(u, v, pos_up, pos_down):
        c = 0
        for nbrs, pos in ((vpreds, pos_up), (vsuccs, pos_down)):
            if pos is None:
                continue
            pu = [pos[a] for a in nbrs[u] if a in pos]
            pv = [pos[b] for b in nbrs[v] if b in pos]
            c += sum(1 for a in pu for b in pv if a > b)
        return c

    for _ in range(rounds):
        improved = False
        for li, lay in enumerate(layers):
            up = {v: k for k, v in enumerate(layers[li - 1])} if li > 0 else None
            down = {v: k for k, v in enumerate(layers[li + 1])} if li + 1 < len(layers) else None
            for j in range(len(lay) - 1):
                u, v = lay[j], lay[j + 1]
                if pair_crossings(u, v, up, down) > pair_crossings(v, u, up, down):
                    lay[j], lay[j + 1] = v, u
                    improved = True
        if not improved:
            break


def _crossings(layers, vsuccs) -> int:
    total = 0
    for li in range(len(layers) - 1):
        pos = {v: k for k, v in enumerate(layers[li + 1])}
        es = [(a, pos[s]) for a, v in enumerate(layers[li]) for s in vsuccs[v] if s in pos]
        es.sort()
        for x in range(len(es)):                  # count inversions (small graphs: O(E^2) is fine)
            for y in range(x + 1, len(es)):
                if es[x][0] < es[y][0] and es[x][1] > es[y][1]:
                    total += 1
    return total


def _coordinates(layers, sizes, vpreds, vsuccs, gap) -> dict:
    """Heights: each node lines up with its *first* input (argument 0 is the main data path in
    a network: `x @ W`, `h + b`), side inputs (weights, biases) stack around that path. Packing
    gives the path priority, so it stays straight instead of drifting."""
    y = {}
    for lay in layers:                             # start: stacked, each column centred on 0
        total = sum(sizes[i][1] for i in lay) + gap * (len(lay) - 1)
        t = -total / 2
        for i in lay:
            y[i] = t
            t += sizes[i][1] + gap
    firsts = {u: [s for s in vsuccs[u] if vpreds[s] and vpreds[s][0] == u] for u in vsuccs}

    def centre(u):
        return y[u] + sizes[u][1] / 2

    for it in range(COORD_SWEEPS):
        down = it % 2 == 0
        rng = range(len(layers)) if down else range(len(layers) - 1, -1, -1)
        for li in rng:
            lay = layers[li]
            if not lay:
                continue
            want, prio = [], []
            for i in lay:
                if down:
                    nb = vpreds[i][:1] or firsts[i] or vsuccs[i]
                else:
                    nb = firsts[i] or vsuccs[i] or vpreds[i][:1]
                if nb:
                    want.append(sum(centre(u) for u in nb) / len(nb) - sizes[i][1] / 2)
                else:
                    want.append(y[i])
                prio.append(2 * bool(firsts[i]) + bool(vpreds[i]))
            y.update(zip(lay, _pack(want, [sizes[i][1] for i in lay], gap, prio)))
    return y


def _deskew(layers, sizes, pos) -> dict:
    """Aligning each node with its neighbours can let the layers drift sideways step by step (a
    staircase twice as wide as any layer). Shift layer k by -slope * k, the slope fitted to the
    layers' centres, when that makes the drawing narrower: every edge leans by the same little."""
    rows = [(k, [(pos[i], pos[i] + sizes[i][1]) for i in lay]) for k, lay in enumerate(layers) if lay]
    if len(rows) < 3:
        return pos
    ks = [k for k, _ in rows]
    cs = [(min(a for a, _ in r) + max(b for _, b in r)) / 2 for _, r in rows]
    mk, mc = sum(ks) / len(ks), sum(cs) / len(cs)
    var = sum((k - mk) ** 2 for k in ks)
    slope = sum((k - mk) * (c - mc) for k, c in zip(ks, cs)) / var if var else 0.0
    moved = {i: p - slope * (k - mk) for k, lay in enumerate(layers) for i in lay
             for p in (pos[i],)}

    def span(q):
        return (max(q[i] + sizes[i][1] for i in q) - min(q.values())) if q else 0.0
    return moved if span(moved) < span(pos) - 1 else pos


def _pack(want, heights, gap, prio=None) -> list:
    """Positions closest to `want` keeping order and gaps, placing high-priority nodes first
    (each as close to its wish as the nodes already placed allow, leaving room in between)."""
    n = len(want)
    prio = prio or [0] * n
    pos: list = [None] * n
    # room[k] = top of k - top of j needed for j < k: heights[j..k-1] + gaps
    cum = [0.0]
    for h in heights:
        cum.append(cum[-1] + h + gap)
    for k in sorted(range(n), key=lambda k: (-prio[k], k)):
        lo, hi = float("-inf"), float("inf")
        for j in range(k - 1, -1, -1):
            if pos[j] is not None:
                lo = pos[j] + cum[k] - cum[j]
                break
        for j in range(k + 1, n):
            if pos[j] is not None:
                hi = pos[j] - (cum[j] - cum[k])
                break
        pos[k] = min(max(want[k], lo), hi)
    return pos
