"""Every code snippet of the lecture notes (../shared/lecture-notes/) runs on ember with only the
import changed: `import torch` -> `import ember as torch`, `import tensorflow.compat.v1 as tf` ->
`import ember.static as tf`, `keras.*` -> `ember.keras.*`.

Each test is one snippet as the notes write it, with the notes' typos fixed (each fix is named in
a comment), and checks what it computes: the loss goes down, shapes, values against numpy.
Notes: 000 = 000_804b4459ba4ac51a.txt, 001 = 001_660826ab9b9516e8.txt, 002 =
002_819f8138be533a81.txt (003 and 004 have no code, only slides). Snippets shown only as slide
images in 000 (TensorFlow's graph, cond and foldl examples) are written out from the slides.
Training loops of `range(500)` run `range(T)` steps to keep the suite fast on two cores.
"""
from __future__ import annotations

import numpy as np
import pytest

import ember as torch
import ember.static as tf

T = 100          # steps of the lecture's 500-step training loops
Variable = torch.autograd.Variable   # `from torch.autograd import Variable`


@pytest.fixture(autouse=True)
def fresh():
    torch.manual_seed(0)
    np.random.seed(0)
    tf.reset_default_graph()


def decreasing(losses, factor=1.0):
    return losses[-1] < factor * losses[0]


# ---- TensorFlow 1 (note 000) ------------------------------------------------------------------
def test_000_slide_computational_graph_with_device_and_shapeless_placeholders():
    # 000: `grad_x, grad_y, grad_z = tf.gradients(c, [x,y,z])` and the `with tf.device('/cpu:0')`
    # line, in the slide's program (image 0029): placeholders without a shape
    N, D = 3, 4
    with tf.device('/cpu:0'):
        x = tf.placeholder(tf.float32)
        y = tf.placeholder(tf.float32)
        z = tf.placeholder(tf.float32)
        a = x * y
        b = a + z
        c = tf.reduce_sum(b)
    grad_x, grad_y, grad_z = tf.gradients(c, [x, y, z])
    with tf.Session() as sess:
        values = {x: np.random.randn(N, D), y: np.random.randn(N, D), z: np.random.randn(N, D)}
        out = sess.run([c, grad_x, grad_y, grad_z], feed_dict=values)
        c_val, grad_x_val, grad_y_val, grad_z_val = out
    assert np.isclose(c_val, (values[x] * values[y] + values[z]).sum(), rtol=1e-5)
    np.testing.assert_allclose(grad_x_val, values[y], rtol=1e-6)
    np.testing.assert_allclose(grad_y_val, values[x], rtol=1e-6)
    np.testing.assert_allclose(grad_z_val, np.ones((N, D)))
    assert x.device == "cpu:0"
    with tf.device('/gpu:0'):          # "=> with tf.device('/gpu:0')": the same program runs
        d = x * 2.0
    assert d.device == "gpu:0"


def test_000_tensorflow_neural_net_with_placeholder_weights():
    # 000, first TensorFlow program. Fixed: nothing (only the import); seeded
    tf.disable_v2_behavior()
    N, D, H = 64, 1000, 100
    x = tf.placeholder(tf.float32, shape=(N, D))
    y = tf.placeholder(tf.float32, shape=(N, D))
    w1 = tf.placeholder(tf.float32, shape=(D, H))
    w2 = tf.placeholder(tf.float32, shape=(H, D))
    h = tf.maximum(tf.matmul(x, w1), 0)
    y_pred = tf.matmul(h, w2)
    diff = y_pred - y
    loss = tf.reduce_mean(tf.reduce_sum(diff ** 2, axis=1))
    grad_w1, grad_w2 = tf.gradients(loss, [w1, w2])
    losses = []
    with tf.device('/gpu:0'):
        with tf.Session() as sess:
            values = {x: np.random.randn(N, D),
                      w1: np.random.randn(D, H),
                      w2: np.random.randn(H, D),
                      y: np.random.randn(N, D)}
            learning_rate = 1e-5
            start = {k: v.copy() for k, v in values.items()}
            for iteration in range(50):
                out = sess.run([loss, grad_w1, grad_w2], feed_dict=values)
                loss_val, grad_w1_val, grad_w2_val = out
                values[w1] -= learning_rate * grad_w1_val
                values[w2] -= learning_rate * grad_w2_val
                losses.append(loss_val)
    assert decreasing(losses, 0.5)
    h0 = np.maximum(start[x] @ start[w1], 0)
    assert np.isclose(losses[0], ((h0 @ start[w2] - start[y]) ** 2).sum(1).mean(), rtol=1e-4)
    assert grad_w1_val.shape == (D, H) and grad_w2_val.shape == (H, D)


def _variables_graph(N, D, H):
    x = tf.placeholder(tf.float32, shape=(N, D))
    y = tf.placeholder(tf.float32, shape=(N, D))
    w1 = tf.Variable(tf.random_normal((D, H)))
    w2 = tf.Variable(tf.random_normal((H, D)))
    h = tf.maximum(tf.matmul(x, w1), 0)
    y_pred = tf.matmul(h, w2)
    diff = y_pred - y
    loss = tf.losses.mean_squared_error(y_pred, y)
    return x, y, w1, w2, diff, loss


def test_000_tensorflow_variables_assign_and_group():
    # 000, second program (Variables, assign, group). Fixed: nothing; loss checked against numpy
    N, D, H = 64, 1000, 100
    x, y, w1, w2, diff, loss = _variables_graph(N, D, H)
    grad_w1, grad_w2 = tf.gradients(loss, [w1, w2])
    learning_rate = 1e-5
    new_w1 = w1.assign(w1 - learning_rate * grad_w1)
    new_w2 = w2.assign(w2 - learning_rate * grad_w2)
    updates = tf.group(new_w1, new_w2)
    losses = []
    with tf.device('/gpu:0'):
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            values = {x: np.random.randn(N, D),
                      y: np.random.randn(N, D), }
            for i in range(50):
                w1v, w2v = sess.run(w1), sess.run(w2)
                loss_val, _ = sess.run([loss, updates], feed_dict=values)
                losses.append(loss_val)
    want = ((np.maximum(values[x] @ w1v, 0) @ w2v - values[y]) ** 2).mean()
    assert np.isclose(losses[-1], want, rtol=1e-4)
    assert decreasing(losses)


def test_000_tensorflow_optimizer_replaces_the_assigns():
    # 000: "assigns줄부터 updates줄까지" replaced by an optimizer; also RMSProp, which the
    # comment names ("Adam, RMSprop 등")
    N, D, H = 64, 1000, 100
    learning_rate = 1e-5
    for make in (lambda: tf.train.GradientDescentOptimizer(learning_rate),
                 lambda: tf.train.RMSPropOptimizer(1e-3)):
        tf.reset_default_graph()
        x, y, w1, w2, diff, loss = _variables_graph(N, D, H)
        optimizer = make()
        updates = optimizer.minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            values = {x: np.random.randn(N, D), y: np.random.randn(N, D)}
            losses = [sess.run([loss, updates], feed_dict=values)[0] for _ in range(50)]
        assert decreasing(losses)


def test_000_tf_layers_with_xavier_initializer():
    # 000, tf.layers program (and the same graph again in "Tensorflow vs Pytorch"). Fixed:
    # nothing; the loss is fetched from the list sess.run returns
    N, D, H = 64, 1000, 100
    x = tf.placeholder(tf.float32, shape=(N, D))
    y = tf.placeholder(tf.float32, shape=(N, D))
    init = tf.contrib.layers.xavier_initializer()
    h = tf.layers.dense(inputs=x, units=H, activation=tf.nn.relu, kernel_initializer=init)
    y_pred = tf.layers.dense(inputs=h, units=D, kernel_initializer=init)
    loss = tf.losses.mean_squared_error(y_pred, y)
    optimizer = tf.train.GradientDescentOptimizer(1e-5)
    updates = optimizer.minimize(loss)
    losses = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        values = {x: np.random.randn(N, D),
                  y: np.random.randn(N, D)}
        for t in range(50):
            loss_val = sess.run([loss, updates], feed_dict=values)
            losses.append(loss_val[0])
    assert decreasing(losses) and len(tf.trainable_variables()) == 4
    assert y_pred.shape == (N, D)


def test_000_slide_tf_cond_with_an_unknown_shape_placeholder():
    # 000: "tensorflow의 경우 ... control flow 자체를 넣어줘야 한다" (slide image 0125)
    N, D, H = 3, 4, 5
    x = tf.placeholder(tf.float32, shape=(N, D))
    z = tf.placeholder(tf.float32, shape=None)
    w1 = tf.placeholder(tf.float32, shape=(D, H))
    w2 = tf.placeholder(tf.float32, shape=(D, H))

    def f1(): return tf.matmul(x, w1)

    def f2(): return tf.matmul(x, w2)
    y = tf.cond(tf.less(z, 0), f1, f2)
    with tf.Session() as sess:
        values = {x: np.random.randn(N, D), z: 10, w1: np.random.randn(D, H),
                  w2: np.random.randn(D, H)}
        y_val = sess.run(y, feed_dict=values)
        values[z] = -10
        y_neg = sess.run(y, feed_dict=values)
    np.testing.assert_allclose(y_val, values[x] @ values[w2], rtol=1e-5)
    np.testing.assert_allclose(y_neg, values[x] @ values[w1], rtol=1e-5)


def test_000_slide_pytorch_if_is_plain_python():
    # 000: "pytorch는 단순하게 if문을 사용하면 된다" (slide image 0125)
    N, D, H = 3, 4, 5
    x = Variable(torch.randn(N, D))
    w1 = Variable(torch.randn(D, H))
    w2 = Variable(torch.randn(D, H))
    z = 10
    if z > 0:
        y = x.mm(w1)
    else:
        y = x.mm(w2)
    np.testing.assert_allclose(y.numpy(), x.numpy() @ w1.numpy(), rtol=1e-5)


def test_000_slide_loops_pytorch_for_and_tf_foldl():
    # 000: "tf.fold1연산" (typo: tf.foldl), slides 0127 (PyTorch) and 0128 (TensorFlow)
    T_, D = 3, 4
    y0 = Variable(torch.randn(D), requires_grad=True)
    x = Variable(torch.randn(T_, D))
    w = Variable(torch.randn(D))
    y = [y0]
    for t in range(T_):
        prev_y = y[-1]
        next_y = (prev_y + x[t]) * w
        y.append(next_y)
    ys = tf.placeholder(tf.float32, shape=(D,))
    xs = tf.placeholder(tf.float32, shape=(T_, D))
    ws = tf.placeholder(tf.float32, shape=(D,))

    def f(prev_y, cur_x):
        return (prev_y + cur_x) * ws
    y_tf = tf.foldl(f, xs, ys)
    grad_y0, = tf.gradients(tf.reduce_sum(y_tf), [ys])   # through the loop, like y0.grad
    with tf.Session() as sess:
        values = {xs: x.numpy(), ys: y0.detach().numpy(), ws: w.numpy()}
        y_val, g_val = sess.run([y_tf, grad_y0], feed_dict=values)
    np.testing.assert_allclose(y_val, y[-1].detach().numpy(), rtol=1e-5)
    y[-1].sum().backward()
    np.testing.assert_allclose(g_val, y0.grad.numpy(), rtol=1e-5)


def test_000_keras_sequential():
    # 000, Keras program. Imports: keras.models / keras.layers.core / keras.optimizers ->
    # ember.keras.*. Keras 1's output_dim= and nb_epoch= run as written (nb_epoch warns: Keras 2
    # renamed it epochs)
    from ember.keras.layers.core import Dense, Activation
    from ember.keras.models import Sequential
    from ember.keras.optimizers import SGD
    N, D, H = 64, 1000, 100
    model = Sequential()
    model.add(Dense(input_dim=D, output_dim=H))
    model.add(Activation('relu'))
    model.add(Dense(input_dim=H, output_dim=D))
    optimizer = SGD(lr=1e0)
    model.compile(loss='mean_squared_error', optimizer=optimizer)
    x = np.random.randn(N, D)
    y = np.random.randn(N, D)
    with pytest.warns(FutureWarning, match="nb_epoch"):
        history = model.fit(x, y, nb_epoch=50, batch_size=N, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 50 and decreasing(losses, 0.9)
    assert np.isclose(((model.predict(x) - y) ** 2).mean(), model.evaluate(x, y, verbose=0),
                      rtol=1e-5)


# ---- PyTorch tensors and autograd (notes 000, 001, 002) ---------------------------------------
def _dtype():
    return torch.cuda.FloatTensor if torch.cuda.is_available() else torch.FloatTensor


def test_000_tensors_manual_backprop():
    # 000, tensor 2-layer net. Fixed: `grad_h[h>0] = 0` -> grad_h = grad_h_relu.clone();
    # grad_h[h < 0] = 0; torch.cuda.FloatTensor only when a GPU is there
    dtype = _dtype()
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in).type(dtype)
    y = torch.randn(N, D_out).type(dtype)
    w1 = torch.randn(D_in, H).type(dtype)
    w2 = torch.randn(H, D_out).type(dtype)
    learning_rate = 1e-6
    losses = []
    for i in range(T):
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
    assert decreasing(losses, 0.1)


def test_002_tensors_manual_backprop():
    # 002, "1. Tensors". Fixed: torch.FloatTeonsor -> FloatTensor; `2.0 * (y_pred = y)` ->
    # `2.0 * (y_pred - y)`; the GPU dtype only with a GPU
    dtype = torch.FloatTensor
    dtype = _dtype()
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in).type(dtype)
    y = torch.randn(N, D_out).type(dtype)
    w1 = torch.randn(D_in, H).type(dtype)
    w2 = torch.randn(H, D_out).type(dtype)
    learning_rate = 1e-6
    for t in range(T):
        h = x.mm(w1)
        h_relu = h.clamp(min=0)
        y_pred = h_relu.mm(w2)
        loss = (y_pred - y).pow(2).sum()
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.t().mm(grad_y_pred)
        grad_h_relu = grad_y_pred.mm(w2.t())
        grad_h = grad_h_relu.clone()
        grad_h[h < 0] = 0
        grad_w1 = x.t().mm(grad_h)
        if t == 0:   # the hand-written gradient is autograd's
            w1a = w1.clone().requires_grad_()
            (x.mm(w1a).clamp(min=0).mm(w2) - y).pow(2).sum().backward()
            np.testing.assert_allclose(grad_w1.numpy(), w1a.grad.numpy(), rtol=1e-4, atol=1e-2)
            first = loss.item()
        w1 -= learning_rate * grad_w1
        w2 -= learning_rate * grad_w2
    assert loss.item() < 0.1 * first


def test_001_tensor_creation():
    # 001, 9.3 (two snippets). Fixed: rand_like of an int tensor needs dtype=torch.float (as in
    # the PyTorch tutorial the notes quote)
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    x_ones = torch.ones_like(x_data)
    x_rand = torch.rand_like(x_data, dtype=torch.float)
    assert x_data.tolist() == data and x_np.tolist() == data and x_data.dtype == torch.int64
    assert x_ones.tolist() == [[1, 1], [1, 1]] and x_ones.dtype == torch.int64
    assert x_rand.dtype == torch.float32 and ((x_rand >= 0) & (x_rand < 1)).all()
    shape = (2, 3,)
    rand_tensor = torch.rand(shape)
    ones_tensor = torch.ones(shape)
    zeros_tensor = torch.zeros(shape)
    assert rand_tensor.shape == ones_tensor.shape == zeros_tensor.shape == (2, 3)
    assert ones_tensor.sum().item() == 6 and zeros_tensor.sum().item() == 0


def test_001_tensors_on_a_device():
    # 001, 9.3 training with tensors on `device`. Fixed: cuda:0 only when a GPU is there
    device = torch.device('cuda:0') if torch.cuda.is_available() else torch.device('cpu')
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in, device=device)
    y = torch.randn(N, D_out, device=device)
    w1 = torch.randn(D_in, H, device=device)
    w2 = torch.randn(H, D_out, device=device)
    learning_rate = 1e-6
    losses = []
    for t in range(T):
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
    assert decreasing(losses, 0.1) and x.device == device


def test_001_autograd():
    # 001, 9.4. Fixed: nothing
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    w1 = torch.randn(D_in, H, requires_grad=True)
    w2 = torch.randn(H, D_out, requires_grad=True)
    learning_rate = 1e-6
    losses = []
    for t in range(T):
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= learning_rate * w1.grad
            w2 -= learning_rate * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    assert decreasing(losses, 0.1)


@pytest.mark.parametrize("note", ["000", "002"])
def test_variable_autograd(note):
    # 000 and 002, Variable programs. Fixed: `if w1.grad:` (the truth value of a many-element
    # tensor is an error) -> `if w1.grad is not None:`; 002: requires_gard -> requires_grad and
    # `w1 -= ...` on a leaf that requires grad -> `w1.data -= ...` (as 000 writes it)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = Variable(torch.randn(N, D_in), requires_grad=False)
    y = Variable(torch.randn(N, D_out), requires_grad=False)
    w1 = Variable(torch.randn(D_in, H), requires_grad=True)
    w2 = Variable(torch.randn(H, D_out), requires_grad=True)
    learning_rate = 1e-6
    losses = []
    for t in range(T):
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        if w1.grad is not None: w1.grad.data.zero_()  # noqa: E701
        if w2.grad is not None: w2.grad.data.zero_()  # noqa: E701
        loss.backward()
        w1.data -= learning_rate * w1.grad.data
        w2.data -= learning_rate * w2.grad.data
    assert decreasing(losses, 0.1)
    assert isinstance(x.data, torch.Tensor) and w1.grad.data.shape == w1.shape


def test_000_computational_graph_backward():
    # 000: `c.backward()` on the graph of x, y, z (slide image 0034)
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


def sigmoid(x):
    return 1.0 / (1.0 + (-x).exp())


def _sigmoid_net(w1_scale, steps):
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    w1 = (torch.randn(D_in, H) * w1_scale).requires_grad_()
    w2 = torch.randn(H, D_out, requires_grad=True)
    learning_rate = 1e-6
    losses = []
    for t in range(steps):
        y_pred = sigmoid(x.mm(w1)).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        if t % 50 == 0:
            print(t, loss.item())
        with torch.no_grad():
            w1 -= learning_rate * w1.grad
            w2 -= learning_rate * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    return losses


def test_001_new_function_sigmoid(capsys):
    # 001, 9.5: sigmoid as a Python function of ops (written twice in the note). As written
    # (w1 = torch.randn(D_in, H)), x.mm(w1) reaches -100: exp overflows float32 to inf and the
    # gradient becomes inf * 0 = nan after one step, in PyTorch 2.13 exactly as here.
    with np.errstate(over="ignore", invalid="ignore"):
        losses = _sigmoid_net(1.0, 3)
    assert np.isfinite(losses[0]) and np.isnan(losses[1]) and np.isnan(losses[2])
    # Fixed: w1 scaled by 1/sqrt(D_in), so x.mm(w1) stays near 1 and the loss goes down
    losses = _sigmoid_net(1000 ** -0.5, T)
    assert decreasing(losses) and np.isfinite(losses).all()
    assert capsys.readouterr().out.startswith("0 ")


class Sigmoid(torch.autograd.Function):
    # 001, 9.5. Fixed: ctx.save_tensors -> ctx.saved_tensors
    @staticmethod
    def forward(ctx, x):
        y = 1.0 / (1.0 + (-x).exp())
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_y):
        y, = ctx.saved_tensors
        grad_x = grad_y * y * (1.0 - y)
        return grad_x


def test_001_sigmoid_autograd_function():
    def sigmoid_fn(x):
        return Sigmoid.apply(x)
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    np.testing.assert_allclose(sigmoid_fn(x).detach().numpy(), 1 / (1 + np.exp(-x.detach().numpy())))
    assert torch.autograd.gradcheck(sigmoid_fn, (x,))


class ReLU(torch.autograd.Function):
    # 002, "3. New Autograd Functions". Fixed: the legacy style (forward(self, x), `relu =
    # ReLU()`) that PyTorch removed -> static methods with ctx, called as ReLU.apply
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


def test_002_relu_autograd_function_in_training():
    # Fixed also: requires_gard -> requires_grad; `if w1.grad:` -> `is not None`; w1.data -=
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = Variable(torch.randn(N, D_in), requires_grad=False)
    y = Variable(torch.randn(N, D_out), requires_grad=False)
    w1 = Variable(torch.randn(D_in, H), requires_grad=True)
    w2 = Variable(torch.randn(H, D_out), requires_grad=True)
    learning_rate = 1e-6
    losses = []
    for t in range(T):
        relu = ReLU.apply
        y_pred = relu(x.mm(w1)).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        if w1.grad is not None: w1.grad.data.zero_()  # noqa: E701
        if w2.grad is not None: w2.grad.data.zero_()  # noqa: E701
        loss.backward()
        w1.data -= learning_rate * w1.grad.data
        w2.data -= learning_rate * w2.grad.data
    assert decreasing(losses, 0.1)
    x64 = torch.randn(6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(ReLU.apply, (x64,))


# ---- nn, optim, Modules, DataLoader, saving ----------------------------------------------------
def _mse_sum():
    # the notes' MSELoss(size_average=False) is deprecated (PyTorch too): reduction='sum'
    return torch.nn.MSELoss(reduction='sum')


def test_000_nn_sequential_with_adam():
    # 000, nn program. Fixed: size_average=False -> reduction='sum'
    N, D_in, H, D_out = 64, 1000, 100, 10
    learning_rate = 1e-4
    x = Variable(torch.randn(N, D_in))
    y = Variable(torch.randn(N, D_out), requires_grad=False)
    model = torch.nn.Sequential(
        torch.nn.Linear(D_in, H),
        torch.nn.ReLU(),
        torch.nn.Linear(H, D_out))
    loss_fn = _mse_sum()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    losses = []
    for t in range(T):
        y_pred = model(x)
        loss = loss_fn(y_pred, y)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert decreasing(losses, 0.7)


def test_002_nn_with_manual_update():
    # 002, "4. nn". Fixed: torch.radnn -> randn; size_average=False -> reduction='sum'
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = Variable(torch.randn(N, D_in))
    y = Variable(torch.randn(N, D_out), requires_grad=False)
    model = torch.nn.Sequential(
        torch.nn.Linear(D_in, H),
        torch.nn.ReLU(),
        torch.nn.Linear(H, D_out))
    loss_fn = _mse_sum()
    learning_rate = 1e-4
    losses = []
    for t in range(T):
        y_pred = model(x)
        loss = loss_fn(y_pred, y)
        losses.append(loss.item())
        model.zero_grad()
        loss.backward()
        for param in model.parameters():
            param.data -= learning_rate * param.grad.data
    assert decreasing(losses, 0.5)


def test_002_optim_adam():
    # 002, "5. optim". Fixed: size_average=False -> reduction='sum' (`learing_rate` is spelled
    # the same both times, so it runs)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = Variable(torch.randn(N, D_in))
    y = Variable(torch.randn(N, D_out), requires_grad=False)
    model = torch.nn.Sequential(
        torch.nn.Linear(D_in, H),
        torch.nn.ReLU(),
        torch.nn.Linear(H, D_out))
    loss_fn = _mse_sum()
    learing_rate = 1e-4
    optimizer = torch.optim.Adam(model.parameters(), lr=learing_rate)
    losses = []
    for t in range(T):
        y_pred = model(x)
        loss = loss_fn(y_pred, y)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert decreasing(losses, 0.7)


def test_001_nn_functional_mse_and_manual_step():
    # 001, 9.6. Fixed: nothing
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    model = torch.nn.Sequential(
        torch.nn.Linear(D_in, H),
        torch.nn.ReLU(),
        torch.nn.Linear(H, D_out))
    learning_rate = 1e-2
    losses = []
    for t in range(T):
        y_pred = model(x)
        loss = torch.nn.functional.mse_loss(y_pred, y)
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
        model.zero_grad()
    assert decreasing(losses, 0.9)


def test_001_optim_adam_and_lr():
    # 001, 9.7. Fixed: model.paramters() -> model.parameters()
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
    for t in range(T):
        y_pred = model(x)
        loss = torch.nn.functional.mse_loss(y_pred, y)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert decreasing(losses, 0.7) and optimizer.param_groups[0]["lr"] == learning_rate


def test_001_lr_scheduler_exponential():
    # 001, 9.7.1. Fixed: the snippet's undefined names: `optim` is torch.optim, and model,
    # dataset and loss_fn are made here (a small regression problem)
    optim = torch.optim
    model = torch.nn.Linear(4, 1)
    X = torch.randn(32, 4)
    dataset = [(X[i:i + 8], X[i:i + 8].sum(dim=1, keepdim=True)) for i in range(0, 32, 8)]
    loss_fn = torch.nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    scheduler = optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    epoch_losses = []
    for epoch in range(20):
        total = 0.0
        for input, target in dataset:
            optimizer.zero_grad()
            output = model(input)
            loss = loss_fn(output, target)
            loss.backward()
            optimizer.step()
            total += loss.item()
        epoch_losses.append(total)
        scheduler.step()
    assert np.isclose(optimizer.param_groups[0]["lr"], 0.01 * 0.9 ** 20)
    assert decreasing(epoch_losses, 0.1)


class TwoLayerNet(torch.nn.Module):
    # 000, 001 (9.8) and 002 ("6. Define new Modules"): the same module
    def __init__(self, D_in, H, D_out):
        super(TwoLayerNet, self).__init__()
        self.linear1 = torch.nn.Linear(D_in, H)
        self.linear2 = torch.nn.Linear(H, D_out)

    def forward(self, x):
        h_relu = self.linear1(x).clamp(min=0)
        y_pred = self.linear2(h_relu)
        return y_pred


class ParallelBlock(torch.nn.Module):
    # 001, 예제 1
    def __init__(self, D_in, D_out):
        super(ParallelBlock, self).__init__()
        self.linear1 = torch.nn.Linear(D_in, D_out)
        self.linear2 = torch.nn.Linear(D_in, D_out)

    def forward(self, x):
        h1 = self.linear1(x)
        h2 = self.linear2(x)
        return (h1 * h2).clamp(min=0)


@pytest.mark.parametrize("note", ["001", "002"])
def test_two_layer_module_with_sgd(note):
    # 001 (9.8, functional mse_loss) and 002 (criterion MSELoss(size_average=False)). Fixed (002):
    # model.paramters() -> parameters(); size_average=False -> reduction='sum'
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    model = TwoLayerNet(D_in, H, D_out)
    criterion = _mse_sum() if note == "002" else torch.nn.functional.mse_loss
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4 if note == "002" else 1e-2)
    losses = []
    for t in range(T):
        y_pred = model(x)
        loss = criterion(y_pred, y)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert decreasing(losses, 0.9)


def test_001_parallel_blocks():
    # 001, 예제 1 풀이. Fixed: ParallelBlock(D_i, H) -> ParallelBlock(D_in, H)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    model = torch.nn.Sequential(
        ParallelBlock(D_in, H),
        ParallelBlock(H, H),
        torch.nn.Linear(H, D_out))
    assert model(x).shape == y.shape
    assert len(list(model.parameters())) == 10


@pytest.mark.parametrize("note", ["000", "001", "002"])
def test_dataloader_training(note):
    # 000: Fixed: the inner loop used Variable(x), Variable(y) (all the data) -> the batch, and
    # zero_grad/backward/step belong inside it; size_average=False -> reduction='sum'.
    # 001 (9.9): Fixed: nothing. 002 ("7. DataLoaders"): Fixed: size_average -> reduction
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)
    model = TwoLayerNet(D_in, H, D_out)
    if note == "001":
        criterion = torch.nn.functional.mse_loss
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
        epochs = 20
    else:
        criterion = _mse_sum()
        optimizer = (torch.optim.Adam(model.parameters(), lr=1e-4) if note == "000" else
                     torch.optim.SGD(model.parameters(), lr=1e-4))
        epochs = 10
    first = torch.nn.functional.mse_loss(model(x), y).item()
    for epoch in range(epochs):
        for x_batch, y_batch in loader:
            x_var, y_var = Variable(x_batch), Variable(y_batch)
            y_pred = model(x_var)
            loss = criterion(y_pred, y_var)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    assert torch.nn.functional.mse_loss(model(x), y).item() < 0.8 * first


def test_001_save_and_load_state_dict(tmp_path):
    # 001, 9.10. Fixed: the undefined NeuralNetwork -> the TwoLayerNet being saved
    model = TwoLayerNet(1000, 100, 10)
    PATH = tmp_path / "model.ember"
    torch.save(model.state_dict(), PATH)
    restored = TwoLayerNet(1000, 100, 10)
    restored.load_state_dict(torch.load(PATH))
    x = torch.randn(4, 1000)
    assert torch.equal(restored(x), model(x))


def test_pretrained_models_ember_analogue():
    # 000, 001 (9.11), 002 ("8. Pretrained Models"): torchvision's ImageNet models (and
    # torchsummary) can't be downloaded here; ember ships one pretrained model, used the same way
    model = torch.models.digits_classifier(pretrained=True)
    print(model)
    from ember.datasets import load_digits
    X, y = load_digits()
    with torch.no_grad():
        accuracy = (model(X).argmax(dim=1) == y).float().mean().item()
    assert accuracy > 0.9


# ---- JIT (note 001, 9.11.1) --------------------------------------------------------------------
@torch.jit.script
def model(x, y, w1, w2a, w2b, prev_loss):
    w2 = w2a if prev_loss < 5.0 else w2b
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    return loss


def test_001_jit_script_compiles_the_data_dependent_if():
    # 001, 9.11.1 (@torch.jit.script). Fixed: nothing (prev_loss, a Python float, becomes a
    # 0-d tensor input; TorchScript would want it annotated `prev_loss: float`)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    w1 = torch.randn(D_in, H, requires_grad=True)
    w2a = torch.randn(H, D_out, requires_grad=True)
    w2b = torch.randn(H, D_out, requires_grad=True)
    prev_loss = 5.0
    learning_rate = 1e-6
    for t in range(T):
        loss = model(x, y, w1, w2a, w2b, prev_loss)
        loss.backward()
        prev_loss = loss.item()
    # the script's graph holds both branches: check it against the eager code on both sides
    eager = model.fn
    for p in (1.0, 9.0):
        assert np.isclose(model(x, y, w1, w2a, w2b, p).item(),
                          eager(x, y, w1, w2a, w2b, torch.tensor(p)).item(), rtol=1e-5)
    assert model.graph.op_counts()["cond"] == 1
    # T backward calls accumulated into w2b (prev_loss >= 5.0 every time after the first)
    w2b.grad = None
    model(x, y, w1, w2a, w2b, 9.0).backward()
    g_script = w2b.grad.numpy().copy()
    w2b.grad = None
    eager(x, y, w1, w2a, w2b, torch.tensor(9.0)).backward()
    np.testing.assert_allclose(g_script, w2b.grad.numpy(), rtol=1e-4)
    del learning_rate                            # the snippet defines it and never steps


def test_backward_through_a_traced_function():
    # the lecture's JIT model traced (torch.jit.trace): the if is frozen, but loss.backward()
    # through the traced function reaches the inputs, as in PyTorch
    def lecture_model(x, y, w1, w2a, w2b, prev_loss):
        w2 = w2a if prev_loss < 5.0 else w2b
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        return (y_pred - y).pow(2).sum()
    x, y = torch.randn(8, 6), torch.randn(8, 3)
    w1, w2a, w2b = (torch.randn(*s, requires_grad=True) for s in ((6, 5), (5, 3), (5, 3)))
    with pytest.warns(torch.jit.TracerWarning, match="froze the path"):
        traced = torch.jit.trace(lecture_model, (x, y, w1, w2a, w2b, torch.tensor(1.0)))
    loss = traced(x[:5], y[:5], w1, w2a, w2b, torch.tensor(9.0))   # another batch size
    loss.backward()
    grads = [w1.grad.numpy().copy(), w2a.grad.numpy().copy()]
    assert w2b.grad is None                      # the frozen branch never reads w2b
    w1.grad = w2a.grad = None
    lecture_model(x[:5], y[:5], w1, w2a, w2b, torch.tensor(1.0)).backward()
    np.testing.assert_allclose(grads[0], w1.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(grads[1], w2a.grad.numpy(), rtol=1e-5)


# ---- Caffe (note 000: prototxt network and solver, prose) --------------------------------------
def test_000_caffe_prototxt_network_trained_and_saved(tmp_path):
    # 000, Caffe: "코드 작성 대신 prototxt라는 텍스트파일을 만든다" and a solver prototxt: the
    # lecture's two-layer net as Caffe would define it, trained by a Solver, saved as snapshots
    from ember.config import Solver
    N, D_in, H, D_out = 64, 1000, 100, 10
    (tmp_path / "net.prototxt").write_text(f"""
        name: "TwoLayerNet"
        layer {{ name: "data" type: "Input" top: "data" top: "label"
                input_param {{ shape {{ dim: {N} dim: {D_in} }} shape {{ dim: {N} dim: {D_out} }} }} }}
        layer {{ name: "fc1" type: "InnerProduct" bottom: "data" top: "fc1"
                inner_product_param {{ num_output: {H} weight_filler {{ type: "xavier" }} }} }}
        layer {{ name: "relu1" type: "ReLU" bottom: "fc1" top: "fc1" }}
        layer {{ name: "fc2" type: "InnerProduct" bottom: "fc1" top: "fc2"
                inner_product_param {{ num_output: {D_out} }} }}
        layer {{ name: "loss" type: "EuclideanLoss" bottom: "fc2" bottom: "label" top: "loss" }}
    """)
    (tmp_path / "solver.prototxt").write_text("""
        net: "net.prototxt"  base_lr: 0.01  momentum: 0.9  lr_policy: "fixed"  max_iter: 50
        snapshot_prefix: "two_layer"  solver_mode: CPU
    """)
    x, y = np.random.randn(N, D_in), np.random.randn(N, D_out)
    solver = Solver(tmp_path / "solver.prototxt", data={"data": x, "label": y})
    history = solver.solve()
    assert decreasing(history, 0.5)
    saved = torch.load(tmp_path / "two_layer_iter_50.ember")
    assert saved["layers.fc1.fc.weight"].shape == (H, D_in)
