"""Ops students reach for after the lecture (issue 13): gather/scatter and index ops, unbind,
prod, cumsum, norms, softmax as a tensor method. Values by hand, gradients against float64
central differences."""
import math

import numpy as np
import pytest

import ember
from helpers import assert_grad_matches, rand64


def idx(*rows):
    return ember.tensor(list(rows), dtype=ember.int64)


# ---- gather and scatter ------------------------------------------------------------------------
def test_gather_values_and_gradient_with_repeated_indices():
    x = ember.arange(12.0).reshape(3, 4).requires_grad_()
    out = ember.gather(x, 1, idx([0, 0], [1, 2]))      # index smaller than x: allowed
    assert out.tolist() == [[0.0, 0.0], [5.0, 6.0]]
    out.sum().backward()
    assert x.grad.tolist() == [[2.0, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    assert x.gather(0, idx([2, 1, 0, 0])).tolist() == [[8.0, 5.0, 2.0, 3.0]]
    assert_grad_matches(lambda x: x.gather(-1, idx([3, 3, 0], [1, 2, 2])), rand64(2, 4, seed=0))
    assert ember.gather(ember.tensor(5.0), 0, ember.tensor(0)).item() == 5.0
    assert ember.gather(x, 1, ember.zeros(3, 0, dtype=ember.int64)).shape == (3, 0)


@pytest.mark.parametrize("dim,index,err,match", [
    (1, [[4]], IndexError, "index 4 is out of bounds for dimension 1 with size 4"),
    (1, [[-1]], IndexError, "index -1 is out of bounds"),
    (0, [[0, 1, 2, 0, 1]], ValueError, "no larger than the input"),
], ids=["too_big", "negative", "too_wide"])
def test_gather_refuses_bad_indices(dim, index, err, match):
    x = ember.ones(3, 4)
    with pytest.raises(err, match=match):
        ember.gather(x, dim, idx(*index))
    with pytest.raises(RuntimeError):  # PyTorch raises RuntimeError for all three
        ember.gather(x, dim, idx(*index))


def test_gather_refuses_float_index_and_wrong_rank():
    x = ember.ones(3, 4)
    with pytest.raises(TypeError, match="dtype int64"):
        ember.gather(x, 1, ember.tensor([[0.0]]))
    with pytest.raises(ValueError, match="same number of dimensions"):
        ember.gather(x, 1, idx(0, 1))


def test_scatter_and_scatter_add_values():
    z = ember.zeros(3, 4)
    out = z.scatter(1, idx([0, 0], [1, 2]), ember.full((2, 2), 5.0))
    assert out.tolist() == [[5.0, 0, 0, 0], [0, 5.0, 5.0, 0], [0, 0, 0, 0]]
    assert z.scatter(1, idx([0, 1], [1, 2]), 7.0).tolist()[1] == [0, 7.0, 7.0, 0]
    added = z.scatter_add(1, idx([0, 0], [1, 2]), ember.ones(2, 3))   # src larger than index
    assert added.tolist() == [[2.0, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    assert z.tolist() == [[0.0] * 4] * 3                                # out of place
    z.scatter_(1, idx([0, 0], [1, 2]), 2.0, reduce="add")
    assert z.tolist()[0] == [4.0, 0, 0, 0]
    z.scatter_add_(0, idx([2, 2, 2, 2]), ember.ones(1, 4))
    assert z.tolist()[2] == [1.0] * 4
    with pytest.raises(ValueError, match="no larger than src"):
        z.scatter(1, idx([0, 0], [1, 2]), ember.ones(1, 1))


def test_scatter_gradients():
    index = idx([0, 2], [1, 3], [3, 0])
    assert_grad_matches(lambda x, s: x.scatter(1, index, s), rand64(3, 4, seed=1), rand64(3, 3, seed=2))
    assert_grad_matches(lambda x, s: x.scatter_add(0, idx([0, 2, 2], [1, 1, 0]), s),
                        rand64(3, 3, seed=3), rand64(2, 3, seed=4))


def test_scatter_in_place_on_a_computed_tensor_is_recorded():
    def fn(x, s):
        y = x * 1.0
        y.scatter_(1, idx([1], [0]), s)
        return y * x
    assert_grad_matches(fn, rand64(2, 3, seed=5), rand64(2, 1, seed=6))


# ---- index_select, index_add, unbind -----------------------------------------------------------
def test_index_select_and_its_gradient():
    x = ember.arange(12.0).reshape(3, 4)
    assert x.index_select(0, idx(2, 0, 2)).tolist() == [[8.0, 9, 10, 11], [0, 1, 2, 3], [8, 9, 10, 11]]
    assert ember.index_select(x, 1, ember.tensor(2)).tolist() == [[2.0], [6.0], [10.0]]
    assert_grad_matches(lambda x: x.index_select(1, idx(3, 0, 3)), rand64(2, 4, seed=7))
    with pytest.raises(IndexError, match="vector"):
        x.index_select(1, idx([2]))
    with pytest.raises(IndexError, match="out of bounds"):
        x.index_select(1, idx(4))


def test_index_add_values_alpha_and_gradient():
    z = ember.zeros(5, 3)
    z.index_add_(0, idx(0, 4, 0), ember.ones(3, 3), alpha=2)
    assert z[:, 0].tolist() == [4.0, 0, 0, 0, 2.0]
    assert ember.zeros(2, 3).index_add(1, idx(0, 2), ember.ones(2, 2)).tolist() == [[1.0, 0, 1]] * 2
    assert_grad_matches(lambda x, s: x.index_add(0, idx(1, 1, 0), s, alpha=3.0),
                        rand64(2, 3, seed=8), rand64(3, 3, seed=9))
    with pytest.raises(ValueError, match="source must have shape"):
        ember.zeros(5, 3).index_add_(0, idx(0, 1), ember.ones(3, 3))


def test_unbind_gives_views_along_a_dim():
    x = ember.arange(6.0).reshape(2, 3)
    cols = x.unbind(1)
    assert len(cols) == 3 and cols[1].tolist() == [1.0, 4.0]
    assert [r.tolist() for r in ember.unbind(x)] == [[0.0, 1, 2], [3.0, 4, 5]]
    assert_grad_matches(lambda x: x.unbind(1)[0] * x.unbind(1)[2], rand64(2, 3, seed=10))


# ---- prod, cumsum ------------------------------------------------------------------------------
def test_prod_values_dtypes_and_gradients_with_zeros():
    assert ember.tensor([[2, 3], [4, 5]]).prod().item() == 120
    p = ember.tensor([[2, 3], [4, 5]], dtype=ember.int32).prod(0)
    assert p.tolist() == [8, 15] and p.dtype == ember.int64
    assert ember.tensor([True, False]).prod().dtype == ember.int64
    z = ember.tensor([[0.0, 2, 3], [0, 0, 1]], requires_grad=True)
    z.prod(1).sum().backward()
    assert z.grad.tolist() == [[6.0, 0, 0], [0, 0, 0]]      # exact where x has zeros
    z.grad = None
    z[0].prod().backward()
    assert z.grad.tolist() == [[6.0, 0, 0], [0, 0, 0]]
    assert_grad_matches(lambda x: x.prod(1, keepdim=True), rand64(3, 4, seed=11))
    assert_grad_matches(lambda x: x.prod(), rand64(2, 3, seed=12))


def test_cumsum_values_dtypes_and_gradient():
    assert ember.tensor([True, False, True]).cumsum(0).tolist() == [1, 1, 2]
    assert ember.tensor([[2, 3], [4, 5]], dtype=ember.int32).cumsum(0).dtype == ember.int64
    assert ember.arange(4.0).cumsum(dim=0).tolist() == [0.0, 1.0, 3.0, 6.0]
    assert_grad_matches(lambda x: ember.cumsum(x, -1), rand64(3, 4, seed=13))
    assert_grad_matches(lambda x: x.cumsum(0), rand64(3, 4, seed=14))


# ---- norms -------------------------------------------------------------------------------------
def test_norm_values():
    x = ember.arange(12.0).reshape(3, 4)
    np.testing.assert_allclose(x.norm().item(), math.sqrt(sum(i * i for i in range(12))), rtol=1e-6)
    np.testing.assert_allclose(x.norm(dim=1).numpy(), np.sqrt([14.0, 126.0, 366.0]), rtol=1e-6)
    assert x.norm(p=1).item() == 66.0 and x.norm(p=math.inf).item() == 11.0
    assert x.norm(1, dim=0, keepdim=True).tolist() == [[12.0, 15.0, 18.0, 21.0]]
    assert ember.linalg.norm(x, ord=1).item() == 21.0        # largest column sum
    assert ember.linalg.norm(x, ord=-1).item() == 12.0
    assert ember.linalg.norm(x, ord=math.inf).item() == 38.0  # largest row sum
    assert ember.linalg.vector_norm(x, ord=0).item() == 11.0
    np.testing.assert_allclose(ember.linalg.norm(ember.tensor([1.0, -2.0, 2.0]), ord=3).item(),
                               17 ** (1 / 3), rtol=1e-6)
    with pytest.raises(RuntimeError, match="floating point"):
        ember.tensor([1, 2]).norm()
    with pytest.raises(NotImplementedError, match="singular values"):
        ember.linalg.norm(x, ord="nuc")


@pytest.mark.parametrize("p", [2, 1, 3, 0.5, math.inf, -math.inf])
def test_vector_norm_gradients(p):
    x = rand64(3, 4, low=0.1, seed=15) * ember.tensor([1.0, -1, 1, -1], dtype=ember.float64)
    assert_grad_matches(lambda x: ember.linalg.vector_norm(x, ord=p, dim=1), x.detach().requires_grad_())


def test_norm_gradient_is_zero_at_the_zero_vector():
    w = ember.tensor([[0.0, 0, 0], [3, -4, 0]], requires_grad=True)
    ember.linalg.vector_norm(w, dim=1).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [[0, 0, 0], [0.6, -0.8, 0]], rtol=1e-6)


def test_matrix_norm_gradients():
    x = rand64(3, 4, seed=16)
    assert_grad_matches(lambda x: ember.linalg.norm(x, ord=1), x)
    assert_grad_matches(lambda x: ember.linalg.norm(x, ord=math.inf), x)
    assert_grad_matches(lambda x: ember.linalg.norm(x, ord="fro"), x)


# ---- softmax on tensors ------------------------------------------------------------------------
def test_softmax_and_log_softmax_as_tensor_methods_and_functions():
    x = ember.tensor([[1.0, 2.0, 3.0]])
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(x.softmax(1).numpy()[0], e / e.sum(), rtol=1e-6)
    np.testing.assert_allclose(ember.softmax(x, dim=-1).numpy()[0], e / e.sum(), rtol=1e-6)
    np.testing.assert_allclose(x.log_softmax(1).numpy()[0], np.log(e / e.sum()), rtol=1e-6)
    np.testing.assert_allclose(ember.log_softmax(x, 1).numpy()[0], np.log(e / e.sum()), rtol=1e-6)
    assert ember.softmax(ember.tensor([1, 2]), 0, dtype=ember.float64).dtype == ember.float64
    with pytest.raises(TypeError):
        x.softmax()
    assert_grad_matches(lambda x: x.softmax(0) * x.log_softmax(1), rand64(3, 4, seed=17))


# ---- more elementwise functions ------------------------------------------------------------------
def test_rounding_functions_values_and_zero_gradient():
    x = ember.tensor([-1.5, 0.5, 2.5, 0.7], dtype=ember.float64, requires_grad=True)
    assert x.floor().tolist() == [-2.0, 0.0, 2.0, 0.0]
    assert x.ceil().tolist() == [-1.0, 1.0, 3.0, 1.0]
    assert x.round().tolist() == [-2.0, 0.0, 2.0, 1.0]       # halves to even
    assert x.trunc().tolist() == [-1.0, 0.0, 2.0, 0.0]
    (x.floor() + x.ceil() + x.round() + x.trunc() + x).sum().backward()
    assert x.grad.tolist() == [1.0] * 4
    i = ember.tensor([1, 4])
    assert i.floor().dtype == ember.int64 and i.floor().tolist() == [1, 4]


def test_log1p_expm1_rsqrt_reciprocal_and_integer_inputs():
    x = rand64(5, low=0.1, seed=20)
    v = x.detach().numpy()
    np.testing.assert_allclose(x.log1p().detach().numpy(), np.log1p(v))
    np.testing.assert_allclose(x.expm1().detach().numpy(), np.expm1(v))
    np.testing.assert_allclose(x.rsqrt().detach().numpy(), 1 / np.sqrt(v))
    np.testing.assert_allclose(x.reciprocal().detach().numpy(), 1 / v)
    assert_grad_matches(lambda x: x.log1p() * x.expm1() + x.rsqrt() + x.reciprocal(), x)
    i = ember.tensor([1, 4, 9])
    for out in (i.sqrt(), i.exp(), i.log1p(), i.sigmoid(), i.rsqrt(), i.reciprocal()):
        assert out.dtype == ember.float32       # integers give the default float dtype
    assert i.sqrt().tolist() == [1.0, 2.0, 3.0]
    assert i.abs().dtype == i.neg().dtype == i.relu().dtype == ember.int64
    assert i.clamp_min(3).tolist() == [3, 4, 9] and i.clamp_max(3).tolist() == [1, 3, 3]


def test_inplace_unary_methods():
    x = rand64(2, 3, seed=21)

    def fn(x):
        y = x * 1.0
        y.exp_()
        y[0].tanh_()
        return y.neg_()
    assert_grad_matches(fn, x)
    with pytest.raises(RuntimeError, match="exp_.*int64"):
        ember.tensor([1, 2]).exp_()
    assert ember.tensor([-2, 3]).abs_().tolist() == [2, 3]


# ---- flip, repeat, narrow, select, movedim -----------------------------------------------------
def test_flip_repeat_narrow_select_movedim_values():
    x = ember.tensor([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, -1.0]])
    assert x.flip(0, 1).tolist() == [[-1.0, 5.0, 5.0, 0.0], [1.0, 2.0, 1.0, 3.0]]
    assert ember.flip(x, [1]).tolist()[0] == [1.0, 2.0, 1.0, 3.0]
    assert x.repeat(1, 2, 1).shape == (1, 4, 4)
    assert ember.tensor([1, 2]).repeat(3).tolist() == [1, 2, 1, 2, 1, 2]
    with pytest.raises(ValueError, match="repeat"):
        x.repeat(2)
    assert x.narrow(1, -2, 2).tolist() == [[2.0, 1.0], [5.0, -1.0]]
    assert x.select(1, 2).tolist() == [2.0, 5.0]
    assert x.movedim(0, 1).tolist() == x.t().tolist() == x.swapaxes(0, 1).tolist()
    assert ember.rand(2, 3, 4).movedim((0, 1), (2, 0)).shape == (3, 4, 2)
    n = x.narrow(1, 0, 2)
    n[0, 0] = 9.0                               # narrow and select are views
    assert x[0, 0].item() == 9.0


def test_flip_repeat_narrow_gradients():
    assert_grad_matches(lambda x: x.flip(1) * x, rand64(2, 3, seed=22))
    assert_grad_matches(lambda x: x.repeat(2, 3), rand64(2, 3, seed=23))
    assert_grad_matches(lambda x: x.repeat(2, 1, 2), rand64(2, 3, seed=24))
    assert_grad_matches(lambda x: x.narrow(0, 1, 1) * x.select(1, 0).unsqueeze(1), rand64(2, 3, seed=25))


# ---- sort, topk, nonzero -----------------------------------------------------------------------
def test_sort_argsort_topk_values_indices_and_gradient():
    x = ember.tensor([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, -1.0]])
    values, indices = x.sort()
    assert values.tolist() == [[1.0, 1.0, 2.0, 3.0], [-1.0, 0.0, 5.0, 5.0]]
    assert indices.tolist() == [[1, 3, 2, 0], [3, 0, 1, 2]]      # ties keep their order
    assert x.sort(0, descending=True).indices.tolist() == [[0, 1, 1, 0], [1, 0, 0, 1]]
    assert x.argsort(dim=1, descending=True).tolist() == [[0, 2, 1, 3], [1, 2, 0, 3]]
    top = x.topk(2)
    assert top.values.tolist() == [[3.0, 2.0], [5.0, 5.0]] and top.indices.tolist() == [[0, 2], [1, 2]]
    assert x.topk(1, dim=0, largest=False).indices.tolist() == [[1, 0, 0, 1]]
    with pytest.raises(IndexError, match="topk"):
        x.topk(5)
    y = ember.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], requires_grad=True)
    (y.topk(2).values * ember.tensor([1.0, 10.0])).sum().backward()
    assert y.grad.tolist() == [[1.0, 0.0, 10.0], [0.0, 1.0, 10.0]]
    assert_grad_matches(lambda x: x.sort(1, descending=True)[0] * ember.arange(4.0).double(),
                        rand64(3, 4, seed=26))


def test_nonzero_and_where_with_only_a_condition():
    x = ember.tensor([[3.0, 0.0], [0.0, -1.0]])
    assert x.nonzero().tolist() == [[0, 0], [1, 1]] and x.nonzero().dtype == ember.int64
    rows, cols = ember.nonzero(x, as_tuple=True)
    assert rows.tolist() == [0, 1] and cols.tolist() == [0, 1]
    assert [t.tolist() for t in ember.where(x > 0)] == [[0], [0]]
    assert ember.tensor(5.0).nonzero().shape == (1, 0)


# ---- new_* and type_as -------------------------------------------------------------------------
def test_new_tensor_methods_take_dtype_and_device_from_self():
    x = ember.ones(2, dtype=ember.float64)
    assert x.new_zeros(2, 3).dtype == ember.float64 and x.new_zeros(2, 3).shape == (2, 3)
    assert x.new_ones((2,)).tolist() == [1.0, 1.0]
    assert x.new_full((2,), 7).tolist() == [7.0, 7.0]
    assert x.new_tensor([1, 2]).dtype == ember.float64
    assert x.new_zeros(2, dtype=ember.int64).dtype == ember.int64
    assert ember.tensor([1, 2]).type_as(x).dtype == ember.float64
    assert not x.new_zeros(2).requires_grad and x.new_zeros(2, requires_grad=True).requires_grad
