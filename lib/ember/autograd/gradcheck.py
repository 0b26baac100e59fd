"""Checking analytic gradients against numerical ones (central differences in float64)."""
from __future__ import annotations

import numpy as np

from ..errors import AutogradError, DTypeError
from ..tensor import Tensor
from .grad_mode import no_grad


def numerical_grad(fn, inputs, eps: float = 1e-6, grad_output=None) -> list:
    """d(sum(fn(*inputs) * grad_output))/d(input) by central differences, for every input
    that requires grad (None for the others)."""
    out = fn(*inputs)
    w = np.ones(out.shape) if grad_output is None else np.asarray(grad_output, dtype=np.float64)
    grads = []
    for t in inputs:
        if not (isinstance(t, Tensor) and t.requires_grad):
            grads.append(None)
            continue
        arr = t._data
        g = np.zeros(arr.shape, dtype=np.float64)
        flat = _flat(t, len(grads), "numerical_grad")
        for i in range(flat.size):
            orig = flat[i].item()
            with no_grad():
                flat[i] = orig + eps
                plus = float((np.asarray(fn(*inputs)._data, dtype=np.float64) * w).sum())
                flat[i] = orig - eps
                minus = float((np.asarray(fn(*inputs)._data, dtype=np.float64) * w).sum())
            flat[i] = orig
            g.reshape(-1)[i] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True) -> bool:
    """Compare autograd's gradients of `fn` with numerical ones, like torch.autograd.gradcheck.
    The inputs' `.grad` fields are left untouched.

    Inputs that require grad must be float64 (float32 rounding swamps the finite differences).
    Returns True, or raises (or returns False) naming the input and the worst element.
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t._data.dtype != np.float64:
            raise DTypeError(f"gradcheck: input {i} is {t.dtype}; use float64 inputs "
                             f"(ember.float64) so finite differences are accurate")
    if not any(isinstance(t, Tensor) and t.requires_grad for t in inputs):
        raise AutogradError("gradcheck: no input requires grad, there is nothing to check")
    out = fn(*inputs)
    rng = np.random.default_rng(0)
    w = rng.standard_normal(out.shape)
    wanted = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    from .engine import grad as autograd_grad
    analytic = dict(zip(map(id, wanted), autograd_grad(
        out, wanted, grad_outputs=Tensor._make(w.astype(out._data.dtype)), allow_unused=True)))
    numeric = numerical_grad(fn, inputs, eps, w)
    for i, (t, num) in enumerate(zip(inputs, numeric)):
        if num is None:
            continue
        g = analytic[id(t)]
        if not _matches(g, num, atol, rtol, raise_exception,
                        f"gradcheck: gradient of input {i} (shape {tuple(t.shape)}) does not "
                        f"match the numerical gradient"):
            return False
    return True


def gradgradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True) -> bool:
    """Check second derivatives, like torch.autograd.gradgradcheck: the gradient of
    s(x) = sum_i <d sum(fn(x) * w)/dx_i, u_i> (first-order grads taken with create_graph=True)
    against central differences of s, for random w and u. Inputs must be float64."""
    from .engine import grad as autograd_grad
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    wanted = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not wanted or any(t._data.dtype != np.float64 for t in wanted):
        raise DTypeError("gradgradcheck: give float64 inputs, at least one requiring grad")
    rng = np.random.default_rng(1)
    w = rng.standard_normal(fn(*inputs).shape)
    us = [Tensor._make(rng.standard_normal(t._data.shape)) for t in wanted]

    def s(create_graph: bool):
        out = fn(*inputs)
        gs = autograd_grad(out, wanted, grad_outputs=Tensor._make(w.astype(out._data.dtype)),
                           create_graph=create_graph, allow_unused=True)
        total = None
        for g, u in zip(gs, us):
            if g is not None:
                term = (g * u).sum()
                total = term if total is None else total + term
        return total

    total = s(True)
    if total is None or not total.requires_grad:
        raise AutogradError("gradgradcheck: the first-order gradients do not depend on the inputs "
                            "(nothing to check)")
    analytic = autograd_grad(total, wanted, allow_unused=True)
    for i, (t, g) in enumerate(zip(wanted, analytic)):
        num = np.zeros(t._data.shape)
        flat = _flat(t, i, "gradgradcheck")
        for k in range(flat.size):
            orig = flat[k].item()
            flat[k] = orig + eps
            plus = float(s(False)._data)
            flat[k] = orig - eps
            minus = float(s(False)._data)
            flat[k] = orig
            num.reshape(-1)[k] = (plus - minus) / (2 * eps)
        if not _matches(g, num, atol, rtol, raise_exception,
                        f"gradgradcheck: second derivative for input {i} (shape "
                        f"{tuple(t.shape)}) does not match"):
            return False
    return True


def _flat(t: Tensor, i: int, who: str):
    """t's values as a flat view, to perturb in place (perturbing a copy would change nothing)."""
    flat = t._data.reshape(-1)
    if not np.shares_memory(flat, t._data):
        raise AutogradError(f"{who}: input {i} is not contiguous in memory (a transposed or "
                            f"strided view), so it can't be perturbed in place; pass a contiguous "
                            f"copy, e.g. x.t().clone().detach().requires_grad_()")
    return flat


def _matches(g: Tensor | None, num, atol: float, rtol: float, raise_exception: bool,
             what: str) -> bool:
    """Whether the analytic gradient g (None: zeros) is close to `num`; if not, raise (or
    return False) with `what` and the worst element."""
    ana = np.zeros(num.shape) if g is None else np.asarray(g._data, dtype=np.float64)
    if np.allclose(ana, num, atol=atol, rtol=rtol):
        return True
    err = np.abs(ana - num)
    k = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
    msg = (f"{what}; worst at index {tuple(int(j) for j in k)}: analytic {ana[k]:.6g} vs "
           f"numerical {num[k]:.6g}")
    if raise_exception:
        raise AutogradError(msg)
    return False
