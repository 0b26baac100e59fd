"""Optimizers as graph builders: `minimize(loss)` adds the gradient nodes and the update nodes
(assigns on the Variables) and returns one op that runs a training step when fetched."""
from __future__ import annotations

from .autodiff import gradients
from .graph import Node
from .ops import elementwise as ew
from .ops.state import group
from .variables import Variable, trainable_variables


class Optimizer:
    """Base class: subclasses define `_apply(grad, var) -> update node`."""

    def __init__(self, learning_rate: float, name: str):
        self.learning_rate = learning_rate
        self.name = name

    def compute_gradients(self, loss: Node, var_list=None) -> list:
        var_list = list(var_list) if var_list is not None else trainable_variables(loss.graph)
        if not var_list:
            raise ValueError("minimize: there are no trainable Variables in the loss's graph")
        return list(zip(gradients(loss, var_list), var_list))

    def apply_gradients(self, grads_and_vars, global_step=None, name: str | None = None) -> Node:
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        if not pairs:
            raise ValueError("minimize: the loss does not depend on any of the Variables")
        graph = pairs[0][1].graph
        with graph.as_default(), graph.name_scope(self.name):
            updates = self._prepare() + [self._apply(g, v) for g, v in pairs]
            if global_step is not None:
                updates.append(global_step.assign_add(1))
            return group(*updates, name=name or "step")

    def minimize(self, loss: Node, global_step=None, var_list=None, name: str | None = None) -> Node:
        """One op: compute d loss / d var for every trainable Variable and update them."""
        return self.apply_gradients(self.compute_gradients(loss, var_list), global_step, name)

    def _prepare(self) -> list:
        return []

    def _slot(self, var: Variable, name: str) -> Variable:
        from . import zeros
        return Variable(zeros(var.shape, var.dtype), name=f"{var.name}/{name}", trainable=False)


class GradientDescentOptimizer(Optimizer):
    """var -= learning_rate * grad."""

    def __init__(self, learning_rate: float, name: str = "GradientDescent"):
        super().__init__(learning_rate, name)

    def _apply(self, g, var):
        return var.assign_sub(ew.mul(g, self.learning_rate))


class MomentumOptimizer(Optimizer):
    """accum = momentum * accum + grad; var -= learning_rate * accum (TF-1's formulation)."""

    def __init__(self, learning_rate: float, momentum: float, use_nesterov: bool = False,
                 name: str = "Momentum"):
        super().__init__(learning_rate, name)
        self.momentum, self.use_nesterov = momentum, use_nesterov

    def _apply(self, g, var):
        accum = self._slot(var, "momentum")
        new = accum.assign(ew.add(ew.mul(accum, self.momentum), g))
        step = ew.add(g, ew.mul(new, self.momentum)) if self.use_nesterov else new
        return var.assign_sub(ew.mul(step, self.learning_rate))


class AdamOptimizer(Optimizer):
    """Adam with bias correction folded into the step size, as in TF-1."""

    def __init__(self, learning_rate: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, name: str = "Adam"):
        super().__init__(learning_rate, name)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self._lr_t = None

    def _prepare(self) -> list:
        from . import constant
        t = Variable(constant(0.0), name="adam_t", trainable=False)
        t_new = t.assign_add(1.0)
        b1t = ew.pow(constant(self.beta1), t_new)
        b2t = ew.pow(constant(self.beta2), t_new)
        self._lr_t = ew.div(ew.mul(ew.sqrt(ew.sub(1.0, b2t)), self.learning_rate), ew.sub(1.0, b1t))
        return [t_new]

    def _apply(self, g, var):
        if var.dtype != self._lr_t.dtype:
            raise TypeError(f"AdamOptimizer: Variable '{var.name}' is {var.dtype.name}; ember's "
                            f"Adam supports float32 Variables")
        m, v = self._slot(var, "m"), self._slot(var, "v")
        m_new = m.assign(ew.add(ew.mul(m, self.beta1), ew.mul(g, 1 - self.beta1)))
        v_new = v.assign(ew.add(ew.mul(v, self.beta2), ew.mul(ew.square(g), 1 - self.beta2)))
        step = ew.div(ew.mul(m_new, self._lr_t), ew.add(ew.sqrt(v_new), self.epsilon))
        return var.assign_sub(step)


class RMSPropOptimizer(Optimizer):
    """TF-1's RMSProp: ms = decay * ms + (1 - decay) * grad**2 (ms starts at 1, as in TF-1);
    mom = momentum * mom + learning_rate * grad / sqrt(ms + epsilon); var -= mom."""

    def __init__(self, learning_rate: float, decay: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-10, centered: bool = False, name: str = "RMSProp"):
        super().__init__(learning_rate, name)
        if centered:
            raise NotImplementedError("RMSPropOptimizer(centered=True) is not supported")
        self.decay, self.momentum, self.epsilon = decay, momentum, epsilon

    def _apply(self, g, var):
        from . import ones
        ms = Variable(ones(var.shape, var.dtype), name=f"{var.name}/rms", trainable=False)
        ms_new = ms.assign(ew.add(ew.mul(ms, self.decay), ew.mul(ew.square(g), 1 - self.decay)))
        step = ew.div(ew.mul(g, self.learning_rate), ew.sqrt(ew.add(ms_new, self.epsilon)))
        if self.momentum:
            mom = self._slot(var, "momentum")
            step = mom.assign(ew.add(ew.mul(mom, self.momentum), step))
        return var.assign_sub(step)
