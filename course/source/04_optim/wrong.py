# Wrong answers the tests must catch (see course/AUTHORING.md): each `# %%%` is one wrong answer.

# %%% sgd_plus
# fails: test_sgd
# says: p - lr * grad
# %% sgd_answer
def sgd(p, grad, state, lr):
    return p + lr * grad                                    # climbs the gradient

# %%% momentum_dampened_start
# fails: test_momentum
# says: a copy of the gradient
# %% momentum_answer
def sgd_momentum(p, grad, state, lr, momentum=0.9, nesterov=False):
    buf = momentum * state.get("momentum_buffer", np.zeros_like(grad)) + (1 - momentum) * grad
    state["momentum_buffer"] = buf
    step = grad + momentum * buf if nesterov else buf
    return p - lr * step

# %%% momentum_buffer_aliases_grad
# fails: test_momentum
# says: keep your own copy of the gradient
# %% momentum_answer
def sgd_momentum(p, grad, state, lr, momentum=0.9, nesterov=False):
    if "momentum_buffer" not in state:
        state["momentum_buffer"] = grad                     # the caller's array, not a copy
    else:
        buf = state["momentum_buffer"]
        buf *= momentum                                     # ... which these lines then change
        buf += grad
    buf = state["momentum_buffer"]
    step = grad + momentum * buf if nesterov else buf
    return p - lr * step

# %%% nesterov_plain_momentum
# fails: test_nesterov
# says: Nesterov steps along grad + momentum * buf
# %% momentum_answer
def sgd_momentum(p, grad, state, lr, momentum=0.9, nesterov=False):
    if "momentum_buffer" not in state:
        buf = np.array(grad, copy=True)
    else:
        buf = momentum * state["momentum_buffer"] + grad
    state["momentum_buffer"] = buf
    return p - lr * buf                                     # nesterov ignored

# %%% rmsprop_eps_inside_sqrt
# fails: test_rmsprop
# says: eps is added after the square root
# %% rmsprop_answer
def rmsprop(p, grad, state, lr, alpha=0.99, eps=1e-8):
    v = alpha * state.get("square_avg", np.zeros_like(grad)) + (1 - alpha) * grad * grad
    state["square_avg"] = v
    return p - lr * grad / np.sqrt(v + eps)

# %%% adam_no_bias_correction
# fails: test_adam
# says: with bias correction
# %% adam_answer
def adam(p, grad, state, lr, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    m = beta1 * state.get("exp_avg", np.zeros_like(grad)) + (1 - beta1) * grad
    v = beta2 * state.get("exp_avg_sq", np.zeros_like(grad)) + (1 - beta2) * grad * grad
    state["step"] = state.get("step", 0) + 1
    state["exp_avg"], state["exp_avg_sq"] = m, v
    return p - lr * m / (np.sqrt(v) + eps)          # forgot the bias correction

# %%% optimizer_rebinds_params
# fails: test_NumpyOptimizer
# says: p.copy_(...)
# %% NumpyOptimizer_answer
class NumpyOptimizer(torch.optim.Optimizer):
    def __init__(self, params, rule, **hyper):
        super().__init__(params, hyper)
        self.rule = rule

    def step(self):
        with torch.no_grad():
            for group in self.param_groups:
                options = {k: v for k, v in group.items() if k != "params"}
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    p = torch.from_numpy(self.rule(p.detach().numpy(), p.grad.numpy(), self.state[p], **options))

# %%% scheduler_per_batch
# fails: test_schedule
# says: once per epoch
# %% schedule_answer
def train_with_schedule(model, X, y, epochs, lr, gamma, batch_size):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)
    lrs = []
    for epoch in range(epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        for i in range(0, len(X), batch_size):
            loss = torch.nn.functional.cross_entropy(model(X[i:i + batch_size]), y[i:i + batch_size])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()                                # once per batch
    return lrs

# %%% cosine_ignores_eta_min
# fails: test_cosine
# says: not to 0
# %% cosine_answer
def cosine_lr(epoch, lr0, T_max, eta_min=0.0):
    return 0.5 * lr0 * (1 + math.cos(math.pi * epoch / T_max))
