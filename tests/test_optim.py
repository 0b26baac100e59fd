"""Optimizers against PyTorch's documented update formulas, computed here in numpy."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import optim

GRADS = [np.array([0.5, -1.0, 2.0]), np.array([-0.25, 0.75, 1.5]), np.array([1.0, 0.1, -3.0])]
P0 = np.array([1.0, -2.0, 0.5])


def run(opt_cls, steps=3, p0=P0, grads=GRADS, **kw):
    """Apply `steps` updates with fixed gradients; return the parameter after each step."""
    p = ember.tensor(p0, dtype=ember.float64, requires_grad=True)
    opt = opt_cls([p], **kw)
    out = []
    for g in grads[:steps]:
        p.grad = ember.tensor(g, dtype=ember.float64)
        opt.step()
        out.append(p.detach().numpy().copy())
    return out


def test_sgd_plain():
    got = run(optim.SGD, lr=0.1)
    p = P0.copy()
    for g, q in zip(GRADS, got):
        p = p - 0.1 * g
        np.testing.assert_allclose(q, p, rtol=1e-12)


@pytest.mark.parametrize("nesterov,dampening", [(False, 0.0), (False, 0.3), (True, 0.0)])
def test_sgd_momentum_weight_decay(nesterov, dampening):
    lr, mu, wd = 0.1, 0.9, 0.01
    got = run(optim.SGD, lr=lr, momentum=mu, dampening=dampening, weight_decay=wd,
              nesterov=nesterov)
    p, b = P0.copy(), None
    for t, (g, q) in enumerate(zip(GRADS, got), start=1):
        g = g + wd * p
        b = g if t == 1 else mu * b + (1 - dampening) * g
        g = g + mu * b if nesterov else b
        p = p - lr * g
        np.testing.assert_allclose(q, p, rtol=1e-12)


def test_sgd_maximize_ascends():
    got = run(optim.SGD, steps=1, lr=0.5, maximize=True)
    np.testing.assert_allclose(got[0], P0 + 0.5 * GRADS[0])


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_two_steps_by_hand(amsgrad, weight_decay):
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    got = run(optim.Adam, steps=3, lr=lr, betas=(b1, b2), eps=eps, weight_decay=weight_decay,
              amsgrad=amsgrad)
    p, m, v, vmax = P0.copy(), 0.0, 0.0, 0.0
    for t, (g, q) in enumerate(zip(GRADS, got), start=1):
        g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        vmax = np.maximum(vmax, v)  # PyTorch keeps the max of the raw v, then bias-corrects it
        m_hat = m / (1 - b1 ** t)
        v_hat = (vmax if amsgrad else v) / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(q, p, rtol=1e-10)


def test_adam_first_step_moves_by_lr_per_coordinate():
    """With bias correction the first Adam step is lr * sign(g) (up to eps)."""
    got = run(optim.Adam, steps=1, lr=0.01)
    np.testing.assert_allclose(got[0], P0 - 0.01 * np.sign(GRADS[0]), rtol=1e-6)


def test_adamw_decouples_weight_decay():
    lr, b1, b2, eps, wd = 0.01, 0.9, 0.999, 1e-8, 0.1
    got = run(optim.AdamW, lr=lr, weight_decay=wd)
    p, m, v = P0.copy(), 0.0, 0.0
    for t, (g, q) in enumerate(zip(GRADS, got), start=1):
        p = p * (1 - lr * wd)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        np.testing.assert_allclose(q, p, rtol=1e-10)
    assert optim.AdamW([ember.zeros(1, requires_grad=True)]).defaults["weight_decay"] == 0.01


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop(centered, momentum):
    lr, alpha, eps, wd = 0.01, 0.9, 1e-8, 0.05
    got = run(optim.RMSprop, lr=lr, alpha=alpha, eps=eps, weight_decay=wd, momentum=momentum,
              centered=centered)
    p, v, g_avg, b = P0.copy(), 0.0, 0.0, 0.0
    for g, q in zip(GRADS, got):
        g = g + wd * p
        v = alpha * v + (1 - alpha) * g ** 2
        v_tilde = v
        if centered:
            g_avg = alpha * g_avg + (1 - alpha) * g
            v_tilde = v - g_avg ** 2
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(v_tilde) + eps)
            p = p - lr * b
        else:
            p = p - lr * g / (np.sqrt(v_tilde) + eps)
        np.testing.assert_allclose(q, p, rtol=1e-10)


def test_adagrad():
    lr, lr_decay, wd, init, eps = 0.1, 0.01, 0.02, 0.1, 1e-10
    got = run(optim.Adagrad, lr=lr, lr_decay=lr_decay, weight_decay=wd,
              initial_accumulator_value=init, eps=eps)
    p, s = P0.copy(), np.full(3, init)
    for t, (g, q) in enumerate(zip(GRADS, got), start=1):
        clr = lr / (1 + (t - 1) * lr_decay)
        g = g + wd * p
        s = s + g ** 2
        p = p - clr * g / (np.sqrt(s) + eps)
        np.testing.assert_allclose(q, p, rtol=1e-12)


def test_param_groups_have_their_own_lr():
    a = ember.ones(2, requires_grad=True)
    b = ember.ones(2, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[0]["lr"] == 0.1
    (a.sum() + b.sum()).backward()
    opt.step()
    np.testing.assert_allclose(a.detach().numpy(), [0.9, 0.9], rtol=1e-6)
    np.testing.assert_allclose(b.detach().numpy(), [0.5, 0.5], rtol=1e-6)


def test_add_param_group_and_duplicates():
    a, b = ember.ones(2, requires_grad=True), ember.ones(3, requires_grad=True)
    opt = optim.Adam([a], lr=1e-3)
    opt.add_param_group({"params": b, "lr": 1e-2})
    assert [g["lr"] for g in opt.param_groups] == [1e-3, 1e-2]
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_bad_arguments_are_explained():
    p = ember.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="learning rate"):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="beta at index 1"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)


def test_zero_grad_and_params_without_grad():
    a, b = ember.ones(2, requires_grad=True), ember.ones(2, requires_grad=True)
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.sum().backward()
    opt.step()  # b has no grad: untouched, and no state for it
    np.testing.assert_allclose(b.detach().numpy(), [1.0, 1.0])
    assert b not in opt.state and "momentum_buffer" in opt.state[a]
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert a.grad is None


def test_step_with_closure_returns_loss_and_bumps_version():
    w = ember.tensor([3.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    v0 = w._version
    loss = opt.step(closure)
    assert loss.item() == 9.0
    assert w.item() == pytest.approx(3.0 - 0.25 * 6.0)
    assert w._version == v0 + 1


def test_minimizes_a_quadratic():
    target = np.array([1.0, -2.0, 3.0])
    for cls, kw in [(optim.SGD, dict(lr=0.1, momentum=0.9)), (optim.Adam, dict(lr=0.1)),
                    (optim.RMSprop, dict(lr=0.03)), (optim.Adagrad, dict(lr=0.5)),
                    (optim.AdamW, dict(lr=0.1, weight_decay=0.0))]:
        w = ember.zeros(3, dtype=ember.float64, requires_grad=True)
        opt = cls([w], **kw)
        for _ in range(300):
            opt.zero_grad()
            ((w - ember.tensor(target)) ** 2).sum().backward()
            opt.step()
        np.testing.assert_allclose(w.detach().numpy(), target, atol=0.05, err_msg=cls.__name__)


@pytest.mark.parametrize("cls,kw", [(optim.SGD, dict(lr=0.1, momentum=0.9)),
                                    (optim.Adam, dict(lr=0.01, amsgrad=True)),
                                    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
                                    (optim.Adagrad, dict(lr=0.1))])
def test_state_dict_round_trip_continues_identically(cls, kw):
    def make():
        a = ember.tensor(P0, dtype=ember.float64, requires_grad=True)
        b = ember.tensor([[0.5, 0.25]], dtype=ember.float64, requires_grad=True)
        return [a, b], cls([{"params": [a]}, {"params": [b], "lr": 0.05}], **kw)

    def step(params, opt, g):
        for p in params:
            p.grad = ember.tensor(np.full(tuple(p.shape), g), dtype=ember.float64)
        opt.step()

    params, opt = make()
    for g in (0.5, -1.0):
        step(params, opt, g)
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1]
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    params2, opt2 = make()
    for p, q in zip(params2, params):
        p.data = q.detach().clone()
    opt2.load_state_dict(sd)
    assert opt2.param_groups[1]["lr"] == 0.05
    for g in (2.0, 0.3):
        step(params, opt, g)
        step(params2, opt2, g)
    for p, q in zip(params, params2):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_state_dict_is_a_snapshot():
    p = ember.tensor([1.0], requires_grad=True)
    opt = optim.Adam([p])
    p.grad = ember.tensor([1.0])
    opt.step()
    sd = opt.state_dict()
    before = sd["state"][0]["exp_avg"].numpy().copy()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"].numpy(), before)


def test_load_state_dict_mismatch_is_explained():
    a, b = ember.ones(2, requires_grad=True), ember.ones(2, requires_grad=True)
    sd = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="group 0 has 1 parameters but the saved group has 2"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)


def test_float32_parameters_stay_float32():
    p = ember.ones(3, requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = ember.ones(3)
    opt.step()
    assert p.dtype == ember.float32 and opt.state[p]["exp_avg"].dtype == np.float32


@pytest.mark.cuda
@pytest.mark.skipif(not ember.cuda.is_available(), reason="needs an NVIDIA GPU with CuPy")
@pytest.mark.parametrize("cls,kw", [(optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
                                    (optim.Adam, dict(lr=0.01, amsgrad=True)),
                                    (optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5)),
                                    (optim.Adagrad, dict(lr=0.1))])
def test_cuda_parameters_keep_their_state_on_the_gpu(cls, kw):
    cpu = run(cls, **kw)
    p = ember.tensor(P0, dtype=ember.float64, device="cuda", requires_grad=True)
    opt = cls([p], **kw)
    for g in GRADS:
        p.grad = ember.tensor(g, dtype=ember.float64, device="cuda")
        opt.step()
    np.testing.assert_allclose(p.detach().cpu().numpy(), cpu[-1], rtol=1e-12)
    arrays = [v for v in opt.state[p].values() if hasattr(v, "shape")]
    assert arrays and all(not isinstance(v, np.ndarray) for v in arrays)
    opt2 = cls([p], **kw)
    opt2.load_state_dict(opt.state_dict())
    assert all(not isinstance(v, np.ndarray) for v in opt2.state[p].values() if hasattr(v, "shape"))


def test_lecture_nn_with_optim_adam_runs_with_import_changed():
    import ember as torch
    torch.manual_seed(0)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    model = torch.nn.Sequential(torch.nn.Linear(D_in, H), torch.nn.ReLU(),
                                torch.nn.Linear(H, D_out))
    learning_rate = 1e-4
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    losses = []
    for t in range(100):
        y_pred = model(x)
        loss = torch.nn.functional.mse_loss(y_pred, y)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert losses[-1] < 0.5 * losses[0]
