"""Without a widget frontend the viz objects still show a picture: run a notebook with a real
kernel (nbclient, widget state not saved, as when a notebook is saved from JupyterLab) and
convert it to HTML as nbconvert / nbgrader feedback do."""
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]

CELLS = [
    "import ember, ember.viz as viz\nember.manual_seed(0)\n"
    "w = ember.randn(3, 2, requires_grad=True)\nloss = (ember.randn(4, 3) @ w).relu().sum()",
    "viz.graph(loss, names={'w': w})",
    "viz.backprop(loss)",
    "plot = viz.LossPlot()\nfor i in range(50):\n    plot.update(i, loss=1 / (i + 1))\nplot",
    "viz.compare(loss, (ember.randn(4, 3) @ w).tanh().sum(), titles=('relu', 'tanh'))",
]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_nbconvert_html_shows_static_pictures(tmp_path, monkeypatch):
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO / "lib"),
                                                      os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    NotebookClient(nb, kernel_name="python3", timeout=120, store_widget_state=False,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outs = [o for c in nb.cells for o in c.outputs]
    assert not [o for o in outs if o.output_type == "error"], outs
    data = [o.get("data", {}) for o in outs if o.output_type in ("execute_result", "display_data")]
    assert sum("image/svg+xml" in d for d in data) == 2          # graph and stepper
    assert sum("image/png" in d for d in data) == 1              # the loss plot
    assert sum("ember-compare-panel" in d.get("text/html", "") for d in data) == 1
    assert all("application/vnd.jupyter.widget-view+json" in d for d in data)
    body, _ = HTMLExporter().from_notebook_node(nb)
    assert body.count("data:image/svg+xml;base64") >= 2 or body.count('class="ember-graph"') >= 2
    assert "data:image/png;base64" in body
    (tmp_path / "static.html").write_text(body)


def test_real_static_and_traced_graphs_are_drawn():
    import numpy as np
    import ember
    import ember.static as tf
    from ember.viz import describe, graph
    x = tf.placeholder(tf.float32, shape=(None, 4))
    w = tf.Variable(np.ones((4, 3), np.float32))
    loss = tf.reduce_sum(tf.nn.relu(tf.matmul(x, w)))
    tf.gradients(loss, [w])
    d = describe(loss.graph)
    assert len(d.nodes) == len(loss.graph.nodes)
    kinds = {n.label.split(":")[0]: n.kind for n in d.nodes}
    assert kinds["Placeholder"] == "input" and kinds["Variable"] == "parameter"
    assert "(None, 4)" in graph(loss.graph)._repr_svg_() or "(, 4)" not in graph(loss.graph)._repr_svg_()
    traced = ember.jit.trace(ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.ReLU()),
                             ember.randn(2, 4))
    assert len(describe(traced).nodes) == len(traced.graph.nodes)


def two_layer_static_net():
    """A 2-layer static net with its symbolic gradients and SGD updates (38 nodes)."""
    import numpy as np
    import ember.static as tf
    tf.reset_default_graph()
    rng = np.random.default_rng(0)
    x = tf.placeholder(tf.float64, shape=(None, 5))
    y = tf.placeholder(tf.float64, shape=(None, 5))
    w1 = tf.Variable(rng.standard_normal((5, 4)))
    w2 = tf.Variable(rng.standard_normal((4, 5)))
    h = tf.maximum(tf.matmul(x, w1), 0)
    loss = tf.reduce_mean(tf.reduce_sum((tf.matmul(h, w2) - y) ** 2, axis=1))
    step = tf.train.GradientDescentOptimizer(1e-2).minimize(loss)
    return tf.get_default_graph(), loss, step


def test_static_net_with_gradients_fits_the_page_width():
    from ember.viz import describe, graph, layout
    from ember.viz.layout import FIT_WIDTH
    from ember.viz.render import FONT_PX, MIN_FONT_PX
    from test_viz_layout import check_layout, check_svg
    g, _, _ = two_layer_static_net()
    d = describe(g)
    assert 35 <= len(d) <= 45
    assert layout(d, direction="LR").width > 2 * FIT_WIDTH        # why top-to-bottom exists
    lay = layout(d, direction="auto")
    assert lay.direction == "TB" and lay.width <= FIT_WIDTH
    assert lay.crossings <= 8
    check_layout(d, lay)                                          # no overlaps, every edge
    w = graph(g)
    assert w.graph.layout.width <= FIT_WIDTH and w.graph.fits()
    assert len(w.graph.view) == len(d)                            # it fits unfolded
    root = ET.fromstring(w.svg)
    assert float(root.get("font-size")) == FONT_PX >= MIN_FONT_PX
    min_w = float(re.search(r"min-width:(\d+)px", root.get("style")).group(1))
    assert min_w * FONT_PX / MIN_FONT_PX == pytest.approx(w.graph.layout.width, abs=2)
    check_svg(w.graph.view, w.svg)
    # scope names become groups; the gradient scope folds into one box on demand
    assert {"gradients", "GradientDescent"} <= set(d.groups())
    folded = graph(g, collapse=["gradients"])
    assert ("group", "gradients") in folded.graph.view
    assert len(folded.graph.view) == len(d) - len(d.groups()["gradients"]) + 1


def test_bigger_static_graphs_fold_gradients_first():
    import ember.static as tf
    from ember.viz import graph
    from ember.viz.layout import FIT_WIDTH
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, shape=(64, 100))
    y = tf.placeholder(tf.float32, shape=(64, 100))
    h = tf.layers.dense(inputs=x, units=10, activation=tf.nn.relu)
    loss = tf.losses.mean_squared_error(tf.layers.dense(inputs=h, units=100), y)
    tf.train.GradientDescentOptimizer(1e-1).minimize(loss)
    w = graph(tf.get_default_graph())
    assert len(w.description) > 40
    assert "gradients" not in w.graph.expanded                     # folded first
    assert w.graph.fits() and w.graph.layout.width <= FIT_WIDTH


def test_static_node_panel_says_where_values_come_from():
    from ember.viz import graph
    g, loss, _ = two_layer_static_net()
    w = graph(g)
    op = next(n for n in w.description if n.kind == "op")
    w.select(op.id)
    text = w._info.value
    assert "Session.run" in text and "autograd" not in text.split("gradient")[0]
    assert "static graph computes gradients as nodes" in text
