"""Saving a static graph with its weights (JSON + npz, no pickle) and running it in a fresh
process that never sees the code that built it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import ember
import ember.jit
import ember.nn as nn
import ember.static as tf

LIB = os.path.dirname(os.path.dirname(os.path.abspath(ember.__file__)))


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    ember.manual_seed(0)
    yield
    tf.reset_default_graph()


def _fresh_python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": LIB, "PATH": os.environ.get("PATH", "")}, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _trained_net():
    x = tf.placeholder(tf.float32, shape=(None, 6), name="x")
    h = tf.layers.dense(x, 8, activation=tf.nn.relu)
    out = tf.cond(tf.reduce_sum(x) > 0, lambda: tf.nn.sigmoid(tf.layers.dense(h, 3)),
                  lambda: tf.zeros_like(tf.matmul(h, tf.ones((8, 3)))))
    loss = tf.reduce_mean(tf.square(tf.layers.dense(h, 3, name="head") - 1.0))
    step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    return x, out, step


def test_save_load_round_trip_in_a_fresh_process(tmp_path):
    x, out, step = _trained_net()
    xv = np.abs(np.random.default_rng(0).standard_normal((4, 6))).astype(np.float32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(3):
            sess.run(step, {x: xv})
        expected = sess.run(out, {x: xv})
        tf.save(str(tmp_path / "model"), out, session=sess)
    np.save(tmp_path / "x.npy", xv)
    code = f"""
import numpy as np, sys
import ember.static as tf
g = tf.load({str(tmp_path / 'model')!r})
x = np.load({str(tmp_path / 'x.npy')!r})
with tf.Session(graph=g) as sess:
    y = sess.run(g.outputs[0], {{g.inputs[0]: x}})
np.save({str(tmp_path / 'y.npy')!r}, y)
print(g.num_nodes, [n.name for n in g.inputs], 'test_serialize_graph' in sys.modules)
"""
    printed = _fresh_python(code).split()
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), expected, rtol=1e-6)
    assert printed[1:] == ["['x']", "False"]   # the code that built the graph was never loaded


def test_file_format_is_json_and_npz_without_pickle(tmp_path):
    x, out, _ = _trained_net()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        tf.save(str(tmp_path / "m"), out, session=sess)
        values = sess.variable_values
    doc = json.loads((tmp_path / "m" / "graph.json").read_text())
    assert doc["format"] == "ember.static.graph" and doc["version"] == 1
    assert doc["inputs"] == ["x"] and len(doc["outputs"]) == 1
    ops = {n["op"] for n in doc["nodes"]}
    assert {"placeholder", "variable", "matmul", "cond"} <= ops
    with zipfile.ZipFile(tmp_path / "m" / "weights.npz") as z:
        names = z.namelist()
    assert "var/dense/kernel.npy" in names
    with np.load(tmp_path / "m" / "weights.npz", allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["var/dense/kernel"], values["dense/kernel"])


def test_saving_uninitialized_variables_is_an_error(tmp_path):
    x, out, _ = _trained_net()
    with tf.Session() as sess, pytest.raises(tf.GraphError, match="not initialized"):
        tf.save(str(tmp_path / "m"), out, session=sess)


def test_load_rejects_a_corrupted_graph(tmp_path):
    x = tf.placeholder(tf.float32, shape=(2, 3), name="x")
    tf.save(str(tmp_path / "m"), tf.exp(x, name="y"))
    path = tmp_path / "m" / "graph.json"
    doc = json.loads(path.read_text())
    doc["nodes"][1]["shape"] = [3, 3]
    path.write_text(json.dumps(doc))
    with pytest.raises(tf.GraphError, match="'y'"):
        tf.load(str(tmp_path / "m"))


def test_traced_module_and_its_optimized_graph_round_trip(tmp_path):
    model = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 2))
    x = ember.randn(3, 5)
    traced = ember.jit.trace(model, (x,))
    traced.save(str(tmp_path / "traced"))
    np.save(tmp_path / "x.npy", x.numpy())
    code = f"""
import numpy as np, ember, ember.jit
f = ember.jit.load({str(tmp_path / 'traced')!r})
np.save({str(tmp_path / 'y.npy')!r}, f(ember.from_numpy(np.load({str(tmp_path / 'x.npy')!r}))).numpy())
"""
    _fresh_python(code)
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), model(x).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    from ember.static.serialize import load, save_graph
    opt = traced.optimized_graph()
    save_graph(str(tmp_path / "opt"), opt, traced.state)
    g = load(str(tmp_path / "opt"))
    assert g.op_counts() == opt.op_counts()
    with tf.Session(graph=g) as sess:
        np.testing.assert_allclose(sess.run(g.outputs[0], {g.inputs[0]: x.numpy()}),
                                   model(x).detach().numpy(), rtol=1e-5, atol=1e-6)
