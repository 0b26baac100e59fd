"""Symbolic gradients (new graph nodes) equal eager ember's gradients, op by op, and central
differences in float64."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
import ember.static as tf


def _data(shape, seed, positive=False):
    a = np.random.default_rng(seed).standard_normal(shape)
    return np.abs(a) + 0.5 if positive else a


# (name, static fn, eager fn, input shapes, positive inputs)
CASES = [
    ("add_broadcast", lambda a, b: a + b, lambda a, b: a + b, [(3, 4), (4,)], False),
    ("sub_broadcast", lambda a, b: a - b, lambda a, b: a - b, [(3, 1), (1, 4)], False),
    ("mul", lambda a, b: a * b, lambda a, b: a * b, [(3, 4), (3, 4)], False),
    ("div", lambda a, b: a / b, lambda a, b: a / b, [(3, 4), (4,)], True),
    ("pow_const", lambda a: a ** 3.0, lambda a: a ** 3.0, [(5,)], True),
    ("pow_square", lambda a: a ** 2, lambda a: a ** 2, [(5,)], False),
    ("pow_both", lambda a, b: a ** b, lambda a, b: a ** b, [(4,), (4,)], True),
    ("maximum", tf.maximum, ember.maximum, [(3, 4), (3, 4)], False),
    ("minimum", tf.minimum, ember.minimum, [(3, 4), (4,)], False),
    ("neg", lambda a: -a, lambda a: -a, [(4,)], False),
    ("exp", tf.exp, ember.exp, [(4,)], False),
    ("log", tf.log, ember.log, [(4,)], True),
    ("sqrt", tf.sqrt, ember.sqrt, [(4,)], True),
    ("square", tf.square, ember.square, [(4,)], False),
    ("abs", tf.abs, ember.abs, [(4,)], False),
    ("tanh", tf.tanh, ember.tanh, [(4,)], False),
    ("sigmoid", tf.sigmoid, ember.sigmoid, [(2, 3)], False),
    ("relu", tf.nn.relu, ember.relu, [(2, 3)], False),
    ("matmul", tf.matmul, ember.matmul, [(3, 4), (4, 2)], False),
    ("matmul_ta", lambda a, b: tf.matmul(a, b, transpose_a=True),
     lambda a, b: a.t() @ b, [(4, 3), (4, 2)], False),
    ("matmul_tb", lambda a, b: tf.matmul(a, b, transpose_b=True),
     lambda a, b: a @ b.t(), [(3, 4), (2, 4)], False),
    ("matmul_tatb", lambda a, b: tf.matmul(a, b, transpose_a=True, transpose_b=True),
     lambda a, b: a.t() @ b.t(), [(4, 3), (2, 4)], False),
    ("matmul_batched", tf.matmul, ember.matmul, [(2, 3, 4), (4, 5)], False),
    ("reduce_sum_all", tf.reduce_sum, lambda a: a.sum(), [(3, 4)], False),
    ("reduce_sum_axis", lambda a: tf.reduce_sum(a, axis=1), lambda a: a.sum(dim=1), [(3, 4)], False),
    ("reduce_sum_keep", lambda a: tf.reduce_sum(a, axis=0, keepdims=True),
     lambda a: a.sum(dim=0, keepdim=True), [(3, 4)], False),
    ("reduce_mean", lambda a: tf.reduce_mean(a, axis=(0, 2)), lambda a: a.mean(dim=(0, 2)),
     [(2, 3, 4)], False),
    ("reduce_max", lambda a: tf.reduce_max(a, axis=1), lambda a: a.amax(dim=1), [(3, 4)], False),
    ("reshape", lambda a: tf.reshape(a, (4, -1)), lambda a: a.reshape(4, -1), [(2, 6)], False),
    ("transpose", lambda a: tf.transpose(a, (2, 0, 1)), lambda a: a.permute(2, 0, 1),
     [(2, 3, 4)], False),
    ("expand_squeeze", lambda a: tf.squeeze(tf.expand_dims(a, 1) * 2.0, axis=1),
     lambda a: a.unsqueeze(1).mul(2.0).squeeze(1), [(3, 2)], False),
    ("where", lambda a, b: tf.where(a > b, a * 2.0, b), lambda a, b: ember.where(a > b, a * 2.0, b),
     [(3, 4), (3, 4)], False),
    ("cast", lambda a: tf.cast(tf.cast(a, tf.float32), tf.float64) * a,
     lambda a: a.float().double() * a, [(4,)], False),
    ("identity", lambda a: tf.identity(a) * a, lambda a: a * a, [(4,)], False),
    ("softmax", lambda a: tf.nn.softmax(a, axis=1), lambda a: F.softmax(a, dim=1), [(3, 4)], False),
    ("log_softmax", lambda a: tf.nn.log_softmax(a), lambda a: F.log_softmax(a, dim=-1), [(3, 4)],
     False),
    ("leaky_relu", lambda a: tf.nn.leaky_relu(a, 0.1), lambda a: F.leaky_relu(a, 0.1), [(3, 4)],
     False),
    ("conv2d", lambda x, w, b: tf.nn.conv2d_nchw(x, w, b, stride=(2, 1), padding=(1, 0)),
     lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 0)),
     [(2, 3, 5, 6), (4, 3, 3, 2), (4,)], False),
    ("max_pool2d", lambda x: tf.nn.max_pool2d_nchw(x), lambda x: F.max_pool2d(x, 2),
     [(2, 3, 4, 6)], False),
]


def _static_grads(fn, arrays, weights):
    tf.reset_default_graph()
    xs = [tf.Variable(a) for a in arrays]
    out = fn(*xs)
    loss = tf.reduce_sum(out * tf.constant(weights))
    grads = tf.gradients(loss, xs)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(out), sess.run(grads)


@pytest.mark.parametrize("name,sfn,efn,shapes,positive", CASES, ids=[c[0] for c in CASES])
def test_symbolic_gradient_equals_eager(name, sfn, efn, shapes, positive):
    arrays = [_data(s, i, positive) for i, s in enumerate(shapes)]
    ets = [ember.tensor(a, requires_grad=True) for a in arrays]
    eout = efn(*ets)
    weights = _data(tuple(eout.shape), 99)
    (eout * ember.tensor(weights)).sum().backward()
    out, grads = _static_grads(sfn, arrays, weights)
    np.testing.assert_allclose(out, eout.detach().numpy(), rtol=1e-12, atol=1e-14)
    for g, t in zip(grads, ets):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,sfn,efn,shapes,positive", CASES[::3], ids=[c[0] for c in CASES[::3]])
def test_symbolic_gradient_equals_central_differences(name, sfn, efn, shapes, positive):
    arrays = [_data(s, i, positive) for i, s in enumerate(shapes)]
    tf.reset_default_graph()
    feeds = [tf.placeholder(tf.float64, shape=a.shape) for a in arrays]
    out = sfn(*feeds)
    weights = _data(out.shape, 99)
    loss = tf.reduce_sum(out * tf.constant(weights))
    grads = tf.gradients(loss, feeds)
    eps = 1e-6
    with tf.Session() as sess:
        got = sess.run(grads, dict(zip(feeds, arrays)))
        for k, a in enumerate(arrays):
            num = np.zeros_like(a)
            for idx in np.ndindex(a.shape):
                plus, minus = [b.copy() for b in arrays], [b.copy() for b in arrays]
                plus[k][idx] += eps
                minus[k][idx] -= eps
                num[idx] = (sess.run(loss, dict(zip(feeds, plus))) -
                            sess.run(loss, dict(zip(feeds, minus)))) / (2 * eps)
            np.testing.assert_allclose(got[k], num, rtol=1e-5, atol=1e-7)


def test_maximum_ties_split_the_gradient_like_eager():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0])
    out, (ga, gb) = _static_grads(tf.maximum, [a, b], np.ones(3))
    ea, eb = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    ember.maximum(ea, eb).sum().backward()
    np.testing.assert_array_equal(ga, ea.grad.numpy())
    np.testing.assert_array_equal(gb, eb.grad.numpy())
    assert ga.tolist() == [0.5, 0.0, 1.0]


def test_gradients_are_new_nodes_in_the_same_graph():
    w = tf.Variable(np.ones(3))
    loss = tf.reduce_sum(w * w)
    g = tf.get_default_graph()
    before = g.num_nodes
    grad, = tf.gradients(loss, [w])
    assert g.num_nodes > before and grad.graph is g and grad.name.startswith("gradients/")


def test_gradient_of_unconnected_variable_is_none_and_no_rule_is_an_error():
    a, b = tf.Variable(np.ones(2)), tf.Variable(np.ones(2))
    assert tf.gradients(tf.reduce_sum(a), [a, b])[1] is None
    i, = tf.while_loop(lambda v: tf.reduce_sum(v) < 10.0, lambda v: v * 2.0, [a])
    ga, = tf.gradients(tf.reduce_sum(i), [a])  # a loop has a gradient (test_static_loops.py)...
    with pytest.raises(tf.GraphError, match="no gradient.*while_loop_grad"):
        tf.gradients(tf.reduce_sum(ga), [a])  # ... but not a second one
