"""Without a widget frontend the viz objects still show a picture: run a notebook with a real
kernel (nbclient, widget state not saved, as when a notebook is saved from JupyterLab) and
convert it to HTML as nbconvert / nbgrader feedback do."""
import os
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
