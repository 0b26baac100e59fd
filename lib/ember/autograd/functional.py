"""`ember.autograd.functional`, as torch.autograd.functional: derivatives of a function of tensors
(vjp, jvp, jacobian, hessian, hvp, vhp), built on `grad` with create_graph=True."""
from __future__ import annotations

from ..errors import AutogradError, DTypeError
from ..tensor import Tensor
from .engine import grad
from .grad_mode import enable_grad


def _prepare(inputs, name: str):
    """(tuple of fresh leaves that require grad, whether a single tensor was given)."""
    single = isinstance(inputs, Tensor)
    items = (inputs,) if single else tuple(inputs)
    leaves = []
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: inputs must be tensors, input {i} is {type(t).__name__}")
        if not t.is_floating_point():
            raise DTypeError(f"{name}: input {i} is {t.dtype}; derivatives need floating point "
                             f"inputs")
        leaves.append(t.detach().requires_grad_())
    return tuple(leaves), single


def _as_tuple(x):
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _grads(outputs, inputs, grad_outputs, create_graph: bool) -> tuple:
    """d(outputs)/d(inputs) with zeros (not None) for inputs the outputs don't depend on."""
    outs = [o for o in outputs if o.requires_grad]
    gos = [g for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not outs:
        return tuple(t.detach() * 0 for t in inputs)
    got = grad(outs, list(inputs), gos, retain_graph=True, create_graph=create_graph,
               allow_unused=True)
    return tuple(t.detach() * 0 if g is None else g for g, t in zip(got, inputs))


def _finish(x, create_graph: bool):
    return x if create_graph else x.detach()


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T J): the vector-Jacobian product, what backward computes."""
    leaves, single = _prepare(inputs, "vjp")
    with enable_grad():
        out = func(*leaves)
        outs = _as_tuple(out)
        if v is None:
            if any(o.numel() != 1 for o in outs):
                raise AutogradError("vjp: v can be omitted only when func returns a single "
                                    "element; pass v with the output's shape")
            vs = [None] * len(outs)
        else:
            vs = list(_as_tuple(v))
        g = _grads(outs, leaves, vs, create_graph)
    out = type(out)(_finish(o, create_graph) for o in outs) if not isinstance(out, Tensor) \
        else _finish(out, create_graph)
    return out, (_finish(g[0], create_graph) if single else
                 tuple(_finish(x, create_graph) for x in g))


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """d func / d inputs: shape output.shape + input.shape (tuples of them for several outputs
    or inputs), one backward pass per output element."""
    leaves, single_in = _prepare(inputs, "jacobian")
    with enable_grad():
        out = func(*leaves)
        outs = _as_tuple(out)
        from ..ops.shape import stack
        per_output = []
        for o in outs:
            flat = o.reshape(-1)
            rows = [_grads((flat[k],), leaves, (None,), create_graph) for k in range(flat.numel())]
            blocks = []
            for j, t in enumerate(leaves):
                if rows:
                    block = stack([r[j] for r in rows]).reshape(tuple(o.shape) + tuple(t.shape))
                else:
                    block = t.new_zeros(tuple(o.shape) + tuple(t.shape))
                blocks.append(_finish(block, create_graph))
            per_output.append(blocks[0] if single_in else tuple(blocks))
    return per_output[0] if isinstance(out, Tensor) else tuple(per_output)


def hessian(func, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """Second derivatives of a function with one output element: input.shape + input.shape
    (a tuple of tuples for several inputs)."""
    leaves, single_in = _prepare(inputs, "hessian")

    def gradient(*xs):
        out = func(*xs)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise AutogradError("hessian: func must return a tensor with a single element")
        g = _grads((out.reshape(()),), xs, (None,), True)
        return g[0] if single_in else g

    return jacobian(gradient, leaves[0] if single_in else leaves, create_graph=create_graph)


def hvp(func, inputs, v, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H v) for a function with one output element (H is symmetric, so this is
    also v^T H)."""
    leaves, single = _prepare(inputs, "hvp")
    vs = _as_tuple(v)
    with enable_grad():
        out = func(*leaves)
        if out.numel() != 1:
            raise AutogradError("hvp: func must return a tensor with a single element")
        g = _grads((out.reshape(()),), leaves, (None,), True)
        hv = _grads(g, leaves, vs, create_graph)
    hv = tuple(_finish(x, create_graph) for x in hv)
    return _finish(out, create_graph), (hv[0] if single else hv)


vhp = hvp


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), J v), by the double-backward trick: J v = d/du (u^T J v) where u^T J is a
    vjp taken with create_graph=True."""
    leaves, single = _prepare(inputs, "jvp")
    vs = _as_tuple(v) if v is not None else tuple(t.new_ones(tuple(t.shape)) for t in leaves)
    with enable_grad():
        out = func(*leaves)
        outs = _as_tuple(out)
        us = [o.detach().new_zeros(tuple(o.shape)).requires_grad_() for o in outs]
        ut_j = _grads(outs, leaves, us, True)
        jv = _grads(ut_j, us, vs, create_graph)
    jv = tuple(_finish(x, create_graph) for x in jv)
    res = type(out)(_finish(o, create_graph) for o in outs) if not isinstance(out, Tensor) \
        else _finish(out, create_graph)
    return res, (jv[0] if isinstance(out, Tensor) else jv)
