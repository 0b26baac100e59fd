"""Graph passes: each preserves the outputs and passes verify; DCE and fusion shrink graphs;
buffer reuse makes a training step allocate (almost) nothing after warm-up."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import ember
import ember.static as tf
from ember.static import passes
from ember.static.rewrite import extract

PASSES = [passes.constant_folding, passes.simplify, passes.scale_matmul,
          passes.common_subexpression_elimination, passes.dead_code_elimination,
          passes.fuse_matmul_bias_relu, passes.fuse_elementwise, passes.buffer_reuse]


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    ember.manual_seed(0)
    yield
    tf.reset_default_graph()


def lecture_step(N=8, D=12, H=6, O=3, relu=tf.maximum):
    x = tf.placeholder(tf.float64, shape=(N, D), name="x")
    y = tf.placeholder(tf.float64, shape=(N, O), name="y")
    rng = np.random.default_rng(0)
    w1 = tf.Variable(rng.standard_normal((D, H)), name="w1")
    w2 = tf.Variable(rng.standard_normal((H, O)), name="w2")
    h = relu(tf.matmul(x, w1), 0) if relu is tf.maximum else relu(tf.matmul(x, w1))
    loss = tf.reduce_sum((tf.matmul(h, w2) - y) ** 2)
    g1, g2 = tf.gradients(loss, [w1, w2])
    step = tf.group(w1.assign(w1 - 1e-3 * g1), w2.assign(w2 - 1e-3 * g2))
    feeds = {x: rng.standard_normal((N, D)), y: rng.standard_normal((N, O))}
    return [loss, g1, g2, step], feeds, {"w1": w1, "w2": w2}


def dense_net():
    x = tf.placeholder(tf.float64, shape=(5, 4), name="x")
    h = tf.layers.dense(x, 8, activation=tf.nn.relu)
    h2 = tf.layers.dense(h, 8, activation=tf.nn.sigmoid)
    a = tf.exp(h2) * 2.0 + 1.0
    b = tf.exp(h2) * 2.0 + 1.0            # a common subexpression
    c = tf.constant(3.0, tf.float64) * tf.constant(4.0, tf.float64) + tf.ones((5, 8), tf.float64)
    out = tf.reduce_mean(a * b + c, axis=1)
    tf.log(tf.abs(h2) + 1.0)             # dead code
    return [out], {x: np.random.default_rng(1).standard_normal((5, 4))}, {}


def _concrete(fetches, feeds):
    return extract(tf.get_default_graph(), fetches, {k: (v.shape, v.dtype) for k, v in feeds.items()})


def _run(graph, feeds_by_name, state):
    env = {n: feeds_by_name[n.name] for n in graph.inputs}
    st = {k: v.copy() for k, v in state.items()}
    out = tf.interpret(graph, env, state=st)
    return out, st


def _initial_state(variables):
    with tf.Session(optimize=False) as sess:
        sess.run(tf.global_variables_initializer())
        return sess.variable_values


@pytest.mark.parametrize("build", [lecture_step, dense_net], ids=["lecture_step", "dense_net"])
@pytest.mark.parametrize("p", PASSES, ids=[p.__name__ for p in PASSES])
def test_each_pass_preserves_outputs_and_verifies(build, p):
    fetches, feeds, variables = build()
    state = _initial_state(variables)
    graph, fed = _concrete(fetches, feeds)
    named = {n.name: v for n, v in feeds.items()}
    before, st_before = _run(graph, named, state)
    after_graph = passes.verify(p(graph), after=p.__name__)
    after, st_after = _run(after_graph, named, state)
    for a, b in zip(before, after):
        if a is not None:
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    for k in st_before:
        np.testing.assert_allclose(st_after[k], st_before[k], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("build", [lecture_step, dense_net], ids=["lecture_step", "dense_net"])
def test_full_pipeline_preserves_outputs_and_shrinks_graph(build, capsys):
    fetches, feeds, variables = build()
    state = _initial_state(variables)
    graph, _ = _concrete(fetches, feeds)
    named = {n.name: v for n, v in feeds.items()}
    before, _ = _run(graph, named, state)
    opt = passes.optimize(graph, verbose=True)
    after, _ = _run(opt, named, state)
    for a, b in zip(before, after):
        if a is not None:
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    assert opt.num_nodes < graph.num_nodes
    printed = capsys.readouterr().out
    assert "dead_code_elimination" in printed and "fuse_elementwise" in printed and "->" in printed


def test_dce_removes_unused_nodes():
    fetches, feeds, _ = dense_net()
    full = tf.get_default_graph()
    g = passes.dead_code_elimination(_with_outputs(full, fetches))
    assert g.num_nodes < full.num_nodes
    assert "log" not in g.op_counts() and "log" in full.op_counts()


def _with_outputs(graph, outputs):
    graph.outputs = list(outputs)
    return graph


def test_constant_folding_and_cse():
    fetches, feeds, _ = dense_net()
    graph, _ = _concrete(fetches, feeds)
    folded = passes.constant_folding(graph)
    assert "mul" in graph.op_counts()
    consts_before = graph.op_counts().get("const", 0)
    assert folded.op_counts().get("fill", 0) == 0 and folded.op_counts()["const"] >= consts_before
    cse = passes.common_subexpression_elimination(folded)
    assert cse.op_counts()["exp"] == 1 and graph.op_counts()["exp"] == 2


def test_fusions_reduce_node_counts():
    fetches, feeds, _ = dense_net()
    graph, _ = _concrete(fetches, feeds)
    g = passes.dead_code_elimination(passes.common_subexpression_elimination(graph))
    fused = passes.fuse_matmul_bias_relu(g)
    assert fused.op_counts()["matmul_bias_relu"] == 1     # relu(x @ w + b)
    assert fused.op_counts()["matmul_bias"] == 1          # x @ w + b, before the sigmoid
    assert fused.num_nodes < g.num_nodes
    ew = passes.fuse_elementwise(fused)
    assert ew.op_counts().get("fused_elementwise", 0) >= 1 and ew.num_nodes < fused.num_nodes
    assert "fused_elementwise" in ew.listing()


def test_matmul_relu_fusion_in_a_training_graph_with_nn_relu():
    fetches, feeds, _ = lecture_step(relu=tf.nn.relu)
    graph, _ = _concrete(fetches[3:], feeds)
    opt = passes.optimize(graph)
    assert opt.op_counts().get("matmul_bias_relu") == 1 and "relu" not in opt.op_counts()


def test_buffer_reuse_shares_buffers():
    fetches, feeds, _ = lecture_step()
    graph, _ = _concrete(fetches[3:], feeds)
    opt = passes.optimize(graph)
    buffers = [n.attrs["buffer"] for n in opt.nodes if "buffer" in n.attrs]
    assert len(set(buffers)) < len(buffers)          # some buffer serves several values
    assert "buffer=" in opt.listing()


def test_training_step_allocates_almost_nothing_after_warmup():
    fetches, feeds, _ = lecture_step(N=64, D=1000, H=100, O=10)
    step = fetches[3]
    feeds = {k: v.astype(np.float64) for k, v in feeds.items()}

    def peak(sess):
        for _ in range(3):
            sess.run(step, feeds)
        tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        sess.run(step, feeds)
        p = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        return p
    with tf.Session(optimize=True) as fast, tf.Session(optimize=False) as slow:
        fast.run(tf.global_variables_initializer())
        slow.run(tf.global_variables_initializer())
        p_fast, p_slow = peak(fast), peak(slow)
    big = 1000 * 100 * 8               # one (1000, 100) float64 array: a weight gradient
    assert p_slow > big                # the unoptimized step makes such arrays anew
    assert p_fast < big / 8            # only small temporaries: masks, numpy's cast buffer


def test_verify_catches_broken_graphs():
    x = tf.placeholder(tf.float32, shape=(2, 3), name="x")
    y = tf.exp(x, name="y")
    g = tf.get_default_graph()
    y.shape = (3, 3)
    with pytest.raises(tf.GraphError, match="'y'.*inference gives float32\\[2, 3\\]"):
        passes.verify(g, after="my_pass")
    y.shape = (2, 3)
    g.nodes.reverse()
    with pytest.raises(tf.GraphError, match="my_pass.*'y'.*not defined before"):
        passes.verify(g, after="my_pass")


def test_session_optimized_and_plain_agree_on_the_lecture_step():
    fetches, feeds, variables = lecture_step()
    results = []
    for optimize in (False, True):
        with tf.Session(optimize=optimize) as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(3):
                out = sess.run(fetches, feeds)
            results.append((out[:3], sess.run(list(variables.values()))))
    for a, b in zip(results[0][0] + results[0][1], results[1][0] + results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-11)


@pytest.mark.parametrize("p", PASSES, ids=[p.__name__ for p in PASSES])
def test_each_pass_preserves_a_traced_cnn(p):
    import ember.jit
    import ember.nn as nn
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(64, 5), nn.ReLU(), nn.Linear(5, 3), nn.Softmax(dim=1))
    x = ember.randn(2, 3, 8, 8)
    traced = ember.jit.trace(model, (x,))
    env = {traced.graph.inputs[0]: x.numpy()}
    before = tf.interpret(traced.graph, env, state=dict(traced.state))
    after_graph = passes.verify(p(traced.graph), after=p.__name__)
    after = tf.interpret(after_graph, {after_graph.inputs[0]: x.numpy()}, state=dict(traced.state))
    np.testing.assert_allclose(after[0], before[0], rtol=1e-6, atol=1e-7)


def test_optimize_a_user_graph_with_unknown_batch_size(capsys):
    x = tf.placeholder(tf.float32, shape=(None, 4), name="x")
    w = tf.Variable(tf.random_normal((4, 3)), name="w")
    loss = tf.reduce_sum(tf.maximum(tf.matmul(x, w), 0))
    g, = tf.gradients(loss, [w])
    step = tf.group(w.assign(w - 0.1 * g))
    opt = passes.optimize(tf.get_default_graph(), outputs=[step], verbose=True)
    assert opt.num_nodes < tf.get_default_graph().num_nodes
    assert "buffer_reuse" in capsys.readouterr().out
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        w0 = sess.run(w)
    xv = np.ones((2, 4), np.float32)
    state = {"w": w0.copy()}
    tf.interpret(opt, {opt.inputs[0]: xv}, state=state)
    h = xv @ w0
    np.testing.assert_allclose(state["w"], w0 - 0.1 * xv.T @ (h > 0).astype(np.float32), rtol=1e-6)
