"""Conv2d (groups, padding modes, 'same'), F.pad and max/avg pooling: values against numpy loops
written here, gradients (and second derivatives) against float64 finite differences."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.errors import ShapeError
from helpers import assert_grad_matches, assert_module_grads, rand64


def f64(module):
    ember.manual_seed(0)
    return module.double()


def arr(t):
    return t.detach().numpy()


# ---- Conv2d and pooling -------------------------------------------------------------------
def _np_conv2d(x, w, b, stride, pad, dil):
    x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    ho = (h - dil[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd - dil[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            r, s = i * stride[0], j * stride[1]
            patch = x[:, :, r:r + dil[0] * (kh - 1) + 1:dil[0], s:s + dil[1] * (kw - 1) + 1:dil[1]]
            out[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w)
    return out if b is None else out + b.reshape(1, -1, 1, 1)


@pytest.mark.parametrize("kw", [
    dict(),
    dict(stride=2),
    dict(padding=1),
    dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1)),
    dict(bias=False),
])
def test_conv2d_matches_numpy_loops_and_gradcheck(kw):
    bias = kw.pop("bias", True)
    conv = f64(nn.Conv2d(2, 3, (3, 2), bias=bias, **kw))
    x = rand64(2, 2, 6, 5, seed=6)
    stride = conv.stride
    expected = _np_conv2d(arr(x), arr(conv.weight), None if conv.bias is None else arr(conv.bias),
                          stride, conv.padding, conv.dilation)
    np.testing.assert_allclose(arr(conv(x)), expected, rtol=1e-10, atol=1e-12)
    assert_module_grads(conv, x)


def test_conv2d_same_padding_unbatched_and_init():
    ember.manual_seed(0)
    conv = nn.Conv2d(3, 8, 3, padding="same")
    x = ember.randn(3, 7, 7)
    assert conv(x).shape == (8, 7, 7)
    bound = 1 / math.sqrt(3 * 3 * 3)
    assert np.abs(arr(conv.weight)).max() <= bound and np.abs(arr(conv.bias)).max() <= bound
    assert repr(conv) == "Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=same)"


def test_conv2d_same_padding_with_even_kernel_pads_after():
    x, w = rand64(2, 3, 5, 6, seed=13), rand64(4, 3, 2, 4, seed=14)
    out = F.conv2d(x, w, padding="same", dilation=(1, 1))
    padded = np.pad(arr(x), ((0, 0), (0, 0), (0, 1), (1, 2)))  # total 1 and 3: extra after
    np.testing.assert_allclose(arr(out), _np_conv2d(padded, arr(w), None, (1, 1), (0, 0), (1, 1)),
                               rtol=1e-10, atol=1e-12)
    assert_grad_matches(lambda a, b: F.conv2d(a, b, padding="same"), x, w)
    with pytest.raises(RuntimeError, match="not supported for strided convolutions"):
        F.conv2d(x, w, padding="same", stride=2)
    with pytest.raises(ValueError, match="Invalid padding string 'full'"):
        F.conv2d(x, w, padding="full")


def test_conv2d_errors_name_shapes():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(ShapeError, match=r"got input of shape \(2, 1, 8, 8\): expected \(N, 3, H, W\)"):
        conv(ember.randn(2, 1, 8, 8))
    with pytest.raises(ShapeError, match="kernel 3x3 .* larger than the padded input 2x2"):
        conv(ember.randn(1, 3, 2, 2))
    with pytest.raises(ShapeError, match="to have 2 channels, but got 3 channels instead"):
        F.conv2d(ember.randn(1, 3, 5, 5), ember.randn(4, 2, 3, 3))


@pytest.mark.parametrize("c_in, c_out, groups", [(4, 6, 2), (3, 3, 3), (6, 3, 3)])
def test_conv2d_groups_are_independent_convolutions(c_in, c_out, groups):
    conv = f64(nn.Conv2d(c_in, c_out, 3, padding=1, stride=(1, 2), groups=groups))
    assert conv.weight.shape == (c_out, c_in // groups, 3, 3)
    x = rand64(2, c_in, 5, 6, seed=8)
    w, b, ci, co = arr(conv.weight), arr(conv.bias), c_in // groups, c_out // groups
    expected = np.concatenate([
        _np_conv2d(arr(x)[:, k * ci:(k + 1) * ci], w[k * co:(k + 1) * co], b[k * co:(k + 1) * co],
                   conv.stride, conv.padding, conv.dilation) for k in range(groups)], axis=1)
    np.testing.assert_allclose(arr(conv(x)), expected, rtol=1e-10, atol=1e-12)
    assert_module_grads(conv, x)
    assert repr(conv).endswith(f"groups={groups})")


@pytest.mark.parametrize("groups", [1, 2])
def test_conv2d_second_derivatives_for_gradient_penalties(groups):
    """d/dw of |d out / d x|^2 (a WGAN-GP style penalty) needs conv's backward recorded."""
    x, w, b = rand64(1, 2, 5, 4, seed=15), rand64(4, 2 // groups, 3, 2, seed=16), rand64(4, seed=17)
    assert ember.autograd.gradgradcheck(
        lambda a, k, c: F.conv2d(a, k, c, stride=(2, 1), padding=1, dilation=(1, 2),
                                 groups=groups), (x, w, b))
    conv = f64(nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular"))
    assert ember.autograd.gradgradcheck(lambda a: conv(a).tanh(), (x,))


def test_conv2d_groups_errors_and_init():
    ember.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, groups=2)
    bound = 1 / math.sqrt(2 * 3 * 3)  # fan_in counts one group's channels
    assert bound * 0.9 < np.abs(arr(conv.weight)).max() <= bound
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        nn.Conv2d(4, 3, 3, groups=2)
    with pytest.raises(ShapeError, match="expected input.* to have 6 channels, but got 3"):
        F.conv2d(ember.randn(1, 3, 5, 5), ember.randn(4, 3, 3, 3), groups=2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(4, 6, 3, padding_mode="mirror")


NP_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@pytest.mark.parametrize("mode", list(NP_PAD_MODES))
@pytest.mark.parametrize("shape, widths", [((2, 5), (1, 3)), ((2, 3, 4), (1, 2, 2, 0)),
                                           ((1, 2, 4, 5), (3, 3, 2, 1))])
def test_pad_modes_match_numpy_and_gradcheck(mode, shape, widths):
    x = rand64(*shape, seed=11)
    np_widths = [(0, 0)] * len(shape)
    for i in range(len(widths) // 2):
        np_widths[len(shape) - 1 - i] = (widths[2 * i], widths[2 * i + 1])
    np.testing.assert_array_equal(arr(F.pad(x, widths, mode=mode)),
                                  np.pad(arr(x), np_widths, mode=NP_PAD_MODES[mode]))
    assert_grad_matches(lambda t: F.pad(t, widths, mode=mode), x)


def test_pad_mode_errors():
    with pytest.raises(ValueError, match="less than the corresponding input dimension"):
        F.pad(ember.zeros(1, 2, 3), (3, 3), mode="reflect")
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 4D"):
        F.pad(ember.zeros(1, 1, 2, 5), (1, 1), mode="replicate")
    with pytest.raises(ValueError, match="doesn't take in value"):
        F.pad(ember.zeros(1, 2, 3), (1, 1), mode="circular", value=2.0)


@pytest.mark.parametrize("mode", list(NP_PAD_MODES))
def test_conv2d_padding_modes_pad_the_input_then_convolve(mode):
    conv = f64(nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode=mode))
    x = rand64(1, 2, 5, 6, seed=12)
    padded = np.pad(arr(x), ((0, 0), (0, 0), (1, 1), (2, 2)), mode=NP_PAD_MODES[mode])
    expected = _np_conv2d(padded, arr(conv.weight), arr(conv.bias), (1, 1), (0, 0), (1, 1))
    np.testing.assert_allclose(arr(conv(x)), expected, rtol=1e-10, atol=1e-12)
    assert_module_grads(conv, x)
    assert repr(conv).endswith(f"padding=(1, 2), padding_mode={mode})")
    same = nn.Conv2d(2, 3, 3, padding="same", padding_mode=mode)
    assert same(ember.randn(1, 2, 5, 6)).shape == (1, 3, 5, 6)


def _np_pool(x, k, s, p, reduce, pad_value):
    x = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=pad_value)
    ho = (x.shape[2] - k[0]) // s[0] + 1
    wo = (x.shape[3] - k[1]) // s[1] + 1
    out = np.zeros(x.shape[:2] + (ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = reduce(x[:, :, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]],
                                     axis=(2, 3))
    return out


@pytest.mark.parametrize("k, s, p", [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)),
                                     ((2, 3), (1, 2), (0, 1))])
def test_pooling_matches_numpy_and_gradcheck(k, s, p):
    x = rand64(2, 3, 6, 7, seed=7)
    mp, ap = nn.MaxPool2d(k, s, p), nn.AvgPool2d(k, s, p)
    np.testing.assert_allclose(arr(mp(x)), _np_pool(arr(x), k, s, p, np.max, -np.inf), rtol=1e-12)
    np.testing.assert_allclose(arr(ap(x)), _np_pool(arr(x), k, s, p, np.mean, 0.0), rtol=1e-12)
    assert_grad_matches(mp, x)
    assert_grad_matches(ap, x)


def test_max_pool_sends_the_gradient_to_the_max_only():
    x = ember.tensor([[[[1.0, 5.0], [3.0, 2.0]]]], requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.tolist() == [[[[0.0, 1.0], [0.0, 0.0]]]]
