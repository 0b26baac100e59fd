"""Every differentiable op's gradient against central differences in float64."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import ember
from helpers import assert_grad_matches, rand64

UNARY = {
    "neg": (lambda x: -x, None),
    "exp": (ember.exp, None),
    "log": (ember.log, 0.5),
    "sqrt": (ember.sqrt, 0.5),
    "abs": (ember.abs, 0.1),
    "tanh": (ember.tanh, None),
    "sigmoid": (ember.sigmoid, None),
    "relu": (lambda x: x.relu(), None),
    "sin": (ember.sin, None),
    "cos": (ember.cos, None),
    "clamp": (lambda x: x.clamp(min=-0.3, max=0.4), None),
    "clamp_min": (lambda x: x.clamp(min=0), None),
    "pow_scalar": (lambda x: x ** 3, None),
    "pow_two": (lambda x: x ** 2, None),
    "pow_half": (lambda x: x ** 0.5, 0.5),
    "rpow": (lambda x: 2.0 ** x, None),
    "square": (ember.square, None),
    "scalar_arith": (lambda x: (2 * x - 1.5) / 3 + 0.5, None),
    "rdiv": (lambda x: 1.0 / x, 0.5),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_grad(name):
    fn, low = UNARY[name]
    x = rand64(3, 4, low=low, seed=1)
    if name in ("relu", "clamp", "clamp_min", "abs"):
        # keep away from the kinks, where the derivative is not defined
        x = ember.tensor(np.where(np.abs(x.detach().numpy()) < 0.05, 0.5, x.detach().numpy()),
                         dtype=ember.float64, requires_grad=True)
    assert_grad_matches(fn, x)


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "maximum": ember.maximum,
    "minimum": ember.minimum,
    "where": lambda a, b: ember.where(a > b, a, b * 2),
}
SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)), ((), (2, 3))]


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_grad_with_broadcasting(name, shapes):
    a = rand64(*shapes[0], low=0.5 if name == "pow" else None, seed=2)
    b = rand64(*shapes[1], low=0.5 if name in ("div", "pow") else None, seed=3)
    out = BINARY[name](a, b)
    assert tuple(out.shape) == np.broadcast_shapes(shapes[0], shapes[1])
    assert_grad_matches(BINARY[name], a, b)


REDUCE = {
    "sum": lambda x: x.sum(),
    "sum_dim": lambda x: x.sum(dim=1),
    "sum_dims_keep": lambda x: x.sum(dim=(0, 2), keepdim=True),
    "sum_all_keep": lambda x: x.sum(keepdim=True),
    "mean": lambda x: x.mean(),
    "mean_dim_keep": lambda x: x.mean(dim=-1, keepdim=True),
    "var": lambda x: x.var(),
    "var_dim": lambda x: x.var(dim=0, unbiased=False),
    "std_dim": lambda x: x.std(dim=2),
    "max": lambda x: x.max(),
    "max_dim": lambda x: x.max(dim=1).values,
    "min_dim_keep": lambda x: x.min(dim=2, keepdim=True)[0],
    "amax": lambda x: x.amax(dim=(1, 2)),
    "logsumexp": lambda x: x.logsumexp(dim=1),
}


@pytest.mark.parametrize("name", sorted(REDUCE))
def test_reduction_grad(name):
    assert_grad_matches(REDUCE[name], rand64(2, 3, 4, seed=4))


SHAPE_OPS = {
    "reshape": lambda x: x.reshape(4, 6),
    "view_infer": lambda x: x.view(-1, 3),
    "flatten": lambda x: x.flatten(1),
    "unsqueeze_squeeze": lambda x: x.unsqueeze(0).squeeze(0).unsqueeze(-1) * 2,
    "t_of_matrix": lambda x: x[0].t(),
    "transpose": lambda x: x.transpose(0, 2),
    "permute": lambda x: x.permute(2, 0, 1),
    "T": lambda x: x.T,
    "expand": lambda x: x[:, :1, :].expand(2, 5, 4),
    "cat": lambda x: ember.cat([x, x * 2, x[:, :1]], dim=1),
    "stack": lambda x: ember.stack([x, -x], dim=1),
    "split": lambda x: x.split(2, dim=1)[1] * x.chunk(2, dim=1)[0][:, :1],
    "basic_index": lambda x: x[1, 1:, ::2],
    "ellipsis_none": lambda x: x[..., None, 0],
    "int_array_index_with_repeats": lambda x: x[ember.tensor([0, 1, 0, 0])],
    "bool_mask": lambda x: x[x > 0],
    "gather": lambda x: x[0].gather(1, ember.tensor([[0, 3], [1, 1], [2, 0]])),
    "masked_fill": lambda x: x.masked_fill(x < 0, 0.0),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_and_index_grad(name):
    assert_grad_matches(SHAPE_OPS[name], rand64(2, 3, 4, seed=5))


MATMUL = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)),
          ((2, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 5))]


@pytest.mark.parametrize("shapes", MATMUL, ids=str)
def test_matmul_grad(shapes):
    a, b = rand64(*shapes[0], seed=6), rand64(*shapes[1], seed=7)
    assert np.allclose((a @ b).detach().numpy(), a.detach().numpy() @ b.detach().numpy())
    assert_grad_matches(lambda a, b: a @ b, a, b)


def test_pow_exponent_grad_unchanged_by_later_edit_of_output():
    """d(a**b)/db reads a**b: an in-place edit of the result afterwards must not leak into it."""
    a, b = rand64(4, low=0.5, seed=4), rand64(4, seed=5)
    y = a ** b
    y.add_(1.0)
    y.sum().backward()
    a_, b_ = a.detach().numpy(), b.detach().numpy()
    np.testing.assert_allclose(b.grad.numpy(), a_ ** b_ * np.log(a_), rtol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), b_ * a_ ** (b_ - 1), rtol=1e-12)


def test_index_assignment_grad():
    def fn(x, v):
        y = x * 1
        y[0, 1:] = v
        y[y < -0.5] = 0
        return y
    assert_grad_matches(fn, rand64(3, 4, seed=8), rand64(3, seed=9))


def test_two_layer_net_grad_matches_numpy_backprop():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 5)), rng.standard_normal((8, 3))
    w1, w2 = rng.standard_normal((5, 6)), rng.standard_normal((6, 3))
    W1 = ember.tensor(w1, requires_grad=True)
    W2 = ember.tensor(w2, requires_grad=True)
    loss = ((ember.tensor(x).mm(W1).clamp(min=0).mm(W2) - ember.tensor(y)) ** 2).sum()
    loss.backward()
    h = x @ w1
    hr = np.maximum(h, 0)
    g = 2 * (hr @ w2 - y)
    gh = (g @ w2.T) * (h > 0)
    np.testing.assert_allclose(W2.grad.numpy(), hr.T @ g, rtol=1e-5)
    np.testing.assert_allclose(W1.grad.numpy(), x.T @ gh, rtol=1e-5, atol=1e-8)


shapes_pair = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


@settings(max_examples=40, deadline=None)
@given(shapes=shapes_pair, op=st.sampled_from(["add", "sub", "mul", "div", "maximum"]))
def test_broadcast_grads_property(shapes, op):
    """For any broadcastable pair, gradients have the inputs' shapes and match numerics."""
    sa, sb = shapes.input_shapes
    a = rand64(*sa, seed=1)
    b = rand64(*sb, low=0.5, seed=2)
    fn = BINARY[op]
    out = fn(a, b)
    assert tuple(out.shape) == shapes.result_shape
    out.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    a.grad = b.grad = None
    assert_grad_matches(fn, a, b)


@settings(max_examples=30, deadline=None)
@given(arr=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                      elements=st.floats(-10, 10)),
       keepdim=st.booleans(), data=st.data())
def test_sum_mean_match_numpy_property(arr, keepdim, data):
    dim = data.draw(st.integers(-arr.ndim, arr.ndim - 1))
    t = ember.tensor(arr)
    np.testing.assert_allclose(t.sum(dim=dim, keepdim=keepdim).numpy(), arr.sum(axis=dim, keepdims=keepdim))
    np.testing.assert_allclose(t.mean(dim=dim, keepdim=keepdim).numpy(), arr.mean(axis=dim, keepdims=keepdim))


def test_remainder_and_floor_divide():
    a = ember.tensor([5.5, -3.25, 7.0], dtype=ember.float64, requires_grad=True)
    b = ember.tensor([2.0, 2.0, -3.0], dtype=ember.float64, requires_grad=True)
    np.testing.assert_allclose((a % b).detach().numpy(), np.remainder([5.5, -3.25, 7.0], [2.0, 2.0, -3.0]))
    assert (ember.tensor([7, -7]) // 2).tolist() == [3, -4]
    assert (ember.tensor([7, -7]) % 3).tolist() == [1, 2]
    assert_grad_matches(lambda a, b: a % b, a, b)
