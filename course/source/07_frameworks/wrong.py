# Wrong answers the tests must catch (see course/AUTHORING.md): each `# %%%` is one wrong answer.

# %%% landscape_missing_key
# fails: test_landscape
# says: exactly the keys of the template
# %% landscape_answer
def landscape_answers():
    return {"theano_became": "TensorFlow", "torch_became": "PyTorch", "caffe_became": "Caffe2",
            "tf2_runs_by_default": "eager", "tf2_graph_from_python": "tf.function",
            "variable_merged_into": "Tensor", "jax_grad_in_ember": "ember.autograd.grad"}   # one key missing

# %%% best_state_not_copied
# fails: test_watch
# says: copies made with .clone()
# %% watch_answer
def train_with_validation(model, opt, x_train, y_train, x_val, y_val, epochs, plot):
    loss_fn = nn.MSELoss()
    val_losses, best_epoch, best_state = [], None, None
    for e in range(epochs):
        loss = loss_fn(model(x_train), y_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            val_loss = loss_fn(model(x_val), y_val).item()
        plot.update(e, loss=loss.item(), val_loss=val_loss)
        val_losses.append(val_loss)
        if best_epoch is None or val_loss < val_losses[best_epoch]:
            best_epoch = e
            best_state = model.state_dict()        # no copies: these tensors keep changing with the model
    model.load_state_dict(best_state)
    return val_losses, best_epoch

# %%% grad_fills_x_grad
# fails: test_after
# says: must not fill x.grad
# %% after_answer
def grad(f):
    def g(x):
        x.requires_grad_()
        f(x).backward()                                      # fills the caller's x.grad
        return x.grad
    return g


class Jit:
    def __init__(self, f):
        self.f = f
        self.cache = {}
        self.num_traces = 0

    def __call__(self, x):
        key = (tuple(x.shape), str(x.dtype))
        if key not in self.cache:
            self.cache[key] = ember.jit.trace(self.f, (x,))
            self.num_traces += 1
        return self.cache[key](x)


def jit(f):
    return Jit(f)

# %%% jit_key_shape_only
# fails: test_after
# says: one trace per (shape, dtype)
# %% after_answer
def grad(f):
    def g(x):
        x = x.detach().requires_grad_()
        (dx,) = torch.autograd.grad(f(x), [x])
        return dx
    return g


class Jit:
    def __init__(self, f):
        self.f = f
        self.cache = {}
        self.num_traces = 0

    def __call__(self, x):
        key = tuple(x.shape)                                 # float32 reuses the float64 trace
        if key not in self.cache:
            self.cache[key] = ember.jit.trace(self.f, (x,))
            self.num_traces += 1
        return self.cache[key](x)


def jit(f):
    return Jit(f)

# %%% and_as_sum
# fails: test_nmn
# says: the elementwise product of the two attentions
# %% nmn_answer
def execute(layout, scene, finds):
    op, *args = layout
    if op == "find":
        return finds[args[0]](scene)
    if op == "and":
        return execute(args[0], scene, finds) + execute(args[1], scene, finds)
    if op == "count":
        return execute(args[0], scene, finds).sum()
    if op == "more":
        return torch.sigmoid(execute(args[0], scene, finds) - execute(args[1], scene, finds))
    raise ValueError(f"unknown module {op!r} in layout {layout!r}")

# %%% keras_weights_not_transposed
# fails: test_four
# says: set_weights([w1.T, b1, w2.T, b2])
# %% four_answer
import ember.config
from ember.keras.models import Sequential
from ember.keras.layers import Dense, Activation
from ember.keras.optimizers import SGD


def train_tf1(x, y, weights, lr, steps):
    w1, b1, w2, b2 = weights
    tf.reset_default_graph()
    x_ph = tf.placeholder(tf.float32, shape=(N, D_in))
    y_ph = tf.placeholder(tf.float32, shape=(N, D_out))
    W1, B1, W2, B2 = tf.Variable(w1.T), tf.Variable(b1), tf.Variable(w2.T), tf.Variable(b2)
    h = tf.maximum(tf.matmul(x_ph, W1) + B1, 0.0)
    loss = tf.reduce_mean((tf.matmul(h, W2) + B2 - y_ph) ** 2)
    train_op = tf.train.GradientDescentOptimizer(lr).minimize(loss)
    losses = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            loss_val, _ = sess.run([loss, train_op], feed_dict={x_ph: x, y_ph: y})
            losses.append(float(loss_val))
    return losses


def train_keras(x, y, weights, lr, steps):
    w1, b1, w2, b2 = weights
    model = Sequential()
    model.add(Dense(H, input_dim=D_in))
    model.add(Activation("relu"))
    model.add(Dense(D_out))
    model.compile(loss="mean_squared_error", optimizer=SGD(learning_rate=lr))
    model.set_weights([w1.reshape(D_in, H), b1, w2.reshape(H, D_out), b2])   # reshaped, not transposed
    history = model.fit(x, y, epochs=steps, batch_size=N, verbose=0, shuffle=False)
    return list(history.history["loss"])


def caffe_net():
    return """
name: "two_layer"
layer { name: "data" type: "Input" top: "x" top: "y"
        input_param { shape { dim: 32 dim: 10 } shape { dim: 32 dim: 2 } } }
layer { name: "fc1" type: "InnerProduct" bottom: "x" top: "fc1" inner_product_param { num_output: 16 } }
layer { name: "relu1" type: "ReLU" bottom: "fc1" top: "fc1" }
layer { name: "fc2" type: "InnerProduct" bottom: "fc1" top: "fc2" inner_product_param { num_output: 2 } }
layer { name: "loss" type: "EuclideanLoss" bottom: "fc2" bottom: "y" top: "loss" }
"""


def train_caffe(x, y, weights, lr, steps):
    net = ember.config.build_model(ember.config.parse_prototxt(caffe_net()))
    with torch.no_grad():
        for p, w in zip(net.parameters(), weights):
            p.copy_(torch.from_numpy(w))
    solver = ember.config.Solver({"type": "SGD", "base_lr": lr, "lr_policy": "fixed", "max_iter": steps},
                                 net=net, data={"x": x, "y": y})
    return list(solver.solve())

# %%% traced_not_scripted
# fails: test_script
# says: must pick w2b
# %% script_answer
import warnings


def _lecture(x, y, w1, w2a, w2b, prev_loss):
    w2 = w2a if prev_loss < 5.0 else w2b
    return (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()


_traced = {}


def scripted_model(*args):                       # traced on the first call: the if is frozen
    if "f" not in _traced:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _traced["f"] = ember.jit.trace(_lecture, args)
    return _traced["f"](*args)


@ember.jit.script
def count_halvings(x):
    while x.sum() > 1.0:
        x = x / 2
    return x
