"""Devices: CuPy behind `to('cuda')`, creation with `device=`, every op and gradient on both
devices, mixed-device errors, nn/optim/DataLoader on a GPU, and the error without CuPy.

Tests parametrized over DEVICES run on 'cpu' everywhere and on 'cuda' where a GPU and CuPy are
present (the CUDA cases skip elsewhere with the reason in helpers.CUDA_SKIP_REASON). A CUDA result
is compared with the same computation on the CPU; the CPU case is checked against numerical
gradients (or, for training, against the loss going down), so neither case can pass vacuously.
"""
from __future__ import annotations

import copy
import os
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember import backend, nn
from ember.errors import DeviceError
from helpers import CUDA_SKIP_REASON, DEVICES, requires_cuda

LIB = os.path.join(os.path.dirname(__file__), os.pardir, "lib")


def host(t) -> np.ndarray:
    """A tensor's values as a numpy array, wherever they live."""
    return backend.to_numpy(t._data)


# ---- without CuPy -------------------------------------------------------------------------
@pytest.fixture
def no_cupy(monkeypatch):
    """Make this process look like a machine without CuPy (also on a GPU machine)."""
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` raises ImportError
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_gpu_count", 0)


@pytest.mark.parametrize("make", [
    lambda: ember.zeros(2, device="cuda"),
    lambda: ember.tensor([1.0, 2.0], device="cuda:0"),
    lambda: ember.randn(3, device=ember.device("cuda")),
    lambda: ember.ones(2).cuda(),
    lambda: ember.ones(2).to("cuda"),
    lambda: nn.Linear(2, 3).to("cuda"),
], ids=["zeros", "tensor", "randn", "cuda()", "to", "Module.to"])
def test_cuda_without_cupy_says_how_to_install_it(no_cupy, make):
    with pytest.raises(DeviceError, match="pip install cupy") as e:
        make()
    assert "CUDA device was requested" in str(e.value)
    assert not ember.cuda.is_available()
    assert ember.cuda.device_count() == 0


def test_cpu_work_never_imports_cupy():
    code = ("import sys, ember\n"
            "x = ember.randn(4, 3, requires_grad=True)\n"
            "m = ember.nn.Linear(3, 2).to('cpu')\n"
            "m(x).sum().backward()\n"
            "ember.zeros(2, device='cpu').cpu()\n"
            "print('cupy' in sys.modules, x.grad.device)\n")
    env = dict(os.environ, PYTHONPATH=os.path.abspath(LIB))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "cpu"]


def test_device_names():
    assert str(ember.device("cuda")) == "cuda:0" and ember.device("cuda") is ember.device("cuda:0")
    assert ember.device("cuda:1").index == 1 and ember.device("cpu").index is None
    assert ember.device("cuda", 0) == "cuda:0" and ember.device("cpu") != "cuda"
    with pytest.raises(DeviceError, match="unknown device 'gpu'"):
        ember.device("gpu")
    with pytest.raises(DeviceError, match="bad device index"):
        ember.device("cuda:x")


# ---- creation -----------------------------------------------------------------------------
CREATORS = {
    "zeros": lambda d: ember.zeros(2, 3, device=d),
    "ones": lambda d: ember.ones((2, 3), dtype=ember.float64, device=d),
    "full": lambda d: ember.full((2,), 7, device=d),
    "eye": lambda d: ember.eye(3, device=d),
    "arange": lambda d: ember.arange(0, 5, 2, device=d),
    "linspace": lambda d: ember.linspace(0, 1, 5, device=d),
    "tensor": lambda d: ember.tensor([[1, 2], [3, 4]], device=d),
    "from_tensor": lambda d: ember.tensor(ember.arange(4.0), dtype=ember.float64, device=d),
    "randn": lambda d: (ember.manual_seed(3), ember.randn(4, device=d))[1],
    "rand": lambda d: (ember.manual_seed(3), ember.rand(2, 2, device=d))[1],
    "randint": lambda d: (ember.manual_seed(3), ember.randint(0, 9, (5,), device=d))[1],
    "randperm": lambda d: (ember.manual_seed(3), ember.randperm(6, device=d))[1],
    "zeros_like": lambda d: ember.zeros_like(ember.ones(2, device=d)),
    "randn_like": lambda d: (ember.manual_seed(3), ember.randn_like(ember.ones(3, device=d)))[1],
    "legacy_type": lambda d: (ember.cuda.FloatTensor if d == "cuda" else ember.FloatTensor)(2, 2),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", list(CREATORS))
def test_creation_on_device(device, name):
    t = CREATORS[name](device)
    ref = CREATORS[name]("cpu")
    assert t.device == device and t.is_cuda == (device == "cuda")
    assert t.xp is backend.array_module_of(t._data)
    assert t.dtype == ref.dtype and t.shape == ref.shape
    np.testing.assert_array_equal(host(t), host(ref))  # same seed, same numbers on every device


@pytest.mark.parametrize("device", DEVICES)
def test_requires_grad_on_creation(device):
    w = ember.zeros(3, device=device, requires_grad=True)
    (w * 2).sum().backward()
    assert w.grad.device == device
    np.testing.assert_array_equal(host(w.grad), [2.0, 2.0, 2.0])


# ---- ops and their gradients --------------------------------------------------------------
def _pos(*shape):
    return lambda rng: np.abs(rng.standard_normal(shape)) + 0.5


def _any(*shape):
    return lambda rng: rng.standard_normal(shape)


OPS = {  # name: (fn, input makers)
    "add_broadcast": (lambda a, b: a + b, [_any(3, 4), _any(4)]),
    "sub_scalar": (lambda a: 2.0 - a, [_any(3, 4)]),
    "mul": (lambda a, b: a * b, [_any(3, 4), _any(3, 1)]),
    "div": (lambda a, b: a / b, [_any(3, 4), _pos(4)]),
    "pow": (lambda a: a ** 3, [_any(5)]),
    "exp_log": (lambda a: ember.exp(a) + ember.log(a), [_pos(2, 3)]),
    "sqrt_abs": (lambda a: ember.sqrt(a) * ember.abs(a - 1), [_pos(6)]),
    "tanh_sigmoid_relu": (lambda a: ember.tanh(a) + ember.sigmoid(a) * ember.relu(a), [_any(7)]),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), [_any(10)]),
    "sum_dim": (lambda a: a.sum(dim=1, keepdim=True), [_any(3, 4)]),
    "mean_var": (lambda a: a.mean() + a.var(dim=0).sum(), [_any(5, 3)]),
    "max_dim": (lambda a: a.max(dim=1)[0], [_any(4, 6)]),
    "amax": (lambda a: a.amax(), [_any(3, 5)]),
    "logsumexp": (lambda a: ember.logsumexp(a, dim=-1), [_any(2, 5)]),
    "matmul": (lambda a, b: a @ b, [_any(3, 4), _any(4, 2)]),
    "matmul_batched": (lambda a, b: ember.matmul(a, b), [_any(2, 3, 4), _any(4, 5)]),
    "matvec": (lambda a, b: a @ b, [_any(3, 4), _any(4)]),
    "index_basic": (lambda a: a[1:, ::2] * 3, [_any(4, 5)]),
    "index_array": (lambda a: a[ember.tensor([0, 2, 0])], [_any(3, 2)]),
    "index_list": (lambda a: a[[1, 1, 0], :], [_any(3, 2)]),
    "index_mask": (lambda a: a[a > 0], [_any(4, 4)]),
    "gather": (lambda a: a.gather(1, ember.tensor([[0, 0], [2, 1]], device=a.device)), [_any(2, 3)]),
    "setitem": (lambda a, b: _setitem(a, b), [_any(3, 3), _any(3)]),
    "where": (lambda a, b: ember.where(a > b, a, b * 2), [_any(3, 3), _any(3, 3)]),
    "cat_stack": (lambda a, b: ember.cat([a, ember.stack([b, b])], dim=0), [_any(1, 2), _any(2)]),
    "shape": (lambda a: a.reshape(2, 6).t().permute(1, 0).transpose(0, 1).unsqueeze(0) * 1.5,
              [_any(3, 4)]),
    "softmax_xent": (lambda a: nn.functional.cross_entropy(
        a, ember.tensor([1, 0, 2], device=a.device)) + nn.functional.softmax(a, dim=1).pow(2).sum(),
        [_any(3, 4)]),
}


def _setitem(a, b):
    out = a.clone()
    out[1] = b
    return out * a


def _run(fn, arrays, device):
    """fn on float64 leaves made on `device`: (output, gradients of sum(out * w)) as numpy."""
    xs = [ember.tensor(a, dtype=ember.float64, device=device, requires_grad=True) for a in arrays]
    out = fn(*xs)
    assert out.device == device, f"result on {out.device}, inputs on {device}"
    w = ember.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)),
                     dtype=ember.float64, device=device)
    (out * w).sum().backward()
    for x in xs:
        assert x.grad.device == device
    return host(out), [host(x.grad) for x in xs], xs


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", list(OPS))
def test_op_and_gradient_on_device(device, name):
    fn, makers = OPS[name]
    rng = np.random.default_rng(len(name))
    arrays = [m(rng) for m in makers]
    out, grads, xs = _run(fn, arrays, device)
    if device == "cpu":
        assert ember.autograd.gradcheck(fn, tuple(xs), atol=1e-6, rtol=1e-5)
        return
    ref_out, ref_grads, _ = _run(fn, arrays, "cpu")
    np.testing.assert_allclose(out, ref_out, rtol=1e-10, atol=1e-12)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_float32_matmul_and_inplace_on_device(device):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((64, 32)), rng.standard_normal((32, 16))
    x = ember.tensor(a, dtype=ember.float32, device=device)
    y = ember.tensor(b, dtype=ember.float32, device=device)
    z = x @ y
    z.add_(1.0).mul_(ember.ones(16, device=device) * 2)
    assert z.dtype == ember.float32 and z.device == device
    np.testing.assert_allclose(host(z), (a @ b + 1) * 2, rtol=1e-4, atol=1e-4)
    assert int(z.argmax()) == int(np.argmax((a @ b + 1) * 2))
    assert (z > 0).dtype == ember.bool and (z > 0).device == device


@pytest.mark.parametrize("device", DEVICES)
def test_leaving_the_device(device):
    t = ember.tensor([[1.5, 2.0]], device=device)
    assert t.tolist() == [[1.5, 2.0]] and t[0, 1].item() == 2.0 and float(t.sum()) == 3.5
    assert np.asarray(t).tolist() == [[1.5, 2.0]]
    assert ("device='cuda:0'" in repr(t)) == (device == "cuda")
    if device == "cuda":
        with pytest.raises(DeviceError, match=r"\.cpu\(\)\.numpy\(\)"):
            t.numpy()
    np.testing.assert_array_equal(t.cpu().numpy(), [[1.5, 2.0]])


# ---- moving between devices ---------------------------------------------------------------
@requires_cuda
@pytest.mark.cuda
def test_to_cuda_and_back():
    x = ember.arange(6.0).reshape(2, 3)
    g = x.cuda()
    assert g.is_cuda and g.device == "cuda:0" and not x.is_cuda
    assert g.cuda() is g and x.cpu() is x and g.to("cuda:0") is g
    np.testing.assert_array_equal(g.cpu().numpy(), x.numpy())
    h = x.to("cuda", ember.float64)
    assert h.dtype == ember.float64 and h.is_cuda
    assert x.to(h).device == "cuda:0" and x.to(h).dtype == ember.float64
    assert x.to(device=ember.device("cuda"), copy=True) is not x
    g[0, 0] = 100.0                                  # a copy: the CPU tensor is unchanged
    assert x[0, 0].item() == 0.0
    assert x.type(ember.cuda.DoubleTensor).is_cuda


@requires_cuda
@pytest.mark.cuda
def test_gradient_flows_back_through_a_device_copy():
    x = ember.tensor([1.0, -2.0, 3.0], requires_grad=True)     # a CPU leaf
    y = (x.cuda() ** 2).sum()
    assert y.grad_fn is not None and y.is_cuda
    y.backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -4.0, 6.0])
    w = ember.ones(3, device="cuda", requires_grad=True)
    (w.cpu() * 3).sum().backward()
    assert w.grad.is_cuda
    np.testing.assert_allclose(host(w.grad), [3.0, 3.0, 3.0])


MIXED = {
    "add": lambda c, g: c + g,
    "mul_reflected": lambda c, g: g * c,
    "matmul": lambda c, g: c @ g,
    "cat": lambda c, g: ember.cat([c, g]),
    "stack": lambda c, g: ember.stack([g, c]),
    "where": lambda c, g: ember.where(c > 0, g, g),
    "linear": lambda c, g: nn.functional.linear(c, g),
    "index": lambda c, g: c[g.long()],
    "inplace": lambda c, g: c.add_(g),
    "mse": lambda c, g: nn.functional.mse_loss(g, c),
}


@requires_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("name", list(MIXED))
def test_mixed_devices_raise_naming_both(name):
    c = ember.ones(2, 2)
    g = ember.ones(2, 2, device="cuda")
    with pytest.raises(DeviceError) as e:
        MIXED[name](c, g)
    msg = str(e.value)
    assert "cpu" in msg and "cuda:0" in msg, msg


# ---- nn, optim, data ----------------------------------------------------------------------
def _mlp():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.BatchNorm1d(16), nn.Dropout(0.2),
                         nn.Linear(16, 3)).double()


def _data(device):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 5))
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1)
    return ember.tensor(x, dtype=ember.float64, device=device), ember.tensor(y, device=device)


def _train(model, opt, x, y, steps=5):
    losses = []
    for _ in range(steps):
        ember.manual_seed(1)  # the same dropout masks on every device
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("device", DEVICES)
def test_module_to_moves_parameters_buffers_and_grads(device):
    net = _mlp()
    w = net[0].weight
    x, y = _data("cpu")
    nn.functional.cross_entropy(net(x), y).backward()
    grad = host(w.grad)
    assert net.to(device) is net and net[0].weight is w            # moved in place
    assert w.device == device and w.grad.device == device and w.is_leaf and w.requires_grad
    assert net[2].running_mean.device == device
    np.testing.assert_array_equal(host(w.grad), grad)
    assert {p.device for p in net.parameters()} == {ember.device(device)}
    with pytest.raises(DeviceError, match="same device|one device") if device == "cuda" else _noop():
        net(x)                                                       # a CPU batch


class _noop:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("make_opt", [
    lambda ps: ember.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3),
    lambda ps: ember.optim.Adam(ps, lr=0.01),
    lambda ps: ember.optim.RMSprop(ps, lr=0.01),
], ids=["sgd_momentum", "adam", "rmsprop"])
def test_training_steps_on_device(device, make_opt):
    net = _mlp().to(device)
    opt = make_opt(net.parameters())
    losses = _train(net, opt, *_data(device))
    for p in net.parameters():
        assert p.device == device
        for v in opt.state[p].values():
            if isinstance(v, ember.Tensor) or backend.is_array(v):
                arr = v._data if isinstance(v, ember.Tensor) else v
                assert backend.device_of(arr) == device, "optimizer state left the device"
    if device == "cpu":
        assert losses[-1] < 0.8 * losses[0], losses
        return
    ref = _mlp()
    ref_losses = _train(ref, make_opt(ref.parameters()), *_data("cpu"))
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-9)
    for p, q in zip(net.parameters(), ref.parameters()):
        np.testing.assert_allclose(host(p), host(q), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("device", DEVICES)
def test_optimizer_state_dict_round_trip_on_device(device):
    net = _mlp().to(device)
    opt = ember.optim.Adam(net.parameters(), lr=0.01)
    x, y = _data(device)
    _train(net, opt, x, y, steps=2)
    sd = opt.state_dict()
    opt2 = ember.optim.Adam(net.parameters(), lr=0.01)
    opt2.load_state_dict(sd)
    p = next(iter(net.parameters()))
    arr = opt2.state[p]["exp_avg"]
    arr = arr._data if isinstance(arr, ember.Tensor) else arr
    assert backend.device_of(arr) == device
    np.testing.assert_array_equal(backend.to_numpy(arr), host(ember.tensor(sd["state"][0]["exp_avg"])))


@pytest.mark.parametrize("device", DEVICES)
def test_fit_moves_loader_batches_to_the_device(device):
    from ember.utils.data import DataLoader, TensorDataset
    x, y = _data("cpu")
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)
    net = _mlp()
    seen = []
    net.register_forward_hook(lambda m, inp, out: seen.append(inp[0].device))
    ember.manual_seed(0)
    hist = ember.keras.fit(net, loader, nn.functional.cross_entropy,
                           ember.optim.SGD(net.parameters(), lr=0.1), epochs=3, device=device,
                           progress=False)
    assert next(net.parameters()).device == device
    assert set(seen) == {ember.device(device)} and len(seen) == 12
    assert hist.history["loss"][-1] < hist.history["loss"][0]


@requires_cuda
@pytest.mark.cuda
def test_dataloader_over_cuda_tensors_and_save_load(tmp_path):
    from ember.utils.data import DataLoader, TensorDataset
    x, y = _data("cuda")
    batches = list(DataLoader(TensorDataset(x, y), batch_size=10))
    assert [b[0].device for b in batches] == [ember.device("cuda")] * 4
    np.testing.assert_array_equal(host(batches[1][0]), host(x)[10:20])
    net = _mlp().cuda()
    ember.save(net.state_dict(), tmp_path / "m.pt")
    sd = ember.load(tmp_path / "m.pt", map_location="cpu")
    assert sd["0.weight"].device == "cpu"
    np.testing.assert_array_equal(sd["0.weight"].numpy(), host(net[0].weight))


@requires_cuda
@pytest.mark.cuda
def test_cuda_module_helpers():
    assert ember.cuda.is_available() and ember.cuda.device_count() >= 1
    assert isinstance(ember.cuda.get_device_name(0), str) and ember.cuda.get_device_name(0)
    x = ember.randn(256, 256, device="cuda")
    y = x @ x
    ember.cuda.synchronize()
    np.testing.assert_allclose(host(y), host(x) @ host(x), rtol=1e-3, atol=1e-3)
    with pytest.raises(DeviceError, match="GPU"):
        ember.zeros(1, device=f"cuda:{ember.cuda.device_count()}")


def test_skip_reason_is_stated():
    assert "ember.cuda.is_available() is False" in CUDA_SKIP_REASON


@pytest.mark.parametrize("device", DEVICES)
def test_bad_class_index_is_reported_without_stalling_the_gpu(device):
    x = ember.zeros(2, 3, device=device)
    bad = ember.tensor([1, 5], device=device)
    # on the CPU at once; on a GPU at the next read-back (item), like PyTorch's device asserts
    with pytest.raises(IndexError, match="class index 5, but the input has 3 classes"):
        nn.functional.cross_entropy(x, bad).item()
    ok = nn.functional.cross_entropy(x, ember.tensor([1, -100], device=device)).item()
    assert ok == pytest.approx(np.log(3))
