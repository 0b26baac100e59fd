"""Graphs next to each other: before/after a pass, traced vs eager, one input vs another.

    viz.compare(graph, optimized, titles=("as built", "optimized"))  # removed / new marked
    viz.compare(loss, traced, titles=("eager", "traced"))           # different kinds: no marks
    viz.compare(model(x1), model(x2), titles=("input 1", "input 2")) # a dynamic model's graphs
    viz.passes(graph, outputs=[loss, step])                          # one pass at a time

Nodes are matched by name in static graphs (passes keep the names of the nodes they copy) and by
label in autograd graphs (`MulBackward0`, `w1`), counting repeats. In each drawing a node with no
match in the previous one is outlined green ("added"), a static node whose op or inputs changed
amber ("changed"), and in the previous drawing a node with no match in the next one red and
dashed ("removed"). Everything drawn comes from `describe`, so any graph ember can draw works.
"""
from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field

import ipywidgets as widgets

from .adapters import describe, is_autograd
from .layout import FIT_WIDTH, layout
from .render import MARKS, render_svg

GAP = 16            # px between drawings side by side


def _key(n):
    """What identifies a node across two graphs of the same kind."""
    return n.info.get("name") or n.label


def _static(desc) -> bool:
    return any("name" in n.info for n in desc.nodes)


def diff(before, after) -> dict:
    """{"removed": [ids in before], "added": [ids in after], "changed": [ids in after]} between
    two GraphDescriptions; `changed` only for named (static) nodes whose op or inputs differ."""
    keyed_b: dict = {}
    for n in before.nodes:
        keyed_b.setdefault(_key(n), []).append(n)
    keyed_a: dict = {}
    for n in after.nodes:
        keyed_a.setdefault(_key(n), []).append(n)
    removed, added, changed = [], [], []
    for k, ns in keyed_b.items():
        removed += [n.id for n in ns[len(keyed_a.get(k, ())):]]
    for k, ns in keyed_a.items():
        added += [n.id for n in ns[len(keyed_b.get(k, ())):]]
    if _static(before) and _static(after):
        for k, ns in keyed_a.items():
            if k in keyed_b and len(ns) == 1 and len(keyed_b[k]) == 1:
                a, b = ns[0], keyed_b[k][0]
                ins_a = [_key(after[i]) for i in a.inputs]
                ins_b = [_key(before[i]) for i in b.inputs]
                if a.info.get("op") != b.info.get("op") or ins_a != ins_b:
                    changed.append(a.id)
    return {"removed": removed, "added": added, "changed": changed}


def _summary(d, before, after) -> str:
    def names(ids, desc):
        labels = [desc[i].label for i in ids]
        shown = ", ".join(f"{k} ×{c}" if c > 1 else k for k, c in Counter(labels).items())
        return shown if len(shown) < 160 else shown[:157] + "…"
    parts = []
    if d["removed"]:
        parts.append(f"<span style='color:{MARKS['removed'][1]}'>removed {len(d['removed'])}: "
                     f"{html.escape(names(d['removed'], before))}</span>")
    if d["added"]:
        parts.append(f"<span style='color:{MARKS['added'][1]}'>new {len(d['added'])}: "
                     f"{html.escape(names(d['added'], after))}</span>")
    if d["changed"]:
        parts.append(f"<span style='color:#b26a00'>changed {len(d['changed'])}: "
                     f"{html.escape(names(d['changed'], after))}</span>")
    return " · ".join(parts) or "no change"


class GraphComparison(widgets.VBox):
    """Use `ember.viz.compare(a, b, ...)` to make one. `descriptions`: what is drawn;
    `diffs[k]`: what changed from drawing k to k + 1 (see `diff`); `svgs`: the drawings."""

    def __init__(self, objs, *, titles=None, highlight="auto", direction="auto", **options):
        super().__init__()
        self.add_class("ember-compare")
        if len(objs) < 2:
            raise TypeError("compare needs at least two graphs, e.g. compare(before, after)")
        titles = list(titles) if titles is not None else [f"graph {k + 1}" for k in range(len(objs))]
        if len(titles) != len(objs):
            raise ValueError(f"compare got {len(objs)} graphs but {len(titles)} titles")
        self.descriptions = []
        for obj in objs:
            opts = options if is_autograd(obj) else {}
            self.descriptions.append(describe(obj, **opts))
        if highlight == "auto":
            kinds = {_static(d) for d in self.descriptions}
            highlight = len(kinds) == 1
        self.diffs = [diff(a, b) if highlight else {"removed": [], "added": [], "changed": []}
                      for a, b in zip(self.descriptions, self.descriptions[1:])]
        n = len(objs)
        half = (FIT_WIDTH - GAP * (n - 1)) / n
        lays = [layout(d, direction=direction, max_width=half) for d in self.descriptions]
        self.side_by_side = all(lay.width <= half for lay in lays)
        self.svgs = []
        for k, (d, lay) in enumerate(zip(self.descriptions, lays)):
            marks = {}
            if k > 0:
                marks.update({i: "added" for i in self.diffs[k - 1]["added"]})
                marks.update({i: "changed" for i in self.diffs[k - 1]["changed"]})
            if k < n - 1:
                marks.update({i: "removed" for i in self.diffs[k]["removed"]})
            title = f"{titles[k]}: {len(d)} nodes"
            self.svgs.append(render_svg(d, lay, title=title, marks=marks, max_width=FIT_WIDTH))
        self.titles = titles
        self._html = widgets.HTML(self.html())
        self._html.add_class("ember-compare-html")
        self.children = [self._html]

    def html(self) -> str:
        """The drawings side by side (or stacked when they don't fit) with what changed."""
        flow = "row" if self.side_by_side else "column"
        panels = []
        for k, svg in enumerate(self.svgs):
            note = ""
            if k > 0 and any(self.diffs[k - 1].values()):
                note = (f"<div class='ember-compare-note' style='font-size:12px;margin:2px 0'>"
                        f"{_summary(self.diffs[k - 1], self.descriptions[k - 1], self.descriptions[k])}"
                        f"</div>")
            panels.append(f"<div class='ember-compare-panel' data-nodes='{len(self.descriptions[k])}'"
                          f" style='overflow-x:auto'>{svg}{note}</div>")
        legend = ("<div style='font-size:11px;color:#555'>outlines: "
                  + " ".join(f"<span style='border:2px {'dashed' if m == 'removed' else 'solid'} "
                             f"{MARKS[m][1]};background:{MARKS[m][0]};padding:0 4px'>{m}</span>"
                             for m in ("removed", "added", "changed")) + "</div>")
        return (f"<div style='display:flex;flex-direction:{flow};gap:{GAP}px;"
                f"align-items:flex-start'>{''.join(panels)}</div>{legend}")

    def _repr_html_(self):
        return self.html()

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        if isinstance(data, tuple):
            data = data[0]
        data = dict(data)
        data["text/html"] = self.html()
        data["text/plain"] = repr(self)
        return data

    def __repr__(self):
        counts = " vs ".join(str(len(d)) for d in self.descriptions)
        return f"<ember.viz comparison of {len(self.descriptions)} graphs: {counts} nodes>"


def compare(*graphs, titles=None, highlight="auto", direction: str = "auto", names=None,
            model=None) -> GraphComparison:
    """Draw two or more graphs side by side (stacked when they would not fit the page), marking
    what changed from each to the next.

    graphs: anything `ember.viz.graph` draws: tensors (autograd graphs), static or traced graphs.
    titles: one caption per graph. highlight: "auto" (mark changes when all graphs are of one
    kind: all static or all autograd), True or False. names, model: as for `graph`, used for
    autograd graphs.
    """
    options = {k: v for k, v in dict(names=names, model=model).items() if v is not None}
    return GraphComparison(graphs, titles=titles, highlight=highlight, direction=direction,
                           **options)


@dataclass
class PassStep:
    """One pass: its name, the graph before and after, and what it changed (node names)."""
    name: str
    before: object
    after: object
    removed: list = field(default_factory=list)
    added: list = field(default_factory=list)
    changed: list = field(default_factory=list)


class PassesView(widgets.VBox):
    """Use `ember.viz.passes(graph, ...)` to make one. `steps`: a PassStep per pass, in order;
    `optimized`: the final graph. Buttons pick the pass whose before/after is drawn."""

    def __init__(self, graph, passes=None, outputs=None, direction: str = "auto"):
        super().__init__()
        self.add_class("ember-passes")
        from ember.static import passes as P
        passes = P.DEFAULT if passes is None else tuple(passes)
        cur = P.optimize(graph, passes=(), outputs=outputs)      # what the outputs need
        self.start = cur
        self.steps = []
        for p in passes:
            name = getattr(p, "__name__", str(p))
            new = P.verify(p(cur), after=name)
            b, a = describe(cur), describe(new)
            d = diff(b, a)
            self.steps.append(PassStep(name, cur, new, [_key(b[i]) for i in d["removed"]],
                                       [_key(a[i]) for i in d["added"]],
                                       [_key(a[i]) for i in d["changed"]]))
            cur = new
        self.optimized = cur
        self.direction = direction
        labels = [f"{k + 1}. {s.name} ({s.before.num_nodes}→{s.after.num_nodes})"
                  for k, s in enumerate(self.steps)]
        self._pick = widgets.Dropdown(options=[(t, k) for k, t in enumerate(labels)], value=0,
                                      description="pass", layout=widgets.Layout(width="460px"))
        self._pick.add_class("ember-pass-picker")
        self._prev = widgets.Button(description="◀", layout=widgets.Layout(width="40px"))
        self._next = widgets.Button(description="▶", layout=widgets.Layout(width="40px"))
        self._prev.on_click(lambda _: self.show(self.index - 1))
        self._next.on_click(lambda _: self.show(self.index + 1))
        self._table = widgets.HTML(self.table_html())
        self._view = widgets.VBox()
        self._pick.observe(lambda c: self._update(), names="value")
        self.children = [self._table, widgets.HBox([self._prev, self._pick, self._next]),
                         self._view]
        self._cache: dict = {}
        self._update()

    @property
    def index(self) -> int:
        """The pass shown, counted from 0."""
        return self._pick.value

    def show(self, k: int):
        """Draw pass `k` (from 0): its graph before and after."""
        self._pick.value = max(0, min(len(self.steps) - 1, int(k)))

    def comparison(self, k: int | None = None) -> GraphComparison:
        k = self.index if k is None else k
        if k not in self._cache:
            s = self.steps[k]
            self._cache[k] = GraphComparison(
                [s.before, s.after], titles=[f"before {s.name}", f"after {s.name}"],
                direction=self.direction)
        return self._cache[k]

    def table_html(self) -> str:
        rows = [f"<tr><td>start</td><td style='text-align:right'>{self.start.num_nodes}</td>"
                f"<td></td></tr>"]
        for s in self.steps:
            what = []
            if s.removed:
                what.append(f"removed {', '.join(s.removed)}")
            if s.added:
                what.append(f"new {', '.join(s.added)}")
            if s.changed:
                what.append(f"changed {', '.join(s.changed)}")
            text = html.escape("; ".join(what) or "no change")
            if len(text) > 200:
                text = text[:197] + "…"
            rows.append(f"<tr><td>{html.escape(s.name)}</td><td style='text-align:right'>"
                        f"{s.after.num_nodes}</td><td style='color:#555'>{text}</td></tr>")
        return ("<table class='ember-passes-table' style='font-size:12px'><tr>"
                "<th style='text-align:left'>pass</th><th>nodes</th>"
                "<th style='text-align:left'>what it did</th></tr>" + "".join(rows) + "</table>")

    def _update(self):
        self._view.children = [self.comparison()]

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        if isinstance(data, tuple):
            data = data[0]
        data = dict(data)
        data["text/html"] = self.table_html() + self.comparison().html()
        data["text/plain"] = repr(self)
        return data

    def __repr__(self):
        return (f"<ember.viz passes: {len(self.steps)} passes, {self.start.num_nodes} -> "
                f"{self.optimized.num_nodes} nodes>")


def passes(graph, outputs=None, passes=None, direction: str = "auto") -> PassesView:
    """Run the optimization passes of `ember.static.passes` on `graph` one at a time and show
    each pass's graph before and after, side by side, with what it removed, added or fused.

    outputs: the nodes to keep (default: the graph's outputs, else the nodes nobody reads), as for
    `ember.static.passes.optimize`; passes: the passes to run (default: `passes.DEFAULT`).
    The view's `steps` list what each pass did, by node name; `optimized` is the result.
    """
    return PassesView(graph, passes=passes, outputs=outputs, direction=direction)
