# Wrong answers the tests must catch (see course/AUTHORING.md): each `# %%%` is one wrong answer.

# %%% tensors_not_floats
# fails: test_derivative
# says: return Python floats
# %% derivative_answer
def value_and_derivative(f, x0):
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    y = f(x)
    y.backward()
    return y, x.grad                                        # tensors, not floats

# %%% sgd_no_zero_grad
# fails: test_sgd
# says: not zeroed first
# %% sgd_answer
def sgd_step(params, loss_fn, learning_rate):
    loss = loss_fn()
    loss.backward()                                         # adds to the previous step's .grad
    with torch.no_grad():
        for p in params:
            p -= learning_rate * p.grad
    return loss.item()

# %%% sgd_rebinds
# fails: test_sgd
# says: unchanged; p -= learning_rate * p.grad
# %% sgd_answer
def sgd_step(params, loss_fn, learning_rate):
    for p in params:
        if p.grad is not None:
            p.grad.zero_()
    loss = loss_fn()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p = p - learning_rate * p.grad                  # a new tensor; the parameter never changes
    return loss.item()

# %%% sigmoid_sign
# fails: test_sigmoid
# says: note the minus sign
# %% sigmoid_answer
def sigmoid(x):
    return 1.0 / (1.0 + x.exp())

# %%% Sigmoid_drops_upstream
# fails: test_Sigmoid
# says: the upstream gradient times the local derivative
# %% Sigmoid_answer
class Sigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = 1.0 / (1.0 + (-x).exp())
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_y):
        y, = ctx.saved_tensors
        return y * (1.0 - y)                                 # forgets grad_y

# %%% MyReLU_edits_grad_output
# fails: test_MyReLU
# says: must not modify grad_output in place
# %% MyReLU_answer
class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        x, = ctx.saved_tensors
        grad_output[x < 0] = 0      # modifies the upstream gradient in place (no clone)
        return grad_output

# %%% MyReLU_mask_from_gradient
# fails: test_MyReLU, test_gradcheck
# says: the mask comes from the saved *input* x; MyReLU's backward disagrees
# %% MyReLU_answer
class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        grad_input = grad_output.clone()
        grad_input[grad_output < 0] = 0                     # the mask must come from the input x
        return grad_input

# %%% grad_tuple_returned
# fails: test_autograd_grad
# says: autograd.grad returns a tuple
# %% autograd_grad_answer
def derivative(f, xs):
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    return torch.autograd.grad(f(x).sum(), x)               # a tuple of one gradient
