"""ember.static: the TF-1 API of the lecture, Session semantics and its error messages."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.static as tf


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    ember.manual_seed(0)
    yield
    tf.reset_default_graph()


def numpy_two_layer(x, y, w1, w2, lr, steps):
    """The lecture's manual backprop (sum of squares loss), in float64."""
    losses = []
    for _ in range(steps):
        h = x.dot(w1)
        h_relu = np.maximum(h, 0)
        y_pred = h_relu.dot(w2)
        losses.append(np.square(y_pred - y).sum())
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.T.dot(grad_y_pred)
        grad_h = grad_y_pred.dot(w2.T)
        grad_h[h < 0] = 0
        grad_w1 = x.T.dot(grad_h)
        w1 = w1 - lr * grad_w1
        w2 = w2 - lr * grad_w2
    return np.array(losses), w1, w2


@pytest.mark.parametrize("optimize", [False, True])
def test_lecture_program_matches_numpy_backprop(optimize):
    N, D, H, O, lr = 16, 30, 20, 5, 1e-3
    rng = np.random.default_rng(1)
    xv, yv = rng.standard_normal((N, D)), rng.standard_normal((N, O))
    w1v, w2v = rng.standard_normal((D, H)) * 0.1, rng.standard_normal((H, O)) * 0.1
    x = tf.placeholder(tf.float64, shape=(None, D))
    y = tf.placeholder(tf.float64, shape=(None, O))
    w1, w2 = tf.Variable(w1v), tf.Variable(w2v)
    h = tf.maximum(tf.matmul(x, w1), 0)
    y_pred = tf.matmul(h, w2)
    loss = tf.reduce_sum((y_pred - y) ** 2)
    grad_w1, grad_w2 = tf.gradients(loss, [w1, w2])
    new_w1 = w1.assign(w1 - lr * grad_w1)
    new_w2 = w2.assign(w2 - lr * grad_w2)
    updates = tf.group(new_w1, new_w2)
    with tf.Session(optimize=optimize) as sess:
        sess.run(tf.global_variables_initializer())
        losses = [sess.run([loss, updates], feed_dict={x: xv, y: yv})[0] for _ in range(10)]
        w1_out, w2_out = sess.run([w1, w2])
    ref_losses, ref_w1, ref_w2 = numpy_two_layer(xv, yv, w1v, w2v, lr, 10)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-10)
    np.testing.assert_allclose(w1_out, ref_w1, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w2_out, ref_w2, rtol=1e-10, atol=1e-12)
    assert losses[-1] < losses[0]


def test_static_equals_eager_forward_and_gradients():
    rng = np.random.default_rng(2)
    xv, w1v, w2v = rng.standard_normal((8, 6)), rng.standard_normal((6, 5)), rng.standard_normal((5, 3))
    x = tf.placeholder(tf.float64, shape=(None, 6))
    w1, w2 = tf.Variable(w1v), tf.Variable(w2v)
    out = tf.reduce_mean(tf.sigmoid(tf.matmul(tf.nn.relu(tf.matmul(x, w1)), w2)))
    g1, g2 = tf.gradients(out, [w1, w2])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        o, a, b = sess.run([out, g1, g2], {x: xv})
    ex = ember.tensor(xv)
    e1, e2 = ember.tensor(w1v, requires_grad=True), ember.tensor(w2v, requires_grad=True)
    eo = (ex @ e1).relu().__matmul__(e2).sigmoid().mean()
    eo.backward()
    np.testing.assert_allclose(o, eo.item(), rtol=1e-12)
    np.testing.assert_allclose(a, e1.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(b, e2.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_layers_dense_xavier_and_optimizers_train():
    N, D, H = 32, 20, 16
    rng = np.random.default_rng(3)
    xv = rng.standard_normal((N, D)).astype(np.float32)
    yv = (xv[:, :4] * 0.5).astype(np.float32)
    x = tf.placeholder(tf.float32, shape=(None, D))
    y = tf.placeholder(tf.float32, shape=(None, 4))
    init = tf.contrib.layers.xavier_initializer()
    h = tf.layers.dense(inputs=x, units=H, activation=tf.nn.relu, kernel_initializer=init)
    y_pred = tf.layers.dense(inputs=h, units=4, kernel_initializer=init)
    loss = tf.losses.mean_squared_error(y_pred, y)
    kernel = [v for v in tf.trainable_variables() if v.name.endswith("kernel")][0]
    for opt in (tf.train.GradientDescentOptimizer(0.1), tf.train.MomentumOptimizer(0.05, 0.9),
                tf.train.AdamOptimizer(0.01)):
        updates = opt.minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            k = sess.run(kernel)
            bound = np.sqrt(6.0 / (D + H))  # Glorot uniform
            assert np.abs(k).max() <= bound and k.std() > bound / 4
            first = sess.run(loss, {x: xv, y: yv})
            for _ in range(60):
                sess.run(updates, {x: xv, y: yv})
            assert sess.run(loss, {x: xv, y: yv}) < 0.5 * first, type(opt).__name__


def test_momentum_and_adam_match_their_formulas():
    v0, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    w = tf.Variable(v0)
    loss = tf.reduce_sum(w * g)          # d loss / d w = g
    mom = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(mom)
        sess.run(mom)
        np.testing.assert_allclose(sess.run(w), v0 - 0.1 * g - 0.1 * (0.9 * g + g))
    tf.reset_default_graph()
    w = tf.Variable(v0.astype(np.float32))
    adam = tf.train.AdamOptimizer(0.1).minimize(tf.reduce_sum(w * g.astype(np.float32)))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(adam)
        # first Adam step: m_hat = g, v_hat = g^2, so each weight moves by lr * sign(g)
        np.testing.assert_allclose(sess.run(w), v0 - 0.1 * np.sign(g), rtol=1e-5)


def test_run_evaluates_only_what_fetches_need():
    x = tf.placeholder(tf.float32, shape=(None,))
    used = x * 2
    unused = tf.log(x)  # would warn/nan on negatives if it ran
    with tf.Session() as sess:
        assert sess.run(used, {x: [1.0, 2.0]}).tolist() == [2.0, 4.0]
        graph = sess.compiled_graph(used, {x: [1.0, 2.0]})
        calls = [n.op for n in graph.nodes]
    assert "log" not in calls and unused.op == "log"


def test_fetch_structures_and_feeding_any_node():
    a = tf.constant(2.0)
    b = a * 3.0
    c = b + 1.0
    with tf.Session() as sess:
        assert sess.run(c) == 7.0
        assert sess.run([b, c]) == [6.0, 7.0]
        assert sess.run((b, c)) == (6.0, 7.0)
        assert sess.run({"b": b, "c": [c]}) == {"b": 6.0, "c": [7.0]}
        assert sess.run(c, {b: 10.0}) == 11.0   # feeding an intermediate node cuts the graph there
        assert c.eval() == 7.0


def test_placeholder_none_dimension_accepts_any_batch():
    x = tf.placeholder(tf.float32, shape=(None, 3))
    s = tf.reduce_sum(x, axis=1)
    assert s.shape == (None,)
    with tf.Session() as sess:
        assert sess.run(s, {x: np.ones((2, 3))}).shape == (2,)
        assert sess.run(s, {x: np.ones((5, 3))}).shape == (5,)


def test_variables_persist_per_session_and_random_normal_redraws():
    v = tf.Variable(tf.zeros((2,)))
    inc = v.assign_add(tf.ones((2,)))
    r = tf.random_normal((3,))
    with tf.Session() as s1, tf.Session() as s2:
        s1.run(tf.global_variables_initializer())
        s2.run(tf.global_variables_initializer())
        s1.run(inc)
        s1.run(inc)
        assert s1.run(v).tolist() == [2.0, 2.0] and s2.run(v).tolist() == [0.0, 0.0]
        assert not np.array_equal(s1.run(r), s1.run(r))


def test_reads_in_one_run_see_values_from_before_the_updates():
    v = tf.Variable(np.array(1.0))
    double = v.assign(v * 2.0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        before, _ = sess.run([v * 1.0, double])
        assert before == 1.0 and sess.run(v) == 2.0


def test_cond_runs_only_the_chosen_branch():
    x = tf.placeholder(tf.float32, shape=())
    counter = tf.Variable(np.array(0.0, np.float32))
    out = tf.cond(x > 0, lambda: counter.assign_add(1.0) * 0 + x * 2, lambda: -x)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(out, {x: 3.0}) == 6.0
        assert sess.run(out, {x: -4.0}) == 4.0
        assert sess.run(counter) == 1.0     # the true branch's assign ran once, not twice


def test_cond_gradient_matches_the_taken_branch():
    x = tf.placeholder(tf.float64, shape=())
    w = tf.Variable(np.array(3.0))
    y = tf.cond(x > 0, lambda: w * w * x, lambda: w * 5.0)
    g, = tf.gradients(y, [w])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(g, {x: 2.0}) == pytest.approx(2 * 3.0 * 2.0)
        assert sess.run(g, {x: -1.0}) == pytest.approx(5.0)


def test_while_loop():
    n = tf.placeholder(tf.int64, shape=())
    i, total = tf.while_loop(lambda i, t: i < n, lambda i, t: (i + 1, t + tf.cast(i, tf.float32)),
                             [tf.constant(0, dtype=tf.int64), tf.constant(0.0)])
    with tf.Session() as sess:
        assert sess.run([i, total], {n: 5}) == [5, 10.0]
        assert sess.run(total, {n: 0}) == 0.0


def test_graph_listing_and_num_nodes():
    x = tf.placeholder(tf.float32, shape=(None, 4), name="x")
    w = tf.Variable(tf.zeros((4, 2)), name="w")
    y = tf.matmul(x, w, name="y")
    g = tf.get_default_graph()
    text = g.listing()
    assert "y: float32[?,2] = matmul(x, w)" in text
    assert g.num_nodes == len(g.nodes) == text.count("\n")
    assert str(g) == text and "op=matmul" in repr(y)


# ---- errors that name the node -----------------------------------------------------------------
def test_error_unfed_placeholder_names_it():
    x = tf.placeholder(tf.float32, shape=(None, 3), name="images")
    y = tf.reduce_sum(x, name="total")
    with tf.Session() as sess, pytest.raises(tf.FailedPreconditionError, match="'images'.*fed.*'total'"):
        sess.run(y)


def test_error_uninitialized_variable_names_it():
    w = tf.Variable(tf.zeros((2,)), name="weights")
    with tf.Session() as sess, pytest.raises(tf.FailedPreconditionError, match="'weights'.*initializ"):
        sess.run(w * 2)


def test_error_feed_wrong_shape_names_placeholder():
    x = tf.placeholder(tf.float32, shape=(None, 3), name="x")
    with tf.Session() as sess, pytest.raises(ember.ShapeError, match=r"'x'.*\(2, 4\).*\(None, 3\)"):
        sess.run(x * 2, {x: np.zeros((2, 4))})


def test_error_feed_wrong_dtype_names_placeholder():
    labels = tf.placeholder(tf.int64, shape=(None,), name="labels")
    with tf.Session() as sess, pytest.raises(ember.DTypeError, match="'labels'.*float64.*int64"):
        sess.run(labels + 1, {labels: np.array([0.5, 1.5])})


def test_float64_feed_into_float32_placeholder_is_converted():
    x = tf.placeholder(tf.float32, shape=(2,))
    with tf.Session() as sess:
        out = sess.run(x * 2, {x: np.array([1.0, 2.0])})
    assert out.dtype == np.float32


def test_build_time_shape_errors_name_the_node():
    a = tf.placeholder(tf.float32, shape=(None, 3))
    b = tf.placeholder(tf.float32, shape=(4, 5))
    with pytest.raises(ember.ShapeError, match="matmul 'bad'.*inner dimensions 3 and 4"):
        tf.matmul(a, b, name="bad")
    with pytest.raises(ember.ShapeError, match="add .*broadcast"):
        a + tf.placeholder(tf.float32, shape=(None, 4))
    with pytest.raises(ember.DTypeError, match="float32 and float64"):
        a + tf.constant(np.ones(3))


def test_python_if_on_a_node_explains_cond():
    x = tf.placeholder(tf.float32, shape=())
    with pytest.raises(TypeError, match="cond"):
        if x > 0:
            pass


def test_import_ember_does_not_import_static():
    import subprocess
    import sys
    code = "import sys, ember; print('ember.static' in sys.modules, 'ember.jit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(__import__("pathlib").Path(ember.__file__).parents[1])})
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_session_compiles_fetches_to_straight_line_code():
    x = tf.placeholder(tf.float32, shape=(None, 2), name="x")
    y = tf.reduce_sum(tf.exp(x) * 2.0, axis=1, name="y")
    with tf.Session() as sess:
        code = sess.compiled_code(y, {x: np.zeros((3, 2))})
        graph = sess.compiled_graph(y, {x: np.zeros((3, 2))})
    assert code.startswith("def run(") and "# y = reduce_sum" in code
    assert code.count("\n") == graph.num_nodes   # def line + one per non-input node + return
