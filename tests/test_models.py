"""The pretrained digits classifier: shipped weights, accuracy, fine-tuning, reproducibility."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.datasets import load_digits
from ember.models import digits_classifier
from ember.models.digits import TEST_ACCURACY
from ember.models.train_digits import accuracy, train


def test_pretrained_accuracy_on_the_test_split():
    model = digits_classifier(pretrained=True)
    X, y = load_digits(split="test")
    acc = accuracy(model, X, y)
    assert acc >= 0.95
    assert acc == pytest.approx(TEST_ACCURACY, abs=1e-3)  # the number the docstring records
    images, _ = load_digits(split="test", flatten=False)
    with ember.no_grad():
        np.testing.assert_array_equal(model(images).argmax(dim=1).numpy(),
                                      model(X).argmax(dim=1).numpy())


def test_untrained_model_is_at_chance():
    ember.manual_seed(0)
    X, y = load_digits(split="test")
    assert accuracy(digits_classifier(pretrained=False), X, y) < 0.3


def test_fine_tune_a_new_last_layer():
    """Freeze the features, replace fc with a 2-way layer and learn 'digit >= 5'."""
    ember.manual_seed(0)
    model = digits_classifier(pretrained=True)
    for p in model.features.parameters():
        p.requires_grad_(False)
    model.fc = nn.Linear(64, 2)
    frozen = [p.detach().numpy().copy() for p in model.features.parameters()]
    X_train, X_test, y_train, y_test = load_digits(split="both")
    t_train, t_test = (y_train >= 5).long(), (y_test >= 5).long()
    opt = ember.optim.Adam(model.fc.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(60):
        opt.zero_grad()
        loss_fn(model(X_train), t_train).backward()
        opt.step()
    assert accuracy(model, X_test, t_test) > 0.9
    for before, p in zip(frozen, model.features.parameters()):
        np.testing.assert_array_equal(before, p.detach().numpy())


def test_training_script_is_deterministic():
    a = train(epochs=1, verbose=False).state_dict()
    b = train(epochs=1, verbose=False).state_dict()
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy())
