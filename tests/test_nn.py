"""ember.nn.Module and containers: registration, state_dict, modes, devices, printing."""
import copy
from collections import OrderedDict

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.errors import DeviceError, DTypeError, ShapeError


class TwoLayerNet(nn.Module):
    """The lecture's custom module."""

    def __init__(self, D_in, H, D_out):
        super().__init__()
        self.linear1 = nn.Linear(D_in, H)
        self.linear2 = nn.Linear(H, D_out)

    def forward(self, x):
        h_relu = self.linear1(x).clamp(min=0)
        return self.linear2(h_relu)


class WithBuffer(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(ember.ones(3))
        self.register_buffer("offset", ember.zeros(3))
        self.register_buffer("cache", ember.zeros(2), persistent=False)
        self.plain = ember.ones(4)  # a plain tensor attribute: not registered

    def forward(self, x):
        return x * self.scale + self.offset


# ---- Parameter ----------------------------------------------------------------------------
def test_parameter_is_a_leaf_tensor_that_requires_grad_and_shares_memory():
    t = ember.zeros(2, 3)
    p = nn.Parameter(t)
    assert isinstance(p, ember.Tensor) and p.requires_grad and p.is_leaf
    t[0, 0] = 5.0
    assert p[0, 0].item() == 5.0
    assert not nn.Parameter(ember.zeros(2), requires_grad=False).requires_grad
    assert type(p * 2) is ember.Tensor


def test_parameter_repr_and_errors():
    p = nn.Parameter(ember.tensor([1.0, 2.0]))
    assert repr(p) == "Parameter containing:\n" + repr(ember.tensor([1.0, 2.0], requires_grad=True))
    with pytest.raises(DTypeError, match="floating point"):
        nn.Parameter(ember.tensor([1, 2]))
    with pytest.raises(TypeError, match="Tensor"):
        nn.Parameter([1.0, 2.0])


# ---- registration -------------------------------------------------------------------------
def test_attributes_register_parameters_submodules_and_buffers():
    net = TwoLayerNet(4, 3, 2)
    names = [n for n, _ in net.named_parameters()]
    assert names == ["linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"]
    assert [p is q for p, q in zip(net.parameters(), [net.linear1.weight, net.linear1.bias,
                                                      net.linear2.weight, net.linear2.bias])] == [True] * 4
    assert [n for n, _ in net.named_children()] == ["linear1", "linear2"]
    assert [n for n, _ in net.named_modules()] == ["", "linear1", "linear2"]
    assert list(net.children()) == [net.linear1, net.linear2]
    assert len(list(net.modules())) == 3
    assert [n for n, _ in net.named_parameters(recurse=False)] == []

    m = WithBuffer()
    assert [n for n, _ in m.named_parameters()] == ["scale"]
    assert [n for n, _ in m.named_buffers()] == ["offset", "cache"]
    assert list(m.state_dict()) == ["scale", "offset"]  # the non-persistent buffer is not saved
    assert all(t is not m.plain for t in list(m.parameters()) + list(m.buffers()))


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.named_modules())) == 3  # the Sequential, the Linear, the ReLU


def test_reassigning_and_deleting_attributes():
    net = TwoLayerNet(2, 2, 2)
    net.linear2 = nn.Identity()
    assert [n for n, _ in net.named_parameters()] == ["linear1.weight", "linear1.bias"]
    net.linear1.bias = None
    assert [n for n, _ in net.named_parameters()] == ["linear1.weight"]
    del net.linear1
    assert list(net.parameters()) == [] and not hasattr(net, "linear1")
    with pytest.raises(TypeError, match="Parameter or None"):
        net.linear2 = nn.Linear(2, 2)
        net.linear2.weight = ember.zeros(2, 2)


def test_registration_errors_teach():
    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ember.zeros(1))
            super().__init__()
    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Early()
    m = nn.Module()
    with pytest.raises(KeyError, match="must not contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="nn.Parameter\\(tensor\\)"):
        m.register_parameter("w", ember.zeros(2))
    m.foo = 3
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("foo", ember.zeros(1))
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        m(ember.zeros(1))
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nope'"):
        m.nope


# ---- state_dict ---------------------------------------------------------------------------
def test_state_dict_round_trip_reproduces_outputs():
    ember.manual_seed(0)
    a = TwoLayerNet(5, 4, 3)
    ember.manual_seed(1)
    b = TwoLayerNet(5, 4, 3)
    x = ember.randn(2, 5)
    assert not ember.allclose(a(x), b(x))
    sd = a.state_dict()
    assert list(sd) == ["linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"]
    assert not any(t.requires_grad for t in sd.values())
    w_before = b.linear1.weight
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    assert b.linear1.weight is w_before  # loaded in place: optimizers keep their references
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    sd["linear1.bias"][0] = 123.0  # the state dict shares memory with the module
    assert a.linear1.bias[0].item() == 123.0


def test_load_state_dict_strict_lists_keys():
    net = TwoLayerNet(3, 2, 1)
    sd = net.state_dict()
    del sd["linear2.bias"]
    sd["extra.weight"] = ember.zeros(1)
    with pytest.raises(RuntimeError) as e:
        net.load_state_dict(sd)
    msg = str(e.value)
    assert "Error(s) in loading state_dict for TwoLayerNet" in msg
    assert 'Missing key(s) in state_dict: "linear2.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["linear2.bias"] and unexpected == ["extra.weight"]


def test_load_state_dict_shape_mismatch_is_always_an_error():
    net = TwoLayerNet(3, 2, 1)
    sd = net.state_dict()
    sd["linear1.weight"] = ember.zeros(2, 4)
    with pytest.raises(RuntimeError, match=r"size mismatch for linear1.weight: copying a param "
                                           r"with shape ember.Size\(\[2, 4\]\) from checkpoint, "
                                           r"the shape in current model is ember.Size\(\[2, 3\]\)"):
        net.load_state_dict(sd, strict=False)


def test_buffers_are_saved_loaded_and_moved():
    bn = nn.BatchNorm1d(3)
    bn(ember.randn(8, 3))
    sd = bn.state_dict()
    assert list(sd) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    fresh = nn.BatchNorm1d(3)
    fresh.load_state_dict(sd)
    np.testing.assert_array_equal(fresh.running_mean.numpy(), bn.running_mean.numpy())
    assert fresh.num_batches_tracked.item() == 1


def test_deepcopy_makes_independent_parameters():
    net = TwoLayerNet(3, 2, 1)
    clone = copy.deepcopy(net)
    assert isinstance(clone.linear1.weight, nn.Parameter)
    assert clone.linear1.weight is not net.linear1.weight
    assert [n for n, _ in clone.named_parameters()] == [n for n, _ in net.named_parameters()]
    with ember.no_grad():
        clone.linear1.weight.fill_(0)
    assert net.linear1.weight.abs().sum().item() > 0


# ---- modes and gradients ------------------------------------------------------------------
def test_train_and_eval_reach_every_submodule():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(), nn.BatchNorm1d(2)))
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError):
        net.train("no")


def test_zero_grad_sets_none_by_default_or_zeros():
    net = TwoLayerNet(3, 2, 1)
    net(ember.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad.abs().sum().item() == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_requires_grad_and_apply():
    net = TwoLayerNet(3, 2, 1)
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Linear", "TwoLayerNet"]

    def init_zero(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)
    net.apply(init_zero)
    assert net.linear1.weight.abs().sum().item() == 0


def test_forward_hooks_run_and_can_be_removed():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, inp: calls.append(("pre", inp[0].shape)))
    h2 = lin.register_forward_hook(lambda m, inp, out: out * 0)
    out = lin(ember.ones(3, 2))
    assert calls == [("pre", (3, 2))] and out.abs().sum().item() == 0
    h1.remove()
    h2.remove()
    assert lin(ember.ones(3, 2)).abs().sum().item() > 0 and len(calls) == 1


# ---- dtypes and devices -------------------------------------------------------------------
def test_double_and_float_convert_in_place_keeping_identity():
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    w = net[0].weight
    net(ember.randn(4, 3)).sum().backward()
    assert net.double() is net
    assert net[0].weight is w and w.dtype == ember.float64 and w.grad.dtype == ember.float64
    assert net[1].running_mean.dtype == ember.float64
    assert net[1].num_batches_tracked.dtype == ember.int64  # integers keep their dtype
    out = net(ember.randn(4, 3, dtype=ember.float64))
    assert out.dtype == ember.float64
    net.float()
    assert w.dtype == ember.float32 and net.to(ember.float64) is net and w.dtype == ember.float64
    with pytest.raises(TypeError, match="floating point"):
        net.to(ember.int64)


def test_cpu_is_a_no_op_and_cuda_without_gpu_explains():
    net = nn.Linear(2, 2)
    w = net.weight
    assert net.to("cpu") is net and net.cpu().weight is w
    if ember.cuda.is_available():
        pytest.skip("a GPU is present; see test_cuda_round_trip")
    with pytest.raises(DeviceError, match="CuPy|GPU"):
        net.cuda()


@pytest.mark.cuda
def test_cuda_round_trip():
    if not ember.cuda.is_available():
        pytest.skip("no GPU")
    ember.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.2), nn.Linear(8, 3))
    x = ember.randn(4, 1, 4, 4)
    y = ember.tensor([0, 1, 2, 1])
    w = net[0].weight
    net.eval()
    expected = net(x).detach().numpy()
    net.cuda()
    assert net[0].weight is w and w.device.type == "cuda"
    assert net[1].running_mean.device.type == "cuda"
    got = net(x.cuda())
    np.testing.assert_allclose(got.cpu().detach().numpy(), expected, rtol=1e-4, atol=1e-5)
    net.train()
    nn.functional.cross_entropy(net(x.cuda()), y.cuda()).backward()
    assert w.grad.device.type == "cuda"
    net.cpu()
    assert w.device.type == "cpu" and w.grad.device.type == "cpu"


def test_dtype_mismatch_error_names_the_fix():
    net = nn.Linear(3, 2)
    x = ember.tensor(np.ones((4, 3)))  # numpy's float64
    with pytest.raises(DTypeError, match=r"input is ember.float64 but weight is ember.float32"):
        net(x)


# ---- printing -----------------------------------------------------------------------------
def test_repr_tree_is_pytorchs():
    net = TwoLayerNet(1000, 100, 10)
    assert repr(net) == ("TwoLayerNet(\n"
                         "  (linear1): Linear(in_features=1000, out_features=100, bias=True)\n"
                         "  (linear2): Linear(in_features=100, out_features=10, bias=True)\n"
                         ")")
    seq = nn.Sequential(nn.Linear(4, 3, bias=False), nn.ReLU(),
                        nn.Sequential(nn.Dropout(0.1), nn.Linear(3, 1)))
    assert repr(seq) == ("Sequential(\n"
                         "  (0): Linear(in_features=4, out_features=3, bias=False)\n"
                         "  (1): ReLU()\n"
                         "  (2): Sequential(\n"
                         "    (0): Dropout(p=0.1, inplace=False)\n"
                         "    (1): Linear(in_features=3, out_features=1, bias=True)\n"
                         "  )\n"
                         ")")
    blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    assert repr(blocks) == ("ModuleList(\n"
                            "  (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)\n"
                            "  (3): ReLU()\n"
                            ")")


# ---- containers ---------------------------------------------------------------------------
def test_sequential_runs_in_order_and_indexes_like_a_list():
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = ember.randn(5, 3)
    manual = seq[2](seq[1](seq[0](x)))
    np.testing.assert_array_equal(seq(x).detach().numpy(), manual.detach().numpy())
    assert len(seq) == 3 and seq[-1] is seq[2] and list(seq) == [seq[0], seq[1], seq[2]]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and [n for n, _ in seq.named_children()] == ["0", "1", "2", "3"]
    del seq[1]
    assert [type(m).__name__ for m in seq] == ["Linear", "Linear", "Sigmoid"]
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    with pytest.raises(IndexError, match="out of range for a Sequential of length 3"):
        seq[3]


def test_sequential_from_ordered_dict_keeps_names():
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.Tanh())]))
    assert seq.fc is seq[0] and list(seq.state_dict()) == ["fc.weight", "fc.bias"]


def test_module_list_and_dict_register_their_members():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(nn.Linear(2, 2) for _ in range(3))
            self.heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 4)})
            self.hidden = [nn.Linear(2, 2)]  # a plain list hides its layers

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return self.heads["a"](x), self.heads["b"](x)

    net = Net()
    assert len(list(net.parameters())) == 3 * 2 + 2 * 2
    assert [n for n, _ in net.named_parameters()][:2] == ["layers.0.weight", "layers.0.bias"]
    assert "heads.b.bias" in net.state_dict()
    a, b = net(ember.randn(5, 2))
    assert a.shape == (5, 1) and b.shape == (5, 4)
    assert list(net.heads.keys()) == ["a", "b"] and "a" in net.heads and len(net.heads) == 2
    net.layers.append(nn.Linear(2, 2))
    assert len(net.layers) == 4 and net.layers[-1] is net.layers[3]
    net.heads.pop("a")
    assert list(net.heads) == ["b"]


# ---- the lecture's nn programs ------------------------------------------------------------
def test_lecture_nn_sequential_training_loop():
    torch = ember
    N, D_in, H, D_out = 64, 1000, 100, 10
    torch.manual_seed(0)
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    model = torch.nn.Sequential(torch.nn.Linear(D_in, H), torch.nn.ReLU(),
                                torch.nn.Linear(H, D_out))
    loss_fn = torch.nn.MSELoss(reduction="sum")
    learning_rate = 1e-4
    losses = []
    for t in range(50):
        y_pred = model(x)
        loss = loss_fn(y_pred, y)
        losses.append(loss.item())
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
    assert losses[-1] < 0.1 * losses[0]


def test_lecture_custom_module_training_loop():
    torch = ember
    torch.manual_seed(0)
    x = torch.randn(64, 100)
    y = torch.randn(64, 10)
    model = TwoLayerNet(100, 50, 10)
    losses = []
    for t in range(50):
        loss = torch.nn.functional.mse_loss(model(x), y)
        losses.append(loss.item())
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= 0.5 * param.grad
    assert losses[-1] < 0.5 * losses[0]


def test_linear_wrong_in_features_names_the_layer():
    with pytest.raises(ShapeError) as e:
        nn.Linear(1000, 100)(ember.randn(64, 999))
    assert str(e.value) == ("Linear(in_features=1000, out_features=100, bias=True) got input of "
                            "shape (64, 999): the last dimension must be 1000")


@pytest.mark.cuda
@pytest.mark.parametrize("make, shape", [
    (lambda: nn.Linear(5, 3), (4, 5)),
    (lambda: nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1, dilation=1), nn.MaxPool2d(2),
                           nn.AvgPool2d(1)), (2, 2, 8, 8)),
    (lambda: nn.BatchNorm2d(2), (3, 2, 4, 4)),
    (lambda: nn.Sequential(nn.LeakyReLU(), nn.LogSoftmax(dim=1), nn.Softmax(dim=0)), (4, 5)),
    (lambda: nn.RNN(5, 3, num_layers=2, batch_first=True), (2, 4, 5)),
])
def test_layers_on_cuda_match_cpu(make, shape):
    if not ember.cuda.is_available():
        pytest.skip("no GPU")
    ember.manual_seed(0)
    cpu = make().double()
    gpu = copy.deepcopy(cpu).cuda()
    x = ember.randn(*shape, dtype=ember.float64)
    outs = []
    for m, inp in ((cpu, x), (gpu, x.cuda())):
        inp = inp.detach().requires_grad_()
        out = m(inp)
        out = out[0] if isinstance(out, tuple) else out
        (out * out).sum().backward()
        outs.append((out.cpu().detach().numpy(), inp.grad.cpu().numpy(),
                     [p.grad.cpu().numpy() for p in m.parameters()]))
    (o1, g1, p1), (o2, g2, p2) = outs
    np.testing.assert_allclose(o2, o1, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(g2, g1, rtol=1e-9, atol=1e-12)
    for a, b in zip(p1, p2):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)


@pytest.mark.cuda
def test_losses_and_embedding_on_cuda_match_cpu():
    if not ember.cuda.is_available():
        pytest.skip("no GPU")
    F = nn.functional
    x = ember.randn(6, 4, dtype=ember.float64)
    t = ember.tensor([0, 3, 1, 2, 2, -100])
    y = ember.rand(6, 4, dtype=ember.float64)
    emb_idx = ember.tensor([[1, 2], [2, 0]])
    results = []
    for dev in ("cpu", "cuda"):
        xi = x.clone().to(dev).requires_grad_()
        table = nn.Embedding(3, 4).double()
        with ember.no_grad():
            table.weight.copy_(ember.arange(12, dtype=ember.float64).reshape(3, 4))
        table.to(dev)
        loss = (F.cross_entropy(xi, t.to(dev)) + F.mse_loss(xi, y.to(dev))
                + F.binary_cross_entropy_with_logits(xi, y.to(dev))
                + F.binary_cross_entropy(xi.sigmoid(), y.to(dev)) + F.l1_loss(xi, y.to(dev))
                + (table(emb_idx.to(dev)) * 0.1).sum() + F.dropout(xi, 0.0).sum())
        loss.backward()
        results.append((loss.item(), xi.grad.cpu().numpy(), table.weight.grad.cpu().numpy()))
    assert abs(results[0][0] - results[1][0]) < 1e-9
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(results[1][2], results[0][2], rtol=1e-9, atol=1e-12)
