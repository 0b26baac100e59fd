"""`ember.viz.graph(x)`: the computation graph as an interactive SVG widget.

The SVG is drawn in Python (render.py) and shown in an `ipywidgets.HTML`; hovering a box shows its
`<title>` tooltip (kind, shape, rule, value and gradient statistics). Clicking a box, or the node
picker, selects a node for the info panel (value and gradient: statistics and a heat map), and
collapsed groups (a whole Linear layer as one box) expand and collapse with a button.

Without a widget frontend (nbconvert HTML, nbgrader feedback) the same object shows a static SVG.
"""
from __future__ import annotations

import html

import ipywidgets as widgets

from .adapters import describe, is_autograd
from .layout import FIT_WIDTH, _shape_text, layout
from .recorder import GradRecorder
from .render import legend_html, node_dom_id, render_svg
from .summary import summary_html, summary_text

AUTO_COLLAPSE = 40          # collapse="auto" folds groups while more nodes than this are drawn,
FIT_HEIGHT = 2400           # ... or the drawing is taller than this (or wider than FIT_WIDTH)
TOOLTIP_STATS_MAX = 150     # tooltips carry statistics while the view has at most this many nodes


def pick_js(container: str, select: str) -> str:
    """JavaScript for a drawing's onclick: a click on a box with `data-pick="k"` picks option k
    of the dropdown of class `select` in the enclosing widget of class `container`; the
    dropdown's own change event then tells the kernel, so no custom front-end code is needed."""
    return ("var g=event.target.closest('[data-pick]');if(!g)return;"
            f"var w=this.closest('.{container}');"
            f"var s=w&&w.querySelector('.{select} select');if(!s)return;"
            "s.selectedIndex=+g.getAttribute('data-pick');"
            "s.dispatchEvent(new Event('change',{bubbles:true}));")


PICK_JS = pick_js("ember-graph-widget", "ember-node-picker")


def _call(getter):
    if getter is None:
        return None
    try:
        return getter()
    except Exception:       # noqa: BLE001 - a value that can't be read is shown as unavailable
        return None


def _autograd_nodes(desc):
    return [n.info["node"] for n in desc.nodes if "node" in n.info]


class GraphView:
    """What GraphWidget and BackpropStepper share: a description, which groups are expanded, and
    a cached layout per expansion state.

    collapse: "auto" (fold groups only while the drawing does not fit, see `fits`: gradient
    scopes first, then the biggest groups), True (all), False (none) or a list of group names
    that start folded. direction: "auto" (left to right if it fits, else top to bottom), "LR"
    or "TB".
    """

    def __init__(self, desc, collapse="auto", direction: str = "auto"):
        self.desc = desc
        self.direction = direction
        self._cache: dict = {}
        groups = desc.groups()
        if collapse == "auto":
            self.expanded = set(groups)
            for g in sorted(groups, key=lambda g: (not g.split("/")[0].startswith("gradient"),
                                                   -len(groups[g]), g)):
                if self.fits():
                    break
                self.expanded.discard(g)
        elif collapse is True or collapse is False:
            self.expanded = set() if collapse else set(groups)
        else:
            self.expanded = set(groups) - set(collapse)

    def fits(self) -> bool:
        """At most AUTO_COLLAPSE boxes in a drawing at most FIT_WIDTH x FIT_HEIGHT px."""
        return (len(self.view) <= AUTO_COLLAPSE and self.layout.width <= FIT_WIDTH and
                self.layout.height <= FIT_HEIGHT)

    @property
    def view(self):
        return self._get()[0]

    @property
    def layout(self):
        return self._get()[1]

    def _get(self):
        key = frozenset(self.expanded)
        if key not in self._cache:
            v = self.desc.collapsed(self.expanded)
            self._cache[key] = (v, layout(v, direction=self.direction, max_width=FIT_WIDTH))
        return self._cache[key]

    def visible_id(self, node_id):
        """The id drawn for `node_id`: itself, or its collapsed group's box."""
        n = self.desc[node_id] if node_id in self.desc else None
        if n is not None and n.group is not None and n.group not in self.expanded:
            return ("group", n.group)
        return node_id

    def toggle(self, group):
        self.expanded.symmetric_difference_update({group})


class GraphWidget(widgets.VBox):
    """Use `ember.viz.graph(x)` to make one."""

    def __init__(self, obj, *, names=None, model=None, collapse="auto", title=None,
                 show_constants=False, max_height: int = 800, watch_grads: bool = True,
                 direction: str = "auto"):
        super().__init__()
        self.add_class("ember-graph-widget")
        self.recorder = GradRecorder(on_call=self._on_backward)
        opts = {k: v for k, v in dict(names=names, model=model, title=title,
                                      show_constants=show_constants or None).items()
                if v is not None}
        if is_autograd(obj):
            opts["grads"] = self.recorder.grads
        desc = describe(obj, **opts)
        self.description = desc
        self.graph = GraphView(desc, collapse, direction)
        if watch_grads:
            self.recorder.attach(_autograd_nodes(desc))
        self._selected = None
        self._stale = False

        self._svg = widgets.HTML(layout=widgets.Layout(overflow="auto", max_height=f"{max_height}px",
                                                       border="1px solid #ddd"))
        self._svg.add_class("ember-graph-svg")
        self._info = widgets.HTML()
        self._info.add_class("ember-graph-info")
        self._picker = widgets.Dropdown(description="node", layout=widgets.Layout(width="340px"))
        self._picker.add_class("ember-node-picker")
        self._expand = widgets.Button(description="expand group", disabled=True,
                                      layout=widgets.Layout(width="140px"))
        self._all = widgets.Button(description="expand all", layout=widgets.Layout(width="110px"),
                                   disabled=not desc.groups())
        self._refresh = widgets.Button(description="refresh", icon="refresh",
                                       layout=widgets.Layout(width="100px"))
        self._picker.observe(self._on_pick, names="value")
        self._expand.on_click(lambda _: self._toggle_selected())
        self._all.on_click(lambda _: self._toggle_all())
        self._refresh.on_click(lambda _: self.refresh())
        self.children = [widgets.HTML(legend_html()),
                         widgets.HBox([self._picker, self._expand, self._all, self._refresh]),
                         self._svg, self._info]
        self.refresh()

    # ---- public -------------------------------------------------------------------------------
    @property
    def svg(self) -> str:
        """The SVG of what is drawn now."""
        view = self.graph.view
        return render_svg(view, self.graph.layout, selected=self._selected,
                          tooltips=self._tooltips(), max_width=FIT_WIDTH,
                          pick={n.id: k + 1 for k, n in enumerate(view.nodes)}, onclick=PICK_JS)

    def select(self, node_id):
        """Show `node_id` (an id of `description`, or a group's `("group", name)`) in the panel."""
        vid = self.graph.visible_id(node_id)
        if vid in self.graph.view:
            self._picker.value = vid
        else:
            self._picker.index = 0               # the "(pick a node)" line, not a blank box

    def expand(self, group=None):
        """Expand one group (by name) or, with no argument, all of them."""
        self.graph.expanded |= set(self.description.groups()) if group is None else {group}
        self.refresh()

    def collapse(self, group=None):
        self.graph.expanded -= set(self.description.groups()) if group is None else {group}
        self.refresh()

    def refresh(self):
        view = self.graph.view
        options = [(self._option_label(n), n.id) for n in view.nodes]
        sel = self._selected if self._selected in view else None
        with self.hold_trait_notifications():
            self._picker.unobserve(self._on_pick, names="value")
            self._picker.options = [("(pick a node)", None)] + options
            if sel is None:
                self._picker.index = 0
            else:
                self._picker.value = sel
            self._picker.observe(self._on_pick, names="value")
        self._selected = sel
        self._all.description = ("collapse all" if self.graph.expanded and
                                 self.graph.expanded >= set(self.description.groups())
                                 else "expand all")
        self._update()

    def save(self, path):
        """Write the SVG drawn now to `path`."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.svg)

    def close(self):
        self.recorder.detach()
        super().close()

    # ---- static fallbacks ----------------------------------------------------------------------
    def _repr_svg_(self):
        return self.svg

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        if isinstance(data, tuple):
            data = data[0]
        data = dict(data)
        data["image/svg+xml"] = self.svg
        data["text/plain"] = repr(self)
        return data

    def __repr__(self):
        v = self.graph.view
        return (f"<ember.viz graph: {len(self.description)} nodes ({len(v)} drawn), "
                f"{len(self.description.edges())} edges>")

    # ---- internals -----------------------------------------------------------------------------
    def _option_label(self, n):
        shape = _shape_text(n.shape)
        return f"{n.label} {shape} [{n.kind}]" + ("" if isinstance(n.id, tuple) else
                                                    f" #{node_dom_id(n.id)}")

    def _tooltips(self):
        view = self.graph.view
        if len(view) > TOOLTIP_STATS_MAX:
            return {}
        tips = {}
        for n in view.nodes:
            parts = []
            v, g = _call(n.value), _call(n.grad)
            if v is not None:
                parts.append("value: " + summary_text(v))
            if g is not None:
                parts.append("grad: " + summary_text(g))
            if parts:
                tips[n.id] = "\n".join(parts)
        return tips

    def _update(self):
        self._svg.value = self.svg
        self._info.value = self._info_html()
        n = self.graph.view[self._selected] if self._selected is not None else None
        grp = None
        if n is not None:
            grp = n.label if n.kind == "group" else n.group
        self._expand.disabled = grp is None
        self._expand.description = ("collapse group" if grp in self.graph.expanded
                                    else "expand group")

    def _info_html(self):
        if self._selected is None:
            return ("<div style='color:#777;font-size:12px'>Pick a node to see its value and "
                    "gradient; hover a box for a summary.</div>")
        n = self.graph.view[self._selected]
        head = f"<b>{html.escape(n.label)}</b> <i>[{n.kind}]</i>"
        if n.shape is not None:
            head += f" shape {_shape_text(n.shape)}"
        rows = [head]
        if n.info.get("rule"):
            rows.append(f"<div>local rule: <code>{html.escape(n.info['rule'])}</code></div>")
        if n.kind == "group":
            labels = [self.description[m].label for m in n.info.get("members", [])]
            rows.append(f"<div>{html.escape(n.info.get('summary', ''))}: "
                        f"{html.escape(', '.join(labels[:12]))}{' …' if len(labels) > 12 else ''}"
                        f"</div>")
        if n.inputs:
            ins = ", ".join(html.escape(self.graph.view[i].label) for i in n.inputs)
            rows.append(f"<div>inputs: {ins}</div>")
        v, g = _call(n.value), _call(n.grad)
        panels = []
        if v is not None:
            panels.append(summary_html(v, "value"))
        elif n.kind == "op" and is_autograd(self.description.source):
            panels.append("<div style='color:#777'>value: not kept by autograd (pass the tensor "
                          "in names={...} to see it)</div>")
        elif n.kind != "group":
            panels.append("<div style='color:#777'>value: none yet (a graph node gets a value "
                          "only while it runs, e.g. inside Session.run)</div>")
        panels.append(summary_html(g, "gradient") if g is not None else
                      f"<div style='color:#777'>gradient: {html.escape(self._no_grad_text(n))}"
                      "</div>")
        rows.append("<div>" + "".join(panels) + "</div>")
        return "<div style='font-size:12px'>" + "".join(rows) + "</div>"

    def backward_ran(self) -> bool:
        """Whether a backward pass has gone through this graph (seen by the widget's hooks, or
        visible as a leaf's .grad)."""
        if self.recorder.calls:
            return True
        for n in self.description.nodes:
            if n.kind in ("input", "parameter") and "node" in n.info and _call(n.grad) is not None:
                return True
        return False

    def _no_grad_text(self, n) -> str:
        if not is_autograd(self.description.source):
            return "none here (a static graph computes gradients as nodes of its own: see tf.gradients)"
        if not self.backward_ran():
            return ("none yet (call backward() on the output: the widget records the gradient "
                    "that reaches each node)")
        if n.kind in ("input", "parameter"):
            return "None: backward ran, but no gradient reached this tensor"
        if self.recorder.calls:
            return "none: backward ran, but no gradient reached this node"
        return ("not kept: backward ran before this widget was made, and autograd frees the "
                "gradients of intermediate results (make the widget first, or call .retain_grad())")

    def _on_pick(self, change):
        self._selected = change["new"]
        self._update()

    def _toggle_selected(self):
        n = self.graph.view[self._selected] if self._selected is not None else None
        if n is None:
            return
        grp = n.label if n.kind == "group" else n.group
        if grp is None:
            return
        self.graph.toggle(grp)
        self._selected = ("group", grp) if grp not in self.graph.expanded else None
        if grp in self.graph.expanded:
            members = [m for m in self.description.groups()[grp]]
            self._selected = members[-1] if members else None
        self.refresh()

    def _toggle_all(self):
        groups = set(self.description.groups())
        if self.graph.expanded >= groups:
            self.graph.expanded = set()
        else:
            self.graph.expanded = set(groups)
        self.refresh()

    def _on_backward(self, node):
        self._stale = True
        if self._selected is not None:       # cheap: only the info panel follows live
            self._info.value = self._info_html()


def graph(obj, *, names=None, model=None, collapse="auto", title=None, show_constants=False,
          max_height: int = 800, direction: str = "auto") -> GraphWidget:
    """Draw `obj`'s computation graph.

    obj: an ember Tensor (its autograd graph), a list of tensors, a static/traced graph (anything
         with `.nodes`, or with `__viz_graph__()`), or a `GraphDescription`.
    names: {name: tensor} to label leaves and intermediates (e.g. `names=locals()`).
    model: an nn.Module: parameters get their names and each module's ops form a group.
    collapse: "auto" (fold groups, e.g. a static graph's `gradients` scope or a module, only
              while the drawing would not fit the page), True, False, or the group names to fold.
    direction: "auto" (left to right when it fits FIT_WIDTH px, else top to bottom), "LR", "TB".
    Click a box (or pick it in the dropdown) to see its value and gradient below the drawing.
    """
    return GraphWidget(obj, names=names, model=model, collapse=collapse, title=title,
                       show_constants=show_constants, max_height=max_height, direction=direction)
