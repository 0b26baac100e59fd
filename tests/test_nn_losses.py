"""ember.nn losses: values against numpy references, gradients against finite differences,
numerical stability and the errors students hit (wrong target dtype, shape or class index)."""
import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.errors import DTypeError, ShapeError
from helpers import assert_grad_matches, rand64

REDUCTIONS = ["mean", "sum", "none"]


def arr(t):
    return t.detach().numpy()


def _reduce(loss, reduction):
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def _np_log_softmax(a, axis=1):
    m = a.max(axis=axis, keepdims=True)
    return a - m - np.log(np.exp(a - m).sum(axis=axis, keepdims=True))


def _probs(*shape, seed):
    return ember.tensor(np.random.default_rng(seed).uniform(0.05, 0.95, shape), dtype=ember.float64,
                        requires_grad=True)


# ---- regression losses --------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_and_l1_match_numpy_and_gradcheck(reduction):
    x, y = rand64(4, 3, seed=1), rand64(4, 3, seed=2)
    d = arr(x) - arr(y)
    np.testing.assert_allclose(arr(nn.MSELoss(reduction=reduction)(x, y)), _reduce(d ** 2, reduction),
                               rtol=1e-12)
    np.testing.assert_allclose(arr(nn.L1Loss(reduction=reduction)(x, y)),
                               _reduce(np.abs(d), reduction), rtol=1e-12)
    assert_grad_matches(lambda a, b: F.mse_loss(a, b, reduction=reduction), x, y)
    assert_grad_matches(lambda a, b: F.l1_loss(a, b, reduction=reduction), x, y)


def test_mse_warns_when_target_shape_broadcasts():
    with pytest.warns(UserWarning, match=r"target size \(4,\) that is different to the input "
                                         r"size \(4, 1\)"):
        F.mse_loss(ember.randn(4, 1), ember.randn(4))


def test_bad_reduction():
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        nn.MSELoss(reduction="avg")


# ---- classification losses ----------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_matches_numpy_and_gradcheck(reduction):
    x = rand64(5, 4, seed=3)
    t = ember.tensor([0, 3, 1, 1, 2])
    per = -_np_log_softmax(arr(x))[np.arange(5), arr(t)]
    np.testing.assert_allclose(arr(nn.CrossEntropyLoss(reduction=reduction)(x, t)),
                               _reduce(per, reduction), rtol=1e-12)
    assert_grad_matches(lambda a: F.cross_entropy(a, t, reduction=reduction), x)


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_n():
    x = rand64(3, 4, seed=4)
    t = ember.tensor([2, 0, 3])
    F.cross_entropy(x, t).backward()
    expected = (np.exp(_np_log_softmax(arr(x))) - np.eye(4)[arr(t)]) / 3
    np.testing.assert_allclose(arr(x.grad), expected, rtol=1e-10)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_class_weights_and_ignore_index(reduction):
    x = rand64(6, 3, seed=5)
    t = ember.tensor([0, 2, 1, -100, 2, 0])
    w = ember.tensor([1.0, 2.0, 0.5], dtype=ember.float64)
    keep = arr(t) != -100
    safe = np.where(keep, arr(t), 0)
    wi = arr(w)[safe] * keep
    per = -wi * _np_log_softmax(arr(x))[np.arange(6), safe]
    expected = per.sum() / wi.sum() if reduction == "mean" else _reduce(per, reduction)
    loss_fn = nn.CrossEntropyLoss(weight=w, reduction=reduction)
    np.testing.assert_allclose(arr(loss_fn(x, t)), expected, rtol=1e-12)
    assert_grad_matches(lambda a: loss_fn(a, t), x)


def test_cross_entropy_spatial_and_unbatched():
    x = rand64(2, 3, 2, 2, seed=6)
    t = ember.tensor(np.random.default_rng(0).integers(0, 3, (2, 2, 2)))
    lp = _np_log_softmax(arr(x))
    n, _, h, w = lp.shape
    picked = lp[np.arange(n)[:, None, None], arr(t), np.arange(h)[:, None], np.arange(w)]
    np.testing.assert_allclose(arr(F.cross_entropy(x, t)), -picked.mean(), rtol=1e-12)
    assert_grad_matches(lambda a: F.cross_entropy(a, t), x)
    v = rand64(4, seed=7)
    np.testing.assert_allclose(arr(F.cross_entropy(v, ember.tensor(2))),
                               -_np_log_softmax(arr(v)[None])[0, 2], rtol=1e-12)


def test_cross_entropy_with_class_probabilities():
    x = rand64(3, 4, seed=8)
    p = ember.tensor(np.random.default_rng(1).dirichlet(np.ones(4), 3))
    expected = -(arr(p) * _np_log_softmax(arr(x))).sum(axis=1).mean()
    np.testing.assert_allclose(arr(F.cross_entropy(x, p)), expected, rtol=1e-12)
    assert_grad_matches(lambda a: F.cross_entropy(a, p), x)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_matches_numpy_and_gradcheck(reduction):
    logp = rand64(4, 3, seed=9)
    t = ember.tensor([2, 0, 0, 1])
    np.testing.assert_allclose(arr(nn.NLLLoss(reduction=reduction)(logp, t)),
                               _reduce(-arr(logp)[np.arange(4), arr(t)], reduction), rtol=1e-12)
    assert_grad_matches(lambda a: F.nll_loss(a, t, reduction=reduction), logp)


def test_cross_entropy_is_log_softmax_then_nll():
    x = rand64(4, 5, seed=10)
    t = ember.tensor([4, 0, 2, 2])
    loss = F.cross_entropy(x, t)
    np.testing.assert_allclose(arr(loss), arr(F.nll_loss(F.log_softmax(x, 1), t)), rtol=1e-14)
    assert loss.grad_fn.name() == "NllLossBackward0"
    assert loss.grad_fn.next_functions[0][0].name() == "LogSoftmaxBackward0"


def test_cross_entropy_is_stable_for_huge_logits():
    x = ember.tensor([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]], requires_grad=True)
    t = ember.tensor([0, 2])
    loss = F.cross_entropy(x, t, reduction="none")
    np.testing.assert_allclose(arr(loss), [0.0, 1000.0], atol=1e-4)
    loss.sum().backward()
    assert np.isfinite(arr(x.grad)).all()
    np.testing.assert_allclose(arr(x.grad), [[0, 0, 0], [0, 1, -1]], atol=1e-6)


def test_cross_entropy_errors_name_the_problem():
    x = ember.randn(4, 10)
    with pytest.raises(ShapeError, match=r"target is ember.float32 of shape \(4,\) but the input "
                                         r"has shape \(4, 10\).*target.long\(\)"):
        F.cross_entropy(x, ember.tensor([1.0, 2.0, 3.0, 4.0]))
    with pytest.raises(IndexError, match=r"target holds class index 10, but the input has 10 "
                                         r"classes \(valid indices 0..9\)"):
        F.cross_entropy(x, ember.tensor([1, 10, 3, 4]))
    with pytest.raises(IndexError, match="class index -1"):
        F.cross_entropy(x, ember.tensor([1, -1, 3, 4]))
    with pytest.raises(ShapeError, match=r"needs a target of class indices of shape \(4,\), got "
                                         r"\(4, 1\)"):
        F.cross_entropy(x, ember.tensor([[1], [2], [3], [4]]))
    with pytest.raises(DTypeError, match="integers"):
        F.nll_loss(x, ember.tensor([1.0, 2.0, 3.0, 4.0]))
    with pytest.raises(DTypeError, match="must be floating point"):
        F.cross_entropy(ember.tensor([[1, 2]]), ember.tensor([0]))


# ---- binary losses ------------------------------------------------------------------------
def _np_bce_logits(x, y):
    return np.logaddexp(0, x) - x * y  # log(1 + e^x) - x y, evaluated stably by numpy


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_matches_numpy_and_gradcheck(reduction):
    x, y = rand64(4, 3, seed=11), _probs(4, 3, seed=12)
    np.testing.assert_allclose(arr(nn.BCEWithLogitsLoss(reduction=reduction)(x, y)),
                               _reduce(_np_bce_logits(arr(x), arr(y)), reduction), rtol=1e-12)
    assert_grad_matches(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction),
                        x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_matches_numpy_and_gradcheck(reduction):
    p, y = _probs(4, 3, seed=13), _probs(4, 3, seed=14)
    a, b = arr(p), arr(y)
    per = -(b * np.log(a) + (1 - b) * np.log(1 - a))
    np.testing.assert_allclose(arr(nn.BCELoss(reduction=reduction)(p, y)), _reduce(per, reduction),
                               rtol=1e-12)
    assert_grad_matches(lambda u, v: F.binary_cross_entropy(u, v, reduction=reduction), p, y)


def test_bce_weight():
    x, y = rand64(4, 3, seed=15), _probs(4, 3, seed=16, )
    w = ember.tensor(np.linspace(0.5, 2, 3))
    np.testing.assert_allclose(arr(nn.BCEWithLogitsLoss(weight=w)(x, y)),
                               (_np_bce_logits(arr(x), arr(y)) * arr(w)).mean(), rtol=1e-12)


def test_binary_losses_are_stable_at_the_extremes():
    x = ember.tensor([1000.0, -1000.0, 50.0], requires_grad=True)
    y = ember.tensor([0.0, 1.0, 1.0])
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(arr(loss), [1000.0, 1000.0, np.log1p(np.exp(-50.0))], rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(arr(x.grad), [1.0, -1.0, 0.0], atol=1e-6)
    p = ember.tensor([0.0, 1.0], requires_grad=True)
    bce = F.binary_cross_entropy(p, ember.tensor([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(arr(bce), [100.0, 100.0])  # log clamped at -100, as PyTorch
    bce.sum().backward()
    assert np.isfinite(arr(p.grad)).all()


def test_binary_loss_errors():
    with pytest.raises(ShapeError, match=r"target size \(4,\) must be the same as input size \(4, 1\)"):
        F.binary_cross_entropy_with_logits(ember.randn(4, 1), ember.rand(4))
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\].*Apply sigmoid first"):
        F.binary_cross_entropy(ember.tensor([0.5, 2.0]), ember.tensor([0.0, 1.0]))


def test_loss_module_reprs():
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss()"


def test_legacy_size_average_warns_and_sums():
    with pytest.warns(DeprecationWarning, match="reduction='sum'"):
        loss_fn = ember.nn.MSELoss(size_average=False)
    assert loss_fn.reduction == "sum"


# ---- label smoothing and pos_weight (PyTorch's definitions, written out in numpy) ----------
def _np_smoothed_ce(x, t, eps, w, ignore, reduction):
    """(1 - eps) * nll + eps/C * sum_c -w_c logp_c, each sample's terms dropped when ignored;
    'mean' divides both by the total weight of the kept targets."""
    logp, c = _np_log_softmax(x), x.shape[1]
    w = np.ones(c) if w is None else w
    keep = t != ignore
    ts = np.where(keep, t, 0)
    nll = -w[ts] * logp[np.arange(len(t)), ts] * keep
    smooth = -(logp * w).sum(1) * keep
    per = (1 - eps) * nll + eps / c * smooth
    if reduction == "mean":
        return per.sum() / (w[ts] * keep).sum()
    return per.sum() if reduction == "sum" else per


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_label_smoothing_matches_numpy_and_gradcheck(reduction, weighted):
    x = rand64(5, 4, seed=3)
    t = ember.tensor([0, 3, -100, 2, 1])
    w = ember.tensor([0.5, 1.0, 2.0, 1.5], dtype=ember.float64) if weighted else None
    got = F.cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=0.2)
    ref = _np_smoothed_ce(arr(x), t.numpy(), 0.2, None if w is None else w.numpy(), -100, reduction)
    np.testing.assert_allclose(arr(got), ref, rtol=1e-12)
    assert_grad_matches(lambda a: F.cross_entropy(a, t, weight=w, reduction=reduction,
                                                  label_smoothing=0.2), x)
    module = nn.CrossEntropyLoss(weight=w, reduction=reduction, label_smoothing=0.2)
    np.testing.assert_allclose(arr(module(x, t)), ref, rtol=1e-12)


def test_cross_entropy_label_smoothing_with_probabilities_and_limits():
    x = rand64(3, 4, seed=4)
    p = np.random.default_rng(5).dirichlet(np.ones(4), size=3)
    target = ember.tensor(p, dtype=ember.float64)
    smoothed = p * 0.7 + 0.3 / 4
    ref = -(smoothed * _np_log_softmax(arr(x))).sum(1).mean()
    np.testing.assert_allclose(arr(F.cross_entropy(x, target, label_smoothing=0.3)), ref,
                               rtol=1e-12)
    assert_grad_matches(lambda a: F.cross_entropy(a, target, label_smoothing=0.3), x)
    t = ember.tensor([1, 0, 3])
    uniform = -_np_log_softmax(arr(x)).mean(1).mean()  # label_smoothing=1: all uniform
    np.testing.assert_allclose(arr(F.cross_entropy(x, t, label_smoothing=1.0)), uniform, rtol=1e-12)
    np.testing.assert_allclose(arr(F.cross_entropy(x, t, label_smoothing=-0.5)),
                               arr(F.cross_entropy(x, t)), rtol=1e-15)  # ignored, as PyTorch
    with pytest.raises(RuntimeError, match="between 0.0 and 1.0"):
        F.cross_entropy(x, t, label_smoothing=1.5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_pos_weight_matches_numpy_and_gradcheck(reduction):
    x = rand64(5, 3, seed=6)
    y = ember.tensor((np.random.default_rng(7).random((5, 3)) > 0.5).astype(float),
                     dtype=ember.float64, requires_grad=True)
    pw = ember.tensor([1.0, 3.0, 0.5], dtype=ember.float64)
    a, b, p = arr(x), arr(y), pw.numpy()
    s = 1 / (1 + np.exp(-a))
    ref = -(p * b * np.log(s) + (1 - b) * np.log(1 - s))
    got = F.binary_cross_entropy_with_logits(x, y, reduction=reduction, pos_weight=pw)
    np.testing.assert_allclose(arr(got), _reduce(ref, reduction), rtol=1e-10)
    assert_grad_matches(lambda a, b: F.binary_cross_entropy_with_logits(
        a, b, reduction=reduction, pos_weight=pw), x, y)
    loss = nn.BCEWithLogitsLoss(pos_weight=pw, reduction=reduction)(x, y)
    np.testing.assert_allclose(arr(loss), _reduce(ref, reduction), rtol=1e-10)


def test_bce_with_logits_pos_weight_at_zero_logit_and_errors():
    x = ember.zeros(2, 2, dtype=ember.float64, requires_grad=True)
    y = ember.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=ember.float64)
    F.binary_cross_entropy_with_logits(x, y, pos_weight=ember.tensor([2.0, 4.0],
                                                                  dtype=ember.float64),
                                       reduction="sum").backward()
    # d/dx at x = 0: sigmoid(0) * (1 + (pw - 1) y) - pw y = (1 + (pw-1) y) / 2 - pw y
    np.testing.assert_allclose(x.grad.numpy(), [[-1.0, 0.5], [-1.0, -2.0]], rtol=1e-12)
    with pytest.raises(ShapeError, match="pos_weight"):
        F.binary_cross_entropy_with_logits(x, y, pos_weight=ember.ones(3, dtype=ember.float64))
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument"):
        F.binary_cross_entropy_with_logits(x, y, pos_weight=ember.ones(2, dtype=ember.float64,
                                                                       requires_grad=True))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_losses_second_derivatives(reduction):
    """create_graph=True through the fused binary losses (Hessian-vector products of logistic
    regression, say)."""
    x = rand64(3, 4, seed=8)
    y = ember.tensor((np.random.default_rng(9).random((3, 4)) > 0.5).astype(float),
                     dtype=ember.float64, requires_grad=True)
    p = ember.tensor(np.random.default_rng(10).uniform(0.1, 0.9, (3, 4)), dtype=ember.float64,
                     requires_grad=True)
    pw = ember.tensor([1.0, 2.0, 0.5, 3.0], dtype=ember.float64)
    gg = ember.autograd.gradgradcheck
    assert gg(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction), (x, y))
    assert gg(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction,
                                                              pos_weight=pw), (x, y))
    assert gg(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction), (p, y))
