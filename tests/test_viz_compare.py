"""ember.viz.compare and ember.viz.passes: graphs side by side with what changed marked, and the
widget details students click on (node picking, heat-map colour scales, gradient messages)."""
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import ember
import ember.viz as viz
from ember.viz.summary import heatmap_svg
from test_viz_layout import SVG, check_svg

static = pytest.importorskip("ember.static")


def dense_net():
    tf = static
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, shape=(8, 6))
    y = tf.placeholder(tf.float32, shape=(8, 6))
    h = tf.layers.dense(inputs=x, units=4, activation=tf.nn.relu)
    loss = tf.losses.mean_squared_error(tf.layers.dense(inputs=h, units=6), y)
    step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    return tf.get_default_graph(), loss, step


def marked(svg, mark):
    root = ET.fromstring(svg)
    return {g.get("data-id") for g in root.iter(SVG + "g") if f"ember-{mark}" in g.get("class", "")}


def test_diff_by_name_on_static_graphs():
    from ember.static import passes as P
    g, loss, step = dense_net()
    start = P.optimize(g, passes=(), outputs=[loss, step])
    after = P.dead_code_elimination(start)
    a, b = viz.describe(start), viz.describe(after)
    d = viz.diff(a, b)
    names_a = {n.name for n in start.nodes}
    names_b = {n.name for n in after.nodes}
    assert {a[i].info["name"] for i in d["removed"]} == names_a - names_b
    assert {b[i].info["name"] for i in d["added"]} == names_b - names_a
    assert viz.diff(a, a) == {"removed": [], "added": [], "changed": []}


def test_passes_view_marks_what_each_pass_removed_and_fused():
    from ember.static import passes as P
    g, loss, step = dense_net()
    pv = viz.passes(g, outputs=[loss, step])
    assert [s.name for s in pv.steps] == [p.__name__ for p in P.DEFAULT]
    assert pv.optimized.num_nodes == P.optimize(g, outputs=[loss, step]).num_nodes
    for s in pv.steps:                                   # every step's lists are real differences
        before, after = {n.name for n in s.before.nodes}, {n.name for n in s.after.nodes}
        assert set(s.removed) == before - after and set(s.added) == after - before
        assert s.before.num_nodes - len(s.removed) + len(s.added) == s.after.num_nodes
    fuse = next(k for k, s in enumerate(pv.steps) if s.name == "fuse_matmul_bias_relu")
    s = pv.steps[fuse]
    assert s.removed and s.changed                       # matmul + add gone, relu became fused
    pv.show(fuse)
    c = pv.comparison()
    assert len(c.svgs) == 2
    before_svg, after_svg = c.svgs
    removed_ids = marked(before_svg, "removed")
    assert {c.descriptions[0][int(i)].info["name"] for i in removed_ids} == set(s.removed)
    changed_ids = marked(after_svg, "changed")
    fused = [c.descriptions[1][int(i)] for i in changed_ids]
    assert {n.info["op"] for n in fused} == {"matmul_bias_relu", "matmul_bias"}
    assert "removed" in c.html() and "fuse_matmul_bias_relu" in pv.table_html()
    check_svg(c.descriptions[0], before_svg)
    pv._next.click()
    assert pv.index == fuse + 1
    bundle = pv._repr_mimebundle_()
    assert "text/html" in bundle and "ember-graph" in bundle["text/html"]


def test_compare_autograd_graphs_of_a_dynamic_model():
    ember.manual_seed(0)
    w = ember.randn(3, 3, requires_grad=True)

    def model(x, steps):                         # the graph depends on the input
        for _ in range(steps):
            x = x.mm(w).tanh()
        return x.sum()

    x = ember.randn(2, 3)
    c = viz.compare(model(x, 1), model(x, 3), titles=("1 step", "3 steps"))
    (d,) = c.diffs
    assert d["removed"] == []
    added = [c.descriptions[1][i].label for i in d["added"]]
    one_step = [n.label for n in c.descriptions[0] if n.kind == "op" and
                not n.label.startswith("Sum")]            # the loop body: a matmul and a tanh
    assert len(one_step) == 2 and sorted(added) == sorted(one_step * 2)
    assert marked(c.svgs[1], "added") == {str(i) for i in d["added"]}
    assert c.side_by_side                          # two small graphs fit next to each other
    assert "1 step" in c.html() and "3 steps" in c.html()


def test_compare_traced_next_to_eager_has_no_marks():
    ember.manual_seed(0)
    m = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.ReLU())
    x = ember.randn(2, 4)
    traced = ember.jit.trace(m, x)
    c = viz.compare(m(x).sum(), traced, titles=("eager", "traced"), model=m)
    assert c.diffs == [{"removed": [], "added": [], "changed": []}]
    assert len(c.descriptions[1]) == len(traced.graph.nodes)
    assert any(n.label == "0.weight" for n in c.descriptions[0])      # model names the params
    with pytest.raises(TypeError, match="two graphs"):
        viz.compare(m(x).sum())
    with pytest.raises(ValueError, match="titles"):
        viz.compare(m(x).sum(), traced, titles=("one",))


def test_clicking_a_box_picks_it_in_the_dropdown():
    ember.manual_seed(0)
    w1 = ember.randn(3, 2, requires_grad=True)
    loss = (ember.randn(4, 3) @ w1).relu().sum()
    g = viz.graph(loss, names={"w1": w1})
    root = ET.fromstring(g.svg)
    assert "ember-node-picker" in root.get("onclick") and "data-pick" in root.get("onclick")
    picks = {el.get("data-id"): int(el.get("data-pick")) for el in root.iter(SVG + "g")
             if el.get("data-pick")}
    assert len(picks) == len(g.graph.view)
    for node in g.graph.view.nodes:                 # data-pick is the dropdown's option index
        assert g._picker.options[picks[str(node.id)]][1] == node.id
    assert "ember-graph-widget" in g._dom_classes


def test_gradient_message_follows_backward():
    ember.manual_seed(0)
    w = ember.randn(3, 2, requires_grad=True)
    loss = (ember.randn(4, 3) @ w).relu().sum()
    g = viz.graph(loss, names={"w": w})
    op = next(n for n in g.description if n.kind == "op")
    g.select(op.id)
    assert "call backward()" in g._info.value
    loss.backward()
    g.select(op.id)
    assert "call backward()" not in g._info.value and "gradient" in g._info.value
    late_loss = (ember.randn(4, 3) @ w).sum()
    late_loss.backward(retain_graph=True)
    late = viz.graph(late_loss, names={"w": w})            # made after backward ran
    late_op = next(n for n in late.description if n.kind == "op")
    late.select(late_op.id)
    assert "call backward()" not in late._info.value and "not kept" in late._info.value


def test_heatmaps_carry_a_colour_scale():
    a = np.array([[1.0, -3.0], [0.5, 2.0]])
    svg = heatmap_svg(a)
    root = ET.fromstring(svg)
    assert root.find(f".//{SVG}rect[@class='ember-colorbar']") is not None
    labels = [t.text for t in root.iter(SVG + "text")]
    assert labels == ["3", "0", "-3"]                       # +-max |x|, the colour scale's ends
    assert "ember-colorbar" not in heatmap_svg(a, colorbar=False)


def test_stepper_labels_stay_legible():
    from ember.viz.render import FONT_PX, MIN_FONT_PX
    ember.manual_seed(0)
    ws = [ember.randn(4, 4, requires_grad=True) for _ in range(12)]
    h = ember.randn(2, 4)
    for w in ws:
        h = (h @ w).tanh()
    s = viz.backprop(h.sum())
    root = ET.fromstring(s.svg())
    width = float(root.get("width"))
    min_w = float(re.search(r"min-width:(\d+)px", root.get("style")).group(1))
    assert MIN_FONT_PX >= 11 and min_w >= width * MIN_FONT_PX / FONT_PX - 1


def test_widget_made_before_backward_shows_the_gradients_it_saw():
    ember.manual_seed(0)
    w = ember.randn(3, 2, requires_grad=True)
    loss = (ember.randn(4, 3) @ w).relu().sum()
    g = viz.graph(loss, names={"w": w})
    viz.backprop(loss)                          # backward run by another widget
    out = next(n for n in g.description if n.kind == "output")
    g.select(out.id)
    assert "not kept" not in g._info.value and "call backward()" not in g._info.value
    assert "gradient" in g._info.value and "= 1" in g._info.value     # d loss / d loss


def test_clicking_a_box_in_the_stepper_jumps_to_its_step():
    ember.manual_seed(0)
    a = ember.randn(3, requires_grad=True)
    s = viz.backprop((a * 2).exp().sum(), names={"a": a})
    root = ET.fromstring(s.svg())
    assert "ember-step-picker" in root.get("onclick")
    picks = {g.get("data-id"): int(g.get("data-pick")) for g in root.iter(SVG + "g")
             if g.get("data-pick")}
    leaf = next(k for k, st in enumerate(s.steps) if s.description[st.node_id].label == "a")
    assert picks[str(s.steps[leaf].node_id)] == leaf + 1     # the option for a's step
    s._jump.value = picks[str(s.steps[leaf].node_id)]      # what the click does
    assert s.step == leaf + 1 and s._jump.value is None
    cur = [g.get("data-id") for g in ET.fromstring(s.svg()).iter(SVG + "g")
           if "ember-current" in g.get("class", "")]
    assert cur == [str(s.steps[leaf].node_id)]
