"""y = x @ W.T + b in one op: one matmul and one add forward, three products backward."""
from __future__ import annotations

from ...autograd.function import Op


class Addmm(Op):
    """The op of nn.Linear. x may have any number of leading dimensions; W is (out, in)."""
    rule = "grad_x = grad @ W ; grad_W = grad.T @ x ; grad_b = grad summed over the batch"
    saves = (0, 1)

    def forward(self, x, weight, bias=None):
        self.x, self.w = x, weight
        x2 = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
        out = x2 @ weight.T
        if bias is not None:
            out += bias
        return out if x.ndim == 2 else out.reshape(x.shape[:-1] + (weight.shape[0],))

    def backward(self, grad):
        x, w = self.x, self.w
        if grad.ndim != 2:
            grad = grad.reshape(-1, grad.shape[-1])
        gx = gw = gb = None
        if self.needs(0):
            gx = grad @ w
            if x.ndim != 2:
                gx = gx.reshape(x.shape)
        if self.needs(1):
            gw = grad.T @ (x if x.ndim == 2 else x.reshape(-1, x.shape[-1]))
        if len(self.next_functions) > 2 and self.needs(2):
            gb = grad.sum(axis=0)
        return gx, gw, gb

    def vjp(self, grad):
        """Recorded backward (create_graph=True), with ember's own ops."""
        x, w = self.saved_input(0, self.x), self.saved_input(1, self.w)
        g = grad if grad.ndim == 2 else grad.reshape(-1, grad.shape[-1])
        gx = gw = gb = None
        if self.needs(0):
            gx = g.matmul(w)
            if x.ndim != 2:
                gx = gx.reshape(tuple(x.shape))
        if self.needs(1):
            gw = g.t().matmul(x if x.ndim == 2 else x.reshape(-1, x.shape[-1]))
        if len(self.next_functions) > 2 and self.needs(2):
            gb = g.sum(0)
        return gx, gw, gb


class Mm(Addmm):
    """nn.Linear without a bias: y = x @ W.T."""
    rule = "grad_x = grad @ W ; grad_W = grad.T @ x"
