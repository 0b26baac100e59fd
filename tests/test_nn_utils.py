"""nn.utils: gradient clipping and parameter vectors, against hand-computed values."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from ember import nn


def with_grads(*grads):
    params = []
    for g in grads:
        p = nn.Parameter(ember.zeros(len(g), dtype=ember.float64))
        p.grad = ember.tensor(g, dtype=ember.float64)
        params.append(p)
    return params


def test_clip_grad_norm_scales_all_grads_together_and_returns_the_norm():
    a, b, no_grad = *with_grads([3.0, 0.0], [0.0, 4.0]), nn.Parameter(ember.ones(2))
    total = nn.utils.clip_grad_norm_([a, b, no_grad], max_norm=1.0)
    assert total.item() == pytest.approx(5.0) and total.ndim == 0
    coef = 1.0 / (5.0 + 1e-6)
    assert np.allclose(a.grad.numpy(), [3 * coef, 0]) and np.allclose(b.grad.numpy(), [0, 4 * coef])
    assert no_grad.grad is None


def test_clip_grad_norm_leaves_small_grads_and_other_norms():
    (a,) = with_grads([0.3, -0.4])
    assert nn.utils.clip_grad_norm_(a, 1.0).item() == pytest.approx(0.5)
    assert np.allclose(a.grad.numpy(), [0.3, -0.4])
    a, b = with_grads([3.0, -4.0], [1.0, 0.5])
    assert nn.utils.clip_grad_norm_([a, b], 2.0, norm_type="inf").item() == 4.0
    assert np.allclose(a.grad.numpy(), np.array([3.0, -4.0]) * 2 / (4 + 1e-6))
    (a,) = with_grads([3.0, -4.0])
    assert nn.utils.clip_grad_norm_(a, 2.0, norm_type=1).item() == pytest.approx(7.0)
    (a,) = with_grads([1.0, 2.0, 2.0])
    expected = (1 + 2 ** 3 * 2) ** (1 / 3)
    assert nn.utils.get_total_norm([a.grad], 3).item() == pytest.approx(expected)
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0


def test_clip_grad_norm_non_finite():
    (a,) = with_grads([3.0, math.inf])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(a, 1.0, error_if_nonfinite=True)
    assert math.isinf(nn.utils.clip_grad_norm_(a, 1.0).item())
    assert a.grad.numpy()[0] == 0 and math.isnan(a.grad.numpy()[1])  # as PyTorch: inf * 0


def test_clip_grad_value_clamps_in_place():
    a, b = with_grads([3.0, -4.0, 0.5], [-0.2])
    assert nn.utils.clip_grad_value_([a, b], 1.0) is None
    assert a.grad.numpy().tolist() == [1.0, -1.0, 0.5] and b.grad.numpy().tolist() == [-0.2]


def test_clipping_inside_a_training_step():
    lin = nn.Linear(3, 1)
    loss = (lin(ember.ones(2, 3) * 100) ** 2).sum()
    loss.backward()
    before = math.sqrt(sum(float((p.grad.numpy() ** 2).sum()) for p in lin.parameters()))
    assert nn.utils.clip_grad_norm_(lin.parameters(), 0.5).item() == pytest.approx(before, rel=1e-5)
    after = math.sqrt(sum(float((p.grad.numpy() ** 2).sum()) for p in lin.parameters()))
    assert after == pytest.approx(0.5, rel=1e-4)


def test_parameters_to_vector_and_back():
    lin = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(lin.parameters())
    assert vec.shape == (8,)
    assert np.array_equal(vec.detach().numpy()[:6], lin.weight.detach().numpy().ravel())
    nn.utils.vector_to_parameters(ember.arange(8.0), lin.parameters())
    assert lin.bias.detach().numpy().tolist() == [6.0, 7.0]
    with pytest.raises(ValueError, match="8 numbers"):
        nn.utils.vector_to_parameters(ember.arange(7.0), lin.parameters())


def test_pad_sequence_layouts_and_gradient():
    from ember.nn.utils.rnn import pad_sequence
    a = ember.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    b = ember.tensor([[7.0, 8.0]], requires_grad=True)
    assert pad_sequence([a, b]).tolist() == [[[1, 2], [7, 8]], [[3, 4], [0, 0]], [[5, 6], [0, 0]]]
    left = pad_sequence([a, b], batch_first=True, padding_value=-1.0, padding_side="left")
    assert left.tolist() == [[[1, 2], [3, 4], [5, 6]], [[-1, -1], [-1, -1], [7, 8]]]
    (left * ember.arange(6.0).reshape(1, 3, 2)).sum().backward()
    assert b.grad.tolist() == [[4.0, 5.0]] and a.grad.tolist() == [[0, 1], [2, 3], [4, 5]]
    with pytest.raises(RuntimeError, match="only the first dimension may differ"):
        pad_sequence([a, ember.ones(2, 3)])
    with pytest.raises(NotImplementedError, match="no PackedSequence"):
        nn.utils.rnn.pack_padded_sequence(left, [3, 1])
