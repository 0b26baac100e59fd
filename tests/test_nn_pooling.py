"""Pooling options (ceil_mode, return_indices, count_include_pad, divisor_override) and adaptive
average pooling, against numpy loops written from PyTorch's definitions."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.errors import ShapeError
from helpers import assert_grad_matches, rand64


def arr(t):
    return t.detach().numpy()


def np_out_size(n, k, s, p, d, ceil):
    out = math.ceil((n + 2 * p - d * (k - 1) - 1) / s) + 1 if ceil else \
        (n + 2 * p - d * (k - 1) - 1) // s + 1
    return out - 1 if ceil and (out - 1) * s >= n + p else out


def np_max_pool(x, k, s, p, d, ceil):
    """Loops over windows of the unpadded input, skipping positions outside it."""
    n, c, h, w = x.shape
    ho, wo = np_out_size(h, k, s, p, d, ceil), np_out_size(w, k, s, p, d, ceil)
    out, idx = np.full((n, c, ho, wo), -np.inf), np.zeros((n, c, ho, wo), dtype=np.int64)
    for i in range(ho):
        for j in range(wo):
            for a in range(k):
                for b in range(k):
                    r, q = i * s - p + a * d, j * s - p + b * d
                    if 0 <= r < h and 0 <= q < w:
                        better = x[:, :, r, q] > out[:, :, i, j]
                        out[:, :, i, j] = np.where(better, x[:, :, r, q], out[:, :, i, j])
                        idx[:, :, i, j] = np.where(better, r * w + q, idx[:, :, i, j])
    return out, idx


def np_avg_pool(x, k, s, p, ceil, count_include_pad, divisor_override):
    n, c, h, w = x.shape
    ho, wo = np_out_size(h, k, s, p, 1, ceil), np_out_size(w, k, s, p, 1, ceil)
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            r0, q0 = i * s - p, j * s - p
            r1, q1 = min(r0 + k, h + p), min(q0 + k, w + p)
            count = (r1 - r0) * (q1 - q0)
            r0, q0, r1, q1 = max(r0, 0), max(q0, 0), min(r1, h), min(q1, w)
            if not count_include_pad:
                count = (r1 - r0) * (q1 - q0)
            total = x[:, :, r0:r1, q0:q1].sum(axis=(2, 3))
            out[:, :, i, j] = total / (divisor_override or count)
    return out


POOL_CASES = [(2, 2, 0, 1, True), (3, 2, 1, 1, True), (3, 2, 1, 2, False), (2, 3, 1, 1, True),
              (3, 1, 1, 1, False)]


@pytest.mark.parametrize("k, s, p, d, ceil", POOL_CASES)
def test_max_pool_ceil_mode_and_indices_match_numpy(k, s, p, d, ceil):
    x = rand64(2, 3, 5, 7, seed=1)
    out, idx = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil, return_indices=True)
    ref, ref_idx = np_max_pool(arr(x), k, s, p, d, ceil)
    np.testing.assert_allclose(arr(out), ref, rtol=1e-12)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    assert idx.dtype == ember.int64 and not idx.requires_grad
    assert_grad_matches(lambda t: F.max_pool2d(t, k, s, p, d, ceil_mode=ceil), x)


def test_max_pool_indices_pick_the_first_of_ties_and_unbatched():
    x = ember.tensor([[[1.0, 3.0, 3.0], [3.0, 0.0, 2.0]]])
    out, idx = nn.MaxPool2d(2, stride=1, return_indices=True)(x)
    assert out.tolist() == [[[3.0, 3.0]]] and idx.tolist() == [[[1, 1]]]
    assert repr(nn.MaxPool2d(2, ceil_mode=True)) == \
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=True)"


@pytest.mark.parametrize("k, s, p, d, ceil", [c for c in POOL_CASES if c[3] == 1])
@pytest.mark.parametrize("include, override", [(True, None), (False, None), (True, 3), (False, 2)])
def test_avg_pool_options_match_numpy(k, s, p, d, ceil, include, override):
    x = rand64(2, 2, 5, 7, seed=2)
    pool = nn.AvgPool2d(k, s, p, ceil_mode=ceil, count_include_pad=include,
                        divisor_override=override)
    np.testing.assert_allclose(arr(pool(x)), np_avg_pool(arr(x), k, s, p, ceil, include, override),
                               rtol=1e-12)
    assert_grad_matches(pool, x)


def test_pool_errors():
    with pytest.raises(ValueError, match="pad should be at most half of effective kernel size"):
        F.max_pool2d(ember.zeros(1, 1, 5, 5), 3, padding=2)
    with pytest.raises(ShapeError, match="Output size is too small"):
        F.avg_pool2d(ember.zeros(1, 1, 1, 1), 2)
    with pytest.raises(RuntimeError, match="divisor must be not zero"):
        F.avg_pool2d(ember.zeros(1, 1, 4, 4), 2, divisor_override=0)


def np_adaptive_avg(x, oh, ow):
    h, w = x.shape[-2:]
    out = np.zeros(x.shape[:-2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            r0, r1 = (i * h) // oh, math.ceil((i + 1) * h / oh)
            q0, q1 = (j * w) // ow, math.ceil((j + 1) * w / ow)
            out[..., i, j] = x[..., r0:r1, q0:q1].mean(axis=(-2, -1))
    return out


@pytest.mark.parametrize("size, expected", [(1, (1, 1)), (3, (3, 3)), ((2, None), (2, 7)),
                                            ((4, 3), (4, 3)), ((7, 9), (7, 9))])
def test_adaptive_avg_pool_matches_numpy_and_gradcheck(size, expected):
    x = rand64(2, 3, 5, 7, seed=3)
    pool = nn.AdaptiveAvgPool2d(size)
    out = pool(x)
    assert tuple(out.shape) == (2, 3) + expected
    np.testing.assert_allclose(arr(out), np_adaptive_avg(arr(x), *expected), rtol=1e-12)
    assert_grad_matches(pool, x)


def test_adaptive_avg_pool_is_global_average_and_unbatched():
    x = rand64(3, 4, 6, seed=4)
    np.testing.assert_allclose(arr(F.adaptive_avg_pool2d(x, 1)), arr(x).mean(axis=(1, 2),
                                                                           keepdims=True),
                               rtol=1e-12)
    assert repr(nn.AdaptiveAvgPool2d((3, None))) == "AdaptiveAvgPool2d(output_size=(3, None))"
    with pytest.raises(ShapeError, match="Expected 3D or 4D tensor"):
        F.adaptive_avg_pool2d(ember.zeros(70), 2)
    with pytest.raises(ValueError, match="output_size must be 2"):
        F.adaptive_avg_pool2d(x, (1, 2, 3))


def test_second_derivatives_through_pooling_and_padding():
    """create_graph=True: pooling and padding record their backward with differentiable ops."""
    x = rand64(1, 2, 5, 6, seed=5)
    gg = ember.autograd.gradgradcheck
    assert gg(lambda a: F.max_pool2d(a * a, 3, 2, 1, ceil_mode=True), (x,))
    assert gg(lambda a: F.avg_pool2d(a * a, 3, 2, 1, ceil_mode=True, count_include_pad=False), (x,))
    assert gg(lambda a: F.avg_pool2d(a * a, 2), (x,))
    assert gg(lambda a: F.adaptive_avg_pool2d(a * a, (3, 2)), (x,))
    assert gg(lambda a: F.pad(a * a, (1, 2, 2, 1), mode="reflect"), (x,))
    assert gg(lambda a: F.pad(a * a, (1, 0, 0, 2), value=1.0), (x,))
