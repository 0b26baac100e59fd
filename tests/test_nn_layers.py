"""ember.nn layers: forward values against numpy references written here, gradients against
finite differences (float64), train/eval behaviour and error messages."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.errors import DTypeError, ShapeError
from helpers import assert_grad_matches, assert_module_grads, rand64


def f64(module):
    ember.manual_seed(0)
    return module.double()


def arr(t):
    return t.detach().numpy()


# ---- Linear -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3), (3,)])
def test_linear_matches_numpy_and_gradcheck(shape):
    lin = f64(nn.Linear(3, 2))
    x = rand64(*shape, seed=1)
    expected = arr(x) @ arr(lin.weight).T + arr(lin.bias)
    np.testing.assert_allclose(arr(lin(x)), expected, rtol=1e-12)
    assert_module_grads(lin, x)


def test_linear_without_bias():
    lin = f64(nn.Linear(3, 2, bias=False))
    x = rand64(4, 3, seed=2)
    assert lin.bias is None and len(list(lin.parameters())) == 1
    np.testing.assert_allclose(arr(lin(x)), arr(x) @ arr(lin.weight).T, rtol=1e-12)
    assert_module_grads(lin, x)


def test_linear_default_init_is_uniform_within_one_over_sqrt_fan_in():
    ember.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = arr(lin.weight), arr(lin.bias)
    assert w.shape == (300, 400) and b.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # a uniform on [-bound, bound] has std bound / sqrt(3) and fills the interval
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert np.abs(w).max() > 0.99 * bound


def test_init_is_repeatable_with_manual_seed():
    ember.manual_seed(7)
    a = nn.Linear(5, 4)
    ember.manual_seed(7)
    b = nn.Linear(5, 4)
    np.testing.assert_array_equal(arr(a.weight), arr(b.weight))


def test_linear_grad_fn_is_one_node():
    lin = nn.Linear(3, 2)
    out = lin(ember.randn(4, 3))
    assert out.grad_fn.name() == "AddmmBackward0"
    assert nn.Linear(3, 2, bias=False)(ember.randn(4, 3)).grad_fn.name() == "MmBackward0"


def test_functional_linear_errors():
    with pytest.raises(ShapeError, match=r"input of shape \(4, 2\) can't be multiplied by a "
                                         r"weight of shape \(5, 3\)"):
        F.linear(ember.randn(4, 2), ember.randn(5, 3))
    with pytest.raises(DTypeError, match=r"input is ember.int64 but weight is ember.float32; "
                                         r"they must match. Convert the input \(x.float\(\)\)\.$"):
        nn.Linear(3, 2)(ember.ones(4, 3, dtype=ember.int64))    # not "model.to(int64)"


# ---- activations --------------------------------------------------------------------------
def _np_softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("layer, reference", [
    (nn.ReLU(), lambda a: np.maximum(a, 0)),
    (nn.LeakyReLU(0.2), lambda a: np.where(a > 0, a, 0.2 * a)),
    (nn.Sigmoid(), lambda a: 1 / (1 + np.exp(-a))),
    (nn.Tanh(), np.tanh),
    (nn.Softmax(dim=1), lambda a: _np_softmax(a, 1)),
    (nn.Softmax(dim=0), lambda a: _np_softmax(a, 0)),
    (nn.LogSoftmax(dim=1), lambda a: np.log(_np_softmax(a, 1))),
    (nn.Identity(), lambda a: a),
])
def test_activations_match_numpy_and_gradcheck(layer, reference):
    x = rand64(4, 5, seed=3)
    np.testing.assert_allclose(arr(layer(x)), reference(arr(x)), rtol=1e-10, atol=1e-12)
    assert_grad_matches(layer, x)


def test_softmax_and_log_softmax_are_stable_for_huge_logits():
    x = ember.tensor([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 999.0]], requires_grad=True)
    s = F.softmax(x, dim=1)
    ls = F.log_softmax(x, dim=1)
    assert np.isfinite(arr(s)).all() and np.isfinite(arr(ls)).all()
    np.testing.assert_allclose(arr(s)[0], [1, 0, 0], atol=1e-6)
    e = math.exp(-1)
    np.testing.assert_allclose(arr(ls)[1], np.log([1 / (2 + e), 1 / (2 + e), e / (2 + e)]),
                               rtol=1e-5)
    ls.sum().backward()
    assert np.isfinite(arr(x.grad)).all()


def test_softmax_without_dim_warns_like_pytorch():
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        s = F.softmax(ember.randn(3, 4))
    np.testing.assert_allclose(arr(s).sum(axis=1), 1, rtol=1e-6)


def test_relu_inplace_and_leaky_relu_slope_in_backward():
    x = ember.tensor([-2.0, 3.0])
    assert F.relu(x, inplace=True) is x and x.tolist() == [0.0, 3.0]
    y = ember.tensor([-2.0, 3.0], requires_grad=True)
    F.leaky_relu(y, 0.1).sum().backward()
    np.testing.assert_allclose(arr(y.grad), [0.1, 1.0])


# ---- Dropout ------------------------------------------------------------------------------
def test_dropout_train_zeros_and_rescales_eval_is_identity():
    drop = nn.Dropout(p=0.25)
    x = ember.ones(200, 100)
    ember.manual_seed(0)
    out = arr(drop(x))
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)
    drop.eval()
    assert drop(x) is x


def test_dropout_is_repeatable_with_manual_seed_and_gradient_uses_the_mask():
    x = rand64(6, 7, seed=4)
    ember.manual_seed(3)
    a = F.dropout(x, 0.5)
    ember.manual_seed(3)
    b = F.dropout(x, 0.5)
    np.testing.assert_array_equal(arr(a), arr(b))
    a.sum().backward()
    np.testing.assert_allclose(arr(x.grad), arr(a) / arr(x), rtol=1e-12)

    def seeded(t):
        ember.manual_seed(5)
        return F.dropout(t, 0.3)
    x.grad = None
    assert_grad_matches(seeded, x)


def test_dropout_rejects_bad_p():
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)


# ---- BatchNorm ----------------------------------------------------------------------------
def _np_batchnorm(a, w, b, axes, eps=1e-5):
    mean = a.mean(axis=axes, keepdims=True)
    var = a.var(axis=axes, keepdims=True)
    shape = (1, -1) + (1,) * (a.ndim - 2)
    return (a - mean) / np.sqrt(var + eps) * w.reshape(shape) + b.reshape(shape)


@pytest.mark.parametrize("cls, shape, axes", [
    (nn.BatchNorm1d, (6, 3), (0,)),
    (nn.BatchNorm1d, (4, 3, 5), (0, 2)),
    (nn.BatchNorm2d, (4, 3, 2, 3), (0, 2, 3)),
])
def test_batchnorm_training_matches_numpy_and_updates_running_stats(cls, shape, axes):
    bn = f64(cls(3, momentum=0.3))
    with ember.no_grad():
        bn.weight.copy_(ember.tensor([0.5, 2.0, -1.0]))
        bn.bias.copy_(ember.tensor([0.1, 0.0, 3.0]))
    x = rand64(*shape, seed=5)
    a = arr(x)
    np.testing.assert_allclose(arr(bn(x)), _np_batchnorm(a, arr(bn.weight), arr(bn.bias), axes),
                               rtol=1e-10, atol=1e-12)
    n = a.size // 3
    np.testing.assert_allclose(arr(bn.running_mean), 0.3 * a.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(arr(bn.running_var), 0.7 + 0.3 * a.var(axis=axes) * n / (n - 1),
                               rtol=1e-12)
    assert bn.num_batches_tracked.item() == 1
    assert_module_grads(bn, x)


def test_batchnorm_eval_uses_running_stats():
    bn = f64(nn.BatchNorm2d(2))
    for seed in range(3):
        bn(rand64(4, 2, 3, 3, seed=seed, requires_grad=False))
    bn.eval()
    rm, rv = arr(bn.running_mean).copy(), arr(bn.running_var).copy()
    x = rand64(2, 2, 3, 3, seed=9)
    expected = (arr(x) - rm.reshape(1, 2, 1, 1)) / np.sqrt(rv.reshape(1, 2, 1, 1) + 1e-5)
    np.testing.assert_allclose(arr(bn(x)), expected, rtol=1e-10)
    np.testing.assert_array_equal(arr(bn.running_mean), rm)  # eval leaves them alone
    assert bn.num_batches_tracked.item() == 3
    assert_module_grads(bn, x)


def test_batchnorm_cumulative_average_and_no_tracking():
    bn = f64(nn.BatchNorm1d(2, momentum=None))
    batches = [rand64(5, 2, seed=s, requires_grad=False) for s in range(3)]
    for b in batches:
        bn(b)
    expected = np.mean([arr(b).mean(axis=0) for b in batches], axis=0)
    np.testing.assert_allclose(arr(bn.running_mean), expected, rtol=1e-12)

    free = f64(nn.BatchNorm1d(2, affine=False, track_running_stats=False))
    assert list(free.parameters()) == [] and free.running_mean is None
    free.eval()
    x = rand64(5, 2, seed=1)
    np.testing.assert_allclose(arr(free(x)), _np_batchnorm(arr(x), np.ones(2), np.zeros(2), (0,)),
                               rtol=1e-10)
    assert_grad_matches(free, x)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_second_derivatives(training):
    x, w, b = rand64(4, 3, 2, seed=21), rand64(3, seed=22), rand64(3, seed=23)
    rm = ember.tensor([0.1, -0.2, 0.3], dtype=ember.float64)
    rv = ember.tensor([0.5, 1.5, 2.0], dtype=ember.float64)
    assert ember.autograd.gradgradcheck(
        lambda a, k, c: F.batch_norm(a, rm, rv, k, c, training=training, momentum=0.0), (x, w, b))
    cnn = f64(nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 1)))
    cnn.train(training)
    assert ember.autograd.gradgradcheck(lambda a: cnn(a), (rand64(2, 2, 4, 4, seed=24),))


def test_batchnorm_errors():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(ember.randn(1, 3))
    with pytest.raises(ShapeError, match=r"BatchNorm2d\(3, .*\) expected a 4-d"):
        nn.BatchNorm2d(3)(ember.randn(4, 3))
    with pytest.raises(ShapeError, match="channels\\) must be 3"):
        nn.BatchNorm1d(3)(ember.randn(4, 5))


def test_flatten():
    x = rand64(2, 3, 4, 5, seed=8)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert_grad_matches(nn.Flatten(), x)


# ---- Embedding ----------------------------------------------------------------------------
def test_embedding_looks_up_rows_and_accumulates_repeated_indices():
    emb = f64(nn.Embedding(6, 3))
    idx = ember.tensor([[1, 4, 1], [0, 1, 5]])
    np.testing.assert_array_equal(arr(emb(idx)), arr(emb.weight)[arr(idx)])
    assert_module_grads(emb, idx)
    emb.weight.grad = None
    emb(idx).sum().backward()
    np.testing.assert_array_equal(arr(emb.weight.grad)[:, 0], [1, 3, 0, 0, 1, 1])


def test_embedding_second_derivatives():
    w = rand64(5, 3, seed=12)
    idx = ember.tensor([[0, 2, 2], [4, 1, 0]])
    assert ember.autograd.gradgradcheck(lambda t: F.embedding(idx, t) ** 2, (w,))
    assert ember.autograd.gradgradcheck(lambda t: F.embedding(idx, t, padding_idx=2) ** 2, (w,))


def test_embedding_padding_idx_and_errors():
    emb = nn.Embedding(5, 2, padding_idx=0)
    assert arr(emb.weight)[0].tolist() == [0.0, 0.0]
    emb(ember.tensor([0, 2, 0])).sum().backward()
    assert arr(emb.weight.grad)[0].tolist() == [0.0, 0.0] and arr(emb.weight.grad)[2].tolist() == [1, 1]
    with pytest.raises(IndexError, match="index 7 is out of range for a table of 5 rows"):
        emb(ember.tensor([1, 7]))
    with pytest.raises(TypeError, match="indices must be integers"):
        emb(ember.tensor([1.0]))


def test_one_hot_and_pad():
    oh = F.one_hot(ember.tensor([0, 2, 1]), 4)
    assert oh.dtype == ember.int64
    np.testing.assert_array_equal(arr(oh), np.eye(4, dtype=np.int64)[[0, 2, 1]])
    assert F.one_hot(ember.tensor([3, 1])).shape == (2, 4)
    x = rand64(2, 3, seed=9)
    np.testing.assert_array_equal(arr(F.pad(x, (1, 2))), np.pad(arr(x), ((0, 0), (1, 2))))
    assert_grad_matches(lambda t: F.pad(t, (1, 0, 0, 2), value=3.0), x)


# ---- a small CNN trains -------------------------------------------------------------------
def _bars(n, rng):
    """8x8 images of a horizontal (class 0), vertical (1) or diagonal (2) bar, with noise."""
    y = rng.integers(0, 3, n)
    x = rng.normal(0, 0.3, (n, 1, 8, 8))
    for i, c in enumerate(y):
        k = rng.integers(1, 7)
        if c == 0:
            x[i, 0, k, :] += 1
        elif c == 1:
            x[i, 0, :, k] += 1
        else:
            x[i, 0, np.arange(8), np.arange(8)] += 1
    return ember.tensor(x.astype(np.float32)), ember.tensor(y)


def test_small_cnn_learns_8x8_images():
    rng = np.random.default_rng(0)
    x, y = _bars(512, rng)
    xt, yt = _bars(256, rng)
    ember.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                          nn.AvgPool2d(2), nn.Flatten(), nn.Dropout(0.1), nn.Linear(64, 3))
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(3):
        for i in range(0, 512, 32):
            loss = loss_fn(model(x[i:i + 32]), y[i:i + 32])
            model.zero_grad()
            loss.backward()
            with ember.no_grad():
                for p in model.parameters():
                    p -= 0.1 * p.grad
    model.eval()
    accuracy = (model(xt).argmax(dim=1) == yt).float().mean().item()
    assert accuracy > 0.9
