"""ember.keras's Keras API: Sequential, Dense/Activation, compile/fit/evaluate/predict, Keras's
losses and optimizers, against hand-computed values and ember's own autograd."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from ember.datasets import make_spirals
from ember.keras import Sequential, losses
from ember.keras.layers import Activation, Dense, Dropout, Flatten
from ember.keras.optimizers import SGD, Adam


@pytest.fixture(autouse=True)
def seed():
    ember.manual_seed(0)


def test_dense_is_x_kernel_plus_bias_with_glorot_weights():
    layer = Dense(4, input_dim=3, activation="relu")
    bound = np.sqrt(6 / (3 + 4))
    k = layer.kernel.detach().numpy()
    assert k.shape == (3, 4) and np.abs(k).max() <= bound and k.std() > 0.2 * bound
    assert layer.bias.detach().numpy().tolist() == [0.0] * 4
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    want = np.maximum(x @ k + layer.bias.detach().numpy(), 0)
    np.testing.assert_allclose(layer(ember.from_numpy(x)).detach().numpy(), want, rtol=1e-6)
    assert dict(layer.named_parameters()).keys() == {"kernel", "bias"}


def test_sizes_flow_from_layer_to_layer_and_mismatches_are_errors():
    model = Sequential([Dense(8, input_shape=(3,)), Activation("tanh"), Dropout(0.5), Dense(2)])
    assert model.layers[3].kernel.shape == (8, 2)          # built when added
    lazy = Sequential([Flatten(), Dense(2)])               # built at the first input
    assert lazy(ember.ones(4, 2, 3)).shape == (4, 2) and lazy.layers[1].kernel.shape == (6, 2)
    with pytest.raises(ValueError, match="built for inputs of size 6 but gets inputs of size 5"):
        lazy(ember.ones(4, 5))
    with pytest.raises(ValueError, match="unknown activation 'rleu'; did you mean 'relu'"):
        Activation("rleu")
    with pytest.raises(TypeError, match="Dense: unknown keyword argument 'unit'"):
        Dense(unit=3)


def test_classifier_trains_and_evaluates_with_accuracy():
    X, y = make_spirals(60, classes=3, seed=0)
    order = ember.from_numpy(np.random.default_rng(0).permutation(len(X)))
    X, y = X[order], y[order]              # sorted by class: validation_split takes the last rows
    model = Sequential()
    model.add(Dense(units=32, activation="relu", input_dim=2))
    model.add(Dense(units=3, activation="softmax"))
    model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(learning_rate=0.02),
                  metrics=["accuracy"])
    history = model.fit(X.numpy(), y.numpy(), epochs=30, batch_size=16, verbose=0, seed=0,
                        validation_split=0.2)
    h = history.history
    assert h["loss"][-1] < 0.6 * h["loss"][0] and h["accuracy"][-1] > h["accuracy"][0]
    assert len(h["val_loss"]) == 30
    loss, acc = model.evaluate(X.numpy(), y.numpy(), verbose=0)
    probs = model.predict(X.numpy())
    assert isinstance(probs, np.ndarray) and probs.shape == (len(X), 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert np.isclose(acc, (probs.argmax(1) == y.numpy()).mean())
    want = -np.log(probs[np.arange(len(X)), y.numpy()]).mean()
    assert np.isclose(loss, want, rtol=1e-4)


def test_one_sgd_epoch_is_one_gradient_step():
    x = np.random.default_rng(1).standard_normal((8, 3))
    y = np.random.default_rng(2).standard_normal((8, 2))
    model = Sequential([Dense(2, input_dim=3)])
    k0, b0 = model.get_weights()
    model.compile(loss="mse", optimizer=SGD(lr=0.1))
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    err = x @ k0 + b0 - y                                  # d mean((xk + b - y)^2)
    k1 = k0 - 0.1 * x.T @ (2 * err / err.size)
    b1 = b0 - 0.1 * (2 * err / err.size).sum(0)
    got_k, got_b = model.get_weights()
    np.testing.assert_allclose(got_k, k1, rtol=1e-5)
    np.testing.assert_allclose(got_b, b1, rtol=1e-5, atol=1e-7)


def test_adagrad_uses_keras_defaults():
    """Keras's Adagrad: accumulator = 0.1 + g^2, w -= 0.001 * g / (sqrt(accumulator) + 1e-7)."""
    x = np.random.default_rng(6).standard_normal((8, 3))
    y = np.random.default_rng(7).standard_normal((8, 1))
    model = Sequential([Dense(1, input_dim=3)])
    k0, b0 = model.get_weights()
    model.compile(loss="mse", optimizer="adagrad")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    err = x @ k0 + b0 - y
    for got, g, w in zip(model.get_weights(), (x.T @ (2 * err / 8), (2 * err / 8).sum(0)),
                         (k0, b0)):
        np.testing.assert_allclose(got, w - 0.001 * g / (np.sqrt(0.1 + g ** 2) + 1e-7),
                                   rtol=1e-5, atol=1e-7)


def test_validation_split_holds_out_the_last_samples_as_keras_does():
    x = np.arange(10.0)[:, None]
    y = 2 * x
    model = Sequential([Dense(1, input_dim=1)])
    model.compile(loss="mse", optimizer=SGD(lr=0.0))          # lr 0: the weights stay put
    k, b = (w.ravel()[0] for w in model.get_weights())
    h = model.fit(x, y, epochs=1, batch_size=4, validation_split=0.3, verbose=0).history
    err = (x[:, 0] * k + b - y[:, 0]) ** 2
    assert np.isclose(h["val_loss"][0], err[7:].mean(), rtol=1e-5)   # samples 7, 8, 9
    assert np.isclose(h["loss"][0], err[:7].mean(), rtol=1e-5)          # samples 0..6
    with pytest.raises(ValueError, match=r"validation_split must be in \[0, 1\), got 1.0"):
        model.fit(x, y, validation_split=1.0, verbose=0)


def test_keras_losses_match_their_formulas():
    rng = np.random.default_rng(3)
    p = rng.random((4, 3)) + 0.1
    p /= p.sum(1, keepdims=True)
    labels = np.array([0, 2, 1, 2])
    onehot = np.eye(3)[labels]
    t = ember.from_numpy
    want_ce = -np.log(p[np.arange(4), labels]).mean()
    assert np.isclose(losses.categorical_crossentropy(t(onehot), t(p)).item(), want_ce)
    assert np.isclose(losses.sparse_categorical_crossentropy(t(labels), t(p)).item(), want_ce)
    q, z = rng.random(5) * 0.8 + 0.1, (rng.random(5) > 0.5).astype(float)
    want_bce = -(z * np.log(q) + (1 - z) * np.log(1 - q)).mean()
    assert np.isclose(losses.binary_crossentropy(t(z), t(q)).item(), want_bce)
    a, b = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    assert np.isclose(losses.get("mse")(t(a), t(b)).item(), ((a - b) ** 2).mean())
    assert np.isclose(losses.get("mae")(t(a), t(b)).item(), np.abs(a - b).mean())
    with pytest.raises(ValueError, match="unknown loss 'msee'"):
        losses.get("msee")


@pytest.mark.parametrize("loss", ["mse", "mae"])
def test_targets_of_shape_n_meet_outputs_of_shape_n_1_row_by_row(loss):
    """As Keras: y of shape (N,) against an (N, 1) output is not broadcast to (N, N)."""
    rng = np.random.default_rng(5)
    out, y = rng.standard_normal((6, 1)), rng.standard_normal(6)
    err = out[:, 0] - y
    want = (err ** 2).mean() if loss == "mse" else np.abs(err).mean()
    t = ember.from_numpy
    assert np.isclose(losses.get(loss)(t(y), t(out)).item(), want)
    assert np.isclose(losses.get(loss)(t(y[:, None]), t(out[:, 0])).item(), want)
    model = Sequential([Dense(1, input_dim=2)])
    model.compile(loss=loss, optimizer="sgd")
    x = rng.standard_normal((6, 2))
    pred = model.predict(x)[:, 0]
    want = ((pred - y) ** 2).mean() if loss == "mse" else np.abs(pred - y).mean()
    assert np.isclose(model.evaluate(x, y, verbose=0), want, rtol=1e-5)


def test_keras1_names_weights_io_and_errors(tmp_path):
    model = Sequential([Dense(output_dim=4, input_dim=3), Dense(2)])
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.ones((2, 3)), np.ones((2, 2)))
    model.compile(loss="mean_squared_error", optimizer="sgd")
    with pytest.warns(FutureWarning, match="nb_epoch"):
        model.fit(np.ones((4, 3)), np.zeros((4, 2)), nb_epoch=2, verbose=0)
    with pytest.raises(TypeError, match="learning_rate or lr"):
        SGD(learning_rate=0.1, lr=0.1)
    model.save_weights(tmp_path / "w.ember")
    other = Sequential([Dense(4, input_dim=3), Dense(2)])
    other.load_weights(tmp_path / "w.ember")
    x = np.random.default_rng(4).standard_normal((3, 3))
    np.testing.assert_array_equal(other.predict(x), model.predict(x))
    other.set_weights([w * 0 for w in other.get_weights()])
    assert not other.predict(x).any()
    with pytest.raises(ValueError, match="fit: x has 3 samples but y has 2"):
        model.fit(np.ones((3, 3)), np.ones((2, 2)), verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = model.summary()
    assert "Total params: 26" in text and "dense (Dense)" in text      # 3 * 4 + 4 + 4 * 2 + 2
    assert "dense_1 (Dense)" in text and "(None, 2)" in text
