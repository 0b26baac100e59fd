"""ember.jit.script: Python if/while/for on tensor values compiled into cond / while_loop nodes.
Each compiled function is compared with the same Python run eagerly, on inputs taking every
branch, and its gradients with eager autograd (itself checked against central differences)."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.jit import ScriptError


@pytest.fixture(autouse=True)
def seed():
    ember.manual_seed(0)


def _line_of(fn, text: str) -> int:
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if text in line)


def lecture_model(x, y, w1, w2a, w2b, prev_loss):
    w2 = w2a if prev_loss < 5.0 else w2b
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    return loss


def test_lecture_model_compiles_its_if_into_a_cond_and_matches_eager_both_ways():
    scripted = ember.jit.script(lecture_model)
    x, y = ember.randn(6, 4, dtype=ember.float64), ember.randn(6, 2, dtype=ember.float64)
    ws = [ember.randn(*s, dtype=ember.float64, requires_grad=True) for s in ((4, 5), (5, 2), (5, 2))]
    for prev in (3.0, 7.0):                       # one compiled graph, both branches
        got = scripted(x, y, *ws, ember.tensor(prev, dtype=ember.float64))
        got.backward()
        grads = [w.grad.numpy().copy() for w in ws]
        for w in ws:
            w.grad = None
        want = lecture_model(x, y, *ws, ember.tensor(prev, dtype=ember.float64))
        want.backward()
        assert np.isclose(got.item(), want.item())
        used, unused = (1, 2) if prev < 5.0 else (2, 1)
        np.testing.assert_allclose(grads[0], ws[0].grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(grads[used], ws[used].grad.numpy(), rtol=1e-10)
        assert not grads[unused].any()            # the branch not taken: a zero gradient
        for w in ws:
            w.grad = None
    assert len(scripted._compiled) == 1
    counts = scripted.graph.op_counts()
    assert counts["cond"] == 1 and "if_exp" in scripted.code


def test_if_statement_matches_eager_on_each_branch_and_gradcheck():
    def f(x, w):
        h = x @ w
        if h.sum() > 0:
            out = h.tanh() * 2.0
            extra = 1.0
        else:
            out = h * h
            extra = 3.0
        return out * extra
    scripted = ember.jit.script(f)
    w = ember.randn(3, 2, dtype=ember.float64, requires_grad=True)
    for sign in (1.0, -1.0):
        x = (sign * ember.ones(4, 3, dtype=ember.float64)).requires_grad_()
        np.testing.assert_allclose(scripted(x, w).detach().numpy(), f(x, w).detach().numpy())
        assert ember.autograd.gradcheck(lambda a, b: scripted(a, b), (x, w))
    assert scripted.graph.op_counts()["cond"] == 1


def test_while_loop_with_a_data_dependent_trip_count_matches_eager():
    def grow(x):
        steps = 0
        while x.sum() < 10.0:
            x = x * 2.0
            steps += 1
        return x, steps
    scripted = ember.jit.script(grow)
    for start in ([1.0, 2.0], [0.1, 0.2], [20.0, 1.0]):
        x = ember.tensor(start, dtype=ember.float64, requires_grad=True)
        got_x, got_steps = scripted(x)
        want_x, want_steps = grow(x)
        np.testing.assert_allclose(got_x.detach().numpy(), want_x.detach().numpy())
        assert got_steps.item() == want_steps
        got_x.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [2.0 ** want_steps] * 2)
    assert scripted.graph.op_counts()["while_loop"] == 1 and len(scripted._compiled) == 1


def test_rnn_loop_over_a_tensor_length_and_gradients():
    def rnn(xs, h, w, n):
        for t in range(n):
            h = (h @ w + xs[t]).tanh()     # xs[t]: traced as one step's row
        return h
    scripted = ember.jit.script(rnn)
    xs = ember.randn(5, 2, 3, dtype=ember.float64)
    h0 = ember.randn(2, 3, dtype=ember.float64, requires_grad=True)
    w = (0.5 * ember.randn(3, 3, dtype=ember.float64)).requires_grad_()
    for n in (3, 5, 0):
        got = scripted(xs, h0, w, n)
        np.testing.assert_allclose(got.detach().numpy(), rnn(xs, h0, w, n).detach().numpy())
        got.pow(2).sum().backward()
        grads = [h0.grad.numpy().copy(), w.grad.numpy().copy()]
        h0.grad = w.grad = None
        rnn(xs, h0, w, n).pow(2).sum().backward()
        np.testing.assert_allclose(grads[0], h0.grad.numpy(), rtol=1e-10)
        want_w = w.grad.numpy() if n else np.zeros((3, 3))   # eager: None when w is unused
        np.testing.assert_allclose(grads[1], want_w, rtol=1e-10, atol=1e-14)
        h0.grad = w.grad = None
    assert scripted.graph.op_counts().get("while_loop") == 1 and len(scripted._compiled) == 1
    assert ember.autograd.gradcheck(lambda a, b: scripted(xs, a, b, 4), (h0, w))


def test_early_returns_and_elif_chains_compile():
    def f(x, k: int):
        if k == 0:
            return x
        elif x.mean() > 1.0:
            y = x - 1.0          # a branch's own temporary
            return y * 2.0
        else:
            if x.sum() < -5:
                return x * 0.0
            return x + 1.0
    scripted = ember.jit.script(f)
    for v, k in ((3.0, 1), (0.5, 1), (-3.0, 1), (3.0, 0)):
        x = ember.full((3,), v)
        assert scripted(x, k).tolist() == f(x, k).tolist()
    assert len(scripted._compiled) == 1 and scripted.graph.op_counts()["cond"] == 1
    assert "_ember_return" in scripted.code


def test_python_values_still_decide_in_python():
    def f(x, k: int = 3):
        for _ in range(3):          # a Python range: unrolled, no loop node
            x = x * 2.0
        if x.ndim == 2:             # a Python bool: decided while compiling
            x = x.sum(dim=1)
        return x
    scripted = ember.jit.script(f)
    out = scripted(ember.ones(2, 3))
    assert out.tolist() == [24.0, 24.0]
    counts = scripted.graph.op_counts()
    assert counts["mul"] == 3 and "while_loop" not in counts and "cond" not in counts


def test_and_or_not_on_tensors_and_nested_control_flow():
    def f(a, b):
        total = a * 0.0
        i = 0
        while i < 4:
            if (a.sum() > 0 and b.sum() > 0) or not (a.sum() > -100.0):
                total = total + a
            else:
                total = total - b
            i += 1
        return total
    scripted = ember.jit.script(f)
    for a, b in (([1.0], [1.0]), ([1.0], [-1.0]), ([-1.0], [1.0])):
        a, b = ember.tensor(a), ember.tensor(b)
        assert scripted(a, b).tolist() == f(a, b).tolist()


def test_scripted_module_trains_its_parameters():
    class Gate(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 2), nn.Linear(3, 2)

        def forward(self, x):
            if x.mean() > 0:
                y = self.a(x)
            else:
                y = self.b(x)
            return y
    model = Gate()
    scripted = ember.jit.script(model)
    x = ember.randn(7, 3)
    for sign in (1.0, -1.0):
        xs = x.abs() * sign
        np.testing.assert_allclose(scripted(xs).detach().numpy(), model(xs).detach().numpy(),
                                   rtol=1e-6)
    scripted(ember.randn(4, 3).abs()).sum().backward()      # another batch size
    assert model.a.weight.grad is not None and model.b.weight.grad is not None
    assert model.a.weight.grad.abs().sum().item() > 0 and model.b.weight.grad.abs().sum().item() == 0


def test_unsupported_code_is_an_error_naming_the_line():
    def breaks(x):
        while x.sum() < 10:
            x = x * 2.0
            if x.max() > 3:
                break
        return x
    with pytest.raises(ScriptError, match=f"line {_line_of(breaks, 'while x.sum()')}.*"
                                          f"if/while \\(bool\\)"):
        ember.jit.script(breaks)(ember.ones(2))

    def item(x):
        k = x.sum().item()
        return x * k
    with pytest.raises(ScriptError, match=f"line {_line_of(item, '.item()')}.*`k = x.sum"):
        ember.jit.script(item)(ember.ones(2))

    def one_branch(x):
        if x.sum() > 0:
            y = x
        return y
    with pytest.raises(ScriptError, match=f"line {_line_of(one_branch, 'if x.sum()')}: 'y' is "
                                          f"assigned only in the true branch.*used after it"):
        ember.jit.script(one_branch)(ember.ones(2))

    def trying(x):
        try:
            x = x + 1
        except ValueError:
            pass
        return x
    with pytest.raises(ScriptError, match=f"line {_line_of(trying, 'try:')}: try/except"):
        ember.jit.script(trying)

    def changes_dtype(x):
        i = 0
        while x.sum() < 3:
            x = x + 1
            i = i + 0.5
        return x
    with pytest.raises(ScriptError, match="changes 'i' from int64 to float32"):
        ember.jit.script(changes_dtype)(ember.zeros(2))
    with pytest.raises(ScriptError, match="lambda can't be scripted"):
        ember.jit.script(lambda x: x)

    def via_numpy(x):
        return x + ember.tensor(np.sin(x.numpy()))
    with pytest.raises(ScriptError, match=f"line {_line_of(via_numpy, 'np.sin')}.*\\.numpy\\(\\)"):
        ember.jit.script(via_numpy)(ember.ones(2))

    def ranks_differ(x):
        if x.sum() > 0:
            return x.reshape(1, -1)
        return x
    with pytest.raises(ScriptError, match=f"{__file__}, line {_line_of(ranks_differ, 'if x')}: "
                                          f"the returned value has rank 2 in one branch and 1"):
        ember.jit.script(ranks_differ)(ember.ones(3))


def test_for_over_a_tensors_rows_is_a_loop_of_any_length():
    def encode(xs, h, w):
        for x_t in xs:                 # the rows of xs: as many as the input has
            h = (h @ w + x_t).tanh()
        return h
    scripted = ember.jit.script(encode)
    w = (0.5 * ember.randn(3, 3, dtype=ember.float64)).requires_grad_()
    h0 = ember.zeros(2, 3, dtype=ember.float64)
    for steps in (4, 2, 7):
        xs = ember.randn(steps, 2, 3, dtype=ember.float64)
        np.testing.assert_allclose(scripted(xs, h0, w).detach().numpy(),
                                   encode(xs, h0, w).detach().numpy(), rtol=1e-12)
    assert len(scripted._compiled) == 1 and scripted.graph.op_counts()["while_loop"] == 1
    assert ember.autograd.gradcheck(lambda a: scripted(xs, h0, a), (w,))
    layers = [ember.nn.Linear(3, 3) for _ in range(2)]

    def stack(x):
        for layer in layers:           # a Python list: unrolled, as in plain Python
            x = layer(x)
        return x
    assert ember.jit.script(stack)(ember.ones(1, 3)).shape == (1, 3)
