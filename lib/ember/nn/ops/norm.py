"""Batch normalization: y = (x - mean) / sqrt(var + eps) * weight + bias, per channel."""
from __future__ import annotations

from ...autograd.function import Op
from ...backend import array_module_of


class BatchNorm(Op):
    """Normalizes over every axis but the channel axis 1.

    In training the statistics are the batch's own (so they depend on x, and backward accounts
    for that) and the running statistics, if given, are updated in place:
    running = (1 - momentum) * running + momentum * batch, the variance unbiased.
    Otherwise the running statistics are used, as constants."""
    rule = ("grad_x = w / std * (grad - mean(grad) - xhat * mean(grad * xhat)) in training ; "
            "grad_w = sum(grad * xhat) ; grad_b = sum(grad)")
    saves = (1,)

    def forward(self, x, weight=None, bias=None, running_mean=None, running_var=None,
                training=True, momentum=0.1, eps=1e-5):
        xp = array_module_of(x)
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        if training:
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            if running_mean is not None:
                n = x.size // x.shape[1]
                running_mean *= 1 - momentum
                running_mean += momentum * mean
                running_var *= 1 - momentum
                running_var += (momentum * n / (n - 1)) * var
        else:
            mean, var = running_mean, running_var
        inv_std = (1.0 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
        self.xhat, self.inv_std, self.w = xhat, inv_std, weight
        self.axes, self.shape, self.training, self.eps = axes, shape, training, eps
        self.mean = mean.copy()  # running_mean changes in place later; only vjp reads this
        out = xhat if weight is None else xhat * weight.reshape(shape)
        return out if bias is None else out + bias.reshape(shape)

    def backward(self, grad):
        axes, shape, xhat = self.axes, self.shape, self.xhat
        gx = gw = gb = None
        if self.needs(0):
            gxhat = grad if self.w is None else grad * self.w.reshape(shape)
            if self.training:
                gxhat = (gxhat - gxhat.mean(axis=axes, keepdims=True)
                         - xhat * (gxhat * xhat).mean(axis=axes, keepdims=True))
            gx = gxhat * self.inv_std.reshape(shape)
        if self.needs(1):
            gw = (grad * xhat).sum(axis=axes)
        if self.needs(2):
            gb = grad.sum(axis=axes)
        return gx, gw, gb

    def vjp(self, grad):
        """Recorded backward (create_graph=True). The input is rebuilt from xhat (backward never
        reads it, so it is not kept); in training mean and std are functions of it."""
        axes, shape = self.axes, self.shape
        x = self.saved_input(0, self.xhat / self.inv_std.reshape(shape) + self.mean.reshape(shape))
        if self.training:
            mean = x.mean(axes, keepdim=True)
            inv_std = ((x - mean) ** 2).mean(axes, keepdim=True).add(self.eps) ** -0.5
        else:
            mean = self.const(self.mean.reshape(shape))
            inv_std = self.const(self.inv_std.reshape(shape))
        xhat = (x - mean) * inv_std
        w = None if self.w is None else self.saved_input(1, self.w).reshape(shape)
        gx = gw = gb = None
        if self.needs(0):
            gxhat = grad if w is None else grad * w
            if self.training:
                gxhat = (gxhat - gxhat.mean(axes, keepdim=True)
                         - xhat * (gxhat * xhat).mean(axes, keepdim=True))
            gx = gxhat * inv_std
        if self.needs(1):
            gw = (grad * xhat).sum(axes)
        if self.needs(2):
            gb = grad.sum(axes)
        return gx, gw, gb
