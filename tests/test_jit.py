"""ember.jit.trace: eager code -> the static graph IR, callable, printable, frozen control flow."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
import ember.jit
import ember.nn as nn


@pytest.fixture(autouse=True)
def seed():
    ember.manual_seed(0)


def test_trace_function_matches_eager_and_lists_its_ops():
    def f(x, w):
        return ((x @ w).relu() * 2.0 - 1.0).sigmoid().sum(dim=1)
    x, w = ember.randn(4, 3), ember.randn(3, 5)
    traced = ember.jit.trace(f, (x, w))
    x2, w2 = ember.randn(4, 3), ember.randn(3, 5)
    np.testing.assert_allclose(traced(x2, w2).numpy(), f(x2, w2).numpy(), rtol=1e-6)
    text = str(traced)
    for op in ("placeholder", "matmul", "relu", "sigmoid", "reduce_sum"):
        assert op in text
    assert traced.num_nodes == traced.graph.num_nodes
    assert isinstance(traced(x2, w2), ember.Tensor)


def test_trace_module_parameters_become_variables_with_their_names():
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    x = ember.randn(5, 6)
    traced = ember.jit.trace(model, (x,))
    assert set(traced.state) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    np.testing.assert_array_equal(traced.state["0.weight"], model[0].weight.detach().numpy())
    x2 = ember.randn(5, 6)
    np.testing.assert_allclose(traced(x2).detach().numpy(), model(x2).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    ops = traced.graph.op_counts()
    assert ops["variable"] == 4 and ops["matmul"] == 2


def test_trace_cnn_and_its_optimized_graph_fuses_conv_relu():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 5), nn.ReLU(), nn.Linear(5, 2), nn.LogSoftmax(dim=1))
    x = ember.randn(2, 3, 8, 8)
    traced = ember.jit.trace(model, (x,))
    opt = traced.optimized_graph()
    counts = opt.op_counts()
    assert counts["conv2d_relu"] == 1 and counts["matmul_bias_relu"] == 1 and "relu" not in counts
    assert opt.num_nodes < traced.num_nodes
    np.testing.assert_allclose(traced(x).detach().numpy(), model(x).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def test_python_if_is_frozen_with_a_warning():
    def f(x):
        if x.sum() > 0:
            return x * 2.0
        return -x
    pos = ember.ones(3)
    with pytest.warns(ember.jit.TracerWarning, match="froze"):
        traced = ember.jit.trace(f, (pos,))
    neg = -ember.ones(3)
    assert f(neg).tolist() == [1.0, 1.0, 1.0]
    assert traced(neg).tolist() == [-2.0, -2.0, -2.0]     # the trace took the `x.sum() > 0` path
    assert "frozen at trace time" in traced.listing() and "greater" in traced.listing()
    assert len(traced.frozen_branches) == 1


def test_numpy_values_of_traced_tensors_are_frozen_with_a_warning():
    """x.numpy() leaves the graph: what numpy computes from it is a constant of the trace."""
    def f(x):
        return x + ember.tensor(np.sin(x.numpy()))
    with pytest.warns(ember.jit.TracerWarning, match=r"\.numpy\(\) read the value") as record:
        traced = ember.jit.trace(f, (ember.zeros(2),))
    assert len(record) == 1 and record[0].filename == __file__
    assert traced(ember.ones(2)).tolist() == [1.0, 1.0]      # sin(0) frozen, not sin(1)
    with pytest.warns(ember.jit.TracerWarning, match=r"float\(\) read") as record:
        ember.jit.trace(lambda x: x * float(x.sum()), (ember.ones(2),))
    assert len(record) == 1                                  # float() calls .item(): one warning


def test_random_draws_while_tracing_are_frozen_with_a_warning():
    """Dropout in training mode: its mask becomes a constant of the trace (trace in eval mode)."""
    model = nn.Sequential(nn.Linear(4, 50), nn.Dropout(0.5))
    with pytest.warns(ember.jit.TracerWarning, match="random numbers were drawn") as record:
        traced = ember.jit.trace(model, (ember.randn(2, 4),))
    assert len(record) == 1 and record[0].filename == __file__
    x = ember.randn(2, 4)
    assert ember.equal(traced(x), traced(x))                  # the same mask every call
    assert "frozen at trace time: random numbers" in traced.listing()
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        traced = ember.jit.trace(model, (ember.randn(2, 4),))
    np.testing.assert_allclose(traced(x).detach().numpy(), model(x).detach().numpy(), rtol=1e-6)
    assert type(ember.random.default_generator.rng).__name__ == "Generator"   # put back


def test_python_control_flow_not_depending_on_data_does_not_warn():
    def f(x):
        for _ in range(3):
            x = x * 2.0
        return x
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        traced = ember.jit.trace(f, (ember.ones(2),))
    assert traced.graph.op_counts()["mul"] == 3        # the loop is unrolled into the graph


def test_trace_errors_name_what_is_wrong():
    with pytest.raises(TypeError, match="example inputs must be Tensors"):
        ember.jit.trace(lambda x: x, ([1.0],))
    traced = ember.jit.trace(lambda x: x * 2.0, (ember.ones(2, 3),))
    with pytest.raises(ember.ShapeError, match="'input'.*\\(2, 4\\)"):
        traced(ember.ones(2, 4))        # the batch dimension is free, the others are not

    def inplace(x):
        y = x * 1.0
        with ember.no_grad():
            y += 1.0
        return y * 2.0
    with pytest.raises(RuntimeError, match="in place"):
        ember.jit.trace(inplace, (ember.ones(2),))


def test_tracing_leaves_eager_ember_untouched():
    from ember.autograd.function import Op
    apply = Op.__dict__["apply"]
    gt = ember.Tensor.__dict__["__gt__"]
    ember.jit.trace(lambda x: (x > 0).float() * x, (ember.ones(2),))
    assert Op.__dict__["apply"] is apply and ember.Tensor.__dict__["__gt__"] is gt


def test_traced_module_runs_other_batch_sizes_and_backward_reaches_its_parameters():
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    traced = ember.jit.trace(model, (ember.randn(5, 6),))
    assert traced.graph.inputs[0].shape == (None, 6)
    for batch in (7, 1):
        x = ember.randn(batch, 6, requires_grad=True)
        out = traced(x)
        assert out.shape == (batch, 3) and out.requires_grad
        out.pow(2).sum().backward()
        got = [p.grad.numpy().copy() for p in model.parameters()] + [x.grad.numpy().copy()]
        model.zero_grad()
        x.grad = None
        model(x).pow(2).sum().backward()
        want = [p.grad.numpy() for p in model.parameters()] + [x.grad.numpy()]
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        model.zero_grad()
    with ember.no_grad():                       # the module's new weights are read at each call
        model[0].bias.add_(1.0)
    x = ember.randn(2, 6)
    np.testing.assert_allclose(traced(x).detach().numpy(), model(x).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def test_traced_function_gradients_match_numerical_differences():
    def f(x, w):
        return ((x @ w).tanh() * x.sum(dim=1, keepdim=True)).mean(dim=0)
    x = ember.randn(4, 3, dtype=ember.float64, requires_grad=True)
    w = ember.randn(3, 2, dtype=ember.float64, requires_grad=True)
    traced = ember.jit.trace(f, (x, w))
    assert ember.autograd.gradcheck(traced, (x, w))
    assert ember.autograd.gradcheck(traced, (x[:2].detach().requires_grad_(), w))
    positive = ember.jit.trace(lambda a: a.sum(dim=1) > 0, (x.detach(),))
    assert positive(x).dtype == ember.bool        # no float output: no autograd node
    assert positive(x).tolist() == (x.detach().sum(dim=1) > 0).tolist()


def test_where_on_a_traced_condition_follows_the_data():
    traced = ember.jit.trace(lambda x: ember.where(x > 0, x * 2.0, -x), (ember.ones(3),))
    x = ember.tensor([1.0, -2.0, 3.0, -4.0])
    assert traced(x).tolist() == [2.0, 2.0, 6.0, 4.0]
