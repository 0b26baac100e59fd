"""ember.viz: see backprop happen, on your own tensors.

    import ember.viz as viz
    viz.graph(loss)                 # the autograd graph: hover boxes, pick a node, expand layers
    viz.backprop(loss)              # runs loss.backward() and replays it node by node
    plot = viz.LossPlot()           # a live training curve: plot.update(step, loss=...)
    viz.compare(g1, g2, titles=...) # graphs side by side, what changed marked
    viz.passes(static_graph)        # the graph before/after each optimization pass

Not imported by `import ember` (it pulls in ipywidgets and matplotlib). Every widget also shows a
static picture (SVG or PNG) where widgets can't run: nbconvert HTML, nbgrader feedback.

Graph kinds plug in through `describe()` (adapters.py): ember tensors now, the static graph via
anything with `.nodes`, a `__viz_graph__()` method, or `register_adapter`.
"""
from .adapters import describe, from_autograd, from_static, register_adapter
from .compare import GraphComparison, PassesView, compare, diff, passes
from .description import KINDS, GraphDescription, VizNode, from_dicts
from .graph_widget import GraphWidget, graph
from .layout import layout
from .lossplot import LossPlot
from .render import render_svg
from .stepper import BackpropStepper, backprop, record_backward

__all__ = ["graph", "backprop", "LossPlot", "compare", "passes", "diff", "GraphComparison",
           "PassesView", "GraphWidget", "BackpropStepper", "describe",
           "from_autograd", "from_static", "register_adapter", "GraphDescription", "VizNode",
           "from_dicts", "KINDS", "layout", "render_svg", "record_backward"]
