"""Layout and SVG drawing of ember.viz on hand-made graph descriptions (no autograd needed)."""
import random
import re
import xml.etree.ElementTree as ET

import pytest

from ember.viz import GraphDescription, VizNode, from_dicts, layout, render_svg
from ember.viz.render import node_dom_id

SVG = "{http://www.w3.org/2000/svg}"


def random_dag(n, seed, max_in=3, groups=0):
    rng = random.Random(seed)
    nodes = []
    for i in range(n):
        k = 0 if i < 2 else rng.randint(0 if rng.random() < 0.15 else 1, min(max_in, i))
        ins = [f"v{j}" for j in rng.sample(range(i), k)] if k else []
        if ins and rng.random() < 0.1:
            ins.append(ins[0])                       # x * x: the same input twice
        kind = "op" if ins else rng.choice(["input", "parameter", "constant"])
        grp = f"g{i * groups // n}" if groups and kind == "op" and 0 < i < n - 1 else None
        nodes.append(VizNode(f"v{i}", f"Op{i}Backward0" if ins else f"x{i}", kind,
                             (rng.randint(1, 64), rng.randint(1, 64)), ins, group=grp))
    nodes.append(VizNode("out", "loss", "output", (), [f"v{n - 1}"]))
    return GraphDescription(nodes, "random")


def check_layout(desc, lay):
    # node count equals graph size, every node placed exactly once
    assert set(lay.boxes) == {n.id for n in desc.nodes}
    assert len(lay.boxes) == len(desc)
    # no two boxes overlap
    boxes = list(lay.boxes.values())
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            assert not boxes[a].overlaps(boxes[b]), (boxes[a], boxes[b])
    # boxes lie inside the drawing
    for b in boxes:
        assert b.x >= 0 and b.y >= 0 and b.x + b.w <= lay.width and b.y + b.h <= lay.height
    # along the flow (left to right, or top to bottom): every edge goes to a later layer
    tb = lay.direction == "TB"

    def start(b):
        return b.y if tb else b.x

    def end(b):
        return b.y + b.h if tb else b.x + b.w

    for n in desc.nodes:
        for i in n.inputs:
            assert lay.boxes[i].layer < lay.boxes[n.id].layer
            assert end(lay.boxes[i]) < start(lay.boxes[n.id])
    # one routed edge per input of every node (duplicates included), ending on the right boxes;
    # an edge may start at a dashed copy ("ghost") of a source node drawn next to its reader
    assert sorted(((e.src, e.dst, e.arg) for e in lay.edges), key=repr) == sorted(desc.edges(), key=repr)
    ghost_of = {g: (b, src) for g, (b, src) in lay.ghosts.items()}
    for g, (gb, src) in ghost_of.items():
        assert not desc[src].inputs and g[1] == src
        assert gb.layer == lay.boxes[g[2]].layer - 1
    for e in lay.edges:
        s, d = lay.boxes[e.src], lay.boxes[e.dst]
        g = ("ghost", e.src, e.dst)
        if g in ghost_of:
            s = ghost_of[g][0]
        if tb:
            assert e.points[0] == pytest.approx((s.cx, s.y + s.h))
            assert e.points[-1][1] == pytest.approx(d.y)
            assert d.x <= e.points[-1][0] <= d.x + d.w
        else:
            assert e.points[0] == pytest.approx((s.x + s.w, s.cy))
            assert e.points[-1][0] == pytest.approx(d.x)
            assert d.y <= e.points[-1][1] <= d.y + d.h
        assert len(e.points) == d.layer - s.layer + 1       # one bend point per layer crossed
    # long edges pass through dummy slots, which never sit on a real box; ghosts don't either
    others = list(lay.dummies.values()) + [b for b, _ in lay.ghosts.values()]
    for dbox in others:
        for b in boxes:
            assert not dbox.overlaps(b)


def check_svg(desc, svg):
    root = ET.fromstring(svg)
    groups = [g for g in root.iter(SVG + "g") if "ember-node" in g.get("class", "")]
    assert sorted(g.get("data-id") for g in groups) == sorted(node_dom_id(n.id) for n in desc)
    paths = [p for p in root.iter(SVG + "path") if "ember-edge" in p.get("class", "")]
    drawn = sorted((p.get("data-src"), p.get("data-dst"), int(p.get("data-arg"))) for p in paths)
    assert drawn == sorted((node_dom_id(s), node_dom_id(d), k) for s, d, k in desc.edges())
    for g in groups:                              # every box has a hover tooltip
        assert g.find(SVG + "title") is not None


def test_small_graph_layers_and_sources_next_to_their_reader():
    d = from_dicts([
        {"id": "x", "label": "x", "kind": "input", "shape": (3, 4)},
        {"id": "w", "label": "w", "kind": "parameter", "shape": (4, 5)},
        {"id": "mm", "label": "MmBackward0", "shape": (3, 5), "inputs": ["x", "w"]},
        {"id": "relu", "label": "ReluBackward0", "shape": (3, 5), "inputs": ["mm"]},
        {"id": "b", "label": "b", "kind": "parameter", "shape": (5,)},
        {"id": "add", "label": "AddBackward0", "shape": (3, 5), "inputs": ["relu", "b"]},
        {"id": "out", "label": "loss", "kind": "output", "shape": (3, 5), "inputs": ["add"]},
    ])
    lay = layout(d)
    check_layout(d, lay)
    layer = {i: b.layer for i, b in lay.boxes.items()}
    assert layer["x"] == layer["w"] == 0
    assert layer["b"] == layer["add"] - 1           # b sits next to the op that reads it
    assert layer["out"] == max(layer.values())
    assert lay.crossings == 0
    check_svg(d, render_svg(d, lay))


@pytest.mark.parametrize("n,seed", [(5, 0), (20, 1), (60, 2), (150, 3)])
def test_random_dags(n, seed):
    d = random_dag(n, seed)
    lay = layout(d)
    check_layout(d, lay)
    check_svg(d, render_svg(d, lay))


def test_few_hundred_nodes_is_fast_enough():
    import time
    d = random_dag(300, 7, max_in=2)
    t = time.perf_counter()
    lay = layout(d)
    svg = render_svg(d, lay)
    assert time.perf_counter() - t < 10
    check_layout(d, lay)
    assert svg.count("ember-node ") == len(d)


def test_collapsed_groups_keep_every_outside_edge():
    d = random_dag(80, 11, groups=4)
    assert len(d.groups()) == 4
    c = d.collapsed()
    assert len(c) == len(d) - sum(len(m) for m in d.groups().values()) + 4
    members = {m for ms in d.groups().values() for m in ms}
    owner = {m: g for g, ms in d.groups().items() for m in ms}
    # every edge that crosses a group boundary survives (as an edge from/to the group box)
    want = set()
    for s, t, _ in d.edges():
        if owner.get(s) is not None and owner.get(s) == owner.get(t):
            continue
        want.add((("group", owner[s]) if s in members else s,
                  ("group", owner[t]) if t in members else t))
    assert {(s, t) for s, t, _ in c.edges()} == want
    lay = layout(c)
    check_layout(c, lay)
    check_svg(c, render_svg(c, lay))
    # expanding one group brings its members back
    g0 = sorted(d.groups())[0]
    e = d.collapsed(expanded=[g0])
    assert set(d.groups()[g0]) <= {n.id for n in e}
    assert d.collapsed(expanded=d.groups()) is d


def test_description_validation():
    with pytest.raises(ValueError, match="unknown node"):
        from_dicts([{"id": 1, "inputs": [2]}])
    with pytest.raises(ValueError, match="duplicate"):
        from_dicts([{"id": 1}, {"id": 1}])
    with pytest.raises(ValueError, match="kind"):
        VizNode(1, "x", "tensor")
    cyc = GraphDescription([VizNode("a", "a", "op", None, ["b"]), VizNode("b", "b", "op", None, ["a"])])
    with pytest.raises(ValueError, match="cycle"):
        layout(cyc)


def test_highlights_and_escaping():
    d = from_dicts([{"id": "a<b", "label": "<x & y>", "kind": "input"},
                    {"id": "f", "label": "F", "inputs": ["a<b"], "info": {"rule": "g * 2 < 3"}}])
    svg = render_svg(d, layout(d), current="f", done={"a<b"}, hot_edges={("a<b", "f")},
                     selected="a<b")
    root = ET.fromstring(svg)                     # still well-formed XML
    cls = {g.get("data-id"): g.get("class") for g in root.iter(SVG + "g") if g.get("data-id")}
    assert "ember-current" in cls["f"] and "ember-done" in cls["a<b"]
    assert "ember-selected" in cls["a<b"]
    assert re.search(r'class="ember-edge ember-hot"', svg)


@pytest.mark.parametrize("n,seed", [(20, 1), (60, 2), (150, 3)])
def test_top_to_bottom_and_ghosts(n, seed):
    d = random_dag(n, seed)
    lay = layout(d, direction="TB")
    assert lay.direction == "TB"
    check_layout(d, lay)
    svg = render_svg(d, lay)
    check_svg(d, svg)
    root = ET.fromstring(svg)
    ghosts = [g for g in root.iter(SVG + "g") if "ember-ghost" in g.get("class", "")]
    assert len(ghosts) == len(lay.ghosts)
    assert root.get("data-direction") == "TB"
    assert layout(d, direction="TB", ghost_span=0).ghosts == {}


def test_auto_direction_picks_what_fits():
    chain = from_dicts([{"id": 0, "label": "x", "kind": "input", "shape": (3,)}] +
                       [{"id": k, "label": f"Op{k}Backward0", "shape": (3,), "inputs": [k - 1]}
                        for k in range(1, 30)])
    assert layout(chain, direction="auto").direction == "TB"
    small = from_dicts([{"id": 0, "label": "x", "kind": "input"},
                        {"id": 1, "label": "f", "inputs": [0]}])
    assert layout(small, direction="auto").direction == "LR"
    with pytest.raises(ValueError, match="direction"):
        layout(small, direction="up")
