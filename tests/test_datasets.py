"""ember.datasets: shapes, dtypes, determinism and the shipped digits file."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.datasets import load_digits, make_regression, make_spirals, train_test_split


def test_spirals_shapes_classes_and_determinism():
    X, y = make_spirals(50, classes=4, noise=0.1, seed=1)
    assert X.shape == (200, 2) and X.dtype == ember.float32 and y.dtype == ember.int64
    assert np.bincount(y.numpy()).tolist() == [50] * 4
    radius = np.linalg.norm(X.numpy(), axis=1)
    assert radius.max() <= 1.0 + 1e-6 and radius.min() == 0.0
    X2, _ = make_spirals(50, classes=4, noise=0.1, seed=1)
    X3, _ = make_spirals(50, classes=4, noise=0.1, seed=2)
    np.testing.assert_array_equal(X.numpy(), X2.numpy())
    assert not np.array_equal(X.numpy(), X3.numpy())


def test_regression_is_linear_plus_noise():
    X, y, (w, b) = make_regression(500, 3, noise=0.05, seed=0, coef=True)
    assert X.shape == (500, 3) and y.shape == (500, 1) and y.dtype == ember.float32
    residual = y.numpy() - (X.numpy() @ w + b)
    assert 0.03 < residual.std() < 0.07
    fit, *_ = np.linalg.lstsq(np.c_[X.numpy(), np.ones(500)], y.numpy(), rcond=None)
    np.testing.assert_allclose(fit[:3], w, atol=0.02)


def test_digits_as_shipped():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == ember.float32 and y.dtype == ember.int64
    assert float(X.min()) == 0.0 and float(X.max()) == 1.0
    assert np.bincount(y.numpy()).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    raw, _ = load_digits(flatten=False, normalize=False)
    assert raw.shape == (1797, 1, 8, 8)
    np.testing.assert_array_equal(raw.numpy().reshape(1797, 64) / 16.0, X.numpy())
    # the first image is a zero: a ring of ink with an empty centre
    zero = raw.numpy()[0, 0]
    assert y[0].item() == 0 and zero[3:5, 3:5].sum() < zero[1:7, 1:7].sum() / 10


def test_digits_split_is_fixed_stratified_and_disjoint():
    X_train, X_test, y_train, y_test = load_digits(split="both")
    assert len(X_train) + len(X_test) == 1797 and len(X_test) == 364
    counts = np.bincount(y_test.numpy())
    assert counts.min() >= 35 and counts.max() <= 37
    Xt, yt = load_digits(split="test")
    np.testing.assert_array_equal(Xt.numpy(), X_test.numpy())
    train_rows = {r.tobytes() for r in X_train.numpy()}
    duplicates = sum(r.tobytes() in train_rows for r in X_test.numpy())
    assert duplicates < 5  # (the data holds a few identical images)
    with pytest.raises(ValueError, match="split must be"):
        load_digits(split="validation")


def test_train_test_split():
    a = ember.arange(10)
    b = ember.arange(10) * 10
    a_tr, a_te, b_tr, b_te = train_test_split(a, b, test_size=0.3, seed=5)
    assert len(a_te) == 3 and len(a_tr) == 7
    np.testing.assert_array_equal(b_te.numpy(), a_te.numpy() * 10)
    assert sorted(a_tr.tolist() + a_te.tolist()) == list(range(10))
    again = train_test_split(a, b, test_size=0.3, seed=5)
    assert again[1].tolist() == a_te.tolist()
    with pytest.raises(ValueError, match="same number of rows"):
        train_test_split(a, ember.arange(3))
