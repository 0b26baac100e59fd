"""Module hooks: forward (pre-)hooks and full backward (pre-)hooks with PyTorch's semantics,
checked on small modules whose gradients are known by hand."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
from helpers import assert_module_grads, rand64


def lin_with(weight, bias=0.0):
    lin = nn.Linear(len(weight[0]), len(weight))
    with ember.no_grad():
        lin.weight.copy_(ember.tensor(weight))
        lin.bias.fill_(bias)
    return lin


def recorder(log):
    def hook(module, grad_input, grad_output):
        log.append(([None if g is None else g.tolist() for g in grad_input],
                    [None if g is None else g.tolist() for g in grad_output]))
    return hook


# ---- full backward hooks ------------------------------------------------------------------
def test_full_backward_hook_sees_grad_input_and_grad_output():
    lin, log = lin_with([[0.5, -1.0]]), []
    lin.register_full_backward_hook(recorder(log))
    x = ember.ones(3, 2, requires_grad=True)
    (lin(x) * 2).sum().backward()
    # grad_output = 2 everywhere; grad_input = grad_output @ W
    assert log == [([[[1.0, -2.0]] * 3], [[[2.0]] * 3])]
    assert x.grad.tolist() == [[1.0, -2.0]] * 3


def test_full_backward_hook_without_input_grad_fires_at_the_outputs_and_warns():
    lin, log = lin_with([[0.5, -1.0]]), []
    lin.register_full_backward_hook(recorder(log))
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        lin(ember.ones(3, 2)).sum().backward()
    assert log == [([None], [[[1.0]] * 3])]
    assert lin.weight.grad.tolist() == [[3.0, 3.0]]


class Two(nn.Module):
    def forward(self, a, scale, b):
        return a * 2 * scale, (a * b).sum()


def test_one_entry_per_positional_input_and_output():
    two, log = Two(), []
    two.register_full_backward_hook(recorder(log))
    a, b = ember.ones(2, requires_grad=True), ember.ones(2)
    out1, out2 = two(a, 3, b)
    out1.sum().backward()
    # scale is not a tensor: None; b needs no grad: zeros; out2 got no gradient: None
    assert log[-1] == ([[6.0, 6.0], None, [0.0, 0.0]], [[1.0, 1.0], None])
    b.requires_grad_()
    out1, out2 = two(a, 3, b)
    (out2 * 3 + out1.sum()).backward()
    assert log[-1] == ([[9.0, 9.0], None, [3.0, 3.0]], [[1.0, 1.0], 3.0])


def test_returning_grad_input_replaces_it_and_pre_hook_replaces_grad_output():
    lin = lin_with([[0.5, -1.0]])
    handle = lin.register_full_backward_hook(lambda m, gi, go: (gi[0] * 10,))
    x = ember.ones(1, 2, requires_grad=True)
    lin(x).sum().backward()
    assert x.grad.tolist() == [[5.0, -10.0]] and lin.weight.grad.tolist() == [[1.0, 1.0]]
    handle.remove()
    x.grad = None
    lin(x).sum().backward()
    assert x.grad.tolist() == [[0.5, -1.0]]
    lin2 = lin_with([[0.5, -1.0]])
    lin2.register_full_backward_pre_hook(lambda m, go: (go[0] * 5,))
    x = ember.ones(1, 2, requires_grad=True)
    lin2(x).sum().backward()
    assert x.grad.tolist() == [[2.5, -5.0]] and lin2.weight.grad.tolist() == [[5.0, 5.0]]


def test_hooks_fire_once_per_backward_innermost_first():
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    order = []
    for name, m in (("seq", seq), ("first", seq[0]), ("last", seq[2])):
        m.register_full_backward_hook(lambda m, gi, go, name=name: order.append(name))
    y = seq(ember.ones(4, 2, requires_grad=True)).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert order == ["last", "first", "seq"] * 2


def test_hooks_leave_gradients_exact():
    """A hook that returns None changes nothing: gradients still match finite differences."""
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    calls = []
    for m in model.modules():
        m.register_full_backward_hook(lambda m, gi, go: calls.append(type(m).__name__))
        m.register_full_backward_pre_hook(lambda m, go: None)
    assert_module_grads(model, rand64(5, 3, seed=1))
    assert {"Sequential", "Linear", "Tanh"} <= set(calls)


def test_backward_hook_errors_and_handles():
    lin = nn.Linear(2, 2)
    lin.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_input, got 2, but expected 1"):
        lin(ember.ones(1, 2, requires_grad=True)).sum().backward()
    lin2, log = nn.Linear(2, 2), []
    with lin2.register_full_backward_hook(recorder(log)):
        lin2(ember.ones(1, 2, requires_grad=True)).sum().backward()
    lin2(ember.ones(1, 2, requires_grad=True)).sum().backward()
    assert len(log) == 1
    with ember.no_grad():
        assert lin2(ember.ones(1, 2)).shape == (1, 2)


def test_non_tensor_output_warns_and_skips_backward_hooks():
    class Dict(nn.Module):
        def forward(self, x):
            return {"y": x * 2}
    m, log = Dict(), []
    m.register_full_backward_hook(recorder(log))
    x = ember.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="should be a Tensor or a tuple of Tensors"):
        m(x)["y"].sum().backward()
    assert log == [] and x.grad.tolist() == [2.0, 2.0]


# ---- forward hooks ----------------------------------------------------------------------------
def test_forward_hook_order_kwargs_and_prepend():
    lin, order = nn.Linear(2, 2), []
    lin.register_forward_hook(lambda m, a, o: order.append("second"))
    lin.register_forward_hook(lambda m, a, o: order.append("first"), prepend=True)
    lin.register_forward_hook(lambda m, a, k, o: order.append(sorted(k)), with_kwargs=True)
    lin.register_forward_pre_hook(lambda m, a, k: ((a[0] * 0,), k), with_kwargs=True)
    out = lin(ember.ones(1, 2))
    assert order == ["first", "second", []]
    np.testing.assert_array_equal(out.detach().numpy(), lin.bias.detach().numpy()[None])


def test_forward_hook_always_call_runs_when_forward_raises():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")
    seen = []
    m = Boom()
    m.register_forward_hook(lambda mod, a, o: seen.append(("always", o)), always_call=True)
    m.register_forward_hook(lambda mod, a, o: seen.append("normal"))
    with pytest.raises(ValueError, match="boom"):
        m(1)
    assert seen == [("always", None)]


def test_backward_hooks_under_create_graph():
    """A gradient of a gradient through a hooked module equals the one without hooks."""
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    x = rand64(4, 2, seed=2)
    recorded = []
    assert ember.autograd.gradgradcheck(lambda a: model(a), (x,))
    for m in model:
        m.register_full_backward_hook(lambda m, gi, go: recorded.append(go[0].requires_grad))
    assert ember.autograd.gradgradcheck(lambda a: model(a), (x,))
    assert True in recorded  # with create_graph, grad_output is itself differentiable
