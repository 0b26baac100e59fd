"""Loops, folds and devices in static graphs: gradients through `while_loop` and `foldl` against
central differences in float64, unknown-shape placeholders, `tf.device`, RMSProp."""
from __future__ import annotations

import numpy as np
import pytest

import ember.static as tf
from ember.static.ops.shape import dim_size, row


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def _numeric(f, x, eps=1e-6):
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[k] = eps
        g[k] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


def _rnn_numpy(h0, xs, w):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(h @ w + xs[t])
    return (h ** 2).sum()


def test_rnn_in_a_graph_gradients_match_central_differences():
    rng = np.random.default_rng(0)
    T, N, H = 4, 2, 3
    h0v, xsv, wv = rng.standard_normal((N, H)), rng.standard_normal((T, N, H)), \
        0.5 * rng.standard_normal((H, H))
    h0 = tf.placeholder(tf.float64, shape=(N, H))
    xs = tf.placeholder(tf.float64, shape=(None, N, H))   # any number of steps
    w = tf.Variable(wv)

    def body(t, h):
        return [t + 1, tf.tanh(tf.matmul(h, w) + row(xs, t))]
    _, h = tf.while_loop(lambda t, h: t < dim_size(xs, axis=0), body,
                         [tf.constant(0, dtype=tf.int64), h0])
    loss = tf.reduce_sum(h * h)
    gw, gh0, gxs = tf.gradients(loss, [w, h0, xs])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        lv, gwv, gh0v, gxsv = sess.run([loss, gw, gh0, gxs], {h0: h0v, xs: xsv})
    assert np.isclose(lv, _rnn_numpy(h0v, xsv, wv))
    np.testing.assert_allclose(gwv, _numeric(lambda a: _rnn_numpy(h0v, xsv, a), wv), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(gh0v, _numeric(lambda a: _rnn_numpy(a, xsv, wv), h0v), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(gxsv, _numeric(lambda a: _rnn_numpy(h0v, a, wv), xsv), rtol=1e-5, atol=1e-8)
    with tf.Session() as sess:  # another length: the same graph runs 2 steps
        sess.run(tf.global_variables_initializer())
        g2 = sess.run(gw, {h0: h0v, xs: xsv[:2]})
    np.testing.assert_allclose(g2, _numeric(lambda a: _rnn_numpy(h0v, xsv[:2], a), wv), rtol=1e-5, atol=1e-8)


def test_data_dependent_trip_count_and_zero_iterations():
    a = tf.placeholder(tf.float64, shape=(2,))
    v, = tf.while_loop(lambda v: tf.reduce_sum(v) < 10.0, lambda v: v * 2.0, [a])
    g, = tf.gradients(tf.reduce_sum(v), [a])
    with tf.Session() as sess:
        out, gv = sess.run([v, g], {a: np.array([1.0, 2.0])})   # 3 -> 6 -> 12: two steps
        assert out.tolist() == [4.0, 8.0] and gv.tolist() == [4.0, 4.0]
        out, gv = sess.run([v, g], {a: np.array([10.0, 2.0])})  # no step: identity
        assert out.tolist() == [10.0, 2.0] and gv.tolist() == [1.0, 1.0]


def test_maximum_iterations_and_integer_loop_variables():
    x = tf.placeholder(tf.float64, shape=())
    c = tf.Variable(np.array(1.5))
    i, y = tf.while_loop(lambda i, y: i < 100, lambda i, y: [i + 1, y * c + 1.0],
                         [tf.constant(0), x], maximum_iterations=3)
    gx, gc = tf.gradients(y, [x, c])

    def f(xv, cv):
        for _ in range(3):
            xv = xv * cv + 1.0
        return xv
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        iv, yv, gxv, gcv = sess.run([i, y, gx, gc], {x: 0.7})
    assert iv == 3 and np.isclose(yv, f(0.7, 1.5))
    assert np.isclose(gxv, _numeric(lambda a: f(a, 1.5), 0.7))
    assert np.isclose(gcv, _numeric(lambda a: f(0.7, a), 1.5))


def test_loop_gradient_refuses_bodies_it_cannot_replay():
    a = tf.placeholder(tf.float32, shape=(3,))
    v, = tf.while_loop(lambda v: tf.reduce_sum(v) < 10.0,
                      lambda v: v + tf.random_normal((3,)) ** 2 + 1.0, [a])
    with pytest.raises(tf.GraphError, match="random_normal.*Move it out of the loop"):
        tf.gradients(tf.reduce_sum(v), [a])


def test_foldl_matches_the_lecture_loop_and_numeric_gradients():
    T, D = 3, 4
    rng = np.random.default_rng(1)
    values_np = (rng.standard_normal((T, D)), rng.standard_normal(D), rng.standard_normal(D))
    x = tf.placeholder(tf.float64, shape=(T, D))
    y0 = tf.placeholder(tf.float64, shape=(D,))
    w = tf.placeholder(tf.float64, shape=(D,))
    y = tf.foldl(lambda prev_y, cur_x: (prev_y + cur_x) * w, x, y0)
    gx, gy0, gw = tf.gradients(tf.reduce_sum(y), [x, y0, w])

    def f(xv, y0v, wv):
        for t in range(T):
            y0v = (y0v + xv[t]) * wv
        return y0v
    with tf.Session() as sess:
        feed = dict(zip((x, y0, w), values_np))
        yv, gxv, gy0v, gwv = sess.run([y, gx, gy0, gw], feed)
    xv, y0v, wv = values_np
    np.testing.assert_allclose(yv, f(xv, y0v, wv))
    np.testing.assert_allclose(gxv, _numeric(lambda a: f(a, y0v, wv).sum(), xv), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(gy0v, _numeric(lambda a: f(xv, a, wv).sum(), y0v), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(gwv, _numeric(lambda a: f(xv, y0v, a).sum(), wv), rtol=1e-5, atol=1e-8)


def test_foldl_without_initializer_sums_rows():
    x = tf.placeholder(tf.float32, shape=(None, 2))
    total = tf.foldl(lambda a, b: a + b, x)
    with tf.Session() as sess:
        assert sess.run(total, {x: np.arange(10.0).reshape(5, 2)}).tolist() == [20.0, 25.0]
    with pytest.raises(tf.GraphError, match=r"foldl: fn returned 2 value\(s\) but the "
                                            r"accumulator has 1"):
        tf.foldl(lambda a, b: [a, b], x, tf.zeros((2,)))


def test_unknown_shape_placeholders_take_any_shape():
    x, y = tf.placeholder(tf.float32), tf.placeholder(tf.float32, shape=None)
    c = tf.reduce_sum(x * y + 1.0)
    gx, gy = tf.gradients(c, [x, y])
    assert "[*]" in tf.get_default_graph().listing()
    with tf.Session() as sess:
        for shape in [(3, 4), (5,), ()]:
            a = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
            b = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
            cv, gxv, gyv = sess.run([c, gx, gy], {x: a, y: b})
            assert np.isclose(cv, (a * b + 1.0).sum(), rtol=1e-5)
            np.testing.assert_allclose(gxv, b)
            np.testing.assert_allclose(gyv, a)
        # broadcasting decided at run time: the gradient is summed back to the fed shape
        gxv = sess.run(gx, {x: np.ones((1, 4), np.float32), y: np.ones((3, 4), np.float32)})
        assert gxv.tolist() == [[3.0] * 4]


def test_unknown_shape_scalar_predicate_for_cond():
    z = tf.placeholder(tf.float32, shape=None)
    out = tf.cond(tf.less(z, 0), lambda: tf.constant(1.0), lambda: tf.constant(2.0))
    with tf.Session() as sess:
        assert sess.run(out, {z: -3}) == 1.0 and sess.run(out, {z: 10}) == 2.0


def test_device_scope_records_placement_and_rejects_nonsense():
    with tf.device("/gpu:0"):
        a = tf.constant(1.0) + 2.0
        with tf.device("/cpu:0"):
            b = a * 3.0
    c = b - 1.0
    assert (a.device, b.device, c.device) == ("gpu:0", "cpu:0", None)
    with tf.device("/device:GPU:1"):
        assert tf.constant(0.0).device == "gpu:1"
    with tf.Session() as sess:
        assert sess.run(c) == 8.0
    with pytest.raises(ValueError, match="can't read the device 'tpu:0'"):
        with tf.device("tpu:0"):
            pass


def test_rmsprop_matches_tf1_update_rule():
    w0 = np.array([1.0, -2.0, 0.5], dtype=np.float32)
    w = tf.Variable(w0)
    loss = tf.reduce_sum(w * w * w)
    step = tf.train.RMSPropOptimizer(0.01, decay=0.9, momentum=0.5).minimize(loss)
    ref, ms, mom = w0.astype(np.float64), np.ones(3), np.zeros(3)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(5):
            sess.run(step)
            g = 3 * ref ** 2
            ms = 0.9 * ms + 0.1 * g ** 2
            mom = 0.5 * mom + 0.01 * g / np.sqrt(ms + 1e-10)
            ref = ref - mom
        np.testing.assert_allclose(sess.run(w), ref, rtol=1e-5)
