# Wrong answers the tests must catch (see course/AUTHORING.md): each `# %%%` is one wrong answer.

# %%% mean_instead_of_sum
# fails: test_graph_forward
# says: c = sum(b)
# %% graph_answer
def graph_forward(x, y, z):
    a = x * y
    b = a + z
    return float(np.mean(b)), (x, y)


def graph_backward(grad_c, cache):
    x, y = cache
    grad_b = grad_c * np.ones_like(x)
    return grad_b * y, grad_b * x, grad_b.copy()

# %%% mul_does_not_swap
# fails: test_graph_backward
# says: mul swaps its inputs
# %% graph_answer
def graph_forward(x, y, z):
    return float(np.sum(x * y + z)), (x, y)


def graph_backward(grad_c, cache):
    x, y = cache
    grad_b = grad_c * np.ones_like(x)
    return grad_b * x, grad_b * y, grad_b.copy()          # each input times itself

# %%% relu_after_output
# fails: test_forward
# says: ReLU goes between the two matmuls
# %% forward_answer
def two_layer_forward(x, w1, w2):
    h = x @ w1
    h_relu = np.maximum(h, 0)
    y_pred = np.maximum(h_relu @ w2, 0)                    # a ReLU after the last layer too
    return y_pred, (x, w2, h, h_relu)


def l2_loss(y_pred, y):
    diff = y_pred - y
    return float(np.sum(diff ** 2)), 2.0 * diff

# %%% l2_gradient_sign
# fails: test_forward, test_backward_w2, test_backward_w1
# says: prediction minus target
# %% forward_answer
def two_layer_forward(x, w1, w2):
    h = x @ w1
    h_relu = np.maximum(h, 0)
    return h_relu @ w2, (x, w2, h, h_relu)


def l2_loss(y_pred, y):
    diff = y_pred - y
    return float(np.sum(diff ** 2)), 2.0 * (y - y_pred)   # target minus prediction

# %%% grad_w2_from_h
# fails: test_backward_w2
# says: the ReLU output (not h, not x)
# %% backward_answer
def two_layer_backward(grad_y_pred, cache):
    x, w2, h, h_relu = cache
    grad_w2 = h.T @ grad_y_pred                             # h, not h_relu
    grad_h = grad_y_pred @ w2.T
    grad_h[h < 0] = 0
    return x.T @ grad_h, grad_w2

# %%% relu_mask_from_gradient
# fails: test_backward_w1
# says: the mask comes from h
# %% backward_answer
def two_layer_backward(grad_y_pred, cache):
    x, w2, h, h_relu = cache
    grad_w2 = h_relu.T @ grad_y_pred
    grad_h_relu = grad_y_pred @ w2.T
    grad_h = grad_h_relu.copy()
    grad_h[grad_h_relu < 0] = 0   # ReLU mask on the wrong tensor: it must come from the input h
    grad_w1 = x.T @ grad_h
    return grad_w1, grad_w2

# %%% numgrad_not_restored
# fails: test_numgrad
# says: put each element back
# %% numgrad_answer
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)                                      # x[i] stays at old - h
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad

# %%% loss_after_update
# fails: test_train
# says: losses[0] is the loss of the initial weights
# %% train_answer
def train_numpy(x, y, w1, w2, learning_rate, steps):
    losses = []
    for _ in range(steps):
        y_pred, cache = two_layer_forward(x, w1, w2)
        loss, grad_y_pred = l2_loss(y_pred, y)
        grad_w1, grad_w2 = two_layer_backward(grad_y_pred, cache)
        w1 -= learning_rate * grad_w1
        w2 -= learning_rate * grad_w2
        losses.append(l2_loss(two_layer_forward(x, w1, w2)[0], y)[0])   # the loss after the step
    return losses

# %%% weights_rebound
# fails: test_train
# says: unchanged; in place
# %% train_answer
def train_numpy(x, y, w1, w2, learning_rate, steps):
    losses = []
    for _ in range(steps):
        y_pred, cache = two_layer_forward(x, w1, w2)
        loss, grad_y_pred = l2_loss(y_pred, y)
        grad_w1, grad_w2 = two_layer_backward(grad_y_pred, cache)
        w1 = w1 - learning_rate * grad_w1                   # new arrays: the caller's never change
        w2 = w2 - learning_rate * grad_w2
        losses.append(loss)
    return losses

# %%% tensor_mask_from_gradient
# fails: test_tensor
# says: mask from the ReLU input h
# %% tensor_answer
def tensor_forward_backward(x, y, w1, w2):
    h = x.mm(w1)
    h_relu = h.clamp(min=0)
    y_pred = h_relu.mm(w2)
    loss = (y_pred - y).pow(2).sum()
    grad_y_pred = 2.0 * (y_pred - y)
    grad_w2 = h_relu.t().mm(grad_y_pred)
    grad_h_relu = grad_y_pred.mm(w2.t())
    grad_h = grad_h_relu.clone()
    grad_h[grad_h_relu < 0] = 0
    return loss.item(), x.t().mm(grad_h), grad_w2

# %%% grads_not_zeroed
# fails: test_autograd_step
# says: zero it first
# %% autograd_answer
def ember_two_layer_step(x, y, w1, w2, learning_rate):
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    loss.backward()                                         # adds to the leftover .grad
    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad
    return loss.item()

# %%% weights_zeroed_not_grads
# fails: test_autograd_step
# says: never the weights
# %% autograd_answer
def ember_two_layer_step(x, y, w1, w2, learning_rate):
    for w in (w1, w2):
        if w.grad is not None:
            w.data.zero_()                                  # zeroes the weights, not the gradient
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    loss.backward()
    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad
    return loss.item()

# %%% autograd_weights_rebound
# fails: test_autograd_step
# says: unchanged; w1 -= learning_rate * w1.grad
# %% autograd_answer
def ember_two_layer_step(x, y, w1, w2, learning_rate):
    for w in (w1, w2):
        if w.grad is not None:
            w.grad.zero_()
    loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
    loss.backward()
    with torch.no_grad():
        w1 = w1 - learning_rate * w1.grad                   # rebinds the local name only
        w2 = w2 - learning_rate * w2.grad
    return loss.item()
