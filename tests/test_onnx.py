"""ONNX export (opset 17): the exported model runs in onnxruntime with ember's outputs."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.jit
import ember.nn as nn
import ember.static as tf

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    ember.manual_seed(0)
    yield
    tf.reset_default_graph()


def _ort_run(path, feeds):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def test_static_forward_graph_exports_and_matches(tmp_path):
    from ember.static import onnx as eo
    x = tf.placeholder(tf.float32, shape=(None, 6), name="x")
    h = tf.layers.dense(x, 8, activation=tf.nn.relu)
    z = tf.layers.dense(h, 3)
    y = tf.nn.sigmoid(z) * 2.0 + tf.reduce_mean(tf.tanh(h), axis=1, keepdims=True) - tf.exp(-z)
    s = tf.reduce_sum(tf.maximum(z, 0.5) / tf.sqrt(tf.abs(z) + 1.0), axis=1)
    xv = np.random.default_rng(0).standard_normal((5, 6)).astype(np.float32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        expected = sess.run([y, s], {x: xv})
        model = eo.export([y, s], tmp_path / "m.onnx", session=sess)
    assert model.opset_import[0].version == 17
    got = _ort_run(tmp_path / "m.onnx", {"x": xv})
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    xv2 = np.ones((2, 6), np.float32)  # the batch dimension stays free
    assert _ort_run(tmp_path / "m.onnx", {"x": xv2})[0].shape == (2, 3)


def test_traced_cnn_and_its_fused_graph_export(tmp_path):
    from ember.static import onnx as eo
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(64, 5), nn.ReLU(), nn.Linear(5, 3), nn.Softmax(dim=1))
    x = ember.randn(2, 3, 8, 8)
    expected = model(x).detach().numpy()
    traced = ember.jit.trace(model, (x,))
    eo.export(traced, tmp_path / "t.onnx")
    np.testing.assert_allclose(_ort_run(tmp_path / "t.onnx", {"input": x.numpy()})[0], expected,
                               rtol=1e-5, atol=1e-6)
    opt = traced.optimized_graph()
    opt.initial_state = traced.state
    assert "conv2d_relu" in opt.op_counts()
    eo.export(opt, tmp_path / "opt.onnx")
    np.testing.assert_allclose(_ort_run(tmp_path / "opt.onnx", {"input": x.numpy()})[0], expected,
                               rtol=1e-5, atol=1e-6)


def test_training_graphs_are_refused_with_the_op_named(tmp_path):
    from ember.static import onnx as eo
    w = tf.Variable(np.ones(3, np.float32))
    step = tf.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_sum(w * w))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(tf.GraphError, match=r"op '\w+' \(node '[^']+'\) has no ONNX form"):
            eo.export(step, tmp_path / "x.onnx", session=sess)
