"""The lecture's PyTorch programs run on ember with only the import changed.

Each snippet is the lecture's code (typos corrected) with `import torch` replaced by
`import ember as torch`; each checks that training actually reduces the loss.
"""
import numpy as np
import pytest

import ember as torch


def test_pytorch_tensors_manual_backprop():
    dtype = torch.FloatTensor
    N, D_in, H, D_out = 64, 1000, 100, 10
    torch.manual_seed(0)
    x = torch.randn(N, D_in).type(dtype)
    y = torch.randn(N, D_out).type(dtype)
    w1 = torch.randn(D_in, H).type(dtype)
    w2 = torch.randn(H, D_out).type(dtype)
    learning_rate = 1e-6
    losses = []
    for t in range(50):
        h = x.mm(w1)
        h_relu = h.clamp(min=0)
        y_pred = h_relu.mm(w2)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.t().mm(grad_y_pred)
        grad_h_relu = grad_y_pred.mm(w2.t())
        grad_h = grad_h_relu.clone()
        grad_h[h < 0] = 0
        grad_w1 = x.t().mm(grad_h)
        w1 -= learning_rate * grad_w1
        w2 -= learning_rate * grad_w2
    assert losses[-1] < 0.5 * losses[0]


def test_pytorch_autograd_loop():
    N, D_in, H, D_out = 64, 1000, 100, 10
    torch.manual_seed(0)
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    w1 = torch.randn(D_in, H, requires_grad=True)
    w2 = torch.randn(H, D_out, requires_grad=True)
    learning_rate = 1e-6
    losses = []
    for t in range(50):
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= learning_rate * w1.grad
            w2 -= learning_rate * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    assert losses[-1] < 0.5 * losses[0]


def test_old_variable_api_with_data_updates():
    Variable = torch.autograd.Variable  # `from torch.autograd import Variable` in the lecture
    torch.manual_seed(1)
    x = Variable(torch.randn(16, 20), requires_grad=False)
    y = Variable(torch.randn(16, 5), requires_grad=False)
    w1 = Variable(torch.randn(20, 8), requires_grad=True)
    w2 = Variable(torch.randn(8, 5), requires_grad=True)
    first = None
    for t in range(30):
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        first = first if first is not None else loss.item()
        if w1.grad is not None:
            w1.grad.data.zero_()
            w2.grad.data.zero_()
        loss.backward()
        w1.data -= 1e-4 * w1.grad.data
        w2.data -= 1e-4 * w2.grad.data
    assert loss.item() < first


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_y):
        x, = ctx.saved_tensors
        grad_input = grad_y.clone()
        grad_input[x < 0] = 0
        return grad_input


def test_new_autograd_function_in_training_loop():
    torch.manual_seed(2)
    x, y = torch.randn(32, 50), torch.randn(32, 4)
    w1 = torch.randn(50, 16, requires_grad=True)
    w2 = torch.randn(16, 4, requires_grad=True)
    losses = []
    for t in range(40):
        y_pred = MyReLU.apply(x.mm(w1)).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= 1e-4 * w1.grad
            w2 -= 1e-4 * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    assert losses[-1] < losses[0]
    x64 = torch.randn(6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(MyReLU.apply, (x64,))


def test_computational_graph_example():
    torch.manual_seed(3)
    N, D = 3, 4
    x = torch.randn(N, D, requires_grad=True)
    y = torch.randn(N, D, requires_grad=True)
    z = torch.randn(N, D, requires_grad=True)
    a = x * y
    b = a + z
    c = torch.sum(b)
    c.backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy())
    np.testing.assert_allclose(y.grad.numpy(), x.detach().numpy())
    np.testing.assert_allclose(z.grad.numpy(), np.ones((N, D)))


class TwoLayerNet(torch.nn.Module):
    def __init__(self, D_in, H, D_out):
        super(TwoLayerNet, self).__init__()
        self.linear1 = torch.nn.Linear(D_in, H)
        self.linear2 = torch.nn.Linear(H, D_out)

    def forward(self, x):
        h_relu = self.linear1(x).clamp(min=0)
        y_pred = self.linear2(h_relu)
        return y_pred


class ParallelBlock(torch.nn.Module):
    def __init__(self, D_in, D_out):
        super(ParallelBlock, self).__init__()
        self.linear1 = torch.nn.Linear(D_in, D_out)
        self.linear2 = torch.nn.Linear(D_in, D_out)

    def forward(self, x):
        h1 = self.linear1(x)
        h2 = self.linear2(x)
        return (h1 * h2).clamp(min=0)


def test_nn_sequential_with_optimizer():
    torch.manual_seed(4)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    model = torch.nn.Sequential(
        torch.nn.Linear(D_in, H),
        torch.nn.ReLU(),
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
    assert losses[-1] < 0.7 * losses[0]


def test_modules_dataloader_and_saving(tmp_path):
    torch.manual_seed(5)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)
    model = TwoLayerNet(D_in, H, D_out)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
    first = torch.nn.functional.mse_loss(model(x), y).item()
    for epoch in range(20):
        for x_batch, y_batch in loader:
            y_pred = model(x_batch)
            loss = torch.nn.functional.mse_loss(y_pred, y_batch)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    assert torch.nn.functional.mse_loss(model(x), y).item() < 0.5 * first
    PATH = tmp_path / "model.ember"
    torch.save(model.state_dict(), PATH)
    restored = TwoLayerNet(D_in, H, D_out)
    restored.load_state_dict(torch.load(PATH))
    assert torch.equal(restored(x), model(x))
    blocks = torch.nn.Sequential(ParallelBlock(D_in, H), ParallelBlock(H, H),
                                 torch.nn.Linear(H, D_out))
    assert blocks(x).shape == (N, D_out)


def test_jit_freezes_python_control_flow():
    def model(x, y, w1, w2a, w2b, prev_loss):
        w2 = w2a if prev_loss < 5.0 else w2b
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        return (y_pred - y).pow(2).sum()
    torch.manual_seed(6)
    x, y = torch.randn(4, 6), torch.randn(4, 3)
    w1, w2a, w2b = torch.randn(6, 5), torch.randn(5, 3), torch.randn(5, 3)
    with pytest.warns(Warning, match="froze the path"):
        traced = torch.jit.trace(model, (x, y, w1, w2a, w2b, torch.tensor(1.0)))
    eager_b = model(x, y, w1, w2a, w2b, torch.tensor(9.0))
    # the trace took the w2a branch and keeps taking it: the graph is static
    frozen = traced(x, y, w1, w2a, w2b, torch.tensor(9.0))
    assert not np.allclose(np.asarray(frozen), np.asarray(eager_b))
    np.testing.assert_allclose(np.asarray(frozen), np.asarray(model(x, y, w1, w2a, w2b, torch.tensor(1.0))),
                               rtol=1e-5)
