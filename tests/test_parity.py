"""PyTorch semantics students rely on without seeing them: views and contiguity, gradients at ties
and kinks, type promotion, integer division, optimizer state and error types (issue 13).
Expected values are computed by hand here (the project's tests don't import torch)."""
import numpy as np
import pytest

import ember
from ember import optim
from helpers import assert_grad_matches, rand64


# ---- views and contiguity ----------------------------------------------------------------------
def test_view_of_a_transposed_tensor_raises_and_reshape_copies():
    x = ember.arange(6.0).reshape(2, 3)
    with pytest.raises(RuntimeError, match="view size is not compatible.*reshape"):
        x.transpose(0, 1).view(-1)
    with pytest.raises(RuntimeError, match="view size"):
        x[:, 0:2].view(4)
    y = x.t().reshape(-1)            # a copy: writing to it leaves x alone
    y[0] = 100.0
    assert x[0, 0].item() == 0.0
    assert y.tolist() == [100.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    z = x.view(-1)                   # a real view: writes reach x
    z[1] = 7.0
    assert x[0, 1].item() == 7.0
    assert x.t().contiguous().view(-1).tolist() == [0.0, 3.0, 7.0, 4.0, 2.0, 5.0]
    assert x.t().view(3, 2).shape == (3, 2)   # same shape: nothing to rearrange


def test_is_contiguous_follows_the_memory_layout():
    x = ember.arange(12.0).reshape(3, 4)
    assert x.is_contiguous() and x[1].is_contiguous() and x[1:].is_contiguous()
    assert not x.t().is_contiguous()
    assert not x[:, :2].is_contiguous() and not x[:, :1].is_contiguous()
    assert not x.expand(2, 3, 4).is_contiguous()
    assert x[:, [0, 1]].is_contiguous()          # advanced indexing makes a fresh tensor
    assert not (x.t() * 2).is_contiguous()       # elementwise ops keep the layout, as in PyTorch
    c = x.t().contiguous()
    assert c.is_contiguous() and c.tolist() == x.numpy().T.tolist()
    assert x.contiguous() is x


def test_contiguous_copy_stays_in_the_graph():
    x = rand64(3, 4, seed=0)
    assert_grad_matches(lambda x: x.t().contiguous().view(-1) * ember.arange(12.0).double(), x)


# ---- gradients at ties and kinks ---------------------------------------------------------------
def test_max_and_min_over_a_dim_give_the_gradient_to_the_returned_index():
    y = ember.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 1.0]], requires_grad=True)
    values, idx = y.max(1)
    assert idx.tolist() == [1, 0] and values.tolist() == [3.0, 2.0]
    (values * ember.tensor([10.0, 20.0])).sum().backward()
    assert y.grad.tolist() == [[0.0, 10.0, 0.0], [20.0, 0.0, 0.0]]
    y.grad = None
    values, idx = y.min(0, keepdim=True)
    assert idx.tolist() == [[0, 1, 1]] and values.shape == (1, 3)
    values.sum().backward()
    assert y.grad.tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]
    y.grad = None
    y.max().backward()                           # the whole-tensor max still shares ties
    assert y.grad.tolist() == [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]]


def test_max_over_a_dim_gradient_without_ties():
    x = rand64(3, 4, 5, seed=2)
    assert_grad_matches(lambda x: x.max(1)[0], x)
    assert_grad_matches(lambda x: x.min(-1, keepdim=True).values, x)


def test_sign_has_a_zero_gradient_and_x_to_the_zero_has_zero_gradient_at_zero():
    x = ember.tensor([0.0, 1.5, -2.0], dtype=ember.float64, requires_grad=True)
    (x.sign() * 3 + x).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]
    assert ember.sign(x).tolist() == [0.0, 1.0, -1.0]
    x.grad = None
    (x ** 0.0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    x.grad = None
    (x ** ember.tensor([0.0, 2.0, 0.0], dtype=ember.float64)).sum().backward()
    assert x.grad.tolist() == [0.0, 3.0, 0.0]


# ---- dtypes ------------------------------------------------------------------------------------
def test_true_division_of_integers_gives_the_default_float_dtype():
    i = ember.tensor([1, 2, 3])
    for q in (i / 2, i / i, 2 / i, i / 2.0, ember.div(i, ember.tensor([2, 2, 2]))):
        assert q.dtype == ember.float32
    assert (i / 2).tolist() == [0.5, 1.0, 1.5]
    assert ember.tensor([True, False]).div(ember.tensor([True, True])).dtype == ember.float32
    assert ember.div(-i, 2, rounding_mode="trunc").tolist() == [0, -1, -1]
    assert ember.div(-i, 2, rounding_mode="floor").tolist() == [-1, -1, -2]


def test_zero_dim_tensors_promote_only_across_categories():
    f32 = ember.ones(3)
    i64 = ember.tensor([1, 2, 3])
    assert (f32 * ember.tensor(2.0, dtype=ember.float64)).dtype == ember.float32
    assert (i64 * ember.tensor(2.5, dtype=ember.float64)).dtype == ember.float64
    assert (i64 * ember.tensor(2, dtype=ember.int32)).dtype == ember.int64
    assert (ember.ones(3, dtype=ember.int32) * ember.tensor(2)).dtype == ember.int32
    assert (ember.ones(3, dtype=ember.float16) * ember.tensor(2)).dtype == ember.float16
    assert (ember.tensor([True]) * ember.tensor(3)).dtype == ember.int64
    # two 0-d tensors, or two with dimensions: the wider type wins
    assert (ember.tensor(1.0) * ember.tensor(2.0, dtype=ember.float64)).dtype == ember.float64
    assert (f32 * ember.ones(3, dtype=ember.float64)).dtype == ember.float64


@pytest.mark.parametrize("expr", ["i // 0", "i % 0", "i // ember.tensor([0, 1, 1])",
                                  "ember.remainder(i, 0)", "ember.floor_divide(i, 0)"])
def test_integer_division_by_zero_raises(expr):
    i = ember.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        eval(expr)
    with pytest.raises(ZeroDivisionError):
        eval(expr)


def test_float_division_by_zero_gives_inf():
    with np.errstate(divide="ignore"):
        assert (ember.ones(2) // 0).tolist() == [float("inf")] * 2
        assert (ember.tensor([1, 2]) / 0).tolist() == [float("inf")] * 2


def test_where_takes_python_numbers():
    c = ember.tensor([True, False, True])
    r = ember.where(c, 1.0, -1.0)
    assert r.dtype == ember.float32 and r.tolist() == [1.0, -1.0, 1.0]
    r = ember.where(c, 1, -1)
    assert r.dtype == ember.int64 and r.tolist() == [1, -1, 1]
    assert ember.where(c, 1, -1.5).dtype == ember.float32
    x = rand64(3, seed=3)
    assert_grad_matches(lambda x: ember.where(c, x, 0.0) + ember.where(c, 2.0, x), x)


# ---- optimizer state ---------------------------------------------------------------------------
@pytest.mark.parametrize("make,keys", [
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), ["momentum_buffer"]),
    (lambda ps: optim.Adam(ps, lr=0.1, amsgrad=True), ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]),
    (lambda ps: optim.RMSprop(ps, lr=0.1, momentum=0.5, centered=True),
     ["square_avg", "momentum_buffer", "grad_avg"]),
    (lambda ps: optim.Adagrad(ps, lr=0.1), ["sum"]),
], ids=["sgd", "adam", "rmsprop", "adagrad"])
def test_optimizer_state_entries_are_tensors_on_the_parameter_device(make, keys):
    p = ember.tensor([1.0, -2.0], requires_grad=True)
    opt = make([p])
    for _ in range(2):
        p.grad = ember.tensor([0.5, 0.25])
        opt.step()
    state = opt.state[p]
    for k in keys:
        assert isinstance(state[k], ember.Tensor), k
        assert state[k].device == p.device and state[k].dtype == p.dtype and state[k].shape == (2,)
    if "step" in state:
        assert isinstance(state["step"], ember.Tensor) and state["step"].item() == 2
    if "exp_avg" in state:   # m = 0.1 g + 0.9 (0.1 g): the same gradient twice
        np.testing.assert_allclose(state["exp_avg"].numpy(), [0.095, 0.0475], rtol=1e-6)
    if "momentum_buffer" in state and isinstance(opt, optim.SGD):
        np.testing.assert_allclose(state["momentum_buffer"].numpy(), [0.95, 0.475], rtol=1e-6)
    opt2 = make([p])
    opt2.load_state_dict(opt.state_dict())
    for k in keys:
        assert isinstance(opt2.state[p][k], ember.Tensor)
        np.testing.assert_array_equal(opt2.state[p][k].numpy(), state[k].numpy())


# ---- error types -------------------------------------------------------------------------------
@pytest.mark.parametrize("code", [
    "ember.tensor([1, 2]).requires_grad_()",
    "ember.tensor([1, 2]).mean()",
    "j = ember.tensor([1, 2]); j += 1.5",
    "j = ember.tensor([1, 2]); j /= 2",
    "ember.ones(2, 3) + ember.ones(4)",
    "ember.ones(2, 3) @ ember.ones(2, 3)",
    "ember.ones(6).reshape(4, 2)",
    "ember.nn.Linear(3, 2)(ember.ones(2, 3, dtype=ember.float64))",
    "ember.ones(2, 3).expand(3, 3)",
    "ember.div(ember.ones(2), 2, rounding_mode='up')",
    "ember.ones(2).clamp()",
    "ember.ones(0).max()",
    "ember.stack([])",
    "ember.ones(2, 3).narrow(1, 2, 2)",
    "ember.ones(2, 3).topk(4)",
    "ember.linalg.matrix_norm(ember.ones(3))",
    "ember.ones(2, 3).gather(1, ember.tensor([[3]]))",
])
def test_errors_are_runtime_errors_where_pytorch_raises_runtime_error(code):
    with pytest.raises(RuntimeError) as info:
        exec(code, {"ember": ember})
    assert isinstance(info.value, ember.EmberError)


@pytest.mark.parametrize("code", ["m - m", "m - 1", "1.5 - m", "ember.ones(2) - m", "m - True",
                                  "ember.sub(ember.ones(2), m)"])
def test_subtracting_bool_tensors_raises_and_points_to_logical_not(code):
    m = ember.tensor([True, False])
    with pytest.raises(RuntimeError, match="logical_not"):
        eval(code)
    assert (~m).tolist() == [False, True]
