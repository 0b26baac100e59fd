"""Loss ops. Each computes a per-element loss, then reduces it: 'mean', 'sum' or 'none'."""
from __future__ import annotations

import math

from ...autograd.function import Op
from ...backend import array_module_of

_TINY = math.exp(-100)


def _clamped_log(a, xp):
    """max(log a, -100), as PyTorch's BCE, without ever evaluating log(0)."""
    safe = a > _TINY
    return xp.where(safe, xp.log(xp.where(safe, a, 1)), -100).astype(a.dtype, copy=False)


def _reduce(loss, reduction: str):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _scale(grad, reduction: str, n: int):
    """The incoming gradient as seen by each element of the unreduced loss."""
    if reduction == "mean":
        return grad / n
    return grad


class MseLoss(Op):
    rule = "grad_input = 2 * (input - target) * grad (/ N for mean) ; grad_target = -grad_input"
    saves = (0, 1)

    def forward(self, input, target, reduction="mean"):
        self.diff = input - target
        self.reduction = reduction
        return _reduce(self.diff * self.diff, reduction)

    def backward(self, grad):
        g = (2 * _scale(grad, self.reduction, self.diff.size)) * self.diff
        return (g if self.needs(0) else None), (-g if self.needs(1) else None)

    def vjp(self, grad):
        """Recorded backward (create_graph=True), with ember's own ops."""
        # diff as (input - target): its value, its gradient routed to both inputs
        diff = self.saved_input(0, self.diff) - self.saved_input(1, self.diff * 0)
        g = 2 * _scale(grad, self.reduction, self.diff.size) * diff
        return (g if self.needs(0) else None), (-g if self.needs(1) else None)


class NllLoss(Op):
    """Negative log-likelihood of class indices: loss_i = -weight[t_i] * logp[i, t_i].

    `logp` is (N, C) or (N, C, d1, ...) with `target` (N,) or (N, d1, ...). Targets equal to
    ignore_index contribute nothing; 'mean' divides by the total weight of the others."""
    rule = "grad_logp = -weight[t] * grad at [i, t_i] (/ total weight for mean), 0 elsewhere"

    def forward(self, logp, target=None, weight=None, ignore_index=-100, reduction="mean"):
        xp = array_module_of(logp)
        keep = target != ignore_index
        safe = xp.where(keep, target, 0)
        w = keep.astype(logp.dtype) if weight is None else weight[safe] * keep
        picked = xp.take_along_axis(logp, xp.expand_dims(safe, 1), axis=1).squeeze(1)
        self.shape, self.dtype, self.safe, self.w, self.reduction = logp.shape, logp.dtype, safe, w, reduction
        loss = -w * picked
        if reduction == "mean":
            self.total = w.sum()
            return loss.sum() / self.total
        return _reduce(loss, reduction)

    def backward(self, grad):
        xp = array_module_of(grad)
        g = -self.w * grad
        if self.reduction == "mean":
            g = g / self.total
        classes = xp.arange(self.shape[1]).reshape((1, -1) + (1,) * (len(self.shape) - 2))
        hit = xp.expand_dims(self.safe, 1) == classes
        return ((hit * xp.expand_dims(g, 1)).astype(self.dtype, copy=False),)

    def vjp(self, grad):
        """Recorded backward (create_graph=True), with ember's own ops."""
        xp = array_module_of(self.w)
        w = -self.w / self.total if self.reduction == "mean" else -self.w
        g = grad * self.const(xp.asarray(w, dtype=self.dtype))
        classes = xp.arange(self.shape[1]).reshape((1, -1) + (1,) * (len(self.shape) - 2))
        hit = (xp.expand_dims(self.safe, 1) == classes).astype(self.dtype)
        return (self.const(hit) * g.unsqueeze(1),)


class BinaryCrossEntropyWithLogits(Op):
    """-[pw * y log s(x) + (1 - y) log(1 - s(x))], with pos_weight pw (default 1) weighing the
    positives, written as (1 - y) x + (1 + (pw - 1) y) softplus(-x): it never overflows and never
    takes log(0), since softplus(-x) = max(-x, 0) + log(1 + exp(-|x|))."""
    rule = ("grad_x = (sigmoid(x) (1 + (pw - 1) y) - pw y) * grad ; "
            "grad_y = ((pw - 1) softplus(-x) - x) * grad")
    saves = (0, 1)  # pos_weight (a constant array, small) is copied instead

    def forward(self, x, y, pos_weight=None, reduction="mean"):
        xp = array_module_of(x)
        self.x, self.y, self.reduction = x, y, reduction
        self.pw = None if pos_weight is None else pos_weight.copy()
        if pos_weight is None:
            loss = xp.maximum(x, 0) - x * y + xp.log1p(xp.exp(-xp.abs(x)))
        else:
            self.sp = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
            loss = (1 - y) * x + (1 + (pos_weight - 1) * y) * self.sp
        return _reduce(loss, reduction)

    def backward(self, grad):
        xp = array_module_of(grad)
        x, y, pw = self.x, self.y, self.pw
        g = _scale(grad, self.reduction, x.size)
        e = xp.exp(-xp.abs(x))
        sig = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        if pw is None:
            return ((sig - y) * g if self.needs(0) else None,
                    -x * g if self.needs(1) else None)
        return ((sig * (1 + (pw - 1) * y) - pw * y) * g if self.needs(0) else None,
                ((pw - 1) * self.sp - x) * g if self.needs(1) else None, None)

    def vjp(self, grad):
        """Recorded backward (create_graph=True): Hessian-vector products of logistic losses."""
        x, y = self.saved_input(0, self.x), self.saved_input(1, self.y)
        g = _scale(grad, self.reduction, self.x.size)
        if self.pw is None:
            return ((x.sigmoid() - y) * g if self.needs(0) else None,
                    -x * g if self.needs(1) else None)
        pw = self.const(self.pw)
        softplus_neg = (-x).clamp(min=0) + (1 + (-x.abs()).exp()).log()
        return ((x.sigmoid() * (1 + (pw - 1) * y) - pw * y) * g if self.needs(0) else None,
                ((pw - 1) * softplus_neg - x) * g if self.needs(1) else None, None)


class BinaryCrossEntropy(Op):
    """-[y log p + (1 - y) log(1 - p)] on probabilities p; each log is clamped at -100 as in
    PyTorch, so p = 0 or 1 gives a large but finite loss."""
    rule = "grad_p = grad * (p - y) / max(p (1 - p), 1e-12) ; grad_y = grad * (log(1-p) - log p)"
    saves = (0, 1)

    def forward(self, p, y, reduction="mean"):
        xp = array_module_of(p)
        self.p, self.y, self.reduction = p, y, reduction
        self.logp, self.log1mp = _clamped_log(p, xp), _clamped_log(1 - p, xp)
        return _reduce(-(y * self.logp + (1 - y) * self.log1mp), reduction)

    def backward(self, grad):
        xp = array_module_of(grad)
        p, y = self.p, self.y
        g = _scale(grad, self.reduction, p.size)
        gp = g * (p - y) / xp.maximum(p * (1 - p), 1e-12) if self.needs(0) else None
        gy = g * (self.log1mp - self.logp) if self.needs(1) else None
        return gp, gy

    def vjp(self, grad):
        p, y = self.saved_input(0, self.p), self.saved_input(1, self.y)
        g = _scale(grad, self.reduction, self.p.size)
        gp = g * (p - y) / (p * (1 - p)).clamp(min=1e-12) if self.needs(0) else None
        gy = g * ((1 - p).log().clamp(min=-100) - p.log().clamp(min=-100)) \
            if self.needs(1) else None
        return gp, gy
