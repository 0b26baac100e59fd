"""create_graph=True: gradients of gradients, checked against central differences of first-order
gradients in float64 (gradgradcheck), plus the programs students write first (issue 13)."""
import math

import numpy as np
import pytest

import ember
from ember.autograd import gradgradcheck
from helpers import rand64

X = dict(low=None, seed=0)

OPS = {
    "mul_add_sub": (lambda x, y: x * y - x / 3 + 2 * y, [(3, 4), (4,)]),
    "div": (lambda x, y: x / y, [(3,), (3,)]),
    "pow_scalar": (lambda x: x ** 3 + x ** 2, [(2, 3)]),
    "pow_tensor": (lambda x, y: x ** y, [(3,), (3,)]),
    "rpow": (lambda x: 2.0 ** x, [(3,)]),
    "exp_log_sqrt": (lambda x: x.exp() + x.log() + x.sqrt(), [(3,)]),
    "tanh_sigmoid": (lambda x: x.tanh() * x.sigmoid(), [(2, 3)]),
    "sin_cos": (lambda x: x.sin() * x.cos(), [(4,)]),
    "relu_abs_clamp": (lambda x: x.relu() * x + x.abs() * x + x.clamp(-0.5, 0.5) * x, [(5,)]),
    "maximum": (lambda x, y: ember.maximum(x, y) * x, [(4,), (4,)]),
    "sum_mean_var": (lambda x: (x.sum(0) ** 2).sum() + x.mean(1) ** 2 + x.var(), [(3, 4)]),
    "max_dim_amax": (lambda x: x.max(1)[0] * x.amax(1), [(3, 4)]),
    "cumsum": (lambda x: x.cumsum(1) ** 2, [(2, 4)]),
    "reshape_permute_expand": (lambda x: (x.reshape(4, 3).t() ** 2).unsqueeze(0).expand(2, 3, 4), [(3, 4)]),
    "cat_index": (lambda x: ember.cat([x[0] ** 2, x[1:, 1] ** 3, x[[0, 0, 2]].sum(0) ** 2]), [(3, 4)]),
    "where_gather": (lambda x: ember.where(x > 0, x * x, x ** 3).gather(1, ember.tensor([[0, 0], [2, 1], [3, 3]])) ** 2, [(3, 4)]),
    "index_select": (lambda x: x.index_select(1, ember.tensor([2, 2, 0])) ** 2, [(2, 3)]),
    "matmul_2d": (lambda a, b: (a @ b) ** 2, [(2, 3), (3, 4)]),
    "matmul_batched": (lambda a, b: (a @ b) ** 2, [(2, 2, 3), (3,)]),
    "norm": (lambda x: ember.linalg.vector_norm(x, dim=1) ** 3 + x.norm(), [(3, 4)]),
    "setitem": (lambda x: _assign(x), [(2, 3)]),
    "scatter": (lambda x, s: x.scatter(1, ember.tensor([[0, 2], [1, 0]]), s * s) ** 2, [(2, 3), (2, 3)]),
    "scatter_add": (lambda x, s: x.scatter_add(0, ember.tensor([[1, 0, 1]]), s ** 3) ** 2, [(2, 3), (2, 3)]),
    "index_add": (lambda x, s: x.index_add(1, ember.tensor([2, 2]), s ** 3, alpha=2.0) ** 2, [(2, 3), (2, 2)]),
    "remainder": (lambda x, y: ember.remainder(x, y) * x * y, [(4,), (4,)]),
    "copy_fill": (lambda x, y: _copy_fill(x, y), [(2, 3), (3,)]),
    "flip_repeat_sort": (lambda x: (x.flip(1).repeat(1, 2) ** 2).sort(1)[0] * x.topk(1)[0], [(2, 3)]),
    "log1p_expm1": (lambda x: x.log1p() * x.expm1() + x.rsqrt(), [(3,)]),
}


def _copy_fill(x, y):
    z = x * 1.0
    z[0].copy_(y ** 2)
    z[1].zero_()
    return z * x


def _assign(x):
    y = x * x
    y[0, 1] = x[1, 2] ** 3
    y[1].mul_(x[0])
    return y


@pytest.mark.parametrize("name", sorted(OPS))
def test_second_derivatives_match_numerical(name):
    fn, shapes = OPS[name]
    low = 0.5 if name in ("div", "pow_tensor", "exp_log_sqrt", "log1p_expm1") else None
    inputs = [rand64(*s, low=low, seed=i) for i, s in enumerate(shapes)]
    if name == "relu_abs_clamp":  # away from the kinks
        inputs = [ember.tensor([-1.2, -0.3, 0.2, 0.7, 1.5], dtype=ember.float64, requires_grad=True)]
    assert gradgradcheck(fn, inputs)


def test_grad_of_grad_of_a_cube():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    g, = ember.autograd.grad((x ** 3).sum(), x, create_graph=True)
    assert g.tolist() == [3.0, 12.0, 27.0] and g.requires_grad
    g2, = ember.autograd.grad(g.sum(), x, create_graph=True)
    assert g2.tolist() == [6.0, 12.0, 18.0]
    g3, = ember.autograd.grad(g2.sum(), x)
    assert g3.tolist() == [6.0, 6.0, 6.0]


def test_backward_with_create_graph_keeps_a_differentiable_grad():
    x = ember.tensor([0.5, -1.0], requires_grad=True)
    y = (x.sin() * x).sum()
    y.backward(create_graph=True)
    assert x.grad.requires_grad
    first = x.grad.detach().numpy().copy()
    np.testing.assert_allclose(first, np.cos([0.5, -1.0]) * [0.5, -1.0] + np.sin([0.5, -1.0]))
    x.grad.sum().backward()   # adds d/dx of the first gradient into x.grad
    second = -np.sin([0.5, -1.0]) * [0.5, -1.0] + 2 * np.cos([0.5, -1.0])
    np.testing.assert_allclose(x.grad.detach().numpy(), first + second)


def test_hessian_vector_product():
    a = rand64(3, 3, seed=1, requires_grad=False)
    x = rand64(3, seed=2)
    v = rand64(3, seed=3, requires_grad=False)
    f = lambda x: (x @ a @ x) + (x ** 4).sum()      # Hessian: A + A^T + diag(12 x^2)
    g, = ember.autograd.grad(f(x), x, create_graph=True)
    hv, = ember.autograd.grad(g, x, grad_outputs=v)
    A, xn, vn = a.numpy(), x.detach().numpy(), v.numpy()
    np.testing.assert_allclose(hv.numpy(), (A + A.T) @ vn + 12 * xn ** 2 * vn, rtol=1e-10)


def test_gradient_penalty_on_a_small_network():
    """WGAN-GP style: the penalty (|d out/d input| - 1)^2 trains the weights."""
    torch = ember
    torch.manual_seed(0)
    w1 = rand64(4, 5, seed=4)
    w2 = rand64(5, 1, seed=5)
    x = rand64(6, 4, seed=6)

    def penalty(w1, w2, x):
        out = (x @ w1).tanh() @ w2
        g, = torch.autograd.grad(out.sum(), x, create_graph=True)
        return ((torch.linalg.vector_norm(g, dim=1) - 1) ** 2).mean()

    penalty(w1, w2, x).backward()
    for w in (w1, w2):   # central differences of the penalty itself (it needs grad enabled)
        flat, num = w._data.reshape(-1), np.zeros(w._data.size)
        for k in range(flat.size):
            orig = flat[k]
            flat[k] = orig + 1e-6
            plus = penalty(w1, w2, x).item()
            flat[k] = orig - 1e-6
            minus = penalty(w1, w2, x).item()
            flat[k] = orig
            num[k] = (plus - minus) / 2e-6
        np.testing.assert_allclose(w.grad.numpy().reshape(-1), num, rtol=1e-5, atol=1e-7)


def test_linear_and_softmax_layers_double_backward():
    lin = ember.nn.Linear(3, 2).double()
    x = rand64(4, 3, seed=7)
    assert gradgradcheck(lambda x: ember.nn.functional.log_softmax(lin(x).relu() * 2, dim=1) +
                         ember.softmax(lin(x), 1), [x])


def test_custom_function_backward_is_recorded():
    class Cube(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 3 * x ** 2 * g

    assert gradgradcheck(lambda x: Cube.apply(x) * 2, [rand64(3, seed=8)])


def test_prod_double_backward_and_its_limit():
    assert gradgradcheck(lambda x: x.prod(1) + x.prod(), [rand64(2, 3, low=0.5, seed=9)])
    x = ember.tensor([[0.0, 2.0], [1.0, 3.0]], dtype=ember.float64, requires_grad=True)
    g, = ember.autograd.grad(x.prod(1).sum(), x)        # first order: exact at zeros
    assert g.tolist() == [[2.0, 0.0], [3.0, 1.0]]
    with pytest.raises(RuntimeError, match="ProdBackward0.*create_graph.*zeros"):
        ember.autograd.grad(x.prod(1).sum(), x, create_graph=True)


class _Twice(ember.autograd.Op):
    """An op with a backward but no vjp."""

    def forward(self, x):
        return x * 2

    def backward(self, grad):
        return (grad * 2,)


def test_ops_without_a_recorded_backward_say_which_op():
    x = rand64(3, seed=9)
    y = (_Twice.apply(x) ** 2).sum()
    assert ember.autograd.grad(y, x, retain_graph=True)[0].tolist() == (8 * x).tolist()
    with pytest.raises(RuntimeError, match="_TwiceBackward0.*create_graph"):
        ember.autograd.grad(y, x, create_graph=True)


def test_losses_double_backward():
    F = ember.nn.functional
    target = ember.tensor([2, 0, 1])
    assert gradgradcheck(lambda x: F.cross_entropy(x * x, target), [rand64(3, 4, seed=10)])
    assert gradgradcheck(lambda x: F.nll_loss(F.log_softmax(x ** 3, 1), target, reduction="sum"),
                         [rand64(3, 4, seed=11)])
    assert gradgradcheck(lambda x, y: F.mse_loss(x ** 2, y), [rand64(2, 3, seed=12), rand64(2, 3, seed=13)])


def test_function_with_several_outputs_double_backward():
    from test_autograd import _TwoOutputs
    assert gradgradcheck(lambda x: _TwoOutputs.apply(x)[1] * 3 + _TwoOutputs.apply(x)[0] ** 2,
                         [rand64(3, seed=14)])


# ---- ember.autograd.functional ------------------------------------------------------------------
def test_functional_jacobian_hessian_vjp_jvp_hvp_by_hand():
    F = ember.autograd.functional
    x = ember.tensor([1.0, 2.0, 3.0], dtype=ember.float64)
    y = ember.tensor([0.5, -1.0], dtype=ember.float64)
    ex = np.exp([1.0, 2.0, 3.0])
    h = lambda x: x.exp() * x[0]                       # J = diag(x0 e^x) + e^x e_0^T
    J = np.diag(ex) * 1.0
    J[:, 0] += ex
    np.testing.assert_allclose(F.jacobian(h, x).numpy(), J)
    jx, jy = F.jacobian(lambda x, y: ember.stack([x.sum() * y[0], (x ** 2).sum() * y[1]]), (x, y))
    np.testing.assert_allclose(jx.numpy(), [[0.5] * 3, [-2.0, -4.0, -6.0]])
    np.testing.assert_allclose(jy.numpy(), [[6.0, 0.0], [0.0, 14.0]])
    f = lambda x: (x ** 3).sum()
    np.testing.assert_allclose(F.hessian(f, x).numpy(), np.diag([6.0, 12.0, 18.0]))
    out, v = F.vjp(h, x, ember.ones(3, dtype=ember.float64))
    np.testing.assert_allclose(v.numpy(), np.ones(3) @ J)
    assert not out.requires_grad and not v.requires_grad
    u = ember.tensor([1.0, 0.0, -1.0], dtype=ember.float64)
    _, hv = F.hvp(f, x, u)
    np.testing.assert_allclose(hv.numpy(), [6.0, 0.0, -18.0])
    _, jv = F.jvp(h, x, u)
    np.testing.assert_allclose(jv.numpy(), J @ u.numpy())
    assert F.jacobian(h, x, create_graph=True).requires_grad
    np.testing.assert_allclose(F.jacobian(lambda x: x * 0 + 1, x).numpy(), np.zeros((3, 3)))
    with pytest.raises(RuntimeError, match="single element"):
        F.hessian(lambda x: x * 2, x)


class _SquareWrongVjp(ember.autograd.Op):
    """x**2 with a right backward and a wrong recorded one (2 * grad instead of 2 * x * grad)."""
    saves = (0,)

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, grad):
        return (2 * self.x * grad,)

    def vjp(self, grad):
        return (2 * grad,)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    x = rand64(3, seed=15)
    assert ember.autograd.gradcheck(_SquareWrongVjp.apply, (x,))  # first order is right
    with pytest.raises(RuntimeError, match="gradgradcheck: second derivative for input 0.*worst"):
        gradgradcheck(lambda x: _SquareWrongVjp.apply(x) * x, [x])
    assert not gradgradcheck(lambda x: _SquareWrongVjp.apply(x) * x, [x], raise_exception=False)


def test_checks_refuse_inputs_they_cannot_perturb():
    x = rand64(3, 2, seed=16, requires_grad=False).t().requires_grad_()  # a strided view
    for check in (ember.autograd.gradcheck, gradgradcheck):
        with pytest.raises(RuntimeError, match="input 0 is not contiguous"):
            check(lambda a: a ** 3, [x])
