"""`ember.viz.backprop(loss)`: watch the backward pass one node at a time.

The stepper runs `loss.backward()` once with a hook on every node of the graph
(`node.register_hook(fn(grad_inputs, grad_outputs))`, DESIGN.md), so the steps are exactly the
calls the engine made, in its order (`ember.autograd.graph.backward_order`). A Play button and a
slider then replay them: the node being processed is outlined, nodes already done are shaded, and
the edges along which it sends gradients are drawn in red. The panel shows the upstream gradient
the node received, its local rule, and the gradient it passes to each input.
"""
from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets

from .adapters import from_autograd
from .graph_widget import GraphView, _autograd_nodes, pick_js
from .layout import FIT_WIDTH
from .layout import _shape_text
from .recorder import GradRecorder
from .render import render_svg
from .summary import summary_html, to_numpy


@dataclass
class Step:
    index: int
    node: object             # the autograd Node
    node_id: object          # its id in the description
    upstream: object         # gradient it received (Tensor)
    rule: str
    passed: list             # [(input node id or None, gradient Tensor or None), ...]


def record_backward(loss, *, retain_graph=False, names=None, model=None, grads=None):
    """Run `loss.backward()` with hooks on every node; return (description, steps)."""
    recorder = GradRecorder()
    desc = from_autograd(loss, names=names, model=model,
                         grads=recorder.grads if grads is None else grads)
    by_node = {id(n.info["node"]): n.id for n in desc.nodes if "node" in n.info}
    recorder.attach(_autograd_nodes(desc))
    try:
        loss.backward(retain_graph=retain_graph)
    finally:
        recorder.detach()
    if grads is not None:
        grads.update(recorder.grads)
    steps = []
    for k, call in enumerate(recorder.calls):
        node = call.node
        passed = []
        for (nxt, _), g in zip(node.next_functions, call.grad_inputs):
            passed.append((by_node.get(id(nxt)) if nxt is not None else None, g))
        steps.append(Step(k, node, by_node[id(node)],
                          call.grad_outputs[0] if call.grad_outputs else None,
                          getattr(node, "rule", ""), passed))
    return desc, steps


class BackpropStepper(widgets.VBox):
    """Use `ember.viz.backprop(loss)` to make one."""

    def __init__(self, loss, *, names=None, model=None, retain_graph=False, collapse=False,
                 interval: int = 900, max_height: int = 800, direction: str = "auto"):
        super().__init__()
        self.add_class("ember-stepper")
        self.grads: dict = {}
        self.description, self.steps = record_backward(
            loss, retain_graph=retain_graph, names=names, model=model, grads=self.grads)
        if not self.steps:
            raise ValueError("backward ran no node: is the loss connected to anything that "
                             "requires grad?")
        self.graph = GraphView(self.description, collapse, direction)
        n = len(self.steps)
        self._play = widgets.Play(min=1, max=n, value=1, interval=interval,
                                  description="play")
        self._slider = widgets.IntSlider(min=1, max=n, value=1, description="step",
                                         continuous_update=True,
                                         layout=widgets.Layout(width="420px"))
        self._slider.add_class("ember-step-slider")
        widgets.jslink((self._play, "value"), (self._slider, "value"))
        self._prev = widgets.Button(description="◀", layout=widgets.Layout(width="40px"))
        self._next = widgets.Button(description="▶", layout=widgets.Layout(width="40px"))
        self._prev.on_click(lambda _: self._go(self.step - 1))
        self._next.on_click(lambda _: self._go(self.step + 1))
        self._svg = widgets.HTML(layout=widgets.Layout(overflow="auto",
                                                       max_height=f"{max_height}px",
                                                       border="1px solid #ddd"))
        self._svg.add_class("ember-stepper-svg")
        # a click on a box (or this dropdown) jumps to the step where that node runs
        self._jump = widgets.Dropdown(
            options=[("(jump to a node)", None)] + [
                (f"step {k + 1}: {self.description[s.node_id].label}", k + 1)
                for k, s in enumerate(self.steps)],
            index=0, layout=widgets.Layout(width="300px"))
        self._jump.add_class("ember-step-picker")
        self._jump.observe(self._on_jump, names="value")
        self._info = widgets.HTML()
        self._info.add_class("ember-stepper-info")
        self._slider.observe(lambda c: self._update(), names="value")
        self.children = [widgets.HBox([self._play, self._prev, self._slider, self._next,
                                       self._jump]),
                         self._svg, self._info]
        self._update()

    # ---- public -------------------------------------------------------------------------------
    @property
    def step(self) -> int:
        """The step shown, counted from 1 as on the slider (`steps[step - 1]`)."""
        return self._slider.value

    @step.setter
    def step(self, k: int):
        self._go(k)

    @property
    def index(self) -> int:
        """The step shown, counted from 0 (an index into `steps`)."""
        return self._slider.value - 1

    @property
    def order(self) -> list:
        """The autograd nodes in the order the stepper walks them (= the engine's order)."""
        return [s.node for s in self.steps]

    def svg(self, step: int | None = None) -> str:
        """The drawing at `step` (counted from 1; default: the step shown)."""
        k = self.index if step is None else step - 1
        s = self.steps[k]
        vis = self.graph.visible_id
        cur = vis(s.node_id)
        done = {vis(p.node_id) for p in self.steps[:k]} - {cur}
        hot = {(vis(i), cur) for i, _ in s.passed if i is not None}
        if s.node_id in self.description and self.description[s.node_id].kind != "op":
            hot = set()
        title = f"backward step {k + 1}/{len(self.steps)}: {s.node.name()}"
        pick: dict = {}
        for j, st in enumerate(self.steps):
            pick.setdefault(vis(st.node_id), j + 1)
        return render_svg(self.graph.view, self.graph.layout, current=cur, done=done,
                          hot_edges=hot, title=title, max_width=FIT_WIDTH, pick=pick,
                          onclick=pick_js("ember-stepper", "ember-step-picker"))

    def save(self, path, step: int | None = None):
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.svg(step))

    # ---- static fallbacks ----------------------------------------------------------------------
    def _repr_svg_(self):
        return self.svg()

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        if isinstance(data, tuple):
            data = data[0]
        data = dict(data)
        data["image/svg+xml"] = self.svg()
        data["text/plain"] = repr(self)
        return data

    def __repr__(self):
        return (f"<ember.viz backprop stepper: {len(self.steps)} steps over "
                f"{len(self.description)} nodes; at step {self.step}>")

    # ---- internals -----------------------------------------------------------------------------
    def _on_jump(self, change):
        if change["new"] is not None:
            self._go(change["new"])
            self._jump.index = 0                 # back to "(jump to a node)"

    def _go(self, k):
        self._slider.value = max(1, min(len(self.steps), int(k)))

    def _update(self):
        self._svg.value = self.svg()
        self._info.value = self._info_html()

    def _label(self, node_id):
        return self.description[node_id].label if node_id is not None else "(no grad needed)"

    def _info_html(self):
        s = self.steps[self.index]
        node = self.description[s.node_id]
        first = self.index == 0
        out = [f"<div style='font-size:12px'><b>step {self.step} of {len(self.steps)}: "
               f"{html.escape(node.label)}</b>"]
        if node.shape is not None:
            out.append(f" (output shape {_shape_text(node.shape)})")
        if first:
            way = "bottom to top" if self.graph.layout.direction == "TB" else "right to left"
            out.append("<div style='color:#555'>Backward starts at the output with gradient "
                       f"d loss / d loss = 1 and runs against the arrows: {way} here.</div>")
        out.append(f"<div>local rule: <code>{html.escape(s.rule or '(none)')}</code></div>")
        out.append("<div style='display:flex;flex-wrap:wrap;align-items:flex-start'>")
        out.append(summary_html(s.upstream, "upstream gradient (received)"))
        if node.kind != "op":
            out.append("<div style='margin:4px'>adds it into <code>"
                       f"{html.escape(node.label)}.grad</code></div>")
        for k, (target, g) in enumerate(s.passed):
            name = f"→ input {k}: {self._label(target)}"
            if g is None:
                out.append(f"<div style='margin:4px;color:#777'>{html.escape(name)}: None</div>")
                continue
            note = ""
            a = to_numpy(g)
            if target is not None and a is not None:
                tshape = self.description[target].shape
                if tshape is not None and tuple(a.shape) != tuple(tshape):
                    note = f" (summed to {_shape_text(tshape)} for broadcasting)"
            out.append(summary_html(g, name + note))
        out.append("</div></div>")
        return "".join(out)


def backprop(loss, *, names=None, model=None, retain_graph=False, collapse=False,
             interval: int = 900) -> BackpropStepper:
    """Run `loss.backward()` and return a widget that replays it node by node.

    Like `loss.backward()`, it accumulates into the leaves' `.grad` and frees the graph unless
    `retain_graph=True`.
    """
    return BackpropStepper(loss, names=names, model=model, retain_graph=retain_graph,
                           collapse=collapse, interval=interval)
