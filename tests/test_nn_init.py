"""ember.nn.init: the gains and fans of PyTorch's formulas, bounds and spreads of the fills,
and that fills happen in place without entering the graph."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.nn import init


def test_calculate_gain_follows_the_formulas():
    assert init.calculate_gain("linear") == init.calculate_gain("conv2d") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("relu") == math.sqrt(2.0)
    assert init.calculate_gain("tanh") == 5.0 / 3
    assert init.calculate_gain("leaky_relu") == math.sqrt(2.0 / (1 + 0.01 ** 2))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == math.sqrt(2.0 / 6)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")


def test_fans_of_linear_and_conv_weights():
    assert init._calculate_fan_in_and_fan_out(ember.empty(30, 20)) == (20, 30)
    assert init._calculate_fan_in_and_fan_out(ember.empty(8, 3, 5, 5)) == (75, 200)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(ember.empty(5))


@pytest.mark.parametrize("fill, bound", [
    (lambda t: init.xavier_uniform_(t), math.sqrt(6 / (300 + 200))),
    (lambda t: init.xavier_uniform_(t, gain=2.0), 2 * math.sqrt(6 / (300 + 200))),
    (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(2) * math.sqrt(3 / 200)),
    (lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"),
     math.sqrt(2) * math.sqrt(3 / 300)),
    (lambda t: init.uniform_(t, -0.3, 0.3), 0.3),
])
def test_uniform_fills_stay_within_the_bound_and_fill_it(fill, bound):
    ember.manual_seed(0)
    t = ember.empty(300, 200)
    out = fill(t)
    a = t.numpy()
    assert out is t
    assert np.abs(a).max() <= bound and np.abs(a).max() > 0.99 * bound
    assert abs(a.std() - bound / math.sqrt(3)) < 0.02 * bound


@pytest.mark.parametrize("fill, std", [
    (lambda t: init.xavier_normal_(t), math.sqrt(2 / (300 + 200))),
    (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2 / 200)),
    (lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), math.sqrt(2 / 300)),
    (lambda t: init.normal_(t, 1.0, 0.5), 0.5),
])
def test_normal_fills_have_the_formula_std(fill, std):
    ember.manual_seed(0)
    t = ember.empty(300, 200)
    fill(t)
    assert abs(t.numpy().std() - std) < 0.02 * std


def test_constant_fills_and_eye():
    t = ember.empty(3, 4)
    assert init.zeros_(t).numpy().tolist() == np.zeros((3, 4)).tolist()
    assert init.ones_(t).numpy().tolist() == np.ones((3, 4)).tolist()
    assert init.constant_(t, 2.5).numpy().tolist() == np.full((3, 4), 2.5).tolist()
    np.testing.assert_array_equal(init.eye_(t).numpy(), np.eye(3, 4))


def test_fills_work_on_parameters_in_place_outside_autograd():
    lin = nn.Linear(4, 3)
    w = lin.weight
    init.kaiming_normal_(w)
    init.zeros_(lin.bias)
    assert lin.weight is w and w.is_leaf and w.requires_grad and w.grad_fn is None
    assert lin.bias.abs().sum().item() == 0


def test_fills_are_repeatable_with_manual_seed():
    a, b = ember.empty(5, 5), ember.empty(5, 5)
    ember.manual_seed(3)
    init.xavier_normal_(a)
    ember.manual_seed(3)
    init.xavier_normal_(b)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
