"""Autograd semantics: accumulation, graph freeing, no_grad, in-place safety, Functions, grad()."""
import sys

import numpy as np
import pytest

import ember
from ember import AutogradError
from helpers import assert_grad_matches, rand64


def test_gradients_accumulate_until_zeroed():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    (w * 3).sum().backward()
    (w * 3).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [6.0, 6.0])
    w.grad.zero_()
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 4.0])


def test_grad_of_shared_input_sums_both_paths():
    x = ember.tensor(3.0, requires_grad=True)
    (x * x + x).backward()
    assert x.grad.item() == pytest.approx(7.0)


def test_leaf_grads_never_alias_each_other():
    a = ember.tensor([1.0, 2.0], requires_grad=True)
    b = ember.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.zero_()
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])


def test_second_backward_raises_unless_retain_graph():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])
    with pytest.raises(AutogradError, match="second time.*retain_graph=True"):
        y.backward()


def test_backward_on_non_scalar_needs_gradient():
    x = ember.ones(2, 3, requires_grad=True)
    y = x * 2
    with pytest.raises(AutogradError, match=r"scalar outputs.*shape \(2, 3\)"):
        y.backward()
    y.backward(ember.ones(2, 3))
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.ones((2, 3)))


def test_backward_without_graph_explains():
    with pytest.raises(AutogradError, match="does not require grad"):
        ember.ones(2).sum().backward()


def test_no_grad_context_and_decorator_and_enable_grad():
    x = ember.ones(2, requires_grad=True)
    with ember.no_grad():
        y = x * 2
        with ember.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn.name() == "MulBackward0"

    @ember.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad
    assert ember.is_grad_enabled()


def test_inplace_on_leaf_requiring_grad_raises_outside_no_grad():
    w = ember.ones(3, requires_grad=True)
    with pytest.raises(AutogradError, match=r"leaf tensor.*in-place operation \(sub_\).*no_grad"):
        w -= 1
    with ember.no_grad():
        w -= 1
    np.testing.assert_allclose(w.detach().numpy(), 0.0)


def test_inplace_change_of_saved_tensor_raises_at_backward_naming_op():
    x = ember.ones(3, requires_grad=True)
    y = x * 2
    z = y.exp()       # exp saves its output ...
    y2 = y * 1        # ... while mul's output y is only needed by exp
    y.add_(1)         # so this in-place edit is harmless
    z.sum().backward()
    w = ember.ones(3, requires_grad=True)
    a = w.exp()
    b = a * w          # MulBackward0 saves a (w's gradient reads it)
    a.mul_(2)
    with pytest.raises(AutogradError, match="modified by an in-place operation.*MulBackward0"):
        b.sum().backward()
    assert y2.requires_grad


def test_multiply_by_a_constant_saves_nothing():
    """`b = a * 2` keeps no copy of a (as PyTorch): editing b afterwards is fine."""
    a = rand64(2, 3, seed=1)
    a.requires_grad_()
    b = a * 2
    b[0] = 0
    b[:, 1] = b[:, 2] * 3
    (b / 4).sum().backward()
    expected = np.zeros((2, 3))
    expected[1, 0] = 2 / 4
    expected[1, 2] = (2 + 2 * 3) / 4   # b[1, 2] is read twice: itself and into b[1, 1]
    np.testing.assert_allclose(a.grad.numpy(), expected)
    w = ember.ones(3, requires_grad=True)
    c = w.exp()
    d = c * w          # both saved: each one's gradient reads the other
    c.mul_(2)
    with pytest.raises(RuntimeError, match="MulBackward0"):
        d.sum().backward()
    y = w * 1
    z = y / 4          # y is read only for the divisor's gradient: not saved
    y.add_(1)
    z.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [0.25] * 3)
    q = 1 / y          # the divisor is read for its own gradient: saved
    y.add_(1)
    with pytest.raises(RuntimeError, match="DivBackward0"):
        q.sum().backward()


def test_inplace_ops_record_in_graph():
    x = rand64(4, seed=0)
    def fn(x):
        y = x * 1
        y += x
        y *= x
        y.sub_(1).div_(2)
        return y
    assert_grad_matches(fn, x)


def test_deep_graph_has_no_recursion_limit():
    x = ember.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(sys.getrecursionlimit() * 3):
        y = y + 0.001
    y.backward()
    assert x.grad.item() == 1.0


def test_broadcast_gradient_reduced_to_parameter_shape():
    b = ember.zeros(1, 3, requires_grad=True)
    x = ember.ones(5, 3)
    (x + b).sum().backward()
    assert b.grad.shape == (1, 3)
    np.testing.assert_allclose(b.grad.numpy(), 5.0)


def test_autograd_grad_returns_without_touching_dot_grad():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = ember.tensor([3.0], requires_grad=True)
    out = (x * x).sum() * y
    gx, gy = ember.autograd.grad(out, [x, y])
    np.testing.assert_allclose(gx.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(gy.numpy(), [5.0])
    assert x.grad is None and y.grad is None
    z = ember.ones(1, requires_grad=True)
    with pytest.raises(AutogradError, match="not used"):
        ember.autograd.grad((x * 2).sum(), [z])
    assert ember.autograd.grad((x * 2).sum(), [x, z], allow_unused=True)[1] is None


def test_retain_grad_keeps_intermediate_gradient():
    x = ember.tensor([1.0, -1.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h.relu() * 2).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [2.0, 0.0])


def test_hooks_see_grads_in_engine_order():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).exp().sum()
    seen = []
    assert [n.name() for n in ember.autograd.backward_order(y)] == [
        "SumBackward0", "ExpBackward0", "MulBackward0", "AccumulateGrad"]
    for node in ember.autograd.backward_order(y):
        node.register_hook(lambda gi, go, n=node: seen.append(n.name()))
    y.backward()
    assert seen == ["SumBackward0", "ExpBackward0", "MulBackward0", "AccumulateGrad"]


def test_graph_api_for_widgets():
    w = ember.ones(2, 2, requires_grad=True)
    out = (ember.ones(3, 2) @ w).sum()
    names = [n.name() for n in ember.autograd.backward_order(out)]
    assert names == ["SumBackward0", "MatMulBackward0", "AccumulateGrad"]
    mm = out.grad_fn.next_functions[0][0]
    assert mm.next_functions[0][0] is None
    assert mm.next_functions[1][0].variable is w
    assert "grad" in mm.rule and mm.output_shape == (3, 2)


class Cube(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x ** 3 * scale

    @staticmethod
    def backward(ctx, grad_out):
        x, = ctx.saved_tensors
        return grad_out * 3 * x ** 2 * ctx.scale, None


def test_custom_function_gradcheck_and_ctx():
    x = rand64(5, seed=3)
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward"
    assert y.grad_fn.needs_input_grad == (True, False)
    assert_grad_matches(lambda t: Cube.apply(t, 2.0), x)


def test_custom_function_saved_tensor_modified_in_place_raises():
    x = ember.ones(3, requires_grad=True)
    h = x * 1
    y = Cube.apply(h, 1.0)
    h.add_(1)
    with pytest.raises(AutogradError, match="in-place"):
        y.sum().backward()


def test_custom_function_wrong_number_of_grads():
    class Bad(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g
    a, b = ember.ones(2, requires_grad=True), ember.ones(2, requires_grad=True)
    with pytest.raises(AutogradError, match="returned 1 gradient.*took 2"):
        Bad.apply(a, b).sum().backward()


def test_gradcheck_catches_a_wrong_backward():
    class WrongSigmoid(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            s = x.sigmoid()
            ctx.save_for_backward(s)
            return s

        @staticmethod
        def backward(ctx, g):
            s, = ctx.saved_tensors
            return g * s  # forgot (1 - s)
    with pytest.raises(AutogradError, match="does not match the numerical gradient"):
        ember.autograd.gradcheck(WrongSigmoid.apply, (rand64(4, seed=1),))
    with pytest.raises(ember.DTypeError, match="float64"):
        ember.autograd.gradcheck(ember.exp, (ember.ones(2, requires_grad=True),))


def test_detach_and_requires_grad_rules():
    x = ember.ones(2, requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    with pytest.raises(ember.DTypeError, match="floating point"):
        ember.tensor([1, 2], requires_grad=True)
    with pytest.raises(AutogradError, match="leaf"):
        (x * 2).requires_grad_(False)
    assert (x * 2).is_leaf is False and x.is_leaf


def test_variable_alias_from_old_lecture_code():
    from ember.autograd import Variable
    x = Variable(ember.randn(3, 2), requires_grad=True)
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0)
    x.data -= 0.5 * x.grad.data  # the lecture's old update style: untracked, allowed


def test_overwriting_in_place_blocks_gradient_and_copy_passes_it():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    src = ember.tensor([5.0, 7.0], requires_grad=True)
    y = x * 3
    y.zero_()
    (y * 2 + x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])  # only the direct path
    z = x * 1
    z.copy_(src)
    (z * z).sum().backward()
    np.testing.assert_allclose(src.grad.numpy(), [10.0, 14.0])
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])  # unchanged: z's old values are gone
    assert ember.autograd.gradcheck(lambda s: (ember.zeros(3, 2, dtype=ember.float64) * 1).copy_(s) ** 2,
                                    (rand64(2, seed=1),))


def test_zero_dim_gradients_are_tensors_that_print():
    b = ember.tensor(2.0, requires_grad=True)
    (b ** 3).backward()
    assert b.grad.item() == pytest.approx(12.0) and "12." in repr(b.grad)
    g, = ember.autograd.grad(b ** 3, b)
    assert g.shape == () and g.item() == pytest.approx(12.0)


def test_gradcheck_leaves_existing_grads_alone():
    x = rand64(3, seed=2)
    (x * 2).sum().backward()
    ember.autograd.gradcheck(ember.tanh, (x,))
    np.testing.assert_allclose(x.grad.numpy(), 2.0)


def test_reading_grad_of_non_leaf_warns():
    x = ember.ones(2, requires_grad=True)
    y = x * 2
    y.sum().backward()
    with pytest.warns(UserWarning, match="retain_grad"):
        assert y.grad is None


def test_leaf_gradient_follows_data_replaced_after_first_backward():
    """A leaf's AccumulateGrad outlives `.data = ...` (as model.double() does): later grads take
    the leaf's new shape and dtype, not the ones it had when the node was made."""
    w = ember.ones(3, requires_grad=True)
    (w * 2).sum().backward()
    w.data = ember.ones(2, 3, dtype=ember.float64)
    w.grad = None
    (w * 3).sum().backward()
    assert w.grad.dtype == ember.float64 and tuple(w.grad.shape) == (2, 3)
    np.testing.assert_array_equal(w.grad.numpy(), np.full((2, 3), 3.0))
    assert w.grad_fn is None and w._grad_node().output_shape == (2, 3)


def test_gradients_of_broadcast_uses_that_do_not_broadcast_together():
    """x (3, 1) feeds results of shapes (3, 4) and (2, 3, 5): each gradient is reduced to x's
    shape before the two are added (they can't be added as they arrive)."""
    x = rand64(3, 1, seed=7)
    a, b = rand64(3, 4, seed=8, requires_grad=False), rand64(2, 3, 5, seed=9, requires_grad=False)
    assert_grad_matches(lambda x: ((x + a) ** 2).sum() + ((x * 1 + b) ** 3).sum(), x)
    assert_grad_matches(lambda x: (lambda h: (h + a).sum() + (h * b).sum())(x * 2), x)


def test_tensor_register_hook_sees_and_replaces_gradients():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: seen.append(("x", g.tolist())) or g * 2)
    y = x * 3
    y.register_hook(lambda g: seen.append(("y", g.tolist())))      # returns None: unchanged
    y.retain_grad()
    y.register_hook(lambda g: g + 1)
    (y * y).sum().backward()
    # dy = 2y = [6, 12, 18]; the second hook adds 1; dx = 3 * dy, doubled by x's hook
    assert seen == [("y", [6.0, 12.0, 18.0]), ("x", [21.0, 39.0, 57.0])]
    assert y.grad.tolist() == [7.0, 13.0, 19.0]
    assert x.grad.tolist() == [42.0, 78.0, 114.0]
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        ember.ones(2).register_hook(print)
    with pytest.raises(RuntimeError, match="shape"):
        z = ember.ones(2, requires_grad=True)
        z.register_hook(lambda g: ember.ones(3))
        z.sum().backward()


class _TwoOutputs(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 2, x * x

    @staticmethod
    def backward(ctx, g_double, g_square):
        x, = ctx.saved_tensors
        return g_double * 2 + g_square * 2 * x


class _MaxWithIndex(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        values, indices = x.max(1)
        ctx.mark_non_differentiable(indices)
        ctx.save_for_backward(x, indices)
        return values, indices

    @staticmethod
    def backward(ctx, g_values, g_indices):
        x, indices = ctx.saved_tensors
        assert g_indices.tolist() == [0] * len(g_indices)   # unused outputs get zeros
        g = ember.zeros(x.shape, dtype=x.dtype)
        g[ember.arange(x.shape[0]), indices] = g_values
        return g


def test_function_with_several_outputs():
    x = rand64(3, seed=4)
    assert_grad_matches(lambda x: sum(_TwoOutputs.apply(x)), x)
    assert_grad_matches(lambda x: _TwoOutputs.apply(x)[1], x)   # the other output unused
    a, b = _TwoOutputs.apply(x)
    assert a.grad_fn.name() == b.grad_fn.name() == "_TwoOutputsBackward"


def test_function_mark_non_differentiable():
    y = ember.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 1.0]], requires_grad=True)
    values, indices = _MaxWithIndex.apply(y)
    assert values.requires_grad and not indices.requires_grad
    assert indices.tolist() == [1, 0]
    (values * ember.tensor([1.0, 10.0])).sum().backward()
    assert y.grad.tolist() == [[0.0, 1.0, 0.0], [10.0, 0.0, 0.0]]


def _inplace_on_views(x, w):
    y = x * 2
    y[0] += w[0]              # getitem view, in-place add, then index assignment
    y[:, 1].mul_(x[:, 2])     # column view of a non-leaf, scaled by another input
    y.t()[2].clamp_(min=0.3)  # a view of a view
    y[1][0] = w[1, 1]         # assignment into a view
    return y * y


def test_inplace_ops_on_views_of_non_leaves_match_numerical_gradients():
    x, w = rand64(2, 3, seed=20), rand64(2, 3, seed=21)
    assert_grad_matches(_inplace_on_views, x, w)
    y = x * 2
    v = y.t()
    v[0].mul_(3)
    assert y.grad_fn.name() == "CopySlices"
    np.testing.assert_allclose(y.detach().numpy()[:, 0], 6 * x.detach().numpy()[:, 0])


def test_inplace_on_a_view_of_a_constant_makes_it_part_of_the_graph():
    x = ember.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    b = ember.zeros(2, 3)
    b[0].add_(x[1])
    assert b.requires_grad and not b.is_leaf
    (b * b).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 0.0], [8.0, 10.0, 12.0]]


def test_inplace_on_a_view_of_a_leaf_that_requires_grad_raises():
    x = ember.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf tensor that requires grad"):
        x[0].mul_(2)
    with ember.no_grad():
        x[0].mul_(2)          # parameter updates under no_grad are fine
    assert x.tolist()[0] == [2.0, 2.0, 2.0]


def test_views_made_before_an_inplace_change_of_their_base_see_it_in_backward():
    x = ember.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    h = x * 2
    col = h[:, 0]
    h[0] *= 3                     # changes col[0] too
    (col * ember.tensor([1.0, 10.0])).sum().backward()
    assert x.grad.tolist() == [[6.0, 0.0, 0.0], [20.0, 0.0, 0.0]]
    assert col.grad_fn.name() == "AsStridedBackward0"

    def fn(x, w):
        h = x * 2
        r, v = h.t(), h.view(-1)
        h.mul_(w)                 # in place on the base itself
        h[1] = w[0]
        return (r * r).sum() + (v * x.view(-1)).sum()
    assert_grad_matches(fn, rand64(2, 3, seed=22), rand64(2, 3, seed=23))


@pytest.mark.parametrize("code,fn", [("h.unbind(0)[1].mul_(2)", "Unbind"), ("h.split(2)[0].add_(1)", "Split"),
                                     ("h.chunk(2)[1][0] = 5.0", "Split")])
def test_inplace_on_outputs_of_unbind_split_chunk_in_the_graph_raises_as_pytorch(code, fn):
    h = ember.ones(4, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=f"Output . of {fn} is a view.*out-of-place"):
        exec(code)
    with ember.no_grad():
        exec(code)                      # outside the graph it's just memory
    piece = ember.ones(4).split(2)[0]
    piece.add_(1)
    assert piece.tolist() == [2.0, 2.0]


def test_inplace_on_a_view_made_under_no_grad_raises_with_grad_enabled():
    x = ember.ones(3, requires_grad=True)
    h = x * 2
    with ember.no_grad():
        v = h[0:2]
        leaf_view = x[0:2]
    for op in (lambda: v.mul_(2), lambda: v.zero_(), lambda: v.__setitem__(0, 1.0),
               lambda: v[0].add_(1), lambda: leaf_view.mul_(2)):
        with pytest.raises(RuntimeError, match="created in no_grad mode"):
            op()
    with ember.no_grad():
        leaf_view.mul_(2)                    # both inside no_grad: fine
    assert x.tolist() == [2.0, 2.0, 1.0]
    with ember.no_grad():
        c = ember.ones(3)[0:2]
    c.mul_(2)                                # a view of a constant: nothing to track
    assert c.tolist() == [2.0, 2.0]


class _NoteFirst(ember.autograd.Function):
    """Several outputs, the first not a tensor (passed through as it is, as in PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        return "note", x * 2, x * 3

    @staticmethod
    def backward(ctx, _, g_double, g_triple):
        return g_double * 2 + g_triple * 3


def test_function_outputs_after_a_non_tensor_one_get_gradients():
    x = rand64(3, seed=3)
    note, a, b = _NoteFirst.apply(x)
    assert note == "note" and a.requires_grad and b.requires_grad
    assert_grad_matches(lambda x: _NoteFirst.apply(x)[1] + _NoteFirst.apply(x)[2] ** 2, x)
