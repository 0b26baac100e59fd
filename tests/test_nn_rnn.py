"""RNN, LSTM, GRU and their cells: PyTorch's gate order, parameter names and shapes, values
against a numpy step written from the equations, gradients against float64 finite differences."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.errors import ShapeError
from helpers import assert_module_grads, rand64


def arr(t):
    return t.detach().numpy()


def sig(a):
    return 1 / (1 + np.exp(-a))


def np_lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    i, f, g, o = np.split(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh, 4, axis=-1)
    c = sig(f) * c + sig(i) * np.tanh(g)
    return sig(o) * np.tanh(c), c


def np_gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    xr, xz, xn = np.split(x @ w_ih.T + b_ih, 3, axis=-1)
    hr, hz, hn = np.split(h @ w_hh.T + b_hh, 3, axis=-1)
    r, z = sig(xr + hr), sig(xz + hz)
    n = np.tanh(xn + r * hn)
    return (1 - z) * n + z * h


def layer_arrays(m, k=None, reverse=False):
    suffix = ("" if k is None else f"_l{k}") + ("_reverse" if reverse else "")
    values = [getattr(m, n + suffix, None) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    return [0.0 if v is None else arr(v) for v in values]


def np_sequence(m, x, states, step):
    """x (L, N, H_in); states: tuple of (num_layers, N, H) arrays; returns output, final states."""
    seq, finals = list(x), [[] for _ in states]
    for k in range(m.num_layers):
        st, out = tuple(s[k] for s in states), []
        for xt in seq:
            st = step(xt, *st, *layer_arrays(m, k))
            st = st if isinstance(st, tuple) else (st,)
            out.append(st[0])
        seq = out
        for f, s in zip(finals, st):
            f.append(s)
    return np.stack(seq), tuple(np.stack(f) for f in finals)


# ---- names, shapes, init ------------------------------------------------------------------
@pytest.mark.parametrize("cls, gates", [(nn.LSTM, 4), (nn.GRU, 3), (nn.RNN, 1)])
def test_parameter_names_shapes_and_init_follow_pytorch(cls, gates):
    ember.manual_seed(0)
    m = cls(3, 5, num_layers=2)
    shapes = {n: tuple(p.shape) for n, p in m.named_parameters()}
    assert shapes == {"weight_ih_l0": (gates * 5, 3), "weight_hh_l0": (gates * 5, 5),
                      "bias_ih_l0": (gates * 5,), "bias_hh_l0": (gates * 5,),
                      "weight_ih_l1": (gates * 5, 5), "weight_hh_l1": (gates * 5, 5),
                      "bias_ih_l1": (gates * 5,), "bias_hh_l1": (gates * 5,)}
    assert list(m.state_dict()) == list(shapes)
    bound = 1 / math.sqrt(5)
    values = np.concatenate([arr(p).ravel() for p in m.parameters()])
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.9 * bound
    assert "bias_ih_l0" not in dict(cls(3, 5, bias=False).named_parameters())


@pytest.mark.parametrize("cls, gates", [(nn.LSTMCell, 4), (nn.GRUCell, 3)])
def test_cell_parameters_and_repr(cls, gates):
    cell = cls(3, 4, bias=False)
    assert {n: tuple(p.shape) for n, p in cell.named_parameters()} == {
        "weight_ih": (gates * 4, 3), "weight_hh": (gates * 4, 4)}
    assert repr(cell) == f"{cls.__name__}(3, 4, bias=False)"
    assert repr(nn.LSTM(3, 4, num_layers=2, batch_first=True)) == \
        "LSTM(3, 4, num_layers=2, batch_first=True)"


def test_all_weights_and_flatten_parameters():
    m = nn.LSTM(2, 3, num_layers=2, bias=False, bidirectional=True)
    assert [[tuple(p.shape) for p in layer] for layer in m.all_weights] == \
        [[(12, 2), (12, 3)]] * 2 + [[(12, 6), (12, 3)]] * 2
    assert m.all_weights[1][0] is m.weight_ih_l0_reverse
    assert m.flatten_parameters() is None


def test_state_dict_moves_between_lstm_layers_of_the_same_shape():
    a, b = nn.LSTM(2, 3, num_layers=2), nn.LSTM(2, 3, num_layers=2)
    b.load_state_dict(a.state_dict())
    x = ember.randn(4, 1, 2)
    assert np.array_equal(arr(a(x)[0]), arr(b(x)[0]))


# ---- cells ----------------------------------------------------------------------------------
def test_lstm_cell_matches_numpy_and_gradcheck():
    cell = nn.LSTMCell(3, 4).double()
    x, h, c = rand64(2, 3, seed=1), rand64(2, 4, seed=2), rand64(2, 4, seed=3)
    h1, c1 = cell(x, (h, c))
    rh, rc = np_lstm_step(arr(x), arr(h), arr(c), *layer_arrays(cell))
    np.testing.assert_allclose(arr(h1), rh, rtol=1e-12)
    np.testing.assert_allclose(arr(c1), rc, rtol=1e-12)
    params = tuple(cell.parameters())
    for which in (0, 1):
        assert ember.autograd.gradcheck(lambda a, b, d, *p: cell(a, (b, d))[which],
                                        (x, h, c) + params)
    h0, c0 = cell(x)  # zero state by default
    np.testing.assert_allclose(arr(h0), np_lstm_step(arr(x), np.zeros((2, 4)), np.zeros((2, 4)),
                                            *layer_arrays(cell))[0],
                               rtol=1e-12)
    hu, cu = cell(x[0], (h[0], c[0]))  # unbatched
    assert hu.shape == (4,) and np.allclose(arr(hu), rh[0])


def test_gru_cell_matches_numpy_and_gradcheck():
    cell = nn.GRUCell(3, 4).double()
    x, h = rand64(2, 3, seed=4), rand64(2, 4, seed=5)
    np.testing.assert_allclose(arr(cell(x, h)), np_gru_step(arr(x), arr(h), *layer_arrays(cell)),
                               rtol=1e-12)
    assert_module_grads(cell, x, h)
    assert cell(x[1]).shape == (4,)
    no_bias = nn.GRUCell(3, 4, bias=False).double()
    np.testing.assert_allclose(arr(no_bias(x, h)),
                               np_gru_step(arr(x), arr(h), *layer_arrays(no_bias)), rtol=1e-12)


def test_cell_errors():
    with pytest.raises(ShapeError, match="input_size. Expected 3, got 5"):
        nn.LSTMCell(3, 4)(ember.zeros(2, 5))
    with pytest.raises(ShapeError, match="batch size 2 doesn't match hidden0 batch size 3"):
        nn.GRUCell(3, 4)(ember.zeros(2, 3), ember.zeros(3, 4))
    with pytest.raises(TypeError, match=r"tuple \(h, c\)"):
        nn.LSTMCell(3, 4)(ember.zeros(2, 3), ember.zeros(2, 4))


# ---- sequence layers ------------------------------------------------------------------------
@pytest.mark.parametrize("num_layers, batch_first, bias", [(1, False, True), (2, True, True),
                                                           (2, False, False)])
def test_lstm_matches_numpy(num_layers, batch_first, bias):
    m = nn.LSTM(3, 4, num_layers=num_layers, batch_first=batch_first, bias=bias).double()
    x, h0, c0 = rand64(5, 2, 3, seed=6), rand64(num_layers, 2, 4, seed=7), rand64(num_layers, 2, 4, seed=8)
    out, (h_n, c_n) = m(x.transpose(0, 1) if batch_first else x, (h0, c0))
    ref_out, (ref_h, ref_c) = np_sequence(m, arr(x), (arr(h0), arr(c0)), np_lstm_step)
    np.testing.assert_allclose(arr(out.transpose(0, 1) if batch_first else out), ref_out, rtol=1e-12)
    np.testing.assert_allclose(arr(h_n), ref_h, rtol=1e-12)
    np.testing.assert_allclose(arr(c_n), ref_c, rtol=1e-12)
    assert out.shape == ((2, 5, 4) if batch_first else (5, 2, 4))
    assert h_n.shape == c_n.shape == (num_layers, 2, 4)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_gru_matches_numpy(num_layers):
    m = nn.GRU(3, 4, num_layers=num_layers).double()
    x, h0 = rand64(5, 2, 3, seed=9), rand64(num_layers, 2, 4, seed=10)
    out, h_n = m(x, h0)
    ref_out, (ref_h,) = np_sequence(m, arr(x), (arr(h0),), np_gru_step)
    np.testing.assert_allclose(arr(out), ref_out, rtol=1e-12)
    np.testing.assert_allclose(arr(h_n), ref_h, rtol=1e-12)


def test_lstm_and_gru_gradcheck_through_time():
    lstm = nn.LSTM(2, 3, num_layers=2).double()
    x, h0, c0 = rand64(4, 2, 2, seed=11), rand64(2, 2, 3, seed=12), rand64(2, 2, 3, seed=13)
    params = tuple(lstm.parameters())
    assert ember.autograd.gradcheck(lambda a, b, c, *p: lstm(a, (b, c))[0], (x, h0, c0) + params)
    assert ember.autograd.gradcheck(lambda a, b, c, *p: lstm(a, (b, c))[1][1], (x, h0, c0) + params)
    gru = nn.GRU(2, 3, batch_first=True).double()
    xb = rand64(2, 4, 2, seed=14)
    assert ember.autograd.gradcheck(lambda a, *p: gru(a)[0], (xb,) + tuple(gru.parameters()))


def test_unbatched_sequences_and_default_states():
    lstm, gru = nn.LSTM(3, 4, num_layers=2), nn.GRU(3, 4)
    x = ember.randn(5, 3)
    out, (h, c) = lstm(x)
    assert out.shape == (5, 4) and h.shape == c.shape == (2, 4)
    out_b, (h_b, _) = lstm(x.unsqueeze(1))
    np.testing.assert_allclose(arr(out), arr(out_b[:, 0]), rtol=1e-6)
    out, h = gru(x, ember.zeros(1, 4))
    assert out.shape == (5, 4) and h.shape == (1, 4)


def test_sequence_layer_errors():
    lstm = nn.LSTM(3, 4, num_layers=2)
    x = ember.zeros(5, 2, 3)
    with pytest.raises(ShapeError, match=r"Expected hidden\[0\] size \(2, 2, 4\), got \[1, 2, 4\]"):
        lstm(x, (ember.zeros(1, 2, 4), ember.zeros(2, 2, 4)))
    with pytest.raises(TypeError, match=r"tuple \(h_0, c_0\)"):
        lstm(x, ember.zeros(2, 2, 4))
    with pytest.raises(ShapeError, match="input_size. Expected 3, got 6"):
        lstm(ember.zeros(5, 2, 6))
    with pytest.raises(ShapeError, match="should also be 2-D"):
        lstm(ember.zeros(5, 3), (ember.zeros(2, 1, 4), ember.zeros(2, 1, 4)))
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="dropout should be a number"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.5)


def test_dropout_between_layers_only_in_training():
    ember.manual_seed(0)
    m = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = ember.randn(6, 2, 3)
    a, b = m(x)[0], m(x)[0]
    assert not np.allclose(arr(a), arr(b))
    m.eval()
    np.testing.assert_array_equal(arr(m(x)[0]), arr(m(x)[0]))


def test_lstm_learns_to_remember_the_first_input():
    """Classify a sequence by its first element, seen 6 steps earlier: needs the cell state."""
    ember.manual_seed(0)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 64)
    x = rng.normal(0, 0.2, (7, 64, 1))
    x[0, :, 0] += 2 * y - 1
    x, y = ember.tensor(x.astype(np.float32)), ember.tensor(y)
    lstm, head = nn.LSTM(1, 8), nn.Linear(8, 2)
    opt = ember.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=0.05)
    for _ in range(60):
        loss = nn.functional.cross_entropy(head(lstm(x)[1][0][-1]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    acc = (head(lstm(x)[1][0][-1]).argmax(1) == y).float().mean().item()
    assert acc > 0.95


def test_bidirectional_lstm_matches_numpy_and_gradcheck():
    m = nn.LSTM(3, 4, num_layers=2, bidirectional=True).double()
    names = [n for n, _ in m.named_parameters()]
    assert names[4:8] == ["weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
                          "bias_hh_l0_reverse"] and m.weight_ih_l1.shape == (16, 8)
    x, h0, c0 = rand64(5, 2, 3, seed=15), rand64(4, 2, 4, seed=16), rand64(4, 2, 4, seed=17)
    out, (h_n, c_n) = m(x, (h0, c0))
    seq, finals_h, finals_c = arr(x), [], []
    for k in range(2):
        outs = []
        for d, rev in enumerate((False, True)):
            h, c, ys = arr(h0)[2 * k + d], arr(c0)[2 * k + d], []
            for xt in (seq[::-1] if rev else seq):
                h, c = np_lstm_step(xt, h, c, *layer_arrays(m, k, rev))
                ys.append(h)
            outs.append(np.stack(ys[::-1] if rev else ys))
            finals_h.append(h)
            finals_c.append(c)
        seq = np.concatenate(outs, axis=-1)
    np.testing.assert_allclose(arr(out), seq, rtol=1e-12)
    np.testing.assert_allclose(arr(h_n), np.stack(finals_h), rtol=1e-12)
    np.testing.assert_allclose(arr(c_n), np.stack(finals_c), rtol=1e-12)
    assert repr(m) == "LSTM(3, 4, num_layers=2, bidirectional=True)"
    gru = nn.GRU(2, 3, bidirectional=True, batch_first=True).double()
    xb = rand64(2, 3, 2, seed=18)
    params = tuple(gru.parameters())
    assert ember.autograd.gradcheck(lambda a, *p: gru(a)[0], (xb,) + params)
    assert ember.autograd.gradcheck(lambda a, *p: gru(a)[1], (xb,) + params)
    assert gru(ember.zeros(3, 2, dtype=ember.float64))[1].shape == (2, 3)


def f64(module):
    ember.manual_seed(0)
    return module.double()


# ---- RNN ----------------------------------------------------------------------------------
def _np_rnn(x, h0, layers):
    """x: (L, N, H_in); layers: [(w_ih, w_hh, b_ih, b_hh)]; returns output and h_n."""
    seq, last = x, []
    for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(layers):
        h, out = h0[k], []
        for xt in seq:
            h = np.tanh(xt @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
            out.append(h)
        seq = np.stack(out)
        last.append(h)
    return seq, np.stack(last)


def test_rnn_cell_matches_numpy_and_gradcheck():
    cell = f64(nn.RNNCell(3, 4))
    x, h = rand64(2, 3, seed=1), rand64(2, 4, seed=2)
    p = {n: arr(t) for n, t in cell.named_parameters()}
    expected = np.tanh(arr(x) @ p["weight_ih"].T + p["bias_ih"] + arr(h) @ p["weight_hh"].T + p["bias_hh"])
    np.testing.assert_allclose(arr(cell(x, h)), expected, rtol=1e-12)
    assert cell(x).shape == (2, 4) and cell(rand64(3, seed=3)).shape == (4,)
    assert_module_grads(cell, x, h)


@pytest.mark.parametrize("batch_first", [False, True])
def test_rnn_two_layers_matches_numpy(batch_first):
    rnn = f64(nn.RNN(3, 4, num_layers=2, batch_first=batch_first))
    assert [n for n, _ in rnn.named_parameters()] == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
        "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"]
    x = rand64(5, 2, 3, seed=4)  # (L, N, H_in)
    h0 = rand64(2, 2, 4, seed=5)
    layers = [tuple(arr(getattr(rnn, f"{n}_l{k}")) for n in ("weight_ih", "weight_hh", "bias_ih",
                                                            "bias_hh")) for k in range(2)]
    out_ref, h_ref = _np_rnn(arr(x), arr(h0), layers)
    inp = x.transpose(0, 1) if batch_first else x
    out, h_n = rnn(inp, h0)
    if batch_first:
        out = out.transpose(0, 1)
    np.testing.assert_allclose(arr(out), out_ref, rtol=1e-12)
    np.testing.assert_allclose(arr(h_n), h_ref, rtol=1e-12)
    assert h_n.shape == (2, 2, 4)


def test_rnn_gradcheck_and_unbatched():
    rnn = f64(nn.RNN(2, 3))
    x = rand64(4, 1, 2, seed=6)
    params = tuple(rnn.parameters())
    assert ember.autograd.gradcheck(lambda t, *p: rnn(t)[0], (x,) + params)
    assert ember.autograd.gradcheck(lambda t, *p: rnn(t)[1], (x,) + params)
    out, h = rnn(rand64(4, 2, seed=7))
    assert out.shape == (4, 3) and h.shape == (1, 3)
    with pytest.raises(ShapeError, match=r"Expected hidden size \(1, 1, 3\), got \[2, 1, 3\]"):
        rnn(x, ember.zeros(2, 1, 3, dtype=ember.float64))
