"""Views: tensors that share memory with a base tensor, and in-place ops through them.

A view remembers the steps (op class and attributes: GetItem, Reshape, Permute, Expand) that
made it from its base. An in-place op on a view of a tensor in the graph is recorded as PyTorch
records it: the base gets a `CopySlices` node (its old values outside the view, the op's result
inside), and the view's grad_fn is made again from the new base by replaying the steps.
"""
from __future__ import annotations

import weakref

from ..autograd.function import Op
from ..autograd.grad_mode import _state, enable_grad
from ..autograd.node import Node
from ..backend import array_module_of
from ..errors import AutogradError
from ..tensor import Tensor


def as_view(out: Tensor, base: Tensor, step: tuple | None = None) -> Tensor:
    """Mark `out` as a view of `base`: they share memory and the in-place version counter.
    `step` is `(op class, attrs)` that made out from base (to replay it on a new base)."""
    out._vc = base._vc
    if base._base is None:
        out._base = root = base
        if step is not None:
            out._view_steps = (step,)
    else:
        out._base = root = base._base
        if step is not None and base._view_steps:
            out._view_steps = base._view_steps + (step,)
    if base._multi_view is not None:
        out._multi_view = base._multi_view
    if base._no_grad_view or (root._requires_grad and not _state.enabled):
        out._no_grad_view = True
    if root._grad_fn is not None and out._view_steps and _state.enabled and \
            not getattr(step[0], "read_only_view", False):
        _register(root, out)
    return out


def _register(root: Tensor, view: Tensor) -> None:
    """Remember a view of a tensor in the graph, so an in-place op on that tensor (or through
    another view) can give it a grad_fn from the new values (dead views pruned as it grows)."""
    views = root._views
    if views is None:
        views = root._views = []
    elif len(views) >= 16 and not len(views) & (len(views) - 1):
        views[:] = [r for r in views if r() is not None]
    views.append(weakref.ref(view))


def refresh_views(base: Tensor, skip: Tensor | None = None) -> None:
    """After an in-place op changed `base`, its other live views read the new values: their
    grad_fn now leads to base's new grad_fn (PyTorch regenerates them the same way)."""
    live = []
    for ref in base._views:
        u = ref()
        if u is None:
            continue
        live.append(ref)
        if u is not skip:
            u._grad_fn = ViewOf(base, u)
            u._requires_grad = True
    base._views = live


class ViewOf(Node):
    """The grad_fn of a view made before its base changed in place."""
    rule = "grad_base = zeros with grad in the view's region"

    def __init__(self, base: Tensor, view: Tensor):
        self._init_graph(((base._grad_fn, 0),), view._data.shape, view._data.dtype)
        self.base_shape, self.steps, self._device = base._data.shape, view._view_steps, base._device

    def name(self) -> str:
        return "AsStridedBackward0"  # PyTorch's name for it

    def backward(self, grad):
        full = array_module_of(grad).zeros(self.base_shape, dtype=grad.dtype)
        replay(full, self.steps)[...] = grad
        return (full,)

    def vjp(self, grad):
        zeros = Tensor._make(grad.xp.zeros(self.base_shape, dtype=grad._data.dtype), grad._device)
        return (CopySlices.apply(zeros, grad, steps=self.steps),)


def replay(a, steps: tuple):
    """The view of array `a` that `steps` describe (numpy views: writes go through)."""
    for cls, attrs in steps:
        a = cls().forward(a, **attrs)
    return a


class CopySlices(Op):
    rule = "grad_base = grad with the view's region zeroed ; grad_src = grad's view region"

    def name(self) -> str:
        return "CopySlices"  # PyTorch's name for it

    def forward(self, base, src, steps=()):
        self.steps = steps
        replay(base, steps)[...] = src
        return base

    def backward(self, grad):
        gb = None
        if self.needs(0):
            gb = grad.copy()
            replay(gb, self.steps)[...] = 0
        return gb, (replay(grad, self.steps) if self.needs(1) else None)

    def vjp(self, grad):
        gb = gr = None
        if self.needs(0):
            keep = grad.xp.ones_like(grad._data)
            replay(keep, self.steps)[...] = 0
            gb = grad * self.const(keep)
        if self.needs(1):
            gr = grad
            for cls, attrs in self.steps:
                gr = cls.apply(gr, **attrs)
        return gb, gr


def no_grad_view_error(name: str) -> AutogradError:
    return AutogradError(
        f"A view was created in no_grad mode and is being modified inplace ({name}) with grad "
        f"mode enabled. Given that this use case is ambiguous and error-prone, it is forbidden. "
        f"Move both the view and the in-place op inside the no_grad block (if the change should "
        f"not be tracked) or both outside (if it should).")


def check_view_inplace(t: Tensor, name: str) -> None:
    """Refuse what PyTorch refuses: in-place ops on a view of a leaf that requires grad."""
    base = t._base
    if base._grad_fn is None and base._requires_grad:
        raise AutogradError(
            f"a view of a leaf tensor that requires grad is being used in an in-place operation "
            f"({name}). Update parameters inside `with ember.no_grad():`, or compute the new "
            f"values out of place (e.g. with ember.where or torch.cat).")
    if t._multi_view is not None:
        fn, k = t._multi_view
        raise AutogradError(
            f"Output {k} of {fn} is a view and is being modified inplace ({name}). This view is "
            f"the output of a function that returns multiple views. Such functions do not allow "
            f"the output views to be modified inplace. You should replace the inplace operation "
            f"by an out-of-place one (or clone() the piece first).")
    if not t._view_steps:
        raise AutogradError(f"{name}: ember can't record an in-place op on this view of a tensor "
                            f"in the graph; write it out of place instead")


def mark_multi_view(views, fn: str) -> tuple:
    """The outputs of unbind/split/chunk: PyTorch refuses in-place ops on them in the graph."""
    for k, v in enumerate(views):
        v._multi_view = (fn, k)
    return tuple(views)


def write_through_view(t: Tensor, result: Tensor) -> None:
    """Record that view `t` now holds `result` (already written to its memory): the base gets a
    CopySlices node and `t` a grad_fn replayed from the new base."""
    base, steps = t._base, t._view_steps
    new = CopySlices.apply(base, result, steps=steps)
    base._grad_fn = new._grad_fn
    base._requires_grad = True
    with enable_grad():
        v = base
        for cls, attrs in steps:
            v = cls.apply(v, **attrs)
    t._grad_fn = v._grad_fn
    t._requires_grad = True
    if base._views:
        refresh_views(base, skip=t)

