"""ember.viz on real autograd graphs: the adapter, the graph widget and the backprop stepper."""
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import ember
import ember.viz as viz
from ember.autograd.graph import backward_order
from test_viz_layout import SVG, check_layout, check_svg


def mlp_loss(seed=0, batch=4):
    ember.manual_seed(seed)
    x = ember.randn(batch, 3)
    w1 = ember.randn(3, 5, requires_grad=True)
    b1 = ember.zeros(5, requires_grad=True)
    w2 = ember.randn(5, 2, requires_grad=True)
    b2 = ember.zeros(2, requires_grad=True)
    h = (x @ w1 + b1).relu()
    out = h @ w2 + b2
    loss = (out * out).mean()
    return loss, dict(x=x, w1=w1, b1=b1, w2=w2, b2=b2, h=h, out=out)


class FakeParam:
    """Stand-in for nn.Parameter until ember.nn lands: only identity matters to the adapter."""


class FakeModule:
    def __init__(self, **params):
        self._parameters = params
        self._modules = {}

    def named_parameters(self):
        out = [(k, p) for k, p in self._parameters.items()]
        for mname, m in self._modules.items():
            out += [(f"{mname}.{k}", p) for k, p in m.named_parameters()]
        return out

    def named_modules(self):
        yield "", self
        for mname, m in self._modules.items():
            yield mname, m


class FakeLinear(FakeModule):
    pass


def test_adapter_mirrors_the_autograd_graph():
    loss, t = mlp_loss()
    d = viz.describe(loss, names=t)
    order = backward_order(loss)
    ops = [n for n in d if n.kind != "output"]
    assert len(ops) == len(order)                         # node count equals graph size
    assert len(d) == len(order) + 1                       # + the output node
    by_node = {id(n.info["node"]): n for n in ops}
    for node in order:                                    # one edge per next_functions entry
        v = by_node[id(node)]
        assert v.inputs == [by_node[id(nx)].id for nx, _ in node.next_functions if nx is not None]
        assert v.label.endswith(node.name()) or node.name() == "AccumulateGrad"
    leaves = {n.label: n for n in d if n.kind in ("input", "parameter")}
    assert set(leaves) == {"w1", "b1", "w2", "b2"}         # x does not require grad: not in graph
    assert leaves["w1"].shape == (3, 5)
    assert leaves["w1"].value() is t["w1"]
    assert any(n.label.startswith("h: ") for n in d)      # named intermediate
    (out,) = [n for n in d if n.kind == "output"]
    assert out.shape == () and out.value() is loss
    lay = viz.layout(d)
    check_layout(d, lay)
    check_svg(d, viz.render_svg(d, lay))


def test_adapter_constants_and_errors():
    a = ember.randn(3, requires_grad=True)
    y = (a * 2.0 + 1.0).sum()
    d = viz.describe(y, show_constants=True)
    assert any(n.kind == "constant" for n in d)
    check_layout(d, viz.layout(d))
    with pytest.raises(ValueError, match="requires grad"):
        viz.describe(ember.randn(3).sum())
    with pytest.raises(TypeError, match="can't draw"):
        viz.describe(42)


def test_groups_from_a_model_collapse_each_layer():
    ember.manual_seed(1)
    x = ember.randn(4, 3)
    net = FakeModule()
    net._modules = {"0": FakeLinear(weight=ember.randn(5, 3, requires_grad=True),
                                    bias=ember.zeros(5, requires_grad=True)),
                    "2": FakeLinear(weight=ember.randn(1, 5, requires_grad=True),
                                    bias=ember.zeros(1, requires_grad=True))}
    l0, l2 = net._modules["0"]._parameters, net._modules["2"]._parameters
    h = (x @ l0["weight"].t() + l0["bias"]).relu()
    loss = ((h @ l2["weight"].t() + l2["bias"]) ** 2).mean()
    d = viz.describe(loss, model=net)
    groups = d.groups()
    assert set(groups) == {"0: FakeLinear", "2: FakeLinear"}
    labels = {g: sorted(d[i].label for i in ids) for g, ids in groups.items()}
    assert "0.weight" in labels["0: FakeLinear"] and "0.bias" in labels["0: FakeLinear"]
    relu = [n for n in d if n.label.startswith("ReluBackward")]
    assert relu and relu[0].group is None                 # the activation is between the layers
    c = d.collapsed()
    assert sum(1 for n in c if n.kind == "group") == 2
    check_layout(c, viz.layout(c))

    w = viz.graph(loss, model=net, collapse=True)
    assert "ember-kind-group" in w.svg
    w.expand("0: FakeLinear")
    assert "0.weight" in w.svg
    w.collapse()
    assert "0.weight" not in w.svg


def test_static_graph_adapter_is_duck_typed():
    class N:
        def __init__(self, name, op, inputs=(), shape=None):
            self.name, self.op, self.inputs, self.shape = name, op, list(inputs), shape

    class G:
        def __init__(self):
            x = N("x", "placeholder", shape=(2, 3))
            w = N("w", "get_attr", shape=(3, 4))
            mm = N("mm", "matmul", [x, w], (2, 4))
            self.nodes = [x, w, mm, N("out", "output", [mm], (2, 4))]

    d = viz.describe(G())
    assert [n.kind for n in d] == ["input", "parameter", "op", "output"]
    assert d["mm"].inputs == ["x", "w"]
    w = viz.graph(G())
    check_svg(d, w.svg)

    class WithHook:
        def __viz_graph__(self):
            return [{"id": 0, "label": "a", "kind": "input"}, {"id": 1, "label": "f", "inputs": [0]}]

    assert len(viz.describe(WithHook())) == 2


def test_graph_widget_shows_values_and_live_gradients():
    loss, t = mlp_loss()
    w = viz.graph(loss, names=t)
    assert isinstance(w, viz.GraphWidget)
    root = ET.fromstring(w._svg.value)
    assert root.tag == SVG + "svg"
    leaf = next(n for n in w.description if n.label == "w1")
    w.select(leaf.id)
    assert "value" in w._info.value and "none yet" in w._info.value
    loss.backward()                                       # hooks feed the widget live
    assert "none yet" not in w._info.value
    h = next(n for n in w.description if n.label.startswith("h: "))
    w.select(h.id)
    got = w.description[h.id].grad()
    assert got is not None and got.shape == (4, 5)
    assert "ember-selected" in w.svg
    bundle = w._repr_mimebundle_()
    assert "image/svg+xml" in bundle and "application/vnd.jupyter.widget-view+json" in bundle
    assert w._repr_svg_().startswith("<svg")
    w.close()


def _tiny_graphs():
    a = ember.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    b = ember.tensor([0.5, -1.0], requires_grad=True)
    c = ember.tensor(2.0, requires_grad=True)
    yield "diamond", ((a * c) + (a * a)).sum()                   # a used three times
    yield "broadcast", ((a + b) * c).relu().mean()
    yield "deep", ember.stack([(a.exp() - 1.0).sum(), (b.tanh() * c).sum()]).sum()
    yield "mlp", mlp_loss(3)[0]


@pytest.mark.parametrize("name", [n for n, _ in _tiny_graphs()])
def test_stepper_order_equals_autograd_order(name):
    loss = dict(_tiny_graphs())[name]
    expected = backward_order(loss)                       # computed before backward runs
    fired = []
    for node in expected:                                 # an independent witness of the engine
        node.register_hook(lambda gi, go, node=node: fired.append(node))
    s = viz.backprop(loss)
    assert [id(n) for n in s.order] == [id(n) for n in expected]
    assert [id(n) for n in fired] == [id(n) for n in expected]
    assert len(s.steps) == len(expected)


def test_stepper_shows_upstream_rule_and_passed_gradients():
    a = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = ember.tensor([4.0, 5.0, 6.0], requires_grad=True)
    loss = (a * b).sum()
    s = viz.backprop(loss, names={"a": a, "b": b})
    names = [st.node.name() for st in s.steps]
    assert names[0] == "SumBackward0" and names[1] == "MulBackward0"
    mul = s.steps[1]
    np.testing.assert_allclose(np.asarray(mul.upstream), [1, 1, 1])
    (ia, ga), (ib, gb) = mul.passed
    assert s.description[ia].label == "a" and s.description[ib].label == "b"
    np.testing.assert_allclose(np.asarray(ga), [4, 5, 6])       # d(a*b)/da = b
    np.testing.assert_allclose(np.asarray(gb), [1, 2, 3])
    np.testing.assert_allclose(np.asarray(a.grad), [4, 5, 6])   # backward really ran
    assert s.step == 1 and s.index == 0                    # counted from 1, as on the slider
    s.step = 2
    assert mul.rule and mul.rule.split()[0] in s._info.value
    assert "upstream gradient" in s._info.value and "input 1: b" in s._info.value
    svg = s.svg()
    root = ET.fromstring(svg)
    cur = [g for g in root.iter(SVG + "g") if "ember-current" in g.get("class", "")]
    assert len(cur) == 1 and cur[0].get("data-id") == s.steps[1].node_id
    assert svg.count("ember-edge ember-hot") == 2
    s.step = 99                                            # clamped
    assert s.step == len(s.steps)
    assert "image/svg+xml" in s._repr_mimebundle_()


def test_stepper_matches_plain_backward():
    loss1, t1 = mlp_loss(5)
    loss1.backward()
    loss2, t2 = mlp_loss(5)
    viz.backprop(loss2)
    for k in ("w1", "b1", "w2", "b2"):
        np.testing.assert_allclose(np.asarray(t1[k].grad), np.asarray(t2[k].grad))


def test_import_ember_does_not_import_viz():
    code = "import sys, ember; print('ember.viz' in sys.modules, 'ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def deep_model_loss(n_layers=8):
    ember.manual_seed(2)
    net = FakeModule()
    net._modules = {}
    h = ember.randn(4, 6)
    for i in range(n_layers):
        m = FakeLinear(weight=ember.randn(6, 6, requires_grad=True),
                       bias=ember.zeros(6, requires_grad=True))
        net._modules[str(2 * i)] = m
        h = (h @ m._parameters["weight"].t() + m._parameters["bias"]).tanh()
    return (h * h).mean(), net


def test_big_graphs_start_collapsed_and_expand_from_the_widget():
    loss, net = deep_model_loss(8)
    w = viz.graph(loss, model=net)
    assert len(w.description) > viz.graph_widget.AUTO_COLLAPSE
    view = w.graph.view
    assert w.graph.fits()
    assert sum(1 for n in view if n.kind == "group") >= 1
    assert len(view) < len(w.description)
    check_layout(view, w.graph.layout)
    check_svg(view, w.svg)
    folded = next(g for g in w.description.groups() if g not in w.graph.expanded)
    w.select(("group", folded))                           # pick the box, press "expand group"
    assert not w._expand.disabled and w._expand.description == "expand group"
    w._expand.click()
    assert folded in w.graph.expanded and folded.split(":")[0] + ".weight" in w.svg
    w._all.click()                                        # expand all
    assert len(w.graph.view) == len(w.description)
    w._all.click()                                        # collapse all
    assert len(w.graph.view) == len(w.description) - sum(
        len(m) - 1 for m in w.description.groups().values())
    w._all.click()
    member = w.description.groups()["2: FakeLinear"][0]
    w.collapse("2: FakeLinear")
    w.select(member)                                      # a hidden member selects its group
    assert w._selected == ("group", "2: FakeLinear")
    assert viz.graph(loss, model=net, collapse=False).graph.expanded == set(
        w.description.groups())


def test_stepper_on_collapsed_groups_highlights_the_group():
    loss, net = deep_model_loss(3)
    s = viz.backprop(loss, model=net, collapse=True)
    inside = next(k for k, st in enumerate(s.steps)
                  if s.description[st.node_id].group == "2: FakeLinear")
    s.step = inside + 1
    root = ET.fromstring(s.svg())
    cur = [g.get("data-id") for g in root.iter(SVG + "g") if "ember-current" in g.get("class", "")]
    assert cur == ["group:2: FakeLinear"]


def test_model_found_in_names_and_tensor_losses_in_lossplot():
    loss, net = deep_model_loss(2)
    d = viz.describe(loss, names={"net": net, "loss": loss})
    assert set(d.groups()) == {"0: FakeLinear", "2: FakeLinear"}
    p = viz.LossPlot(min_interval=1e9)
    p.update(0, loss=loss)                                 # an ember scalar tensor is fine
    assert p.runs["run"].data["loss"][1] == [pytest.approx(loss.item())]
